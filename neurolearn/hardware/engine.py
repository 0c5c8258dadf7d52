"""A NumPy model of one fixed-point learning synapse of Lava 0.10.0, step by step.

:class:`LearningDenseFixed` is ``PyLearningDenseModelBitApproximate``
(``lava/proc/dense/models.py``) with ``LearningConnectionModelBitApproximate``
(``lava/magma/core/model/py/connection.py``) and a ``Loihi3FLearningRule`` (the
post neuron sends y1, y2, y3 as graded values), rewritten from the integer
primitives of :mod:`neurolearn.hardware.arith`. It is what a fixed-point Lava run
of one learning projection must equal bit for bit. Per time step t (1-based):

Spiking phase (``run_spk``):
1. On the first step only, the weights are truncated (even values for 8-bit mixed
   sign: ``arith.truncate_weights``).
2. The output sent this step is the dendritic sum computed on the previous step
   (``a_buff``); the new sum is ``W @ s`` (graded) or the column sum over spiking
   inputs (binary), shifted by ``weight_exp``.
3. Pre spikes: with ``graded = "overwrite"`` x1 of every input with a non-zero
   payload becomes ``uint8(round(payload / 2))`` (Lava's cast: payloads above 510
   wrap); with ``"impulse"`` a second spike within an epoch adds x1's impulse
   (first spikes add theirs at learning time). Either way, a second spike within
   the epoch adds x2's impulse (random 0), and the spike's within-epoch step is
   recorded (tx).
4. The trace randoms advance, the post neuron's y1..y3 replace the y traces (and
   back-propagated spikes record ty), and the trace randoms advance again.

Learning phase (``run_lrn``, when t is a multiple of t_epoch):
5. The weight-rounding random advances (seed 2, whatever rng_seed is).
6. Dependencies: x0 = (tx > 0), y0 = (ty > 0); u = 1 on epochs that are a multiple
   of 2^k (k of ``u_k``), else 0.
7. Trace histories over the epoch's t_epoch steps (``arith.trace_history``), with
   this step's decay and impulse randoms; x traces take the last value; y traces
   keep the values received (Loihi3F).
8. Each product sees traces at the epoch end (u), or at the spike step (x0/y0);
   the weights learn by ``arith.learn_weights``.
9. Dependencies and spike times reset.

Rules are given as products: :class:`Product` (dependency, factor names among
x0 y0 x1 x2 y1 y2 y3 w, mantissa, exponent). Constants inside factors and sgn()
are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import arith
from .arith import LAVA, EngineWidths

FACTORS = ("x0", "y0", "x1", "x2", "y1", "y2", "y3", "w")


@dataclass
class Product:
    """``mantissa * 2^exponent * dependency * prod(factors)``."""
    dependency: str                      # "u", "x0" or "y0"
    factors: list = field(default_factory=list)
    mantissa: int = 1
    exponent: int = 0

    def __post_init__(self):
        if self.dependency not in ("u", "x0", "y0"):
            raise ValueError(f"dependency must be u, x0 or y0, got {self.dependency!r}")
        for f in self.factors:
            if f not in FACTORS:
                raise ValueError(f"unknown factor {f!r} (known: {', '.join(FACTORS)})")


class LearningDenseFixed:
    """One fixed-point LearningDense with a Loihi3F rule (module docstring)."""

    def __init__(self, weights, products, *, t_epoch: int = 1, rng_seed: int = 0,
                 x1_tau: float = 0.0, x1_impulse: float = 0.0, x2_tau: float = 0.0,
                 x2_impulse: float = 0.0, y_taus=(0.0, 0.0, 0.0), u_k: int = 0,
                 graded: str = "overwrite", weight_exp: int = 0,
                 widths: EngineWidths = LAVA):
        if graded not in ("overwrite", "impulse"):
            raise ValueError("graded must be 'overwrite' or 'impulse'")
        self.w = widths
        self.weights = np.asarray(weights).astype(np.int64)
        self.products = list(products)
        self.t_epoch, self.u_k, self.graded, self.weight_exp = t_epoch, u_k, graded, weight_exp
        n_post, n_pre = self.weights.shape
        self.x = np.zeros((2, n_pre), dtype=int)
        self.y = np.zeros((3, n_post), dtype=int)
        self.tx = np.zeros(n_pre, dtype=int)
        self.ty = np.zeros(n_post, dtype=int)
        self.x_taus, self.y_taus = (x1_tau, x2_tau), tuple(y_taus)
        self.x_imp = [arith.decompose_impulse(v, widths) for v in (x1_impulse, x2_impulse)]
        self.x_random, self.y_random = arith.trace_randoms(rng_seed)
        self.rounding = arith.WeightRounding()
        self.a_buff = np.zeros(n_post, dtype=np.int64)
        self.time_step = 0
        self._truncated = False

    def _ts_in_epoch(self) -> int:
        t = self.time_step % self.t_epoch
        return self.t_epoch if t == 0 else t

    def step(self, s_in, y_in=None, bap=None) -> np.ndarray:
        """One time step; returns the output sent this step (previous step's sum)."""
        self.time_step += 1
        if not self._truncated:
            self.weights = arith.truncate_weights(self.weights).astype(np.int64)
            self._truncated = True
        out = self.a_buff
        s_in = np.asarray(s_in)
        self.a_buff = arith.dense_accumulate(self.weights, s_in, self.weight_exp)
        self._pre(s_in)
        self.x_random.advance()
        self.y_random.advance()
        if bap is not None:
            bap = np.asarray(bap).astype(bool)
            self.ty[bap] = self._ts_in_epoch()
        if y_in is not None:
            self.y = np.asarray(y_in).astype(int).reshape(3, -1).copy()
        self.x_random.advance()
        self.y_random.advance()
        if self.time_step % self.t_epoch == 0:
            self._learn()
        return out

    def _pre(self, s_in):
        spiked = s_in.astype(bool)
        multi = (self.tx > 0) & spiked
        if self.graded == "overwrite":
            scaled = np.round(s_in / 2).astype(np.uint8)
            self.x[0, spiked] = scaled[spiked]
        else:
            self.x[0, multi] = arith.add_impulse(self.x[0, multi], 0, *self.x_imp[0], self.w)
        self.x[1, multi] = arith.add_impulse(self.x[1, multi], 0, *self.x_imp[1], self.w)
        self.tx[spiked] = self._ts_in_epoch()

    def _history(self, traces, taus, times, rnd, impulses):
        hist = np.zeros((self.t_epoch + 1,) + traces.shape, dtype=int)
        for i in range(traces.shape[0]):
            hist[:, i] = arith.trace_history(traces[i], taus[i], self.t_epoch, times,
                                             rnd.decay, rnd.impulse, 0.0, self.w) \
                if impulses is None else \
                arith.trace_history(traces[i], taus[i], self.t_epoch, times, rnd.decay,
                                    rnd.impulse, impulses[i], self.w)
        return hist

    def _learn(self):
        r = self.rounding.advance()
        x0 = (self.tx > 0)[None, :].astype(int)
        y0 = (self.ty > 0)[:, None].astype(int)
        epoch = int(self.time_step / self.t_epoch)
        u = 1 if epoch % 2 ** self.u_k == 0 else 0
        x_imp = [i + f / 2 ** self.w.trace_frac_bits for i, f in self.x_imp]
        xh = self._history(self.x, self.x_taus, self.tx, self.x_random, x_imp)
        yh = self._history(self.y, self.y_taus, self.ty, self.y_random, [0.0] * 3)
        self.x = xh[-1].copy()
        deps = {"u": u, "x0": x0, "y0": y0}
        n_pre = self.weights.shape[1]
        n_post = self.weights.shape[0]

        def trace(name, dep):
            idx = int(name[1]) - 1
            if name[0] == "x":
                if dep == "u":
                    return xh[-1, idx][None, :]
                if dep == "x0":
                    return xh[self.tx, idx].diagonal()[None, :]
                return xh[self.ty, idx]                       # y0: (n_post, n_pre)
            if dep == "u":
                return yh[-1, idx][:, None]
            if dep == "y0":
                return yh[self.ty, idx].diagonal()[:, None]
            return yh[self.tx, idx].T                          # x0: (n_post, n_pre)

        contribs = []
        for p in self.products:
            factors = []
            for name in p.factors:
                if name == "w":
                    factors.append((self.weights, self.w.factor_width("w")))
                elif name in ("x0", "y0"):
                    factors.append((deps[name], 1))
                else:
                    factors.append((trace(name, p.dependency), self.w.trace_bits))
            contribs.append(arith.product(deps[p.dependency], factors, p.mantissa,
                                          p.exponent, self.w, shape=(n_post, n_pre)))
        self.weights = arith.learn_weights(self.weights, contribs, r, self.w)
        self.tx[:] = 0
        self.ty[:] = 0
