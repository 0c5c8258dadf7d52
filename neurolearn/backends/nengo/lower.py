"""A spec lowered to nengo: which nengo objects carry each part of the meaning, the
timing nengo gives it (a Schedule), the approximations it declares, and every refusal.

Imports no nengo: the registry, ``capabilities()`` and refusals work without it.

Mapping (the runtime, :mod:`.runtime` and :mod:`.frontend`, builds it):

- layer l is an Ensemble driven on ``.neurons``, J = offset + gain * a with a the
  layer's net input (W h + b); rate models have gain 1, offset 0 and a stock nengo
  type whose output is the model's f (Sigmoid and Tanh with tau_ref = 1,
  RectifiedLinear; linear is :class:`~.frontend.Identity`); the input layer is an
  Identity Ensemble fed by the example stream (nengo learns only from neural pres);
- the projection into layer l is a Connection (transform W_l) learning with
  :class:`~.frontend.SumOfProducts`; a learned bias is a Connection from a unit of
  constant activity 1 with the same rule (the reference's bias is that synapse); a
  fixed offset (``bias = false``, or a layer that does not learn) is the Ensemble's
  own bias;
- spiking (lif): nengo.LIF with J = 1 + (gain / threshold) (I + b) (nengo's threshold
  is 1), amplitude 1 / max_rate (a spike is 1 / (dt max_rate), so a unit-area filter
  of it is in activity units), the forward Connection's synapse Lowpass(tau_syn) is
  the current-based synapse, each layer's activity trace is Lowpass(tau_syn) of its
  spikes in nengo's 'set' mode (same step);
- the post factors of every layer come from one operator that the network's own
  builder adds (:class:`~.frontend.LearningNetwork`), calling
  :mod:`neurolearn.reference.signals`; a reward task's action selection, reward and
  reward prediction error (the global signals) run there too, with the reference's
  own :class:`~neurolearn.reference.reward.RewardState`;
- spike-timing rules (terms with ``when = pre_spike | post_spike``, STDP spike
  traces) and the eligibility tag (a second state per synapse with its own sum of
  products) live in each projection's learning operator (:mod:`.ops`), which masks a
  gated term by the step's pre or post spikes as the reference does;
- phases (``[[phases]]``, rate networks): the stream flags every step
  with its phase (input on or off, teacher, plasticity); a layer that a phase's noise
  replaces, or an output that the teacher nudges, runs its nengo neuron type and then
  an operator that puts the noise (the reference's draws,
  :func:`neurolearn.reference.phased.example_noise`) or the nudge in its output; a
  plastic feedback matrix (``network.feedback.rule``) learns in its own operator on
  its phase's steps; noise added to a layer's net input comes from a Node on its
  neurons, and the input layer's noise from the stream; a rule reading phase
  snapshots or averages records them in its learning operator and runs at the end of
  each plastic phase; equilibrium dynamics (equilibrium propagation) settle in an
  operator per layer over connections that deliver one step late (W up, a mirrored
  W^T down that follows W's changes), every example starting with L steps that take
  the forward sweep's states; predictive coding's value units do the same beside an
  error population per layer (e = x - (W f(x_below) + b), in the step) whose errors
  reach the values one step late; a pyramidal layer's soma integrates in its own
  operator, its apical input arriving one step late (the reference's apical potential
  is read after the step), its plateau read in the step from a second connection;
  settle.tol's per-example convergence is one operator reading every layer's move.
  Noise replacing a pyramidal rate and a learned apical pathway are refused by name.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field

from ...errors import UnsupportedRule
from ...reference.schedule import Schedule
from ...reference.simulator import teach_steps
from ...reference.stream import steps_per_example
from ...reference.signals import feedback_source, layer_etas
from ...rules import phases as P
from ...rules.neurons import LIF, Burst, BurstRate, Linear, Pyramidal, ReLU, Sigmoid, Tanh
from ..base import Approximation, Program

NAME = "nengo"

# nengo's timing. Rate networks: connections without synapses, post factors and the
# rule in the step they are computed, the delta added at the start of the next step
# (= the reference's "applied at the end of the step"): no delay at all.
RATE_SCHEDULE = Schedule("nengo", forward_delay=0, feedback_delay=0, apply="batch")
# Spiking networks: a connection's synapse runs in nengo's 'update' mode, so what a
# layer sends arrives one step later (the post-factor operator still reads every
# layer in the same step: no feedback delay).
SPIKING_SCHEDULE = Schedule("nengo-synapses", forward_delay=1, feedback_delay=0,
                            apply="batch")

# rate models: the nengo neuron type whose output is the model's f (dispatch on the
# class; Burst is refused before LIF, as it subclasses it)
RATE_TYPES = {Sigmoid: "sigmoid", BurstRate: "sigmoid", Tanh: "tanh", ReLU: "relu",
              Linear: "linear"}

LIF_APPROXIMATION = Approximation(
    "nengo LIF", "neuron model",
    "nengo.LIF integrates the membrane exactly over the step as the reference does, "
    "but puts each spike at its sub-step threshold crossing and holds the neuron for "
    "tau_ref from that instant (a fractional refractory period; the reference clamps "
    "round(tau_ref/dt) whole steps), fires when v > threshold (the reference: >=) and "
    "floors v at 0 (the reference lets it go negative)")

# a factor with its own trace (as the reference simulator finds them: a pre or post
# activity with its own tau, every event_trace and spike_trace, of the weight and the
# tag terms), renamed so two taus or update modes of one signal stay two signals
Factor = namedtuple("Factor", "kind signal tau")
Term = namedtuple("Term", "factors coeff when")
Trace = namedtuple("Trace", "kind signal tau update read")
# a factor that reads a phase (its snapshot, or its average over the last ``window``
# steps), recorded by the learning operator under ``name``
PhaseRead = namedtuple("PhaseRead", "kind signal phase value window name")


def phase_name(fa) -> str:
    """The signal name a factor reading a phase carries in the operator's dicts."""
    return f"{fa.signal}@{fa.phase}:{fa.phase_value}"


