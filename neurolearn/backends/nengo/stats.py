"""Statistical-tier figures for spiking or quantised runs against a rate reference."""

from __future__ import annotations

import numpy as np


def dw_correlation(trace, ref) -> dict:
    """Pearson correlation of the total weight change per plastic layer."""
    out = {}
    for name, w in trace.weights.items():
        a = (w[-1] - w[0]).ravel()
        b = (ref.weights[name][-1] - ref.weights[name][0]).ravel()
        out[name] = float(np.corrcoef(a, b)[0, 1])
    return out


def windowed_error(trace, targets, k, frac=0.2) -> float:
    """MSE of the output averaged over the second half of each example, over the
    examples of the final ``frac`` of the run (averaging removes spike noise and
    the synaptic transient at each example's onset)."""
    n = len(trace.outputs) // k
    errs = [np.mean((trace.outputs[i * k + k // 2:(i + 1) * k].mean(0) - targets[i * k]) ** 2)
            for i in range(int(n * (1 - frac)), n)]
    return float(np.mean(errs))
