"""The time-stepped simulator's independent copies (issue 16): run_seeds trains one
copy per seed in one vectorised run, each bit-identical to its own single-seed run;
evaluation of several networks at once; the sparse term updates give the dense
product's bits."""

from dataclasses import replace

import numpy as np
import pytest

from neurolearn.reference.simulator import (evaluate, evaluate_copies, run_members,
                                            run_seeds, run_time_stepped)
from neurolearn.reference.terms import CompiledTerm, term_update
from neurolearn.rules import load
from neurolearn.rules.ir import (Data, Layer, Network, Reward, Rule, Simulation, Spec,
                                 Training)
from neurolearn.rules.neurons import Neuron
from neurolearn.rules.terms import Factor, Term

from conftest import SPECS


def _without_seconds(h):
    return {k: v for k, v in h.items() if k != "seconds"}


def _rstdp_poisson():
    """LIF + reward-modulated STDP (tags, action generator, r_bar), poisson input."""
    lif = Neuron("lif", noise=0.2)
    return Spec(name="rstdp", network=Network(layers=[
        Layer("i", 64), Layer("h", 30, lif, bias=False), Layer("o", 10, lif, bias=False)]),
        rule=Rule(builtin="rstdp", eta=0.5), data=Data("digits", n_train=12, n_test=10),
        training=Training(seed=0, batch_size=3, momentum=0.5, lr_decay=0.9),
        simulation=Simulation(t_example=0.02, teach=0.5, encoding="poisson", max_rate=200.0),
        reward=Reward(selection="epsilon_greedy", delay=0.002))


def _burst_random():
    spec = load(SPECS / "burstprop_xor.toml")
    layers = [spec.network.layers[0]] + [
        replace(layer, neuron=replace(layer.neuron, burst_draw="random"))
        for layer in spec.network.layers[1:]]
    return spec.with_(network=replace(spec.network, layers=layers))


def _assert_is_its_own_run(got, spec, seed, epochs):
    """A copy's RunResult against the lone run of its spec with its seed: the same
    parameters (weights, biases, feedback), rates after their decays, history and
    readout, bit for bit."""
    alone = run_time_stepped(spec.with_(training=replace(spec.training, seed=seed)),
                             epochs=epochs, quiet=True)
    assert got.seed == seed
    for mine, its in ((got.weights, alone.weights), (got.state.params.b, alone.state.params.b),
                      (list(got.state.params.B.values()), list(alone.state.params.B.values()))):
        assert len(mine) == len(its) and all(np.array_equal(a, b) for a, b in zip(mine, its))
    assert got.state.eta == alone.state.eta
    assert _without_seconds(got.history) == _without_seconds(alone.history)
    assert got.extra["test_readout"] == alone.extra["test_readout"]


@pytest.mark.parametrize("make,epochs", [
    (lambda: load(SPECS / "burstprop_xor.toml"), 1),
    (_burst_random, 1),
    (_rstdp_poisson, 2),
], ids=["burstprop-xor", "burst-random-draws", "rstdp-poisson-reward"])
def test_each_copy_is_bit_identical_to_its_own_run(make, epochs):
    spec = make()
    seeds = [0, 3, 11]
    copies = run_seeds(spec, seeds, epochs=epochs, quiet=True)
    for seed, got in zip(seeds, copies):
        _assert_is_its_own_run(got, spec, seed, epochs)
    # the copies differ from each other (their own seeds, weights, generators)
    assert not np.array_equal(copies[0].weights[0], copies[1].weights[0])


def _kp_time_stepped():
    """Rate neurons, time-stepped: dense term updates, biases, learned feedback."""
    spec = load(SPECS / "kp_digits.toml")
    return spec.with_(training=replace(spec.training, mode="time_stepped", batch_size=4,
                                       lr_decay=0.8),
                      data=replace(spec.data, n_train=16, n_test=20),
                      network=replace(spec.network, layers=[
                          replace(layer, size=min(layer.size, 24)) if 0 < i < 2 else layer
                          for i, layer in enumerate(spec.network.layers)]))


def _pair_stdp():
    """LIF + pair STDP on the weights: spike-triggered row and column updates."""
    from neurolearn.independent.stdp import PairSTDP, pair_rule
    lif = Neuron("lif", noise=0.2)
    return Spec(name="stdp", network=Network(layers=[
        Layer("i", 64), Layer("h", 30, lif, bias=False), Layer("o", 10, lif, bias=False)]),
        rule=pair_rule(PairSTDP()), data=Data("digits", n_train=8, n_test=10),
        training=Training(seed=0, batch_size=2),
        simulation=Simulation(t_example=0.03, teach=0.5, encoding="poisson", max_rate=200.0))


