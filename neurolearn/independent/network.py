"""One feedforward LIF network with pair STDP on every projection, built three ways:
the NumPy reference, Brian2 (numpy, cython or C++ standalone target) and NEST. Used by
benchmarks/bench_spiking_peers.py (speed) and tests/test_independent_network.py
(Brian2 with the summed current reproduces the reference's spikes and weights).

Network (sizes n_in-n_h-n_out, dt = 1 ms): Poisson inputs at seeded rates in [0, 40] Hz,
LIF layers (tau_rc 20 ms, tau_ref 2 ms, threshold 1) with the reference's input model
(a current-based synapse: I = unit-area low-pass with tau_syn = 10 ms of W s, J =
threshold + I + b), initial weights
U[0, w_max] (positive: NEST's STDP synapses keep the sign of Wmax) and a fixed offset b,
all-to-all pair STDP (tau 20 ms, a- = 1.05 a+) on both projections.

- Reference: neurolearn's time-stepped Network with the rule of
  neurolearn.independent.stdp.pair_rule, its changes applied every step (a schedule
  with ``apply = "step"``, as Brian2 and NEST apply them).
- Brian2: the conventions of neurolearn.independent.brian2_lif and brian2_stdp, plus
  the output layer's updates moved behind the hidden layer's threshold so that a hidden
  spike drives the output in the same step, as in the reference. With the usual
  ``current="event"`` (each spike deposits g w(t_spike) into a decaying current) it
  computes the reference's discrete system; ``"summed"`` (I = sum_j w_ij(t)
  x_hat_j(t), recomputed with the present weights) is what the reference computed
  before its synapse became current-based, and departs once weights move.
- NEST: iaf_psc_exp with the propagator conversion of neurolearn.independent.nest_lif and
  stdp_synapse (mu = 0, lambda and Wmax scaled to the converted weights). NEST's
  minimum delay puts one step between layers and its STDP pairs post spikes one step
  late (dendritic delay), so it runs the same network up to those delays: it is a
  speed peer, not an equivalence check.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from ..reference.params import Params
from ..reference.schedule import Schedule
from ..reference.simulator import Network as RefNetwork
from ..rules.ir import Data, Layer, Network, Neuron, Simulation, Spec, Training
from . import require
from .nest_lif import kappa
from .stdp import PairSTDP, pair_rule

DT, TAU_SYN, MAX_RATE = 0.001, 0.01, 200.0
NEURON = Neuron("lif", tau_rc=0.02, tau_ref=0.002, threshold=1.0, tau_syn=TAU_SYN)
PER_STEP = Schedule("per-step updates", apply="step")


def unit_area_gain(tau: float, dt: float, max_rate: float) -> float:
    """What one spike adds to the reference's synaptic current (unit-area filter)."""
    return -np.expm1(-dt / tau) / (dt * max_rate)
STDP = PairSTDP(a_plus=2e-5, a_minus=2.1e-5, tau_plus=0.02, tau_minus=0.02)


@dataclass
class Problem:
    sizes: tuple
    spikes_in: np.ndarray  # (steps, n_in)
    W: list  # [(n_h, n_in), (n_out, n_h)]
    b: list

    @property
    def steps(self):
        return self.spikes_in.shape[0]


def problem(sizes=(784, 256, 10), steps=1000, seed=0) -> Problem:
    rng = np.random.default_rng(seed)
    n_in, n_h, n_out = sizes
    rates = rng.uniform(0, 40, n_in)
    spikes = (rng.random((steps, n_in)) < rates * DT).astype(float)
    # mean drive about 0.4 above threshold at the mean rates: 20-60 Hz per neuron
    W1 = rng.uniform(0, 2 * 0.4 / (n_in * 20 / MAX_RATE), (n_h, n_in))
    W2 = rng.uniform(0, 2 * 0.4 / (n_h * 35 / MAX_RATE), (n_out, n_h))
    b = [np.full(n_h, -0.1), np.full(n_out, -0.1)]
    return Problem(tuple(sizes), spikes, [W1, W2], b)


