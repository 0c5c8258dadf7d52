"""Deterministic input streams for time-stepped runs, shared by every backend.

A stream presents examples one after another, each for ``t_example / dt`` steps,
in an order drawn from ``default_rng([seed, 2])``. Rate inputs are the example's
values; spiking inputs are encoded from them:

- ``regular``: a phase accumulator per input, phase += x * max_rate * dt, a spike
  when phase >= 1 (then phase -= 1). Deterministic, no generator.
- ``poisson``: spike with probability x * max_rate * dt from ``default_rng([seed, 3])``.
"""

from __future__ import annotations

import numpy as np


def example_order(n_examples: int, n_presented: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 2])
    reps = -(-n_presented // n_examples)
    return np.concatenate([rng.permutation(n_examples) for _ in range(reps)])[:n_presented]


def steps_per_example(sim) -> int:
    return max(1, int(round(sim.t_example / sim.dt)))


def input_stream(x, y, sim, n_steps: int, seed: int):
    """(x_t, y_t): per-step inputs (n_steps, n_in) and targets (n_steps, n_out)."""
    k = steps_per_example(sim)
    order = example_order(len(x), -(-n_steps // k), seed)
    idx = np.repeat(order, k)[:n_steps]
    return x[idx], y[idx]


def encode(x_t, sim, seed: int) -> np.ndarray:
    """Spikes (n_steps, n_in) as 0/1 floats from per-step rates x_t in [0, 1]."""
    p = np.clip(x_t, 0.0, None) * sim.max_rate * sim.dt
    if sim.encoding == "poisson":
        rng = np.random.default_rng([seed, 3])
        return (rng.random(p.shape) < p).astype(float)
    out = np.zeros_like(p)
    phase = np.zeros(p.shape[1])
    for t in range(len(p)):
        phase += p[t]
        fire = phase >= 1.0
        out[t, fire] = 1.0
        phase[fire] -= 1.0
    return out
