"""NumPy model of the stock lowering on Lava 0.10.0, bit for bit (no lava import).

It reads the Program (:mod:`.lower`), never the spec, and runs what Lava runs each
step t (``Loihi2SimCfg``, ``t_epoch = 1``):

1. every Dense and LearningDense sends what it computed at t-1 (zeros at t = 1);
2. each population (:class:`.population.LayerStep`, the code the Lava population
   ProcessModels run) steps on what it received, sending its forward payload, its
   down signals, its post factors y1..y3 and (rules with post_spike terms) its spikes
   as back-propagating spikes; the output population of a reward task steps first and
   its (r, rpe) reaches the hidden populations in the same step;
3. each Dense computes its next output with its current weights: binary spikes
   ``W[:, s.astype(bool)].sum(axis=1)``, graded payloads ``W.dot(s)``; a
   LearningDense then takes in the presynaptic payload (graded: x1 = payload / 2
   where it is non-zero, Lava's OVERWRITE) and the post factors;
4. learning (float, :class:`FloatEngine`): each x trace decays by exp(-1/tau) and
   gains its impulse where the presynaptic neuron spiked (OVERWRITE: x1 = payload/2
   in the spike phase, no impulse); the y traces decay by exp(-1/65535); every
   product of dw and dt is evaluated from the values of w and t before the step's
   learning, in the order and association Lava's float applier uses
   (``(m * 2.**e) * D * f1 * f2 ...``, D = u (1), x0 (the presynaptic spikes) or
   y0 (the back-propagating spikes), a factor with a constant ``(f + (k))``;
   products summed left to right, then added to the variable). Fixed point (:class:`FixedEngine`): Lava's
   bit-approximate engine from the integer primitives of
   :mod:`neurolearn.hardware.arith`.
"""

from __future__ import annotations

import time

import numpy as np

from ...result import Trace
from .lower import FIXED_PROFILE, WEIGHT_HEADROOM, Y_TAU
from .phased import layer_step


def dense_out(W, s, graded: bool):
    """What a Dense computes from its input (Lava's PyDenseModelFloat)."""
    if graded:
        return W.dot(s)
    return W[:, s.astype(bool)].sum(axis=1)


def _parse(expr: str):
    """A generated rule string -> [(mantissa, exponent, dependency, [(factor,
    constant), ...])] (a factor ``(x1 - 1)`` is ("x1", -1))."""
    out = []
    for sign, prod in _signed_products(expr):
        m, e, dep, facs = sign, 0, None, []
        for tok in (t.strip() for t in prod.split(" * ")):
            if tok.startswith("2^"):
                e = int(tok[2:])
            elif tok.isdigit():
                m *= int(tok)
            elif tok in ("u0", "x0", "y0"):
                dep = tok
            elif tok.startswith("("):
                name, op, k = tok.strip("()").split()
                facs.append((name, -int(k) if op == "-" else int(k)))
            else:
                facs.append((tok, 0))
        out.append((m, e, dep, facs))
    return out


def _signed_products(expr: str):
    """[(sign, product text)] of a sum; + and - inside parentheses belong to a
    factor such as ``(x2 - 1)``."""
    parts, sign, cur, depth = [], 1, "", 0
    toks = expr.split(" ")
    if toks[0].startswith("-"):  # a leading minus sticks to the first token
        sign, toks[0] = -1, toks[0][1:]
    for tok in toks:
        if tok in ("+", "-") and depth == 0:
            parts.append((sign, cur.strip()))
            sign, cur = (1 if tok == "+" else -1), ""
        else:
            depth += tok.count("(") - tok.count(")")
            cur += " " + tok
    parts.append((sign, cur.strip()))
    return parts