def _with_rates(spec, eta, eta_output=None):
    return spec.with_(rule=replace(spec.rule, eta=eta, eta_output=eta_output))


# momentum_acts: the weights change at more than one apply (the tiny reward run
# changes them at its last batch only, so a momentum has nothing to act on)
@pytest.mark.parametrize("make,epochs,momentum_acts", [
    (lambda: load(SPECS / "burstprop_xor.toml"), 1, True),
    (_rstdp_poisson, 2, False),
    (_kp_time_stepped, 2, True),
    (_pair_stdp, 1, True),
], ids=["burstprop-xor", "rstdp-poisson-reward", "kolen-pollack-rate", "pair-stdp"])
def test_members_with_their_own_learning_rates_are_bit_identical_to_their_own_runs(
        make, epochs, momentum_acts):
    """A sweep's points that differ in eta, eta_output, lr_decay and momentum train
    as copies of one run: each member equals its own single run, bit for bit."""
    spec = make()
    eta = spec.rule.eta
    slower = spec.with_(training=replace(spec.training, lr_decay=0.5))
    heavier = spec.with_(training=replace(spec.training, momentum=0.3))
    members = [(_with_rates(spec, eta), 0), (_with_rates(spec, 0.5 * eta), 0),
               (_with_rates(spec, eta, 3.0 * eta), 3), (_with_rates(slower, eta), 0),
               (_with_rates(heavier, eta), 0)]
    got = run_members([m for m, _ in members], [s for _, s in members], epochs=epochs,
                      quiet=True)
    for (member, seed), r in zip(members, got):
        _assert_is_its_own_run(r, member, seed, epochs)
    weights = [r.weights[0] for r in got]
    # the same seed with another rate learned something else; another decay ends
    # with other rates (and, after more than one pass, other weights)
    assert not np.array_equal(weights[0], weights[1])
    assert got[3].state.eta != got[0].state.eta
    assert epochs == 1 or not np.array_equal(weights[0], weights[3])
    assert not momentum_acts or not np.array_equal(weights[0], weights[4])


def test_members_that_differ_in_more_than_rates_are_refused():
    spec = load(SPECS / "burstprop_xor.toml")
    other = spec.with_(training=replace(spec.training, batch_size=2))
    with pytest.raises(ValueError, match="member 1's spec differs .* rule.eta, "
                                         "rule.eta_output, training.lr_decay, "
                                         "training.momentum and the seed"):
        run_members([spec, other], [0, 1], epochs=1, quiet=True)
    with pytest.raises(ValueError, match="one spec per seed"):
        run_members([spec, spec], [0], epochs=1, quiet=True)


def test_evaluate_copies_is_evaluate_per_network():
    spec = load(SPECS / "fa_digits_spiking.toml")
    spec = spec.with_(data=replace(spec.data, n_train=10, n_test=20),
                      simulation=replace(spec.simulation, encoding="poisson"))
    from neurolearn.data import load_dataset
    from neurolearn.reference.params import init_params
    ds = load_dataset(spec.data)
    params = [init_params(spec.network, s) for s in (1, 2)]
    both = evaluate_copies(spec, params, ds.x_test, ds.y_test, seeds=[5, 6])
    for p, seed, (loss, acc, ro) in zip(params, (5, 6), both):
        l1, a1, r1 = evaluate(spec, p, ds.x_test, ds.y_test, seed=seed)
        assert (loss, acc) == (l1, a1) and np.array_equal(ro, r1)


@pytest.mark.parametrize("make", [lambda: load(SPECS / "burstprop_xor.toml"),
                                  _burst_random, _rstdp_poisson],
                         ids=["burstprop-xor", "burst-random-draws", "rstdp-poisson"])