# -- reference ------------------------------------------------------------------------
def reference(p: Problem, record=False):
    n_in, n_h, n_out = p.sizes
    layers = [Layer("input", n_in), Layer("hidden", n_h, NEURON, bias=False),
              Layer("output", n_out, NEURON, bias=False)]
    spec = Spec(name="bench_stdp", network=Network(layers=layers),
                rule=pair_rule(STDP), data=Data("digits"), training=Training(batch_size=1),
                simulation=Simulation(dt=DT, max_rate=MAX_RATE))
    t0 = time.perf_counter()
    net = RefNetwork(spec, params=Params([w.copy() for w in p.W], [v.copy() for v in p.b],
                                         {}), schedule=PER_STEP)
    y = np.zeros((1, n_out))
    build = time.perf_counter() - t0
    spikes = [[], []]
    t0, c0 = time.perf_counter(), time.process_time()
    for t in range(p.steps):
        _, _, s = net.step(p.spikes_in[t:t + 1], y)
        spikes[0].append(s[1][0])
        spikes[1].append(s[2][0])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"build_s": build, "run_wall_s": wall, "run_cpu_s": cpu,
           "spikes": [int(np.sum(s)) for s in spikes]}
    if record:
        out["spike_arrays"] = [np.asarray(s) for s in spikes]
        out["W"] = [w.copy() for w in net.params.W]
    return out


# -- Brian2 -----------------------------------------------------------------------------
_LIF_EVENT = """
dv/dt = (J - v) / tau_rc : 1 (unless refractory)
dI/dt = -I / tau_syn : 1
J = thr + (I + b) : 1 (constant over dt)
b : 1 (constant)
"""
_LIF_SUMMED = """
dv/dt = (J - v) / tau_rc : 1 (unless refractory)
I : 1
xh : 1
J = thr + (I + b) : 1 (constant over dt)
b : 1 (constant)
"""
_SYN = """
w : 1
dr1/dt = -r1 / tau_plus : 1 (event-driven)
do1/dt = -o1 / tau_minus : 1 (event-driven)
"""
CURRENTS = ("event", "summed")
# Brian2's code-generation targets: the runtime ones (Python drives every step) and
# C++ standalone (the whole run compiled into one binary, Brian2's fastest on a CPU)
BRIAN2_TARGETS = ("numpy", "cython", "cpp_standalone")


