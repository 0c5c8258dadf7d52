"""The time-stepped reference simulator (textbook schedule): LIF dynamics, the exact
equivalence of its rate path to the batched trainer, determinism, errors, and
spiking feedback alignment on digits."""

from dataclasses import replace

import numpy as np
import pytest

from neurolearn.data import load_dataset
from neurolearn.errors import SpecError, UnsupportedRule
from neurolearn.reference.neurons import LIF, lif_rate, lif_rate_discrete
from neurolearn.reference.params import init_params
from neurolearn.reference.schedule import Schedule
from neurolearn.reference.simulator import (Network as SimNet, Encoder, _Delay,
                                            batches_of, pool, run_time_stepped, simulate,
                                            tile_data)
from neurolearn.reference.stream import encode, example_order
from neurolearn.reference.trainer import BatchedTrainer
from neurolearn.rules import load
from neurolearn.rules.ir import (Data, Feedback, Layer, Network, Neuron, Rule, Simulation,
                                 Spec, Term, Factor, Training)


# -- LIF ---------------------------------------------------------------------------------
@pytest.mark.parametrize("J", [1.05, 1.5, 3.0, 10.0])
def test_lif_interspike_interval_is_the_stated_discretisation(J):
    n = Neuron("lif", tau_rc=0.02, tau_ref=0.002)
    dt = 0.001
    lif = LIF(n, 1, dt)
    spikes = np.array([lif.step(np.array([[J]]))[0, 0] for _ in range(5000)])
    times = np.flatnonzero(spikes)
    isi = np.diff(times)
    assert len(times) > 10 and np.all(isi == isi[0])  # constant input: constant ISI
    assert 1.0 / (isi[0] * dt) == pytest.approx(lif_rate_discrete(np.array([J]), n, dt)[0],
                                                rel=1e-12)


def test_lif_below_threshold_is_silent_and_small_dt_approaches_continuous_rate():
    n = Neuron("lif", tau_rc=0.02, tau_ref=0.002)
    lif = LIF(n, 1, 0.001)
    assert sum(lif.step(np.array([[0.99]]))[0, 0] for _ in range(2000)) == 0
    J = np.array([2.0])
    assert lif_rate_discrete(J, n, 1e-6)[0] == pytest.approx(lif_rate(J, n)[0], rel=1e-3)


# -- rate path: the same rule as the batched trainer ------------------------------------
def _rate_spec(fb="random", eta=0.05, momentum=0.0, model="sigmoid", rule="delta",
               loss="mse", hidden=8, batch=1, k=1, teach=1.0):
    net = Network(layers=[Layer("i", 2), Layer("h", hidden, Neuron(model)),
                          Layer("o", 1, Neuron(model))], feedback=Feedback(fb))
    return Spec(name="eq", network=net, rule=Rule(builtin=rule, eta=eta),
                data=Data("xor"),
                training=Training(seed=3, momentum=momentum, loss=loss, batch_size=batch),
                simulation=Simulation(dt=0.001, t_example=0.001 * k, teach=teach))


def _trainer_on_stream(spec, n_examples):
    """The batched trainer on the stream's examples, in the stream's batches."""
    ds = load_dataset(spec.data)
    order = example_order(len(ds.x_train), n_examples, 3)
    bt = BatchedTrainer(spec)
    pos = 0
    for size in batches_of(len(ds.x_train), spec.training.batch_size, n_examples):
        idx = order[pos:pos + size]
        bt.step(ds.x_train[idx], ds.y_train[idx])
        pos += size
    return bt.params


@pytest.mark.parametrize("kw", [
    dict(),
    dict(fb="transport", momentum=0.9),
    dict(fb="direct", loss="cross_entropy", model="tanh"),
    dict(fb="learned", rule="kolen_pollack"),
    dict(model="burst_rate", rule="burstprop_rate"),
], ids=["fa", "bp-momentum", "dfa-ce-tanh", "kolen-pollack", "burstprop-rate"])
def test_rate_network_with_one_step_examples_is_bit_identical_to_batch_size_one(kw):
    spec = _rate_spec(**kw)
    trace = simulate(spec, steps=400, record_every=100)
    ref = _trainer_on_stream(spec, 400)
    got = trace.extra["params"]
    for w_sim, w_ref, w0 in zip(got.W, ref.W, init_params(spec.network, 3).W):
        assert np.abs(w_sim - w0).max() > 1e-4  # it learned
        assert np.array_equal(w_sim, w_ref)
    for l in ref.B:
        assert np.array_equal(got.B[l], ref.B[l])
    assert np.array_equal(trace.weights["o"][-1], got.W[-1])


