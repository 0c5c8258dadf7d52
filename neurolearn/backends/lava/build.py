"""Build Lava processes from a Program and run them (imports lava: the child process
runs :func:`execute`; :mod:`.graph` builds the same processes in a user's
interpreter).

- ``stock``: a StreamSource; per layer a Population (a ``LearningNeuronProcess``)
  and a stock ``LearningDense`` with the layer's generated ``Loihi3FLearningRule``
  (a stock ``Dense`` for a layer that does not learn); a stock ``Dense`` per
  feedback pathway (the feedback matrix, block-diagonal when the pathway carries
  several signals). 1 + 2L + (pathways) processes. A settling spec in phases has
  instead a ``LearningDense`` per hidden layer holding the layer above's W^T (its
  "mirror", :mod:`.phased`).
- ``fused``: one FusedNetwork process (the reference's Network under the Program's
  schedule, the stream inside).
"""

from __future__ import annotations

import os
import time

import numpy as np
from lava.magma.core.learning.constants import GradedSpikeCfg
from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.models import PyDenseModelFloat
from lava.proc.dense.process import Dense, LearningDense

from .lower import GRADED_BITS
from .procs.models import (PyFusedNetworkModel, PyPopulationModel,
                           PyPopulationModelFixed, PyRecLearningDenseModel,
                           PyRecLearningDenseModelFixed, PyStreamSourceModel,
                           PyStreamSourceModelFixed)
from .procs.processes import FusedNetwork, Population, StreamSource


def learning_rule(lp) -> Loihi3FLearningRule:
    return Loihi3FLearningRule(**lp.rule())


def build_stock(program, stream, rec=None, fault=None):
    """(source, {layer name: {population, dense, feedback}}, exception map)."""
    src = StreamSource(stream=stream, rec=rec, fault=fault, name="source",
                       payload=program.source_payload)
    layers, pre = {}, src.s_out
    for lp in program.layers:
        rule = learning_rule(lp) if lp.plastic else None
        pop = Population(layer=lp, learning_rule=rule, rec=rec, fault=fault,
                         name=f"population_{lp.name}")
        bits = GRADED_BITS if lp.graded_in else 0
        if lp.plastic:
            conn = LearningDense(
                weights=lp.W0.copy(), learning_rule=rule, num_message_bits=bits,
                graded_spike_cfg=(GradedSpikeCfg.OVERWRITE if lp.graded_in
                                  else GradedSpikeCfg.USE_REGULAR_IMPULSE),
                rec=rec, layer=lp.index, fault=fault, name=f"dense_{lp.name}")
            pop.s_out_y1.connect(conn.s_in_y1)
            pop.s_out_y2.connect(conn.s_in_y2)
            pop.s_out_y3.connect(conn.s_in_y3)
            if lp.bap:
                pop.s_out_bap.connect(conn.s_in_bap)
        else:
            conn = Dense(weights=lp.W0.copy(), num_message_bits=bits, name=f"dense_{lp.name}")
        pre.connect(conn.s_in)
        conn.a_out.connect(pop.a_in)
        src.y_out.connect(pop.t_in)
        src.c_out.connect(pop.c_in)
        layers[lp.name] = {"population": pop, "dense": conn}
        pre = pop.s_out
    for lp in program.layers:
        if lp.mirror is not None:
            layers[lp.name]["mirror"] = _mirror(program, lp, layers, rec, fault)
    out = program.layers[-1]
    for lp in program.layers:
        if lp.reward_in:
            layers[out.name]["population"].g_out.connect(layers[lp.name]["population"].g_in)
    for lp in program.layers:
        if lp.B is not None:
            src_lp = program.layers[lp.fb_src - 1]
            fbd = Dense(weights=lp.B.copy(), num_message_bits=GRADED_BITS,
                        name=f"feedback_{lp.name}")
            layers[src_lp.name]["population"].d_out.connect(fbd.s_in)
            fbd.a_out.connect(layers[lp.name]["population"].fb_in)
            layers[lp.name]["feedback"] = fbd
    # fixed point: the learning synapses run Lava's fixed_pt engine; populations and
    # the feedback Dense stay float (module docstring of .lower)
    fixed = program.precision == "fixed"
    exceptions = {LearningDense: (PyRecLearningDenseModelFixed if fixed
                                  else PyRecLearningDenseModel),
                  StreamSource: PyStreamSourceModelFixed if fixed else PyStreamSourceModel,
                  Population: PyPopulationModelFixed if fixed else PyPopulationModel,
                  Dense: PyDenseModelFloat}
    return src, layers, exceptions


