"""Neuron models as typed nodes: one dataclass per model, its equations here, its
parameters checked when it is constructed.

In a spec a neuron is a table whose ``model`` names the class
(``neuron = {model = "lif", tau_rc = 0.02}``); a parameter that the model does not
have is an error. Code dispatches on the class (``isinstance``, or a registry keyed
by class), never on the name.

Rate models map the net input a (``W h + b``) to an activity h = f(a); learning uses
f'(a). Spiking models (:class:`LIF`, :class:`Burst`) are simulated in time steps of
``simulation.dt`` by :mod:`neurolearn.reference.neurons`; their activity unit is
``simulation.max_rate`` Hz (activity 1 = max_rate Hz).

Spiking models, step dt, current-based synapse (NIR's CubaLIF with a reset to 0 and
a refractory clamp), for the net input a(t) = W s(t) arriving at the layer:

    I <- d_syn I + (1 - d_syn) a / (dt * max_rate)      d_syn = exp(-dt / tau_syn)
    J = threshold + gain * (I + b) [+ noise * N(0, 1)]
    v <- J + (v - J) exp(-dt / tau_rc)                   exact for J held over the step
    spike when v >= threshold; then v <- 0 and v is held at 0 for round(tau_ref/dt) steps

so a neuron starts firing when its filtered net input exceeds 0 (ReLU-like), and
``I`` is, in activity units, W times the presynaptic rate. Learning uses the
surrogate derivative f'(a) = 1 if I + b > 0 else 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .schema import (Node, bounded, bounded_non_negative, bounded_positive, field, one_of,
                     open_unit_interval, refractory, time_constant)


def sigmoid(a):
    """Logistic function, split by sign so large |a| neither overflows nor loses digits
    (in the input's floating type: float32 stays float32)."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        a = a.astype(float)
    out = np.empty_like(a)
    pos = a >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-a[pos]))
    ea = np.exp(a[~pos])
    out[~pos] = ea / (1.0 + ea)
    return out


class NeuronModel:
    """Base of the neuron nodes (a tagged union keyed by ``model``)."""
    tag: ClassVar[str] = "model"
    registry: ClassVar[dict] = {}
    model: ClassVar[str] = ""
    spiking: ClassVar[bool] = False
    bursts: ClassVar[bool] = False  # separate burst and event outputs (burstprop)
    compartments: ClassVar[int] = 1  # state variables per neuron on a chip
    bounds: ClassVar[tuple | None] = None  # range of a settling state (equilibrium dynamics)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.model:
            NeuronModel.registry[cls.model] = cls

    def f(self, a):
        raise NotImplementedError(f"{type(self).__name__} has no rate function")

    def fprime(self, a, h=None):
        raise NotImplementedError(f"{type(self).__name__} has no derivative")


@dataclass
class Sigmoid(NeuronModel, Node):
    """h = 1 / (1 + exp(-a)); f' = h (1 - h)."""
    model: ClassVar[str] = "sigmoid"

    def f(self, a):
        return sigmoid(a)

    def fprime(self, a, h=None):
        h = sigmoid(a) if h is None else h
        return h * (1.0 - h)


@dataclass
class Tanh(NeuronModel, Node):
    """h = tanh(a); f' = 1 - h^2."""
    model: ClassVar[str] = "tanh"

    def f(self, a):
        return np.tanh(a)

    def fprime(self, a, h=None):
        h = np.tanh(a) if h is None else h
        return 1.0 - h * h


@dataclass
class ReLU(NeuronModel, Node):
    """h = max(a, 0); f' = 1 if a > 0 else 0."""
    model: ClassVar[str] = "relu"

    def f(self, a):
        return np.maximum(a, 0.0)

    def fprime(self, a, h=None):
        return (np.asarray(a) > 0).astype(float)


@dataclass
class Linear(NeuronModel, Node):
    """h = a; f' = 1."""
    model: ClassVar[str] = "linear"

    def f(self, a):
        return a

    def fprime(self, a, h=None):
        return np.ones_like(a)


