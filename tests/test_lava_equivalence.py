"""Float equivalence: Lava (stock engine and fused) vs the reference under Lava's
schedule, bit for bit (max |dW| = 0), every built-in rule, both neuron kinds."""

import numpy as np
import pytest

from neurolearn.backends import lava as backend
from neurolearn.errors import UnsupportedRule
from neurolearn.reference.schedules import lava as sched
from neurolearn.rules.io import loads

STEPS = 500


def make_spec(model, rule="delta", feedback="random", hidden=(100,), eta=0.01, scale=1.0):
    layers = [f'{{name="in", size=64}}']
    layers += [f'{{name="h{i}", size={n}, neuron={{model="{model}"}}}}'
               for i, n in enumerate(hidden)]
    layers.append(f'{{name="out", size=10, neuron={{model="{model}"}}}}')
    return loads(f'''
name = "eq_{model}_{rule}_{feedback}"
[network]
layers = [{", ".join(layers)}]
feedback = {{kind = "{feedback}"}}
init = {{dist = "glorot_uniform", scale = {scale}}}
[rule]
builtin = "{rule}"
eta = {eta}
[simulation]
t_example = 0.05
''')


CASES = {
    "delta-random-lif": dict(model="lif"),
    "delta-random-sigmoid": dict(model="sigmoid"),
    "delta-direct-lif": dict(model="lif", feedback="direct", hidden=(100, 30)),
    "delta-direct-tanh": dict(model="tanh", feedback="direct", hidden=(100, 30)),
    "kolen_pollack-random-lif": dict(model="lif", rule="kolen_pollack"),
    "burstprop_rate": dict(model="burst_rate", rule="burstprop_rate", eta=0.05),
    "burstprop": dict(model="burst", rule="burstprop", eta=0.05, scale=2.0),
}

_reference = {}


def reference(case):
    if case not in _reference:
        _reference[case] = sched.simulate(make_spec(**CASES[case]), steps=STEPS,
                                          record_every=100)
    return _reference[case]


@pytest.mark.parametrize("lowering", ["stock", "fused"])
@pytest.mark.parametrize("case", list(CASES))
def test_bit_identical_to_lava_schedule_reference(case, lowering):
    spec = make_spec(**CASES[case])
    ref = reference(case)
    got = backend.simulate(spec, steps=STEPS, record_every=100, lowering=lowering,
                           timeout=120)
    assert list(got.steps) == list(ref.steps) == [100, 200, 300, 400, 500]
    for name, w_ref in ref.weights.items():
        # the run learned something, and Lava learned exactly the same
        assert np.abs(w_ref[-1] - w_ref[0]).max() > 1e-4, name
        assert np.abs(got.weights[name] - w_ref).max() == 0.0, name
    assert np.abs(got.outputs - ref.outputs).max() == 0.0
    for name, s in ref.spikes.items():
        assert s.sum() > 0, f"{name} never spiked"
        assert np.array_equal(got.spikes[name], s)


@pytest.mark.parametrize("feedback", ["transport", "learned"])
def test_feedback_that_follows_weights_is_refused_with_reason(feedback):
    spec = make_spec("lif", feedback=feedback)
    with pytest.raises(UnsupportedRule) as err:
        backend.simulate(spec, steps=10)
    msg = str(err.value)
    assert f"feedback kind '{feedback}'" in msg and "cannot run on lava" in msg
    assert "share no weight memory" in msg and "run it on numpy" in msg


def test_fixed_precision_of_rate_network_is_refused_with_alternative():
    with pytest.raises(UnsupportedRule, match="precision 'fixed' for rate network.*"
                                              "only spiking networks.*run it on lava "
                                              "--precision float"):
        backend.simulate(make_spec("sigmoid"), steps=10, precision="fixed")


def test_generated_rule_strings():
    plans = sched.plan(make_spec("burst", rule="burstprop"))
    assert plans[0].rule_string() == "u0 * x1 * y1 + u0 * x1 * y2"
    plans = sched.plan(make_spec("lif", rule="kolen_pollack"))
    assert plans[0].rule_string() == "u0 * x1 * y1 + u0 * y2 * w"
