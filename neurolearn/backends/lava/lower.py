"""Lowering a spec to Lava: the Program, computed once in the parent, and every refusal.

Two lowerings (``variant``):

- ``stock``: per layer a population Process (neurons, learning signals, bias) that
  sends its post factors as graded y1..y3 (and its spikes as back-propagating action
  potentials) to a stock ``LearningDense`` carrying the forward weights and a
  generated ``Loihi3FLearningRule``; a stock ``Dense`` per fixed feedback matrix.
  Float or fixed point (Lava's fixed_pt learning engine).
- ``fused``: one Lava process running the reference's Network under the Program's
  schedule (:mod:`neurolearn.reference.simulator`), float only. It stands for the
  stock lowering at a fraction of the cost; tests hold it to the stock runtime.

**Products.** A term ``c * D * pre * post... [* syn]`` becomes one product of Lava's
engine, ``D [* x] * y_k [* w|t]``, with the dependency D = ``u0`` (every step),
``x0`` (a presynaptic spike, ``when = "pre_spike"``) or ``y0`` (a postsynaptic spike,
``when = "post_spike"``); terms that share D, the pre trace and the syn factor share
one product, and the population sends ``y_k = gain * sum_k c_k * share * prod(post
factors)`` (share: eta / (n_teach n_batch) for step terms, eta / n_batch for
spike-triggered ones, summed per event). Global factors (global.reward, .rpe) are
post factors: the output population runs the reward task and sends (r, rpe) to the
hidden populations in the same step.

**Lava's timing** (:data:`LAVA`): every Dense delivers what it computed the step
before (one step per forward and per feedback projection); the engine's pre traces
run every step. Within a step the engine pairs a layer's spikes of that step with
its input's spikes of that step (x0 and y0 of one learning epoch, t_epoch = 1), as
the reference pairs ``spikes[l-1]`` with ``spikes[l]``, and reads x1 at x0 and y0
after the step's impulse (``_extract_applier_evaluated_traces``): the reference's
``read = "after"``, and a same-step pre/post pair counts both ways in both.

**Batches** (float): the change of a batch is held in the synaptic tag ``t`` and
added to the weights through momentum after the batch's last plastic step:

    dt = incs + u0*t*y_m + incs*y_m        y_m = (mu - 1) g
    dw = u0*t*y_g + incs*y_g               y_g = g (1 at the batch's last plastic step)

(``incs``: the products above). Lava's float engine evaluates dw and dt from the
values of w and t before either is updated (``_apply_learning_rules`` extracts its
arguments once), so at the batch's last plastic step w gains t + incs = mu v + A =
v_new and t becomes mu v_new. With mu = 0 dt takes ``- u0*t*y_g - incs*y_g`` instead.
When the products leave no y slot for this (or the rule has its own tag), the
Program's schedule is :data:`LAVA_STEP` (each plastic step's share applied at once),
declared and measured; with momentum that is refused.

**Eligibility tags** (``rule.tag``) live in ``t``: ``dt = tag products + u0*t*y_d``
with ``y_d = exp(-dt/tau) - 1``; a weight term reading syn.tag reads the tag after
this step's update, so its product P*t is lowered as ``P*t + sum_k P*tagprod_k``
(old t plus the step's increment, one product each).

How each factor reaches the engine (float):

- a rate pre factor is the graded payload h: Lava sets x1 = h/2 (OVERWRITE) and
  keeps a stale x1 where h = 0; with x1 tau = 1/64 step the engine decays x1 by
  exp(-64) before using it (a stale value is gone, 1.6e-28 of itself) and the post
  factor carries the gain 2 / exp(-64);
- a spiking pre factor is an engine trace: x <- exp(-dt/tau) x + s (impulse 1);
  ``spike_trace`` reads it as is, ``activity``/``event_trace`` times
  (1 - exp(-dt/tau)) / (dt max_rate) (the unit-area trace); a nearest-neighbour
  trace (``update = "set"``) is x1 in OVERWRITE mode (x1 = payload/2 at a spike, the
  spike's payload 1, then decayed: gain 2 / exp(-dt/tau)); read ``before`` at x0 is
  ``(x - 1)``, at u0 the product minus ``x0 * y``;
- post factors (traces included) are computed by the population and sent as y;
  the engine sees every y as y exp(-1/65535) (Loihi3F's y traces decay once per
  epoch with tau 65535): the population sends y / exp(-1/65535).

In fixed point the engine has 8-bit weights and tags, 7-bit traces: updates apply
every plastic step (:data:`LAVA_STEP`) and momentum is refused. An eligibility tag
lives in t as an integer ``t_int = t 2^t_frac`` (:func:`_fixed_point`), and the
weight's product reads the old t (:data:`LAVA_STEP_TAG`: one integer scale per y
slot cannot carry the merged products); a tag's ``post_spike`` terms become u0
products times the layer's spikes sent on a y slot (:data:`SPIKED`), so no
back-propagating spike clips a signed y such as the rpe; when the products leave no
y slot for the tag's decay, it is the literal scale nearest to exp(-dt/tau) - 1
(the declared approximation ``tag_decay_scale``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...errors import UnsupportedRule
from ...reference.params import Params, init_params
from ...reference.schedule import Schedule
from ...reference.simulator import teach_steps
from ...reference.stream import steps_per_example
from ...rules.neurons import Burst, BurstRate, NeuronModel
from ...rules.phases import is_phased
from ..base import Approximation
from .program import (EY, MAX_Y, RATE_X1_TAU, SPIKED, UNUSED_TAU, Y_TAU,  # noqa: F401
                      LavaProgram, LayerProgram, PostTrace, PreTrace, Product, Slot,
                      accumulate, rule_string)
from .rulestring import EXP_RANGE, MANTISSA_MAX
from .rulestring import check as check_rule_string

NAME = "lava"
VARIANTS = ("stock", "fused")

LAVA = Schedule("lava", forward_delay=1, feedback_delay=1, apply="batch")
LAVA_STEP = Schedule("lava (fixed point: per-step updates)", forward_delay=1,
                     feedback_delay=1, apply="step")
LAVA_STEP_FLOAT = Schedule("lava (per-step updates: no y slot or tag for a batch)",
                           forward_delay=1, feedback_delay=1, apply="step")
LAVA_STEP_TAG = Schedule("lava (fixed point: per-step updates, the weight reads the tag "
                         "before the step's update)", forward_delay=1, feedback_delay=1,
                         apply="step", tag_read="before")

GRADED_BITS = 24              # num_message_bits of graded Dense payloads
FIXED_IMPULSE = 16.0          # x1 per pre spike in fixed point (7-bit trace)
FIXED_EXPONENT = -7           # every fixed-point u0 product's scale is 2^-7
FIXED_PROFILE = "loihi2"      # whose engine widths Lava's fixed_pt model has
DEPENDENCY = {"step": "u0", "pre_spike": "x0", "post_spike": "y0"}
SHARE = {"u0": "step", "x0": "event", "y0": "event"}
Y_HEADROOM = 4.0              # fixed point: post factors may reach 4x their coefficient
TAG_HEADROOM = 16.0           # fixed point: a tag may reach 16x its largest term's unit
# fixed point: a plastic layer's weights may grow to this times their initial peak
# (numpy --precision fixed's default too); a frozen layer keeps its finest grid
WEIGHT_HEADROOM = 4.0


def _refuse(what, reason, alternative="numpy (the reference)"):
    raise UnsupportedRule(NAME, what, reason, alternative)


# -- refusals common to both lowerings -------------------------------------------------
def _check_network(spec):
    net, rule = spec.network, spec.rule
    L = len(net.layers) - 1
    for l in range(1, L):
        fb = net.feedback_of(l)
        if fb.kind in ("transport", "learned"):
            _refuse(f"feedback kind {fb.kind!r} (layer {net.layers[l].name!r})",
                    "it needs the feedback matrix to follow a learning Dense's weights "
                    "(W^T, or Kolen-Pollack's mirrored update), and Lava processes share "
                    "no weight memory (the fused lowering runs only networks the stock "
                    "lowering builds); use 'random' or 'direct'")
    for l, layer in enumerate(net.layers[1:], start=1):
        if not isinstance(layer.neuron, NeuronModel) or not layer.neuron.model:
            _refuse(f"neuron of layer {layer.name!r}", "no Lava population for it")
    if "burst_prob_dev" in rule.signals("post"):
        for l, layer in enumerate(net.layers[1:], start=1):
            if not isinstance(layer.neuron, BurstRate):
                _refuse(f"rule {rule.display_name!r} on layer {layer.name!r} "
                        f"({layer.neuron.model})", "burst_prob_dev needs every layer to "
                        "be burst_rate: the probabilities travel down from the output")


def _term_parts(term):
    pre = [f for f in term.factors if f.kind == "pre"]
    post = [f for f in term.factors if f.kind in ("post", "global")]
    syn = [f for f in term.factors if f.kind == "syn"]
    return pre, post, syn


def _is_trace(fa) -> bool:
    """A factor the reference gives its own trace (Network._find_trace_factors)."""
    return fa.kind in ("pre", "post") and (
        fa.signal in ("event_trace", "spike_trace") or
        (fa.signal == "activity" and fa.tau is not None))


def post_name(fa) -> str:
    """The population's name of a post or global factor's value."""
    if fa.kind == "post" and _is_trace(fa):
        return f"post.{fa.signal}@{fa.tau}:{fa.update}:{fa.read}"
    return fa.signal


def _check_term_for_stock(spec, t, what, in_tag: bool):
    """What Lava's learning engine cannot take, per term."""
    net = spec.network
    pre, post, syn = _term_parts(t)
    alt = "lava --variant fused, or numpy"
    if len(pre) > 1:
        _refuse(what, "more than one pre factor; a product of Lava's engine takes one "
                "presynaptic trace", alt)
    if len(syn) > 1:
        _refuse(what, "w appears twice; a Lava product takes each factor once"
                if all(f.signal == "w" for f in syn) else
                "two syn factors; a Lava product takes one synaptic variable", alt)
    for f in post:
        if f.kind == "post" and f.signal == "activity_sq_avg":
            _refuse(what, "activity_sq_avg (BCM's threshold) is not computed by the "
                    "stock populations", alt)
    for f in pre:
        if not net.spiking and f.tau is not None:
            _refuse(what, f"pre factor {f} of a rate network has its own tau: Lava's "
                    "trace of graded payloads (x1 += payload/2, decayed every step) "
                    "starts at 0 and runs every step, while the factor starts at its "
                    "first value and advances on plastic steps", alt)
        if f.read == "before" and t.when == "post_spike":
            _refuse(what, f"pre factor {f} is read before its own spike in a post_spike "
                    "term: Lava's y0 product reads x after the step's presynaptic "
                    "impulse, and one product cannot also depend on x0", alt)
        if f.read == "before" and f.update == "set":
            _refuse(what, f"pre factor {f} is a nearest-neighbour trace read before its "
                    "own spike: Lava's OVERWRITE mode keeps no value from before the "
                    "spike", alt)
    if in_tag and any(f.signal == "tag" for f in syn):
        _refuse(what, "a tag's terms may not read the tag", alt)


