"""Build and run a Lava network (runs only inside the Lava child process).

Two lowerings of one spec, both under the schedule of
neurolearn.reference.schedules.lava:

- ``stock``: a StreamSource, per layer a Population (custom model computing the post
  factors) and a stock ``LearningDense`` whose Loihi3FLearningRule string is generated
  from the rule (checked by rulestring.check first), and a stock ``Dense`` per fixed
  feedback matrix. 2L + 1 + (#feedback) processes.
- ``fused``: one FusedNetwork process running the whole schedule per step.

A third network, ``plain``, is the benchmark's baseline: StreamSource, stock Dense
and stock LIF per layer, no learning.
"""

from __future__ import annotations

import os
import time

import numpy as np
from lava.magma.core.learning.constants import GradedSpikeCfg
from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense, LearningDense
from lava.proc.lif.process import LIF

from neurolearn.reference.params import init_params
from neurolearn.reference.schedules import lava as sched

from lava.proc.dense.models import PyDenseModelFloat

from .procs.models import (PyFusedNetworkModel, PyPopulationModel,
                           PyRecLearningDenseModel, PyRecLearningDenseModelFixed,
                           PyStreamSourceModel)
from .procs.processes import FusedNetwork, Population, StreamSource
from .rulestring import check

GRADED_BITS = 24  # graded payloads (rates, teaching signals) of a Dense


def _make_records(spec, rec, steps):
    sizes = spec.network.sizes
    L = len(sizes) - 1
    n_rec = steps // rec["every"]
    for i in range(1, L + 1):
        np.lib.format.open_memmap(os.path.join(rec["dir"], f"w_{i}.npy"), "w+",
                                  float, (n_rec, sizes[i], sizes[i - 1])).flush()
        np.lib.format.open_memmap(os.path.join(rec["dir"], f"spk_{i}.npy"), "w+",
                                  float, (rec["spike_steps"], sizes[i])).flush()
    np.lib.format.open_memmap(os.path.join(rec["dir"], "out.npy"), "w+", float,
                              (steps, sizes[-1])).flush()


def learning_rule(lp):
    dw = check(lp.rule_string(), where=f"layer {lp.index}")
    if lp.fixed:
        return Loihi3FLearningRule(dw=dw, x1_impulse=lp.impulse, x1_tau=int(lp.x_tau),
                                   x2_impulse=0, x2_tau=255, t_epoch=1,
                                   rng_seed=lp.rng_seed)
    return Loihi3FLearningRule(
        dw=dw, x1_impulse=1.0 if lp.spiking_in else 0.0, x1_tau=lp.x_tau,
        x2_impulse=0.0, x2_tau=sched.Y_TAU, t_epoch=1)  # y taus: 65535 (Loihi3F)


