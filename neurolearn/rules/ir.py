"""The rule-description layer: networks, feedback pathways and plasticity rules as data.

A spec is a tree of plain dataclasses. A plasticity rule is a sum of products of
locality-typed factors,

    dW_ij = eta * sum_k c_k * D_k * prod(pre factors)(j) * prod(post factors)(i) * prod(syn)(ij)

where pre factors are presynaptic traces, post factors are per-neuron signals that
the neuron computes (all the non-local work of feedback alignment or burst-dependent
plasticity lives there), syn factors are synaptic variables, and D_k (``when``) says
when the term applies. See docs/format.md for the full reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import SpecError, shorten
from .schema import (batch_size_check, bounded, bounded_non_negative, bounded_positive,
                     dt_check, epochs_check, example_count, field, free_text, identifier,
                     layer_size, list_of, name_text, one_of, open_unit_interval, optional,
                     rate_check, refractory, seed_check, t_epoch_check, time_constant)

FORMAT_TYPE = "neurolearn.spec"
FORMAT_VERSION = 1

RATE_MODELS = ("sigmoid", "tanh", "relu", "linear", "burst_rate")
SPIKING_MODELS = ("lif", "burst")
NEURON_MODELS = RATE_MODELS + SPIKING_MODELS

FEEDBACK_KINDS = ("transport", "random", "direct", "learned")
FEEDBACK_MEANING = {
    "transport": "W^T of the layer above (backprop baseline)",
    "random": "fixed random matrix per layer (feedback alignment)",
    "direct": "fixed random matrix straight from the output error (direct FA)",
    "learned": "learned matrix mirroring W (Kolen-Pollack)",
}

# Signals a factor may name, by locality. The neuron (post) or the presynaptic
# trace (pre) computes each; a backend lowers each name to its own mechanism.
PRE_SIGNALS = {
    "activity": "presynaptic rate (rate models) or spike trace with time constant tau",
    "event_trace": "trace of presynaptic events, E~_j (burst neurons), time constant tau",
}
POST_SIGNALS = {
    "activity": "postsynaptic rate, or its spike trace with time constant tau",
    "activity_sq_avg": "moving average of the squared activity <y^2> (BCM threshold), tau",
    "error_drive": "the layer's learning signal under its feedback pathway: "
                   "-dL/da at the output, (M delta_above) * f'(a) below",
    "burst_prob_dev": "(p - p_bar) * e of a rate burst neuron",
    "burst": "burst train B_i(t) of a spiking burst neuron",
    "pbar_event": "P_bar_i(t) * E_i(t): moving-average burst probability times event train",
    "event": "event train E_i(t) of a spiking burst neuron",
}
SYN_SIGNALS = {"w": "the synaptic weight itself"}
SIGNALS = {"pre": PRE_SIGNALS, "post": POST_SIGNALS, "syn": SYN_SIGNALS}
WHEN = ("step", "pre_spike", "post_spike")


@dataclass
class Init:
    """How a weight matrix is drawn from the seeded generator."""
    dist: str = field("glorot_uniform", check=one_of("uniform", "uniform_positive", "normal",
                                                    "glorot_uniform", "zeros"),
                      doc="uniform: U[-scale, scale]; uniform_positive: U[0, scale] "
                          "(excitatory); normal: N(0, scale^2); "
                          "glorot_uniform: scale * U[-l, l], l = sqrt(6/(fan_in+fan_out))")
    scale: float = field(1.0, check=bounded_non_negative, doc="spread of the distribution")


@dataclass
class Feedback:
    """The pathway that carries errors back to a layer."""
    kind: str = field("random", check=one_of(*FEEDBACK_KINDS),
                      doc="; ".join(f"{k}: {v}" for k, v in FEEDBACK_MEANING.items()))
    init: Init = field(default_factory=lambda: Init("uniform", 0.5),
                       doc="initial feedback matrix (random, direct, learned)")
    decay: float = field(0.0, check=bounded_non_negative,
                         doc="learned: weight decay of B relative to eta (Kolen-Pollack)")


@dataclass
class Neuron:
    """A neuron model and its parameters (parameters of other models are ignored)."""
    model: str = field("sigmoid", check=one_of(*NEURON_MODELS),
                       doc="rate: sigmoid, tanh, relu, linear, burst_rate; spiking: lif, burst")
    tau_rc: float = field(0.02, check=time_constant, doc="lif/burst: membrane time constant (s)")
    tau_ref: float = field(0.002, check=refractory, doc="lif/burst: refractory period (s)")
    threshold: float = field(1.0, check=bounded_positive, doc="lif/burst: firing threshold")
    p_baseline: float = field(0.2, check=open_unit_interval,
                              doc="burst/burst_rate: burst probability without teaching")
    beta: float = field(1.0, check=bounded, doc="burst/burst_rate: apical gain into p")
    burst_window: float = field(0.016, check=time_constant,
                                doc="burst: a spike within this time of the last is part "
                                    "of a burst (s)")
    tau_avg: float = field(0.5, check=time_constant,
                           doc="burst: time constant of the moving averages B_bar, E_bar (s)")

    @property
    def spiking(self) -> bool:
        return self.model in SPIKING_MODELS


@dataclass
class Layer:
    """A population. ``layers[0]`` is the input; its neuron model is ignored."""
    name: str = field(check=identifier, doc="unique name")
    size: int = field(check=layer_size, doc="number of neurons")
    neuron: Neuron = field(default_factory=Neuron, doc="neuron model")
    bias: bool = field(True, doc="learnable bias (rate models in the batched trainer)")
    bias_init: float = field(0.0, check=bounded,
                             doc="initial bias; with bias = false a fixed offset of the "
                                 "net input (spiking: the neuron fires above net input "
                                 "-bias_init, so a negative value is a rheobase; numpy "
                                 "backend only)")
    plastic: bool = field(True, doc="whether the projection into this layer learns")
    feedback: Feedback | None = field(None, doc="overrides network.feedback for this layer")


@dataclass
class Network:
    layers: list[Layer] = field(check=list_of("layers"), doc="input first, output last")
    feedback: Feedback = field(default_factory=Feedback,
                               doc="feedback pathway of every hidden layer")
    init: Init = field(default_factory=Init, doc="initial forward weights")

    def validate(self, path: str):
        if len(self.layers) < 2:
            raise SpecError(f"needs at least 2 layers (input and output), got "
                            f"{len(self.layers)}", f"{path}.layers")
        seen = set()
        for i, layer in enumerate(self.layers):
            if layer.name in seen:
                raise SpecError(f"duplicate layer name {layer.name!r}",
                                f"{path}.layers[{i}].name")
            seen.add(layer.name)

    def feedback_of(self, index: int) -> Feedback:
        """The effective feedback pathway of hidden layer ``index``."""
        return self.layers[index].feedback or self.feedback

    @property
    def sizes(self) -> list[int]:
        return [layer.size for layer in self.layers]

    @property
    def spiking(self) -> bool:
        return any(layer.neuron.spiking for layer in self.layers[1:])


@dataclass
class Factor:
    kind: str = field(check=one_of("pre", "post", "syn"), doc="locality of the factor")
    signal: str = field(doc="signal name, see neurolearn.rules.ir.SIGNALS")
    tau: float | None = field(None, check=optional(time_constant),
                              doc="time constant of a filtered signal (s in the "
                                  "time-stepped simulator, updates in the batched trainer)")

    def validate(self, path: str):
        known = SIGNALS[self.kind]
        if self.signal not in known:
            raise SpecError(f"unknown {self.kind} signal {self.signal!r} (known: "
                            f"{', '.join(known)})", f"{path}.signal")

    def __str__(self):
        tau = f"[tau={self.tau:g}]" if self.tau is not None else ""
        return f"{self.kind}.{self.signal}{tau}"


@dataclass
class Term:
    factors: list[Factor] = field(check=list_of("factors"), doc="the product's factors")
    coeff: float = field(1.0, check=bounded, doc="c_k, relative to the rule's eta")
    when: str = field("step", check=one_of(*WHEN), doc="dependency D_k: when the term applies")

    def validate(self, path: str):
        if not self.factors:
            raise SpecError("a term needs at least one factor", f"{path}.factors")

    def __str__(self):
        return f"{self.coeff:+g} * " + " * ".join(map(str, self.factors)) + \
            ("" if self.when == "step" else f" @{self.when}")


@dataclass
class Rule:
    """A plasticity rule: a built-in by name, or terms written by the user."""
    name: str = field("", check=name_text, doc="display name (defaults to builtin)")
    builtin: str | None = field(None, doc="name of a built-in rule (neurolearn rules)")
    terms: list[Term] | None = field(None, check=list_of("terms"),
                                     doc="the sum of products; overrides builtin")
    eta: float = field(0.01, check=bounded_positive, doc="learning rate")
    eta_output: float | None = field(None, check=optional(bounded_positive),
                                     doc="learning rate of the output layer (defaults to eta)")
    t_epoch: int = field(1, check=t_epoch_check,
                         doc="apply accumulated changes every t_epoch steps (simulator)")
    description: str = field("", check=free_text, doc="free text")

    def validate(self, path: str):
        if self.builtin is None and not self.terms:
            raise SpecError("give either builtin = NAME or terms = [...]", path)
        if self.builtin is not None:
            from .library import BUILTIN_RULES
            if self.builtin not in BUILTIN_RULES:
                raise SpecError(f"unknown built-in rule {self.builtin!r} (known: "
                                f"{', '.join(BUILTIN_RULES)})", f"{path}.builtin")

    def resolved_terms(self) -> list[Term]:
        if self.terms:
            return self.terms
        from .library import BUILTIN_RULES
        return BUILTIN_RULES[self.builtin].terms

    @property
    def display_name(self) -> str:
        return self.name or self.builtin or "custom"

    def signals(self, kind: str) -> set[str]:
        return {f.signal for t in self.resolved_terms() for f in t.factors if f.kind == kind}


@dataclass
class Data:
    dataset: str = field("digits", check=one_of("digits", "xor", "linear_teacher",
                                               "fashion_mnist", "mnist", "pca_gaussian",
                                               "two_patterns"),
                         doc="which data set")
    path: str | None = field(None, doc="folder of IDX files (fashion_mnist, mnist)")
    n_train: int | None = field(None, check=optional(example_count),
                                doc="use the first n training examples")
    n_test: int | None = field(None, check=optional(example_count),
                               doc="use the first n test examples")
    noise: float = field(0.0, check=bounded_non_negative,
                         doc="std of Gaussian noise on regression targets (linear_teacher)")


@dataclass
class Training:
    epochs: int = field(20, check=epochs_check, doc="passes over the training set")
    batch_size: int = field(32, check=batch_size_check, doc="minibatch size (batched trainer)")
    loss: str = field("mse", check=one_of("mse", "cross_entropy"),
                      doc="mse on the output activity, or softmax cross-entropy")
    seed: int = field(0, check=seed_check, doc="seed of every random draw")
    momentum: float = field(0.0, check=lambda v: None if 0 <= v < 1
                            else f"must be in [0, 1), got {shorten(v)}", doc="SGD momentum")
    lr_decay: float = field(1.0, check=lambda v: None if 0 < v <= 1
                            else f"must be in (0, 1], got {shorten(v)}",
                            doc="eta is multiplied by this after every epoch (batched trainer)")
    mode: str = field("auto", check=one_of("auto", "batched", "time_stepped"),
                      doc="auto: batched for rate networks, time-stepped for spiking ones")


@dataclass
class Simulation:
    """Time-stepped runs: spiking networks, and equivalence checks."""
    dt: float = field(0.001, check=dt_check, doc="time step (s)")
    t_example: float = field(0.1, check=time_constant, doc="presentation time per example (s)")
    max_rate: float = field(200.0, check=rate_check, doc="input rate for a value of 1 (Hz)")
    encoding: str = field("regular", check=one_of("regular", "poisson"),
                          doc="input spike encoding of spiking networks")


@dataclass
class Spec:
    name: str = field(check=name_text, doc="name of the experiment")
    network: Network = field(doc="populations, projections and feedback")
    rule: Rule = field(doc="plasticity rule of every plastic projection")
    data: Data = field(default_factory=Data, doc="data set")
    training: Training = field(default_factory=Training, doc="training budget")
    simulation: Simulation = field(default_factory=Simulation, doc="time-stepped settings")
    description: str = field("", check=free_text, doc="free text")
    type: str = field(FORMAT_TYPE, check=one_of(FORMAT_TYPE), doc="always neurolearn.spec")
    version: int = field(FORMAT_VERSION, check=one_of(FORMAT_VERSION),
                         doc="format version")

    def validate(self, path: str):
        from .compat import check_compatible
        check_compatible(self)

    def with_(self, **changes) -> "Spec":
        return replace(self, **changes)
