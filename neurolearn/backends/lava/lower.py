"""Lowering a spec to Lava: the Program, computed once in the parent, and every refusal.

Two lowerings (``variant``):

- ``stock``: per layer a population Process (neurons, learning signals, bias) that
  sends its post factors as graded y1..y3 to a stock ``LearningDense`` carrying the
  forward weights and a generated ``Loihi3FLearningRule``; a stock ``Dense`` per
  fixed feedback matrix. Float or fixed point (Lava's fixed_pt learning engine).
- ``fused``: one Lava process running the reference's Network under Lava's schedule
  (:mod:`neurolearn.reference.simulator`), float only. It stands for the stock
  lowering at a fraction of the cost; tests hold it to the stock runtime.

Lava's timing (:data:`LAVA`): every Dense delivers what it computed the step before
(one step per forward and per feedback projection); the engine's pre trace x1 runs
every step; in float the change of a batch is held in the synaptic tag ``t`` and
added to the weights through momentum after the batch's last plastic step:

    dt = u0*x1*y1 + u0*t*y2 + u0*x1*y1*y2        y1 = increment, y2 = (mu - 1) g
    dw = u0*t*y3 + u0*x1*y1*y3                   y3 = g (1 at the batch's last plastic step)

Lava's float engine evaluates dw and dt from the values of w and t before either is
updated (``_apply_learning_rules`` extracts its arguments once), so at the batch's
last plastic step w gains t + y1 x1 = mu v + A = v_new and t becomes mu v_new: t
holds mu times the velocity between batches and adds the batch's change within one.
With mu = 0 the y2 slot is free: dt takes ``- u0*t*y3 - u0*x1*y1*y3`` instead.

How each factor reaches the engine (float):

- a rate pre factor is the graded payload h: Lava sets x1 = h/2 (OVERWRITE) and
  keeps a stale x1 where h = 0; with x1 tau = 1/64 step the engine decays x1 by
  exp(-64) before using it, so a stale value is gone (1.6e-28 of itself) and the
  post factor carries the gain 2 / exp(-64);
- a spiking pre factor is the unit-area trace of presynaptic events: Lava's
  x1 <- exp(-dt/tau) x1 + s, times (1 - exp(-dt/tau)) / (dt max_rate);
- the engine sees every post factor as y exp(-1/65535) (Loihi3F's y traces decay
  once per epoch with tau 65535): the population sends y / exp(-1/65535).

In fixed point the engine has 8-bit weights and tags, 7-bit traces: updates apply
every plastic step (:data:`LAVA_STEP`, ``apply = "step"``) and momentum is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import UnsupportedRule
from ...reference.params import Params, init_params
from ...reference.schedule import Schedule
from ...reference.simulator import teach_steps
from ...reference.stream import steps_per_example
from ...rules.neurons import Burst, BurstRate, NeuronModel
from ..base import Approximation, Program
from .rulestring import check as check_rule_string

NAME = "lava"
VARIANTS = ("stock", "fused")

LAVA = Schedule("lava", forward_delay=1, feedback_delay=1, apply="batch")
LAVA_STEP = Schedule("lava (fixed point: per-step updates)", forward_delay=1,
                     feedback_delay=1, apply="step")

Y_TAU = 65535                 # Loihi3FLearningRule's y taus: 2^16 - 1 steps
EY = float(np.exp(-1 / Y_TAU))  # the factor the float engine puts on every y
RATE_X1_TAU = 1.0 / 64        # steps: x1 of graded payloads fades by exp(-64) per step
UNUSED_TAU = 65535            # a trace with tau 0 reads NaN in Lava's float engine
MAX_Y = 3
GRADED_BITS = 24              # num_message_bits of graded Dense payloads
FIXED_IMPULSE = 16.0          # x1 per pre spike in fixed point (7-bit trace)
FIXED_EXPONENT = -7           # every fixed-point product's scale is 2^-7
FIXED_PROFILE = "loihi2"      # whose engine widths Lava's fixed_pt model has


def _refuse(what, reason, alternative="numpy (the reference)"):
    raise UnsupportedRule(NAME, what, reason, alternative)


# -- the Program ---------------------------------------------------------------------
@dataclass
class PreTrace:
    """One presynaptic trace of a LearningDense (x1 or x2)."""
    name: str                 # "x1" or "x2"
    tau: float                # decay time constant in steps (Lava's x tau)
    impulse: float            # added per presynaptic spike (0 for graded payloads)
    gain: float               # engine trace -> the factor's value


@dataclass
class Product:
    """One product of the rule's increment, ``u0 [* x] * y<slot> [* w]``: the sum of
    the terms that share a pre trace and a w factor. The population sends
    ``y = gain * sum_k coeff_k * eta * step_scale * prod(post_k)`` on ``slot``."""
    slot: int
    pre: str | None           # "x1", "x2" or None
    syn: bool
    terms: list               # [(coeff, (post signal, ...))]
    gain: float = 1.0
    exponent: int | None = None   # fixed point: the product's scale is 2^exponent
    y_scale: float = 1.0          # fixed point: y is sent as rint(y * y_scale), +-127

    def factors(self) -> list[str]:
        return ([self.pre] if self.pre else []) + [f"y{self.slot}"] + (["w"] if self.syn else [])

    def string(self) -> str:
        scale = [f"2^{self.exponent}"] if self.exponent is not None else []
        return " * ".join(scale + ["u0"] + self.factors())


@dataclass
class LayerProgram:
    """What layer l's population and its LearningDense/Dense are built from."""
    index: int
    name: str
    size: int
    n_pre: int
    neuron: NeuronModel
    is_output: bool
    plastic: bool
    bias_learns: bool
    b0: np.ndarray
    eta: float
    terms: list               # [(coeff, (post signals), syn)] of the whole rule
    post_needed: tuple        # post signals the rule reads (every layer computes them)
    spiking: bool
    dt: float
    max_rate: float
    loss: str
    n_out: int
    n_teach: int
    momentum: float
    lr_decay: float
    apply: str                # schedule.apply
    noise_seed: list
    burst_seed: list
    W0: np.ndarray | None = None          # initial weights as the engine holds them
    products: list = field(default_factory=list)
    pre_traces: list = field(default_factory=list)   # [PreTrace]
    graded_in: bool = False   # presynaptic payloads are graded (rate nets)
    dw: str | None = None
    dt_rule: str | None = None
    tags: bool = False        # the batch's change is held in the tag t
    slot_mom: int | None = None   # y slot carrying (mu - 1) g
    slot_apply: int | None = None  # y slot carrying g
    y_comp: float = 1.0       # 1 / exp(-1/65535) in float, 1 in fixed point
    fb_src: int | None = None     # layer whose signals reach this one (hidden layers)
    fb_channels: tuple = ()       # what this layer receives down its pathway
    down_channels: tuple = ()     # what this layer sends down (union over receivers)
    B: np.ndarray | None = None   # feedback Dense weights (receiver x sender channels)
    fixed: bool = False
    w_frac: int = 0               # fixed point: W_int = W 2^w_frac
    rng_seed: int = 0             # fixed point: seed of the engine's trace randoms

    @property
    def n_fb(self) -> int:
        return self.size * len(self.fb_channels)

    @property
    def n_down(self) -> int:
        return self.size * len(self.down_channels)

    def rule(self) -> dict:
        """Keyword arguments of this layer's Loihi3FLearningRule."""
        kw = {"dw": self.dw, "t_epoch": 1}
        if self.dt_rule:
            kw["dt"] = self.dt_rule
        x = {t.name: t for t in self.pre_traces}
        for name in ("x1", "x2"):
            t = x.get(name)
            if self.fixed:  # integer taus of at most 8 bits
                kw[f"{name}_impulse"] = t.impulse if t else 0
                kw[f"{name}_tau"] = int(t.tau) if t else 255
            else:
                kw[f"{name}_impulse"] = t.impulse if t else 0.0
                kw[f"{name}_tau"] = t.tau if t else UNUSED_TAU
        if self.fixed:
            kw["rng_seed"] = self.rng_seed
        return kw


