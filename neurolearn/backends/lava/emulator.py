"""The NumPy reference under Lava's schedule (Loihi2SimCfg, float).

Each step t (1-based, Lava's ``time_step``) every population and synapse acts once,
in Lava's order of operations:

1. A ``Dense`` sends what it computed at t-1 (one-step delay per Dense): population
   l receives ``a_l(t) = W_l s_{l-1}(t-1)`` (W as it was before step t-1's learning)
   and, below the output, the feedback ``fb_l(t) = B_l d_src(t-1)``; both are 0 at t=1.
2. Each population runs its step (``Population.step``, code shared with the Lava
   neuron ProcessModels), sending forward ``s_l(t)`` (spikes 0/1, or rates as graded
   payloads), down the feedback ``d_l(t)`` and its post factors ``y1..y3``.
3. Each Dense computes its next output with its current weights: binary spikes
   ``W[:, s.astype(bool)].sum(axis=1)``, graded payloads ``W.dot(s)``.
4. Learning (``t_epoch = 1``, every step), Lava's float engine: the pre trace is
   updated first, then the rule is applied with that trace.
   - spikes: ``x1 = exp(-1/tau) * x1 + impulse * s`` (impulse 1),
   - graded (rates): ``x1 = payload / 2`` where the payload is nonzero, otherwise the
     old x1 stays (Lava's GradedSpikeCfg.OVERWRITE), then ``x1 *= exp(-1/tau)``
     (tau = 1 step, so a stale value fades by e per step),
   - post factors are seen as ``y * exp(-1/65535)`` (Lava decays the graded y traces
     once per epoch with their tau, 65535 steps here),
   - ``W += sum_k ((scale_k * u) * x1) * y_k [* w]``, products summed left to right.

The rule's learning rate, its coefficients and a pre-trace gain (rates: 2e, so that
``x1 * gain`` is the rate; spikes: ``1 - exp(-1/tau)``, so that it is the rate per
step) are folded into the post factor a population sends, so every generated Lava
product has scale 1 and fits the engine's m*2^e limit whatever eta is.

Populations (float64; dt, tau in seconds from the spec; ``k = 1 - a`` below):

- rate (sigmoid, tanh, relu, linear): ``h = f(a_in)``; output ``delta = g (y - h) f'``,
  hidden ``delta = fb f'``; sends h and delta.
- lif: ``v = exp(-dt/tau_rc) v + a_in``; refractory steps hold v at 0; spike when
  ``v >= threshold`` (then v = 0). Rate ``r = a r + k s`` with a = exp(-dt/tau_rc),
  activity ``r / (max_rate dt)``; current ``u = a u + k a_in`` gives the surrogate
  ``f' = [u > 0]``. Output ``delta = g (y - activity)`` (no f', so silent outputs
  still learn), hidden ``delta = fb f'``; sends spikes and delta.
- burst_rate: ``e = sigmoid(a_in)``; output ``p = p_b (1 + g (y - e)(1 - e))``,
  hidden ``p = sigmoid(beta fb (1 - e) + logit p_b)``; burst_prob_dev
  ``= (p - p_b) e``, sent down as the teaching signal; sends e.
- burst: the lif soma; an event E is a spike more than burst_window after the
  previous spike. Apical drive ``ap = a ap + k in`` with in = g (y - activity) at the
  output and fb below. Burst probability ``p = sigmoid(beta ap + logit p_b)``; an
  event is a burst B when a phase accumulator (phase += p per event) reaches 1
  (deterministic, no generator). ``B_bar, E_bar`` average B and E with tau_avg,
  ``P_bar = B_bar / E_bar`` (p_b while E_bar = 0). Sends events forward and
  ``B - P_bar E`` down; post signals burst = B, event = E, pbar_event = P_bar E.

``g`` is the learning gate (1 while training, 0 while testing) from the stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ...errors import UnsupportedRule
from ...rules.compat import refuse_offsets
from ...result import Trace
from ..activations import f as rate_f, fprime as rate_fprime, sigmoid
from ..params import init_params
from ..stream import encode, input_stream, steps_per_example

Y_TAU = 65535.0          # tau of the graded y traces: Lava decays them once per epoch
RATE_X_TAU = 1.0         # tau of the graded pre trace (steps)
DEFAULT_PRE_TAU = 0.02   # s, spike trace of a pre factor without tau
MAX_TERMS = 3            # Loihi3FLearningRule offers y1, y2, y3
BACKEND = "lava"

POST_BY_MODEL = {
    "sigmoid": {"error_drive", "activity"}, "tanh": {"error_drive", "activity"},
    "relu": {"error_drive", "activity"}, "linear": {"error_drive", "activity"},
    "lif": {"error_drive", "activity"},
    "burst_rate": {"burst_prob_dev", "activity"},
    "burst": {"burst", "event", "pbar_event", "activity"},
}


# ---------------------------------------------------------------------------------
# lowering plan: what each plastic projection's learning engine computes
# ---------------------------------------------------------------------------------
@dataclass
class Product:
    """One product of the Lava rule: ``scale * u0 [* x1] * y<slot> [* w]``."""
    slot: int                 # 1..3, the graded post trace carrying the post factor
    pre: bool                 # has the x1 factor
    syn: bool                 # has the w factor
    scale: float = 1.0        # eta, c_k and the trace gain live in the post factor
    post: tuple = ()          # post signal names multiplied into y<slot>
    factor: float = 1.0       # eta * c_k * gain, multiplied into y<slot>
    exponent: int | None = None  # fixed point: the scale is 2^exponent
    y_scale: float = 1.0      # fixed point: y<slot> is sent as rint(y * y_scale)

    def rule_string(self) -> str:
        parts = ([f"2^{self.exponent}"] if self.exponent is not None else []) + ["u0"] + (["x1"] if self.pre else []) + [f"y{self.slot}"] + \
            (["w"] if self.syn else [])
        return " * ".join(parts)


@dataclass
class LayerPlan:
    index: int
    model: str
    size: int
    plastic: bool
    products: list = field(default_factory=list)
    spiking_in: bool = False  # binary spikes arrive (else graded payloads)
    x_tau: float = RATE_X_TAU  # steps
    gain: float = 1.0
    feedback: str | None = None  # kind of the pathway into this layer (hidden only)
    fb_src: int | None = None    # layer whose delta feeds B_l
    fixed: bool = False
    w_frac: int = 0              # fixed point: W_int = W * 2^w_frac
    impulse: float = 1.0         # x1 impulse per pre spike
    rng_seed: int = 0            # fixed point: seed of the trace randoms

    def rule_string(self) -> str:
        return " + ".join(p.rule_string() for p in self.products)


def _refuse(what, reason, alternative="numpy (the reference)"):
    raise UnsupportedRule(BACKEND, what, reason, alternative)


def plan(spec, precision: str = "float") -> list[LayerPlan]:
    """The per-layer lowering of ``spec`` to Lava's engine, or UnsupportedRule."""
    net, rule, sim = spec.network, spec.rule, spec.simulation
    name = f"rule {rule.display_name!r}"
    fixed = precision == "fixed"
    if precision not in ("float", "fixed"):
        _refuse(f"precision {precision!r}", "use float or fixed")
    refuse_offsets(spec, BACKEND)
    if fixed and not net.spiking:
        _refuse(f"precision 'fixed' for rate network {spec.name!r}",
                "graded payloads would need an integer rate code on Lava's fixed-point "
                "x1 (round(payload/2), 7 bits); only spiking networks are lowered",
                "lava --precision float, or numpy --precision fixed")
    params = init_params(net, spec.training.seed) if fixed else None
    if rule.t_epoch != 1:
        _refuse(f"{name} with t_epoch = {rule.t_epoch}",
                "with t_epoch > 1 Lava's engine sees only epoch-end post values, which "
                "this lowering does not model; use t_epoch = 1")
    terms = rule.resolved_terms()
    if len(terms) > MAX_TERMS:
        _refuse(name, f"it has {len(terms)} terms; Loihi3FLearningRule carries at most "
                      f"{MAX_TERMS} graded post factors (y1..y3), one per term")
    L = len(net.layers) - 1
    spiking = net.spiking
    pre_taus = set()
    for k, t in enumerate(terms):
        if t.when != "step":
            _refuse(f"{name}, term {k} ({t})", f"dependency {t.when!r} is not lowered; "
                    "only 'step' (Lava's u0) is")
        pres = [fa for fa in t.factors if fa.kind == "pre"]
        if len(pres) > 1:
            _refuse(f"{name}, term {k} ({t})", "more than one pre factor; Lava's engine "
                    "has one graded pre trace (x1) per synapse")
        if len([fa for fa in t.factors if fa.kind == "syn"]) > 1:
            _refuse(f"{name}, term {k} ({t})", "w appears twice; a Lava product takes "
                    "each factor once")
        for fa in pres:
            pre_taus.add(fa.tau)
    if len(pre_taus) > 1:
        _refuse(name, "its pre factors use different time constants; Lava's x1 trace "
                      "has one tau")
    tau_s = next(iter(pre_taus)) if pre_taus and None not in pre_taus else DEFAULT_PRE_TAU
    eta = [rule.eta] * (L - 1) + [rule.eta_output or rule.eta]
    plans = []
    for l in range(1, L + 1):
        layer = net.layers[l]
        model = layer.neuron.model
        if model not in POST_BY_MODEL:
            _refuse(f"neuron model {model!r}", "no Lava population for it")
        lp = LayerPlan(l, model, layer.size, layer.plastic, spiking_in=spiking)
        if spiking:
            lp.x_tau = tau_s / sim.dt
            if fixed:  # Lava's fixed-point tau is an 8-bit integer
                lp.x_tau = float(min(255, max(1, int(round(lp.x_tau)))))
            lp.gain = 1.0 - float(np.exp(-1.0 / lp.x_tau))
        else:
            lp.x_tau = RATE_X_TAU
            lp.gain = 2.0 * float(np.e)
        if l < L:
            fb = net.feedback_of(l)
            if fb.kind in ("transport", "learned"):
                _refuse(f"feedback kind {fb.kind!r} (layer {layer.name!r})",
                        "it needs the feedback matrix to follow a learning Dense's "
                        "weights (W^T, or Kolen-Pollack's mirrored update), and Lava "
                        "processes share no weight memory; use 'random' or 'direct'")
            lp.feedback = fb.kind
            lp.fb_src = L if fb.kind == "direct" else l + 1
        if layer.plastic:
            for k, t in enumerate(terms):
                post = tuple(fa.signal for fa in t.factors if fa.kind == "post")
                for sig in post:
                    if sig not in POST_BY_MODEL[model]:
                        _refuse(f"{name}, post signal {sig!r} on layer {layer.name!r}",
                                f"the Lava {model} population does not compute it (it "
                                f"computes {', '.join(sorted(POST_BY_MODEL[model]))})")
                has_pre = any(fa.kind == "pre" for fa in t.factors)
                factor = eta[l - 1] * t.coeff * (lp.gain if has_pre else 1.0)
                lp.products.append(Product(
                    slot=k + 1, pre=has_pre,
                    syn=any(fa.kind == "syn" for fa in t.factors),
                    post=post, factor=factor))
        if fixed:
            _fixed_point_plan(lp, params.W[l - 1], spec.training.seed)
        plans.append(lp)
    return plans


