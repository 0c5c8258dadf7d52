"""The nengo backend on nengo.Simulator against the NumPy reference under Nengo's
schedule (exact tier) and, for spiking neurons, against the rate reference
(statistical tier)."""

import numpy as np
import pytest

pytest.importorskip("nengo")

from neurolearn.data.datasets import Dataset  # noqa: E402
from neurolearn.errors import UnsupportedRule  # noqa: E402
from neurolearn.reference.schedules import nengo as ref  # noqa: E402
from neurolearn.reference.stream import input_stream, steps_per_example  # noqa: E402
from neurolearn.rules.ir import (Feedback, Init, Layer, Network, Neuron, Rule,  # noqa: E402
                                 Simulation, Spec, Term, Factor)
from neurolearn.backends import nengo as nb  # noqa: E402
from neurolearn.backends.nengo.stats import dw_correlation, windowed_error  # noqa: E402


def toy(seed=0, n_in=4, n_out=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (20, n_in))
    y = rng.uniform(0, 1, (20, n_out))
    return Dataset("toy", x, y, x, y, False)


def rate_spec(kind, rule, model="sigmoid", sizes=(4, 6, 5, 3), eta=0.0005):
    if rule == "burstprop_rate":
        model = "burst_rate"
    layers = [Layer("input", sizes[0])] + \
        [Layer(f"h{i}", n, Neuron(model)) for i, n in enumerate(sizes[1:-1], start=1)] + \
        [Layer("output", sizes[-1], Neuron(model))]
    fb = Feedback(kind=kind, decay=1e-3 if kind == "learned" else 0.0)
    return Spec(name=f"{kind}-{rule}", network=Network(layers=layers, feedback=fb),
                rule=Rule(builtin=rule, eta=eta), simulation=Simulation(t_example=0.02))


def max_dw(a, b):
    assert set(a.weights) == set(b.weights) and a.weights
    return max(float(np.abs(a.weights[k] - b.weights[k]).max()) for k in a.weights)


def total_change(trace):
    return max(float(np.abs(w[-1] - w[0]).max()) for w in trace.weights.values())


@pytest.mark.parametrize("kind,rule", [("random", "delta"), ("direct", "delta"),
                                       ("learned", "kolen_pollack"),
                                       ("random", "burstprop_rate"),
                                       ("transport", "delta")])
def test_rate_matches_reference_under_nengo_schedule(kind, rule):
    spec, ds = rate_spec(kind, rule), toy()
    steps = 10_000
    a = nb.simulate(spec, steps=steps, record_every=500, dataset=ds)
    b = ref.simulate(spec, steps=steps, record_every=500, dataset=ds)
    assert a.steps.tolist() == b.steps.tolist() and a.steps[-1] == steps
    assert total_change(b) > 1e-3  # the weights really moved
    assert max_dw(a, b) <= 1e-12
    assert np.abs(a.outputs - b.outputs).max() <= 1e-12


def test_forward_synapses_in_update_mode_match_reference():
    spec, ds = rate_spec("random", "delta", model="tanh"), toy(1)
    a = nb.simulate(spec, steps=3000, record_every=100, dataset=ds, synapse=0.005)
    b = ref.simulate(spec, steps=3000, record_every=100, dataset=ds, synapse=0.005)
    c = ref.simulate(spec, steps=3000, record_every=100, dataset=ds)
    assert max_dw(a, b) <= 1e-12
    assert max_dw(a, c) > 1e-6  # the synapse does change the run


def test_user_terms_with_pre_trace_and_weight_decay_match_reference():
    spec, ds = rate_spec("random", "delta", model="relu"), toy(2)
    terms = [Term([Factor("pre", "activity", 0.01), Factor("post", "error_drive")]),
             Term([Factor("syn", "w")], coeff=-0.01),
             Term([Factor("pre", "activity", 0.01), Factor("post", "activity")], coeff=0.05)]
    spec = spec.with_(rule=Rule(terms=terms, eta=0.0005))
    a = nb.simulate(spec, steps=2000, record_every=100, dataset=ds)
    b = ref.simulate(spec, steps=2000, record_every=100, dataset=ds)
    assert total_change(b) > 1e-4
    assert max_dw(a, b) <= 1e-12


