"""Learning in phases: the IR of rules that need network dynamics within an example.

An example can be a sequence of *phases* (``[[phases]]``), each with its own
conditions: whether the input is on, whether the teacher is on and how hard it
pulls the output (``nudge``), whether plasticity is on, noise sources, and for
energy-based networks a *settling* loop (a relaxation with a step size and a
convergence criterion or a fixed number of steps). A factor can read the value a
signal had in a named phase (``phase``: its snapshot at the phase's end, or its
average over the phase's window). How a step moves the network is
``network.dynamics``: feedforward (today's networks; pyramidal neurons integrate
their compartments), ``equilibrium`` (Scellier & Bengio's Hopfield energy over
symmetric connections) or ``predictive_coding`` (value units and error
populations, Whittington & Bogacz). A feedback matrix can learn with its own rule
(``feedback.rule``), e.g. in a noise-driven mirror phase (Akrout et al.).

``simulation.teach`` is the two-phase special case: :func:`phases_of` derives
its phases (a settling phase without teacher, then a plastic teaching phase), so
every spec has one reading in phases. The meaning of a phased spec is
:mod:`neurolearn.reference.phased`; docs/phases.md says why the IR has this shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import SpecError
from . import limits
from .schema import (Node, bounded, bounded_positive, field, free_text, identifier,
                     int_in, list_of, name_text, number_in, one_of, optional)
from .terms import Term

_STEPS = int_in(1, limits.MAX_STEPS_PER_EXAMPLE, "limit MAX_STEPS_PER_EXAMPLE: each step "
                "updates the whole network")


@dataclass
class Settle(Node):
    """A relaxation loop: each of the phase's steps moves the state by ``step`` times
    its dynamics' force (the negative energy gradient), until converged."""
    step: float = field(check=number_in(0.0, 1.0, "a relaxation step beyond 1 "
                                        "overshoots a unit-curvature energy",
                                        lo_open=True),
                        doc="relaxation step size epsilon: s <- s + epsilon * ds")
    tol: float | None = field(None, check=optional(bounded_positive),
                              doc="an example stops settling at the first step that "
                                  "moves no state by more than tol (examples converge "
                                  "one by one); unset: run all the phase's steps")


@dataclass
class Noise(Node):
    """A noise source of a phase: fresh Gaussian draws every step."""
    std: float = field(check=bounded_positive, doc="standard deviation")
    layers: list[str] = field(check=list_of("layers"),
                              doc="names of the layers it drives")
    mode: str = field("replace", check=one_of("replace", "add"),
                      doc="replace: the layers' activity is the noise (neurons firing "
                          "noisily around zero, Akrout's mirror mode); add: added to "
                          "their net input")

    def validate(self, path: str):
        if not self.layers:
            raise SpecError("name at least one layer", "layers")
        if len(set(self.layers)) != len(self.layers):
            raise SpecError("names a layer twice", "layers")


@dataclass
class Phase(Node):
    """One phase of every example (module docstring)."""
    name: str = field(check=identifier, doc="unique name, read by factors' `phase`")
    steps: int = field(check=_STEPS, doc="length in steps of simulation.dt; a "
                                         "settling phase's maximum number of iterations")
    input: bool = field(True, doc="the example's input drives the input layer (false: "
                                  "it is silent)")
    target: bool = field(False, doc="the teacher is on: the output error exists "
                                    "(error_drive) and the output is nudged")
    nudge: float = field(0.0, check=bounded,
                         doc="how hard the teacher pulls the output: feedforward "
                             "dynamics move its activity by nudge * (y - h) (0: the "
                             "teacher only supplies the error, as simulation.teach); "
                             "equilibrium and predictive-coding dynamics add nudge * "
                             "loss to the energy (beta)")
    plastic: bool = field(False, doc="the rule learns in this phase (the forward "
                                     "weights; a feedback rule names its own phase)")
    settle: Settle | None = field(None, doc="equilibrium and predictive-coding dynamics: "
                                            "the phase is a relaxation loop")
    noise: Noise | None = field(None, doc="a noise source during this phase")
    window: int | None = field(None, check=optional(_STEPS),
                               doc="steps at the phase's end that its averages cover "
                                   "(default: all its steps)")

    def validate(self, path: str):
        if self.nudge != 0.0 and not self.target:
            raise SpecError("a nudge needs the teacher: set target = true", "nudge")
        if self.window is not None and self.window > self.steps:
            raise SpecError(f"must be at most the phase's steps ({self.steps}), got "
                            f"{self.window}", "window")


