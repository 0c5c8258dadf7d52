"""The rule-description layer: networks, feedback pathways and plasticity rules as data.

A spec is a tree of typed nodes (dataclasses deriving from schema.Node), each
validated when it is constructed, in Python as from a file. A plasticity rule is a sum of products of
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
from .neurons import (NEURON_MODELS, RATE_MODELS, SPIKING_MODELS, Neuron,  # noqa: F401
                      NeuronModel, Sigmoid)
from .schema import (Node, batch_size_check, bounded, bounded_non_negative,
                     bounded_positive, dt_check, epochs_check, example_count, field,
                     free_text, half_open_unit_interval, identifier, layer_size, list_of,
                     name_text, one_of, optional, rate_check, seed_check, time_constant)
from .library import BUILTIN_RULES
from .phases import Dynamics, FeedbackRule, Phase
from .terms import (GLOBAL_SIGNALS, POST_SIGNALS, PRE_SIGNALS, SIGNALS,  # noqa: F401
                    SYN_SIGNALS, WHEN, Factor, Tag, Term)

FORMAT_TYPE = "neurolearn.spec"
FORMAT_VERSION = 2

FEEDBACK_KINDS = ("transport", "random", "direct", "learned")
FEEDBACK_MEANING = {
    "transport": "W^T of the layer above (backprop baseline)",
    "random": "fixed random matrix per layer (feedback alignment)",
    "direct": "fixed random matrix straight from the output error (direct FA)",
    "learned": "learned matrix mirroring W (Kolen-Pollack)",
}

@dataclass
class Init(Node):
    """How a weight matrix is drawn from the seeded generator."""
    dist: str = field("glorot_uniform", check=one_of("uniform", "uniform_positive", "normal",
                                                    "glorot_uniform", "zeros"),
                      doc="uniform: U[-scale, scale]; uniform_positive: U[0, scale] "
                          "(excitatory); normal: N(0, scale^2); "
                          "glorot_uniform: scale * U[-l, l], l = sqrt(6/(fan_in+fan_out))")
    scale: float = field(1.0, check=bounded_non_negative, doc="spread of the distribution")


@dataclass
class Feedback(Node):
    """The pathway that carries errors back to a layer."""
    kind: str = field("random", check=one_of(*FEEDBACK_KINDS),
                      doc="; ".join(f"{k}: {v}" for k, v in FEEDBACK_MEANING.items()))
    init: Init = field(default_factory=lambda: Init("uniform", 0.5),
                       doc="initial feedback matrix (random, direct, learned)")
    decay: float = field(0.0, check=bounded_non_negative,
                         doc="learned: weight decay of B relative to eta (Kolen-Pollack)")
    rule: FeedbackRule | None = field(None, doc="phased specs: B learns with its own rule "
                                                "in a phase (a plastic feedback "
                                                "projection; kind random or direct)")


@dataclass
class Layer(Node):
    """A population. ``layers[0]`` is the input; its neuron model is ignored."""
    name: str = field(check=identifier, doc="unique name")
    size: int = field(check=layer_size, doc="number of neurons")
    neuron: NeuronModel = field(default_factory=Sigmoid,
                                doc="neuron model: a table whose `model` names it "
                                    "(see 'neuron models' below)")
    bias: bool = field(True, doc="learnable bias (rate models in the batched trainer)")
    bias_init: float = field(0.0, check=bounded,
                             doc="initial bias; with bias = false a fixed offset of the "
                                 "net input (spiking: the neuron fires above net input "
                                 "-bias_init, so a negative value is a rheobase; numpy "
                                 "backend only)")
    plastic: bool = field(True, doc="whether the projection into this layer learns")
    feedback: Feedback | None = field(None, doc="overrides network.feedback for this layer")


@dataclass
class Network(Node):
    layers: list[Layer] = field(check=list_of("layers"), doc="input first, output last")
    feedback: Feedback = field(default_factory=Feedback,
                               doc="feedback pathway of every hidden layer")
    init: Init = field(default_factory=Init, doc="initial forward weights")
    dynamics: Dynamics | None = field(None, doc="phased specs: how a step moves the "
                                                "network, a table whose `model` names it "
                                                "(see 'network dynamics' below); unset: "
                                                "feedforward")

    def validate(self, path: str):
        if len(self.layers) < 2:
            raise SpecError(f"needs at least 2 layers (input and output), got "
                            f"{len(self.layers)}", "layers")
        seen = set()
        for i, layer in enumerate(self.layers):
            if layer.name in seen:
                raise SpecError(f"duplicate layer name {layer.name!r}",
                                f"layers[{i}].name")
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
class Rule(Node):
    """A plasticity rule: a built-in by name, or terms written by the user."""
    name: str = field("", check=name_text, doc="display name (defaults to builtin)")
    builtin: str | None = field(None, doc="name of a built-in rule (neurolearn rules)")
    terms: list[Term] | None = field(None, check=list_of("terms"),
                                     doc="the sum of products; overrides builtin")
    eta: float = field(0.01, check=bounded_positive,
                       doc="learning rate: each update changes W by eta times the mean, "
                           "over the batch's examples, of the rule's sum of products "
                           "averaged over the example's plastic steps (docs/format.md, "
                           "'What eta means')")
    eta_output: float | None = field(None, check=optional(bounded_positive),
                                     doc="learning rate of the output layer (defaults to eta)")
    tag: Tag | None = field(None, doc="an eligibility tag per synapse, read by the terms "
                                      "as syn.tag (reward-modulated rules)")
    description: str = field("", check=free_text, doc="free text")

    def validate(self, path: str):
        if self.builtin is None and not self.terms:
            raise SpecError("give either builtin = NAME or terms = [...]")
        if self.builtin is not None:
            if self.builtin not in BUILTIN_RULES:
                raise SpecError(f"unknown built-in rule {self.builtin!r} (known: "
                                f"{', '.join(BUILTIN_RULES)})", "builtin")

    def resolved_terms(self) -> list[Term]:
        if self.terms:
            return self.terms
        return BUILTIN_RULES[self.builtin].terms

    def resolved_tag(self) -> Tag | None:
        if self.tag is not None or self.terms:
            return self.tag
        return BUILTIN_RULES[self.builtin].tag

    def all_factors(self):
        """Every factor of the weight terms and of the tag's terms."""
        tag = self.resolved_tag()
        for t in self.resolved_terms() + (tag.terms if tag else []):
            yield from t.factors

    @property
    def display_name(self) -> str:
        return self.name or self.builtin or "custom"

    def signals(self, kind: str) -> set[str]:
        return {f.signal for f in self.all_factors() if f.kind == kind}


