"""Layer.bias_init: the initial bias, a fixed offset of the net input when the bias
does not learn; backends whose lowerings have no bias input refuse it by name."""

from dataclasses import replace

import numpy as np
import pytest

from neurolearn.errors import UnsupportedRule
from neurolearn.reference.params import init_params
from neurolearn.reference.simulator import Network as SimNet
from neurolearn.reference.trainer import BatchedTrainer
from neurolearn.rules import dumps, loads
from neurolearn.rules.ir import Data, Layer, Network, Neuron, Rule, Simulation, Spec


def _spec(model="sigmoid", offset=-0.5, bias=False):
    layers = [Layer("input", 2), Layer("hidden", 6, Neuron(model), bias=bias, bias_init=offset),
              Layer("output", 1, Neuron(model), bias=bias)]
    return Spec(name="off", network=Network(layers=layers), rule=Rule(builtin="delta"),
                data=Data(dataset="xor"), simulation=Simulation(dt=0.001, max_rate=40.0))


def test_bias_init_sets_the_initial_bias_and_round_trips():
    spec = _spec(offset=-0.25)
    p = init_params(spec.network, 0)
    assert np.all(p.b[0] == -0.25) and np.all(p.b[1] == 0.0)
    assert loads(dumps(spec)) == spec


def test_bias_init_must_be_finite():
    text = dumps(_spec()).replace("bias_init = -0.5", "bias_init = nan")
    with pytest.raises(Exception, match=r"network.layers\[1\].bias_init: must be a finite"):
        loads(text, source="off.toml")


def test_a_fixed_offset_stays_while_weights_learn():
    spec = _spec()
    tr = BatchedTrainer(spec)
    W0 = tr.params.W[0].copy()
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    for _ in range(5):
        tr.step(x, np.array([[1.0], [0.0]]))
    assert np.all(tr.params.b[0] == -0.5)  # bias = false: the offset does not learn
    assert not np.array_equal(tr.params.W[0], W0)


@pytest.mark.parametrize("offset, fires", [(0.5, True), (-0.5, False)])
def test_spiking_offset_moves_the_rheobase(offset, fires):
    # J = threshold + gain (I + b): with no input and no noise a neuron fires iff b > 0
    net = SimNet(_spec("lif", offset))
    assert net.neurons[1].noise == 0.0
    count = 0
    for _ in range(200):
        _, _, spikes = net.step(np.zeros((1, 2)), np.zeros((1, 1)), learn=False)
        count += spikes[1].sum()
    assert (count > 0) == fires


def test_lava_lowers_an_offset_as_the_populations_bias():
    # Lava's populations hold the bias as a Var (Loihi's compartment bias); the
    # emulator follows the reference with offsets to 1e-12 (tests/test_lava_emulator.py)
    from neurolearn.backends.lava import lower
    prog = lower(_spec("lif"))
    assert np.all(prog.layers[0].b0 == -0.5) and not prog.layers[0].bias_learns
    assert np.all(prog.layers[1].b0 == 0.0)


def test_quantized_refuses_a_fixed_offset_it_would_drop():
    from neurolearn.hardware.profile import load_profile
    from neurolearn.reference.quantized import QuantizedTrainer
    with pytest.raises(UnsupportedRule, match=r"bias_init = -0.5 with bias = false"):
        QuantizedTrainer(_spec(), profile=load_profile("loihi2"))


def test_nengo_honours_a_fixed_offset():
    pytest.importorskip("nengo")
    from neurolearn.backends import nengo as nb
    from neurolearn.reference.simulator import simulate
    spec = _spec("sigmoid")
    a = nb.simulate(spec, steps=400, record_every=100)
    b = simulate(spec, steps=400, record_every=100, schedule=nb.lower(spec).schedule)
    assert np.all(a.extra["params"].b[0] == -0.5)
    for k in b.weights:
        assert np.abs(a.weights[k] - b.weights[k]).max() <= 1e-12
    assert np.abs(a.outputs - b.outputs).max() <= 1e-12