@dataclass
class LavaProgram(Program):
    """A spec lowered to Lava (module docstring). ``spec`` travels for the fused
    lowering and the parent's evaluation; the stock Processes get layer programs."""
    spec: object = None
    layers: list = field(default_factory=list)   # [LayerProgram], layers 1..L
    params: Params | None = None                 # initial float parameters
    seed: int = 0
    k: int = 1                                   # steps per example
    n_teach: int = 1                             # plastic steps per example
    stock_refusal: str | None = None             # fused: why stock cannot run it

    @property
    def L(self) -> int:
        return len(self.spec.network.layers) - 1

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.spec.network.layers]

    @property
    def sizes(self) -> list[int]:
        return self.spec.network.sizes

    @property
    def spiking(self) -> bool:
        return self.spec.network.spiking

    def float_weights(self, l: int, W):
        """Weights of layer l as the engine holds them -> float units."""
        if self.precision != "fixed":
            return np.asarray(W)
        return np.asarray(W, dtype=float) * 2.0 ** -self.layers[l - 1].w_frac


# -- refusals common to both lowerings -------------------------------------------------
def _check_phases(spec):
    """Phased specs (issue 15): the lowering has one plastic window per example
    (simulation.teach's teacher and plasticity gate the post factors); what a phased
    spec needs beyond it is refused by its first missing capability."""
    from ...rules.phases import refuse_phases
    refuse_phases(spec, NAME, "the Lava lowering runs every step as one feedforward "
                  "pass of LIF or rate populations whose post factors simulation.teach "
                  "gates, with fixed feedback Dense")


