"""Learning in phases on tasks (slow: minutes per run). Digits: each rule's example
spec within 2 points of backprop at the same budget (segregated dendrites within 3)
and above the same network with its hidden layer frozen, on seeds 0-2 (tuned on 0).
Fashion-MNIST: each rule's accuracy after 2 of its spec's 20 epochs, the budget
measured so far (benchmarks/README.md records every figure, FA's and BP's at the same
budget and its command). The full 20-epoch runs (30-60 minutes each) are recorded in
benchmarks/README.md with their command, not asserted here."""

from dataclasses import replace

import pytest

from neurolearn.backends.numpy import run
from neurolearn.data.idx import DataNotFound, find_idx_dir
from neurolearn.rules import load
from neurolearn.rules.ir import Data, Feedback, Layer, Network, Rule, Spec, Training
from neurolearn.rules.neurons import Neuron

pytestmark = pytest.mark.slow

GAP = {"segregated_dendrites": 0.03, "equilibrium_propagation": 0.02,
       "predictive_coding": 0.02, "weight_mirror": 0.02}


def rule_spec(specs_dir, rule, seed, frozen=False, dataset="digits"):
    spec = load(specs_dir / f"{rule}_{dataset}.toml")
    layers = list(spec.network.layers)
    if frozen:
        layers[1:-1] = [replace(layer, plastic=False) for layer in layers[1:-1]]
    return spec.with_(network=replace(spec.network, layers=layers),
                      training=replace(spec.training, seed=seed))


def bp_spec(seed):
    """The digits table's network at the same budget: 64-128-10, tanh/sigmoid."""
    return Spec("bp_digits_64_128_10",
                Network([Layer("input", 64), Layer("h1", 128, Neuron("tanh")),
                         Layer("output", 10, Neuron("sigmoid"))], Feedback("transport")),
                Rule(builtin="delta", eta=0.1), Data("digits"),
                Training(epochs=20, batch_size=4, seed=seed))


# measured (benchmarks/phased_digits.py --seeds 2): equilibrium propagation ends at
# 96.44 %, equal to its frozen control's best epoch (96.44 %, before that run falls to
# 11.78 %); the bar is strict, so this case is a known shortfall, not a pass
EP_SEED_2 = pytest.mark.xfail(strict=True, reason="EP seed 2 ties its frozen control's "
                              "best epoch (96.44 %); see benchmarks/README.md")
CASES = [pytest.param(rule, seed, marks=EP_SEED_2 if (rule, seed) == (
             "equilibrium_propagation", 2) else ()) for rule in GAP for seed in (0, 1, 2)]


@pytest.mark.parametrize("rule,seed", CASES)
def test_digits_near_backprop_and_above_a_frozen_hidden_layer(specs_dir, rule, seed):
    bp = run(bp_spec(seed), quiet=True).test_accuracy
    res = run(rule_spec(specs_dir, rule, seed), quiet=True)
    frozen = run(rule_spec(specs_dir, rule, seed, frozen=True), quiet=True)
    assert res.test_accuracy >= bp - GAP[rule], (res.test_accuracy, bp)
    assert res.test_accuracy > frozen.test_accuracy
    # not only at the end: the frozen network's best epoch is below the rule's end
    assert res.test_accuracy > max(frozen.history["test_accuracy"])


# measured 2-epoch accuracies (seed 0) minus half a point (benchmarks/README.md)
FASHION_EPOCHS = 2
FASHION = {"predictive_coding": 0.8291, "weight_mirror": 0.8285,
           "equilibrium_propagation": 0.8428, "segregated_dendrites": 0.8288}


@pytest.mark.parametrize("rule", list(FASHION))
def test_fashion_mnist(specs_dir, rule):
    try:
        find_idx_dir("fashion_mnist")
    except DataNotFound as err:
        pytest.skip(str(err))
    spec = load(specs_dir / f"{rule}_fashion_mnist.toml")
    spec = spec.with_(training=replace(spec.training, epochs=FASHION_EPOCHS))
    res = run(spec, quiet=True)
    assert res.test_accuracy >= FASHION[rule]