def spiking_case():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (30, 6))
    teacher = rng.uniform(-0.5, 1, (3, 6))
    y = np.maximum(0.5 * x @ teacher.T, 0)
    ds = Dataset("relu-teacher", x, y, x, y, False)
    layers = [Layer("input", 6), Layer("hidden", 16, Neuron("relu")),
              Layer("output", 3, Neuron("relu"))]
    spec = Spec(name="spiking-fa", network=Network(layers=layers, feedback=Feedback("random"),
                                                    init=Init("uniform", 0.3)),
                rule=Rule(builtin="delta", eta=0.002), simulation=Simulation(t_example=0.1))
    return spec, ds


def test_spiking_relu_at_400hz_follows_rate_reference():
    spec, ds = spiking_case()
    steps = 10_000
    a = nb.simulate(spec, steps=steps, record_every=100, dataset=ds, spiking=True, rate=400)
    b = ref.simulate(spec, steps=steps, record_every=100, dataset=ds)
    assert set(a.spikes) == {"hidden", "output"} and a.spikes["hidden"].sum() > 0
    corr = dw_correlation(a, b)
    assert min(corr.values()) >= 0.95, corr
    _, Y = input_stream(ds.x_train, ds.y_train, spec.simulation, steps, 0)
    k = steps_per_example(spec.simulation)
    ratio = windowed_error(a, Y, k) / windowed_error(b, Y, k)
    assert ratio <= 1.3, ratio
    # and it learned: final windowed error well under the first window's
    first = np.mean([np.mean((b.outputs[i * k:(i + 1) * k].mean(0) - Y[i * k]) ** 2)
                     for i in range(10)])
    assert windowed_error(a, Y, k) < 0.5 * first


def test_same_seed_same_result():
    spec, ds = spiking_case()
    a = nb.simulate(spec, steps=500, record_every=100, dataset=ds, spiking=True)
    b = nb.simulate(spec, steps=500, record_every=100, dataset=ds, spiking=True)
    for k in a.weights:
        np.testing.assert_array_equal(a.weights[k], b.weights[k])


def test_spiking_burstprop_is_refused_with_reason_and_alternative():
    layers = [Layer("input", 4), Layer("h", 5, Neuron("burst")), Layer("out", 3, Neuron("burst"))]
    spec = Spec(name="bp", network=Network(layers=layers), rule=Rule(builtin="burstprop"))
    with pytest.raises(UnsupportedRule) as err:
        nb.simulate(spec, steps=10, dataset=toy())
    msg = str(err.value)
    assert "burstprop" in msg and "nengo" in msg and "burst" in msg
    assert "lava" in msg and "numpy" in msg


def test_fixed_precision_is_refused():
    with pytest.raises(UnsupportedRule, match="float64"):
        nb.simulate(rate_spec("random", "delta"), steps=10, precision="fixed", dataset=toy())


def test_run_trains_and_returns_learned_weights():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([[0.1], [0.9], [0.9], [0.1]])
    ds = Dataset("xor", x, y, x, y, True)
    layers = [Layer("input", 2), Layer("h", 8, Neuron("tanh")), Layer("out", 1, Neuron("sigmoid"))]
    spec = Spec(name="xor", network=Network(layers=layers, feedback=Feedback("random"),
                                            init=Init("uniform", 1.0)),
                rule=Rule(builtin="delta", eta=0.02), simulation=Simulation(t_example=0.01))
    res = nb.run(spec, epochs=300, quiet=True, dataset=ds)
    assert res.backend == "nengo" and len(res.weights) == 2
    assert res.history["test_loss"][-1] < 0.5 * res.history["test_loss"][0]
    assert res.extra["sim_seconds_per_wall_second"] > 0


def test_lif_rate_curve_matches_reference_and_spiking_lif_follows_it():
    ds = toy()
    layers = [Layer("input", 4), Layer("h", 6, Neuron("lif")), Layer("out", 3, Neuron("lif"))]
    spec = Spec(name="lif", network=Network(layers=layers, feedback=Feedback("random"),
                                            init=Init("uniform", 2.0)),
                rule=Rule(builtin="delta", eta=0.001), simulation=Simulation(t_example=0.02))
    rate = nb.simulate(spec, steps=3000, record_every=100, dataset=ds, spiking=False)
    b = ref.simulate(spec, steps=3000, record_every=100, dataset=ds)
    assert total_change(b) > 1e-2
    assert max_dw(rate, b) <= 1e-12
    spiking = nb.simulate(spec, steps=3000, record_every=100, dataset=ds)  # lif: spiking
    assert spiking.spikes and min(dw_correlation(spiking, b).values()) >= 0.85
