"""NumPy model of what the nengo backend computes: the reference network under the
Program's Schedule with nengo's LIF step in place of the reference's LIF, and
nothing else changed. So compare can split a spiking run's departure into plumbing
(runtime vs this emulator: the same numbers up to rounding) and neuron model (this
emulator vs the reference under the same schedule). Rate networks have no
approximation: their emulator is the reference under the schedule.

nengo's LIF (nengo.neurons.LIF, normalised so the threshold is 1), per step dt with J
held over the step, r the time left in the refractory period:

    r <- r - dt;  h = clip(dt - r, 0, dt)          the part of the step it integrates
    v <- v + (J - v) (1 - exp(-h / tau_rc))
    spike when v > 1, at t* = dt + tau_rc log(1 - (v - 1) / (J - 1)) into the step
    v <- max(v, 0); after a spike v <- 0 and r <- tau_ref + t*

with J = J_reference / threshold (nengo's ensemble: J = 1 + (gain/threshold) (I + b)).
"""

from __future__ import annotations

import numpy as np

from ...reference.simulator import Network, simulate
from ...rules.neurons import Burst, LIF
from .lower import lower


class NengoLIF:
    """nengo's LIF arithmetic behind the reference's LIF interface (``step(J)``)."""

    def __init__(self, neuron, n: int, dt: float, n_par: int = 1):
        self.threshold, self.tau_rc, self.tau_ref, self.dt = \
            neuron.threshold, neuron.tau_rc, neuron.tau_ref, dt
        self.v = np.zeros((n_par, n))
        self.r = np.zeros((n_par, n))  # refractory time left (s)

    def step(self, J) -> np.ndarray:
        J = J / self.threshold
        dt, v, r = self.dt, self.v, self.r
        r -= dt
        h = np.clip(dt - r, 0.0, dt)
        v -= (J - v) * np.expm1(-h / self.tau_rc)
        spiked = v > 1.0
        t_spike = dt + self.tau_rc * np.log1p(-(v[spiked] - 1.0) / (J[spiked] - 1.0))
        v[v < 0.0] = 0.0
        v[spiked] = 0.0
        r[spiked] = self.tau_ref + t_spike
        return spiked.astype(float)


class NengoNetwork(Network):
    """The reference network with nengo's LIF units."""

    def reset(self, n_par: int = 1):
        super().reset(n_par)
        if not self.spiking:
            return
        for l in range(1, self.L + 1):
            n = self.neurons[l]
            if isinstance(n, LIF) and not isinstance(n, Burst):
                self.units[l] = NengoLIF(n, self.net.sizes[l], self.sim.dt, n_par)


def emulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
            dataset=None, time_limit=None):
    """The emulator's Trace on the shared training stream (as ``simulate``); a spec in
    phases (rate neurons, no declared approximation): the phased reference."""
    program = lower(spec, precision, variant=variant)
    if program.phases:
        from ...reference.phased import simulate_phased
        tr = simulate_phased(spec, steps=steps, seed=seed, record_every=record_every,
                             dataset=dataset)
        tr.backend = "nengo emulator"
        return tr
    tr = simulate(spec, steps=steps, precision=precision, seed=seed,
                  record_every=record_every, dataset=dataset, schedule=program.schedule,
                  network=NengoNetwork)
    tr.backend = "nengo emulator"
    return tr


def emulate_infer(spec, params, *, precision="float", profile=None, dataset=None,
                  variant=None, time_limit=None, rest=None):
    """What :func:`.runtime.infer` runs on nengo, in NumPy: the reference network
    (nengo's LIF for spiking layers) under nengo's schedule over the same test
    stream, learning off. An Inference with the same outputs to rounding."""
    import time

    from ...data import load_dataset
    from ..inference import (frozen_params, frozen_spec, grade, presentation,
                             reference_on_stream, step_network)
    from .lower import refuse_phased_inference
    from ...rules.phases import is_phased
    if is_phased(spec):  # a rate network in phases: nengo's model is the reference
        refuse_phased_inference(spec)
        lower(spec, precision, profile, variant)
        from ...data import load_dataset
        ds = dataset if dataset is not None else load_dataset(spec.data,
                                                              spec.training.seed)
        inf = reference_on_stream(spec, params, ds, presentation(spec, ds, rest))
        inf.backend = "nengo emulator"
        return inf
    frozen = frozen_spec(spec)
    program = lower(frozen, precision, profile, variant)
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    w = presentation(frozen, ds, rest)
    net = NengoNetwork(frozen, params=frozen_params(frozen, params),
                       schedule=program.schedule)
    t0 = time.perf_counter()
    out = step_network(net, frozen, ds, w)
    return grade("nengo emulator", precision, frozen, ds, w, out,
                 seconds=time.perf_counter() - t0)