@dataclass
class Data(Node):
    dataset: str = field("digits", check=one_of("digits", "xor", "linear_teacher",
                                               "fashion_mnist", "mnist", "pca_gaussian",
                                               "two_patterns"),
                         doc="which data set")
    path: str | None = field(None, doc="folder of IDX files (fashion_mnist, mnist); when "
                                       "set, the only place looked (unset: "
                                       "NEUROLEARN_DATA, then Debian's folder)")
    n_train: int | None = field(None, check=optional(example_count),
                                doc="use the first n training examples")
    n_test: int | None = field(None, check=optional(example_count),
                               doc="use the first n test examples")
    noise: float = field(0.0, check=bounded_non_negative,
                         doc="std of Gaussian noise on regression targets (linear_teacher)")
    classes: list[int] | None = field(None, doc="classification: keep only these classes, "
                                                "relabelled 0..k-1 in this order")

    def validate(self, path: str):
        if self.classes is not None:
            if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes) or \
                    any(c < 0 for c in self.classes):
                raise SpecError(f"must be at least two distinct non-negative class "
                                f"labels, got {self.classes!r}", "classes")


@dataclass
class Training(Node):
    epochs: int = field(20, check=epochs_check, doc="passes over the training set")
    batch_size: int = field(32, check=batch_size_check,
                            doc="examples per update, in every mode (time-stepped runs "
                                "accumulate the change over the batch's plastic steps)")
    loss: str = field("mse", check=one_of("mse", "cross_entropy", "reward"),
                      doc="mse on the output activity, softmax cross-entropy, or reward: "
                          "the output units are action values; only the selected action "
                          "learns, from the reward prediction error (BrainProp, spec.reward)")
    seed: int = field(0, check=seed_check, doc="seed of every random draw")
    momentum: float = field(0.0, check=lambda v: None if 0 <= v < 1
                            else f"must be in [0, 1), got {v!r}",
                            doc="SGD momentum, per update: v = momentum v + dW; W += v")
    lr_decay: float = field(1.0, check=lambda v: None if 0 < v <= 1
                            else f"must be in (0, 1], got {v!r}",
                            doc="eta is multiplied by this after every epoch")
    dtype: str = field("float64", check=one_of("float64", "float32"),
                       doc="floating-point type of the batched trainer (float64 is the "
                           "reference and the equivalence ground truth; float32 is "
                           "faster; time-stepped runs and engines refuse float32)")
    mode: str = field("auto", check=one_of("auto", "batched", "time_stepped"),
                      doc="auto: batched for rate networks, time-stepped for spiking ones")