def _check_network(spec):
    _check_phases(spec)
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
    post = tuple(f.signal for f in term.factors if f.kind == "post")
    syn = [f for f in term.factors if f.kind == "syn"]
    return pre, post, syn


def _check_terms_for_stock(spec, fixed: bool):
    """What Lava's learning engine cannot take: returns the terms as
    [(term, pre factor or None, post signals, syn)]."""
    rule, net = spec.rule, spec.network
    name = f"rule {rule.display_name!r}"
    out = []
    for k, t in enumerate(rule.resolved_terms()):
        pre, post, syn = _term_parts(t)
        what = f"{name}, term {k} ({t})"
        if t.when != "step":
            _refuse(what, f"dependency {t.when!r} is not lowered: the stock lowering maps "
                    "only 'step' terms (Lava's u0)", "lava --variant fused, or numpy")
        if len(pre) > 1:
            _refuse(what, "more than one pre factor; a product of Lava's engine takes one "
                    "presynaptic trace", "lava --variant fused, or numpy")
        if len(syn) > 1:
            _refuse(what, "w appears twice; a Lava product takes each factor once",
                    "lava --variant fused, or numpy")
        for f in t.factors:
            if f.kind == "post" and f.tau is not None:
                _refuse(what, f"post factor {f} has its own tau; the stock populations "
                        "send the factors unfiltered", "lava --variant fused, or numpy")
            if f.kind == "post" and f.signal == "activity_sq_avg":
                _refuse(what, "activity_sq_avg (BCM's threshold) is not computed by the "
                        "stock populations", "lava --variant fused, or numpy")
            if f.kind == "pre" and not net.spiking and f.tau is not None:
                _refuse(what, f"pre factor {f} of a rate network has its own tau: Lava's "
                        "trace of graded payloads (x1 += payload/2, decayed every step) "
                        "starts at 0 and runs every step, while the factor starts at its "
                        "first value and advances on plastic steps",
                        "lava --variant fused, or numpy")
        out.append((t, pre[0] if pre else None, post, bool(syn)))
    return out


# -- the stock lowering of one layer ----------------------------------------------------
def _pre_key(spec, l, fac):
    """Identity of the engine trace a pre factor of layer l's projection needs."""
    if fac is None:
        return None
    if not spec.network.spiking:
        return "h"
    tau = fac.tau if fac.tau is not None else spec.network.layers[max(l - 1, 1)].neuron.tau_syn
    return float(tau)


