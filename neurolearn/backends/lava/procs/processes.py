"""Lava Process interfaces: the input stream, a population, the fused network.

Every Process passes ``rec`` (where and when to record, see models.py) and
optionally ``fault`` (test hook: ("exception"|"hang", step)) as proc params.
"""

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess


class StreamSource(AbstractProcess):
    """Sends the input x(t) (spikes or rates), the targets y(t) and the gate g(t)."""

    def __init__(self, *, x, y, gate, rec, fault=None, **kwargs):
        super().__init__(x=x, y=y, gate=gate, rec=rec, fault=fault, **kwargs)
        self.s_out = OutPort(shape=(x.shape[1],))
        self.y_out = OutPort(shape=(y.shape[1],))
        self.g_out = OutPort(shape=(1,))


class Population(AbstractProcess):
    """One layer of neurons computing its post factors (y1..y3 to LearningDense)."""

    def __init__(self, *, spec, index, rec, fault=None, precision="float", **kwargs):
        super().__init__(spec=spec, index=index, rec=rec, fault=fault,
                         precision=precision, **kwargs)
        n = spec.network.sizes[index]
        self.a_in = InPort(shape=(n,))
        self.fb_in = InPort(shape=(n,))
        self.t_in = InPort(shape=(spec.network.sizes[-1],))
        self.g_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=(n,))
        self.d_out = OutPort(shape=(n,))
        self.y1_out = OutPort(shape=(n,))
        self.y2_out = OutPort(shape=(n,))
        self.y3_out = OutPort(shape=(n,))


class FusedNetwork(AbstractProcess):
    """The whole network, stream included, in one process (one OS process per step
    instead of one per population and synapse)."""

    def __init__(self, *, spec, x, y, gate, rec, fault=None, precision="float", **kwargs):
        super().__init__(spec=spec, x=x, y=y, gate=gate, rec=rec, fault=fault,
                         precision=precision, **kwargs)
        self.tick = OutPort(shape=(1,))
