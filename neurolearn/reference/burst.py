"""Events, bursts and burst probability read from spike trains (Payeur et al. 2021).

Definitions, with w = round(burst_window / dt) steps and "age" the number of steps
since the neuron's previous spike:

- a spike with age > w (or the first spike ever) is an **event**, E_i(t) = 1;
- the first later spike with age <= w (a second spike within ``burst_window`` of the
  previous one) turns that event into a **burst**, B_i(t) = 1 at that second spike;
  further spikes of the same train (each within w of the one before) add nothing.

Moving averages, d = exp(-dt / tau_avg), in Hz:
    E_bar <- d E_bar + (1 - d) E / dt,   B_bar <- d B_bar + (1 - d) B / dt,
    P_bar = B_bar / E_bar.
They start from a prior of one event per ``tau_avg`` at the baseline burst
probability (E_bar = 1 / tau_avg, B_bar = p_baseline / tau_avg), so P_bar is defined
from the first step and stays at p_baseline for a silent neuron. ``p_bar`` is read
before a step's update, so an event is never compared with an average that
already contains it.
"""

from __future__ import annotations

import numpy as np

from .neurons import n_steps, state_shape


class BurstAverages:
    """The moving averages E_bar, B_bar and P_bar of given events and bursts.

    The time-stepped Network keeps only these for its burst layers: its
    :class:`~neurolearn.reference.neurons.BurstNeuron` units give their events and
    bursts themselves, exactly what :class:`BurstDetector` reads from their spike
    trains (see BurstNeuron), without the detector's per-step passes."""

    def __init__(self, n: int, dt: float, tau_avg: float, p_baseline: float, n_par=1):
        shape = state_shape(n_par, n)
        self.dt = dt
        self.decay = np.exp(-dt / tau_avg)
        self._a = (1.0 - self.decay) / dt
        self.E_bar = np.full(shape, 1.0 / tau_avg)
        self.B_bar = np.full(shape, p_baseline / tau_avg)
        self._decay, self._aa = np.full(shape, self.decay), np.full(shape, self._a)

    @property
    def p_bar(self) -> np.ndarray:
        return self.B_bar / self.E_bar

    def averages(self, E, B):
        """E_bar, B_bar <- d * them + (1 - d) / dt * (E, B) (floats)."""
        E_bar, B_bar, d, a = self.E_bar, self.B_bar, self._decay, self._aa
        E_bar *= d
        E_bar += a * E
        B_bar *= d
        B_bar += a * B


class BurstDetector(BurstAverages):
    """Streaming event/burst detection of any spike train, and the moving averages.

    State: ``last``, the step of each neuron's previous spike (its age is t - last),
    ``counted`` (the current event already has its burst), E_bar, B_bar."""

    NEVER = -(np.iinfo(np.int64).max // 4)  # "no spike yet": every age > w

    def __init__(self, n: int, dt: float, burst_window: float, tau_avg: float,
                 p_baseline: float, n_par=1):
        super().__init__(n, dt, tau_avg, p_baseline, n_par)
        shape = state_shape(n_par, n)
        self.w = max(1, n_steps(burst_window, dt))
        self.last = np.full(shape, self.NEVER, dtype=np.int64)
        self.t = 0  # steps consumed
        self.counted = np.zeros(shape, dtype=bool)  # current event already a burst

    def detect(self, spk) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`step` on a boolean spike train; returns (E, B) as booleans."""
        t = self.t = self.t + 1
        counted = self.counted
        event = self.last < t - self.w  # age t - last > w
        event &= spk
        burst = spk ^ event  # a spike that is not an event ...
        np.greater(burst, counted, burst)  # ... and whose event has no burst yet
        np.greater(counted, event, counted)  # a new event starts uncounted
        counted |= burst
        self.last[spk] = t
        return event, burst

    def step(self, spikes) -> tuple[np.ndarray, np.ndarray]:
        """Consume one step of the spike train; returns (E, B) as 0/1 floats and
        updates the moving averages (read ``p_bar`` first for the pre-step value)."""
        event, burst = self.detect(np.asarray(spikes).astype(bool))  # 0/1 spikes
        E, B = event.astype(float), burst.astype(float)
        self.averages(E, B)
        return E, B


def detect(spike_train, dt: float, burst_window: float) -> tuple[np.ndarray, np.ndarray]:
    """Events and bursts of a whole spike train (n_steps, n) or (n_steps,)."""
    s = np.asarray(spike_train, dtype=float)
    flat = s.ndim == 1
    s2 = s[:, None] if flat else s
    det = BurstDetector(s2.shape[1], dt, burst_window, 1.0, 0.5)
    E = np.zeros_like(s2)
    B = np.zeros_like(s2)
    for t in range(len(s2)):
        e, b = det.step(s2[t][None, :])
        E[t], B[t] = e[0], b[0]
    return (E[:, 0], B[:, 0]) if flat else (E, B)