def _check_pre_spike_sources(spec, terms):
    """x0 is the presynaptic payload: for a burst layer its events, while the
    reference gates pre_spike terms with the spike train."""
    net = spec.network
    if not any(t.when == "pre_spike" for t in terms):
        return
    for l in range(2, len(net.layers)):
        if net.layers[l].plastic and isinstance(net.layers[l - 1].neuron, Burst):
            _refuse(f"pre_spike terms into layer {net.layers[l].name!r} (its input "
                    f"{net.layers[l - 1].name!r} is a burst layer)",
                    "Lava's x0 is the presynaptic payload, which is a burst layer's "
                    "event train, while the reference gates pre_spike terms with its "
                    "spike train", "lava --variant fused, or numpy")


# -- traces ------------------------------------------------------------------------------
class _Traces:
    """The engine's presynaptic traces of layer l's LearningDense: one per (tau,
    update) of the pre factors, a nearest-neighbour one on x1 (OVERWRITE)."""

    def __init__(self, spec, l: int, fixed: bool, factors):
        self.spec, self.l, self.fixed = spec, l, fixed
        self.by_key = {}
        self.traces = []
        keys = list(dict.fromkeys(self._key(f) for f in factors))
        sets = [k for k in keys if k[1] == "set"]
        if len(sets) > 1:
            _refuse(f"rule {spec.rule.display_name!r}", "two nearest-neighbour pre "
                    "traces; only x1 has Lava's OVERWRITE mode",
                    "lava --variant fused, or numpy")
        for key in sets + [k for k in keys if k[1] != "set"]:
            self._add(key)

    def _key(self, fac):
        if not self.spec.network.spiking:
            return ("h", "add")
        tau = fac.tau if fac.tau is not None else \
            self.spec.network.layers[max(self.l - 1, 1)].neuron.tau_syn
        return (float(tau), fac.update)

    def _add(self, key):
        spec, sim = self.spec, self.spec.simulation
        if len(self.traces) == 2:
            _refuse(f"rule {spec.rule.display_name!r}", "its pre factors need more than "
                    "two presynaptic traces; Lava's engine has x1 and x2",
                    "lava --variant fused, or numpy")
        name = f"x{len(self.traces) + 1}"
        if key[0] == "h":
            d = float(np.exp(-1 / RATE_X1_TAU))
            tr = PreTrace(name, RATE_X1_TAU, 0.0, d / 2.0, overwrite=True)
        else:
            tau_steps = key[0] / sim.dt
            if self.fixed:  # Lava's fixed-point tau is an 8-bit integer
                tau_steps = float(min(255, max(1, int(round(tau_steps)))))
            d = float(np.exp(-1 / tau_steps))
            imp = FIXED_IMPULSE if self.fixed else 1.0
            if key[1] == "set":  # payload/2 at a spike, decayed before it is read
                tr = PreTrace(name, tau_steps, 0.0, d * (imp if self.fixed else 0.5),
                              overwrite=True)
            else:
                tr = PreTrace(name, tau_steps, imp, imp)
        self.by_key[key] = tr
        self.traces.append(tr)

    def of(self, fac) -> PreTrace:
        return self.by_key[self._key(fac)]

    def gain(self, fac) -> float:
        """Factor value per unit of the engine trace (float), or per unit of the
        float trace (fixed point, where y_scale divides by ``per_spike``)."""
        if not self.spec.network.spiking:
            return 1.0 / self.of(fac).per_spike
        sim = self.spec.simulation
        tau = self._key(fac)[0]
        jump = 1.0 if fac.signal == "spike_trace" else \
            (1.0 - np.exp(-sim.dt / tau)) / (sim.dt * sim.max_rate)
        return jump if self.fixed else jump / self.of(fac).per_spike

    @property
    def overwrite(self) -> bool:
        return any(t.overwrite for t in self.traces)