FIXED_IMPULSE = 16.0   # x1 per pre spike in fixed point (7-bit trace, rate 0.2 -> ~30)
FIXED_EXPONENT = -7    # every fixed-point product's scale is 2^-7


def _fixed_point_plan(lp: LayerPlan, W, seed: int) -> None:
    """Grids of one layer in fixed point (Lava bit-approximate learning engine).

    W_int = rint(W 2^f) with the largest f keeping |W_int| <= 255. A product
    ``2^e * u0 * x1 * y * [w]`` adds ``2^e prod(ints) >> s`` accumulator units, s =
    sum(widths) + 4 - 15, i.e. 2^(e - s) weight LSBs per unit of prod(ints) (floored
    in the engine); with x1 = impulse * (float trace) and y_int = rint(y y_scale),
    matching the float update y x1 (2^f LSBs per unit) gives
    y_scale = 2^f / (2^(e - s) impulse); a w product (w already in LSBs) drops 2^f
    and the impulse. y_int saturates at +-127 (7-bit traces).
    """
    from ...hardware import arith
    lp.fixed = True
    m = float(np.abs(W).max()) or 1.0
    lp.w_frac = int(np.floor(np.log2(255.0 / m)))
    lp.impulse = FIXED_IMPULSE
    lp.rng_seed = seed + 1
    for p in lp.products:
        widths = [arith.W_TRACE] * (1 + int(p.pre)) + ([arith.W_WEIGHTS_S] if p.syn else [])
        shift = max(0, sum(widths) + arith.W_S_MANT - arith.W_ACCUMULATOR_U)
        p.exponent = FIXED_EXPONENT
        lsb = 2.0 ** (FIXED_EXPONENT + arith.EXPONENT_OFFSET - shift - arith.W_WEIGHTS_U + 1)
        # weight LSBs per unit of prod(ints); want y x1 2^f (w: y w_int) LSBs
        p.y_scale = (2.0 ** (0 if p.syn else lp.w_frac)) / (
            lsb * (lp.impulse if p.pre else 1.0))


