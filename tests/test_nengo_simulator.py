"""The nengo backend: rate networks run the reference's meaning exactly (<= 1e-12)
under the Program's schedule; the network it builds learns on a plain
nengo.Simulator; refusals name the reason; spiking nets are graded statistically."""

from dataclasses import replace

import numpy as np
import pytest

from neurolearn import backends
from neurolearn.errors import SpecError, UnsupportedRule
from neurolearn.rules import load
from neurolearn.rules.catalog import catalog
from neurolearn.rules.ir import (Data, Factor, Feedback, Init, Layer, Network, Rule,
                                 Simulation, Spec, Term, Training)
from neurolearn.rules.neurons import Neuron

from neurolearn.backends.nengo import lower  # needs no nengo

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
EXACT = 1e-12
# rate rows nengo runs: all but the phased ones (settling, phases), which it refuses
# by name; BrainProp (a reward task) included
RATE_ROWS = [(label, spec) for label, spec in catalog()
             if not spec.network.spiking and not spec.phases]
# burst neurons (tests/test_nengo_phases.py lowers the phased rules)
REFUSED = {label for label, spec in catalog() if spec.rule.builtin == "burstprop"}


def max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def assert_same_run(a, b, min_change=1e-3):
    """Two Traces of one spec: same records, weights and readouts to EXACT, and the
    weights really moved; b carries the reference's final parameters."""
    assert a.steps.tolist() == b.steps.tolist() and set(a.weights) == set(b.weights)
    change = max(float(np.abs(w[-1] - w[0]).max()) for w in b.weights.values())
    assert change > min_change
    assert max(float(np.abs(a.weights[k] - b.weights[k]).max()) for k in b.weights) <= EXACT
    assert float(np.abs(a.outputs - b.outputs).max()) <= EXACT
    pa, pb = a.extra["params"], b.extra["params"]
    assert max_diff(pa.W, pb.W) <= EXACT and max_diff(pa.b, pb.b) <= EXACT
    for l in pb.B:
        assert float(np.abs(pa.B[l] - pb.B[l]).max()) <= EXACT


# -- lowering (no nengo needed) --------------------------------------------------------
def test_rate_rows_lower_to_nengo_timing_without_delays():
    for label, spec in RATE_ROWS:
        prog = lower(spec)
        assert prog.schedule.forward_delay == 0 and prog.schedule.feedback_delay == 0
        assert prog.schedule.apply == "batch" and prog.approximations == []


def test_lif_lowers_with_synapse_delay_and_declares_nengo_lif():
    spec = dict(catalog())["delta · FA · lif"]
    prog = lower(spec)
    assert prog.schedule.forward_delay == 1 and prog.schedule.feedback_delay == 0
    assert [a.kind for a in prog.approximations] == ["neuron model"]
    assert "sub-step" in prog.approximations[0].description
    lm = prog.layers[1]
    n = spec.network.layers[1].neuron
    assert (lm.neuron_type, lm.synapse, lm.gain, lm.offset) == ("lif", n.tau_syn,
                                                               n.gain / n.threshold, 1.0)


def test_burst_neurons_are_refused_with_reason_and_alternative():
    spec = dict(catalog())["burstprop (spiking)"]
    with pytest.raises(UnsupportedRule) as err:
        lower(spec)
    msg = str(err.value)
    assert "burst" in msg and "cannot run on nengo" in msg
    assert "one output" in msg and "numpy" in msg and "lava" in msg
    caps = backends.capabilities("nengo")
    assert caps[("burstprop (spiking)", "float", None)] == msg
    assert all(v == "lowers" for (row, _, _), v in caps.items() if row not in REFUSED)
    assert all(v != "lowers" for (row, _, _), v in caps.items() if row in REFUSED)


def test_fixed_precision_variants_and_spike_gated_terms_on_rate_nets_are_refused():
    spec = dict(catalog())["delta · FA · rate"]
    with pytest.raises(UnsupportedRule, match="float64 only.*run it on numpy or lava"):
        lower(spec, precision="fixed")
    with pytest.raises(UnsupportedRule, match="variant 'x'.*one lowering"):
        lower(spec, variant="x")
    lif = dict(catalog())["delta · FA · lif"]
    gated = Rule(terms=[Term([Factor("pre", "activity"), Factor("post", "error_drive")],
                             when="pre_spike")], eta=0.001)
    assert lower(lif.with_(rule=gated)).gated == {"pre_spike"}
    rate = dict(catalog())["delta · FA · rate"]
    with pytest.raises(SpecError, match="pre_spike.*needs spikes"):
        lower(rate.with_(rule=gated))