class FloatEngine:
    """Lava's float LearningDense (LearningConnectionModelFloat), t_epoch = 1."""

    def __init__(self, lp):
        self.lp = lp
        rule = lp.rule()
        self.x = np.zeros((2, lp.n_pre))
        self.y = np.zeros((3, lp.size))
        self.tx = np.zeros(lp.n_pre, dtype=int)
        self.ty = np.zeros(lp.size, dtype=int)
        self.x_taus = np.array([rule["x1_tau"], rule["x2_tau"]])
        self.x_imp = np.array([rule["x1_impulse"], rule["x2_impulse"]])
        if lp.graded_in:  # LearningDense zeroes x1's impulse for graded payloads
            self.x_imp[0] = 0
        self.y_taus = np.array([Y_TAU, Y_TAU, Y_TAU])
        self.T = np.zeros((lp.size, lp.n_pre)) if lp.dt_rule else None
        self.dw = _parse(lp.dw)
        self.dt = _parse(lp.dt_rule) if lp.dt_rule else None

    def receive(self, s, ys, bap=None):
        spiked = s.astype(bool)
        if self.lp.graded_in:  # OVERWRITE: x1 = payload / 2
            self.x[0][spiked] = (s / 2)[spiked]
        self.tx[spiked] = 1
        if bap is not None:
            self.ty[bap.astype(bool)] = 1
        self.y[0], self.y[1], self.y[2] = ys

    def learn(self, W):
        xh = np.exp(-1 / self.x_taus[:, np.newaxis]) * self.x
        ids = np.where(self.tx == 1)[0]
        xh[:, ids] += self.x_imp[:, np.newaxis]
        yh = np.exp(-1 / self.y_taus[:, np.newaxis]) * self.y
        self.x = xh
        args = {"x1": xh[0][np.newaxis, :], "x2": xh[1][np.newaxis, :],
                "y1": yh[0][:, np.newaxis], "y2": yh[1][:, np.newaxis],
                "y3": yh[2][:, np.newaxis], "w": W, "t": self.T, "u0": 1,
                "x0": (self.tx > 0)[np.newaxis, :], "y0": (self.ty > 0)[:, np.newaxis]}
        self.tx[:] = 0
        self.ty[:] = 0
        W_new = W + self._eval(self.dw, args)
        if self.dt is not None:
            self.T = self.T + self._eval(self.dt, args)
        return W_new

    @staticmethod
    def _eval(products, args):
        """Lava's float applier: ``(m) * 2. ** (e) * dep * f1 * ...``, products summed
        left to right; a factor with a constant is ``(f + (k))``."""
        total = None
        for m, e, dep, facs in products:
            v = m * 2. ** e
            v = v * args[dep]
            for f, k in facs:
                v = v * (args[f] + (k) if k else args[f])
            total = v if total is None else total + v
        return total


class FixedEngine:
    """Lava's bit-approximate (fixed_pt) LearningDense, t_epoch = 1, from the integer
    primitives of neurolearn.hardware.arith, in Lava's order: run_spk writes x1 in
    OVERWRITE mode (round(payload/2)) and advances the trace randoms twice (around
    the post-trace receive); run_lrn advances the weight-rounding random, decays x1,
    x2 and the y traces (stochastic rounding with one shared random each), adds the x
    impulses where the presynaptic neuron spiked, then applies the products (each
    dependency u0, x0 or y0 times its factors) and rounds the accumulator."""

    def __init__(self, lp):
        from ...hardware import arith
        from ...hardware.profile import load_profile
        from ...hardware.profile import widths_of
        self.arith = arith
        self.widths = widths_of(load_profile(FIXED_PROFILE))
        self.lp = lp
        rule = lp.rule()
        self.tau = [rule["x1_tau"], rule["x2_tau"]]
        self.impulse = [0 if lp.graded_in else rule["x1_impulse"], rule["x2_impulse"]]
        self.x = np.zeros((2, lp.n_pre), dtype=int)
        self.xr, self.yr = arith.trace_randoms(lp.rng_seed)
        self.wr = arith.WeightRounding()
        self.spiked = np.zeros(lp.n_pre, dtype=bool)
        self.bap = np.zeros(lp.size, dtype=bool)
        self.ys = None
        self.dw = _parse(lp.dw)
        self.dt = _parse(lp.dt_rule) if lp.dt_rule else None
        self.T = np.zeros((lp.size, lp.n_pre), dtype=np.int64) if lp.dt_rule else None

    def receive(self, s, ys, bap=None):
        self.spiked = s.astype(bool)
        if self.lp.graded_in:  # OVERWRITE: x1 = round(payload / 2)
            self.x[0][self.spiked] = np.round(s / 2).astype(np.uint8)[self.spiked]
        self.bap = bap.astype(bool) if bap is not None else np.zeros(self.lp.size, bool)
        self.ys = ys
        for _ in range(2):
            self.xr.advance()
            self.yr.advance()

    def learn(self, W):
        a, w = self.arith, self.widths
        self.wr.advance()
        for i in range(2):
            self.x[i] = a.trace_history(self.x[i], self.tau[i], 1, self.spiked.astype(int),
                                        self.xr.decay, self.xr.impulse, self.impulse[i],
                                        widths=w)[-1]
        yd = a.decay_trace(np.stack(self.ys).astype(int), Y_TAU, self.yr.decay)
        # a neuron that sent a back-propagating spike gets its (zero) y impulses
        # added, which saturates its y traces to [0, 127]
        yd[:, self.bap] = a.add_impulse(yd[:, self.bap], self.yr.impulse, 0, 0, widths=w)
        vals = {"x1": self.x[0][np.newaxis, :], "x2": self.x[1][np.newaxis, :],
                "y1": yd[0][:, np.newaxis], "y2": yd[1][:, np.newaxis],
                "y3": yd[2][:, np.newaxis], "w": W, "t": self.T}
        deps = {"u0": 1, "x0": self.spiked[np.newaxis, :], "y0": self.bap[:, np.newaxis]}

        def products(rule):
            return [a.product(deps[dep], [(vals[f] + k, w.factor_width(f)) for f, k in facs],
                              m, e, widths=w, shape=W.shape)
                    for m, e, dep, facs in rule]
        # dw and dt both read w and t as they were before the epoch, and round with
        # the epoch's one random (_apply_learning_rules extracts its arguments once)
        W_new = a.learn_weights(W, products(self.dw), self.wr.value, widths=w)
        if self.dt is not None:
            self.T = a.learn_tag(self.T, products(self.dt), self.wr.value, widths=w)
        return W_new.astype(float)