# -- the stock lowering of one layer ----------------------------------------------------
def _post_traces(spec) -> list:
    out = {}
    for f in spec.rule.all_factors():
        if f.kind == "post" and _is_trace(f):
            out[post_name(f)] = PostTrace(post_name(f), f.tau,
                                          "one" if f.signal == "spike_trace" else "area",
                                          f.update, f.read)
    return list(out.values())


def _literal(c: float):
    """(m, e) with c == m 2^e exactly, |m| <= 7, e in Lava's range; or None."""
    for e in range(EXP_RANGE[1], EXP_RANGE[0] - 1, -1):  # the smallest mantissa
        m = c / 2.0 ** e
        if m == int(m) and abs(m) <= MANTISSA_MAX:
            return int(m), e
    return None


class _Slots:
    def __init__(self):
        self.list = []

    def new(self, **kw) -> int:
        self.list.append(Slot(len(self.list) + 1, **kw))
        return len(self.list)


def _group(traces, terms):
    """{(dep, trace, read before, syn, gain): [(coeff, (post names))]}."""
    groups = {}
    for t in terms:
        pre, post, syn = _term_parts(t)
        fa = pre[0] if pre else None
        key = (DEPENDENCY[t.when], traces.of(fa).name if fa else None,
               bool(fa) and fa.read == "before", syn[0].signal if syn else None,
               traces.gain(fa) if fa else 1.0)
        groups.setdefault(key, []).append((t.coeff, tuple(post_name(f) for f in post)))
    return groups


