"""The compiled neuron steps (the ``jit`` extra, neurolearn/reference/kernels.py) give
the numpy steps' bits: an LIF soma step by step, and whole training runs of burst and
LIF networks whose burst layers run the compiled layer step; without numba, or
switched off, the numpy path runs and asking for the compiled one is a clear error."""

import sys
from dataclasses import replace
from types import MethodType, SimpleNamespace

import numpy as np
import pytest

from neurolearn.reference import kernels
from neurolearn.reference.burst import BurstAverages
from neurolearn.reference.neurons import LIF, BurstNeuron
from neurolearn.reference.simulator import Filter, run_seeds
from neurolearn.reference.simulator import Network as SimNetwork
from neurolearn.rules import load
from neurolearn.rules.ir import (Data, Layer, Network, Reward, Rule, Simulation, Spec,
                                 Training)
from neurolearn.rules.neurons import Neuron

from conftest import SPECS

needs_numba = pytest.mark.skipif(not kernels.available(),
                                 reason="numba not installed (the jit extra)")


def _lif_pair(shape, neuron):
    return LIF(neuron, shape[-1], 0.001, shape[:-1]), LIF(neuron, shape[-1], 0.001, shape[:-1])


def _exact_threshold(tau_rc=0.02, dt=0.001, J=2.0):
    """A threshold that a free neuron at v = 0 under current J reaches exactly in one
    step, (0 - J) decay + J: spiking at v >= threshold, not only above it, counts."""
    return float((0.0 - J) * np.exp(-dt / tau_rc) + J)


@needs_numba
def test_lif_step_compiled_is_the_numpy_step_bit_for_bit():
    """Currents below and above threshold, NaNs, refractory clamps (n_ref 2) and
    neurons that hit the threshold exactly after every clamp, over 600 steps of
    (3, 2, 40) neurons: spikes, potentials, release steps, step count."""
    rng = np.random.default_rng(7)
    neuron = Neuron("lif", threshold=_exact_threshold())
    numpy_lif, compiled = _lif_pair((3, 2, 40), neuron)
    assert numpy_lif.n_ref == 2
    exact = other = 0
    for step in range(600):
        J = rng.normal(0.3, 0.5, (3, 2, 40))
        J[rng.random(J.shape) < 0.01] = np.nan
        J[..., :5] = 2.0  # v = 0 -> exactly the threshold
        with kernels.use(False):
            want = numpy_lif.spike(J)
        with kernels.use(True):
            got = compiled.spike(J)
        assert got.dtype == bool and np.array_equal(got, want), step
        assert np.array_equal(compiled.v, numpy_lif.v, equal_nan=True), step
        assert np.array_equal(compiled.release, numpy_lif.release), step
        assert compiled.t == numpy_lif.t == step + 1
        exact += int(want[..., :5].sum())
        other += int(want[..., 5:].sum())
    assert exact > 1000 and other > 1000  # at and above threshold


@needs_numba
def test_currents_the_loop_does_not_take_go_the_numpy_way():
    """A broadcast current (one row for all copies) or a float32 one: not the loop's
    arrays, so the numpy step runs, with the numpy step's result."""
    neuron = Neuron("lif")
    for J in (np.linspace(0.0, 3.0, 40), np.linspace(0.0, 3.0, 40).astype(np.float32)):
        numpy_lif, other = _lif_pair((3, 40), neuron)
        assert not kernels.fits(J, other.v)
        for _ in range(30):
            with kernels.use(False):
                want = numpy_lif.spike(J)
            with kernels.use(True):
                got = other.spike(J)
            assert np.array_equal(got, want) and np.array_equal(other.v, numpy_lif.v)


def _burst_layer(neuron, shape, gain, noise, seed, dt=0.001):
    """What Network._burst_forward reads of a network: layer 1's burst neurons, burst
    averages, current and rate-estimate filters, bias (2 on the first 5 neurons, 0
    elsewhere), J's threshold offset (0), gain and noise (None: 1) and noise draws."""
    n, n_par = shape[-1], shape[:-1]
    bias = np.zeros(shape)
    bias[..., :5] = 2.0
    rng = np.random.default_rng(seed)
    net = SimpleNamespace(
        units=[None, BurstNeuron(neuron, n, dt, n_par, "random")],
        averages=[None, BurstAverages(n, dt, neuron.tau_avg, neuron.p_baseline, n_par)],
        xhat=[None, Filter(neuron.tau_syn, dt, 200.0, shape)],
        current=[None, Filter(neuron.tau_syn, dt, 200.0, shape)], b3=[bias],
        _J=[None, (np.zeros(shape), gain, noise, noise is not None)],
        noise=[None, lambda: rng.standard_normal(shape)])
    net._current = MethodType(SimNetwork._current, net)
    return net