def build_stock(spec, x, y, g, rec, fault, precision="float"):
    plans = sched.plan(spec, precision)
    params = init_params(spec.network, spec.training.seed)
    spiking = spec.network.spiking
    src = StreamSource(x=x, y=y, gate=g, rec=rec, fault=fault)
    pops, pre = {}, src.s_out
    for lp in plans:
        l = lp.index
        pop = Population(spec=spec, index=l, rec=rec, fault=fault, precision=precision)
        W = params.W[l - 1]
        if lp.fixed:
            W = sched.fixed_weights(W, lp).astype(np.int32)
        bits = 0 if spiking else GRADED_BITS
        if lp.plastic:
            conn = LearningDense(
                weights=W.copy(), learning_rule=learning_rule(lp), num_message_bits=bits,
                graded_spike_cfg=(GradedSpikeCfg.USE_REGULAR_IMPULSE if spiking
                                  else GradedSpikeCfg.OVERWRITE),
                rec=rec, layer=l, fault=fault)
            pop.y1_out.connect(conn.s_in_y1)
            pop.y2_out.connect(conn.s_in_y2)
            pop.y3_out.connect(conn.s_in_y3)
        else:
            conn = Dense(weights=W.copy(), num_message_bits=bits)
            wm = np.load(os.path.join(rec["dir"], f"w_{l}.npy"), mmap_mode="r+")
            wm[:] = W
            wm.flush()
        pre.connect(conn.s_in)
        conn.a_out.connect(pop.a_in)
        src.y_out.connect(pop.t_in)
        src.g_out.connect(pop.g_in)
        pops[l] = pop
        pre = pop.s_out
    for lp in plans:
        if lp.feedback is not None:
            fbd = Dense(weights=params.B[lp.index].copy(), num_message_bits=GRADED_BITS)
            pops[lp.fb_src].d_out.connect(fbd.s_in)
            fbd.a_out.connect(pops[lp.index].fb_in)
    # fixed point: the learning synapses run Lava's fixed_pt engine; the fixed
    # feedback Dense and the populations stay float (not the learning engine)
    exceptions = {LearningDense: (PyRecLearningDenseModelFixed if precision == "fixed"
                                  else PyRecLearningDenseModel),
                  StreamSource: PyStreamSourceModel, Population: PyPopulationModel,
                  Dense: PyDenseModelFloat}
    return src, exceptions, 1 + 2 * len(plans) + sum(lp.feedback is not None
                                                     for lp in plans)


def build_fused(spec, x, y, g, rec, fault, precision="float"):
    proc = FusedNetwork(spec=spec, x=x, y=y, gate=g, rec=rec, fault=fault,
                        precision=precision)
    return proc, {FusedNetwork: PyFusedNetworkModel}, 1


def build_plain(spec, x, y, g, rec, fault, precision="float"):
    """Stock Dense + LIF, same sizes and weights, no learning (benchmark baseline)."""
    params = init_params(spec.network, spec.training.seed)
    src = StreamSource(x=x, y=y, gate=g, rec=rec, fault=fault)
    pre, n = src.s_out, 1
    for l, W in enumerate(params.W, start=1):
        d = Dense(weights=W.copy())
        lif = LIF(shape=(W.shape[0],), du=1.0, dv=0.05, vth=1.0)
        pre.connect(d.s_in)
        d.a_out.connect(lif.a_in)
        pre, n = lif.s_out, n + 2
    return src, {StreamSource: PyStreamSourceModel}, n


BUILDERS = {"stock": build_stock, "fused": build_fused, "plain": build_plain}


def execute(job: dict) -> dict:
    """Build ``job['lowering']`` over the job's stream, run it, return the records."""
    spec, x, y, g = job["spec"], job["x"], job["y"], job["gate"]
    steps = len(x)
    rec = dict(dir=job["dir"], every=job["record_every"],
               spike_steps=min(steps, job["spike_steps"]) if spec.network.spiking else 0)
    _make_records(spec, rec, steps)
    t0 = time.perf_counter()
    precision = job.get("precision", "float")
    root, exceptions, n_procs = BUILDERS[job["lowering"]](spec, x, y, g, rec,
                                                         job.get("fault"), precision)
    cfg = Loihi2SimCfg(select_tag="fixed_pt" if precision == "fixed" else "floating_pt",
                       exception_proc_model_map=exceptions)
    warmup = min(job.get("warmup", 0), steps - 1)
    t1 = time.perf_counter()
    if warmup:  # compile and start the runtime outside the timed part
        root.run(condition=RunSteps(num_steps=warmup), run_cfg=cfg)
    t_steady = time.perf_counter()
    root.run(condition=RunSteps(num_steps=steps - warmup), run_cfg=cfg)
    t2 = time.perf_counter()
    root.stop()
    t3 = time.perf_counter()
    return {"build_s": t1 - t0, "run_s": t2 - t1, "stop_s": t3 - t2, "processes": n_procs,
            "steady_ms_per_step": 1000 * (t2 - t_steady) / (steps - warmup),
            "steps": steps, "spike_steps": rec["spike_steps"]}