class Dynamics:
    """How a step moves the network (a tagged union keyed by ``model``)."""
    tag: ClassVar[str] = "model"
    registry: ClassVar[dict] = {}
    model: ClassVar[str] = ""
    settles: ClassVar[bool] = False  # its phases are relaxation loops

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.model:
            Dynamics.registry[cls.model] = cls


@dataclass
class Feedforward(Dynamics, Node):
    """Every step, bottom-up: a_l = W_l h_(l-1) + b_l, h_l = f(a_l) (pyramidal
    layers integrate their compartments instead); the output error goes down the
    feedback pathways. Today's networks."""
    model: ClassVar[str] = "feedforward"


@dataclass
class Equilibrium(Dynamics, Node):
    """Scellier & Bengio 2017: the states s_l of layers 1..L descend the Hopfield
    energy E = sum |s|^2 / 2 - sum rho(s_l) . W_l rho(s_(l-1)) - sum b_l . rho(s_l),
    plus nudge * loss at the output: ds_l = rho'(s_l) (W_l rho(s_(l-1)) + b_l +
    W_(l+1)^T rho(s_(l+1))) - s_l + nudge * (-dloss/ds_L at the output); rho is the
    layer's neuron model (hard_sigmoid keeps s in [0, 1]); the input is clamped.
    Connections are symmetric: feedback kind 'transport'."""
    model: ClassVar[str] = "equilibrium"
    settles: ClassVar[bool] = True


@dataclass
class PredictiveCoding(Dynamics, Node):
    """Whittington & Bogacz 2017: each layer above the input is a population of
    value units x_l and an error population e_l = x_l - mu_l, mu_l = W_l f(x_(l-1))
    + b_l (f(x_0) = the input). Value units descend F = sum |e_l|^2 / 2 + nudge *
    loss(f(x_L), y): dx_l = -e_l + f'(x_l) (W_(l+1)^T e_(l+1)) for hidden layers,
    dx_L = -e_L + nudge * (-dloss/dx_L). At equilibrium e_L = nudge * delta_L and
    e_l = f'(x_l) W_(l+1)^T e_(l+1): backprop's deltas times nudge as nudge -> 0.
    Errors travel through W^T: feedback kind 'transport'."""
    model: ClassVar[str] = "predictive_coding"
    settles: ClassVar[bool] = True


DYNAMICS = tuple(Dynamics.registry)


@dataclass
class FeedbackRule(Node):
    """A plastic feedback projection: B of a hidden layer learns with its own sum of
    products, B the synapse from the pathway's source layer (pre) to the layer
    (post), on the steps of one phase."""
    phase: str = field(check=identifier, doc="the phase on whose steps B learns")
    eta: float = field(0.01, check=bounded_positive,
                       doc="its learning rate (eta times the mean over the batch and "
                           "the phase's steps)")
    builtin: str | None = field(None, doc="a built-in feedback rule (weight_mirror)")
    terms: list[Term] | None = field(None, check=list_of("terms"),
                                     doc="the sum of products; overrides builtin")
    description: str = field("", check=free_text, doc="free text")
    name: str = field("", check=name_text, doc="display name")

    def validate(self, path: str):
        from .library import FEEDBACK_RULES
        if self.builtin is None and not self.terms:
            raise SpecError("give either builtin = NAME or terms = [...]")
        if self.builtin is not None and self.builtin not in FEEDBACK_RULES:
            raise SpecError(f"unknown built-in feedback rule {self.builtin!r} (known: "
                            f"{', '.join(FEEDBACK_RULES)})", "builtin")
        for k, t in enumerate(self.terms or []):
            for m, f in enumerate(t.factors):
                where = f"terms[{k}].factors[{m}]"
                if f.phase is not None:
                    raise SpecError("a feedback rule learns on its phase's steps and "
                                    "reads the step's values, not a phase", where + ".phase")
                if f.kind == "global":
                    raise SpecError(f"a feedback rule may not read global.{f.signal}",
                                    where + ".signal")
                if t.when != "step":
                    raise SpecError("a feedback rule's terms apply every step",
                                    f"terms[{k}].when")

    def resolved_terms(self) -> list:
        if self.terms:
            return self.terms
        from .library import FEEDBACK_RULES
        return FEEDBACK_RULES[self.builtin].terms

    @property
    def display_name(self) -> str:
        return self.name or self.builtin or "custom"


# ---- reading a spec in phases ----------------------------------------------------------

# Signals only the phased reference computes
PHASED_SIGNALS = {("pre", "net_input"), ("post", "slope"), ("post", "plateau"),
                  ("post", "error"), ("global", "inv_nudge")}


