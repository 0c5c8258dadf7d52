"""The two-choice reward task (:mod:`.rstdp_task`) in NEST (extra ``nest``), learning
with NEST's own ``stdp_dopamine_synapse``.

Everything but the plasticity is the reference's, converted with the conventions of
:mod:`.nest_lif` and :mod:`.rstdp`: the same stream (example order, regular encoding),
``iaf_psc_exp`` action neurons computing the reference's LIF (weights scaled by
S = kappa g_syn; inputs through parrot neurons, one more step of delay, so NEST's step
t + K0 is the reference's step t), the same action selection and reward
(:class:`neurolearn.backends.brian2.task.Task`, fed with the readout the reference
would compute from NEST's spikes), and the reference's evaluation of the learned
weights.

The learning rule is NEST's: each action's synapses are a copy of
``stdp_dopamine_synapse`` with their own volume transmitter (only the selected
action's synapses receive its reward prediction error, as ``post.error_drive`` does
under ``loss = "reward"``); the eligibility c is NEST's pair STDP (A_minus = 0.5
A_plus, tau_plus = tau_minus = 20 ms, tau_c = the spec's tag tau); the third factor is
the dopamine trace n - b. A dopamine parrot per action fires once per step with
multiplicity m0 (tonic) plus round(M delta) on plastic steps of the selected action,
delta = (r - Q(a)) f' being the reference's drive of that step; with tau_n = one step
and b = m0 / h, n - b integrates to 0 over a tonic step and to round(M delta) over a
phasic one, so NEST's weight change per step is c round(M delta), and
A_plus = S eta / (n_teach M) makes it the reference's eta tag delta / n_teach.
Differences from the reference, by construction: NEST changes weights at once (the
reference at the example's end), delta arrives two steps after the step it is
computed from and is quantised to 1/M, and NEST pairs spikes across its one-step
dendritic delay.
"""

from __future__ import annotations

import time

import numpy as np

from ..data import load_dataset
from ..reference.params import Params, init_params
from ..reference.signals import output_drive
from ..reference.simulator import Encoder, evaluate, teach_steps
from ..reference.stream import example_order, steps_per_example
from . import require
from .nest_lif import kappa
from .rstdp_task import Curve, _points, with_seed

K0 = 3      # NEST steps before the reference's step 0 (inputs pass a parrot)
M = 100     # dopamine spikes per unit of delta
M0 = 100    # tonic dopamine spikes per step


def _check(spec):
    net = spec.network
    if len(net.layers) != 2 or spec.training.loss != "reward" or spec.reward is None:
        raise ValueError("the NEST task runs an input layer and one LIF action layer "
                         "with training.loss = 'reward' and a [reward] table")
    tag = spec.rule.resolved_tag()
    if tag is None or spec.training.batch_size != 1:
        raise ValueError("the NEST task needs a rule with a tag and batch_size = 1")