class EmulatedNetwork:
    """The stock lowering's network, one Lava step per :meth:`step`."""

    def __init__(self, program):
        self.program = program
        self.layers = [layer_step(lp) for lp in program.layers]
        self.W = [lp.W0.copy() for lp in program.layers]
        eng = FixedEngine if program.precision == "fixed" else FloatEngine
        self.engines = [eng(lp) if lp.plastic else None for lp in program.layers]
        # settling: W_(l+1)^T into layer l, a LearningDense of its own (.phased)
        self.mirrors = {i: lp.mirror for i, lp in enumerate(program.layers)
                        if lp.mirror is not None}
        self.WT = {i: m.W0.copy() for i, m in self.mirrors.items()}
        self.mirror_engines = {i: FloatEngine(m) for i, m in self.mirrors.items()
                               if m.plastic}
        self.a_buf = [np.zeros(lp.size) for lp in program.layers]
        self.fb_buf = [np.zeros(lp.n_fb) for lp in program.layers]
        # every population steps on what its Dense sent the step before, so within a
        # step their order is free: the output first, its (r, rpe) reaching the
        # hidden populations in the same step (a direct port in the runtime)
        L = len(program.layers)
        self.order = [L - 1] + list(range(L - 1)) if program.layers[-1].reward_out \
            else list(range(L))

    def step(self, x, y, ctrl):
        """One step on input x (n_in,), target y, control ctrl; returns the forward
        payloads of layers 0..L."""
        lps = self.program.layers
        L = len(lps)
        pay = self.program.source_payload
        fwd, down, ys = [x * pay if pay != 1.0 else x] + [None] * L, [None] * L, [None] * L
        glob = None
        for i in self.order:
            pop = self.layers[i]
            s, d, yy = pop.step(self.a_buf[i], self.fb_buf[i], y, ctrl,
                                glob if lps[i].reward_in else None)
            if lps[i].reward_out:
                glob = pop.glob_out()
            fwd[i + 1], down[i], ys[i] = s, d, yy
        for i, lp in enumerate(lps):
            self.a_buf[i] = dense_out(self.W[i], fwd[i], lp.graded_in)
            if self.engines[i] is not None:
                self.engines[i].receive(fwd[i], ys[i],
                                        self.layers[i].spikes if lp.bap else None)
        for i, lp in enumerate(lps):
            if lp.B is not None:
                self.fb_buf[i] = dense_out(lp.B, down[lp.fb_src - 1], True)
        for i, m in self.mirrors.items():  # the upper population's payload, i's y
            pre = down[m.index - 1] if m.pre_port == "down" else fwd[m.index]
            self.fb_buf[i] = dense_out(self.WT[i], pre, True)
            if i in self.mirror_engines:
                self.mirror_engines[i].receive(pre, ys[i])
        for i, eng in enumerate(self.engines):
            if eng is not None:
                self.W[i] = eng.learn(self.W[i])
        for i, eng in self.mirror_engines.items():
            self.WT[i] = eng.learn(self.WT[i])
        return fwd


