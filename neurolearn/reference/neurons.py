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
number per neuron per step from a seeded generator. The events and bursts that
:class:`neurolearn.reference.burst.BurstDetector` reads back from the spike train are
exactly the soma's spikes and the added burst spikes (see :class:`BurstNeuron`), so
the time-stepped Network takes them from the neuron.
"""

from __future__ import annotations

import numpy as np
from numpy.core.umath import clip as _clip  # np.clip without its wrapper

from . import kernels


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


def draws(rng, shape, kind: str = "random") -> np.ndarray:
    """``rng.random(shape)`` (or ``standard_normal``); ``rng`` may be a list of
    generators, one per leading index (independent copies), each drawing its own
    slice as it would alone."""
    if not isinstance(rng, (list, tuple)):
        return getattr(rng, kind)(shape)
    if len(rng) == 1:  # the same numbers, in the same order
        return getattr(rng[0], kind)(shape)
    out = np.empty(shape)
    for g, r in enumerate(rng):
        getattr(r, kind)(out=out[g])
    return out


def state_shape(n_par, n: int) -> tuple:
    """(n_par, n), or (*n_par, n) for a tuple of leading axes (independent copies)."""
    return (n_par, n) if isinstance(n_par, (int, np.integer)) else (*n_par, n)


class LIF:
    """Leaky integrate-and-fire somata, ``n`` neurons times ``n_par`` copies (an int,
    or a tuple of leading axes).

    State: ``v`` and ``release``, the step from which a neuron is free again (it is
    clamped while ``release > t``, t counting this object's steps), so no countdown
    runs over every neuron each step."""

    def __init__(self, neuron, n: int, dt: float, n_par=1, n_ref: int | None = None):
        self.neuron = neuron
        self.decay = np.exp(-dt / neuron.tau_rc)
        self.threshold = neuron.threshold
        self.n_ref = n_steps(neuron.tau_ref, dt) if n_ref is None else n_ref
        self.v = np.zeros(state_shape(n_par, n))
        self.release = np.zeros(state_shape(n_par, n), dtype=np.int64)
        self.t = 0  # steps taken
        # constants as arrays of the state's shape (no scalar conversion per step)
        self._decay = np.full(self.v.shape, self.decay)
        self._threshold = np.full(self.v.shape, float(self.threshold))

    @property
    def ref(self) -> np.ndarray:
        """Clamped steps left after this step."""
        return np.maximum(self.release - self.t, 0)

    def spike(self, J) -> np.ndarray:
        """Advance one step under current J; returns the spikes as booleans."""
        if kernels.active() and kernels.fits(J, self.v):  # the same steps, compiled
            return kernels.lif_spike(self, J)
        # v <- J + (v - J) decay where free, else 0; the state is updated in place
        v = self.v
        np.subtract(v, J, v)
        v *= self._decay
        v += J
        t = self.t
        # putmask does what v[mask] = x does, in less time (2.3 against 7.0 us on
        # 4,000 elements, numpy 1.26)
        np.putmask(v, self.release > t, 0.0)
        spiked = v >= self._threshold
        np.putmask(v, spiked, 0.0)
        np.putmask(self.release, spiked, t + 1 + self.n_ref)
        self.t = t + 1
        return spiked

    def step(self, J) -> np.ndarray:
        """Advance one step under current J; returns spikes as 0/1 floats."""
        return self.spike(J).astype(float)


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
      stream depends only on the number of steps (``rng`` may also be a callable
      that returns this step's draws).
    - ``"regular"``: deterministic sigma-delta: each event adds p to a per-neuron
      accumulator and bursts when it reaches 1 (then 1 is taken off), so the burst
      fraction over any run of events tracks their mean p to within one burst.

    State: the soma, ``acc`` (regular mode) and ``due``, the step at which a scheduled
    burst spike falls (-1: none; at most one is pending, since the soma stays clamped
    past it).

    What a detector reads from the train is known here: every somatic spike is an
    event (the clamp puts it more than w steps after the previous spike, a burst spike
    included), and every other spike of the train is its event's one burst spike
    (d_b <= w after it). So :meth:`spike`'s ``events`` are the detector's E and
    ``train ^ events`` its B, bit for bit (tests/test_burstprop_spiking.py checks this
    against :class:`~neurolearn.reference.burst.BurstDetector` every step).
    """

    MODES = ("random", "regular")

    def __init__(self, neuron, n: int, dt: float, n_par=1, mode: str = "random"):
        if mode not in self.MODES:
            raise ValueError(f"burst mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode
        self.acc = np.zeros(state_shape(n_par, n))
        self.neuron = neuron
        self.w = max(1, n_steps(neuron.burst_window, dt))
        self.d_b = int(np.clip(n_steps(neuron.tau_ref, dt), 1, self.w))
        self.soma = LIF(neuron, n, dt, n_par,
                        n_ref=max(n_steps(neuron.tau_ref, dt), self.d_b + self.w))
        self.offset = np.log(neuron.p_baseline / (1.0 - neuron.p_baseline))
        self.due = np.full(state_shape(n_par, n), -1, dtype=np.int64)
        # -(beta u + offset) = (-beta) u + (-offset) exactly (negation is exact)
        self._nbeta = np.full(self.acc.shape, -float(neuron.beta))
        self._noffset = np.full(self.acc.shape, -self.offset)
        self._one = np.ones(self.acc.shape)
        # clip's bounds as arrays: maximum then minimum is clip's arithmetic (its NaN
        # included) at a third of the ufunc clip's cost on these small arrays
        self._lo, self._hi = np.full(self.acc.shape, -500.0), np.full(self.acc.shape, 500.0)

    @property
    def pending(self) -> np.ndarray:
        """Steps to the pending burst spike after this step (0: none)."""
        return np.where(self.due >= self.soma.t, self.due - self.soma.t + 1, 0)

    def burst_probability(self, u):
        u = np.asarray(u, dtype=float)
        if u.shape == self._nbeta.shape:  # the constants as arrays: no scalar conversions
            z = self._nbeta * u
            z += self._noffset
            np.maximum(z, self._lo, z)  # -clip(beta u + offset, -500, 500)
            np.minimum(z, self._hi, z)
            np.exp(z, z)
            z += self._one
            return np.divide(self._one, z, z)
        z = -self.neuron.beta * u
        z -= self.offset
        _clip(z, -500.0, 500.0, z)
        np.exp(z, z)
        z += 1.0
        return np.divide(1.0, z, z)

    def spike(self, J) -> tuple[np.ndarray, np.ndarray]:
        """Advance the soma; returns (spike train, somatic events) as booleans."""
        t = self.soma.t
        events = self.soma.spike(J)
        return events | (self.due == t), events

    def step(self, J) -> tuple[np.ndarray, np.ndarray]:
        """Advance the soma; returns (spike train, somatic events) as 0/1 floats.

        The spike train holds this step's events and the burst spikes that fall due.
        """
        spikes, events = self.spike(J)
        return spikes.astype(float), events.astype(float)

    def schedule_bursts(self, events, p, rng, mask=None) -> np.ndarray:
        """Decide which of this step's events become bursts; returns the 0/1 decisions.
        ``events``: this step's events (0/1 floats or booleans); ``mask``: the same
        events as booleans, where the caller has them (saves a conversion)."""
        ev = mask if mask is not None else events if events.dtype == bool else \
            events.astype(bool)
        if self.mode == "random":
            u = rng() if callable(rng) else draws(rng, events.shape)
            burst = ev & (u < p)
            out = burst.astype(float)
        else:
            acc = self.acc
            acc += p * (events if events.dtype != bool else ev.astype(float))  # + 0
            # where no event: acc as it was
            burst = acc >= self._one if acc.shape == self._one.shape else acc >= 1.0
            burst &= ev
            out = burst.astype(float)
            acc -= out
        # the burst spike falls d_b steps after this step's event (the soma has stepped)
        np.putmask(self.due, burst, self.soma.t - 1 + self.d_b)  # due[burst] = ...
        return out