def to_fixed(y, scale):
    """A post factor as the integer LearningDense receives: rint(y scale), +-127."""
    return np.clip(np.rint(y * scale), -127, 127)


# ---------------------------------------------------------------------------------
# populations (shared with the Lava neuron ProcessModels)
# ---------------------------------------------------------------------------------
class Population:
    """One layer's neurons: ``step(a_in, fb, target, gate)`` returns
    (forward payload, teaching signal sent down, post factors y1..y3)."""

    def __init__(self, lp: LayerPlan, neuron, sim, is_output: bool):
        self.lp = lp
        self.model = lp.model
        self.n = lp.size
        self.out = is_output
        self.nrn = neuron
        dt = sim.dt
        self.decay = float(np.exp(-dt / neuron.tau_rc))
        self.n_ref = int(round(neuron.tau_ref / dt))
        self.act_scale = 1.0 / (sim.max_rate * dt)
        self.a_avg = float(np.exp(-dt / neuron.tau_avg))
        self.win = int(round(neuron.burst_window / dt))
        self.logit_pb = float(np.log(neuron.p_baseline / (1.0 - neuron.p_baseline)))
        n = self.n
        self.v = np.zeros(n)
        self.ref = np.zeros(n, dtype=np.int64)
        self.r = np.zeros(n)
        self.u = np.zeros(n)
        self.since = np.full(n, 1 << 30, dtype=np.int64)
        self.ap = np.zeros(n)
        self.phase = np.zeros(n)
        self.bbar = np.zeros(n)
        self.ebar = np.zeros(n)
        self.activity = np.zeros(n)

    def _lif(self, a_in):
        a, k = self.decay, 1.0 - self.decay
        self.v = a * self.v + a_in
        hold = self.ref > 0
        self.v[hold] = 0.0
        self.ref[hold] -= 1
        s = self.v >= self.nrn.threshold
        self.v[s] = 0.0
        self.ref[s] = self.n_ref
        self.u = a * self.u + k * a_in
        return s

    def step(self, a_in, fb, target, gate):
        sig = {}
        m = self.model
        if self.lp.fixed:  # integer dendritic sum of W_int -> current
            a_in = a_in * 2.0 ** -self.lp.w_frac
        if m == "lif":
            s = self._lif(a_in)
            sf = s.astype(float)
            self.r = self.decay * self.r + (1.0 - self.decay) * sf
            act = self.r * self.act_scale
            if self.out:
                delta = gate * (target - act)
            else:
                delta = fb * (self.u > 0)
            sig = {"error_drive": delta, "activity": act}
            fwd, down = sf, delta
        elif m == "burst":
            s = self._lif(a_in)
            ev = s & (self.since > self.win)
            self.since = np.where(s, 0, self.since + 1)
            E = ev.astype(float)
            k = 1.0 - self.decay
            self.r = self.decay * self.r + k * E
            act = self.r * self.act_scale
            drive = gate * (target - act) if self.out else fb
            self.ap = self.decay * self.ap + k * drive
            p = sigmoid(self.nrn.beta * self.ap + self.logit_pb)
            self.phase = self.phase + p * E
            bu = ev & (self.phase >= 1.0)
            self.phase[bu] -= 1.0
            B = bu.astype(float)
            ka = 1.0 - self.a_avg
            self.bbar = self.a_avg * self.bbar + ka * B
            self.ebar = self.a_avg * self.ebar + ka * E
            pbar = np.full(self.n, self.nrn.p_baseline)
            np.divide(self.bbar, self.ebar, out=pbar, where=self.ebar > 0)
            sig = {"burst": B, "event": E, "pbar_event": pbar * E, "activity": act}
            fwd, down = E, B - pbar * E
        elif m == "burst_rate":
            e = sigmoid(a_in)
            pb = self.nrn.p_baseline
            if self.out:
                p = pb * (1.0 + gate * (target - e) * (1.0 - e))
            else:
                p = sigmoid(self.nrn.beta * fb * (1.0 - e) + self.logit_pb)
            dev = (p - pb) * e
            sig = {"burst_prob_dev": dev, "activity": e}
            act, fwd, down = e, e, dev
        else:
            h = rate_f(m, a_in)
            fp = rate_fprime(m, a_in, h)
            delta = gate * (target - h) * fp if self.out else fb * fp
            sig = {"error_drive": delta, "activity": h}
            act, fwd, down = h, h, delta
        ys = [np.zeros(self.n) for _ in range(MAX_TERMS)]
        for p in self.lp.products:
            y = np.full(self.n, p.factor)
            for name in p.post:
                y = y * sig[name]
            ys[p.slot - 1] = to_fixed(y, p.y_scale) if self.lp.fixed else y
        self.activity = act
        return fwd, down, ys