def _products(groups, traces, slots, comp, share=None, literal=None):
    """One product per group (and its own y slot, or a literal scale when the group
    is one constant term of a tag and ``literal(value, trace name, syn)`` gives its
    (m, e)); a pre trace read before its own spike is ``(x - impulse)`` at x0 and the
    product minus ``impulse * x0 * y`` at u0."""
    by_name = {t.name: t for t in traces.traces}
    out = []
    for (dep, tr, before, syn, gain), ts in groups.items():
        lit = literal(ts[0][0] * gain, tr, syn) if literal and len(ts) == 1 and \
            not ts[0][1] else None
        if lit is not None:
            p = Product(dep, tr, (), syn, mantissa=lit[0],
                        exponent=lit[1] if lit[1] else None)
        else:
            k = slots.new(kind="terms", terms=list(ts), share=share or SHARE[dep],
                          gain=gain * comp)
            p = Product(dep, tr, (k,), syn)
        if before:
            imp = int(by_name[tr].impulse)
            if dep == "x0":
                p = replace(p, offset=imp)
            else:  # u0: x before = x after - impulse where the pre neuron spiked
                out.append(p)
                p = replace(p, dep="x0", pre=None, mantissa=-imp * p.mantissa)
        out.append(p)
    return out


def _read_tag(P, tag_products, rule_name):
    """A weight product reading the tag: P*t with t the tag after this step's update
    (Lava's engine reads the old t): P*t + sum_k P * tag product k."""
    out = [P]
    for k in tag_products:
        what = f"rule {rule_name!r}: a weight term reading syn.tag"
        if P.dep != "u0":
            _refuse(what + f" with dependency {P.dep}", "the tag's own products bring "
                    "their dependencies into the product, which takes one",
                    "lava --variant fused, or numpy")
        if P.pre is not None and k.pre is not None:
            _refuse(what + " and a pre factor", "the tag's products with a pre trace "
                    "would need two traces in one product", "lava --variant fused, or numpy")
        m = P.mantissa * k.mantissa
        e = (P.exponent or 0) + (k.exponent or 0)
        if abs(m) > MANTISSA_MAX or not EXP_RANGE[0] <= e <= EXP_RANGE[1]:
            _refuse(what, f"the merged scale {m}*2^{e} is outside Lava's range",
                    "lava --variant fused, or numpy")
        out.append(Product(k.dep, P.pre if P.pre is not None else k.pre, P.slots + k.slots,
                           k.syn, offset=P.offset if P.pre is not None else k.offset,
                           mantissa=m, exponent=e if e or P.exponent is not None or
                           k.exponent is not None else None))
    return out