# -- the engine ---------------------------------------------------------------------------
nengo = pytest.importorskip("nengo")
nb = backends.get("nengo")

from neurolearn.backends.nengo.runtime import build_network, learned_params  # noqa: E402
from neurolearn.data import load_dataset  # noqa: E402
from neurolearn.data.datasets import Dataset  # noqa: E402
from neurolearn.reference.params import init_params  # noqa: E402
from neurolearn.reference.simulator import run_time_stepped, simulate  # noqa: E402


@pytest.mark.parametrize("label,spec", RATE_ROWS, ids=[r[0] for r in RATE_ROWS])
def test_catalog_rate_rows_match_the_reference_exactly(label, spec):
    steps = 400  # 20 examples, half of each plastic
    prog = lower(spec)
    a = nb.simulate(spec, steps=steps, record_every=20)
    b = simulate(spec, steps=steps, record_every=20, schedule=prog.schedule)
    assert_same_run(a, b)


def test_fa_digits_with_its_batch_size_matches_the_reference_exactly():
    spec = load(ROOT / "examples/specs/fa_digits.toml")
    assert spec.training.batch_size == 4 and spec.simulation.teach == 0.5
    a = nb.simulate(spec, steps=2000, record_every=100)  # 50 batches of 4 examples
    b = simulate(spec, steps=2000, record_every=100, schedule=lower(spec).schedule)
    assert_same_run(a, b)


def test_the_network_learns_on_a_plain_nengo_simulator():
    spec = dict(catalog())["delta · FA · rate · batch 8, momentum 0.9"]
    prog = lower(spec)
    ds = load_dataset(spec.data, 0)
    steps = 24 * prog.k  # 3 batches of 8 examples
    net = build_network(prog, init_params(spec.network, 0), ds, 24, 0)
    with nengo.Simulator(net) as sim:  # nothing but the network object
        sim.run_steps(steps)
        learned = learned_params(sim, net)
    ref = simulate(spec, steps=steps, record_every=steps).extra["params"]
    assert max_diff(learned.W, ref.W) <= EXACT and max_diff(learned.b, ref.b) <= EXACT
    assert max_diff(learned.W, init_params(spec.network, 0).W) > 1e-2  # it learned


def _small_digits(n_train=60, n_test=60):
    ds = load_dataset(Data("digits"), 0)
    return Dataset(ds.name, ds.x_train[:n_train], ds.y_train[:n_train],
                   ds.x_test[:n_test], ds.y_test[:n_test], True)


def test_run_with_momentum_lr_decay_and_softmax_equals_the_reference_run():
    spec = load(ROOT / "examples/specs/fa_digits.toml")
    spec = spec.with_(training=replace(spec.training, batch_size=7, momentum=0.5,
                                       lr_decay=0.5, loss="cross_entropy"))
    ds = _small_digits()
    a = nb.run(spec, epochs=3, quiet=True, dataset=ds)
    b = run_time_stepped(spec, epochs=3, quiet=True, dataset=ds)
    assert max_diff(a.weights, b.weights) <= EXACT
    assert a.history["test_accuracy"] == b.history["test_accuracy"]
    assert b.history["test_accuracy"][-1] > 0.5  # learned
    assert a.extra["steps"] == 3 * 60 * 10 and a.extra["ms_per_step"] > 0


def test_user_terms_traces_weight_decay_bcm_and_fixed_offsets_match_the_reference():
    terms = [Term([Factor("pre", "activity", 0.004), Factor("post", "error_drive")]),
             Term([Factor("syn", "w")], coeff=-0.01),
             Term([Factor("pre", "activity"), Factor("post", "activity", 0.003),
                   Factor("post", "activity_sq_avg", 0.01)], coeff=-0.05)]
    layers = [Layer("input", 64), Layer("h", 20, Neuron("relu"), bias=False, bias_init=0.1),
              Layer("out", 10, Neuron("sigmoid"))]
    spec = Spec("terms", Network(layers, Feedback("random"), Init("uniform", 0.2)),
                Rule(terms=terms, eta=0.05), Data("digits"),
                Training(batch_size=3, momentum=0.3),
                Simulation(t_example=0.01, teach=0.6))
    a = nb.simulate(spec, steps=600, record_every=30)
    b = simulate(spec, steps=600, record_every=30, schedule=lower(spec).schedule)
    assert_same_run(a, b)
    assert np.all(a.extra["params"].b[0] == 0.1)  # a fixed offset stays