# ---------------------------------------------------------------------------------
# Lava's float learning engine and Dense, emulated
# ---------------------------------------------------------------------------------
def dense_out(W, s, spiking):
    if spiking:
        return W[:, s.astype(bool)].sum(axis=1)
    return W.dot(s)


class Engine:
    """Pre trace and rule application of one LearningDense (float, t_epoch 1)."""

    def __init__(self, lp: LayerPlan, n_pre: int):
        self.lp = lp
        self.x1 = np.zeros(n_pre)
        self.x_taus = np.array([lp.x_tau, Y_TAU])  # x1, x2 (x2 unused)
        self.y_taus = np.array([Y_TAU, Y_TAU, Y_TAU])

    def learn(self, W, s, ys):
        lp = self.lp
        if lp.spiking_in:
            spiked = s.astype(bool)
            x = np.exp(-1 / self.x_taus[:, np.newaxis]) * np.stack([self.x1, self.x1])
            x1 = x[0]
            x1[spiked] += 1.0
        else:
            spiked = s.astype(bool)
            x1 = self.x1.copy()
            x1[spiked] = s[spiked] / 2
            x = np.exp(-1 / self.x_taus[:, np.newaxis]) * np.stack([x1, x1])
            x1 = x[0]
            x1[spiked] += 0.0
        self.x1 = x1
        if not lp.plastic or not lp.products:
            return W
        yt = np.exp(-1 / self.y_taus[:, np.newaxis]) * np.stack(ys)
        acc = None
        for p in lp.products:
            v = p.scale * 1
            if p.pre:
                v = v * x1[np.newaxis, :]
            v = v * yt[p.slot - 1][:, np.newaxis]
            if p.syn:
                v = v * W
            acc = v if acc is None else acc + v
        return W + acc