def _increments(spec, lp: LayerProgram, fixed: bool):
    """Products of the rule's increments (and of the tag's dt), their y slots, the
    engine's pre traces and the population's post traces, for plastic layer lp."""
    rule = spec.rule
    tag = rule.resolved_tag()
    wterms = rule.resolved_terms()
    tterms = tag.terms if tag else []
    pre_factors = [f for t in wterms + tterms for f in _term_parts(t)[0]]
    traces = _Traces(spec, lp.index, fixed, pre_factors)
    lp.pre_traces = traces.traces
    lp.graded_in = traces.overwrite
    lp.post_traces = _post_traces(spec)
    slots = _Slots()
    comp = lp.y_comp
    incs = _products(_group(traces, wterms), traces, slots, comp)
    if tag is not None:
        lp.eligibility = True
        decay = float(np.exp(-spec.simulation.dt / tag.tau)) - 1.0
        if fixed:
            lp.t_frac = _tag_frac(tag, traces)
            tgroups, lit = _group(traces, tterms), _tag_literal(lp, traces)
            if not any(t.when == "post_spike" for t in wterms):  # else the spikes go back
                tgroups = _spikes_as_factor(tgroups)
        else:
            tgroups, lit = _group(traces, tterms), (lambda v, tr, syn: _literal(v))
        tprods = _products(tgroups, traces, slots, comp, share="tag", literal=lit)
        if fixed and len(slots.list) >= MAX_Y:  # no y slot left: the nearest literal
            from ...hardware import arith
            lp.decay_scale = arith.nearest_scale(decay)
            kd = Product("u0", None, (), "t", mantissa=lp.decay_scale[0],
                         exponent=lp.decay_scale[1])
        else:
            kd = Product("u0", None, (slots.new(kind="decay", value=decay, gain=comp),), "t")
        lp.tag_products = tprods + [kd]
        if not fixed:  # float: the weight reads the tag after this step's update
            incs = [q for p in incs for q in (_read_tag(p, lp.tag_products,
                                                        rule.display_name)
                                              if p.syn == "tag" else [p])]
    lp.products = [replace(p, syn="t") if p.syn == "tag" else p for p in incs]
    lp.slots = slots.list
    lp.bap = any(p.dep == "y0" for p in lp.products + lp.tag_products)


def _tag_frac(tag, traces) -> int:
    """Fixed point: fractional bits of the tag, ``T_int = T 2^t_frac``, so that
    TAG_HEADROOM times the largest change one term makes per unit of its factors
    fits t's 8 bits (+ sign)."""
    cmax = max((abs(t.coeff) * (traces.gain(_term_parts(t)[0][0]) if _term_parts(t)[0]
                                else 1.0) for t in tag.terms), default=1.0)
    return int(np.clip(np.floor(np.log2(255.0 / (TAG_HEADROOM * cmax))), -8, 16))


def _spikes_as_factor(groups):
    """Fixed point: a tag's post_spike products become u0 products times the layer's
    spikes sent on their y slot (:data:`SPIKED`), so the population sends no
    back-propagating spike, whose impulses would clip every y of a neuron that
    spiked to [0, 127] (a signed rpe among them). Used when the weight's own terms
    send none either (with post_spike weight terms the tag keeps its y0 products,
    and :func:`_fold_signs` holds every y to one sign)."""
    out = {}
    for (dep, tr, before, syn, gain), ts in groups.items():
        if dep == "y0":
            dep, ts = "u0", [(c, names + (SPIKED,)) for c, names in ts]
        out.setdefault((dep, tr, before, syn, gain), []).extend(ts)
    return out


def _product_shift(n_y: int, pre: bool, syn: bool) -> int:
    """The right shift of a product of n_y y factors, a pre trace and a synaptic
    variable in Lava's fixed-point engine (``arith.product``)."""
    from ...hardware import arith
    widths = arith.W_TRACE * (n_y + int(pre)) + (arith.W_WEIGHTS_S if syn else 0)
    return max(0, widths + arith.W_S_MANT - arith.W_ACCUMULATOR_U)


def _tag_literal(lp, traces):
    """Fixed point: the exact literal (m, e) of a tag's constant term, in t's units
    (``m 2^e x_int >> shift`` tag LSBs for ``value x`` in float), or None."""
    per_spike = {t.name: t.per_spike for t in traces.traces}

    def literal(value, tr, syn):
        if syn is not None:
            return None
        shift = _product_shift(0, tr is not None, False)
        return _literal(value * 2.0 ** (lp.t_frac + shift) / (per_spike[tr] if tr else 1.0))
    return literal


def _slot_refusal(spec, n_slots, extra, mu):
    why = (f"{n_slots} y slots for its products (terms grouped by dependency, pre trace "
           "and syn factor" + (", the tag's own terms and its decay"
                               if spec.rule.resolved_tag() is not None else "") + ")" +
           (f" plus {extra} y slot(s) for " + (
               "the tag's batch accumulation and momentum" if extra == 2 else
               "the tag's batch accumulation") if extra else ""))
    what = f"rule {spec.rule.display_name!r}" + (
        f" with batch_size {spec.training.batch_size}, momentum {mu:g}" if extra else "")
    _refuse(what, f"it needs {why}, and Loihi3FLearningRule carries 3 post factors y1..y3",
            "lava --variant fused (batches and momentum natively), or numpy")


NON_NEGATIVE = ("activity", "event", "burst", "pbar_event")  # spiking post signals