def test_one_epoch_of_fa_digits_is_the_batched_trainers_epoch():
    from neurolearn.reference.trainer import train
    spec = load(ROOT / "examples/specs/fa_digits.toml")
    a = nb.run(spec, epochs=1, quiet=True)
    b = train(spec, epochs=1, quiet=True)
    assert max_diff(a.weights, b.weights) <= EXACT
    assert a.test_accuracy == b.test_accuracy and a.test_accuracy > 0.5


# -- spiking (statistical tier) --------------------------------------------------------------
def _spiking_traces(steps):
    spec = load(ROOT / "examples/specs/fa_digits_spiking.toml")
    a = nb.simulate(spec, steps=steps, record_every=50)
    b = simulate(spec, steps=steps, record_every=50, schedule=lower(spec).schedule)
    return spec, a, b


def test_spiking_lif_follows_the_reference_under_nengo_timing():
    from neurolearn.compare.stats import dw_correlation
    spec, a, b = _spiking_traces(3000)  # 60 examples of fa_digits_spiking
    assert set(a.spikes) == {"input", "hidden", "output"}
    np.testing.assert_array_equal(a.spikes["input"], b.spikes["input"])  # same encoder
    rate = {k: a.spikes[k].mean() / spec.simulation.dt for k in a.spikes}
    ref_rate = {k: b.spikes[k].mean() / spec.simulation.dt for k in b.spikes}
    for k in ("hidden", "output"):
        assert abs(rate[k] - ref_rate[k]) <= 0.1 * ref_rate[k], (rate, ref_rate)
    corr = dw_correlation(a, b)
    assert min(corr.values()) >= 0.95, corr


@pytest.mark.parametrize("row,noise", [("delta · FA · lif", 0.0), ("delta · DFA · lif", 0.0),
                                       ("delta · FA · lif", 0.5)])
def test_spiking_runtime_is_its_emulator_exactly(row, noise):
    """nengo's LIF step in NumPy, inside the reference network: every spike and every
    weight of the engine, so the rest of the departure is the neuron model (current
    noise: the reference's generator on both)."""
    spec = dict(catalog())[row]
    spec = spec.with_(network=replace(spec.network, layers=[spec.network.layers[0]] + [
        replace(layer, neuron=replace(layer.neuron, noise=noise))
        for layer in spec.network.layers[1:]]))
    a = nb.simulate(spec, steps=500, record_every=10)
    e = nb.emulate(spec, steps=500, record_every=10)
    for k in a.spikes:
        np.testing.assert_array_equal(a.spikes[k], e.spikes[k])
    assert max(float(np.abs(a.weights[k] - e.weights[k]).max()) for k in a.weights) <= EXACT
    assert max(float(np.abs(w[-1] - w[0]).max()) for w in a.weights.values()) > 1e-4
    # and the reference's own LIF does spike differently
    b = simulate(spec, steps=500, record_every=10, schedule=lower(spec).schedule)
    assert any(np.any(b.spikes[k] != a.spikes[k]) for k in a.spikes)


def test_spiking_runs_are_deterministic():
    spec = dict(catalog())["delta · FA · lif"]
    a = nb.simulate(spec, steps=200, record_every=50)
    b = nb.simulate(spec, steps=200, record_every=50)
    for k in a.weights:
        np.testing.assert_array_equal(a.weights[k], b.weights[k])


@pytest.mark.slow
def test_fa_digits_full_budget_matches_the_batched_reference():
    from neurolearn.reference.trainer import train
    spec = load(ROOT / "examples/specs/fa_digits.toml")
    a = nb.run(spec, quiet=True)
    b = train(spec, quiet=True)
    assert abs(a.test_accuracy - b.test_accuracy) <= 0.01, (a.test_accuracy, b.test_accuracy)
    assert a.train_seconds < 600


@pytest.mark.slow
def test_fa_digits_spiking_within_two_points_of_the_reference_and_above_90():
    spec = load(ROOT / "examples/specs/fa_digits_spiking.toml")
    a = nb.run(spec, quiet=True)
    b = run_time_stepped(spec, quiet=True)
    assert a.test_accuracy >= 0.90, a.test_accuracy
    assert abs(a.test_accuracy - b.test_accuracy) <= 0.02, (a.test_accuracy, b.test_accuracy)
