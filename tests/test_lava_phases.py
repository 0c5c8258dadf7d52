"""Specs in phases on Lava (neurolearn/backends/lava/phased.py: equilibrium
propagation, predictive coding; phased_ff.py: segregated dendrites, the weight
mirror): the emulator of the stock lowering against the phased
reference (max |dW|, |db| <= 1e-12: the meaning, to rounding), Lava's runtime against
the emulator (bit for bit), a training run and an inference graded as the
reference's, and a refusal naming its reason for everything else."""

import dataclasses
import importlib.util

import numpy as np
import pytest

from neurolearn import backends
from neurolearn.backends.lava import emulate, lower
from neurolearn.data import load_dataset
from neurolearn.errors import UnsupportedRule
from neurolearn.reference.phased import simulate_phased, train_phased
from neurolearn.rules import load
from neurolearn.rules.ir import Spec
from neurolearn.rules.schema import from_dict, to_dict

TOL = 1e-12
HAS_LAVA = importlib.util.find_spec("lava") is not None
needs_lava = pytest.mark.skipif(not HAS_LAVA, reason="lava is not installed "
                                "(pip install 'neurolearn[lava]')")


RULES = ["equilibrium_propagation", "predictive_coding", "segregated_dendrites",
         "weight_mirror"]
# reference steps per example of each digits spec
REF_K = {"equilibrium_propagation": 24, "predictive_coding": 60,
         "segregated_dendrites": 40, "weight_mirror": 17}
# Lava steps per reference step, and Lava steps beside them per example (the sweep;
# segregated dendrites: a flush step per phase and a learning step)
PER_STEP = {"equilibrium_propagation": 1, "predictive_coding": 2}


def _ep(specs_dir):
    return load(specs_dir / "equilibrium_propagation_digits.toml")


def _spec(specs_dir, rule="equilibrium_propagation", deep=False):
    """The digits spec, or two hidden layers (two mirrors; segregated dendrites: two
    pyramidal layers, h1's apical input from h2), batch 3, eta decaying and
    (equilibrium propagation, segregated dendrites) momentum 0.4; the weight mirror:
    its one hidden layer, batch 3, eta decaying."""
    spec = load(specs_dir / f"{rule}_digits.toml")
    if not deep:
        return spec
    if rule == "weight_mirror":  # one hidden layer (a second is refused: see below)
        t = dataclasses.replace(spec.training, batch_size=3, lr_decay=0.5)
        return spec.with_(training=t)
    d = to_dict(spec)
    hidden = d["network"]["layers"][1]["neuron"]
    d["network"]["layers"] = [
        {"name": "input", "size": 64},
        {"name": "h1", "size": 20, "neuron": hidden},
        {"name": "h2", "size": 12, "neuron": hidden},
        {"name": "output", "size": 10, "neuron": d["network"]["layers"][2]["neuron"]},
    ]
    d["training"].update(batch_size=3, lr_decay=0.5,
                         momentum=0.0 if rule == "predictive_coding" else 0.4)
    return from_dict(Spec, d)


def _deep(specs_dir):
    return _spec(specs_dir, deep=True)