def _fold_signs(lp: LayerProgram) -> None:
    """Fixed point with back-propagating spikes: Lava adds the (zero) y impulses of a
    neuron that spiked with ``_add_impulse``, which clips its y traces to [0, 127]
    (the float engine adds without clipping). So every y must be >= 0: a slot whose
    terms all have one sign and non-negative signals sends its magnitude and its
    product takes the sign; a signed slot is refused."""
    traced = {tr.name for tr in lp.post_traces}
    for p in lp.products + [q for q in lp.tag_products if q.slots]:
        slot = lp.slots[p.slot - 1]
        if slot.kind == "decay":  # exp(-dt/tau) - 1 < 0: its magnitude, a minus sign
            slot.value, p.mantissa = -slot.value, -p.mantissa
            continue
        signs = {np.sign(c) for c, sig in slot.terms}
        if len(signs) > 1 or any(x not in NON_NEGATIVE + (SPIKED,) and x not in traced
                                 for _, sig in slot.terms for x in sig):
            _refuse(f"layer {lp.name!r} in fixed point (post factor y{slot.index}: "
                    + " + ".join(f"{c:g}*{'*'.join(sig) or '1'}" for c, sig in slot.terms)
                    + ")", "with post_spike terms Lava's fixed-point engine clips the y "
                    "traces of a neuron that spiked to [0, 127] (its back-propagating "
                    "spike's impulses go through the saturating _add_impulse), so every "
                    "post factor must have one sign, which this one has not",
                    "lava --precision float")
        if signs == {-1.0}:
            slot.terms = [(-c, sig) for c, sig in slot.terms]
            p.mantissa = -p.mantissa


def _fixed_point(lp: LayerProgram, W, seed: int, headroom: float = 1.0) -> None:
    """Grids of one layer in fixed point (Lava's bit-approximate learning engine).

    W_int = rint(W 2^f) with the largest f keeping ``headroom * |W_int| <= 255``, then
    Lava's even-grid truncation. A product ``2^e * D * [x] * y [* w]`` adds
    ``2^e prod(ints) >> s`` accumulator units, s = sum(widths) + 4 - 15, i.e.
    2^(e - s) weight LSBs per unit of prod(ints) (floored in the engine); with
    x = per_spike * (float trace) and y_int = rint(y y_scale), matching the float
    update y x (2^f LSBs per unit) gives y_scale = 2^f / (2^(e - s) per_spike); a w
    product (w already in LSBs) drops 2^f and per_spike. y_int saturates at +-127:
    u0 products keep e = -7; spike-triggered ones take the smallest e that keeps
    their slot's coefficient times 4 (1 for a constant) within +-127.
    """
    from ...hardware import arith
    lp.fixed = True
    m = headroom * float(np.abs(W).max()) or 1.0
    lp.w_frac = int(np.floor(np.log2(255.0 / m)))
    lp.rng_seed = seed + 1
    w = np.clip(np.rint(W * 2.0 ** lp.w_frac), -256, 255)
    lp.W0 = arith.truncate_weights(w).astype(float)
    traces = {t.name: t for t in lp.pre_traces}
    if lp.bap:
        _fold_signs(lp)
    used = {}
    frac = {"w": lp.w_frac, "t": lp.t_frac}  # LSBs per unit of a synaptic variable
    for p, target in [(p, "w") for p in lp.products] + [(p, "t") for p in lp.tag_products]:
        if not p.slots and target == "t":  # a literal scale, set by _increments
            continue
        if len(p.slots) != 1 or p.extra or used.get(p.slot):
            _refuse(f"layer {lp.name!r} in fixed point", "a y slot shared by two "
                    "products (a pre trace read before its own spike in a step term) "
                    "cannot carry one integer scale for both", "lava --precision float")
        used[p.slot] = True
        slot = lp.slots[p.slot - 1]
        shift = _product_shift(1, p.pre is not None, bool(p.syn))
        per_spike = traces[p.pre].per_spike if p.pre else 1.0
        top = 2.0 ** (frac[target] - (frac[p.syn] if p.syn else 0)) / \
            (2.0 ** -shift * per_spike)
        tagged = slot.share == "tag" or p.syn == "t"
        if p.dep == "u0" and not tagged:
            e = FIXED_EXPONENT
        else:
            share = {"tag": 1.0, "event": lp.eta, "step": lp.eta / lp.n_teach}[slot.share]
            c0 = max(abs(c) for c, _ in slot.terms) * share * slot.gain
            head = 1.0 if all(set(sig) <= {SPIKED} for _, sig in slot.terms) else Y_HEADROOM
            e = int(np.clip(np.ceil(np.log2(max(top * c0 * head / 127.0, 2.0 ** -30))),
                            EXP_RANGE[0], EXP_RANGE[1]))
            if p.dep == "u0":  # the finest grid u0 products take, as above
                e = max(e, FIXED_EXPONENT)
        p.exponent = e
        slot.y_scale = top / 2.0 ** e


# -- feedback pathways -----------------------------------------------------------------
def _channels_into(spec, l) -> tuple:
    """What hidden layer l needs from its feedback source, per step."""
    net, need = spec.network, spec.rule.signals("post")
    out = []
    if "error_drive" in need:
        out.append("drive")
    if "burst_prob_dev" in need:
        out += ["pbar_e", "p_e"]
    if isinstance(net.layers[l].neuron, Burst):
        out.append("apical")
    return tuple(out)


