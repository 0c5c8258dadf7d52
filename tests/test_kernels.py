"""The compiled steps (the ``jit`` extra, neurolearn/reference/kernels.py) give the
numpy steps' bits: an LIF soma and a burst layer step by step, spike-triggered terms
and their sparse application call by call, and whole training runs of burst and LIF
networks (burstprop, reward-STDP, pair, nearest, triplet and weight-dependent STDP,
copies with their own rates); without numba, or switched off, the numpy path runs and
asking for the compiled one is a clear error."""

import sys
from dataclasses import replace
from types import MethodType, SimpleNamespace

import numpy as np
import pytest

from neurolearn.reference import kernels
from neurolearn.reference.burst import BurstAverages
from neurolearn.reference.neurons import LIF, BurstNeuron
from neurolearn.reference.simulator import Filter, run_members, run_seeds
from neurolearn.reference.simulator import Network as SimNetwork
from neurolearn.reference.terms import CompiledTerm, add_sparse
from neurolearn.rules import load
from neurolearn.rules.ir import (Data, Factor, Layer, Network, Reward, Rule, Simulation,
                                 Spec, Term, Training)
from neurolearn.rules.neurons import Burst, Neuron

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


def _layer(neuron, shape, gain, noise, seed, burst: bool, dt=0.001):
    """What Network._burst_forward (``burst``) or _forward_spiking's LIF branch reads
    of a network: layer 1's burst neurons and burst averages (or LIF neurons), current
    and rate-estimate filters, bias (2 on the first 5 neurons, 0 elsewhere), J's
    threshold offset (0), gain and noise (None: 1) and noise draws."""
    n, n_par = shape[-1], shape[:-1]
    bias = np.zeros(shape)
    bias[..., :5] = 2.0
    rng = np.random.default_rng(seed)
    net = SimpleNamespace(
        units=[None, BurstNeuron(neuron, n, dt, n_par, "random") if burst
               else LIF(neuron, n, dt, n_par)],
        averages=[None, BurstAverages(n, dt, neuron.tau_avg, neuron.p_baseline, n_par)
                  if burst else None],
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
    numpy_net, compiled = (_layer(neuron, shape, *const, 5, True) for _ in range(2))
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


@needs_numba
@pytest.mark.parametrize("gain,noise", [(None, None), (1.5, 0.3)], ids=["plain", "noisy"])
def test_lif_layer_step_compiled_is_the_numpy_step_bit_for_bit(gain, noise):
    """A plain LIF layer's step from its filtered input (kernels.lif_layer against
    _forward_spiking's numpy branch: Network._current, LIF.spike, the rate estimate),
    800 steps of (2, 3, 30) neurons, the first 5 hitting the threshold exactly after
    every clamp when there is no gain or noise: spikes, net input, current, potential,
    release steps and the rate estimate."""
    neuron = Neuron("lif", tau_ref=0.002, threshold=_exact_threshold())
    shape = (2, 3, 30)
    const = [None if c is None else np.full(shape, c) for c in (gain, noise)]
    numpy_net, compiled = (_layer(neuron, shape, *const, 5, False) for _ in range(2))
    rng = np.random.default_rng(3)
    exact = 0
    for step in range(800):
        a = rng.normal(0.5, 1.0, shape)
        a[..., :5] = 0.0
        out = []
        for net, on in ((numpy_net, False), (compiled, True)):
            thr, g, z, noisy = net._J[1]
            if on:
                with kernels.use(True):
                    E, net_in = kernels.lif_layer(net.units[1], net.xhat[1], net.current[1],
                                                  net.b3[0], a, thr, g, z,
                                                  net.noise[1]() if noisy else None)
            else:
                with kernels.use(False):
                    net_in, J = net._current(1, a)
                    E = net.units[1].spike(J).astype(float)
                    net.xhat[1](E)
            unit = net.units[1]
            out.append((E, net_in, net.current[1].x, unit.v, unit.release, unit.t,
                        net.xhat[1].x))
        for want, got in zip(*out):
            assert np.array_equal(np.asarray(got), np.asarray(want)), step
        exact += int(out[0][0][..., :5].sum())
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


def _stdp(builtin=None, terms=None, eta=0.5):
    """An LIF network trained by an STDP rule alone (no teacher), 5 presentations of
    20 ms per batch."""
    lif = Neuron("lif", noise=0.2)
    rule = Rule(builtin=builtin, eta=eta) if builtin else Rule(name="w_stdp", eta=eta,
                                                                terms=terms)
    return Spec(name="stdp_" + rule.name, network=Network(layers=[
        Layer("i", 64), Layer("h", 30, lif, bias=False), Layer("o", 10, lif, bias=False)]),
        rule=rule, data=Data("digits", n_train=10, n_test=10),
        training=Training(seed=0, batch_size=5),
        simulation=Simulation(t_example=0.02, encoding="poisson", max_rate=200.0))


# weight-dependent pair STDP: potentiation a+ (1 - w)-free, depression -a- w y_post
# (a syn factor: the compiled terms multiply by the weight entry, as numpy's gather)
_W_STDP = [Term([Factor("pre", "spike_trace", 0.02)], 1.0, "post_spike"),
           Term([Factor("post", "spike_trace", 0.02), Factor("syn", "w")], -1.05,
                "pre_spike")]


def _digest(results):
    return [([w.tobytes() for w in r.weights],
             {k: v for k, v in r.history.items() if k != "seconds"},
             r.extra["test_readout"]) for r in results]


@needs_numba
@pytest.mark.parametrize("make,epochs", [(lambda: _burst("regular"), 3),
                                         (lambda: _burst("random"), 3),
                                         (_stdp_lif, 2),
                                         (lambda: _stdp("stdp"), 2),
                                         (lambda: _stdp("stdp_nearest"), 2),
                                         (lambda: _stdp("triplet_stdp", eta=50.0), 2),
                                         (lambda: _stdp(terms=_W_STDP), 2)],
                         ids=["burst-regular", "burst-random", "lif-rstdp", "stdp",
                              "stdp-nearest", "stdp-triplet", "stdp-weight-dependent"])
def test_training_runs_compiled_are_the_numpy_runs_bit_for_bit(make, epochs, monkeypatch):
    """Two seeds as copies, trained and evaluated: weights, history (accuracy, loss,
    spike counts) and the test readout the same bits with the compiled steps as with
    numpy; the compiled steps are counted, so the comparison is not numpy's twice."""
    spec = make()
    with kernels.use(False):
        want = _digest(run_seeds(spec, [0, 1], epochs=epochs, quiet=True))
    calls = _count_compiled(monkeypatch)
    with kernels.use(True):
        got = _digest(run_seeds(spec, [0, 1], epochs=epochs, quiet=True))
    assert calls["lif_spike"] > 0  # burst somata in evaluation, LIF layers
    if isinstance(spec.network.layers[1].neuron, Burst):
        assert calls["burst_layer"] > 0
    else:  # LIF layers' steps, their spike traces, spike-triggered terms, and (for
        # two-term pair rules, whose batches touch fewer than 64 rows or columns of the
        # weights: more are applied densely) their sparse application
        assert calls["lif_layer"] > 0 and calls["trace"] > 0, calls
        assert calls["spiked_term"] > 0, calls
        if spec.rule.builtin != "rstdp" and len(spec.rule.resolved_terms()) == 2:
            assert calls["apply_sparse"] > 0, calls
    assert got == want


def _count_compiled(monkeypatch) -> dict:
    """Count the calls of each compiled entry point (so that a comparison with numpy
    is not numpy's twice)."""
    calls = {}

    def counted(name, fn):
        def wrapper(*args):
            calls[name] += 1
            return fn(*args)
        return wrapper

    for name in ("lif_spike", "burst_layer", "lif_layer", "trace", "spiked_term",
                 "apply_sparse"):
        calls[name] = 0
        monkeypatch.setattr(kernels, name, counted(name, getattr(kernels, name)))
    return calls


@needs_numba
def test_copies_with_their_own_rates_compiled_are_the_numpy_runs_bit_for_bit(monkeypatch):
    """Pair STDP members that differ in eta (one coefficient per copy in the compiled
    terms) and seed: the same bits as numpy's."""
    specs = [_stdp("stdp", eta=e) for e in (0.3, 0.9)]
    with kernels.use(False):
        want = _digest(run_members(specs, [0, 1], epochs=2, quiet=True))
    calls = _count_compiled(monkeypatch)
    with kernels.use(True):
        got = _digest(run_members(specs, [0, 1], epochs=2, quiet=True))
    assert calls["spiked_term"] > 0 and calls["apply_sparse"] > 0
    assert got == want


def _term(when, syn, sparse_factor=False):
    """A spike-triggered term: at post spikes a pre trace (or at pre spikes a post
    trace), times an activity u on the spiking side when ``sparse_factor``, times the
    weight entry when ``syn``."""
    kind, other = ("pre", "post") if when == "post_spike" else ("post", "pre")
    factors = [Factor(kind, "spike_trace", 0.02)] + \
        ([Factor(other, "activity")] if sparse_factor else []) + \
        ([Factor("syn", "w")] if syn else [])
    return CompiledTerm(Term(factors, -1.05, when),
                        name_of=lambda f: "tr" if f.kind == kind else "u")


@needs_numba
@pytest.mark.parametrize("when", ["post_spike", "pre_spike"])
@pytest.mark.parametrize("syn", [False, True], ids=["plain", "syn-w"])
@pytest.mark.parametrize("per_copy", [False, True], ids=["one-rate", "rate-per-copy"])
def test_spike_triggered_terms_compiled_are_the_numpy_sums_bit_for_bit(when, syn,
                                                                      per_copy):
    """300 steps of one term into an accumulator of (3, 40, 50), applied to the weights
    every third step (add_sparse): sparse spikes (5 %), steps dense enough for the
    dense product (40 %), silent steps, NaN and negative traces, and on the spiking
    side a signal u that is negative or NaN where the neuron spiked (a nonzero entry
    of any sign, or NaN, is a row or column to update, as numpy's nonzero says). The
    accumulator, the weights and where each step changed it are the numpy path's, bit
    for bit; the compiled path took the sparse steps."""
    G, n_post, n_pre = 3, 40, 50
    rng = np.random.default_rng(11)
    W0 = rng.normal(0.0, 0.3, (G, n_post, n_pre))
    runs = []
    for on in (False, True):
        term, W, acc = _term(when, syn, True), W0.copy(), np.zeros_like(W0)
        touched, log, sparse_steps = [], [], 0
        draw = np.random.default_rng(12)
        for step in range(300):
            p = (0.05, 0.4, 0.0)[step % 3] if step % 7 else 0.05
            pre_s = (draw.random((G, 1, n_pre)) < p).astype(float)
            post_s = (draw.random((G, 1, n_post)) < p).astype(float)
            width = n_pre if when == "post_spike" else n_post
            tr = draw.normal(0.2, 1.0, (G, 1, width))
            tr[0, 0, step % width] = np.nan if step % 11 == 0 else tr[0, 0, step % width]
            u = draw.normal(-0.5, 1.0, (G, 1, n_post if when == "post_spike" else n_pre))
            u[draw.random(u.shape) < 0.05] = np.nan
            sig_pre, sig_post = ({"tr": tr}, {"u": u}) if when == "post_spike" else \
                ({"u": u}, {"tr": tr})
            scale = draw.uniform(0.1, 1.0, (G, 1, 1)) if per_copy else 0.7
            with kernels.use(on):
                where = term.add_to(acc, sig_pre, sig_post, W, scale,
                                    pre_mask=pre_s if when == "pre_spike" else None,
                                    post_mask=post_s if when == "post_spike" else None)
                if where not in (None, "dense"):
                    touched.append(where)
                    sparse_steps += 1
                log.append(None if where is None else
                           where if isinstance(where, str) else
                           (where[0], where[1].tolist(), where[2].tolist()))
                if step % 3 == 2:
                    if "dense" in log[-3:]:
                        W += acc
                        acc.fill(0.0)
                    else:
                        add_sparse(W, acc, touched)
                    touched = []
        runs.append((acc, W, log, sparse_steps))
    (acc0, W0_, log0, sp0), (acc1, W1, log1, sp1) = runs
    assert np.array_equal(acc1, acc0, equal_nan=True)
    assert np.array_equal(W1, W0_, equal_nan=True)
    assert log1 == log0 and sp0 == sp1 > 100 and "dense" in log0
    assert np.isnan(W1).any()  # the NaN trace reached the weights both ways


@needs_numba
def test_compiled_terms_are_used(monkeypatch):
    """The compiled spike-triggered path runs for these arrays (the comparison above
    is not numpy's twice)."""
    calls = _count_compiled(monkeypatch)
    term = _term("pre_spike", True)
    W, acc = np.ones((1, 4, 6)), np.zeros((1, 4, 6))
    pre = np.zeros((1, 1, 6))
    pre[0, 0, 2] = 1.0
    with kernels.use(True):
        where = term.add_to(acc, {}, {"tr": np.full((1, 1, 4), 0.5)}, W, 2.0,
                            pre_mask=pre)
        add_sparse(W, acc, [where])
    assert calls["spiked_term"] == 1 and calls["apply_sparse"] == 1
    assert where[0] == "cols" and where[2].tolist() == [2]
    assert np.array_equal(W[0, :, 2], np.full(4, 1.0 - 1.05))  # 1 + 0.5 * 2 * -1.05
    assert np.array_equal(np.delete(W[0], 2, axis=1), np.ones((4, 5))) and not acc.any()


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