def trace_name(tr) -> str:
    """The signal name a traced factor carries in the operator's signal dicts."""
    return f"{tr.signal}@{tr.tau}:{tr.update}:{tr.read}"


@dataclass
class LayerMap:
    """How one layer becomes a nengo Ensemble (index 0: the input)."""
    name: str
    size: int
    neuron_type: str          # 'identity' (input), 'sigmoid', 'tanh', 'relu', 'linear',
                              # 'lif', 'settling', 'pyramidal'
    neuron_args: dict         # constructor arguments of the nengo type
    gain: float               # J = offset + gain * a
    offset: float
    synapse: float | None     # Lowpass tau of the projection into this layer (update mode)
    trace_tau: float | None   # spiking: tau of the layer's activity trace (set mode)
    bias: str                 # 'learned' (a Connection from the unit) or 'fixed'
    bias_init: float
    plastic: bool
    noise: float              # std of current noise in nengo's J units (0: none)
    neuron: object = None     # the IR node (f, fprime)
    phased: bool = False      # a phase's noise replaces its output or the teacher nudges it
    add_noise: bool = False   # a phase's noise is added to its net input
    settling: bool = False    # equilibrium dynamics: its state relaxes (SimSettling)

    def __post_init__(self):
        self.settling = self.neuron_type == "settling"

    @property
    def pyramidal(self) -> bool:
        """Basal, apical and somatic compartments (SimPyramidal)."""
        return self.neuron_type == "pyramidal"


