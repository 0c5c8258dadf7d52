"""ProcessModels (float, CPU) of the neurolearn Lava backend.

Recording: ``rec`` is a dict {dir, steps, every, spike_steps, names}; models write
into .npy memmaps in ``dir`` made by the runner (``w_<i>.npy`` weights of layer i at
every ``every``-th step, ``out.npy`` output activity per step, ``spk_<i>.npy``
spikes of layer i for the first ``spike_steps`` steps), so nothing is read back
with Var.get() (one scalar per message). An exception inside a model writes its
traceback to ``dir/error-<model>.txt`` before Lava swallows it.
"""

import os
import time
import traceback

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.dense.models import (PyLearningDenseModelBitApproximate,
                                   PyLearningDenseModelFloat)

from neurolearn.reference.schedules import lava as sched

from neurolearn.backends.lava.procs.processes import FusedNetwork, Population, StreamSource


def _report(rec, who):
    path = os.path.join(rec["dir"], f"error-{who}.txt")
    with open(path, "w") as fh:
        fh.write(traceback.format_exc())


def _fault(params, step, who):
    fault = params.get("fault")
    if fault and fault[1] == step and fault[2] == who:
        if fault[0] == "exception":
            raise RuntimeError(f"injected fault in {who} at step {step}")
        time.sleep(10 ** 6)


class _Memmaps:
    """Lazily opened record files (opened inside the model's own OS process)."""

    def __init__(self, rec):
        self.rec = rec
        self.files = {}

    def __getitem__(self, name):
        if name not in self.files:
            self.files[name] = np.load(os.path.join(self.rec["dir"], name + ".npy"),
                                       mmap_mode="r+")
        return self.files[name]


@implements(proc=StreamSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyStreamSourceModel(PyLoihiProcessModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    g_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        p = self.proc_params
        try:
            t = self.time_step - 1
            _fault(p, self.time_step, "source")
            self.s_out.send(p["x"][t])
            self.y_out.send(p["y"][t])
            self.g_out.send(p["gate"][t:t + 1])
        except BaseException:
            _report(p["rec"], "source")
            raise


@implements(proc=Population, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyPopulationModel(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    fb_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    t_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    g_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    d_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y1_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y2_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y3_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        spec, i = proc_params["spec"], proc_params["index"]
        plans = sched.plan(spec, proc_params.get("precision", "float"))
        L = len(spec.network.layers) - 1
        self.pop = sched.Population(plans[i - 1], spec.network.layers[i].neuron,
                                    spec.simulation, i == L)
        self.i, self.is_out = i, i == L
        self.has_fb = plans[i - 1].feedback is not None
        self.mm = _Memmaps(proc_params["rec"])
        self.who = f"population{i}"

    def run_spk(self):
        p = self.proc_params
        try:
            _fault(p, self.time_step, self.who)
            a = self.a_in.recv()
            fb = self.fb_in.recv()
            target = self.t_in.recv()
            gate = self.g_in.recv()[0]
            s, d, ys = self.pop.step(a, fb if self.has_fb else 0.0, target, gate)
            self.s_out.send(s)
            self.d_out.send(d)
            self.y1_out.send(ys[0])
            self.y2_out.send(ys[1])
            self.y3_out.send(ys[2])
            rec, t = p["rec"], self.time_step - 1
            if self.is_out:
                self.mm["out"][t] = self.pop.activity
            if t < rec["spike_steps"]:
                self.mm[f"spk_{self.i}"][t] = s
        except BaseException:
            _report(p["rec"], self.who)
            raise


class _RecLearningDense:
    """Lava's LearningDense model, unchanged, plus weight export to a memmap.
    Selected through Loihi2SimCfg's exception map (no @implements: the parent
    model already implements LearningDense)."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.mm = _Memmaps(proc_params["rec"])
        self.who = f"dense{proc_params['layer']}"

    def run_spk(self):
        try:
            _fault(self.proc_params, self.time_step, self.who)
            super().run_spk()
        except BaseException:
            _report(self.proc_params["rec"], self.who)
            raise

    def run_lrn(self):
        try:
            super().run_lrn()
            rec = self.proc_params["rec"]
            if self.time_step % rec["every"] == 0:
                j = self.time_step // rec["every"] - 1
                self.mm[f"w_{self.proc_params['layer']}"][j] = self.weights
        except BaseException:
            _report(self.proc_params["rec"], self.who)
            raise


class PyRecLearningDenseModel(_RecLearningDense, PyLearningDenseModelFloat):
    """Float (floating_pt) LearningDense with weight export."""


class PyRecLearningDenseModelFixed(_RecLearningDense, PyLearningDenseModelBitApproximate):
    """Fixed-point (fixed_pt, bit-approximate) LearningDense with weight export."""


@implements(proc=FusedNetwork, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFusedNetworkModel(PyLoihiProcessModel):
    tick: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.net = sched.LavaScheduleNet(proc_params["spec"],
                                         precision=proc_params.get("precision", "float"))
        self.mm = _Memmaps(proc_params["rec"])

    def run_spk(self):
        p = self.proc_params
        try:
            _fault(p, self.time_step, "fused")
            t = self.time_step - 1
            fwd, _ = self.net.step(p["x"][t], p["y"][t], p["gate"][t])
            rec = p["rec"]
            self.mm["out"][t] = self.net.pops[-1].activity
            if t < rec["spike_steps"]:
                for i in range(1, len(fwd)):
                    self.mm[f"spk_{i}"][t] = fwd[i]
            if self.time_step % rec["every"] == 0:
                j = self.time_step // rec["every"] - 1
                for i, w in enumerate(self.net.W, start=1):
                    self.mm[f"w_{i}"][j] = w
        except BaseException:
            _report(p["rec"], "fused")
            raise