@dataclass
class Simulation(Node):
    """Time-stepped runs: spiking networks, and equivalence checks."""
    dt: float = field(0.001, check=dt_check, doc="time step (s)")
    t_example: float = field(0.1, check=time_constant, doc="presentation time per example (s)")
    max_rate: float = field(200.0, check=rate_check, doc="input rate for a value of 1 (Hz)")
    encoding: str = field("regular", check=one_of("regular", "poisson"),
                          doc="input spike encoding of spiking networks")
    teach: float = field(1.0, check=half_open_unit_interval,
                         doc="fraction of each example, at its end, with the teacher and "
                             "plasticity on (the plastic steps); before it the network "
                             "settles without them (Payeur et al.'s prediction phase); "
                             "the readout is the mean over the same window")


@dataclass
class Reward(Node):
    """A reward task: the network acts and the task says whether the action was right.

    Per example, at its first plastic step, an action is selected from the output's
    readout (rate networks: the forward pass; spiking: the mean readout over the
    settling steps, so ``simulation.teach`` must leave some), with
    ``default_rng([seed, 6])``. The reward is ``correct`` if the action is the
    example's class (argmax of its target), else ``wrong``; global.reward carries it on
    the plastic steps from ``delay`` after the decision, global.rpe carries r - r_bar
    with r_bar the running mean of past rewards (time constant baseline_tau, in
    examples' plastic time)."""
    selection: str = field("argmax", check=one_of("argmax", "softmax", "epsilon_greedy"),
                           doc="how the action is chosen from the readout")
    temperature: float = field(1.0, check=bounded_positive,
                               doc="softmax selection: temperature")
    epsilon: float = field(0.05, check=lambda v: None if 0 <= v <= 1
                           else f"must be in [0, 1], got {v!r}",
                           doc="epsilon_greedy: probability of a random action")
    correct: float = field(1.0, check=bounded, doc="reward of a right action")
    wrong: float = field(0.0, check=bounded, doc="reward of a wrong action")
    delay: float = field(0.0, check=bounded_non_negative,
                         doc="s between the decision and the reward (time-stepped runs)")
    baseline_tau: float = field(1.0, check=time_constant,
                                doc="time constant (s of plastic time) of the running "
                                    "mean r_bar of the rpe signal")


@dataclass
class Spec(Node):
    name: str = field(check=name_text, doc="name of the experiment")
    network: Network = field(doc="populations, projections and feedback")
    rule: Rule = field(doc="plasticity rule of every plastic projection")
    data: Data = field(default_factory=Data, doc="data set")
    training: Training = field(default_factory=Training, doc="training budget")
    simulation: Simulation = field(default_factory=Simulation, doc="time-stepped settings")
    description: str = field("", check=free_text, doc="free text")
    type: str = field(FORMAT_TYPE, check=one_of(FORMAT_TYPE), doc="always neurolearn.spec")
    version: int = field(FORMAT_VERSION, check=lambda v: None if v == FORMAT_VERSION
                         else f"must be {FORMAT_VERSION}, got {v!r}", doc="format version")
    reward: Reward | None = field(None, doc="a reward task (reward-modulated rules, "
                                             "BrainProp); unset: supervised")
    phases: list[Phase] | None = field(None, check=optional(list_of("phases")),
                                       doc="the phases of every example, in order "
                                           "(see 'phases' below); unset: the two of "
                                           "simulation.teach")

    def validate(self, path: str):
        from .compat import check_compatible
        check_compatible(self)

    def with_(self, **changes) -> "Spec":
        return replace(self, **changes)