@pytest.mark.parametrize("kw", [dict(batch=4), dict(batch=3, momentum=0.9, k=5),
                                dict(batch=4, k=10, teach=0.3)],
                         ids=["batch4", "batch3-momentum-5steps", "batch4-10steps-teach0.3"])
def test_batches_and_longer_examples_learn_the_batched_trainers_rule(kw):
    """batch_size and momentum mean the same in every mode: the time-stepped run, with
    any number of (plastic) steps per example, applies the batched trainer's updates
    (to rounding: the batch mean is summed step by step)."""
    spec = _rate_spec(eta=0.5, **kw)
    k = kw.get("k", 1)
    n_ex = 100 * spec.training.batch_size
    trace = simulate(spec, steps=n_ex * k, record_every=k)
    ref = _trainer_on_stream(spec, n_ex)
    for w_sim, w_ref, w0 in zip(trace.extra["params"].W, ref.W,
                                init_params(spec.network, 3).W):
        assert np.abs(w_sim - w0).max() > 1e-2
        np.testing.assert_allclose(w_sim, w_ref, rtol=0, atol=1e-12)
    # weights change only when a batch ends (XOR has 4 examples: a pass of 4 is cut
    # into batches of batch_size, the last one smaller, as in the batched trainer)
    w = trace.weights["h"]
    changed = [i for i in range(1, len(w)) if not np.array_equal(w[i], w[i - 1])]
    ends = set(np.cumsum(batches_of(4, spec.training.batch_size, n_ex)) - 1)
    assert changed and set(changed) <= ends


def test_plastic_steps_are_the_last_teach_fraction_of_each_example():
    spec = _rate_spec(k=10, teach=0.3)
    net = SimNet(spec, schedule=Schedule("per-step", apply="step"))
    assert net.teach_steps == 3
    assert [net.teaching(s) for s in range(10)] == [False] * 7 + [True] * 3
    w0 = net.params.W[0].copy()
    x, y = np.array([[1.0, 0.0]]), np.array([[1.0]])
    for s in range(7):
        net.step(x, y, teach=net.teaching(s))
    assert np.array_equal(net.params.W[0], w0)  # settling: no plasticity
    net.step(x, y, teach=True)
    assert not np.array_equal(net.params.W[0], w0)


def test_schedule_delays_and_per_step_application():
    # a forward delay of one step per projection: the output sees the input L steps late
    spec = _rate_spec(model="linear", k=1)
    delayed = SimNet(spec, schedule=Schedule("d", forward_delay=1))
    x, y = np.array([[1.0, 1.0]]), np.array([[0.0]])
    outs = [delayed.step(x, y, learn=False)[0][0, 0] for _ in range(4)]
    plain = SimNet(spec).step(x, y, learn=False)[0][0, 0]
    b = delayed.params.b
    assert outs[0] == 0.0 + b[-1][0] and outs[2] == outs[3] == pytest.approx(plain)
    # apply="step": each plastic step's share takes effect at once
    net = SimNet(spec, schedule=Schedule("s", apply="step"))
    w0 = net.params.W[0].copy()
    net.step(x, np.array([[1.0]]))
    assert not np.array_equal(net.params.W[0], w0)


def test_rate_network_delta_rule_learns_xor_in_the_simulator():
    spec = _rate_spec(fb="transport", eta=0.5, hidden=8)
    trace = simulate(spec, steps=8000, record_every=8000)
    err = trace.errors[:, 0] ** 2
    assert err[-400:].mean() < 0.05 < err[:400].mean()


# -- determinism, encoding, populations ---------------------------------------------------
def _tiny_spiking(seed=0, encoding="regular"):
    lif = Neuron("lif")
    return Spec(name="tiny", network=Network(layers=[Layer("i", 64), Layer("h", 20, lif),
                                                     Layer("o", 10, lif)]),
                rule=Rule(builtin="delta", eta=0.02), data=Data("digits"),
                training=Training(seed=seed, loss="cross_entropy", batch_size=1),
                simulation=Simulation(t_example=0.02, encoding=encoding))


@pytest.mark.parametrize("encoding", ["regular", "poisson"])
def test_same_seed_gives_bit_identical_weights(encoding):
    a = simulate(_tiny_spiking(encoding=encoding), steps=300, record_every=100)
    b = simulate(_tiny_spiking(encoding=encoding), steps=300, record_every=100)
    c = simulate(_tiny_spiking(encoding=encoding), steps=300, record_every=100, seed=1)
    for k in a.weights:
        assert np.array_equal(a.weights[k], b.weights[k])
    assert np.array_equal(a.spikes["h"], b.spikes["h"])
    assert not np.array_equal(a.weights["h"][-1], c.weights["h"][-1])
    assert a.spikes["h"].sum() > 0 and a.weights["o"].shape == (3, 10, 20)