def test_evaluation_steps_give_the_full_steps_events(make):
    """An evaluation's steps (infer_events) skip the rate estimates, burst averages
    and float trains that only learning reads: the output's events are those of full
    inference steps, bit for bit, on trained (not initial) weights; and a network
    that took such steps refuses full ones."""
    from neurolearn.reference.simulator import Network, tile_data
    spec = make()
    trained = run_seeds(spec, [0, 1], epochs=1, quiet=True)
    params = [r.state.params for r in trained]
    x = np.random.default_rng(0).integers(0, 2, (40, 3, spec.network.sizes[0])).astype(float)
    fast = Network(spec, params=params, seeds=[0, 1], n_par=3)
    full = Network(spec, params=params, seeds=[0, 1], n_par=3)
    y = np.zeros((2, 3, spec.network.sizes[-1]))
    spikes = 0
    for t in range(len(x)):
        xs = np.broadcast_to(x[t], (2, *x[t].shape))
        got = fast.infer_events(xs)
        full.step(xs, y, learn=False)
        assert np.array_equal(got, full._last_events), t
        spikes += got.sum()
    assert spikes > 0  # the comparison saw output events
    with pytest.raises(RuntimeError, match="fresh"):
        fast.step(xs, y, learn=False)


@pytest.mark.parametrize("when,post,pre,syn", [
    ("step", ["burst"], ["event_trace"], []),
    ("step", ["pbar_event"], ["event_trace"], ["w"]),
    ("post_spike", [], ["spike_trace"], []),
    ("pre_spike", ["spike_trace"], [], ["tag"]),
])
def test_sparse_term_updates_are_the_dense_bits(when, post, pre, syn):
    """A term on 0/1 trains or spike masks, evaluated only where they are not zero,
    adds exactly what the dense outer product adds (one row per copy)."""
    rng = np.random.default_rng(0)
    G, n_post, n_pre = 3, 40, 30
    factors = [Factor("post", s, 0.02 if s == "spike_trace" else None) for s in post] + \
        [Factor("pre", s, 0.02 if s == "spike_trace" else None) for s in pre] + \
        [Factor("syn", s) for s in syn]
    term = Term(factors, coeff=-1.7, when=when)
    sparse = lambda shape: (rng.random(shape) < 0.05) * rng.random(shape)  # noqa: E731
    sig_post = {"burst": (rng.random((G, 1, n_post)) < 0.05).astype(float),
                "pbar_event": sparse((G, 1, n_post)),
                "spike_trace": rng.random((G, 1, n_post))}
    sig_pre = {"event_trace": rng.random((G, 1, n_pre)), "spike_trace": rng.random((G, 1, n_pre))}
    W, tag = rng.normal(size=(G, n_post, n_pre)), rng.normal(size=(G, n_post, n_pre))
    post_mask = (rng.random((G, 1, n_post)) < 0.05).astype(float)
    pre_mask = (rng.random((G, 1, n_pre)) < 0.05).astype(float)
    masks = dict(pre_mask=pre_mask if when == "pre_spike" else None,
                 post_mask=post_mask if when == "post_spike" else None)
    start = rng.normal(size=(G, n_post, n_pre))
    acc = start.copy()
    ct = CompiledTerm(term, lambda f: f.signal)
    assert ct.row_sparse or ct.col_sparse
    ct.add_to(acc, sig_pre, sig_post, W, 0.37, syn={"tag": tag}, **masks)
    dense = start.copy()
    for g in range(G):  # the lone network's dense product, copy by copy
        dW, _ = term_update(term, {k: v[g] for k, v in sig_pre.items()},
                            {k: v[g] for k, v in sig_post.items()}, W[g], 1, scale=0.37,
                            syn_sig={"tag": tag[g]},
                            **{k: None if v is None else v[g] for k, v in masks.items()})
        dense[g] += dW
    assert not np.array_equal(acc, start)
    assert np.array_equal(acc, dense)


def test_copies_learning_rates_survive_a_state_dict():
    """Per-copy rates (after decays) are part of the state: JSON-able, and restored."""
    import json
    from neurolearn.reference.simulator import Network
    spec = _pair_stdp()
    net = Network(spec, seeds=[0, 1, 2], etas=[[1.0, 1.0], [0.5, 2.0], [1.0, 1.0]])
    net.eta = [e * 0.9 for e in net.eta]
    state = net.state_dict()
    json.dumps(state["meta"])
    other = Network(spec, seeds=[0, 1, 2])
    other.load_state_dict(state)
    assert [np.ravel(e).tolist() for e in other.eta] == [[0.9, 0.45, 0.9], [0.9, 1.8, 0.9]]
    with pytest.raises(ValueError, match="etas: one list of 2 learning rates per copy"):
        Network(spec, seeds=[0, 1], etas=[[1.0, 1.0]])
