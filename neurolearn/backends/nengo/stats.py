"""Statistical-tier figures (shared with compare: neurolearn.compare.stats)."""

from __future__ import annotations

from ...compare.stats import dw_correlation, windowed_final_error

__all__ = ["dw_correlation", "windowed_error"]


def windowed_error(trace, targets, k, frac=0.2) -> float:
    """MSE of the output averaged over the second half of each example, over the
    examples of the final ``frac`` of the run (averaging removes spike noise and
    the synaptic transient at each example's onset)."""
    n = len(trace.outputs) // k * k
    return windowed_final_error(trace.outputs[:n] - targets[:n], k, frac)