def nest_curve(spec, seed: int = 0, every: int = 54, epochs: int | None = None) -> Curve:
    """NEST's run of the task, a point every ``every`` examples (module docstring)."""
    from ..backends.brian2.task import Task
    _check(spec)
    nest = require("nest")
    spec = with_seed(spec, seed)
    epochs = spec.training.epochs if epochs is None else epochs
    net, sim = spec.network, spec.simulation
    ds = load_dataset(spec.data, seed)
    n, n_in, n_out = len(ds.x_train), net.sizes[0], net.sizes[1]
    k, n_teach = steps_per_example(sim), teach_steps(sim)
    lif = net.layers[1].neuron
    ms = 1000.0
    h = sim.dt * ms
    d_syn = np.exp(-sim.dt / lif.tau_syn)
    g_syn = (1.0 - d_syn) / (sim.dt * sim.max_rate)
    S = g_syn * kappa(lif.tau_rc * ms, lif.tau_syn * ms, h)
    params = init_params(net, seed)

    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": h, "local_num_threads": 1, "print_time": False,
                          "rng_seed": seed + 1})
    tau_m = lif.tau_rc * ms
    out = nest.Create("iaf_psc_exp", n_out, params={
        "E_L": 0.0, "V_m": 0.0, "V_reset": 0.0, "V_th": float(lif.threshold), "C_m": tau_m,
        "tau_m": tau_m, "tau_syn_ex": lif.tau_syn * ms, "tau_syn_in": lif.tau_syn * ms,
        "t_ref": round(lif.tau_ref / sim.dt) * h, "I_e": 0.0,
        "tau_minus": _taus(spec.rule.resolved_tag())[1] * ms})
    gens = nest.Create("spike_generator", n_in)
    inp = nest.Create("parrot_neuron", n_in)
    nest.Connect(gens, inp, "one_to_one", {"delay": h})
    rec = nest.Create("spike_recorder")
    nest.Connect(out, rec)
    # the synaptic current, for the surrogate f' = [I > 0] of the drive
    meter = nest.Create("multimeter", params={"record_from": ["I_syn_ex", "I_syn_in"],
                                              "interval": h})
    nest.Connect(meter, out)
    tag = spec.rule.resolved_tag()
    a_plus = S * spec.rule.eta / (n_teach * M)
    a_minus = a_plus * _depression_ratio(tag)
    dopa_gen, conns = [], []
    for a in range(n_out):
        g = nest.Create("spike_generator")
        parrot = nest.Create("parrot_neuron")
        vt = nest.Create("volume_transmitter", params={"deliver_interval": 1})
        nest.Connect(g, parrot, syn_spec={"delay": h})
        nest.Connect(parrot, vt, syn_spec={"delay": h})
        model = f"nl_dopa_{a}"
        nest.CopyModel("stdp_dopamine_synapse", model, {
            "volume_transmitter": vt, "A_plus": a_plus, "A_minus": a_minus,
            "tau_plus": _taus(tag)[0] * ms, "tau_c": tag.tau * ms, "tau_n": h,
            "b": M0 / h, "Wmin": -1e6, "Wmax": 1e6})
        nest.Connect(inp, out[a:a + 1], "all_to_all",
                     {"synapse_model": model, "delay": h,
                      "weight": (params.W[0][a] * S)[None, :]})
        conns.append(nest.GetConnections(inp, out[a:a + 1], synapse_model=model))
        dopa_gen.append(g)
    src0 = inp.tolist()[0]
    order = [np.argsort(np.asarray(c.source) - src0) for c in conns]

    def weights() -> Params:
        W = np.stack([np.asarray(c.get("weight"), dtype=float)[o] / S
                      for c, o in zip(conns, order)])
        return Params([W], [np.zeros(n_out)], {})

    task = Task(spec, seed, n_teach)
    ex_order = example_order(n, epochs * n, seed)
    # the inputs do not depend on the network: the whole stream is scheduled at once
    # (a generator spike at (t + K0 - 2) h reaches the action neurons at NEST step t + K0)
    enc = Encoder(sim, n_in, seed)
    times = [[] for _ in range(n_in)]
    for e, idx in enumerate(ex_order):
        tt, jj = np.nonzero(enc(np.broadcast_to(ds.x_train[idx:idx + 1], (k, n_in))))
        for t, j in zip(tt + e * k + K0 - 2, jj):
            times[j].append(t * h)
    gens.set([{"spike_times": ts} for ts in times])
    xh = np.zeros(n_out)
    pending = [None] * n_out   # a dopamine spike set but not yet emitted, per action
    nest.Simulate(K0 * h)
    out.I_e = [float(lif.threshold)] * n_out
    curve = Curve("nest", seed)
    curve.examples.append(0)
    curve.accuracy.append(float(evaluate(spec, weights(), ds.x_test, ds.y_test,
                                         seed=seed)[1]))
    curve.rewarded.append(float("nan"))
    points = set(_points(n, epochs, every))
    got = shown = 0
    t0 = time.perf_counter()
    first_out = out.tolist()[0]

    def now_step() -> int:   # the reference step NEST is about to compute
        return int(round(nest.biological_time / h)) - K0

    for e, idx in enumerate(ex_order, start=1):
        y = ds.y_train[idx:idx + 1]
        t_start = now_step()
        settle = k - n_teach
        for a in range(n_out):
            times = [(s + K0 + 2) * h for s in range(t_start, t_start + settle)]
            mult = [M0] * settle
            if pending[a] is not None:
                times, mult = [pending[a][0]] + times, [pending[a][1]] + mult
            dopa_gen[a].set(spike_times=times, spike_multiplicities=mult)
            pending[a] = None
        task.begin_example()
        rec.n_events = 0
        nest.Simulate(settle * h)
        fired = _fired(rec, first_out, h, t_start, settle, n_out)
        for s in range(settle):
            xh = d_syn * xh + g_syn * fired[s]
            task(xh[None], y, xh[None] - y, False)
        for s in range(settle, k):
            rec.n_events = 0
            meter.n_events = 0
            nest.Simulate(h)
            xh = d_syn * xh + g_syn * _fired(rec, first_out, h, t_start + s, 1, n_out)[0]
            _, teacher = task(xh[None], y, xh[None] - y, True)
            ev = meter.events
            cur = np.zeros(n_out)
            np.add.at(cur, np.asarray(ev["senders"], dtype=np.int64) - first_out,
                      np.asarray(ev["I_syn_ex"]) + np.asarray(ev["I_syn_in"]))
            fp = cur > 0
            delta = output_drive(teacher, fp[None].astype(float), "reward")[0]
            when = (t_start + s + K0 + 2) * h
            for a in range(n_out):
                m = M0 + int(np.clip(np.rint(M * delta[a]), -M0, None))
                dopa_gen[a].set(spike_times=[when], spike_multiplicities=[m])
                pending[a] = (when, m)
        got += int(task.rewards[-1] == spec.reward.correct)
        shown += 1
        if e in points:
            curve.examples.append(e)
            curve.accuracy.append(float(evaluate(spec, weights(), ds.x_test, ds.y_test,
                                                 seed=seed)[1]))
            curve.rewarded.append(got / shown)
            got = shown = 0
    curve.seconds = time.perf_counter() - t0
    curve.extra = {"S": S, "A_plus": a_plus, "A_minus": a_minus}
    return curve