def test_chunked_encoder_matches_stream_encoding():
    rng = np.random.default_rng(0)
    x = rng.random((300, 7))
    for enc in ("regular", "poisson"):
        sim = Simulation(encoding=enc)
        whole = encode(x, sim, 5)
        e = Encoder(sim, 7, 5)
        chunks = np.concatenate([e(x[:100]), e(x[100:250]), e(x[250:])])
        assert np.array_equal(whole, chunks)


def test_population_tiling_and_pooling_are_inverse():
    x = np.arange(6.0).reshape(2, 3)
    t = tile_data(x, 4)
    assert t.shape == (2, 12) and np.array_equal(t[:, 4:8], np.repeat(x[:, 1:2], 4, axis=1))
    assert np.array_equal(pool(t, 4), x)


# -- clear errors ------------------------------------------------------------------------
def test_errors_name_the_problem():
    spec = _tiny_spiking()
    with pytest.raises(UnsupportedRule, match="precision 'fixed'"):
        simulate(spec, steps=10, precision="fixed")
    bad = spec.with_(network=replace(spec.network, layers=[Layer("i", 60)] +
                                     spec.network.layers[1:]))
    with pytest.raises(SpecError, match=r"layers\[0\].size: must be a multiple"):
        simulate(bad, steps=10)
    with pytest.raises(SpecError, match="needs spikes; this network has rate neurons"):
        _rate_spec().with_(rule=Rule(name="stdp-ish", terms=[Term(
            [Factor("pre", "activity"), Factor("post", "activity")], when="pre_spike")]))


def test_pre_spike_terms_apply_only_at_presynaptic_spikes():
    spec = _tiny_spiking().with_(rule=Rule(name="hebb-at-pre", eta=0.01, terms=[Term(
        [Factor("post", "activity")], when="pre_spike")]))
    net = SimNet(spec)
    w0 = net.params.W[0].copy()
    x = np.zeros((1, 64))
    x[0, :5] = 1.0  # only inputs 0..4 ever spike
    for _ in range(50):
        net.step(x, np.zeros((1, 10)))
    net.apply()  # the batch's accumulated change
    dw = net.params.W[0] - w0
    assert np.all(dw[:, 5:] == 0) and np.abs(dw[:, :5]).max() > 0


# -- spiking feedback alignment on digits --------------------------------------------------
def test_spiking_fa_digits_learns_fast(specs_dir):
    spec = load(specs_dir / "fa_digits_spiking.toml")
    # 500 training images once, at a higher rate than the spec's (which gets 92 %)
    spec = spec.with_(data=replace(spec.data, n_train=500, n_test=200),
                      rule=replace(spec.rule, eta=0.05))
    r = run_time_stepped(spec, epochs=1, quiet=True)
    assert r.history["test_accuracy"][0] < 0.2  # chance before learning
    assert r.test_accuracy > 0.5


@pytest.mark.slow
def test_spiking_fa_digits_reaches_90_percent(specs_dir):
    r = run_time_stepped(load(specs_dir / "fa_digits_spiking.toml"), quiet=True)
    assert r.test_accuracy >= 0.90


def test_time_stepped_runs_apply_lr_decay_after_every_epoch():
    # as the batched trainer: eta_l * lr_decay**epochs, and a decayed run learns less
    layers = [Layer("input", 2), Layer("hidden", 4, Neuron("sigmoid")),
              Layer("output", 1, Neuron("sigmoid"))]
    spec = Spec(name="decay", network=Network(layers=layers),
                rule=Rule(builtin="delta", eta=0.5, eta_output=0.25),
                data=Data(dataset="xor"), simulation=Simulation(dt=0.001, t_example=0.005))
    plain = run_time_stepped(spec, epochs=3, quiet=True)
    decayed = run_time_stepped(replace(spec, training=replace(spec.training, lr_decay=0.5)),
                               epochs=3, quiet=True)
    assert plain.state.eta == [0.5, 0.25]
    assert decayed.state.eta == [0.5 * 0.125, 0.25 * 0.125]
    W0 = init_params(spec.network, 0).W[0]
    moved = lambda r: np.abs(r.state.params.W[0] - W0).sum()  # noqa: E731
    assert 0 < moved(decayed) < moved(plain)