def _gap(a, b):
    """max |W| and |b| difference of two traces: every record, the final biases."""
    w = max(float(np.abs(a.weights[k] - b.weights[k]).max()) for k in b.weights)
    bias = max(float(np.abs(x - y).max()) for x, y in zip(a.extra["params"].b,
                                                         b.extra["params"].b))
    return w, bias


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("deep", [False, True], ids=["digits spec", "two hidden, batch 3"])
def test_the_emulator_of_a_phased_rule_is_the_phased_reference(specs_dir, rule, deep):
    """Settling over Dense delays (equilibrium: synchronous; predictive coding: an
    update and an error step per reference step), feedforward phases a layer per Lava
    step with pyramidal somata and their averages, the sweep in L + 1 steps, the
    products gathered in the tag: the reference's W and b."""
    spec = _spec(specs_dir, rule, deep)
    k = REF_K[rule]
    steps = k * 40
    emu = emulate(spec, steps=steps, record_every=k * 4)
    ref = simulate_phased(spec, steps=steps, record_every=k * 4)
    assert list(emu.steps) == list(ref.steps) and len(ref.steps) >= 10
    w, b = _gap(emu, ref)
    assert w <= TOL and b <= TOL, (w, b)
    moved = max(float(np.abs(v[-1] - v[0]).max()) for v in ref.weights.values())
    assert moved > 1e-3  # it learned
    # each mirror stays W^T to rounding
    assert emu.extra["mirror_gap"] <= TOL
    L = len(spec.network.layers) - 1
    # settling: the sweep, then PER_STEP Lava steps per reference step; feedforward: L
    # per reference step, a flush per phase, and segregated dendrites' learning step
    # or the weight mirror's backward steps (L - 1 after its one plastic step)
    extra = {"segregated_dendrites": 2 + 1, "weight_mirror": 2 + (L - 1)}
    lava_k = PER_STEP[rule] * k + L + 1 if rule in PER_STEP else L * k + L + 1 + extra[rule]
    assert emu.extra["lava_steps_per_example"] == lava_k
    if rule == "weight_mirror":  # the learned feedback matrices too
        for l, B in ref.extra["params"].B.items():
            assert np.abs(emu.extra["params"].B[l] - B).max() <= TOL
            assert np.abs(B - lower(spec).params.B[l]).max() > 1e-3


@needs_lava
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("deep", [False, True], ids=["digits spec", "two hidden, batch 3"])
def test_lava_runs_a_phased_rule_as_its_emulator_bit_for_bit(specs_dir, rule, deep):
    from neurolearn.backends.lava.runtime import simulate
    spec = _spec(specs_dir, rule, deep)
    k = REF_K[rule]
    steps = k * 9
    lava = simulate(spec, steps=steps, record_every=k * 3)
    emu = emulate(spec, steps=steps, record_every=k * 3)
    assert list(lava.steps) == list(emu.steps)
    assert _gap(lava, emu) == (0.0, 0.0)
    assert lava.extra["mirror_gap"] == emu.extra["mirror_gap"]
    for l, B in emu.extra["params"].B.items():
        assert np.array_equal(lava.extra["params"].B[l], B)
    # source, a population and a LearningDense per layer, a mirror (settling) or a
    # feedback Dense (the apical pathway) per hidden layer
    L = len(spec.network.layers) - 1
    assert lava.extra["processes"] == 1 + 2 * L + (L - 1)


@needs_lava
@pytest.mark.parametrize("rule", RULES)
def test_a_lava_run_of_a_phased_rule_grades_as_the_reference(specs_dir, rule):
    """Two passes over a few digits (45; predictive coding, 5 times longer per
    example: 15): Lava's weights are the reference's to 1e-12, the test accuracy the
    same, eta's decay after the first pass included."""
    spec = _spec(specs_dir, rule, deep=True)
    full = load_dataset(spec.data, spec.training.seed)
    n = {"equilibrium_propagation": 45, "predictive_coding": 15,
         "segregated_dendrites": 12, "weight_mirror": 45}[rule]
    ds = dataclasses.replace(full, x_train=full.x_train[:n], y_train=full.y_train[:n])
    ours = backends.package("lava").run(spec, epochs=2, dataset=ds)
    ref = train_phased(spec, dataset=ds, epochs=2, quiet=True)
    assert ours.extra["variant"] == "stock"
    assert max(float(np.abs(a - b).max()) for a, b in zip(ours.weights, ref.weights)) \
        <= TOL
    assert ours.history["test_accuracy"] == pytest.approx(ref.history["test_accuracy"],
                                                          abs=0)
    assert ours.test_loss == pytest.approx(ref.test_loss, abs=1e-12)


# -- refusals ---------------------------------------------------------------------------
def _edit(spec, **phase):
    return spec.with_(phases=[dataclasses.replace(p, **phase) if p.name == "free" else p
                              for p in spec.phases])