def brian2(p: Problem, target="numpy", current="event", record=False):
    """current = "event": each pre spike adds g w(t_spike) to an exponentially decaying
    current (Brian2's and NEST's usual synapse, and the reference's: I = low-pass(W s));
    a weight change does not touch the current already deposited. current = "summed":
    I = sum_j w_ij(t) x_hat_j(t), a summed variable over presynaptic traces, recomputed
    every step with the present weights, which departs once weights move.
    ``target``: one of BRIAN2_TARGETS; "cpp_standalone" builds the run in a temporary
    C++ project (removed afterwards) and times the loop the binary times itself."""
    if current not in CURRENTS:
        raise ValueError(f"current must be one of {CURRENTS}")
    if target not in BRIAN2_TARGETS:
        raise ValueError(f"target must be one of {BRIAN2_TARGETS}, got {target!r}")
    b2 = require("brian2")
    standalone = target == "cpp_standalone"
    if standalone:  # the whole run is generated as C++, compiled, then executed
        project = tempfile.mkdtemp(prefix="nl_brian2_standalone_")
        b2.set_device("cpp_standalone", directory=project, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0  # one thread, as the others
    else:
        b2.prefs.codegen.target = target
    try:
        return _brian2_build_and_run(b2, p, current, record,
                                     project if standalone else None)
    finally:
        if standalone:
            b2.device.reinit()
            b2.set_device("runtime")
            shutil.rmtree(project, ignore_errors=True)


def _brian2_build_and_run(b2, p, current, record, project):
    """Build and run the network; ``project``: the C++ standalone project directory
    (None: a runtime target)."""
    standalone = project is not None
    t0 = time.perf_counter()
    n_in, n_h, n_out = p.sizes
    dt = DT * b2.second
    dsyn = float(np.exp(-DT / TAU_SYN))
    ns = dict(tau_rc=NEURON.tau_rc * b2.second, tau_syn=TAU_SYN * b2.second,
              thr=NEURON.threshold, ginc=unit_area_gain(TAU_SYN, DT, MAX_RATE), dsyn=dsyn,
              tau_plus=STDP.tau_plus * b2.second, tau_minus=STDP.tau_minus * b2.second,
              a_plus=STDP.a_plus, a_minus=STDP.a_minus)
    n_ref = int(round(NEURON.tau_ref / DT))
    t_idx, i_idx = np.nonzero(p.spikes_in)
    summed = current == "summed"
    inp = b2.SpikeGeneratorGroup(n_in, i_idx, t_idx * dt, dt=dt, when="before_groups",
                                 order=0, name="inp")
    groups = [b2.NeuronGroup(n, _LIF_SUMMED if summed else _LIF_EVENT, threshold="v >= thr",
                             reset="v = 0" + ("\nxh += ginc" if summed else ""),
                             refractory=(n_ref + 1) * dt, method="exact", dt=dt,
                             namespace=ns, name=name)
              for n, name in ((n_h, "hid"), (n_out, "out"))]
    hid, out = groups
    for g, b in zip(groups, p.b):
        g.b = b
    extra = []
    if summed:
        # presynaptic traces x_hat: decay at the start of the step, add g at a spike
        xin = b2.NeuronGroup(n_in, "xh : 1", dt=dt, namespace=ns, name="xin")
        feed = b2.Synapses(inp, xin, on_pre="xh_post += ginc", dt=dt, namespace=ns,
                           name="feed")
        feed.connect(j="i")
        feed.pre.when, feed.pre.order = "before_groups", 1
        for g in (xin, hid):
            g.run_regularly("xh = xh * dsyn", when="start", order=0)
        extra = [xin, feed]
        sources = (xin, hid)
    else:
        sources = (inp, hid)
    syns = []
    for k, (src, tgt, W) in enumerate(zip(sources, groups, p.W)):
        on_pre = {"pre_trace": "r1 += 1", "pre": "w -= a_minus * o1"}
        model = _SYN
        if summed:
            model += "I_post = w * xh_pre : 1 (summed)\n"
        else:
            on_pre["current"] = "I_post += ginc * w"
        s = b2.Synapses(inp if (summed and k == 0) else src, tgt, model, dt=dt, namespace=ns,
                        method="exact", on_pre=on_pre,
                        on_post={"post_trace": "o1 += 1", "post": "w += a_plus * r1"},
                        name=f"syn{k}")
        if summed and k == 0:  # the summed variable reads x_hat from xin, spikes from inp
            s.variables.add_reference("xh_pre", xin, "xh", index="_presynaptic_idx")
        post, pre = np.meshgrid(np.arange(W.shape[0]), np.arange(W.shape[1]), indexing="ij")
        s.connect(i=pre.ravel(), j=post.ravel())
        s.w = W.ravel()
        for order, name in enumerate(("pre_trace", "post_trace", "pre", "post")):
            getattr(s, name).order = order - 4
        syns.append(s)
    if summed:
        first = next(iter(syns[0].summed_updaters.values()))
        first.when, first.order = "before_groups", 2
        hid.resetter["spike"].when, hid.resetter["spike"].order = "after_thresholds", 0
        second = next(iter(syns[1].summed_updaters.values()))
        second.when, second.order = "after_thresholds", 1
    else:
        syns[0].current.when, syns[0].current.order = "before_groups", 1
        syns[1].current.when, syns[1].current.order = "after_thresholds", 1
    hid.subexpression_updater.when, hid.subexpression_updater.order = "before_groups", 3
    # the output layer runs after the hidden threshold: a hidden spike drives it at once
    out.subexpression_updater.when, out.subexpression_updater.order = "after_thresholds", 2
    out.state_updater.when, out.state_updater.order = "after_thresholds", 3
    out.thresholder["spike"].when, out.thresholder["spike"].order = "after_thresholds", 4
    mons = [b2.SpikeMonitor(g) for g in groups]
    net = b2.Network(inp, *groups, *extra, *syns, *mons)
    if standalone:
        net.run(p.steps * dt, namespace={})  # recorded into the C++ project
        # build() has its own directory argument (default "output" in the cwd)
        b2.device.build(directory=project, compile=True, run=False, with_output=False)
        build = time.perf_counter() - t0
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        b2.device.run(directory=project, with_output=False)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # the binary times its own simulation loop (its start-up reads the arrays from
        # disk); its CPU time is the whole binary's, start-up included
        wall = b2.device._last_run_time
        cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
        extra_d = {"binary_wall_s": b2.device.timers["run_binary"]}
    else:
        net.run(0 * dt, namespace={})  # code generation (and compilation) happen here
        build = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        net.run(p.steps * dt, namespace={})
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        extra_d = {}
    counts = [int(len(m.t)) for m in mons]
    out_d = {"build_s": build, "run_wall_s": wall, "run_cpu_s": cpu, "spikes": counts,
             **extra_d}
    if record:
        arrs = []
        for m, n in zip(mons, (n_h, n_out)):
            a = np.zeros((p.steps, n))
            st = np.rint(np.asarray(m.t / b2.second) / DT).astype(int)
            a[st, np.asarray(m.i)] = 1.0
            arrs.append(a)
        out_d["spike_arrays"] = arrs
        Ws = []
        for s, W in zip(syns, p.W):
            M = np.zeros_like(W)
            M[np.asarray(s.j), np.asarray(s.i)] = np.asarray(s.w)
            Ws.append(M)
        out_d["W"] = Ws
    return out_d


# -- NEST ---------------------------------------------------------------------------------
def nest(p: Problem):
    nest = require("nest")
    t0 = time.perf_counter()
    n_in, n_h, n_out = p.sizes
    ms = 1000.0
    h = DT * ms
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": h, "local_num_threads": 1, "print_time": False})
    tau_m, tau_s = NEURON.tau_rc * ms, TAU_SYN * ms
    k = kappa(tau_m, tau_s, h)
    g = unit_area_gain(TAU_SYN, DT, MAX_RATE)
    scale = g * k  # reference weight -> NEST weight (gain 1)
    lif = dict(E_L=0.0, V_m=0.0, V_reset=0.0, V_th=NEURON.threshold, C_m=tau_m, tau_m=tau_m,
               tau_syn_ex=tau_s, tau_syn_in=tau_s, t_ref=NEURON.tau_ref * ms,
               tau_minus=STDP.tau_minus * ms)
    hid = nest.Create("iaf_psc_exp", n_h, params=lif)
    out = nest.Create("iaf_psc_exp", n_out, params=lif)
    hid.I_e = (NEURON.threshold + p.b[0]).tolist()
    out.I_e = (NEURON.threshold + p.b[1]).tolist()
    gens = nest.Create("spike_generator", n_in)
    parrots = nest.Create("parrot_neuron", n_in)
    t_idx, i_idx = np.nonzero(p.spikes_in)
    for j in range(n_in):  # one step of warm-up (NEST prepares its buffers) comes first
        gens[j].spike_times = ((t_idx[i_idx == j] + 1) * h).tolist()
    nest.Connect(gens, parrots, "one_to_one", {"delay": h})
    for src, tgt, W in ((parrots, hid, p.W[0]), (hid, out, p.W[1])):
        wn = W * scale
        wmax = 100.0 * wn.max()
        post, pre = np.meshgrid(np.arange(W.shape[0]), np.arange(W.shape[1]), indexing="ij")
        nest.Connect(np.asarray(src.tolist())[pre.ravel()],
                     np.asarray(tgt.tolist())[post.ravel()], "one_to_one",
                     {"synapse_model": "stdp_synapse", "weight": wn.ravel(),
                      "delay": np.full(W.size, h), "tau_plus": STDP.tau_plus * ms,
                      "lambda": STDP.a_plus * scale / wmax,
                      "alpha": STDP.a_minus / STDP.a_plus, "mu_plus": 0.0, "mu_minus": 0.0,
                      "Wmax": wmax})
    recs = [nest.Create("spike_recorder") for _ in range(2)]
    nest.Connect(hid, recs[0])
    nest.Connect(out, recs[1])
    nest.Simulate(h)
    build = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    nest.Simulate(p.steps * h)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    counts = [int(len(r.events["times"])) for r in recs]
    return {"build_s": build, "run_wall_s": wall, "run_cpu_s": cpu, "spikes": counts}