def run_stream(program, stream, record_steps=(), spike_steps=0) -> dict:
    """Run the emulator over ``stream``; returns the records the runtime's models
    write (:mod:`.procs.models`): ``W_<l>``, ``b_<l>`` after each of
    ``record_steps`` (0-based), ``out``/``err`` per step, ``spk_<l>`` for the first
    ``spike_steps`` steps (l = 0 the input), and ``run_s``."""
    net = EmulatedNetwork(program)
    sizes, L = program.sizes, program.L
    rec_at = {int(t): j for j, t in enumerate(record_steps)}
    arrays = {"out": np.zeros((stream.steps, sizes[-1])),
              "err": np.zeros((stream.steps, sizes[-1]))}
    for l in range(1, L + 1):
        arrays[f"W_{l}"] = np.zeros((len(rec_at), sizes[l], sizes[l - 1]))
        arrays[f"b_{l}"] = np.zeros((len(rec_at), sizes[l]))
    for i, m in net.mirrors.items():
        arrays[f"W_T{i + 1}"] = np.zeros((len(rec_at), m.size, m.n_pre))
    if spike_steps:
        for l in range(L + 1):
            arrays[f"spk_{l}"] = np.zeros((spike_steps, sizes[l]))
    cur = stream.cursor()
    t0 = time.perf_counter()
    for t in range(stream.steps):
        x, y, ctrl = cur.step()
        net.step(x, y, ctrl)
        out = net.layers[-1]
        arrays["out"][t], arrays["err"][t] = out.readout, out.error
        if t < spike_steps:
            arrays["spk_0"][t] = x
            for l in range(1, L + 1):
                arrays[f"spk_{l}"][t] = net.layers[l - 1].spikes
        j = rec_at.get(t)
        if j is not None:
            for l in range(1, L + 1):
                arrays[f"W_{l}"][j] = net.W[l - 1]
                arrays[f"b_{l}"][j] = net.layers[l - 1].b
            for i in net.mirrors:
                arrays[f"W_T{i + 1}"][j] = net.WT[i]
    arrays["run_s"] = time.perf_counter() - t0
    return arrays


def emulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
            dataset=None, time_limit=None, weight_headroom=WEIGHT_HEADROOM,
            **options) -> Trace:
    """The emulator on the shared training stream (what :func:`.runtime.simulate`
    runs on Lava), the same Trace. Either variant is emulated by the stock
    lowering's model: the fused lowering is held to it."""
    from ...errors import UnsupportedRule
    from .lower import lower
    from .runtime import _with_final, make_stream, trace_from, with_seed
    spec = with_seed(spec, seed)
    if (variant or "stock") == "fused":
        prog = lower(spec, precision, variant="fused")
        if prog.stock_refusal:
            raise UnsupportedRule("lava", "the emulator of the fused lowering",
                                  "the emulator models the stock lowering, which refuses "
                                  f"this spec ({prog.stock_refusal})",
                                  "numpy under Lava's schedule (the fused process runs it)")
    program = lower(spec, precision, variant="stock", weight_headroom=weight_headroom)
    if program.phased is not None:
        from ...data import load_dataset
        from .phased import phased_stream, phased_trace, record_plan
        ds = dataset if dataset is not None else load_dataset(spec.data,
                                                              spec.training.seed)
        n_ex, at, ref = record_plan(program, len(ds.x_train), steps, record_every,
                                    spec.training.batch_size)
        arrays = run_stream(program, phased_stream(program, spec, ds, n_ex,
                                                   spec.training.seed), at)
        return phased_trace(program, arrays, ref, "lava emulator", arrays["run_s"])
    stream, record_steps = make_stream(program, spec, steps=steps, dataset=dataset,
                                       record_every=record_every)
    at = _with_final(record_steps, steps)
    arrays = run_stream(program, stream, at, spike_steps=steps if program.spiking else 0)
    return trace_from(program, arrays, record_steps, at, "lava emulator", arrays["run_s"])


def emulate_infer(spec, params, *, precision="float", profile=None, dataset=None,
                  variant=None, time_limit=None, rest=None):
    """What :func:`.runtime.infer` runs on Lava, in NumPy (the stock lowering's model
    over the same test stream): an Inference with the same outputs."""
    from ...data import load_dataset
    from ..inference import grade, presentation
    from .runtime import (engine_weights, inference_outputs, inference_program,
                          inference_stream)
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    from ...rules.phases import is_phased
    if is_phased(spec):
        from .phased import check
        from .runtime import infer_with

        def emulated(prog, stream, at):
            arrays = run_stream(prog, stream, at)
            return arrays, arrays["run_s"], {}
        check(spec, precision, variant or "stock")
        return infer_with(emulated, "lava emulator", spec, params, precision, profile,
                          ds, rest)
    frozen, program = inference_program(spec, params, precision, profile, "stock")
    w = presentation(frozen, ds, rest)
    arrays = run_stream(program, inference_stream(program, frozen, ds, w), [w.steps - 1])
    return grade("lava emulator", precision, frozen, ds, w,
                 inference_outputs(program, frozen, arrays), seconds=arrays["run_s"],
                 extra={"variant": "stock"}, weights=engine_weights(program))
