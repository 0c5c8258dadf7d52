"""Lava Processes of the neurolearn Lava backend: the stream source, a population
per layer, the fused network.

Each Process takes what it is built from as proc params: a layer's program
(:class:`neurolearn.backends.lava.lower.LayerProgram`), the stream
(:mod:`neurolearn.backends.lava.stream`) or, for the fused process, the whole
Program; never the spec. ``rec`` says where and when models record (None: no
recording); ``fault`` is a test hook (("exception" | "hang", step, who)).
"""

import numpy as np
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from neurolearn.backends.lava.phased import layer_step

# every population carries these state Vars (zeros where its model has none)
STATE_VARS = ("bias", "acc_bias", "vel_bias", "v", "current", "activity", "e_bar", "b_bar",
              "apical")


class StreamSource(AbstractProcess):
    """Sends the input x(t) (rates or spikes), the target y(t) and the control
    values (teach, apply, n_batch, epoch_end) of each step."""

    def __init__(self, *, stream, rec=None, fault=None, payload=1.0, **kwargs):
        super().__init__(stream=stream, rec=rec, fault=fault, payload=payload, **kwargs)
        self.s_out = OutPort(shape=(stream.n_in,))
        self.y_out = OutPort(shape=(stream.n_out,))
        self.c_out = OutPort(shape=(stream.n_ctrl,))
        self.step = Var(shape=(1,), init=0)


class Population(LearningNeuronProcess, AbstractProcess):
    """One layer's neurons (a plastic neuron Process: it sends its post factors on
    Lava's s_out_y1..s_out_y3 to its LearningDense). Ports: ``a_in`` from its
    LearningDense, ``fb_in`` from its feedback Dense, ``t_in`` targets, ``c_in``
    control; ``s_out`` forward payload, ``d_out`` signals down the feedback pathway;
    Lava's ``s_out_bap`` carries its spikes to the LearningDense (y0) when the rule
    has post_spike terms; ``g_out``/``g_in`` carry a reward task's (r, rpe) from the
    output population to the hidden ones within the step."""

    def __init__(self, *, layer, learning_rule=None, rec=None, fault=None, **kwargs):
        n = layer.size
        super().__init__(shape=(n,), learning_rule=learning_rule, layer=layer, rec=rec,
                         fault=fault, **kwargs)
        self.a_in = InPort(shape=(n,))
        self.fb_in = InPort(shape=(max(layer.n_fb, 1),))
        self.t_in = InPort(shape=(layer.n_out,))
        self.c_in = InPort(shape=(layer.n_ctrl,))
        self.s_out = OutPort(shape=(n,))
        self.d_out = OutPort(shape=(max(layer.n_down, 1),))
        # a reward task's (r, rpe) of the step, from the output population to the
        # hidden ones (connected and used only where the Program says so)
        self.g_in = InPort(shape=(2,))
        self.g_out = OutPort(shape=(2,))
        state = layer_step(layer).state()
        for name in STATE_VARS:
            init = state.get(name)
            setattr(self, name, Var(shape=(n,), init=np.zeros(n) if init is None
                                    else np.array(init, dtype=float)))


class FusedNetwork(AbstractProcess):
    """The whole network, stream included, in one process: the reference's Network
    under Lava's schedule, one network step per Lava step."""

    def __init__(self, *, program, stream, rec=None, fault=None, **kwargs):
        super().__init__(program=program, stream=stream, rec=rec, fault=fault, **kwargs)
        self.tick = OutPort(shape=(1,))
        self.step = Var(shape=(1,), init=0)