def _fired(rec, first, h, t_start, steps, n_out) -> np.ndarray:
    """(steps, n_out) 0/1 spikes of reference steps t_start.. from the recorder (a
    spike stamped T is the reference's step T/h - 1 - K0)."""
    ev = rec.events
    s = np.rint(np.asarray(ev["times"]) / h).astype(np.int64) - 1 - K0 - t_start
    out = np.zeros((steps, n_out))
    ok = (s >= 0) & (s < steps)
    out[s[ok], np.asarray(ev["senders"], dtype=np.int64)[ok] - first] = 1.0
    return out


def _depression_ratio(tag) -> float:
    """A_minus / A_plus of a pair-STDP tag (post_spike +A_plus pre trace, pre_spike
    -A_minus post trace), as NEST's eligibility takes it."""
    plus = [t for t in tag.terms if t.when == "post_spike"]
    minus = [t for t in tag.terms if t.when == "pre_spike"]
    if len(plus) != 1 or len(minus) != 1 or len(tag.terms) != 2:
        raise ValueError("NEST's eligibility is pair STDP: the tag must have one "
                         "post_spike and one pre_spike term")
    return -minus[0].coeff / plus[0].coeff


def _taus(tag) -> tuple[float, float]:
    """(tau_plus, tau_minus) of a pair-STDP tag (s)."""
    (plus,) = [t for t in tag.terms if t.when == "post_spike"]
    (minus,) = [t for t in tag.terms if t.when == "pre_spike"]
    return plus.factors[0].tau, minus.factors[0].tau