class FixedEngine:
    """Lava's bit-approximate (fixed_pt) LearningDense, t_epoch 1, binary spikes,
    from the integer primitives of neurolearn.hardware.arith, in Lava's order:
    run_spk advances the trace randoms twice (around the post-trace receive);
    run_lrn advances the weight-rounding random, decays x1 and y (stochastic
    rounding with one shared random each), adds the x1 impulse where the pre neuron
    spiked, then applies the products and rounds the accumulator."""

    PROFILE = "loihi2"  # the hardware profile whose engine widths this runs

    def __init__(self, lp: LayerPlan, n_pre: int):
        from ...hardware import arith
        from ...hardware.profile import load_profile
        from ...hardware.quantized import widths_of
        self.arith = arith
        self.widths = widths_of(load_profile(self.PROFILE))
        self.lp = lp
        self.x1 = np.zeros(n_pre, dtype=int)
        self.xr, self.yr = arith.trace_randoms(lp.rng_seed)
        self.wr = arith.WeightRounding()

    def learn(self, W, s, ys):
        a, lp = self.arith, self.lp
        spiked = s.astype(bool)
        for _ in range(2):
            self.xr.advance()
            self.yr.advance()
        self.wr.advance()
        w = self.widths
        xh = a.trace_history(self.x1, lp.x_tau, 1, spiked.astype(int), self.xr.decay,
                             self.xr.impulse, lp.impulse, widths=w)
        self.x1 = xh[-1]
        y = np.stack(ys).astype(int)
        yd = a.decay_trace(y, Y_TAU, self.yr.decay)
        if not lp.plastic or not lp.products:
            return W
        prods = []
        for p in lp.products:
            factors = ([(self.x1[np.newaxis, :], w.factor_width("x1"))] if p.pre else []) + \
                [(yd[p.slot - 1][:, np.newaxis], w.factor_width("y1"))] + \
                ([(W, w.factor_width("w"))] if p.syn else [])
            prods.append(a.product(1, factors, 1, p.exponent, widths=w, shape=W.shape))
        return a.learn_weights(W, prods, self.wr.value, widths=w).astype(float)


