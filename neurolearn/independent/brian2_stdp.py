"""STDP protocols of :mod:`.stdp` in Brian2 (extra ``brian2``): the textbook synapse
with event-driven traces and ``on_pre``/``on_post`` updates (Brian2's documentation,
"Synapses": spike-timing dependent plasticity).

Pre and post spikes come from two SpikeGeneratorGroups, one synapse per pairing
(pre k -> post k), no transmission delay. The traces jump by 1 and are integrated
exactly between events (``(event-driven)``), as in Pfister & Gerstner's formulation.

The reference updates every trace of a step before any weight update (see :mod:`.stdp`).
Brian2's textbook form updates trace and weight in one pathway, pre pathway first, which
would give dt_pair = 0 a different value. So each side has two pathways, ordered
pre_trace, post_trace, pre, post: fast traces first (r1, o1), then the weight updates,
which read the slow traces (r2, o2) before their own increment, as the triplet model asks.
"""

from __future__ import annotations

import numpy as np

from . import require
from .stdp import Pairing, PairSTDP, TripletSTDP, check_kind

_MODEL = """
w : 1
dr1/dt = -r1 / tau_plus : 1 (event-driven)
do1/dt = -o1 / tau_minus : 1 (event-driven)
dr2/dt = -r2 / tau_x : 1 (event-driven)
do2/dt = -o2 / tau_y : 1 (event-driven)
"""

# (on_pre, on_post) code per kind; "set" means nearest-neighbour: traces reset to 1
_CODE = {
    "pair": ({"pre_trace": "r1 += 1", "pre": "w -= a_minus * o1"},
             {"post_trace": "o1 += 1", "post": "w += a_plus * r1"}),
    "nearest": ({"pre_trace": "r1 = 1", "pre": "w -= a_minus * o1"},
                {"post_trace": "o1 = 1", "post": "w += a_plus * r1"}),
    "triplet": ({"pre_trace": "r1 += 1",
                 "pre": "w -= o1 * (a2_minus + a3_minus * r2)\nr2 += 1"},
                {"post_trace": "o1 += 1",
                 "post": "w += r1 * (a2_plus + a3_plus * o2)\no2 += 1"}),
}


def _namespace(b2, params, kind):
    s = b2.second
    if kind == "triplet":
        p: TripletSTDP = params
        return dict(tau_plus=p.tau_plus * s, tau_minus=p.tau_minus * s, tau_x=p.tau_x * s,
                    tau_y=p.tau_y * s, a2_plus=p.a2_plus, a3_plus=p.a3_plus,
                    a2_minus=p.a2_minus, a3_minus=p.a3_minus)
    q: PairSTDP = params
    # r2, o2 are unused by pair rules; any positive time constant will do
    return dict(tau_plus=q.tau_plus * s, tau_minus=q.tau_minus * s, tau_x=1 * s,
                tau_y=1 * s, a_plus=q.a_plus, a_minus=q.a_minus)


def weight_changes(pairings: list[Pairing], params, kind: str = "pair", dt: float = 0.001,
                   target: str = "numpy") -> np.ndarray:
    """Weight change of each pairing's synapse, simulated by Brian2."""
    check_kind(kind, params)
    b2 = require("brian2")
    b2.prefs.codegen.target = target
    n = len(pairings)
    step = dt * b2.second
    idx = [np.full(len(p.pre), k) for k, p in enumerate(pairings)]
    pre = b2.SpikeGeneratorGroup(n, np.concatenate(idx),
                                 np.concatenate([p.pre for p in pairings]) * step, dt=step)
    idx = [np.full(len(p.post), k) for k, p in enumerate(pairings)]
    post = b2.SpikeGeneratorGroup(n, np.concatenate(idx),
                                  np.concatenate([p.post for p in pairings]) * step, dt=step)
    on_pre, on_post = _CODE[kind]
    syn = b2.Synapses(pre, post, _MODEL, on_pre=on_pre, on_post=on_post, dt=step,
                      namespace=_namespace(b2, params, kind), method="exact")
    syn.connect(j="i")
    for order, name in enumerate(("pre_trace", "post_trace", "pre", "post")):
        getattr(syn, name).order = order - 4  # all before any default pathway
    last = max(int(max(p.pre.max(initial=0), p.post.max(initial=0))) for p in pairings)
    b2.Network(pre, post, syn).run((last + 2) * step, namespace={})
    w = np.zeros(n)
    w[np.asarray(syn.i)] = np.asarray(syn.w)
    return w
