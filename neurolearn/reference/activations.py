"""Rate nonlinearities f and their derivatives f', as functions of the input a."""

from __future__ import annotations

import numpy as np


def sigmoid(a):
    # split by sign so large |a| neither overflows nor loses precision
    out = np.empty_like(a)
    pos = a >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-a[pos]))
    ea = np.exp(a[~pos])
    out[~pos] = ea / (1.0 + ea)
    return out


def f(model: str, a):
    if model in ("sigmoid", "burst_rate"):
        return sigmoid(a)
    if model == "tanh":
        return np.tanh(a)
    if model == "relu":
        return np.maximum(a, 0.0)
    if model == "linear":
        return a
    raise ValueError(f"no rate function for neuron model {model!r}")


def fprime(model: str, a, h=None):
    """f'(a); ``h = f(a)`` may be passed to save recomputing it."""
    if model in ("sigmoid", "burst_rate"):
        h = sigmoid(a) if h is None else h
        return h * (1.0 - h)
    if model == "tanh":
        h = np.tanh(a) if h is None else h
        return 1.0 - h * h
    if model == "relu":
        return (a > 0).astype(a.dtype)
    if model == "linear":
        return np.ones_like(a)
    raise ValueError(f"no rate function for neuron model {model!r}")
