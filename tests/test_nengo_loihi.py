"""The nengo-loihi backend: PES compositions on nengo-loihi's emulator.

nengo-loihi's ``set_defaults`` mutates nengo's global defaults; the autouse fixture
below snapshots them, fails a test that changed them, and restores them, so nothing
leaks between tests.
"""

import numpy as np
import pytest

nengo = pytest.importorskip("nengo")
pytest.importorskip("nengo_loihi")

from neurolearn.data.datasets import Dataset  # noqa: E402
from neurolearn.errors import UnsupportedRule  # noqa: E402
from neurolearn.reference.params import init_params  # noqa: E402
from neurolearn.reference.schedules import nengo as ref  # noqa: E402
from neurolearn.reference.stream import input_stream, steps_per_example  # noqa: E402
from neurolearn.rules.ir import (Feedback, Init, Layer, Network, Neuron, Rule,  # noqa: E402
                                 Simulation, Spec)
from neurolearn.backends import nengo_loihi as nl  # noqa: E402
from neurolearn.backends.nengo.stats import dw_correlation, windowed_error  # noqa: E402


def _snapshot():
    return (nengo.Ensemble.max_rates.default, nengo.Ensemble.intercepts.default,
            dict(nengo.LIF.state), dict(nengo.SpikingRectifiedLinear.state))


@pytest.fixture(autouse=True)
def nengo_defaults_untouched():
    before = _snapshot()
    yield
    after = _snapshot()
    (nengo.Ensemble.max_rates.default, nengo.Ensemble.intercepts.default) = before[:2]
    nengo.LIF.state.clear()
    nengo.LIF.state.update(before[2])
    nengo.SpikingRectifiedLinear.state.clear()
    nengo.SpikingRectifiedLinear.state.update(before[3])
    assert repr(after) == repr(before), "global nengo defaults changed during the test"


def teacher_task():
    """A 6-16-3 sigmoid network learning a random two-layer teacher (30 examples)."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (30, 6))
    t1, t2 = rng.uniform(-2, 2, (8, 6)), rng.uniform(-2, 2, (3, 8))
    y = 1 / (1 + np.exp(-(np.tanh((x - 0.5) @ t1.T) @ t2.T)))
    return Dataset("teacher", x, y, x, y, False)


def fa_spec(kind="random", rule="delta", eta=0.03, hidden_plastic=True):
    model = "burst_rate" if rule == "burstprop_rate" else "sigmoid"
    layers = [Layer("input", 6), Layer("hidden", 16, Neuron(model), plastic=hidden_plastic),
              Layer("output", 3, Neuron(model))]
    return Spec(name="fa-loihi", network=Network(layers=layers, feedback=Feedback(kind),
                                                  init=Init("uniform", 0.5)),
                rule=Rule(builtin=rule, eta=eta), simulation=Simulation(t_example=0.1))


def rate_loss(W, ds):
    h = 1 / (1 + np.exp(-(ds.x_train @ W[0].T)))
    out = 1 / (1 + np.exp(-(h @ W[1].T)))
    return float(np.mean((out - ds.y_train) ** 2))


def test_initial_weights_read_back_from_the_built_model():
    spec, ds = fa_spec(), teacher_task()
    params = init_params(spec.network, 0)
    r = nl.Runner(spec, ds.x_train, ds.y_train, 100, 0)
    try:
        W = r.weights()
    finally:
        r.close()
    for l in (1, 2):
        err = np.abs(W[l] - params.W[l - 1]).max()
        # 8-bit learned weights, initial values at about half the range: <= 2 LSB
        assert err <= 2 * 2 * np.abs(params.W[l - 1]).max() / 127, (l, err)
    assert r.headroom and max(r.headroom.values()) <= 0.75


def test_fa_learns_on_the_emulator_better_than_with_frozen_hidden_weights():
    ds, steps = teacher_task(), 20_000
    fa = nl.simulate(fa_spec(), steps=steps, record_every=steps // 2, dataset=ds)
    frozen = nl.simulate(fa_spec(), steps=steps, record_every=steps // 2, dataset=ds,
                         frozen=(1,))
    _, Y = input_stream(ds.x_train, ds.y_train, fa_spec().simulation, steps, 0)
    k = steps_per_example(fa_spec().simulation)
    assert windowed_error(fa, Y, k) < windowed_error(frozen, Y, k)
    p0 = init_params(fa_spec().network, 0)
    learned = [fa.weights["hidden"][-1], fa.weights["output"][-1]]
    assert rate_loss(learned, ds) < rate_loss([p0.W[0], frozen.weights["output"][-1]], ds)
    # the chip's weight changes point where the reference's do
    b = ref.simulate(fa_spec(), steps=steps, record_every=steps // 2, dataset=ds)
    corr = dw_correlation(fa, b)
    assert corr["hidden"] >= 0.8 and corr["output"] >= 0.6, corr
    assert fa.extra["errors_clipped_fraction"] < 0.01


@pytest.mark.parametrize("kind", ["transport", "learned"])
def test_feedback_needing_chip_weights_is_refused(kind):
    rule = "kolen_pollack" if kind == "learned" else "delta"
    with pytest.raises(UnsupportedRule) as err:
        nl.simulate(fa_spec(kind, rule), steps=10, dataset=teacher_task())
    msg = str(err.value)
    assert "nengo-loihi" in msg and kind in msg and "run it on nengo" in msg


def test_spiking_burstprop_is_refused():
    layers = [Layer("input", 6), Layer("h", 5, Neuron("burst")), Layer("out", 3, Neuron("burst"))]
    spec = Spec(name="bp", network=Network(layers=layers), rule=Rule(builtin="burstprop"))
    with pytest.raises(UnsupportedRule, match="burstprop.*nengo-loihi.*lava"):
        nl.simulate(spec, steps=10, dataset=teacher_task())


def test_rates_at_or_above_500hz_are_refused():
    with pytest.raises(UnsupportedRule, match="500 Hz"):
        nl.simulate(fa_spec(), steps=10, dataset=teacher_task(), rate=500.0)


def test_pre_trace_must_be_whole_steps():
    with pytest.raises(UnsupportedRule, match="multiple of dt"):
        nl.simulate(fa_spec(), steps=10, dataset=teacher_task(), pre_tau=0.0055)


def test_too_large_learning_rate_is_refused_not_clipped():
    with pytest.raises(UnsupportedRule, match="7-bit pre trace"):
        nl.simulate(fa_spec(eta=1e3), steps=10, dataset=teacher_task())


def test_real_loihi_target_is_refused():
    with pytest.raises(UnsupportedRule, match="NxSDK"):
        nl.simulate(fa_spec(), steps=10, dataset=teacher_task(), target="loihi")


def test_projection_split_across_cores_is_refused_with_reason():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (5, 784)), rng.uniform(0, 1, (5, 10))
    ds = Dataset("wide", x, y, x, y, False)
    layers = [Layer("input", 784), Layer("hidden", 256, Neuron("sigmoid")),
              Layer("output", 10, Neuron("sigmoid"))]
    spec = Spec(name="wide", network=Network(layers=layers, init=Init("uniform", 0.05)),
                rule=Rule(builtin="delta", eta=0.001))
    with pytest.raises(UnsupportedRule, match="784 -> 256.*split.*run it on nengo"):
        nl.simulate(spec, steps=10, dataset=ds)