@pytest.mark.parametrize("change,what,why", [
    (lambda s: ("fixed", "stock", s), "precision 'fixed'", "graded payloads"),
    (lambda s: ("float", "fused", s), "variant 'fused' for a spec in phases",
     "has no phases"),
    (lambda s: ("float", "stock", _edit(s, settle=dataclasses.replace(
        s.phases[0].settle, tol=1e-6))), "phase 'free' settle.tol", "network-wide"),
    (lambda s: ("float", "stock", _edit(s, input=False)), "phase 'free' with input = "
     "false", "a step late"),
    (lambda s: ("float", "stock", s.with_(rule=dataclasses.replace(s.rule,
                                                                   eta_output=0.05))),
     "eta_output 0.05 != eta 0.1", "one post factor"),
])
def test_lava_refuses_what_its_phased_lowering_cannot_run(specs_dir, change, what, why):
    precision, variant, spec = change(_ep(specs_dir))
    with pytest.raises(UnsupportedRule) as err:
        lower(spec, precision, variant=variant)
    assert err.value.backend == "lava"
    assert what in str(err.value) and why in str(err.value), str(err.value)


def test_lava_refuses_momentum_with_predictive_coding_in_a_deep_network(specs_dir):
    spec = _spec(specs_dir, "predictive_coding", deep=True)
    spec = spec.with_(training=dataclasses.replace(spec.training, momentum=0.4))
    with pytest.raises(UnsupportedRule, match="training.momentum = 0.4 with "
                                              "predictive_coding dynamics.*four"):
        lower(spec)


def test_lava_refuses_a_feedback_rule_whose_layer_has_an_active_presynaptic_layer(
        specs_dir):
    """A second hidden layer's B: its post factor would reach its own LearningDense,
    whose presynaptic layer (noise-driven h1) is active in the mirror phase."""
    d = to_dict(load(specs_dir / "weight_mirror_digits.toml"))
    d["network"]["layers"].insert(2, {"name": "h2", "size": 12,
                                      "neuron": {"model": "tanh"}})
    d["phases"][1]["noise"]["layers"] = ["h1", "h2"]
    with pytest.raises(UnsupportedRule, match="feedback.rule 'weight_mirror' into layer "
                                              "'h2'.*a fourth post factor"):
        lower(from_dict(Spec, d))


def test_lava_refuses_a_frozen_layer_in_a_settling_network(specs_dir):
    spec = _ep(specs_dir)
    layers = list(spec.network.layers)
    layers[1] = dataclasses.replace(layers[1], plastic=False)
    frozen = spec.with_(network=dataclasses.replace(spec.network, layers=layers))
    with pytest.raises(UnsupportedRule, match="frozen layer 'h1' in a settling network"):
        lower(frozen)


@needs_lava
@pytest.mark.parametrize("rule", RULES)
def test_inference_of_a_phased_rule_on_lava_is_the_references_readout(specs_dir, rule):
    """Trained weights, learning off: each test example from its sweep through the free
    phase, the output read at its last step: the phased reference's readout (1e-12),
    Lava's the emulator's bit for bit."""
    from neurolearn.backends.lava.emulator import emulate_infer
    from neurolearn.backends.lava.runtime import infer
    from neurolearn.reference.phased import PhasedTrainer
    spec = _spec(specs_dir, rule, deep=True)
    full = load_dataset(spec.data, spec.training.seed)
    ds = dataclasses.replace(full, x_train=full.x_train[:30], y_train=full.y_train[:30],
                             x_test=full.x_test[:40], y_test=full.y_test[:40])
    params = train_phased(spec, dataset=ds, epochs=1, quiet=True).state.params
    ref = PhasedTrainer(spec, params)
    loss, acc = ref.evaluate(ds.x_test, ds.y_test)
    emu = emulate_infer(spec, params, dataset=ds)
    assert np.abs(emu.readout - ref.predict(ds.x_test)).max() <= TOL
    assert emu.accuracy == acc and emu.loss == pytest.approx(loss, abs=1e-12)
    lava = infer(spec, params, dataset=ds)
    assert np.array_equal(lava.readout, emu.readout)
    L = len(spec.network.layers) - 1
    assert lava.extra["processes"] == 1 + 2 * L + (L - 1)