def phases_of(spec) -> list[Phase]:
    """The spec's phases; without [[phases]], the two of ``simulation.teach``: a
    phase of k - n_teach steps without teacher (left out when empty), then n_teach
    plastic steps with the teacher on (k = t_example / dt)."""
    if spec.phases:
        return list(spec.phases)
    sim = spec.simulation
    k = max(1, int(round(sim.t_example / sim.dt)))  # reference.stream.steps_per_example
    n_teach = max(1, int(round(spec.simulation.teach * k)))
    out = [Phase("settle", k - n_teach)] if k > n_teach else []
    return out + [Phase("teach", n_teach, target=True, plastic=True)]


def dynamics_of(network) -> Dynamics:
    """The network's dynamics (feedforward when unset)."""
    return network.dynamics or Feedforward()


def is_phased(spec) -> bool:
    """Whether the spec is given in phases (its meaning is the phased reference)."""
    return bool(getattr(spec, "phases", None))


def feedback_rules(spec) -> dict:
    """{hidden layer index: FeedbackRule} of the plastic feedback projections."""
    net = spec.network
    return {l: net.feedback_of(l).rule for l in range(1, len(net.layers) - 1)
            if net.feedback_of(l).rule is not None}


def _feedback_path(net, l) -> str:
    return f"network.layers[{l}].feedback" if net.layers[l].feedback else "network.feedback"


def _rule_factors(rule):
    """(path, factor) of every factor of the rule (a built-in's at rule.builtin)."""
    if rule.terms:
        for k, t in enumerate(rule.terms):
            for m, f in enumerate(t.factors):
                yield f"rule.terms[{k}].factors[{m}]", f
    else:
        for t in rule.resolved_terms():
            for f in t.factors:
                yield "rule.builtin", f
    tag = rule.resolved_tag()
    for t in (tag.terms if tag else []):
        for f in t.factors:
            yield "rule.tag", f


def _say(path, f) -> str:
    """How an error names a factor (a built-in's factors have no path of their own)."""
    return f"{f}" + (" (a term of the built-in rule)" if path == "rule.builtin" else "")


def check_phased(spec) -> None:
    """Cross-field checks of phases, dynamics, compartments, feedback rules and phase
    factors (called by rules.compat.check_compatible)."""
    from .neurons import Pyramidal
    net, rule, phases = spec.network, spec.rule, spec.phases
    fb_rules = feedback_rules(spec)
    pyramidal = [i for i, layer in enumerate(net.layers) if i and
                 isinstance(layer.neuron, Pyramidal)]
    if phases is not None and not phases:
        raise SpecError("give at least one phase, or leave phases unset", "phases")
    if not phases:
        why = "which needs phases: give [[phases]] (see docs/phases.md)"
        if dynamics_of(net).model != "feedforward":
            raise SpecError(f"{dynamics_of(net).model!r} dynamics settle in phases; give "
                            "[[phases]] with settle tables (see docs/phases.md)",
                            "network.dynamics.model")
        if pyramidal:
            raise SpecError(f"a pyramidal layer learns from its phases' plateau "
                            f"potentials, {why}",
                            f"network.layers[{pyramidal[0]}].neuron.model")
        if fb_rules:
            l = min(fb_rules)
            raise SpecError(f"a feedback rule learns in its own phase, {why}",
                            _feedback_path(net, l) + ".rule")
        for path, f in _rule_factors(rule):
            if f.phase is not None or (f.kind, f.signal) in PHASED_SIGNALS:
                raise SpecError(f"rule {rule.display_name!r} reads {_say(path, f)}, {why}",
                                path)
        return
    names = [p.name for p in phases]
    for i, p in enumerate(phases):
        if p.name in names[:i]:
            raise SpecError(f"duplicate phase name {p.name!r}", f"phases[{i}].name")
    sim = spec.simulation
    if sim.teach != 1.0:
        raise SpecError("phases replace simulation.teach: make a phase plastic with "
                        "target = true instead", "simulation.teach")
    steps = sum(p.steps for p in phases)
    if sim.t_example != 0.1 and abs(sim.t_example - steps * sim.dt) > 1e-9 * steps * sim.dt:
        raise SpecError(f"with phases an example lasts their {steps} steps "
                        f"({steps * sim.dt:g} s); leave t_example unset or give that",
                        "simulation.t_example")
    _check_dynamics(spec, pyramidal)
    index = {n: i for i, n in enumerate(names)}
    plastic = [i for i, p in enumerate(phases) if p.plastic]
    if not plastic and not fb_rules:
        raise SpecError("no phase is plastic and no feedback rule learns: nothing "
                        "would learn (set plastic = true on a phase)", "phases")
    reads = {}
    for path, f in _rule_factors(rule):
        if f.phase is None:
            continue
        if f.phase not in index:
            raise SpecError(f"rule {rule.display_name!r} reads {_say(path, f)} from "
                            f"phase {f.phase!r}, which the spec does not define (phases: "
                            f"{', '.join(names)})", path if path == "rule.builtin"
                            else path + ".phase")
        reads.setdefault(f.phase, path)
        if f.signal == "inv_nudge" and phases[index[f.phase]].nudge == 0.0:
            raise SpecError(f"rule {rule.display_name!r} reads 1/nudge of phase "
                            f"{f.phase!r}, whose nudge is 0", f"phases[{index[f.phase]}].nudge")
    for name, path in reads.items():
        late = [phases[i].name for i in plastic if i < index[name]]
        if late:
            raise SpecError(f"rule {rule.display_name!r} reads phase {name!r}, which "
                            f"comes after the plastic phase {late[0]!r} (a rule reads "
                            "only phases that have ended when it runs)", path)
    for l, fr in fb_rules.items():
        where = _feedback_path(net, l)
        if fr.phase not in index:
            raise SpecError(f"names phase {fr.phase!r}, which the spec does not define "
                            f"(phases: {', '.join(names)})", where + ".rule.phase")
        if net.feedback_of(l).kind in ("transport", "learned"):
            raise SpecError(f"a feedback rule learns its own matrix; kind "
                            f"{net.feedback_of(l).kind!r} has none of its own (use "
                            "'random' or 'direct')", where + ".kind")
    layer_names = [layer.name for layer in net.layers]
    for i, p in enumerate(phases):
        if p.noise is not None:
            for k, name in enumerate(p.noise.layers):
                if name not in layer_names:
                    raise SpecError(f"no layer is named {name!r} (layers: "
                                    f"{', '.join(layer_names)})",
                                    f"phases[{i}].noise.layers[{k}]")
    _check_builtin_needs(spec, pyramidal, fb_rules)