@dataclass
class BurstRate(NeuronModel, Node):
    """Ensemble-level burst neuron (Payeur et al. 2021): event rate e = sigmoid(a);
    apical input u sets the burst probability p = sigmoid(beta u (1 - e) + logit
    p_baseline). The learning signal is (p - p_bar) e (see reference/signals.py)."""
    model: ClassVar[str] = "burst_rate"
    p_baseline: float = field(0.2, check=open_unit_interval,
                              doc="burst probability without teaching")
    beta: float = field(1.0, check=bounded, doc="apical gain into p")

    def f(self, a):
        return sigmoid(a)

    def fprime(self, a, h=None):
        h = sigmoid(a) if h is None else h
        return h * (1.0 - h)


@dataclass
class HardSigmoid(NeuronModel, Node):
    """h = clip(a, 0, 1); f' = 1 on the closed interval [0, 1], else 0 (a state held
    at a bound still feels its input). Scellier & Bengio's (2017) rho: under
    equilibrium dynamics the state stays in [0, 1] (``bounds``)."""
    model: ClassVar[str] = "hard_sigmoid"
    bounds: ClassVar[tuple] = (0.0, 1.0)

    def f(self, a):
        return np.clip(a, 0.0, 1.0)

    def fprime(self, a, h=None):
        a = np.asarray(a)
        return ((a >= 0.0) & (a <= 1.0)).astype(float)


@dataclass
class Pyramidal(NeuronModel, Node):
    """Three-compartment rate neuron after Guerguiev, Lillicrap & Richards 2017
    (eLife 6:e22901): a basal dendrite B = W h_below + b (feedforward input), an
    apical dendrite A = M h_src (the layer's feedback pathway: M its feedback matrix,
    h_src the activity of the layer the pathway comes from) and a soma C,

        tau dC/dt = -C + g_basal (B - C) + g_apical (A - C)

    integrated exactly over each step with B and A held, B = gain (W h_below + b);
    activity h = sigmoid(C).
    With g_apical = 0 the apical dendrite is segregated: it never moves the soma.
    The plateau potential is sigmoid(A); read as a phase average it is sigmoid of
    the phase's mean apical potential (the plateau carries the apical average of the
    phase). The net input a of this model is C, and f'(a) = k_B sigmoid'(C) with
    k_B = gain g_basal / (1 + g_basal + g_apical): the slope of the steady-state rate
    with respect to the net input W h_below + b. Conductances are relative to the leak (the
    paper's g_B = 0.6, g_L = 0.1 per ms are g_basal = 6 with tau = 10 ms). Runs in
    phased specs only ([[phases]])."""
    model: ClassVar[str] = "pyramidal"
    compartments: ClassVar[int] = 3
    tau: float = field(0.01, check=time_constant, doc="membrane (leak) time constant (s)")
    g_basal: float = field(6.0, check=bounded_non_negative,
                           doc="basal-to-soma conductance, relative to the leak")
    g_apical: float = field(0.0, check=bounded_non_negative,
                            doc="apical-to-soma conductance, relative to the leak (0: "
                                "segregated dendrites)")
    gain: float = field(1.0, check=bounded_positive,
                        doc="basal potential per unit of input: B = gain (W h + b), as "
                            "LIF's gain (Guerguiev et al. spread initial somatic "
                            "potentials over about +-3)")

    @property
    def k_basal(self) -> float:
        """d(steady-state C)/d(W h + b): the basal coupling times the gain."""
        return self.gain * self.g_basal / (1.0 + self.g_basal + self.g_apical)

    @property
    def k_apical(self) -> float:
        return self.g_apical / (1.0 + self.g_basal + self.g_apical)

    def f(self, a):
        return sigmoid(a)

    def fprime(self, a, h=None):
        h = sigmoid(a) if h is None else h
        return self.k_basal * h * (1.0 - h)