def fixed_weights(W, lp):
    """Initial integer weights as Lava's fixed-point LearningDense uses them."""
    from ...hardware import arith
    w = np.clip(np.rint(W * 2.0 ** lp.w_frac), -256, 255)
    return arith.truncate_weights(w).astype(float)


# ---------------------------------------------------------------------------------
# the network under Lava's schedule
# ---------------------------------------------------------------------------------
class LavaScheduleNet:
    """Whole-network state and one step; the fused Lava process runs this too."""

    def __init__(self, spec, params=None, precision="float"):
        self.spec = spec
        self.plans = plan(spec, precision)
        net = spec.network
        self.L = len(net.layers) - 1
        p = params if params is not None else init_params(net, spec.training.seed)
        self.W = [w.copy() for w in p.W]
        self.B = {l: b.copy() for l, b in p.B.items()}
        self.pops = [Population(lp, net.layers[lp.index].neuron, spec.simulation,
                                lp.index == self.L) for lp in self.plans]
        eng = FixedEngine if precision == "fixed" else Engine
        self.engines = [eng(lp, net.sizes[lp.index - 1]) for lp in self.plans]
        if precision == "fixed":
            self.W = [fixed_weights(w, lp) for w, lp in zip(self.W, self.plans)]
        self.abuf = [np.zeros(n) for n in net.sizes[1:]]
        self.bbuf = {l: np.zeros(net.sizes[l]) for l in self.B}
        self.spiking = net.spiking
        self.t = 0

    def step(self, x_t, y_t, gate):
        self.t += 1
        L = self.L
        fwd, down = [x_t], {}
        ys_all = []
        for i, pop in enumerate(self.pops):
            l = i + 1
            fb = self.bbuf.get(l)
            s, d, ys = pop.step(self.abuf[i], fb if fb is not None else 0.0, y_t, gate)
            fwd.append(s)
            down[l] = d
            ys_all.append(ys)
        for i in range(L):
            self.abuf[i] = dense_out(self.W[i], fwd[i], self.spiking)
        for l in self.bbuf:
            self.bbuf[l] = self.B[l].dot(down[self.plans[l - 1].fb_src])
        for i in range(L):
            self.W[i] = self.engines[i].learn(self.W[i], fwd[i], ys_all[i])
        return fwd, down


