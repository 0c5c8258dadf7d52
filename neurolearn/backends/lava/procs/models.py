"""ProcessModels (CPU) of the neurolearn Lava backend.

Recording: ``rec`` is None (no recording) or a dict {dir, at, spike_steps}: models
write into .npy memmaps in ``dir`` made by the runtime, ``W_<l>.npy`` weights of
layer l and ``b_<l>.npy`` its bias after the steps listed in ``at`` (0-based),
``out.npy``/``err.npy`` the output readout and error per step, ``spk_<l>.npy`` the
spike train (payload) of layer l for the first ``spike_steps`` steps (l = 0 the
input), so nothing is read back with Var.get() (one scalar per message). An
exception inside a model writes its traceback to ``dir/error-<who>.txt`` before
Lava swallows it.
"""

import os
import time
import traceback

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.neuron import LearningNeuronModelFloat
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.dense.models import (PyLearningDenseModelBitApproximate,
                                   PyLearningDenseModelFloat)

from neurolearn.backends.lava.phased import layer_step
from neurolearn.backends.lava.procs.processes import (STATE_VARS, FusedNetwork,
                                                      Population, StreamSource)


def _report(rec, who):
    if rec is None:
        return
    with open(os.path.join(rec["dir"], f"error-{who}.txt"), "w") as fh:
        fh.write(traceback.format_exc())


def _fault(params, step, who):
    fault = params.get("fault")
    if fault and fault[1] == step and fault[2] == who:
        if fault[0] == "exception":
            raise RuntimeError(f"injected fault in {who} at step {step}")
        time.sleep(10 ** 6)


class _Records:
    """Lazily opened record files (opened inside the model's own OS process)."""

    def __init__(self, rec):
        self.rec = rec
        self.at = {int(t): j for j, t in enumerate(rec["at"])} if rec else {}
        self.spike_steps = rec["spike_steps"] if rec else 0
        self.files = {}

    def __getitem__(self, name):
        if name not in self.files:
            self.files[name] = np.load(os.path.join(self.rec["dir"], name + ".npy"),
                                       mmap_mode="r+")
        return self.files[name]

    def __bool__(self):
        return self.rec is not None


