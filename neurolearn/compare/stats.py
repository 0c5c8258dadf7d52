"""Figures that grade one trace against another (same stream, seed and weights)."""

from __future__ import annotations

import numpy as np


def max_abs_diff(trace, ref) -> float:
    """max |W_a - W_b| over every plastic layer and record."""
    worst = 0.0
    for name, w in trace.weights.items():
        r = ref.weights[name]
        n = min(len(w), len(r))
        if n:
            worst = max(worst, float(np.max(np.abs(np.asarray(w[:n]) - np.asarray(r[:n])))))
    return worst


def divergence_over_time(trace, ref) -> dict:
    """Per layer: max |W_a - W_b| at each record (for the divergence plot)."""
    out = {}
    for name, w in trace.weights.items():
        r = ref.weights[name]
        n = min(len(w), len(r))
        out[name] = np.max(np.abs(np.asarray(w[:n]) - np.asarray(r[:n])).reshape(n, -1), axis=1)
    return out


def _dw(trace, name):
    w = np.asarray(trace.weights[name])
    return (w[-1] - w[0]).ravel()


def dw_correlation(trace, ref) -> dict:
    """Pearson correlation of each plastic layer's weight change (first to last record)."""
    out = {}
    for name in trace.weights:
        a, b = _dw(trace, name), _dw(ref, name)
        out[name] = float("nan") if a.std() == 0 or b.std() == 0 else \
            float(np.corrcoef(a, b)[0, 1])
    return out


def relative_change(trace, ref) -> dict:
    """Per layer: ||dW_a - dW_b|| / ||dW_b|| of the weight changes."""
    out = {}
    for name in trace.weights:
        a, b = _dw(trace, name), _dw(ref, name)
        nb = float(np.linalg.norm(b))
        out[name] = float(np.linalg.norm(a - b)) / nb if nb > 0 else float("nan")
    return out


def departure(trace, ref) -> dict:
    """corr(dW) (the worst layer), the relative change (the worst layer), per layer too."""
    corr = dw_correlation(trace, ref)
    rel = relative_change(trace, ref)
    vals = [c for c in corr.values() if c == c]
    out = {"corr_dW": min(vals) if vals else float("nan"),
           "rel_dW": max((r for r in rel.values() if r == r), default=float("nan"))}
    for name in corr:
        out[f"corr_dW[{name}]"] = corr[name]
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
