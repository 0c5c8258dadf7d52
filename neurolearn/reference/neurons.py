"""Spiking neurons of the time-stepped reference: LIF and a two-compartment burst neuron.

Every state array has a leading axis of independent copies (``n_par``), so one
object can simulate a whole test set at once.

LIF (parameters from :class:`neurolearn.rules.ir.Neuron`), step ``dt``, input current
J held constant over the step:

    v <- J + (v - J) * exp(-dt / tau_rc)       exact integration of tau_rc dv/dt = J - v
    spike when v >= threshold at the end of the step; then v <- 0, and v is clamped
    at 0 for the next n_ref = round(tau_ref / dt) steps.

Spike times are quantised to steps (no sub-step interpolation), so with constant
J > threshold the inter-spike interval is exactly n_ref + k* steps, with k* the
first k for which J (1 - exp(-k dt / tau_rc)) >= threshold (:func:`lif_rate_discrete`);
:func:`lif_rate` is the continuous-time rate it approaches as dt -> 0.

Burst neuron (after Payeur et al. 2021, simplified; see :class:`BurstNeuron`): the
soma is the LIF above and emits *events*; the apical dendrite sets the probability
p = sigmoid(beta * u + logit(p_baseline)) that an event becomes a *burst*, i.e. is
followed by a second spike within ``burst_window``. The burst draw is one uniform
number per neuron per step from a seeded generator. Events and bursts are then read
back from the spike train by :class:`neurolearn.reference.burst.BurstDetector`.
"""

from __future__ import annotations

import numpy as np


def n_steps(t: float, dt: float) -> int:
    """A duration in whole steps (rounded; durations are given in seconds)."""
    return int(round(t / dt))


def lif_rate(J, neuron):
    """Continuous-time LIF rate (Hz) for a constant current J (0 at or below threshold)."""
    J = np.asarray(J, dtype=float)
    out = np.zeros_like(J)
    on = J > neuron.threshold
    out[on] = 1.0 / (neuron.tau_ref + neuron.tau_rc *
                     np.log1p(neuron.threshold / (J[on] - neuron.threshold)))
    return out


def lif_rate_discrete(J, neuron, dt):
    """Exact rate (Hz) of :class:`LIF` for a constant current J, after its first spike."""
    J = np.asarray(J, dtype=float)
    out = np.zeros_like(J)
    on = J > neuron.threshold
    k = np.ceil(-neuron.tau_rc / dt * np.log1p(-neuron.threshold / J[on]) - 1e-9)
    out[on] = 1.0 / (dt * (n_steps(neuron.tau_ref, dt) + np.maximum(k, 1)))
    return out


class LIF:
    """Leaky integrate-and-fire somata, ``n`` neurons times ``n_par`` copies."""

    def __init__(self, neuron, n: int, dt: float, n_par: int = 1, n_ref: int | None = None):
        self.neuron = neuron
        self.decay = np.exp(-dt / neuron.tau_rc)
        self.threshold = neuron.threshold
        self.n_ref = n_steps(neuron.tau_ref, dt) if n_ref is None else n_ref
        self.v = np.zeros((n_par, n))
        self.ref = np.zeros((n_par, n), dtype=np.int64)  # clamped steps left

    def step(self, J) -> np.ndarray:
        """Advance one step under current J; returns spikes as 0/1 floats."""
        free = self.ref == 0
        v = np.where(free, J + (self.v - J) * self.decay, 0.0)
        np.maximum(self.ref - 1, 0, out=self.ref)
        spiked = v >= self.threshold
        v[spiked] = 0.0
        self.ref[spiked] = self.n_ref
        self.v = v
        return spiked.astype(float)


class BurstNeuron:
    """Two-compartment burst neuron: LIF soma (events) plus an apical dendrite (bursts).

    - Soma: :class:`LIF`; each somatic spike is an event. After an event the soma is
      clamped for ``max(n_ref, d_b + w)`` steps (w = burst_window in steps), so the next
      somatic spike comes more than ``burst_window`` after the last spike of the event
      and is read as a new event: the event rate never depends on bursting (Payeur's
      multiplexing: events carry the feedforward signal, bursts the feedback one).
    - Dendrite: given apical input u, p = sigmoid(beta * u + logit(p_baseline)).
    - Burst: at an event, the neuron bursts with probability p (see ``mode``); a burst
      adds one spike d_b = clip(round(tau_ref / dt), 1, w) steps after the event,
      i.e. within ``burst_window`` of it.

    Burst decisions, ``mode``:
    - ``"random"``: burst when a uniform draw is below p; ``rng.random((n_par, n))`` is
      drawn once per :meth:`schedule_bursts` call, used or not, so the generator's
      stream depends only on the number of steps.
    - ``"regular"``: deterministic sigma-delta: each event adds p to a per-neuron
      accumulator and bursts when it reaches 1 (then 1 is taken off), so the burst
      fraction over any run of events tracks their mean p to within one burst.
    """

    MODES = ("random", "regular")

    def __init__(self, neuron, n: int, dt: float, n_par: int = 1, mode: str = "random"):
        if mode not in self.MODES:
            raise ValueError(f"burst mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode
        self.acc = np.zeros((n_par, n))
        self.neuron = neuron
        self.w = max(1, n_steps(neuron.burst_window, dt))
        self.d_b = int(np.clip(n_steps(neuron.tau_ref, dt), 1, self.w))
        self.soma = LIF(neuron, n, dt, n_par,
                        n_ref=max(n_steps(neuron.tau_ref, dt), self.d_b + self.w))
        self.offset = np.log(neuron.p_baseline / (1.0 - neuron.p_baseline))
        self.pending = np.zeros((n_par, n), dtype=np.int64)  # steps to a burst spike, 0 none

    def burst_probability(self, u):
        z = np.clip(self.neuron.beta * np.asarray(u, dtype=float) + self.offset, -500, 500)
        return 1.0 / (1.0 + np.exp(-z))

    def step(self, J) -> tuple[np.ndarray, np.ndarray]:
        """Advance the soma; returns (spike train, somatic events) as 0/1 floats.

        The spike train holds this step's events and the burst spikes that fall due.
        """
        events = self.soma.step(J)
        due = self.pending == 1
        np.maximum(self.pending - 1, 0, out=self.pending)
        spikes = np.maximum(events, due.astype(float))
        return spikes, events

    def schedule_bursts(self, events, p, rng) -> np.ndarray:
        """Decide which of this step's events become bursts; returns the 0/1 decisions."""
        ev = events > 0
        if self.mode == "random":
            burst = ev & (rng.random(events.shape) < p)
        else:
            self.acc += np.where(ev, p, 0.0)
            burst = ev & (self.acc >= 1.0)
            self.acc[burst] -= 1.0
        self.pending[burst] = self.d_b
        return burst.astype(float)