@dataclass
class NengoProgram(Program):
    spec: object = None
    spiking: bool = False
    layers: list = field(default_factory=list)   # LayerMap per layer 0..L
    eta: list = field(default_factory=list)      # per projection 1..L (index 0..L-1)
    terms: list = field(default_factory=list)    # the rule's terms, traced factors renamed
    tag_terms: list = field(default_factory=list)  # the tag's terms, renamed (none: no tag)
    tag_tau: float | None = None  # the tag's decay time constant (s)
    filtered: list = field(default_factory=list)  # Trace: factors with their own trace
    post_needed: frozenset = frozenset()   # post signals of the rule (post-factor operator)
    pre_needed: frozenset = frozenset()    # pre signals read untraced
    post_raw: frozenset = frozenset()      # post signals read untraced
    globals_needed: frozenset = frozenset()  # global signals (reward, rpe)
    gated: frozenset = frozenset()         # 'pre_spike' / 'post_spike' terms present
    reward: object = None      # spec.reward: action selection in the post-factor operator
    k: int = 1                 # steps per example
    n_teach: int = 1           # plastic steps per example (the last ones)
    batch_size: int = 1
    momentum: float = 0.0
    lr_decay: float = 1.0
    loss: str = "mse"
    dt: float = 0.001
    max_rate: float = 200.0
    phases: list = field(default_factory=list)   # [[phases]] (empty: simulation.teach)
    feedback: dict = field(default_factory=dict)  # hidden l -> FeedbackMap
    phase_reads: list = field(default_factory=list)  # PhaseRead of the rule's factors
    # the rule reads phases: it runs once at the end of each plastic phase (eta over
    # their number), not on every plastic step
    per_phase: bool = False
    n_plastic_phases: int = 0
    # settling dynamics: steps before an example's phases in which the layers take the
    # forward sweep's states one by one (the reference's sweep is instantaneous; a
    # settling loop's connections deliver one step late)
    sweep: int = 0
    example_steps: int = 1   # the reference's steps per example (k less the sweep)
    apical: dict = field(default_factory=dict)  # pyramidal l -> its apical source layer
    dynamics: str = "feedforward"  # or 'equilibrium', 'predictive_coding' (settling)

    @property
    def step_table(self) -> list:
        """(phase index, step in phase) of every step of an example; -1: the sweep."""
        return [(-1, j) for j in range(self.sweep)] + [
            (i, j) for i, p in enumerate(self.phases) for j in range(p.steps)]

    @property
    def readout_table(self) -> list:
        """The steps of an inference: the sweep and the phases before the first with
        the teacher (the reference's readout is the state after them); at least one
        step, the sweep's, when there are neither."""
        first = next((i for i, p in enumerate(self.phases) if p.target), len(self.phases))
        table = [(-1, j) for j in range(self.sweep)] + [
            (i, j) for i, p in enumerate(self.phases[:first]) for j in range(p.steps)]
        return table or [(-1, 0)]

    @property
    def L(self) -> int:
        return len(self.layers) - 1

    def learns_feedback(self, l: int) -> bool:
        """Whether hidden layer l's feedback matrix learns (Kolen-Pollack)."""
        return 1 <= l < self.L and self.spec.network.feedback_of(l).kind == "learned"


@dataclass
class FeedbackMap:
    """A plastic feedback matrix B_l (``network.feedback.rule``): B is the synapse from
    the pathway's source layer (pre) to hidden layer l (post), learning on the steps
    of phase ``phase`` (its index) with the rule's terms and eta."""
    source: int
    phase: int
    steps: int
    eta: float
    terms: list


# what the nengo lowering expresses of a phased spec (neurolearn.rules.phases): every
# kind of need today; a new kind is refused by name until it is lowered
PHASED_SUPPORT = frozenset({P.PHASES, P.NOISE, P.NOISE_ADD, P.INPUT_NOISE,
                            P.FEEDBACK_RULE, P.PHASE_VALUES, P.SETTLING,
                            P.ERROR_POPULATIONS, P.COMPARTMENTS})
