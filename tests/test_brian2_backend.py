"""The Brian2 backend: its lowering (refusals, no engine import) and its runtime, which
computes the reference's time-stepped run on Brian2 (float64, the reference's order
of a step): weights within the exact tier (1e-12) and identical spikes, for every
kind of network, rule and task the lowering takes."""

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from neurolearn import backends
from neurolearn.errors import UnsupportedRule
from neurolearn.reference.simulator import run_time_stepped, simulate as reference
from neurolearn.rules.catalog import catalog, row_spec
from neurolearn.rules.ir import (Data, Factor, Feedback, Layer, Network, Reward, Rule,
                                 Simulation, Spec, Term, Training)
from neurolearn.rules.neurons import Neuron

needs_brian2 = pytest.mark.skipif(not backends.is_installed("brian2"),
                                  reason="brian2 not installed: pip install 'neurolearn[brian2]'")
ROWS = dict(catalog())
EXACT = 1e-12


def _spec(rows=ROWS, name="delta · FA · lif", **changes):
    spec = rows[name]
    for section, fields in changes.items():
        spec = spec.with_(**{section: replace(getattr(spec, section), **fields)})
    return spec


def _small(spec, hidden=24):
    """The row's network with a narrower hidden layer (a faster test, same code)."""
    layers = [replace(layer, size=hidden) if 0 < i < len(spec.network.layers) - 1
              else layer for i, layer in enumerate(spec.network.layers)]
    return spec.with_(network=replace(spec.network, layers=layers))