def _feedback(spec, layers, params):
    from ...reference.signals import feedback_source
    net = spec.network
    L = len(net.layers) - 1
    sends = {l: [] for l in range(1, L + 1)}
    for l in range(1, L):
        lp = layers[l - 1]
        lp.fb_src = feedback_source(net, l)
        lp.fb_channels = _channels_into(spec, l)
        for c in lp.fb_channels:
            if c not in sends[lp.fb_src]:
                sends[lp.fb_src].append(c)
    for l in range(1, L + 1):
        layers[l - 1].down_channels = tuple(sends[l])
    for l in range(1, L):
        lp = layers[l - 1]
        if not lp.fb_channels:
            continue
        src = layers[lp.fb_src - 1]
        M = params.B[l]  # (n_l, n_src)
        Bw = np.zeros((lp.size * len(lp.fb_channels), src.size * len(src.down_channels)))
        for i, c in enumerate(lp.fb_channels):
            j = src.down_channels.index(c)
            Bw[i * lp.size:(i + 1) * lp.size, j * src.size:(j + 1) * src.size] = M
        lp.B = Bw


# -- lower -------------------------------------------------------------------------------
def _check_precision(spec, precision, variant, profile):
    if variant not in VARIANTS:
        _refuse(f"variant {variant!r}", f"known variants: {', '.join(VARIANTS)}",
                "lava --variant stock or fused")
    if precision not in ("float", "fixed"):
        _refuse(f"precision {precision!r}", "Lava runs float or fixed", "lava --precision "
                "float or fixed")
    if precision != "fixed":
        return
    if variant == "fused":
        _refuse("precision 'fixed' with the fused lowering", "the fused process runs the "
                "reference's float64 network; Lava's fixed-point learning engine lives in "
                "the stock LearningDense", "lava --variant stock --precision fixed")
    if not spec.network.spiking:
        _refuse(f"precision 'fixed' for rate network {spec.name!r}", "graded payloads "
                "would need an integer rate code on Lava's fixed-point x1 (round(payload/2), "
                "7 bits); only spiking networks are lowered",
                "lava --precision float, or numpy --precision fixed")
    if spec.training.momentum != 0.0:
        _refuse(f"training.momentum = {spec.training.momentum:g} in fixed point",
                "Lava's fixed-point tag t has 8 bits, too few to hold a batch's change or "
                "a velocity, so fixed point applies each plastic step's share at once and "
                "has no momentum", "lava --precision float, or momentum = 0")
    if profile is not None:
        from ...errors import SpecError
        from ...hardware.profile import load_profile
        from ...hardware.profile import widths_of
        prof = load_profile(profile)
        try:
            same = widths_of(prof) == widths_of(load_profile(FIXED_PROFILE))
        except SpecError:  # the profile does not know its engine's widths
            same = False
        if not same:
            _refuse(f"profile {prof.name!r}", "Lava's fixed_pt LearningDense has the "
                    f"engine widths of {FIXED_PROFILE!r}, which this profile does not",
                    f"numpy --precision fixed --profile {prof.name}")


def _schedule_without_stock(spec, fixed: bool) -> Schedule:
    """The fused lowering's schedule when the stock one refuses the spec."""
    if fixed:
        return LAVA_STEP
    return LAVA_STEP_FLOAT if spec.rule.resolved_tag() is not None else LAVA


def _check_rule_for_stock(spec, fixed: bool):
    rule = spec.rule
    name = f"rule {rule.display_name!r}"
    tag = rule.resolved_tag()
    for k, t in enumerate(rule.resolved_terms()):
        _check_term_for_stock(spec, t, f"{name}, term {k} ({t})", False)
    for k, t in enumerate(tag.terms if tag else []):
        _check_term_for_stock(spec, t, f"{name}, tag term {k} ({t})", True)
    _check_pre_spike_sources(spec, rule.resolved_terms() + (tag.terms if tag else []))
    if tag is not None and spec.training.momentum != 0.0:
        _refuse(f"{name} with training.momentum = {spec.training.momentum:g}",
                "the rule's eligibility tag occupies Lava's tag t, which the stock "
                "lowering otherwise uses to hold a batch's change and its velocity",
                "lava --variant fused, or momentum = 0")


