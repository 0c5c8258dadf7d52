"""The quantized reference: the batched trainer under a profile's integer arithmetic.

The neurons' rate arithmetic stays float64 (forward pass, error drives, feedback):
what the profile changes is the synaptic state and the learning engine, built
from the primitives of :mod:`neurolearn.hardware.arith` (Lava 0.10.0's fixed-point
learning engine, bit for bit). Step by step, for a profile with weight bits B
(+ sign), trace bits T, accumulator bits A, scale m * 2^e:

1. Weights. Each layer's W and bias share one grid, ``w = W_int * 2^-f_l``, W_int
   in [-2^B, 2^B - 1]. f_l is the largest integer with
   ``headroom * max|W_l(0)| <= 2^(B - f_l)`` (option ``weight_headroom``, default
   4). The bias is the weight of a constant-1 presynaptic unit. Fixed feedback
   matrices B_l are rounded once to their own grid the same way.
2. Factors, per sample. The product of a term's pre factors becomes
   ``x_int = rint(x * (2^T - 1))`` (unit activity -> full scale); its post factors
   ``y_int = stochastic_round(y * 2^k)`` from the trainer's seeded generator
   (``default_rng([seed, 3])``), k per layer and term (step 3). Each factor keeps
   its sign (the engine forms signed products as separate same-sign products,
   which give the same floor-shifted values) and saturates at 2^T - 1 in
   magnitude. A syn factor w is W_int itself (width B + 1).
3. Scale. The float update of a term is ``eta' c x y / n`` per sample (n the batch
   size, ``eta' = eta / (1 - momentum)``: the engine keeps no velocity, so
   momentum folds into the rate). In weight LSBs the engine adds
   ``m 2^e x_int y_int / 2^s`` (s = sum of widths + 4 - A, floored), so
   ``m 2^e = eta' c 2^s / (n 2^-f (2^T - 1) 2^k)``. k is chosen once, on the
   first minibatch: the largest k with the largest |y| of that batch not
   saturating, lowered until m 2^e is at least 2^(e_min) (the smallest
   scale). (m, e) is the representable pair nearest to that value.
4. One learning epoch per minibatch: ``acc = W_int << (A - B)``; for each sample
   in order and each term, ``acc += product`` with the engine's floor shift,
   exponent shift and saturation after each addition (arith.product,
   arith.accumulate).
5. Stochastic rounding of acc to the weight grid with one random number for all
   synapses of all layers, drawn per minibatch from ``default_rng([seed, 2])``
   (Lava's ConnVarRandom draws one per learning epoch); then ``acc >> (A - B)``,
   clipped to [-2^B, 2^B - 1].

The same seed gives the same run, bit for bit. ``RunResult.extra`` records each
layer's f, k, (m, e) and how often the accumulator and the weights saturated.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError, UnsupportedRule
from ..hardware import arith
from ..hardware.arith import EngineWidths
from ..hardware.profile import Profile, load_profile, widths_of
from .trainer import BatchedTrainer, train

DEFAULT_PROFILE = "loihi2"


# Machine: every product and shift of the quantized reference is an int64.
INT64_BITS = 63


def _check_int64(w: EngineWidths, terms, profile: Profile) -> None:
    """Refuse widths whose products or shifts would overflow int64 (wrong numbers,
    silently): a product holds a pre and a post factor (trace bits each), its syn
    factors (weight bits + 1 each) and the mantissa; the accumulator is shifted
    left by e + 7."""
    mant = max(abs(w.mantissa_min), abs(w.mantissa_max), 1).bit_length()
    syn = max((sum(f.kind == "syn" for f in t.factors) for t in terms), default=0)
    product = 2 * w.trace_bits + syn * (w.weight_bits + 1) + mant
    if product > INT64_BITS:
        raise SpecError(f"a product of this rule needs {product} bits (2 traces of "
                        f"{w.trace_bits}, {syn} weight(s) of {w.weight_bits + 1}, a "
                        f"{mant}-bit mantissa); the quantized reference computes in int64 "
                        f"({INT64_BITS} bits)", "traces.bits", source=profile.name)
    shifted = w.accumulator_bits + 1 + max(w.exponent_max + arith.EXPONENT_OFFSET, 0)
    if shifted > INT64_BITS:
        raise SpecError(f"accumulator_bits + 1 + exponent_max + {arith.EXPONENT_OFFSET} = "
                        f"{shifted} bits; the quantized reference computes in int64 "
                        f"({INT64_BITS} bits)", "learning.exponent_max", source=profile.name)


def _grid_bits(W, bits: int, headroom: float) -> int:
    peak = float(np.max(np.abs(W))) if W.size else 0.0
    if peak == 0.0:
        return bits
    return int(math.floor(bits - math.log2(headroom * peak)))


def _to_grid(W, f: int, w: EngineWidths) -> np.ndarray:
    return np.clip(np.rint(W * 2.0 ** f), w.weight_min, w.weight_max).astype(np.int64)


def check_quantizable(spec) -> None:
    """Refuse what the quantized reference cannot model (UnsupportedRule)."""
    net = spec.network
    if net.spiking:
        raise UnsupportedRule("numpy (fixed)", f"spiking network {spec.name!r}",
                              "the quantized reference is the batched rate trainer",
                              "numpy with --precision float")
    for l in range(1, len(net.layers) - 1):
        if net.feedback_of(l).kind == "learned":
            raise UnsupportedRule(
                "numpy (fixed)", f"feedback kind 'learned' (layer "
                f"{net.layers[l].name})", "the learned feedback matrix learns "
                "on the host; the quantized reference models only on-chip weights",
                "numpy with --precision float")
    for l, layer in enumerate(net.layers[1:], start=1):
        if not layer.bias and layer.bias_init != 0.0:
            raise UnsupportedRule(
                "numpy (fixed)", f"network.layers[{l}].bias_init = {layer.bias_init:g} "
                "with bias = false", "the bias column of the weight grid is held at 0 "
                "when the bias does not learn, so a fixed offset would be lost",
                "bias = true, or numpy with --precision float")


class QuantizedTrainer(BatchedTrainer):
    """BatchedTrainer whose weights live on an integer grid and learn through the
    learning engine's arithmetic (module docstring, steps 1-5)."""

    def __init__(self, spec, params=None, *, profile: Profile, weight_headroom: float = 4.0):
        check_quantizable(spec)
        super().__init__(spec, params)
        self.profile = profile
        self.w = widths_of(profile)
        _check_int64(self.w, self.terms, profile)
        seed = spec.training.seed
        self.rounding = arith.WeightRounding(seed=[seed, 2])
        self.y_rng = np.random.default_rng([seed, 3])
        self.eta_eff = [e / (1.0 - self.momentum) for e in self.eta]
        self.momentum = 0.0  # folded into eta_eff: the engine keeps no velocity
        p = self.params
        self.f, self.Wq = [], []
        for l in range(self.L):
            aug = np.concatenate([p.W[l], p.b[l][:, None]], axis=1)
            f = _grid_bits(aug, self.w.weight_bits, weight_headroom)
            self.f.append(f)
            self.Wq.append(_to_grid(aug, f, self.w))
        self.fB = {}
        for l, B in p.B.items():
            f = _grid_bits(B, self.w.weight_bits, 1.0)
            self.fB[l] = f
            p.B[l] = _to_grid(B, f, self.w) * 2.0 ** -f
        self._sync()
        self.k = {}       # (layer, term) -> post factor exponent
        self.scale = {}   # (layer, term) -> (m, e)
        self.target = {}  # (layer, term) -> the exact scale m * 2^e approximates
        self.saturated = {"accumulator": 0, "weights": 0}
        self.x_full = 2 ** self.w.trace_bits - 1

    def _sync(self):
        for l in range(self.L):
            deq = self.Wq[l] * 2.0 ** -self.f[l]
            self.params.W[l] = deq[:, :-1].copy()
            self.params.b[l] = deq[:, -1].copy()

    # -- steps 2 and 3 -------------------------------------------------------------------
    def _shift(self, widths) -> int:
        return max(0, sum(widths) + self.w.mantissa_bits - self.w.accumulator_bits)

    def _choose(self, l, t, term, P, n, widths):
        """k and (m, e) of term t of layer l, from the first minibatch's post factor."""
        peak = float(np.max(np.abs(P))) if P.size else 0.0
        k = 24 if peak == 0.0 else int(math.floor(math.log2(self.x_full / peak)))
        s = self._shift(widths)
        lsb = 2.0 ** -self.f[l]
        eta = self.eta_eff[l] * term.coeff

        def target(k):
            return eta * 2.0 ** s / (n * lsb * self.x_full * 2.0 ** k)

        while k > -32 and abs(target(k)) < 2.0 ** self.w.exponent_min:
            k -= 1
        self.k[(l, t)] = k
        self.scale[(l, t)] = arith.nearest_scale(target(k), self.w)
        self.target[(l, t)] = target(k)

    def _factors(self, term, pre_sig, post_sig, n, n_pre, n_post):
        pre = [f for f in term.factors if f.kind == "pre"]
        post = [f for f in term.factors if f.kind == "post"]
        Q = np.ones((n, n_pre))
        for f in pre:
            Q = Q * pre_sig[f.signal]
        P = np.ones((n, n_post))
        for f in post:
            P = P * post_sig[f.signal]
        return Q, P, bool(pre), bool(post), [f for f in term.factors if f.kind == "syn"]

    # -- steps 4 and 5 -------------------------------------------------------------------
    def step(self, x, y):
        _, h_list, _, _, pre, post = self.signals(x, y)
        n = len(x)
        w = self.w
        r = self.rounding.advance()
        for l in range(self.L):
            layer = self.net.layers[l + 1]
            if not layer.plastic:
                continue
            n_post, n_pre = self.Wq[l].shape
            pre_sig = {k: np.concatenate([v, np.ones((n, 1))], axis=1)
                       for k, v in pre[l].items()}
            if not layer.bias:
                pre_sig = {k: np.concatenate([v[:, :-1], np.zeros((n, 1))], axis=1)
                           for k, v in pre_sig.items()}
            contribs = []
            for t, term in enumerate(self.terms):
                Q, P, has_pre, has_post, syn = self._factors(term, pre_sig, post[l], n,
                                                             n_pre, n_post)
                widths = [w.trace_bits] * (int(has_pre) + int(has_post)) + \
                    [w.weight_bits + 1] * len(syn)
                if (l, t) not in self.k:
                    self._choose(l, t, term, P, n, widths)
                k, (m, e) = self.k[(l, t)], self.scale[(l, t)]
                xq = np.clip(np.rint(Q * self.x_full), -self.x_full, self.x_full).astype(np.int64) \
                    if has_pre else np.ones((n, n_pre), np.int64)
                yq = self._post_int(P, k) if has_post else np.ones((n, n_post), np.int64)
                contribs.append((xq, yq, syn, m, e, widths))
            acc = arith.weights_to_accumulator(self.Wq[l], w)
            for s in range(n):
                for xq, yq, syn, m, e, widths in contribs:
                    mac = np.outer(yq[s], xq[s]) * m
                    for _ in syn:
                        mac = mac * arith.saturate_factor(self.Wq[l], w.weight_bits + 1)
                    mac = np.right_shift(mac, self._shift(widths))
                    mac = np.left_shift(mac, e + arith.EXPONENT_OFFSET)
                    mac = np.clip(mac, w.acc_min, w.acc_max)
                    acc = acc + mac
                    hit = (acc < w.acc_min) | (acc > w.acc_max)
                    self.saturated["accumulator"] += int(hit.sum())
                    acc = np.clip(acc, w.acc_min, w.acc_max)
            acc = arith.round_weight_accumulator(acc, r, w)
            raw = np.right_shift(acc, w.weight_shift)
            self.saturated["weights"] += int(((raw < w.weight_min) | (raw > w.weight_max)).sum())
            Wq = np.clip(raw, w.weight_min, w.weight_max)
            if not layer.bias:
                Wq[:, -1] = 0
            self.Wq[l] = Wq
        self._sync()
        self.updates += 1

    def _post_int(self, P, k):
        scaled = np.abs(P) * 2.0 ** k
        floor = np.floor(scaled)
        up = self.y_rng.random(P.shape) < (scaled - floor)
        mag = np.minimum(floor + up, self.x_full)
        return (np.sign(P) * mag).astype(np.int64)

    # -- state (checkpoints) -----------------------------------------------------------
    def state_dict(self) -> dict:
        """The batched trainer's state plus the integer grid, the chosen exponents and
        scales, the saturation counts and both generators (rounding, post factors)."""
        state = super().state_dict()
        state["arrays"].update({f"Wq.{l}": np.array(w) for l, w in enumerate(self.Wq)})

        def pairs(d):
            return [[l, t, v] for (l, t), v in d.items()]
        state["meta"]["quantized"] = {
            "f": list(self.f), "fB": {str(k): v for k, v in self.fB.items()},
            "k": pairs(self.k), "scale": pairs({k: list(v) for k, v in self.scale.items()}),
            "target": pairs(self.target), "saturated": dict(self.saturated),
            "eta_eff": list(self.eta_eff),
            "rounding": {"value": float(self.rounding.value),
                         "rng": self.rounding._rng.bit_generator.state},
            "y_rng": self.y_rng.bit_generator.state}
        return state

    def load_state_dict(self, state: dict):
        super().load_state_dict(state)
        q, a = state["meta"]["quantized"], state["arrays"]
        self.Wq = [np.array(a[f"Wq.{l}"]).astype(np.int64) for l in range(self.L)]
        self.f = [int(v) for v in q["f"]]
        self.fB = {int(k): int(v) for k, v in q["fB"].items()}
        self.k = {(int(l), int(t)): int(v) for l, t, v in q["k"]}
        self.scale = {(int(l), int(t)): (int(v[0]), int(v[1])) for l, t, v in q["scale"]}
        self.target = {(int(l), int(t)): float(v) for l, t, v in q["target"]}
        self.saturated = {k: int(v) for k, v in q["saturated"].items()}
        self.eta_eff = [float(e) for e in q["eta_eff"]]
        self.momentum = 0.0
        self.rounding.value = q["rounding"]["value"]
        self.rounding._rng.bit_generator.state = q["rounding"]["rng"]
        self.y_rng.bit_generator.state = q["y_rng"]
        self._sync()

    def report(self) -> dict:
        names = [layer.name for layer in self.net.layers[1:]]
        return {
            "profile": self.profile.name,
            "weight_frac_bits": {names[l]: self.f[l] for l in range(self.L)},
            "feedback_frac_bits": {names[l - 1]: f for l, f in self.fB.items()},
            "post_exponent_k": {f"{names[l]}/term{t}": k for (l, t), k in self.k.items()},
            "scale_m_e": {f"{names[l]}/term{t}": list(v) for (l, t), v in self.scale.items()},
            # effective learning rate relative to the float rule (m 2^e / exact scale)
            "rate_ratio": {f"{names[l]}/term{t}": m * 2.0 ** e / self.target[(l, t)]
                           for (l, t), (m, e) in self.scale.items() if self.target[(l, t)]},
            "saturations": dict(self.saturated),
        }


def train_quantized(spec, *, profile=None, epochs=None, quiet=None, dataset=None,
                    weight_headroom: float = 4.0, resume=None, on_epoch=None, **options):
    """Train ``spec`` with the batched reference under ``profile``'s integer
    arithmetic (module docstring). ``profile``: a Profile, a built-in name or a
    path; default loihi2."""
    prof = load_profile(profile or DEFAULT_PROFILE)
    if prof.precision != "fixed":
        raise SpecError(f"profile {prof.name!r} is float: it has no integer arithmetic "
                        f"(use --precision float)", "--profile")
    check_quantizable(spec)
    if options:
        unknown = ", ".join(sorted(options))
        raise SpecError(f"unknown option(s) {unknown} for the quantized reference",
                        "options")

    holder = {}

    def factory(s, params):
        holder["t"] = QuantizedTrainer(s, params, profile=prof,
                                       weight_headroom=weight_headroom)
        return holder["t"]

    result = train(spec, dataset=dataset, epochs=epochs, quiet=quiet, trainer_cls=factory,
                   resume=resume, on_epoch=on_epoch)
    result.precision = "fixed"
    result.extra.update(holder["t"].report())
    return result