# -- lowering --------------------------------------------------------------------------
def test_lowering_imports_no_brian2():
    code = ("import sys; from neurolearn.backends import capabilities; "
            "caps = capabilities('brian2'); "
            "assert 'brian2' not in sys.modules, 'brian2 imported'; "
            "print(sum(v == 'lowers' for v in caps.values()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 2 * 10  # numpy and cython for every lowered row


def _refusal(spec, **kw):
    from neurolearn.backends.brian2 import lower
    with pytest.raises(UnsupportedRule) as err:
        lower(spec, **kw)
    return str(err.value)


def test_refusals_name_the_reason_and_where_to_run():
    msg = _refusal(ROWS["burstprop (spiking)"])
    assert "'burst'" in msg and "numpy, or lava" in msg
    assert "burst_rate" in _refusal(ROWS["burstprop_rate"])
    msg = _refusal(ROWS["delta · FA · lif"], precision="fixed")
    assert "float64" in msg and "lava --precision fixed" in msg
    msg = _refusal(_spec(training={"dtype": "float32"}))
    assert "float32" in msg
    msg = _refusal(ROWS["delta · FA · lif"], variant="gpu")
    assert "known variants: numpy, cython, loihi" in msg
    bcm = ROWS["delta · FA · rate"].with_(rule=Rule(name="bcm", terms=[
        Term([Factor("pre", "activity"), Factor("post", "activity"),
              Factor("post", "activity_sq_avg", 1.0)])]))
    assert "activity_sq_avg" in _refusal(bcm) or "<y^2>" in _refusal(bcm)


def test_loihi_variant_is_refused_by_name_for_every_row():
    for name, spec in ROWS.items():
        msg = _refusal(spec, variant="loihi")
        assert "brian2-loihi" in msg and "bias current" in msg and "refuse tags" in msg
        assert "run it on lava --precision fixed" in msg


def test_the_schedule_is_the_reference_order_of_a_step():
    from neurolearn.backends.brian2 import lower
    prog = lower(ROWS["delta · FA · lif"])
    phases = [op.phase for op in prog.ops]
    assert phases == sorted(phases, key=["input", "forward", "task", "feedback",
                                         "learning", "apply", "record"].index)
    forward = [(op.owner, op.kind) for op in prog.ops if op.phase == "forward"]
    # layer by layer: a layer's input spikes reach it before it integrates
    assert forward.index(("S2", "pathway")) > forward.index(("L1", "reset"))
    assert prog.schedule.name == "textbook" and not prog.approximations


# -- runtime against the reference -----------------------------------------------------
def _rstdp():
    spec = _small(ROWS["rstdp (reward, eligibility tag)"])
    return spec.with_(rule=replace(spec.rule, eta=0.05),
                      reward=Reward(selection="softmax", temperature=0.05, correct=1.0,
                                    wrong=-1.0, delay=0.01, baseline_tau=0.3))


def _lif_extras():
    """Noise (the reference's generator), poisson input, populations (2 units per
    pixel), a fixed layer and an offset."""
    lif = Neuron("lif", noise=0.3, tau_syn=0.005, gain=1.5)
    net = Network([Layer("input", 128), Layer("h1", 20, lif, plastic=False,
                                               bias_init=0.1),
                   Layer("output", 10, Neuron("lif"))], Feedback("random"))
    return Spec("lif_extras", net, Rule(builtin="delta", eta=0.05), Data("digits", n_train=30),
                Training(batch_size=3, seed=2),
                Simulation(t_example=0.02, teach=0.5, encoding="poisson"))


def _gated_rstdp():
    """Reward-modulated STDP where only the selected action learns, from its reward
    prediction error (loss 'reward': error_drive at the output)."""
    from neurolearn.rules.ir import Tag
    tag = Tag(0.1, [Term([Factor("pre", "spike_trace", 0.02)], 1.0, "post_spike"),
                    Term([Factor("post", "spike_trace", 0.02, "set")], -0.5, "pre_spike"),
                    Term([Factor("pre", "spike_trace", 0.05, read="before"),
                          Factor("post", "activity")], 0.1)])
    net = Network([Layer("input", 64), Layer("output", 2, Neuron("lif"), bias=False)])
    return Spec("gated", net, Rule(name="gated", eta=0.01, tag=tag,
                                   terms=[Term([Factor("syn", "tag"),
                                                Factor("post", "error_drive")])]),
                Data("digits", classes=[0, 1], n_train=30),
                Training(batch_size=2, loss="reward", momentum=0.5),
                Simulation(t_example=0.03, teach=0.5),
                reward=Reward(selection="epsilon_greedy", epsilon=0.2, correct=0.5))


CASES = {
    "delta FA lif": lambda: _small(ROWS["delta · FA · lif"]),
    "delta DFA lif (two hidden layers)": lambda: _small(ROWS["delta · DFA · lif"]),
    "delta BP rate, batch 8, momentum": lambda: _small(_spec(
        name="delta · BP · rate", training={"batch_size": 8, "momentum": 0.9,
                                            "loss": "cross_entropy"})),
    "kolen_pollack rate": lambda: _small(ROWS["kolen_pollack · rate"]),
    "stdp": lambda: _small(ROWS["stdp (pair, all-to-all)"]),
    "stdp_nearest": lambda: _small(ROWS["stdp_nearest"]),
    "triplet_stdp": lambda: _small(ROWS["triplet_stdp"]),
    "rstdp, delayed reward": _rstdp,
    "brainprop": lambda: _small(ROWS["brainprop · rate"]),
    "lif: noise, poisson, populations, fixed layer": _lif_extras,
    "gated rstdp (tag with set/before/step terms)": _gated_rstdp,
}


@needs_brian2
@pytest.mark.parametrize("case", list(CASES))
def test_runtime_equals_the_reference(case):
    from neurolearn.backends.brian2 import simulate
    spec = CASES[case]()
    steps = 300
    got = simulate(spec, steps=steps, record_every=60)
    want = reference(spec, steps=steps, record_every=60)
    assert set(got.weights) == set(want.weights)
    changed = 0.0
    for name, w in want.weights.items():
        assert got.weights[name].shape == w.shape
        assert np.abs(got.weights[name] - w).max() <= EXACT, name
        changed = max(changed, float(np.abs(w[-1] - w[0]).max()))
    assert changed > 1e-4  # the run learned something
    np.testing.assert_allclose(got.outputs, want.outputs, rtol=0, atol=EXACT)
    np.testing.assert_allclose(got.errors, want.errors, rtol=0, atol=EXACT)
    for name, s in want.spikes.items():
        assert np.array_equal(got.spikes[name], s), name
    p, q = got.extra["params"], want.extra["params"]
    for a, b in zip(p.b, q.b):
        assert np.abs(a - b).max() <= EXACT
    for k in q.B:  # learned feedback (Kolen-Pollack) follows W on both
        assert np.abs(p.B[k] - q.B[k]).max() <= EXACT


@needs_brian2
def test_run_trains_as_the_reference_does():
    from neurolearn.backends.brian2 import run
    spec = _small(_spec(name="delta · FA · rate", data={"n_train": 30, "n_test": 30},
                        training={"epochs": 2, "batch_size": 4, "lr_decay": 0.5},
                        simulation={"t_example": 0.003, "teach": 0.7}))
    got = run(spec, quiet=True)
    want = run_time_stepped(spec, quiet=True)
    for a, b in zip(got.weights, want.weights):
        assert np.abs(a - b).max() <= EXACT
    assert got.history["test_accuracy"] == want.history["test_accuracy"]
    assert got.backend == "brian2" and got.extra["variant"] == "numpy"


@needs_brian2
def test_compare_grades_brian2_at_the_exact_tier():
    from neurolearn.compare.run import compare
    rep = compare(_small(ROWS["stdp (pair, all-to-all)"]), ["brian2"], steps=150, record_every=50,
                  task_epochs=0, quiet=True, variants={"brian2": ("numpy",)})
    plumbing = [v for v in rep.verdicts if v.check == "plumbing"]
    assert len(plumbing) == 1 and plumbing[0].status == "pass"
    assert plumbing[0].against == "numpy[textbook schedule]"
    assert plumbing[0].figures["max_abs_dW"] <= EXACT
    textbook = [v for v in rep.verdicts if v.check == "textbook"][0]
    assert textbook.status == "pass" and textbook.figures["corr_dW"] > 0.999999


@needs_brian2
def test_a_time_limit_ends_a_run():
    from neurolearn.backends.brian2 import simulate
    from neurolearn.errors import TimeLimitExceeded
    with pytest.raises(TimeLimitExceeded):
        simulate(_small(ROWS["delta · FA · lif"]), steps=200_000, time_limit=3)


@needs_brian2
@pytest.mark.slow
def test_cython_target_equals_numpy():
    from neurolearn.backends.brian2 import simulate
    spec = _small(ROWS["triplet_stdp"])
    a = simulate(spec, steps=200, record_every=50, variant="cython")
    b = reference(spec, steps=200, record_every=50)
    for name in b.weights:
        assert np.abs(a.weights[name] - b.weights[name]).max() <= EXACT


def test_row_spec_keeps_its_defaults():
    # the reward-modulated row has no learned bias (its tag needs none); others keep theirs
    assert not ROWS["rstdp (reward, eligibility tag)"].network.layers[1].bias
    assert ROWS["delta · FA · lif"].network.layers[1].bias
    spec = row_spec("x", "delta", "random", ("tanh", "sigmoid"), "digits")
    assert spec.reward is None and spec.training.loss == "mse"
