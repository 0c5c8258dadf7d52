"""The LIF problem every simulator solves, and the reference's run of it.

A population of ``n_out`` LIF neurons is driven by ``n_in`` input spike trains through
weights W (n_out, n_in) and biases b, with neurolearn's input model (see
:mod:`neurolearn.reference.simulator` and :mod:`neurolearn.reference.neurons`). Step t
covers [t dt, (t+1) dt):

    I      <- d I + g W s(t)           d = exp(-dt/tau_syn), g = (1 - d)/(dt max_rate)
    J      = threshold + gain (I + b)                     held over the step
    v     <- J + (v - J) exp(-dt/tau_rc)                     unless refractory
    spike at step t when v >= threshold; then v <- 0 and v is clamped at 0 for the
    next n_ref = round(tau_ref/dt) steps

so an input spike at step t already drives J in step t. Spike times are returned as
*step indices*, one sorted integer array per output neuron; each simulator's own time
stamp is converted to that index by its harness (Brian2 stamps a spike with the start
of its step, NEST with the end).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..reference.params import Params
from ..reference.simulator import Network as _RefNetwork
from ..rules.ir import Data, Layer, Network, Neuron, Rule, Simulation, Spec


@dataclass
class LIFProblem:
    """Inputs shared by the three simulators; ``spikes_in`` is (steps, n_in) of 0/1."""
    spikes_in: np.ndarray
    W: np.ndarray
    b: np.ndarray
    neuron: Neuron
    dt: float = 0.001
    tau_syn: float = 0.01
    max_rate: float = 200.0
    gain: float = 1.0

    def __post_init__(self):
        self.spikes_in = np.asarray(self.spikes_in, dtype=float)
        self.W = np.atleast_2d(np.asarray(self.W, dtype=float))
        self.b = np.asarray(self.b, dtype=float).reshape(-1)
        steps, n_in = self.spikes_in.shape
        if self.W.shape[1] != n_in or self.b.shape != (self.W.shape[0],):
            raise ValueError(f"shapes do not agree: spikes_in {self.spikes_in.shape}, "
                             f"W {self.W.shape}, b {self.b.shape}")
        if not np.isin(self.spikes_in, (0.0, 1.0)).all():
            raise ValueError("spikes_in must hold 0/1 per step")
        if self.neuron.model != "lif":
            raise ValueError(f"neuron model must be 'lif', got {self.neuron.model!r}")

    @property
    def steps(self) -> int:
        return self.spikes_in.shape[0]

    @property
    def n_out(self) -> int:
        return self.W.shape[0]

    @property
    def n_ref(self) -> int:
        return int(round(self.neuron.tau_ref / self.dt))

    @property
    def trace_increment(self) -> float:
        """g: what one input spike adds to x_hat (the trace has unit area)."""
        d = np.exp(-self.dt / self.tau_syn)
        return (1.0 - d) / (self.dt * self.max_rate)

    def input_events(self):
        """(input index, step) of every input spike, in step order."""
        t, i = np.nonzero(self.spikes_in)
        return i, t


def spike_steps(steps, neurons, n: int) -> list[np.ndarray]:
    """Per-neuron sorted step indices from parallel (step, neuron) arrays."""
    steps = np.asarray(steps, dtype=np.int64)
    neurons = np.asarray(neurons, dtype=np.int64)
    return [np.sort(steps[neurons == i]) for i in range(n)]


def reference_spikes(p: LIFProblem) -> list[np.ndarray]:
    """The NumPy reference's spike steps for ``p``: a two-layer spec (input, lif) run
    step by step by the reference's time-stepped network, without plasticity."""
    n_in = p.spikes_in.shape[1]
    spec = Spec(name="independent_lif",
                network=Network(layers=[Layer("input", n_in),
                                        Layer("lif", p.n_out, replace(p.neuron,
                                                                      tau_syn=p.tau_syn,
                                                                      gain=p.gain, noise=0.0),
                                              bias=False, plastic=False)]),
                rule=Rule(builtin="delta"), data=Data("digits"),
                simulation=Simulation(dt=p.dt, max_rate=p.max_rate))
    net = _RefNetwork(spec, params=Params([p.W.copy()], [p.b.copy()], {}))
    y = np.zeros((1, p.n_out))
    out = np.zeros((p.steps, p.n_out))
    for t in range(p.steps):
        _, _, spikes = net.step(p.spikes_in[t:t + 1], y, learn=False)
        out[t] = spikes[-1][0]
    t, i = np.nonzero(out)
    return spike_steps(t, i, p.n_out)


def random_problem(seed: int = 0, n_in: int = 40, n_out: int = 30, steps: int = 1000,
                   rate: float = 40.0, neuron: Neuron | None = None, **kw) -> LIFProblem:
    """A seeded test problem: Poisson inputs at ``rate`` Hz, mixed-sign weights and
    biases that put the population from silent to fast firing."""
    rng = np.random.default_rng(seed)
    dt = kw.get("dt", 0.001)
    spikes = (rng.random((steps, n_in)) < rate * dt).astype(float)
    W = rng.normal(0.3, 1.0, (n_out, n_in))
    b = rng.uniform(-0.4, 0.4, n_out)
    return LIFProblem(spikes, W, b, neuron or Neuron("lif", tau_rc=0.02, tau_ref=0.002),
                      **kw)


def compare_spikes(a: list[np.ndarray], b: list[np.ndarray]) -> dict:
    """Agreement of two spike-step lists: identical neurons, spikes counted, and the
    largest shift between matched spikes where the counts agree."""
    same = sum(np.array_equal(x, y) for x, y in zip(a, b))
    counts = [len(x) for x in a], [len(y) for y in b]
    shift = max((int(np.abs(x - y).max()) for x, y in zip(a, b)
                 if len(x) == len(y) and len(x)), default=0)
    return {"neurons": len(a), "identical": same, "spikes": (sum(counts[0]), sum(counts[1])),
            "max_shift_steps": shift}