def _check_dynamics(spec, pyramidal) -> None:
    net, phases = spec.network, spec.phases
    dyn = dynamics_of(net)
    for i, p in enumerate(phases):
        if dyn.settles and p.settle is None:
            raise SpecError(f"{dyn.model!r} dynamics settle: give this phase a settle "
                            "table (step, and tol or a fixed number of steps)",
                            f"phases[{i}].settle")
        if not dyn.settles and p.settle is not None:
            raise SpecError("feedforward dynamics have nothing to relax (a rate layer "
                            "follows its input within the step); set network.dynamics "
                            "or remove settle", f"phases[{i}].settle")
        if dyn.settles and p.noise is not None:
            raise SpecError(f"noise sources drive feedforward dynamics; {dyn.model!r} "
                            "dynamics have none", f"phases[{i}].noise")
    last = len(net.layers) - 1
    if last in pyramidal:
        raise SpecError("the output layer has no feedback pathway to drive an apical "
                        "dendrite: use a rate model there",
                        f"network.layers[{last}].neuron.model")
    post = {f.signal for _, f in _rule_factors(spec.rule) if f.kind == "post"}
    if "error" in post and dyn.model != "predictive_coding":
        raise SpecError("post.error is the error population of predictive-coding "
                        "dynamics: set network.dynamics = {model = 'predictive_coding'}",
                        "network.dynamics.model")
    if not dyn.settles:
        return
    if pyramidal:
        raise SpecError(f"pyramidal compartments run under feedforward dynamics, not "
                        f"{dyn.model!r}", f"network.layers[{pyramidal[0]}].neuron.model")
    if "error_drive" in post:
        raise SpecError(f"post.error_drive is the error carried down feedback pathways "
                        f"in feedforward networks; {dyn.model!r} dynamics carry it in "
                        "their states", "rule")
    for l in range(1, len(net.layers) - 1):
        if net.feedback_of(l).kind != "transport":
            raise SpecError(f"{dyn.model!r} dynamics send activity back through the "
                            "forward weights (symmetric connections): kind must be "
                            f"'transport', got {net.feedback_of(l).kind!r}",
                            _feedback_path(net, l) + ".kind")