GRAPH = '''
import os, sys
import numpy as np
from lava.magma.core.run_conditions import RunSteps
from neurolearn.backends import lava as nl_lava
from neurolearn.rules import load

g = nl_lava.processes(load(sys.argv[1]), steps=int(sys.argv[2]))
g.source.run(condition=RunSteps(num_steps=g.num_steps), run_cfg=g.run_cfg)
W, b = g.weights(), g.biases()
WT = np.asarray(g.layers["h1"]["mirror"].weights.get(), dtype=float)
g.source.stop()
np.savez(sys.argv[3], WT=WT, **{f"W_{k}": v for k, v in W.items()},
         **{f"b_{k}": v for k, v in b.items()})
os._exit(0)
'''


@needs_lava
def test_the_process_graph_of_equilibrium_propagation_learns_what_the_runtime_learns(
        specs_dir, tmp_path):
    """processes(spec) in the user's interpreter: populations, LearningDense and the
    mirror, run for two examples (one batch applied) under Lava's own runner."""
    from neurolearn.backends.lava.runtime import simulate
    from script_runner import run_script
    spec_path = specs_dir / "equilibrium_propagation_digits.toml"
    script, out = tmp_path / "graph.py", tmp_path / "w.npz"
    script.write_text(GRAPH)
    rc, text = run_script(script, spec_path, 54, out)
    assert rc == 0, text[-3000:]
    got = np.load(out)
    ref = simulate(load(spec_path), steps=48, record_every=48)
    for name, w in ref.weights.items():
        assert np.array_equal(got[f"W_{name}"], w[-1]), name
        assert np.abs(w[-1] - lower(load(spec_path)).params.W[0 if name == "h1" else 1]
                      ).max() > 0
    for name, b in zip(ref.weights, ref.extra["params"].b):
        assert np.array_equal(got[f"b_{name}"], b), name
    assert np.abs(got["WT"] - got["W_output"].T).max() <= TOL


def test_inference_on_lava_draws_a_free_phases_noise_as_the_reference_reads_it(specs_dir):
    """A noisy phase before the teacher: each test example's draws from the evaluation's
    generators (default_rng([seed, 8, i])), as the phased reference's readout."""
    from neurolearn.backends.lava.emulator import emulate_infer
    from neurolearn.reference.phased import PhasedTrainer
    from neurolearn.rules.phases import Noise, Phase
    spec = load(specs_dir / "weight_mirror_digits.toml")
    noisy = Phase("noisy", 3, noise=Noise(0.5, ["h1"]))
    spec = spec.with_(phases=[noisy] + list(spec.phases))
    full = load_dataset(spec.data, spec.training.seed)
    ds = dataclasses.replace(full, x_train=full.x_train[:12], y_train=full.y_train[:12],
                             x_test=full.x_test[:30], y_test=full.y_test[:30])
    params = train_phased(spec, dataset=ds, epochs=1, quiet=True).state.params
    ref = PhasedTrainer(spec, params).predict(ds.x_test)
    emu = emulate_infer(spec, params, dataset=ds)
    assert np.abs(emu.readout - ref).max() <= TOL
    # the noise matters: another seed's draws give another readout
    other = emulate_infer(spec.with_(training=dataclasses.replace(spec.training, seed=5)),
                          params, dataset=ds)
    assert np.abs(other.readout - ref).max() > 1e-3


def test_a_frozen_hidden_layer_in_feedforward_phases_on_the_emulator(specs_dir):
    """Segregated dendrites with its hidden layer frozen (the baseline its learning
    curve is compared with): the output learns as in the reference, h1 stays."""
    spec = load(specs_dir / "segregated_dendrites_digits.toml")
    layers = list(spec.network.layers)
    layers[1] = dataclasses.replace(layers[1], plastic=False)
    spec = spec.with_(network=dataclasses.replace(spec.network, layers=layers))
    emu = emulate(spec, steps=40 * 12, record_every=40 * 4)
    ref = simulate_phased(spec, steps=40 * 12, record_every=40 * 4)
    assert list(emu.weights) == ["output"] == list(ref.weights)
    w, b = _gap(emu, ref)
    assert w <= TOL and b <= TOL, (w, b)
    assert np.array_equal(emu.extra["params"].W[0], lower(spec).params.W[0])