# what a feedback rule's factors may read on nengo (activity and net input of its two
# layers; syn.w is B)
FEEDBACK_SIGNALS = frozenset({"activity", "net_input"})
PHASED_LOWERING = ("the nengo lowering runs phases as per-step flags of the example "
                   "stream, with operators for noise, settling, error populations, "
                   "pyramidal somata, phase values and feedback rules")


def refuse_phased_inference(spec) -> None:
    """Inference of a spec in phases reads the output after the sweep and the phases
    before the teacher; its activity is the readout for the MSE loss, while cross
    entropy would need the output's net input, which a settling or pyramidal output
    does not expose: refused by name."""
    if P.is_phased(spec) and spec.training.loss == "cross_entropy":
        _refuse(f"inference of spec {spec.name!r} in phases with the cross-entropy loss",
                "the readout would be the softmax of the output's net input, which "
                "nengo's phased outputs do not expose", "numpy (the phased reference's "
                "evaluation), or the MSE loss")


def _refuse(what, reason, alternative="numpy (neurolearn.reference.simulator) or lava"):
    raise UnsupportedRule(NAME, what, reason, alternative)


def _layer(i, layer, spiking, sim, first_hidden, settling=False) -> LayerMap:
    n = layer.neuron
    fixed = not (layer.bias and layer.plastic)
    if i == 0:
        return LayerMap(layer.name, layer.size, "identity", {}, 1.0, 0.0, None,
                        first_hidden.tau_syn if spiking else None, "fixed", 0.0, False,
                        0.0)
    if isinstance(n, Burst):  # before LIF: Burst subclasses it
        _refuse(f"neuron model 'burst' (network.layers[{i}].neuron)",
                "a nengo neuron has one output and a nengo learning rule sees only "
                "that; the two-compartment burst neuron needs separate burst and event "
                "trains")
    if isinstance(n, LIF):
        gain = n.gain / n.threshold
        return LayerMap(layer.name, layer.size, "lif",
                        {"tau_rc": n.tau_rc, "tau_ref": n.tau_ref,
                         "amplitude": 1.0 / sim.max_rate},
                        gain, 1.0, n.tau_syn, n.tau_syn, "fixed" if fixed else "learned",
                        layer.bias_init, layer.plastic, n.noise / n.threshold, n)
    # a settling layer's f is its operator's (SimSettling), any rate model; so is a
    # pyramidal layer's (SimPyramidal)
    kind = "settling" if settling else "pyramidal" if isinstance(n, Pyramidal) else \
        RATE_TYPES.get(type(n))
    if kind is None:
        _refuse(f"neuron model {n.model!r} (network.layers[{i}].neuron)",
                "no nengo neuron type is mapped to it", "numpy")
    return LayerMap(layer.name, layer.size, kind, {}, 1.0, 0.0, None, None,
                    "fixed" if fixed else "learned", layer.bias_init, layer.plastic,
                    0.0, n)


def _filtered_factors(terms):
    """The factors with their own trace (Trace tuples, each once, in a fixed order)."""
    out = set()
    for t in terms:
        for fa in t.factors:
            if fa.kind in ("pre", "post") and (
                    fa.signal in ("event_trace", "spike_trace") or
                    (fa.signal == "activity" and fa.tau is not None)):
                out.add(Trace(fa.kind, fa.signal, fa.tau, fa.update, fa.read))
    return sorted(out, key=str)


def _renamed(terms, filtered):
    def name(fa):
        if getattr(fa, "phase", None) is not None:
            return Factor(fa.kind, phase_name(fa), None)
        tr = Trace(fa.kind, fa.signal, fa.tau, fa.update, fa.read) \
            if fa.kind in ("pre", "post") else None
        return Factor(fa.kind, trace_name(tr), fa.tau) if tr in filtered else fa
    return [Term([name(fa) for fa in t.factors], t.coeff, t.when) for t in terms]


def _untraced(terms, filtered, kind):
    return frozenset(fa.signal for t in terms for fa in t.factors if fa.kind == kind
                     and Trace(fa.kind, fa.signal, fa.tau, fa.update, fa.read)
                     not in filtered)