def lower(spec, precision: str = "float", profile=None, variant=None,
          params: Params | None = None,
          weight_headroom: float = WEIGHT_HEADROOM) -> LavaProgram:
    """The spec lowered to Lava (module docstring), or UnsupportedRule. ``params``:
    start from these parameters instead of the spec's seeded draw. Fixed point:
    ``weight_headroom``, how far a plastic layer's weights may grow past their
    initial peak on the 8-bit grid (coarser grid, more room). Never imports lava."""
    if not (np.isfinite(weight_headroom) and weight_headroom >= 1.0):
        raise ValueError(f"weight_headroom must be a number >= 1, got {weight_headroom!r}")
    variant = variant or "stock"
    _check_precision(spec, precision, variant, profile)
    net, sim, tr = spec.network, spec.simulation, spec.training
    if is_phased(spec):
        from .phased import lower_phased
        params = (params if params is not None else init_params(net, tr.seed)).copy()
        prog = LavaProgram(NAME, precision, LAVA, variant, spec=spec, params=params,
                           seed=tr.seed)
        return lower_phased(spec, prog, precision, variant)
    _check_network(spec)
    fixed = precision == "fixed"
    params = (params if params is not None else init_params(net, tr.seed)).copy()
    fixed_schedule = LAVA_STEP_TAG if spec.rule.resolved_tag() is not None else LAVA_STEP
    prog = LavaProgram(NAME, precision, fixed_schedule if fixed else LAVA, variant, spec=spec,
                       params=params, seed=tr.seed, k=steps_per_example(sim),
                       n_teach=teach_steps(sim))
    if variant == "fused":
        try:
            prog.schedule = lower(spec, precision, profile, "stock", params,
                                  weight_headroom).schedule
        except UnsupportedRule as err:
            prog.stock_refusal = str(err)
            prog.schedule = _schedule_without_stock(spec, fixed)
        return prog
    _check_rule_for_stock(spec, fixed)
    from ...reference.signals import layer_etas
    L = len(net.layers) - 1
    etas = layer_etas(spec.rule, L)
    need = tuple(sorted(spec.rule.signals("post")))
    rule_terms = [(t.coeff, tuple(post_name(f) for f in _term_parts(t)[1]),
                   bool(_term_parts(t)[2]) and _term_parts(t)[2][0].signal == "w", t.when)
                  for t in spec.rule.resolved_terms()]
    reads_global = bool(spec.rule.signals("global"))
    for l in range(1, L + 1):
        layer = net.layers[l]
        lp = LayerProgram.of_layer(
            spec, params, l, etas[l - 1], terms=rule_terms, post_needed=need,
            spiking=net.spiking, n_teach=prog.n_teach, apply=prog.schedule.apply,
            graded_in=not net.spiking, y_comp=1.0 if fixed else 1.0 / EY)
        if layer.plastic:
            _increments(spec, lp, fixed)
        if l == L and spec.reward is not None and (reads_global or tr.loss == "reward"):
            lp.reward, lp.reward_seed = spec.reward, tr.seed
        lp.reward_in = l < L and reads_global and layer.plastic
        prog.layers.append(lp)
    prog.layers[-1].reward_out = any(lp.reward_in for lp in prog.layers)
    for lp in prog.layers:  # fixed point: x1 = round(payload / 2) = the impulse
        if fixed and lp.graded_in:
            lp.in_payload = 2 * FIXED_IMPULSE
        if lp.index > 1:
            prog.layers[lp.index - 2].out_payload = lp.in_payload
    plastic = [lp for lp in prog.layers if lp.plastic]
    eligibility = spec.rule.resolved_tag() is not None
    if not fixed and plastic:
        n_slots = max(len(lp.slots) for lp in plastic)
        mu = tr.momentum
        if eligibility:
            prog.schedule = LAVA_STEP_FLOAT if prog.n_teach * tr.batch_size > 1 else LAVA
        elif prog.n_teach * tr.batch_size > 1 or mu != 0.0:
            extra = 1 + (mu != 0.0)
            if n_slots + extra <= MAX_Y:
                for lp in plastic:
                    lp.tags = True
            elif mu != 0.0:
                _slot_refusal(spec, n_slots, extra, mu)
            else:
                prog.schedule = LAVA_STEP_FLOAT
        if n_slots > MAX_Y:
            _slot_refusal(spec, n_slots, 0, mu)
    for lp in prog.layers:
        lp.apply = prog.schedule.apply
        if lp.plastic:
            if lp.tags:
                accumulate(lp)
            else:
                lp.dw = rule_string(lp.products)
                if lp.tag_products:
                    lp.dt_rule = rule_string(lp.tag_products)
            if fixed:
                _fixed_point(lp, params.W[lp.index - 1], tr.seed, weight_headroom)
                lp.dw = rule_string(lp.products)
                if lp.tag_products:
                    lp.dt_rule = rule_string(lp.tag_products)
            where = f"layer {lp.name!r}"
            check_rule_string(lp.dw, where=where)
            if lp.dt_rule:
                check_rule_string(lp.dt_rule, where=where)
        elif fixed:
            _fixed_point(lp, params.W[lp.index - 1], tr.seed)
    _feedback(spec, prog.layers, params)
    if fixed:
        prog.approximations = [
            Approximation("fixed_point_engine", "precision",
                          "Lava's fixed_pt learning engine: 8-bit weights (+ sign, "
                          "even grid), 7-bit pre traces with stochastic decay, post "
                          "factors sent as integers saturated at +-127, products "
                          "floor-shifted, stochastic rounding of each update"),
            Approximation("float_neurons", "precision",
                          "neurons, biases and the feedback Dense run in float64; only "
                          "the learning synapses are integer")]
        scaled = {lp.decay_scale for lp in prog.layers if lp.decay_scale is not None}
        if scaled:
            m, e = scaled.pop()
            tau = spec.rule.resolved_tag().tau
            prog.approximations.append(Approximation(
                "tag_decay_scale", "precision",
                f"no y slot is left for the tag's decay, so t loses {-m}*2^{e} = "
                f"{-m * 2.0 ** e:g} of itself per step, Lava's nearest product scale to "
                f"1 - exp(-dt/tau) = {1 - np.exp(-sim.dt / tau):.4g} (tau "
                f"{sim.dt / -np.log1p(m * 2.0 ** e):.3g} s instead of {tau:g} s)"))
    return prog
