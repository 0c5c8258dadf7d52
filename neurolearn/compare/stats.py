"""Figures that grade a backend's trace against the reference's."""

from __future__ import annotations

import numpy as np


def max_abs_diff(trace, ref) -> float:
    """max |W_backend - W_reference| over every plastic layer and record."""
    worst = 0.0
    for name, w in trace.weights.items():
        r = ref.weights[name]
        n = min(len(w), len(r))
        if n:
            worst = max(worst, float(np.max(np.abs(np.asarray(w[:n]) - np.asarray(r[:n])))))
    return worst


def divergence_over_time(trace, ref) -> dict:
    """Per layer: max |dW| at each record (for the divergence plot)."""
    out = {}
    for name, w in trace.weights.items():
        r = ref.weights[name]
        n = min(len(w), len(r))
        out[name] = np.max(np.abs(np.asarray(w[:n]) - np.asarray(r[:n])).reshape(n, -1), axis=1)
    return out


def dw_correlation(trace, ref) -> dict:
    """Pearson correlation of each plastic layer's total weight change."""
    out = {}
    for name, w in trace.weights.items():
        a = (w[-1] - w[0]).ravel()
        b = (ref.weights[name][-1] - ref.weights[name][0]).ravel()
        if a.std() == 0 or b.std() == 0:
            out[name] = float("nan")
        else:
            out[name] = float(np.corrcoef(a, b)[0, 1])
    return out


def windowed_errors(errors, k: int) -> np.ndarray:
    """Per example: MSE of the output error averaged over the second half of the
    example's window (averaging removes spike noise and each onset's transient)."""
    n = len(errors) // k
    if n == 0:  # fewer steps than one example: no complete window
        return np.zeros(0)
    e = np.asarray(errors[:n * k]).reshape(n, k, -1)[:, k // 2:, :].mean(axis=1)
    return np.mean(e ** 2, axis=1)


def windowed_final_error(errors, k: int, frac: float = 0.2) -> float:
    """Mean windowed error over the final ``frac`` of the examples."""
    w = windowed_errors(errors, k)
    return float(np.mean(w[int(len(w) * (1 - frac)):])) if len(w) else float("nan")