def _check_builtin_needs(spec, pyramidal, fb_rules) -> None:
    rule, net = spec.rule, spec.network
    if rule.terms or rule.builtin is None:
        return
    need = {"equilibrium_propagation": "equilibrium",
            "predictive_coding": "predictive_coding"}.get(rule.builtin)
    if need and dynamics_of(net).model != need:
        raise SpecError(f"rule {rule.builtin!r} needs network.dynamics = {{model = "
                        f"{need!r}}}, got {dynamics_of(net).model!r}", "network.dynamics.model")
    hidden = range(1, len(net.layers) - 1)
    if rule.builtin == "segregated_dendrites" and hidden and not pyramidal:
        raise SpecError("rule 'segregated_dendrites' learns hidden layers from their "
                        "apical plateaus: give them neuron = {model = 'pyramidal'}",
                        "network.layers[1].neuron.model")
    if rule.builtin == "weight_mirror" and hidden and not fb_rules:
        raise SpecError("rule 'weight_mirror' learns its feedback matrices: give "
                        "network.feedback.rule = {builtin = 'weight_mirror', phase = ...}",
                        "network.feedback.rule")


# What a phased spec can need beyond simulation.teach's window, one kind per
# capability, so a backend says which it lowers by kind (no string matching).
SETTLING, ERROR_POPULATIONS, COMPARTMENTS, PHASE_VALUES, FEEDBACK_RULE, NOISE, \
    NOISE_ADD, INPUT_NOISE, PHASES = ("settling", "error_populations", "compartments",
                                      "phase_values", "feedback_rule", "noise",
                                      "noise_add", "input_noise", "phases")


@dataclass(frozen=True)
class Need:
    """One capability a phased spec needs: its ``kind`` (a constant above), ``what``
    of the spec needs it, and the capability in words."""
    kind: str
    what: str
    capability: str


def phased_needs(spec) -> list:
    """What a phased spec needs beyond simulation.teach's two phases, as :class:`Need`
    entries, most specific first (backends refuse by the first they lack)."""
    from .neurons import Pyramidal
    if not is_phased(spec):
        return []
    net, rule = spec.network, spec.rule
    out = []
    dyn = dynamics_of(net)
    if dyn.settles:
        out.append(Need(SETTLING, f"network.dynamics {dyn.model!r}", "settling loops: "
                        "each phase relaxes the network's states to equilibrium (a step "
                        "size and a convergence test) before learning"))
    if dyn.model == "predictive_coding":
        out.append(Need(ERROR_POPULATIONS, "predictive-coding error populations",
                        "an error population per layer (e = x - mu) beside its value "
                        "units"))
    for i, layer in enumerate(net.layers):
        if isinstance(layer.neuron, Pyramidal):
            out.append(Need(COMPARTMENTS, f"neuron model 'pyramidal' (network.layers[{i}])",
                            "three-compartment neurons (basal, apical, soma) with plateau "
                            "potentials"))
            break
    phased = [f for f in rule.all_factors() if f.phase is not None]
    if phased:
        out.append(Need(PHASE_VALUES, f"rule {rule.display_name!r} factor {phased[0]}",
                        "phase snapshots and averages: a value held from the end of one "
                        "phase (or its mean) and read in a later one"))
    fb = feedback_rules(spec)
    if fb:
        out.append(Need(FEEDBACK_RULE, f"network.feedback.rule "
                        f"{fb[min(fb)].display_name!r}", "a plastic feedback projection "
                        "learning with its own rule in its own phase"))
    first = net.layers[0].name
    for p in spec.phases:
        if p.noise is not None and first in p.noise.layers:
            out.append(Need(INPUT_NOISE, f"the noise source of phase {p.name!r} on the "
                            f"input layer {first!r}", "noise on the input layer"))
            break
    for p in spec.phases:
        if p.noise is not None and p.noise.mode == "add":
            out.append(Need(NOISE_ADD, f"the noise source of phase {p.name!r} (mode "
                            "'add')", "noise added to a layer's net input"))
            break
    noisy = [p.name for p in spec.phases if p.noise is not None]
    if noisy:
        out.append(Need(NOISE, f"the noise source of phase {noisy[0]!r}", "noise sources "
                        "driving layers during a phase"))
    out.append(Need(PHASES, f"phases {', '.join(p.name for p in spec.phases)}", "phases "
                    "per example with their own input, teacher, nudge and plasticity "
                    "(beyond simulation.teach's settle-then-teach window)"))
    return out


def refuse_phases(spec, backend: str, lowering: str,
                  alternative: str = "numpy (the phased reference)",
                  supported: frozenset = frozenset()) -> None:
    """Refuse a phased spec by the first capability it needs (:func:`phased_needs`)
    whose kind is not in ``supported``; ``lowering`` says what the backend's lowering
    does instead."""
    from ..errors import UnsupportedRule
    for need in phased_needs(spec):
        if need.kind not in supported:
            raise UnsupportedRule(backend, need.what, f"it needs {need.capability}; "
                                  f"{lowering}", alternative)