def _phased_parts(spec, layers, settles):
    """What a spec in phases adds to the Program (module docstring), marking the
    layers a phase's noise or nudge reaches; refuses what nengo does not lower."""
    net, rule = spec.network, spec.rule.display_name
    feedback, sweep, dynamics = {}, 0, "feedforward"
    phases = P.phases_of(spec)
    k = sum(p.steps for p in phases)
    n_teach = max(1, sum(p.steps for p in phases if p.plastic))
    names = [layer.name for layer in net.layers]
    for p in phases:
        for name in (p.noise.layers if p.noise is not None else []):
            i = names.index(name)
            if i and p.noise.mode == "replace":
                layers[i].phased = True
            elif i:
                layers[i].add_noise = True
        if p.target and p.nudge and not settles:  # settling: a force (SimSettling)
            layers[-1].phased = True
    # 1/nudge is a constant of its phase; post.error is predictive coding's error
    # population; slope, plateau and the net input are set per layer (SimPyramidal,
    # SimSettling, SimRateSignals)
    mapped = {("global", "inv_nudge"), ("post", "error"), ("post", "slope"),
              ("post", "plateau"), ("pre", "net_input")}
    own = sorted({f"{f.kind}.{f.signal}" for f in spec.rule.all_factors()
                  if (f.kind, f.signal) in P.PHASED_SIGNALS - mapped})
    if own:
        _refuse(f"rule {rule!r} factor {own[0]}", "the signal is the phased "
                "reference's own; nengo's learning operator reads activities, "
                "traces and the post factors", "numpy (the phased reference)")
    if P.dynamics_of(net).settles:
        sweep = len(net.layers) - 1
        dynamics = P.dynamics_of(net).model
    pyramidal = [l for l, lm in enumerate(layers) if lm.pyramidal]
    if pyramidal:
        noisy = [p.name for p in phases if p.noise is not None and p.noise.mode ==
                 "replace" and any(names.index(name) in pyramidal for name in p.noise.layers)]
        if noisy:
            _refuse(f"the noise source of phase {noisy[0]!r} replacing a pyramidal "
                    "layer's activity", "nengo's pyramidal operator adds noise to the "
                    "basal input; a rate replaced by noise has no soma to integrate",
                    "numpy (the phased reference), or noise mode 'add'")
        kinds = sorted({net.feedback_of(l).kind for l in pyramidal} - {"random", "direct"})
        if kinds:
            _refuse(f"feedback kind {kinds[0]!r} into a pyramidal layer's apical dendrite",
                    "nengo's apical connections carry a fixed feedback matrix",
                    "numpy (the phased reference), or kind 'random' or 'direct'")
        sweep = 1  # the sweep's somata at rest, bottom-up in one step (no delays)
    example_steps = k
    k += sweep
    index = {p.name: i for i, p in enumerate(phases)}
    phase_reads = sorted({PhaseRead(f.kind, f.signal, index[f.phase], f.phase_value,
                                    phases[index[f.phase]].window
                                    or phases[index[f.phase]].steps, phase_name(f))
                          for f in spec.rule.all_factors() if f.phase is not None})
    for l, r in P.feedback_rules(spec).items():
        bad = [f for t in r.resolved_terms() for f in t.factors
               if f.kind != "syn" and f.signal not in FEEDBACK_SIGNALS]
        if bad:
            _refuse(f"network.feedback.rule {r.display_name!r} factor {bad[0]}",
                    "nengo's feedback-rule operator reads the activity and net input "
                    "of its two layers", "numpy (the phased reference)")
        i = next(j for j, p in enumerate(phases) if p.name == r.phase)
        feedback[l] = FeedbackMap(feedback_source(net, l), i, phases[i].steps, r.eta,
                                  list(r.resolved_terms()))
    return (phases, k, n_teach, feedback, phase_reads, sweep, example_steps, dynamics,
            {l: feedback_source(net, l) for l in pyramidal})