@dataclass
class LIF(NeuronModel, Node):
    """Leaky integrate-and-fire with a current-based synapse (module docstring)."""
    model: ClassVar[str] = "lif"
    spiking: ClassVar[bool] = True
    tau_rc: float = field(0.02, check=time_constant, doc="membrane time constant (s)")
    tau_ref: float = field(0.002, check=refractory, doc="refractory period (s)")
    threshold: float = field(1.0, check=bounded_positive, doc="firing threshold")
    tau_syn: float = field(0.01, check=time_constant,
                           doc="synaptic time constant (s): the input current and the "
                               "layer's activity trace (readout, pre factor)")
    gain: float = field(1.0, check=bounded_positive,
                        doc="J = threshold + gain * (I + b): current per unit of input")
    noise: float = field(0.0, check=bounded_non_negative,
                         doc="std of a white current noise added to J every step "
                             "(default_rng([seed, 5, layer]))")

    def fprime(self, a, h=None):
        """Surrogate derivative: 1 while the filtered input drives the neuron."""
        return (np.asarray(a) > 0).astype(float)

    def rate_hz(self, J):
        """Continuous-time firing rate (Hz) for a constant current J."""
        J = np.asarray(J, dtype=float)
        out = np.zeros_like(J)
        on = J > self.threshold
        out[on] = 1.0 / (self.tau_ref + self.tau_rc *
                         np.log1p(self.threshold / (J[on] - self.threshold)))
        return out


@dataclass
class Burst(LIF):
    """Two-compartment burst neuron after Payeur et al. 2021: the LIF soma emits
    *events*; the apical dendrite, driven by top-down input u, sets the probability
    p = sigmoid(beta u + logit p_baseline) that an event becomes a *burst* (a second
    spike within ``burst_window``). Events and bursts are read back from the spike
    train; B_bar, E_bar are their moving averages (tau_avg), P_bar = B_bar / E_bar.
    See neurolearn.reference.neurons.BurstNeuron and reference.burst."""
    model: ClassVar[str] = "burst"
    bursts: ClassVar[bool] = True
    compartments: ClassVar[int] = 2
    noise: float = field(1.0, check=bounded_non_negative,
                         doc="std of a white current noise added to J every step: "
                             "Payeur's neurons fire spontaneously, so a silent neuron "
                             "can still be taught")
    p_baseline: float = field(0.2, check=open_unit_interval,
                              doc="burst probability without teaching")
    beta: float = field(1.0, check=bounded, doc="apical gain into p")
    burst_window: float = field(0.016, check=time_constant,
                                doc="a spike within this time of the last is part of a "
                                    "burst (s)")
    tau_avg: float = field(0.5, check=time_constant,
                           doc="time constant of the moving averages B_bar, E_bar (s)")
    tau_apical: float = field(0.1, check=time_constant,
                              doc="traces of the events and bursts of the layer above "
                                  "that drive the apical dendrite (s)")
    burst_draw: str = field("regular", check=one_of("regular", "random"),
                            doc="regular: deterministic sigma-delta (an event adds p to "
                                "an accumulator, bursts at 1); random: a uniform draw "
                                "from default_rng([seed, 4, layer]) per event")


NEURON_MODELS = tuple(NeuronModel.registry)
RATE_MODELS = tuple(m for m, c in NeuronModel.registry.items() if not c.spiking)
SPIKING_MODELS = tuple(m for m, c in NeuronModel.registry.items() if c.spiking)


def Neuron(model: str = "sigmoid", **params) -> NeuronModel:
    """The neuron node for ``model`` with ``params`` (convenience constructor)."""
    from ..errors import SpecError
    cls = NeuronModel.registry.get(model)
    if cls is None:
        raise SpecError(f"must be one of {', '.join(map(repr, NEURON_MODELS))}, got "
                        f"{model!r}", "model", node="Neuron")
    return cls(**params)