@implements(proc=StreamSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyStreamSourceModel(PyLoihiProcessModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    c_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    step: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.cursor = proc_params["stream"].cursor()
        self.rec = _Records(proc_params["rec"])

    def run_spk(self):
        p = self.proc_params
        try:
            _fault(p, self.time_step, "source")
            t = self.time_step - 1
            x, y, ctrl = self.cursor.step()
            pay = p.get("payload", 1.0)
            self.s_out.send(x * pay if pay != 1.0 else x)
            self.y_out.send(y)
            self.c_out.send(ctrl)
            self.step[0] = self.time_step
            if self.rec and t < self.rec.spike_steps:
                self.rec["spk_0"][t] = x
        except BaseException:
            _report(p["rec"], "source")
            raise


@implements(proc=Population, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyPopulationModel(LearningNeuronModelFloat):
    """Runs :class:`neurolearn.backends.lava.population.LayerStep` (the reference's
    neuron classes and signal functions) and mirrors its state into the Vars."""
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    fb_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    t_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    c_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    d_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    acc_bias: np.ndarray = LavaPyType(np.ndarray, float)
    vel_bias: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    current: np.ndarray = LavaPyType(np.ndarray, float)
    activity: np.ndarray = LavaPyType(np.ndarray, float)
    e_bar: np.ndarray = LavaPyType(np.ndarray, float)
    b_bar: np.ndarray = LavaPyType(np.ndarray, float)
    apical: np.ndarray = LavaPyType(np.ndarray, float)
    g_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    g_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.lp = proc_params["layer"]
        self.pop = layer_step(self.lp)
        self.rec = _Records(proc_params["rec"])
        self.who = f"population{self.lp.index}"

    def run_spk(self):
        p, lp = self.proc_params, self.lp
        try:
            _fault(p, self.time_step, self.who)
            a = self.a_in.recv()
            fb = self.fb_in.recv()
            y = self.t_in.recv()
            ctrl = self.c_in.recv()
            glob = self.g_in.recv() if lp.reward_in else None
            s, d, ys = self.pop.step(a, fb[:lp.n_fb], y, ctrl, glob)
            if lp.reward_out:
                self.g_out.send(self.pop.glob_out())
            self.s_out.send(s)
            self.d_out.send(d if lp.n_down else np.zeros(1))
            if lp.bap:
                self.s_out_bap.send(self.pop.spikes.astype(bool))
            self.s_out_y1.send(ys[0])
            self.s_out_y2.send(ys[1])
            self.s_out_y3.send(ys[2])
            self.y1, self.y2, self.y3 = ys
            for name, value in self.pop.state().items():
                if name in STATE_VARS:
                    setattr(self, name, value.copy())
            self._record()
        except BaseException:
            _report(p["rec"], self.who)
            raise

    def _record(self):
        rec, t, lp = self.rec, self.time_step - 1, self.lp
        if not rec:
            return
        if lp.is_output:
            rec["out"][t] = self.pop.readout
            rec["err"][t] = self.pop.error
        if t < rec.spike_steps:
            rec[f"spk_{lp.index}"][t] = self.pop.spikes
        j = rec.at.get(t)
        if j is not None:
            rec[f"b_{lp.index}"][j] = self.pop.b


class PyStreamSourceModelFixed(PyStreamSourceModel):
    """The source of a fixed-point run: integer spike payloads (a fixed-point
    LearningDense shifts its integer dendritic sum)."""
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)


class PyPopulationModelFixed(PyPopulationModel):
    """A population of a fixed-point run: integer spike payloads."""
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)


class _RecLearningDense:
    """Lava's LearningDense model, unchanged, plus weight export to a memmap.
    Selected through Loihi2SimCfg's exception map (no @implements: the parent
    model already implements LearningDense)."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.rec = _Records(proc_params["rec"])
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
            j = self.rec.at.get(self.time_step - 1)
            if j is not None:
                self.rec[f"W_{self.proc_params['layer']}"][j] = self.weights
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
    """The reference's Network (neurolearn.reference.simulator) under the Program's
    schedule, driven by the stream's control values as the reference's runs drive
    it: begin_batch at every batch, apply after a whole batch, eta's decay after
    every pass."""
    tick: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    step: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        from neurolearn.reference.simulator import Network
        prog = proc_params["program"]
        self.prog = prog
        self.net = Network(prog.spec, params=prog.params.copy(), seed=prog.seed,
                           schedule=prog.schedule)
        self.cursor = proc_params["stream"].cursor()
        self.rec = _Records(proc_params["rec"])
        self.decay = prog.spec.training.lr_decay

    def run_spk(self):
        p = self.proc_params
        try:
            _fault(p, self.time_step, "fused")
            t = self.time_step - 1
            x, y, ctrl = self.cursor.step()
            net = self.net
            net.begin_batch(int(ctrl[2]))  # sets eta's share per plastic step
            if ctrl[4]:
                net.begin_example()
            readout, err, spikes = net.step(x[None, :], y[None, :], teach=bool(ctrl[0]))
            if ctrl[1] and net.schedule.apply == "batch":
                net.apply()
            if ctrl[3]:
                net.eta = [e * self.decay for e in net.eta]
            self.step[0] = self.time_step
            self._record(t, x, readout, err, spikes)
        except BaseException:
            _report(p["rec"], "fused")
            raise

    def _record(self, t, x, readout, err, spikes):
        rec, prog = self.rec, self.prog
        if not rec:
            return
        rec["out"][t] = readout[0]
        rec["err"][t] = err[0]
        if t < rec.spike_steps and spikes is not None:
            for l, s in enumerate(spikes):
                rec[f"spk_{l}"][t] = s[0]
        j = rec.at.get(t)
        if j is not None:
            for l in range(1, prog.L + 1):
                rec[f"W_{l}"][j] = self.net.params.W[l - 1]
                rec[f"b_{l}"][j] = self.net.params.b[l - 1]
