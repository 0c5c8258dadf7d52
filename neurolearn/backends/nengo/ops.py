"""The two nengo operators of a lowered spec: the post factors of every layer, and
one projection's learning (accumulate over the batch, emit through momentum).

Signals live only in an operator's ``sets``/``reads``/``updates`` lists (nengo's
optimizer rewrites those lists when it merges signals); ``keys`` name them. Rows
are (1, n) views, the shapes the reference computes with, so the formulas of
:mod:`neurolearn.reference.signals` and :mod:`neurolearn.reference.terms` run on
them unchanged.
"""

from __future__ import annotations

import numpy as np
from nengo.builder import Operator

from ...reference.params import Params
from ...reference.signals import (burst_prob_devs, error_drives, output_error,
                                  output_readout)
from ...reference.terms import error_free_part, rule_update

# the stream's flags, after its input and target (see frontend.ExampleStream)
TEACH, N_BATCH, PASS, APPLY = range(4)
N_FLAGS = 4


def _row(a):
    return a.reshape(1, -1)


class _Keyed(Operator):
    """An operator whose signals are named by keys parallel to its lists."""

    def __init__(self, sets=(), reads=(), updates=(), tag=None):
        super().__init__(tag=tag)
        self.set_keys = [k for k, _ in sets]
        self.read_keys = [k for k, _ in reads]
        self.update_keys = [k for k, _ in updates]
        self.sets = [s for _, s in sets]
        self.incs = []
        self.reads = [s for _, s in reads]
        self.updates = [s for _, s in updates]

    def views(self, signals) -> dict:
        out = {}
        for keys, sigs in ((self.set_keys, self.sets), (self.read_keys, self.reads),
                           (self.update_keys, self.updates)):
            for k, s in zip(keys, sigs):
                out[k] = signals[s]
        return out


class SimPostFactors(_Keyed):
    """Every layer's post factors of a plastic step: error drives under each feedback
    pathway (output error switched off when the stream does not teach), rate
    burstprop's (p - p_bar) e, and the moving average of activity^2, all from
    :mod:`neurolearn.reference.signals`. Nothing runs on settling steps (nothing
    reads the factors then: nengo has no feedback delay to feed).

    keys: ('I', l) (what projection l delivers, after its synapse), ('b', l) (a
    learned bias; else the fixed one), ('h', l) (rate output or spiking trace),
    ('y',), ('flags',), ('W', l), ('B', l) read; ('pf', l, name) set; ('sq', l), ('sq_started',) updated.
    """

    def __init__(self, program, sets, reads, updates, fixed_bias=None, tag="PostFactors"):
        super().__init__(sets, reads, updates, tag=tag)
        self.program = program
        self.fixed_bias = fixed_bias or {}

    def make_step(self, signals, dt, rng):
        prog = self.program
        net, L = prog.spec.network, prog.L
        v = self.views(signals)
        flags = v[("flags",)]
        y = _row(v[("y",)])
        layers = prog.layers
        current = [None] + [_row(v[("I", l)]) for l in range(1, L + 1)]
        bias = [None] + [_row(v[("b", l)]) if ("b", l) in v else
                         self.fixed_bias[l].reshape(1, -1) for l in range(1, L + 1)]
        h = [_row(v[("h", l)]) if ("h", l) in v else None for l in range(L + 1)]
        params = Params([v[("W", l)] if ("W", l) in v else None for l in range(1, L + 1)],
                        [], {l: v[("B", l)] for l in range(1, L) if ("B", l) in v})
        neurons = [lm.neuron for lm in layers]
        drive = [v.get(("pf", l, "error_drive")) for l in range(L + 1)]
        burst = [v.get(("pf", l, "burst_prob_dev")) for l in range(L + 1)]
        sq_out = [v.get(("pf", l, "activity_sq_avg")) for l in range(L + 1)]
        sq = [v.get(("sq", l)) for l in range(L + 1)]
        sq_started = v.get(("sq_started",))
        need = prog.post_needed
        taus = {f.tau for t in prog.spec.rule.resolved_terms() for f in t.factors
                if f.kind == "post" and f.signal == "activity_sq_avg"}
        d_sq = np.exp(-prog.dt / next(iter(taus - {None}), 1.0))
        loss, spiking = prog.loss, prog.spiking

        def net_input(l):
            return current[l] + bias[l]

        def step_post_factors():
            if not flags[TEACH]:
                return
            a = [None] + [net_input(l) for l in range(1, L + 1)]
            if "error_drive" in need:
                if spiking:
                    fp = [neurons[l].fprime(a[l]) for l in range(1, L + 1)]
                    y_hat = h[L]
                else:
                    fp = [neurons[l].fprime(a[l], h[l]) for l in range(1, L + 1)]
                    y_hat = output_readout(a[L], h[L], loss)
                err = output_error(y_hat, y)
                for l, d in enumerate(error_drives(net, params, fp, err, loss), start=1):
                    drive[l][...] = d[0]
            if "burst_prob_dev" in need:
                for l, d in enumerate(burst_prob_devs(net, params, h, y), start=1):
                    burst[l][...] = d[0]
            if "activity_sq_avg" in need:
                # the reference's moving average: from its first value, plastic steps only
                for l in range(1, L + 1):
                    x2 = h[l][0] ** 2
                    if sq_started[0]:
                        sq[l][...] = d_sq * sq[l] + (1.0 - d_sq) * x2
                    else:
                        sq[l][...] = x2
                    sq_out[l][...] = sq[l]
                sq_started[0] = 1.0

        return step_post_factors