def _pre_trace(spec, name, key, fixed):
    sim = spec.simulation
    if key == "h":
        d = float(np.exp(-1 / RATE_X1_TAU))
        return PreTrace(name, RATE_X1_TAU, 0.0, 2.0 / d)
    tau_steps = key / sim.dt
    if fixed:  # Lava's fixed-point tau is an 8-bit integer
        tau_steps = float(min(255, max(1, int(round(tau_steps)))))
    d = float(np.exp(-1 / tau_steps))
    return PreTrace(name, tau_steps, FIXED_IMPULSE if fixed else 1.0,
                    (1.0 - d) / (sim.dt * sim.max_rate))


def _stock_layer(spec, lp: LayerProgram, terms, fixed: bool, params: Params):
    """Products, traces, y slots and rule strings of layer lp (plastic)."""
    groups = {}  # (pre key, syn) -> [(coeff, post)]
    for t, pre, post, syn in terms:
        groups.setdefault((_pre_key(spec, lp.index, pre), syn), []).append((t.coeff, post))
    keys = [k for k in groups if k[0] is not None]
    trace_of = {}
    for key in dict.fromkeys(k[0] for k in keys):
        if len(trace_of) == 2:
            _refuse(f"rule {spec.rule.display_name!r}", "its pre factors need more than "
                    "two presynaptic traces; Lava's engine has x1 and x2",
                    "lava --variant fused, or numpy")
        if fixed and trace_of:
            _refuse(f"rule {spec.rule.display_name!r} in fixed point", "its pre factors "
                    "need two presynaptic traces; the fixed-point lowering uses x1 only",
                    "lava --precision float")
        name = f"x{len(trace_of) + 1}"
        trace_of[key] = name
        lp.pre_traces.append(_pre_trace(spec, name, key, fixed))
    gains = {t.name: t.gain for t in lp.pre_traces}
    n_teach = lp.n_teach
    lp.tags = not fixed and (n_teach * spec.training.batch_size > 1 or lp.momentum != 0.0)
    extra = (1 + (lp.momentum != 0.0)) if lp.tags else 0
    if len(groups) + extra > MAX_Y:
        why = (f"{len(groups)} products (terms grouped by pre factor and w)" +
               (f" plus {extra} y slot(s) for " + ("the tag's batch accumulation and "
                "momentum" if extra == 2 else "the tag's batch accumulation")
                if extra else ""))
        _refuse(f"rule {spec.rule.display_name!r} with batch_size "
                f"{spec.training.batch_size}, momentum {lp.momentum:g}",
                f"it needs {why}, and Loihi3FLearningRule carries 3 post factors y1..y3",
                "lava --variant fused (batches and momentum natively), or numpy")
    for slot, ((key, syn), ts) in enumerate(groups.items(), start=1):
        pre = trace_of.get(key)
        gain = (gains[pre] if pre else 1.0) * lp.y_comp
        lp.products.append(Product(slot, pre, syn, ts, gain))
    if lp.tags:
        nxt = len(groups) + 1
        if lp.momentum != 0.0:
            lp.slot_mom, nxt = nxt, nxt + 1
        lp.slot_apply = nxt
    if fixed:
        _fixed_point(lp, params.W[lp.index - 1], spec.training.seed)
    incs = [p.string() for p in lp.products]
    if not lp.tags:
        lp.dw = " + ".join(incs)
    else:
        a = f"y{lp.slot_apply}"
        lp.dw = " + ".join([f"u0 * t * {a}"] + [f"{s} * {a}" for s in incs])
        if lp.slot_mom is None:
            lp.dt_rule = " - ".join([" + ".join(incs), f"u0 * t * {a}"] +
                                    [f"{s} * {a}" for s in incs])
        else:
            m = f"y{lp.slot_mom}"
            lp.dt_rule = " + ".join(incs + [f"u0 * t * {m}"] + [f"{s} * {m}" for s in incs])
    where = f"layer {lp.name!r}"
    check_rule_string(lp.dw, where=where)
    if lp.dt_rule:
        check_rule_string(lp.dt_rule, where=where)