# ---------------------------------------------------------------------------------
# streams, simulate, train/test
# ---------------------------------------------------------------------------------
def make_stream(spec, x, y, steps, seed, gate=1.0):
    """Per-step network input (spikes or rates), targets and gate."""
    x_t, y_t = input_stream(x, y, spec.simulation, steps, seed)
    if spec.network.spiking:
        x_t = encode(x_t, spec.simulation, seed)
    return x_t, y_t, np.full(steps, float(gate))


def train_test_stream(spec, ds, epochs, seed):
    """Training examples (gate 1) for ``epochs`` passes, then every test example once
    (gate 0); returns x, y, gate and the number of training steps."""
    k = steps_per_example(spec.simulation)
    n_tr = epochs * len(ds.x_train) * k
    xa, ya, ga = make_stream(spec, ds.x_train, ds.y_train, n_tr, seed, 1.0)
    # test examples in their stored order
    xt = np.repeat(ds.x_test, k, axis=0)
    yt = np.repeat(ds.y_test, k, axis=0)
    if spec.network.spiking:
        xt = encode(xt, spec.simulation, seed + 1)
    return (np.concatenate([xa, xt]), np.concatenate([ya, yt]),
            np.concatenate([ga, np.zeros(len(xt))]), n_tr)


def accuracy_from_outputs(outputs, y_test, k, L):
    """Class = argmax of the output activity summed over each test example's window,
    shifted by L steps (one Dense delay per layer)."""
    n = len(y_test)
    out = outputs[L:L + n * k] if len(outputs) >= L + n * k else \
        np.concatenate([outputs[L:], np.zeros((L + n * k - len(outputs), outputs.shape[1]))])
    sums = out.reshape(n, k, -1).sum(axis=1)
    return float(np.mean(sums.argmax(1) == y_test.argmax(1)))


class Recorder:
    def __init__(self, spec, steps, record_every, spike_steps=1000):
        net = spec.network
        self.every = record_every
        self.names = [net.layers[l].name for l in range(1, len(net.layers))]
        n_rec = steps // record_every
        self.steps = np.arange(1, n_rec + 1) * record_every
        self.weights = {nm: np.zeros((n_rec, net.sizes[i + 1], net.sizes[i]))
                        for i, nm in enumerate(self.names)}
        self.outputs = np.zeros((steps, net.sizes[-1]))
        self.spike_steps = min(steps, spike_steps) if net.spiking else 0
        self.spikes = {nm: np.zeros((self.spike_steps, net.sizes[i + 1]))
                       for i, nm in enumerate(self.names)} if net.spiking else {}


def run_stream(spec, x, y, g, record_every=1, params=None, spike_steps=1000,
               precision="float"):
    """Run the schedule over a stream; returns (net, recorder, seconds)."""
    net = LavaScheduleNet(spec, params, precision)
    steps = len(x)
    rec = Recorder(spec, steps, record_every, spike_steps)
    t0 = time.perf_counter()
    for t in range(steps):
        fwd, _ = net.step(x[t], y[t], g[t])
        rec.outputs[t] = net.pops[-1].activity
        if t < rec.spike_steps:
            for i, nm in enumerate(rec.names):
                rec.spikes[nm][t] = fwd[i + 1]
        if (t + 1) % record_every == 0:
            j = (t + 1) // record_every - 1
            for i, nm in enumerate(rec.names):
                rec.weights[nm][j] = net.W[i]
    return net, rec, time.perf_counter() - t0


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, dataset=None,
             **options) -> Trace:
    """The reference under Lava's schedule on spec.data's training stream."""
    from ...data import load_dataset
    seed = spec.training.seed if seed is None else seed
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    x, y, g = make_stream(spec, ds.x_train, ds.y_train, steps, seed)
    net, rec, secs = run_stream(spec, x, y, g, record_every, precision=precision)
    return Trace(backend="numpy", schedule="lava", precision=precision, steps=rec.steps,
                 weights=rec.weights, outputs=rec.outputs, errors=None,
                 spikes=rec.spikes, wall_seconds=secs)