class SimSumOfProducts(_Keyed):
    """One projection's learning, the reference's update (simulator docstring):

    on a plastic step (stream flag), acc += eta_l * rule / (n_teach * n_batch), the
    rule evaluated by :func:`neurolearn.reference.terms.rule_update` on the step's
    pre and post signals; after the batch's last plastic step (stream flag) the
    accumulated change goes through momentum (v = mu v + acc) into ``delta``, which
    nengo adds to the weights at the start of the next step (the reference applies it
    at the end of this one: the same weights from the next step on); ``delta`` is 0
    on every other step. eta is multiplied by lr_decay when the stream's pass index
    grows. With ``bias`` the projection is the bias column (pre: a unit of constant
    activity 1). A learned feedback matrix B of the layer below (Kolen-Pollack) gets
    eta_l (syn-free part)^T - eta_l decay B the same way.

    keys: ('flags',), ('W',), ('pre', name), ('post', name), ('raw_pre',),
    ('raw_post',) read; ('delta',), ('acc',), ('vel',), ('trace', i),
    ('trace_started',), ('B',), ('accB',), ('velB',) updated.
    """

    def __init__(self, program, layer, bias, reads, updates, tag=None):
        super().__init__((), reads, updates, tag=tag)
        self.program = program
        self.layer = layer
        self.bias = bias

    def make_step(self, signals, dt, rng):
        prog, l, bias = self.program, self.layer, self.bias
        v = self.views(signals)
        flags, W = v[("flags",)], v[("W",)]
        delta, acc, vel = v[("delta",)], v[("acc",)], v.get(("vel",))
        learn_w = prog.layers[l].plastic
        mu = prog.momentum
        terms = prog.terms
        raw_terms = prog.spec.rule.resolved_terms()
        filtered = prog.filtered
        spiking = prog.spiking
        pre = {k[1]: _row(s) for k, s in v.items() if k[0] == "pre"}
        post = {k[1]: _row(s) for k, s in v.items() if k[0] == "post"}
        raw = {"pre": v.get(("raw_pre",)), "post": v.get(("raw_post",))}
        traces = [_row(v[("trace", i)]) for i in range(len(filtered))]
        started = v.get(("trace_started",))
        B, accB, velB = v.get(("B",)), v.get(("accB",)), v.get(("velB",))
        decay_B = prog.spec.network.feedback_of(l - 1).decay if B is not None else 0.0
        decays = [np.exp(-dt / (tau if tau is not None else prog.layers[max(
            l - 1 if kind == "pre" else l, 1)].trace_tau)) for kind, _, tau in filtered]
        gains = [(1.0 - d) / (dt * prog.max_rate) for d in decays]
        state = {"eta": prog.eta[l - 1], "pass": 0, "dirty": False}
        ones = np.ones((1, 1))

        def advance_traces():
            for i, (kind, signal, tau) in enumerate(filtered):
                x = traces[i]
                if bias and kind == "pre":
                    continue  # the constant unit's traces are 1
                s = _row(raw[kind])
                if spiking:  # a unit-area filter of 0/1 spikes, from zero
                    x[...] = decays[i] * x + gains[i] * (s > 0)
                elif started[0]:  # rate: a low-pass from its first value
                    x[...] = decays[i] * x + (1.0 - decays[i]) * s
                else:
                    x[...] = s
            if started is not None:
                started[0] = 1.0

        def step_sum_of_products():
            if flags[PASS] > state["pass"]:  # a new pass: eta decays (per pass)
                while state["pass"] < flags[PASS]:
                    state["eta"] *= prog.lr_decay
                    state["pass"] += 1
            if state["dirty"]:
                delta[...] = 0.0
                state["dirty"] = False
            # traces advance on every step of the training stream, settling
            # included (the meaning); only the weight terms wait for teaching
            advance_traces()
            if flags[TEACH]:
                scale = state["eta"] * (1.0 / (prog.n_teach * flags[N_BATCH]))
                if bias:  # the bias is a synapse from a unit of constant activity 1
                    sig_pre = {name: ones for name in prog.pre_needed}
                    sig_pre.update({f"{sg}@{tau}": ones for kind, sg, tau in filtered
                                    if kind == "pre"})
                else:
                    sig_pre = dict(pre)
                sig_post = dict(post)
                for i, (kind, sg, tau) in enumerate(filtered):
                    if kind == "post" or not bias:
                        (sig_pre if kind == "pre" else sig_post)[f"{sg}@{tau}"] = traces[i]
                if learn_w:
                    dW, _ = rule_update(terms, sig_pre, sig_post, W, None, scale=scale)
                    acc[...] += dW
                if B is not None:
                    pre_l = dict(pre)
                    for i, (kind, sg, tau) in enumerate(filtered):
                        if kind == "pre":
                            pre_l[sg] = traces[i]
                    mirror = error_free_part(raw_terms, pre_l, post, W)
                    accB[...] += (state["eta"] * (1.0 / (prog.n_teach * flags[N_BATCH]))) \
                        * (mirror.T - decay_B * B)
            if flags[APPLY]:
                if learn_w:
                    if mu:
                        vel[...] *= mu
                        vel[...] += acc
                        delta[...] = vel
                    else:
                        delta[...] = acc
                    acc[...] = 0.0
                    state["dirty"] = True
                if B is not None:
                    if mu:
                        velB[...] *= mu
                        velB[...] += accB
                        B[...] += velB
                    else:
                        B[...] += accB
                    accB[...] = 0.0

        return step_sum_of_products
