"""Lowering a spec to Brian2: NeuronGroups, Synapses and their code, generated from
the rule IR, and every refusal. Pure Python: this module never imports brian2.

**What becomes what.** Layer m is a ``NeuronGroup`` ``L<m>``; the projection into
layer l a ``Synapses`` ``S<l>`` (one synapse per weight, in the order of W's
entries); a fixed or learned feedback matrix B_l a ``Synapses`` ``F<l>`` from the
layer its pathway starts at (l + 1, or the output for direct FA) to l.

- LIF layer: Brian2 equations of the reference's model, integrated exactly::

      dv/dt = (J - v) / tau_rc : 1 (unless refractory)
      dI/dt = -I / tau_syn : 1                  the current-based synapse
      dxh/dt = -xh / tau_syn : 1                the activity trace (readout, factors)
      J = thr + gain * (I + b) [+ noise * nz] : 1 (constant over dt)
      fp = int(I + b > 0) : 1 (constant over dt)   the surrogate f'

  threshold ``v >= thr``, reset ``v = 0; s = 1; xh += g_x`` (g_x = (1 - d)/(dt
  max_rate), unit area), ``refractory = (n_ref + 1) dt`` (Brian2 counts the spike's
  own step). A presynaptic spike adds ``g_syn w`` to I through the ``current``
  pathway of S_l (``on_pre``). The input layer's neurons spike when the stream says
  (threshold ``xs > 0.5``).
- Rate layer: ``z`` is a summed variable of S_l (``z_post = w * h_pre``), then
  ``a = z + b``, ``h = f(a)``, ``fp = f'(a, h)`` in code (the neuron node's formulas).
- Own-trace factors (spike traces, activity with its own tau): a variable per layer
  and factor, decaying in the group's state update (``dtr/dt = -tr/tau``); a spike
  adds the jump (``update = "add"``) or sets it (``"set"``: nearest-neighbour) in the
  reset when the factor is read after the spike, and at the end of the step (after
  the learning code read it) when it is read before (``read = "before"``).
- Terms: a step term is ``run_regularly`` code of S_l (every synapse, every step); a
  spike-triggered term an ``on_pre`` (``pre_spike``) or ``on_post`` (``post_spike``)
  pathway of its own, so it runs at the spikes only. Each adds
  ``((P * c_k) * Q) [* w] [* tag]`` to the synapse's accumulator ``acc`` (P: the
  post and global factors, Q: the pre factors, c_k a shared variable the stream
  sets: eta coeff / (n_teach n_batch) for step terms, eta coeff / n_batch for spike
  terms, 0 outside plastic steps). A learned bias accumulates ``c_k * P`` in the
  group.
- Tag (``rule.tag``): ``dtag/dt = -tag/tau : 1 (clock-driven)`` in S_l, its terms as
  pathways or code (coefficients as constants), every step.
- Global factors (``global.reward``, ``global.rpe``): shared variables of the post
  group, set by the task.
- Error drives: the output drive -dL/da (``signals.output_drive``) is written by the
  task; a hidden layer's feedback signal is a summed variable, ``g_post = B *
  delta_pre`` of F_l (random, direct, learned) or ``g_pre = w * delta_post`` of
  S_{l+1} (transport: W^T), then ``delta = g * fp``.
- Batches: at the batch's last plastic step a gate ``go`` adds the accumulated change
  (``w += acc``, or through momentum ``vel = mu vel + acc; w += vel``) and clears it.

**The task** (what the network is shown and told) is two ``NetworkOperation``\\ s of
:mod:`.runtime`: ``stream`` sets the input, the gates and coefficients of the step;
``task`` reads the readout, forms the output error with :mod:`neurolearn.reference.signals`
(teacher, or action selection and reward for ``spec.reward``) and writes the output
drive and the global factors.

**Schedule.** Every object runs in one of Brian2 slots named after the phases
:data:`PHASES`, in the order of :attr:`Brian2Program.ops` (see :meth:`Brian2Program.slots`):
input, forward (layer by layer: a layer's input spikes drive it in the same step),
task, feedback (top down), learning, apply, record. That is the reference's order of a
step on the textbook schedule, so the Program's schedule is ``TEXTBOOK`` and a
Brian2 run equals the reference's to rounding (tier exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import UnsupportedRule
from ...reference.params import Params, init_params
from ...reference.schedule import TEXTBOOK
from ...reference.simulator import teach_steps
from ...reference.stream import steps_per_example
from ...rules.neurons import LIF, Burst, BurstRate, Linear, ReLU, Sigmoid, Tanh
from ..base import Program, require_float64

NAME = "brian2"
# Brian2's runtime code-generation targets (Brian2 2.8: "numpy" needs nothing,
# "cython" compiles each code object once, cached in ~/.cython/brian_extensions)
TARGETS = ("numpy", "cython")
VARIANTS = TARGETS + ("loihi",)
PHASES = ("input", "forward", "task", "feedback", "learning", "apply", "record")

# rate models: (h = f(a), f'(a, h)) as Brian2 expressions, the neuron nodes' formulas
# (rules/neurons.py), written with the same operations
_RATE_CODE = {
    Sigmoid: ("int(a >= 0) / (1 + exp(-a * int(a >= 0)))"
              " + int(a < 0) * exp(a * int(a < 0)) / (1 + exp(a * int(a < 0)))",
              "h * (1 - h)"),
    Tanh: ("tanh(a)", "1 - h * h"),
    ReLU: ("clip(a, 0, inf)", "int(a > 0)"),
    Linear: ("a", "1.0"),
}


def _refuse(what, reason, alternative="numpy (the reference)"):
    raise UnsupportedRule(NAME, what, reason, alternative)


# -- the Program ------------------------------------------------------------------------
@dataclass
class GroupProgram:
    """One ``NeuronGroup``: layer ``index``."""
    name: str
    index: int
    size: int
    spiking: bool
    equations: str
    threshold: str | None = None
    reset: str | None = None
    refractory_steps: int | None = None     # Brian2's refractory in steps
    namespace: dict = field(default_factory=dict)
    init: dict = field(default_factory=dict)   # variable -> initial values
    noise: float = 0.0
    bias_terms: list = field(default_factory=list)   # [Coefficient]
    traces: list = field(default_factory=list)       # [TraceProgram]
    has_globals: tuple = ()                          # global factors it holds


@dataclass
class TraceProgram:
    """An own-trace factor held by a group: ``var`` decays with ``tau``; a spike adds
    (or sets) ``jump``; read after the jump (``late`` False) or before it."""
    var: str
    key: tuple
    tau: float
    jump: float
    update: str
    late: bool


@dataclass
class Coefficient:
    """A shared variable ``var`` of a group or synapses that the stream sets every
    step: ``coeff * (eta_l * scale)`` on plastic steps, 0 otherwise; ``scale`` is
    1/(n_teach n_batch) (``kind`` "step"), 1/n_batch ("event"), or, for a learned
    feedback matrix, eta_l / (n_teach n_batch) with coeff 1 ("mirror")."""
    var: str
    coeff: float
    layer: int          # the projection whose eta applies (1..L)
    kind: str


@dataclass
class SynapsesProgram:
    """One ``Synapses``: the projection into layer ``layer`` (``kind`` "forward") or
    its feedback matrix (``"feedback"``)."""
    name: str
    kind: str
    layer: int
    source: str
    target: str
    model: str
    weight: str                     # the variable holding W (w) or B (B)
    matrix: np.ndarray              # initial values (n_target, n_source)
    on_pre: dict = field(default_factory=dict)
    on_post: dict = field(default_factory=dict)
    namespace: dict = field(default_factory=dict)
    coefficients: list = field(default_factory=list)   # [Coefficient]
    plastic: bool = False


@dataclass
class Op:
    """One scheduled object: ``kind`` is code (``run_regularly``), pathway, summed,
    subexpression, state, threshold, reset, or env (a NetworkOperation of the
    runtime named ``name``)."""
    phase: str
    owner: str
    kind: str
    name: str
    code: str = ""
    what: str = ""


@dataclass
class Brian2Program(Program):
    """A spec lowered to Brian2 (module docstring)."""
    spec: object = None
    params: Params | None = None
    groups: list = field(default_factory=list)      # [GroupProgram], layers 0..L
    synapses: list = field(default_factory=list)    # [SynapsesProgram]
    ops: list = field(default_factory=list)         # [Op], in schedule order
    k: int = 1
    n_teach: int = 1
    seed: int = 0
    needs_drive: bool = False
    globals_: tuple = ()                            # global factors the rule reads
    momentum: float = 0.0

    @property
    def L(self) -> int:
        return len(self.spec.network.layers) - 1

    @property
    def spiking(self) -> bool:
        return self.spec.network.spiking

    def slots(self) -> list[str]:
        """The schedule, one line per object: phase, owner, what it does."""
        return [f"{op.phase:9s} {op.owner:6s} {op.kind:13s} {op.what or op.name}"
                for op in self.ops]

    def describe(self) -> list[str]:
        return super().describe() + [
            f"Brian2 {self.variant} target; one step = " +
            " -> ".join(p for p in PHASES if any(o.phase == p for o in self.ops))]


# -- checks ---------------------------------------------------------------------------
def _check(spec, precision, variant):
    if variant not in VARIANTS:
        _refuse(f"variant {variant!r}", f"known variants: {', '.join(VARIANTS)}",
                "brian2 --variant numpy or cython")
    if variant == "loihi":
        from .loihi import refuse_loihi
        refuse_loihi(spec)
    from ...rules.phases import refuse_phases
    refuse_phases(spec, NAME, "the generated network runs one feedforward pass per step "
                  "with simulation.teach's plastic window and fixed feedback")
    if precision != "float":
        _refuse(f"precision {precision!r}", "Brian2's runtime targets compute in float64 "
                "(the reference's arithmetic); no fixed-point learning engine is modelled",
                "lava --precision fixed, or numpy --precision fixed")
    require_float64(spec, NAME)
    net, rule = spec.network, spec.rule
    for i, layer in enumerate(net.layers[1:], start=1):
        n = layer.neuron
        if isinstance(n, Burst):
            _refuse(f"neuron model 'burst' (layer {layer.name!r})",
                    "the burst neuron's event/burst bookkeeping (burst scheduling, the "
                    "event/burst detector and its moving averages, the apical "
                    "compartment) is not lowered to Brian2 equations",
                    "numpy, or lava")
        if isinstance(n, BurstRate):
            _refuse(f"neuron model 'burst_rate' (layer {layer.name!r})",
                    "rate burstprop's signal (p - p_bar) e is formed from every layer's "
                    "rate at once, top down, which is not lowered to Brian2",
                    "numpy, or lava")
        if not isinstance(n, LIF) and type(n) not in _RATE_CODE:
            _refuse(f"neuron model {n.model!r} (layer {layer.name!r})",
                    "no Brian2 equations for it")
    for f in rule.all_factors():
        if f.kind == "post" and f.signal == "activity_sq_avg":
            _refuse(f"rule {rule.display_name!r}: factor {f}",
                    "the moving average <y^2> (BCM's threshold) is not lowered to Brian2")
        if f.signal == "event_trace":
            _refuse(f"rule {rule.display_name!r}: factor {f}",
                    "event traces belong to burst neurons, which are not lowered")


# -- factors ---------------------------------------------------------------------------
def _is_own_trace(fa) -> bool:
    """Factors that carry a trace of their own (the reference's rule)."""
    return fa.kind in ("pre", "post") and (
        fa.signal in ("event_trace", "spike_trace") or
        (fa.signal == "activity" and fa.tau is not None))


def _trace_keys(rule) -> list:
    """Own-trace factors of the weight and tag terms, each once, in order."""
    tag = rule.resolved_tag()
    out = {}
    for t in list(rule.resolved_terms()) + (list(tag.terms) if tag else []):
        for fa in t.factors:
            if _is_own_trace(fa):
                out.setdefault(fa.key, fa)
    return list(out.values())


def _trace_var(fa, traces) -> str:
    return f"{fa.kind}tr{[t.key for t in traces].index(fa.key)}"


def _signal_var(fa, spiking, traces) -> str:
    """The group variable holding factor ``fa`` (pre: the source group, post and
    global: the target group)."""
    if _is_own_trace(fa):
        return _trace_var(fa, traces)
    if fa.signal == "activity":
        return "xh" if spiking else "h"
    if fa.signal == "error_drive":
        return "delta"
    if fa.kind == "global":
        return fa.signal
    raise AssertionError(f"unlowered factor {fa}")  # _check refused the others


def _product(names):
    return " * ".join(names) if names else None


def _term_expr(term, coeff_name, spiking, traces, pre_sfx, post_sfx, syn=True):
    """``((P * c) * Q) [* w] [* tag]`` for one term (the reference's order)."""
    P = _product([_signal_var(f, spiking, traces) + post_sfx
                  for f in term.factors if f.kind in ("post", "global")])
    Q = _product([_signal_var(f, spiking, traces) + pre_sfx
                  for f in term.factors if f.kind == "pre"])
    core = f"(({P}) * {coeff_name})" if P else coeff_name
    if Q:
        core = f"({core} * ({Q}))"
    if syn:
        for f in term.factors:
            if f.kind == "syn":
                core = f"({core} * {'w' if f.signal == 'w' else 'tag'})"
    return core


# -- groups ---------------------------------------------------------------------------
def _unit_gain(tau, sim) -> tuple[float, float]:
    """(d, g): decay per step and a spike's jump of a unit-area trace (the
    reference's Filter)."""
    d = np.exp(-sim.dt / tau)
    return float(d), float((1.0 - d) / (sim.dt * sim.max_rate))


def _group(spec, m, params, traces, needs_drive, globals_, bias_terms) -> GroupProgram:
    net, sim = spec.network, spec.simulation
    layer = net.layers[m]
    spiking = net.spiking
    L = len(net.layers) - 1
    g = GroupProgram(f"L{m}", m, layer.size, spiking, "")
    lines, reset = [], []
    ns = g.namespace
    # own traces held by this group: pre-side (projection m + 1), post-side (m)
    for fa in traces:
        if (fa.kind == "pre" and m < L) or (fa.kind == "post" and m >= 1):
            proj = m + 1 if fa.kind == "pre" else m   # 1-based projection
            tau = fa.tau if fa.tau is not None else net.layers[max(proj - 1, 1)].neuron.tau_syn
            d = float(np.exp(-sim.dt / tau))
            jump = 1.0 if fa.signal == "spike_trace" else (1.0 - d) / (sim.dt * sim.max_rate)
            var = _trace_var(fa, traces)
            g.traces.append(TraceProgram(var, fa.key, float(tau), float(jump), fa.update,
                                         fa.read == "before"))
    if spiking:
        tau_syn = net.layers[max(m, 1)].neuron.tau_syn
        ns["tau_syn"] = float(tau_syn)
        ns["g_x"] = _unit_gain(tau_syn, sim)[1]
        lines += ["dxh/dt = -xh / tau_syn : 1", "s : 1"]
        reset += ["s = 1", "xh += g_x"]
        for tr in g.traces:
            ns[f"tau_{tr.var}"], ns[f"jump_{tr.var}"] = tr.tau, tr.jump
            lines.append(f"d{tr.var}/dt = -{tr.var} / tau_{tr.var} : 1")
            if not tr.late:
                reset.append(f"{tr.var} = jump_{tr.var}" if tr.update == "set"
                             else f"{tr.var} += jump_{tr.var}")
        if m == 0:
            lines.append("xs : 1")
            g.threshold = "xs > 0.5"
        else:
            n = layer.neuron
            g.noise = float(n.noise)
            ns.update(tau_rc=float(n.tau_rc), thr=float(n.threshold), gain=float(n.gain))
            J = "thr + gain * (I + b)" + (" + noise * nz" if n.noise else "")
            if n.noise:
                ns["noise"] = float(n.noise)
                lines.append("nz : 1")
            lines = ["dv/dt = (J - v) / tau_rc : 1 (unless refractory)",
                     "dI/dt = -I / tau_syn : 1"] + lines + [
                f"J = {J} : 1 (constant over dt)",
                "fp = int(I + b > 0) : 1 (constant over dt)", "b : 1"]
            g.threshold = "v >= thr"
            reset.insert(0, "v = 0")
            g.refractory_steps = int(round(n.tau_ref / sim.dt)) + 1
            g.init["b"] = params.b[m - 1].copy()
        g.reset = "\n".join(reset)
    else:
        lines.append("h : 1")
        for tr in g.traces:   # rate: the signal low-passed from its first value
            d = float(np.exp(-sim.dt / tr.tau))
            ns[f"d_{tr.var}"], ns[f"omd_{tr.var}"] = d, float(1.0 - d)
            lines.append(f"{tr.var} : 1")
        if g.traces:
            lines.append("first : 1 (shared)")
        if m >= 1:
            lines += ["z : 1", "a : 1", "fp : 1", "b : 1"]
            g.init["b"] = params.b[m - 1].copy()
    if m >= 1 and needs_drive:
        lines.append("delta : 1")
        if m < L:
            lines.append("g : 1")
    if m >= 1 and globals_ and net.layers[m].plastic:
        g.has_globals = tuple(globals_)
        lines += [f"{s} : 1 (shared)" for s in globals_]
    if bias_terms:
        g.bias_terms = bias_terms
        lines += ["acc_b : 1"] + [f"{c.var} : 1 (shared)" for c in bias_terms]
        if spec.training.momentum:
            lines.append("vel_b : 1")
        lines.append("go : 1 (shared)")
        ns["mu"] = float(spec.training.momentum)
    g.equations = "\n".join(lines)
    return g


# -- the lowering ----------------------------------------------------------------------
def lower(spec, precision: str = "float", profile=None, variant=None,
          params: Params | None = None) -> Brian2Program:
    """The spec lowered to Brian2 (module docstring), or UnsupportedRule. ``params``:
    start from these parameters instead of the spec's seeded draw."""
    variant = variant or "numpy"
    _check(spec, precision, variant)
    net, sim, tr, rule = spec.network, spec.simulation, spec.training, spec.rule
    L = len(net.layers) - 1
    spiking = net.spiking
    params = (params if params is not None else init_params(net, tr.seed)).copy()
    terms = list(rule.resolved_terms())
    tag = rule.resolved_tag()
    traces = _trace_keys(rule)
    needs_drive = "error_drive" in rule.signals("post")
    globals_ = tuple(s for s in ("reward", "rpe") if s in rule.signals("global"))
    prog = Brian2Program(NAME, precision, TEXTBOOK, variant, spec=spec, params=params,
                         k=steps_per_example(sim), n_teach=teach_steps(sim),
                         seed=tr.seed, needs_drive=needs_drive, globals_=globals_,
                         momentum=float(tr.momentum))
    mu = float(tr.momentum)

    # groups, with their bias terms
    for m in range(L + 1):
        bias = []
        if m >= 1 and net.layers[m].plastic and net.layers[m].bias:
            bias = [Coefficient(f"cb{k}", t.coeff, m, "step" if t.when == "step" else "event")
                    for k, t in enumerate(terms)]
        prog.groups.append(_group(spec, m, params, traces, needs_drive, globals_, bias))

    # forward synapses
    for l in range(1, L + 1):
        layer = net.layers[l]
        plastic = layer.plastic
        model = ["w : 1"]
        s = SynapsesProgram(f"S{l}", "forward", l, f"L{l - 1}", f"L{l}", "", "w",
                            params.W[l - 1].copy(), plastic=plastic)
        if spiking:
            s.on_pre["current"] = "I_post += g_syn * w"
            s.namespace["g_syn"] = _unit_gain(layer.neuron.tau_syn, spec.simulation)[1]
        else:
            model.append("z_post = w * h_pre : 1 (summed)")
        if plastic:
            model.append("acc : 1")
            if mu:
                model.append("vel : 1")
                s.namespace["mu"] = mu
            model.append("go_w : 1 (shared)")
            for k, t in enumerate(terms):
                c = Coefficient(f"c{k}", t.coeff, l, "step" if t.when == "step" else "event")
                s.coefficients.append(c)
                model.append(f"{c.var} : 1 (shared)")
            if tag is not None:
                s.namespace["tau_tag"] = float(tag.tau)
                model.insert(1, "dtag/dt = -tag / tau_tag : 1 (clock-driven)")
                for k, t in enumerate(tag.terms):
                    s.namespace[f"kt{k}"] = float(t.coeff)
        s.model = "\n".join(model)
        prog.synapses.append(s)
    # transport feedback reads W^T through the forward synapses above
    for l in range(1, L):
        fb = net.feedback_of(l)
        if not needs_drive:
            continue
        if fb.kind == "transport":
            above = prog.synapses[l]   # S_{l+1}
            above.model += "\ng_pre = w * delta_post : 1 (summed)"
    # feedback synapses (random, direct, learned)
    from ...reference.signals import feedback_source
    for l in range(1, L):
        fb = net.feedback_of(l)
        if not needs_drive or fb.kind == "transport":
            continue
        src = feedback_source(net, l)
        model = ["B : 1", "g_post = B * delta_pre : 1 (summed)"]
        f = SynapsesProgram(f"F{l}", "feedback", l, f"L{src}", f"L{l}", "", "B",
                            params.B[l].copy())
        if fb.kind == "learned":
            model += ["accB : 1", "go_B : 1 (shared)", "cB : 1 (shared)"]
            if mu:
                model.append("velB : 1")
                f.namespace["mu"] = mu
            f.namespace["decay"] = float(fb.decay)
            f.coefficients.append(Coefficient("cB", 1.0, l + 1, "mirror"))
            for k, t in enumerate(terms):
                f.namespace[f"km{k}"] = float(t.coeff)
            f.plastic = True
        f.model = "\n".join(model)
        prog.synapses.append(f)
    _schedule(prog, spec, terms, tag, traces)
    return prog


def _syn(prog, name):
    return next(s for s in prog.synapses if s.name == name)


def _schedule(prog, spec, terms, tag, traces):
    """The ops in the reference's order of a step (module docstring)."""
    net = spec.network
    L = prog.L
    spiking = prog.spiking
    ops = prog.ops
    mu = prog.momentum

    def op(phase, owner, kind, name, code="", what=""):
        ops.append(Op(phase, owner, kind, name, code, what))

    # input
    op("input", "env", "env", "stream", what="the stream: input, target, gates, "
       "coefficients, noise draws")
    if spiking:
        for g in prog.groups:
            op("input", g.name, "code", "clear", "s = 0", "clear the spike flag")
        op("input", "L0", "state", "state", what="input traces decay")
        op("input", "L0", "threshold", "threshold", what="input spikes (xs > 0.5)")
        op("input", "L0", "reset", "reset", what="input traces jump")
    # forward, layer by layer
    for l in range(1, L + 1):
        g = f"L{l}"
        if spiking:
            op("forward", f"S{l}", "pathway", "current",
               what="I_post += g_syn w at presynaptic spikes")
            op("forward", g, "subexpression", "subexpression", what="J, fp frozen for the step")
            op("forward", g, "state", "state", what="v, I, traces: exact integration")
            op("forward", g, "threshold", "threshold", what="v >= thr")
            op("forward", g, "reset", "reset", what="v = 0, spike flag, traces jump")
        else:
            op("forward", f"S{l}", "summed", "z_post", what="z = W h_pre")
            n = net.layers[l].neuron
            f, fp = _RATE_CODE[type(n)]
            op("forward", g, "code", "activate", f"a = z + b\nh = {f}\nfp = {fp}",
               f"a = z + b, h = f(a), fp = f'(a)")
    op("task", "env", "env", "task", what="readout, output error or reward, output "
       "drive, global factors")
    # feedback, top down
    if prog.needs_drive:
        for l in range(L - 1, 0, -1):
            fb = net.feedback_of(l)
            if fb.kind == "transport":
                op("feedback", f"S{l + 1}", "summed", "g_pre", what="g = delta_above W")
            else:
                op("feedback", f"F{l}", "summed", "g_post", what="g = delta_src B^T")
            op("feedback", f"L{l}", "code", "drive", "delta = g * fp", "delta = g fp")
    # learning
    if not spiking:
        for g in prog.groups:
            for tr in g.traces:
                op("learning", g.name, "code", f"trace_{tr.var}",
                   f"{tr.var} = first * h + (1 - first) * "
                   f"(d_{tr.var} * {tr.var} + omd_{tr.var} * h)",
                   f"rate trace {tr.var}")
    for l in range(1, L + 1):
        s = _syn(prog, f"S{l}")
        if not s.plastic:
            continue
        if tag is not None:
            op("learning", s.name, "state", "state", what="tag decays")
            for k, t in enumerate(tag.terms):
                expr = _term_expr(t, f"kt{k}", spiking, traces, "_pre", "_post", syn=False)
                _term_op(op, s, t, f"tagterm{k}", f"tag += {expr}", f"tag term {k}: {t}")
        for k, t in enumerate(terms):
            expr = _term_expr(t, f"c{k}", spiking, traces, "_pre", "_post")
            _term_op(op, s, t, f"term{k}", f"acc += {expr}", f"term {k}: {t}")
        g = prog.groups[l]
        for k, c in enumerate(g.bias_terms):
            t = terms[k]
            P = _product([_signal_var(f, spiking, traces) for f in t.factors
                          if f.kind in ("post", "global")])
            core = f"({c.var} * ({P}))" if P else c.var
            if t.when == "post_spike":
                core = f"({c.var} * (({P or '1.0'}) * s))"
            if any(f.kind == "syn" and f.signal == "w" for f in t.factors):
                core = f"({core} * b)"
            op("learning", g.name, "code", f"biasterm{k}", f"acc_b += {core}",
               f"bias term {k}")
    for s in prog.synapses:
        if s.kind == "feedback" and s.plastic:
            src = s.layer + 1   # learned: the pathway from l + 1
            mirror = [t for t in terms if not any(f.kind == "syn" for f in t.factors)]
            # projection l+1's post factors sit in F_l's source (pre), its pre
            # factors in F_l's target (post)
            parts = [_term_expr(t, f"km{terms.index(t)}", spiking, traces, "_post",
                                "_pre", syn=False) for t in mirror]
            m = " + ".join(parts) if parts else "0.0"
            op("learning", s.name, "code", "mirror", f"accB += cB * (({m}) - decay * B)",
               f"Kolen-Pollack: B follows layer {src}'s change")
    # apply at the batch's end
    for s in prog.synapses:
        if not s.plastic:
            continue
        w, acc, vel, go = ("w", "acc", "vel", "go_w") if s.kind == "forward" else \
            ("B", "accB", "velB", "go_B")
        op("apply", s.name, "code", "apply", _apply_code(w, acc, vel, mu, go),
           f"{w} += {acc} at the batch's end" + (" (momentum)" if mu else ""))
    for g in prog.groups:
        if g.bias_terms:
            op("apply", g.name, "code", "apply", _apply_code("b", "acc_b", "vel_b", mu, "go"),
               "b += acc_b at the batch's end")
    if spiking:
        for g in prog.groups:
            late = [tr for tr in g.traces if tr.late]
            if late:
                code = "\n".join(
                    f"{tr.var} = {tr.var} * (1 - s) + jump_{tr.var} * s" if tr.update == "set"
                    else f"{tr.var} = {tr.var} + jump_{tr.var} * s" for tr in late)
                op("apply", g.name, "code", "late_jumps", code,
                   "traces read before their own spike jump now")
    op("record", "env", "env", "record", what="weights every record_every steps, time limit")


def _term_op(op, s, term, name, code, what):
    if term.when == "pre_spike":
        s.on_pre[name] = code
        op("learning", s.name, "pathway", name, code, what + " (on_pre)")
    elif term.when == "post_spike":
        s.on_post[name] = code
        op("learning", s.name, "pathway", name, code, what + " (on_post)")
    else:
        op("learning", s.name, "code", name, code, what)


def _apply_code(w, acc, vel, mu, go) -> str:
    if mu:
        return (f"{vel} = {vel} * (1 - {go}) + (mu * {vel} + {acc}) * {go}\n"
                f"{w} += {vel} * {go}\n{acc} = {acc} * (1 - {go})")
    return f"{w} += {acc} * {go}\n{acc} = {acc} * (1 - {go})"
