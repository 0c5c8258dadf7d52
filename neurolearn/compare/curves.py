"""Learning curves of traces (windowed output error per example), for plots."""

from __future__ import annotations

import numpy as np

from ..reference.stream import steps_per_example
from . import stats


def targets_for(spec, steps, seed=None):
    """The per-step targets of the shared stream (for traces without errors)."""
    from ..data import load_dataset
    from ..reference.stream import input_stream
    ds = load_dataset(spec.data, spec.training.seed)
    seed = spec.training.seed if seed is None else seed
    return input_stream(ds.x_train, ds.y_train, spec.simulation, steps, seed)[1]


def learning_curve(trace, spec, steps) -> np.ndarray:
    """Windowed output error per example of a trace."""
    k = steps_per_example(spec.simulation)
    errors = trace.errors
    if errors is None and trace.outputs is not None:
        y = targets_for(spec, steps)
        n = min(len(y), len(trace.outputs))
        if y.shape[1] != trace.outputs.shape[1]:
            return np.zeros(0)
        errors = trace.outputs[:n] - y[:n]
    return stats.windowed_errors(errors, k) if errors is not None else np.zeros(0)