def _fixed_point(lp: LayerProgram, W, seed: int) -> None:
    """Grids of one layer in fixed point (Lava's bit-approximate learning engine).

    W_int = rint(W 2^f) with the largest f keeping |W_int| <= 255, then Lava's
    even-grid truncation. A product ``2^e * u0 * x1 * y [* w]`` adds
    ``2^e prod(ints) >> s`` accumulator units, s = sum(widths) + 4 - 15, i.e.
    2^(e - s) weight LSBs per unit of prod(ints) (floored in the engine); with
    x1 = impulse * (float trace) and y_int = rint(y y_scale), matching the float
    update y x1 (2^f LSBs per unit) gives y_scale = 2^f / (2^(e - s) impulse); a w
    product (w already in LSBs) drops 2^f and the impulse. y_int saturates at +-127.
    """
    from ...hardware import arith
    lp.fixed = True
    m = float(np.abs(W).max()) or 1.0
    lp.w_frac = int(np.floor(np.log2(255.0 / m)))
    lp.rng_seed = seed + 1
    w = np.clip(np.rint(W * 2.0 ** lp.w_frac), -256, 255)
    lp.W0 = arith.truncate_weights(w).astype(float)
    for p in lp.products:
        widths = [arith.W_TRACE] * (1 + int(p.pre is not None)) + \
            ([arith.W_WEIGHTS_S] if p.syn else [])
        shift = max(0, sum(widths) + arith.W_S_MANT - arith.W_ACCUMULATOR_U)
        p.exponent = FIXED_EXPONENT
        lsb = 2.0 ** (FIXED_EXPONENT + arith.EXPONENT_OFFSET - shift - arith.W_WEIGHTS_U + 1)
        p.y_scale = (2.0 ** (0 if p.syn else lp.w_frac)) / (
            lsb * (FIXED_IMPULSE if p.pre else 1.0))


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


def lower(spec, precision: str = "float", profile=None, variant=None,
          params: Params | None = None) -> LavaProgram:
    """The spec lowered to Lava (module docstring), or UnsupportedRule. ``params``:
    start from these parameters instead of the spec's seeded draw. Never imports lava."""
    variant = variant or "stock"
    _check_precision(spec, precision, variant, profile)
    _check_network(spec)
    fixed = precision == "fixed"
    net, sim, tr = spec.network, spec.simulation, spec.training
    params = (params if params is not None else init_params(net, tr.seed)).copy()
    schedule = LAVA_STEP if fixed else LAVA
    prog = LavaProgram(NAME, precision, schedule, variant, spec=spec, params=params,
                       seed=tr.seed, k=steps_per_example(sim), n_teach=teach_steps(sim))
    if variant == "fused":
        try:
            lower(spec, precision, profile, "stock", params)
        except UnsupportedRule as err:
            prog.stock_refusal = str(err)
        return prog
    terms = _check_terms_for_stock(spec, fixed)
    from ...reference.signals import layer_etas
    L = len(net.layers) - 1
    etas = layer_etas(spec.rule, L)
    need = tuple(sorted(spec.rule.signals("post")))
    rule_terms = [(t.coeff, post, syn) for t, _, post, syn in terms]
    for l in range(1, L + 1):
        layer = net.layers[l]
        lp = LayerProgram(
            index=l, name=layer.name, size=layer.size, n_pre=net.sizes[l - 1],
            neuron=layer.neuron, is_output=l == L, plastic=layer.plastic,
            bias_learns=layer.plastic and layer.bias, b0=params.b[l - 1].copy(),
            eta=etas[l - 1], terms=rule_terms, post_needed=need, spiking=net.spiking,
            dt=sim.dt, max_rate=sim.max_rate, loss=tr.loss, n_out=net.sizes[-1],
            n_teach=prog.n_teach, momentum=tr.momentum, lr_decay=tr.lr_decay,
            apply=schedule.apply, noise_seed=[tr.seed, 5, l], burst_seed=[tr.seed, 4, l],
            W0=params.W[l - 1].copy(), graded_in=not net.spiking,
            y_comp=1.0 if fixed else 1.0 / EY)
        if layer.plastic:
            _stock_layer(spec, lp, terms, fixed, params)
        elif fixed:
            _fixed_point(lp, params.W[l - 1], tr.seed)
        prog.layers.append(lp)
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
    return prog