def lower(spec, precision: str = "float", profile=None, variant=None) -> NengoProgram:
    """The nengo Program of ``spec``, or UnsupportedRule naming the reason."""
    phased = P.is_phased(spec)
    if phased:
        from ...reference.phased import refuse_unsupported
        refuse_unsupported(spec, NAME)  # what has no phased meaning (spiking, tags...)
        P.refuse_phases(spec, NAME, PHASED_LOWERING, supported=PHASED_SUPPORT)
    rule = spec.rule.display_name
    if precision != "float":
        _refuse(f"precision {precision!r}", "nengo.Simulator computes in float64 only",
                "numpy or lava (precision 'fixed')")
    if variant is not None:
        _refuse(f"variant {variant!r}", "the nengo backend has one lowering", "nengo "
                "without a variant")
    net = spec.network
    spiking = net.spiking
    settles = phased and P.dynamics_of(net).settles
    for i, layer in enumerate(net.layers[1:], start=1):
        _layer(i, layer, spiking, spec.simulation, net.layers[1].neuron,
               settles)  # neuron refusals
    terms = spec.rule.resolved_terms()
    tag = spec.rule.resolved_tag()
    all_terms = list(terms) + (list(tag.terms) if tag is not None else [])
    # spike-gated terms on rate neurons and global signals without spec.reward are
    # refused by the spec's own validation (rules/compat.py)
    gated = frozenset(t.when for t in all_terms if t.when != "step")
    glob = spec.rule.signals("global")
    post = spec.rule.signals("post")
    for sig in sorted(post & {"burst", "pbar_event", "event"}):
        _refuse(f"rule {rule!r} (post signal {sig!r})",
                "it needs the burst and event trains of two-compartment burst neurons, "
                "which no nengo neuron type produces")
    filtered = _filtered_factors(all_terms)
    if not spiking and any(tr.tau is None for tr in filtered):
        _refuse(f"rule {rule!r} (pre.event_trace without tau on rate neurons)",
                "a trace needs a time constant, and rate neurons have no tau_syn",
                "nengo with a tau on the factor")
    sim = spec.simulation
    layers = [_layer(i, layer, spiking, sim, net.layers[1].neuron, settles)
              for i, layer in enumerate(net.layers)]
    t = spec.training
    approx = [LIF_APPROXIMATION] if spiking else []
    k, n_teach, phases, feedback = steps_per_example(sim), teach_steps(sim), [], {}
    phase_reads, sweep, example_steps, dynamics, apical = [], 0, k, "feedforward", {}
    if phased:
        (phases, k, n_teach, feedback, phase_reads, sweep, example_steps,
         dynamics, apical) = _phased_parts(spec, layers, settles)
    return NengoProgram(
        NAME, precision, SPIKING_SCHEDULE if spiking else RATE_SCHEDULE, variant, approx,
        spec=spec, spiking=spiking, layers=layers,
        eta=layer_etas(spec.rule, len(net.layers) - 1),
        terms=_renamed(terms, set(filtered)),
        tag_terms=_renamed(tag.terms, set(filtered)) if tag is not None else [],
        tag_tau=tag.tau if tag is not None else None, filtered=filtered,
        post_needed=frozenset(post), pre_needed=_untraced(all_terms, set(filtered), "pre"),
        post_raw=_untraced(all_terms, set(filtered), "post"), globals_needed=frozenset(glob),
        gated=gated, reward=spec.reward,
        k=k, n_teach=n_teach, batch_size=t.batch_size,
        momentum=t.momentum, lr_decay=t.lr_decay, loss=t.loss, dt=sim.dt,
        max_rate=sim.max_rate, phases=phases, feedback=feedback, phase_reads=phase_reads,
        per_phase=bool(phase_reads),
        n_plastic_phases=sum(1 for p in phases if p.plastic), sweep=sweep,
        example_steps=example_steps, dynamics=dynamics, apical=apical)