def _mirror(program, lp, layers, rec, fault):
    """The LearningDense of the layer above's W^T into layer lp (settling): fed by the
    upper population's payload, learning from lp's post factors."""
    m = lp.mirror
    up = layers[program.layers[m.index - 1].name]["population"]
    pop = layers[lp.name]["population"]
    if m.plastic:
        conn = LearningDense(weights=m.W0.copy(), learning_rule=learning_rule(m),
                             num_message_bits=GRADED_BITS,
                             graded_spike_cfg=GradedSpikeCfg.OVERWRITE, rec=rec,
                             layer=f"T{lp.index}", fault=fault, name=f"mirror_{lp.name}")
        pop.s_out_y1.connect(conn.s_in_y1)
        pop.s_out_y2.connect(conn.s_in_y2)
        pop.s_out_y3.connect(conn.s_in_y3)
    else:
        conn = Dense(weights=m.W0.copy(), num_message_bits=GRADED_BITS,
                     name=f"mirror_{lp.name}")
    (up.d_out if m.pre_port == "down" else up.s_out).connect(conn.s_in)
    conn.a_out.connect(pop.fb_in)
    return conn


def build_fused(program, stream, rec=None, fault=None):
    proc = FusedNetwork(program=program, stream=stream, rec=rec, fault=fault, name="fused")
    return proc, {"fused": {"network": proc}}, {FusedNetwork: PyFusedNetworkModel}


BUILDERS = {"stock": build_stock, "fused": build_fused}


def run_config(program, exceptions) -> Loihi2SimCfg:
    return Loihi2SimCfg(select_tag="fixed_pt" if program.precision == "fixed"
                        else "floating_pt", exception_proc_model_map=exceptions)


def count_processes(layers) -> int:
    return sum(len(v) for v in layers.values()) + (0 if "fused" in layers else 1)


def record_files(program, job_dir, n_steps, at, spike_steps) -> list[str]:
    """Create the record memmaps (models write into them); returns their names."""
    sizes, L = program.sizes, program.L
    shapes = {"out": (n_steps, sizes[-1]), "err": (n_steps, sizes[-1])}
    for l in range(1, L + 1):
        shapes[f"W_{l}"] = (len(at), sizes[l], sizes[l - 1])
        shapes[f"b_{l}"] = (len(at), sizes[l])
    for lp in program.layers:
        if lp.mirror is not None:
            shapes[f"W_T{lp.index}"] = (len(at), lp.size, lp.mirror.n_pre)
    if spike_steps:
        for l in range(L + 1):
            shapes[f"spk_{l}"] = (spike_steps, sizes[l])
    for name, shape in shapes.items():
        mm = np.lib.format.open_memmap(os.path.join(job_dir, name + ".npy"), "w+", float,
                                       shape)
        if name.startswith("W_T"):
            mm[:] = program.layers[int(name[3:]) - 1].mirror.W0
        elif name.startswith("W_") and program.variant == "stock":
            lp = program.layers[int(name[2:]) - 1]
            if not lp.plastic:  # a Dense that does not learn keeps its weights
                mm[:] = lp.W0
        mm.flush()
    return list(shapes)


def execute(job: dict) -> dict:
    """Build the job's Program over its stream, run it, return the run's figures."""
    program, stream = job["program"], job["stream"]
    steps = stream.steps
    at = list(job.get("record_steps", ()))
    spike_steps = min(steps, job.get("spike_steps", 0))
    rec = {"dir": job["dir"], "at": at, "spike_steps": spike_steps}
    names = record_files(program, job["dir"], steps, at, spike_steps)
    t0 = time.perf_counter()
    root, layers, exceptions = BUILDERS[program.variant](program, stream, rec,
                                                         job.get("fault"))
    cfg = run_config(program, exceptions)
    warmup = min(job.get("warmup", 0), steps - 1)
    t1 = time.perf_counter()
    if warmup:  # compile and start the runtime outside the timed part
        root.run(condition=RunSteps(num_steps=warmup), run_cfg=cfg)
    t_steady = time.perf_counter()
    root.run(condition=RunSteps(num_steps=steps - warmup), run_cfg=cfg)
    t2 = time.perf_counter()
    root.stop()
    t3 = time.perf_counter()
    return {"build_s": t1 - t0, "run_s": t2 - t1, "stop_s": t3 - t2,
            "processes": count_processes(layers),
            "steady_ms_per_step": 1000 * (t2 - t_steady) / (steps - warmup),
            "steps": steps, "records": names}
