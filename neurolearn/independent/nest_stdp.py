"""STDP protocols of :mod:`.stdp` in NEST (extra ``nest``), with NEST's own synapses:
``stdp_synapse`` (pair, all-to-all), ``stdp_nn_symm_synapse`` (nearest-neighbour,
symmetric) and ``stdp_triplet_synapse`` (Pfister & Gerstner, all-to-all).

Spikes come from spike_generators through parrot_neurons (NEST's idiom for imposed
spike times); the plastic synapse k connects pre parrot k to port 1 of post parrot k,
so post parrots do not repeat pre spikes. Post traces (tau_minus, tau_minus_triplet)
are parameters of the post parrot.

Conventions read from NEST's sources (models/stdp_synapse.h, stdp_nn_symm_synapse.h,
stdp_triplet_synapse.h, ArchivingNode; 3.x):

- Weight units: stdp_synapse and stdp_nn_symm_synapse update w/Wmax; with
  mu_plus = mu_minus = 0 the change is additive, Wmax lambda K+ and -Wmax alpha lambda
  K-. So lambda = a_plus / Wmax and alpha = a_minus / a_plus. Weights are clipped to
  [0, Wmax]; every synapse starts at Wmax / 2 far from both bounds.
- Updates happen only when a *pre* spike passes the synapse: facilitation by the post
  spikes since the last pre spike is applied at the next pre spike. Each pre train is
  therefore followed by one flush spike long after the protocol (its own depression is
  below 1e-30 of a pair's).
- Delay: the plastic synapse has a delay d of at least one step, all of it dendritic.
  NEST pairs a pre spike at t_pre with post spikes seen at the synapse at t_post + d:
  facilitation counts post spikes with t_post + d in (t_last_pre, t_pre], depression
  reads the post trace from post spikes strictly before t_pre - d. So NEST's weight
  change at a nominal interval dt_pair is the textbook one at dt_pair + d, and
  t_post + d = t_pre pairs neither way. ``compensate_delay=True`` sends each post spike
  d earlier, so that the synapse sees the nominal times: then NEST and the reference
  agree except at dt_pair = 0 (reference: a_plus - a_minus; NEST: 0).
- Grid: spike times are multiples of the resolution h (default dt); a spike generator
  time T reaches its parrot's output at T + h (delay h).
- stdp_nn_symm_synapse starts with t_lastspike = 0 and a pre trace of exp(-t/tau_plus)
  at the first post spike, as if a pre spike had come at t = 0. All NEST times are
  therefore shifted by a lead of 100 time constants (weight changes do not depend on
  the time origin, only on intervals).
"""

from __future__ import annotations

import numpy as np

from . import require
from .stdp import Pairing, PairSTDP, TripletSTDP, check_kind

MODELS = {"pair": "stdp_synapse", "nearest": "stdp_nn_symm_synapse",
          "triplet": "stdp_triplet_synapse"}


def synapse_params(params, kind: str, w0: float) -> tuple[dict, dict]:
    """(synapse parameters, post parrot parameters), times in ms."""
    ms = 1000.0
    if kind == "triplet":
        p: TripletSTDP = params
        return ({"tau_plus": p.tau_plus * ms, "tau_plus_triplet": p.tau_x * ms,
                 "Aplus": p.a2_plus, "Aplus_triplet": p.a3_plus, "Aminus": p.a2_minus,
                 "Aminus_triplet": p.a3_minus, "Wmax": 100.0 * w0, "weight": w0},
                {"tau_minus": p.tau_minus * ms, "tau_minus_triplet": p.tau_y * ms})
    q: PairSTDP = params
    if q.a_plus <= 0:
        raise ValueError("NEST's pair synapses scale depression by alpha = a_minus/a_plus: "
                         "a_plus must be positive")
    wmax = 2.0 * w0
    return ({"tau_plus": q.tau_plus * ms, "lambda": q.a_plus / wmax,
             "alpha": q.a_minus / q.a_plus, "mu_plus": 0.0, "mu_minus": 0.0, "Wmax": wmax,
             "weight": w0},
            {"tau_minus": q.tau_minus * ms})


def weight_changes(pairings: list[Pairing], params, kind: str = "pair", dt: float = 0.001,
                   resolution: float | None = None, delay: float | None = None,
                   compensate_delay: bool = False) -> np.ndarray:
    """Weight change of each pairing's synapse, simulated by NEST.

    ``resolution`` (s, default dt) is NEST's step; ``delay`` (s, default one NEST step)
    the plastic synapse's delay; spike times stay on the protocol's dt grid."""
    check_kind(kind, params)
    nest = require("nest")
    ms = 1000.0
    h = (resolution or dt) * ms
    d = (delay or resolution or dt) * ms
    ratio = dt * ms / h
    if abs(ratio - round(ratio)) > 1e-9 or abs(d / h - round(d / h)) > 1e-9:
        raise ValueError("dt and the delay must be multiples of NEST's resolution")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": h, "local_num_threads": 1, "print_time": False})
    n = len(pairings)
    w0 = 1.0
    syn, post_params = synapse_params(params, kind, w0)
    pre = nest.Create("parrot_neuron", n)
    post = nest.Create("parrot_neuron", n, params=post_params)
    gen_pre = nest.Create("spike_generator", n)
    gen_post = nest.Create("spike_generator", n)
    shift = d if compensate_delay else 0.0
    last = max(int(max(p.pre.max(initial=0), p.post.max(initial=0))) for p in pairings)
    lead = 100.0 * max(syn["tau_plus"], post_params["tau_minus"])
    flush = lead + last * dt * ms + lead
    want_pre, want_post = [], []
    for k, p in enumerate(pairings):
        t_pre = lead + np.round(p.pre * dt * ms / h) * h
        t_post = lead + np.round((p.post * dt * ms - shift) / h) * h
        want_pre.append(np.append(t_pre, flush))
        want_post.append(t_post)
        gen_pre[k].spike_times = (want_pre[-1] - h).tolist()
        gen_post[k].spike_times = (t_post - h).tolist()
    nest.Connect(gen_pre, pre, "one_to_one", {"delay": h})
    nest.Connect(gen_post, post, "one_to_one", {"delay": h})
    nest.Connect(pre, post, "one_to_one",
                 {"synapse_model": MODELS[kind], "receptor_type": 1, "delay": d, **syn})
    rec = nest.Create("spike_recorder")
    nest.Connect(pre + post, rec)
    nest.Simulate(flush + 2 * h)
    _check_times(rec.events, pre.tolist(), want_pre, "pre", h)
    _check_times(rec.events, post.tolist(), want_post, "post", h)
    conns = nest.GetConnections(pre, post, synapse_model=MODELS[kind])
    src = np.asarray(conns.source) - pre.tolist()[0]
    w = np.full(n, np.nan)
    w[src] = np.asarray(conns.weight, dtype=float)
    return w - w0


def _check_times(events, ids, want, side, h):
    senders, times = np.asarray(events["senders"]), np.asarray(events["times"])
    for k, gid in enumerate(ids):
        got = np.sort(times[senders == gid])
        if len(got) != len(want[k]) or np.abs(got - want[k]).max(initial=0) > 1e-6 * h:
            raise RuntimeError(f"NEST {side} parrot {k} spiked at {got[:5]} ms, "
                               f"not at the protocol's {np.asarray(want[k])[:5]} ms")