@needs_numba
@pytest.mark.parametrize("gain,noise", [(None, None), (1.5, 0.3)], ids=["plain", "noisy"])
def test_burst_layer_step_compiled_is_the_numpy_step_bit_for_bit(gain, noise):
    """A burst layer's step from its filtered input, 800 steps of (2, 3, 30) neurons
    bursting at p = 0.6 (a burst spike falls due d_b steps after its event): the train,
    events, bursts, P_bar, net input, the current, the soma, the due burst spikes, the
    averages and the rate estimate. Without gain and noise, the first 5 neurons get
    J = 0 + 2 exactly (no input, bias 2) and hit the threshold exactly after every
    clamp; with them, J = gain * net + noise * z."""
    neuron = Neuron("burst", tau_ref=0.002, burst_window=0.004, tau_avg=0.05,
                    threshold=_exact_threshold())
    shape = (2, 3, 30)
    const = [None if c is None else np.full(shape, c) for c in (gain, noise)]
    numpy_net, compiled = (_burst_layer(neuron, shape, *const, seed=5) for _ in range(2))
    rng, draws = np.random.default_rng(3), np.random.default_rng(4)
    bursts = exact = 0
    for step in range(800):
        a = rng.normal(0.5, 1.0, shape)
        a[..., :5] = 0.0
        u = draws.random(shape)
        out = []
        for net, on in ((numpy_net, False), (compiled, True)):
            with kernels.use(on):
                s, E, B, ev, pbar, net_in = SimNetwork._burst_forward(net, 1, a)
            unit = net.units[1]
            unit.schedule_bursts(ev, np.full(shape, 0.6), lambda: u, mask=ev)
            out.append((s, E, B, ev, pbar, net_in, net.current[1].x, unit.soma.v,
                        unit.soma.release, unit.soma.t, unit.due, net.averages[1].E_bar,
                        net.averages[1].B_bar, net.xhat[1].x))
        for want, got in zip(*out):
            assert np.array_equal(np.asarray(got), np.asarray(want)), step
        assert out[1][0].dtype == float and out[1][3].dtype == bool
        bursts += int(out[0][2].sum())
        exact += int(out[0][1][..., :5].sum())
    assert bursts > 100  # burst spikes fell due, and were told from events
    assert exact > 100 or gain is not None


def _burst(draw):
    spec = load(SPECS / "burstprop_xor.toml")
    layers = [spec.network.layers[0]] + [
        replace(layer, neuron=replace(layer.neuron, burst_draw=draw))
        for layer in spec.network.layers[1:]]
    return spec.with_(network=replace(spec.network, layers=layers))


def _stdp_lif():
    lif = Neuron("lif", noise=0.2)
    return Spec(name="stdp", network=Network(layers=[
        Layer("i", 64), Layer("h", 30, lif, bias=False), Layer("o", 10, lif, bias=False)]),
        rule=Rule(builtin="rstdp", eta=0.5), data=Data("digits", n_train=12, n_test=10),
        training=Training(seed=0, batch_size=3),
        simulation=Simulation(t_example=0.02, teach=0.5, encoding="poisson", max_rate=200.0),
        reward=Reward(selection="epsilon_greedy", delay=0.002))


def _digest(results):
    return [([w.tobytes() for w in r.weights],
             {k: v for k, v in r.history.items() if k != "seconds"},
             r.extra["test_readout"]) for r in results]


@needs_numba
@pytest.mark.parametrize("make,epochs", [(lambda: _burst("regular"), 3),
                                         (lambda: _burst("random"), 3),
                                         (_stdp_lif, 2)],
                         ids=["burst-regular", "burst-random", "lif-rstdp"])
def test_training_runs_compiled_are_the_numpy_runs_bit_for_bit(make, epochs, monkeypatch):
    """Two seeds as copies, trained and evaluated: weights, history (accuracy, loss,
    spike counts) and the test readout the same bits with the compiled steps as with
    numpy; the compiled steps are counted, so the comparison is not numpy's twice."""
    spec = make()
    with kernels.use(False):
        want = _digest(run_seeds(spec, [0, 1], epochs=epochs, quiet=True))
    calls = {"lif": 0, "burst": 0}

    def counted(name, fn):
        def wrapper(*args):
            calls[name] += 1
            return fn(*args)
        return wrapper

    monkeypatch.setattr(kernels, "lif_spike", counted("lif", kernels.lif_spike))
    monkeypatch.setattr(kernels, "burst_layer", counted("burst", kernels.burst_layer))
    with kernels.use(True):
        got = _digest(run_seeds(spec, [0, 1], epochs=epochs, quiet=True))
    assert calls["lif"] > 0  # LIF layers, or burst somata in evaluation
    if spec.name != "stdp":
        assert calls["burst"] > 0
    assert got == want


def test_without_numba_the_numpy_path_runs_and_asking_for_jit_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # as if not installed
    monkeypatch.setitem(kernels._state, "on", None)
    assert not kernels.available() and not kernels.active()
    with pytest.raises(ImportError, match=r"pip install 'neurolearn\[jit\]'"):
        with kernels.use(True):
            pass
    lif = LIF(Neuron("lif"), 4, 0.001)
    J = np.full((1, 4), 5.0)
    spikes = [lif.spike(J) for _ in range(20)]  # numpy's step
    assert any(s.all() for s in spikes) and lif.release.max() > 0


def test_the_environment_switches_the_compiled_steps_off(monkeypatch):
    monkeypatch.setenv(kernels.ENV, "0")
    monkeypatch.setitem(kernels._state, "on", None)
    assert not kernels.active()
