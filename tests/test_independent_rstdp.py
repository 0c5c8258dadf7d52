"""Reward-modulated STDP: the reference (the rule IR: a tag and a third factor) against
NEST's stdp_dopamine_synapse on an open-loop protocol, and the two-choice reward task
that R-STDP learns on the reference, Brian2 and NEST."""

import numpy as np
import pytest

from neurolearn import backends
from neurolearn.independent import is_installed
from neurolearn.independent.measure import rstdp_weight_changes as weight_changes
from neurolearn.independent.rstdp import (DopaSTDP, compare, exact_increments,
                                          random_protocol)

needs_nest = pytest.mark.skipif(not is_installed("nest"),
                                reason="nest not installed: pip install 'neurolearn[nest]'")
needs_brian2 = pytest.mark.skipif(not backends.is_installed("brian2"),
                                  reason="brian2 not installed: pip install 'neurolearn[brian2]'")
DT = 0.001
PARAMS = DopaSTDP(b=5.0)  # a baseline: n - b is negative between rewards


@pytest.fixture(scope="module")
def protocol():
    # 4 synapses, 20 Hz pre and post, tonic dopamine at 10 Hz and three rewards
    return random_protocol(0, n=4, duration=1.0, rewards=((0.3, 3), (0.55, 5), (0.8, 2)),
                           tonic=10.0)


@pytest.fixture(scope="module")
def ref(protocol):
    return weight_changes("reference", protocol, PARAMS, DT)


def test_reference_weight_is_the_riemann_sum_of_its_tag_and_third_factor(protocol, ref):
    w = protocol.w0 + np.cumsum(DT * ref["c"] * (ref["n"] - PARAMS.b)[:, None], axis=0)
    assert np.abs(w - ref["w"]).max() <= 1e-12 * np.abs(ref["w"]).max()
    assert np.abs(ref["w"][-1] - protocol.w0).max() > 1.0  # rewards moved the weights


@needs_nest
def test_nest_dopamine_synapse_equals_the_reference_up_to_the_integration(protocol, ref):
    nest = weight_changes("nest", protocol, PARAMS, DT)
    cmp = compare(ref, nest, protocol, PARAMS, DT)
    scale = cmp.w_change
    assert cmp.c <= 1e-12 and cmp.n <= 1e-10       # measured 4.6e-14, 4.9e-13
    assert cmp.w_exact <= 1e-12 * scale * 100       # NEST integrates c(n - b) exactly
    # the reference's left Riemann sum differs by at most the sum of its per-step
    # quadrature errors, O(dt / tau)
    riemann = DT * ref["c"] * (ref["n"] - PARAMS.b)[:, None]
    bound = np.cumsum(np.abs(riemann - exact_increments(ref["c"], ref["n"], PARAMS, DT)),
                      axis=0)
    assert np.all(np.abs(ref["w"] - nest["w"]) <= bound + 1e-9)
    assert 1e-3 * scale < cmp.w < 2e-2 * scale      # measured 0.102 of 17.7


@needs_nest
def test_the_reference_converges_to_nest_as_dt_shrinks(protocol):
    short = random_protocol(1, n=2, duration=0.5, rewards=((0.2, 4),), tonic=10.0)
    gaps = []
    for f in (1, 10):
        p, dt = short.refined(f), DT / f
        ref = weight_changes("reference", p, PARAMS, dt)
        nest = weight_changes("nest", p, PARAMS, dt, every=f)
        gaps.append(compare(ref, nest, p, PARAMS, dt).w)
    assert gaps[1] < 0.15 * gaps[0]   # first order in dt


def test_protocol_rejects_a_same_step_pair():
    from neurolearn.independent.rstdp import DopaProtocol
    with pytest.raises(ValueError, match="same step"):
        DopaProtocol([[5]], [[5]], [], [], 10)
    with pytest.raises(ValueError, match="outside the protocol"):
        random_protocol(0, duration=0.5, rewards=((0.9, 1),))


# -- the two-choice task ---------------------------------------------------------------
@pytest.fixture(scope="module")
def task_spec():
    from neurolearn.rules import load
    return load("examples/specs/rstdp_two_choice.toml")


def test_reference_learns_the_two_choice_task_from_reward(task_spec):
    from neurolearn.independent.rstdp_task import reference_curve
    c = reference_curve(task_spec, seed=0, every=54, limit=162)
    assert c.accuracy[0] < 0.6                      # chance: 0.42 before learning
    assert c.accuracy[-1] >= 0.9                    # measured 0.944 after 162 examples
    assert c.rewarded[-1] > c.rewarded[1]


@needs_brian2
def test_brian2_runs_the_task_as_the_reference(task_spec):
    from dataclasses import replace

    from neurolearn.backends.brian2 import simulate
    from neurolearn.reference.simulator import simulate as reference
    spec = task_spec.with_(simulation=replace(task_spec.simulation, t_example=0.05))
    a = simulate(spec, steps=400, record_every=100)
    b = reference(spec, steps=400, record_every=100)
    assert np.abs(a.weights["action"] - b.weights["action"]).max() <= 1e-12
    assert np.abs(b.weights["action"][-1] - b.weights["action"][0]).max() > 1e-5


@pytest.mark.slow
def test_builtin_rstdp_does_not_learn_the_task(task_spec):
    """The contrast of docs/rstdp_task.md: pair STDP with A- = 1.05 A+ gives rate-coded
    inputs a negative eligibility, and one global rpe for both actions gives no credit
    to the action taken: the builtin rule does not learn (it unlearns)."""
    from neurolearn.independent.rstdp_task import reference_curve
    from neurolearn.rules.ir import Rule
    from dataclasses import replace
    spec = task_spec.with_(rule=Rule(builtin="rstdp", eta=task_spec.rule.eta),
                           training=replace(task_spec.training, loss="mse"))
    c = reference_curve(spec, seed=0, every=271, epochs=2)
    assert max(c.accuracy[1:]) < 0.7


@needs_nest
@pytest.mark.slow
def test_nest_learns_the_task_with_stdp_dopamine_synapses(task_spec):
    from neurolearn.independent.nest_task import nest_curve
    c = nest_curve(task_spec, seed=0, every=54, epochs=1)
    assert c.accuracy[-1] >= 0.9                    # measured 0.955 after one pass


@pytest.mark.slow
def test_lava_learns_the_task_with_tags_and_reward(task_spec):
    """Lava's stock lowering (x0/y0 products, the tag in Lava's t, the reward as a
    third factor from the output population) learns the task like the reference (one
    pass: >= 0.9)."""
    if not backends.is_installed("lava"):
        pytest.skip("lava not installed: pip install 'neurolearn[lava]'")
    lava = backends.get("lava")
    res = lava.run(task_spec, epochs=1, quiet=True, variant="stock")
    assert res.test_accuracy >= 0.9


def test_lava_fixed_point_learns_the_task_on_its_weight_grid(task_spec):
    """Lava's fixed-point engine (the emulator, equal to Lava's runtime to 0 LSB in
    tests/test_lava_stdp.py; no lava needed) learns the task in one pass (>= 0.9) with
    the lowering's weight grid, which leaves the weights room for 4x growth: the
    trained float weights reach 7x their initial peak."""
    from neurolearn.independent.rstdp_task import lava_curve
    curve = lava_curve(task_spec, 0, epochs=1, every=271, precision="fixed",
                       engine="emulator")
    assert curve.accuracy[0] < 0.6 and curve.final >= 0.9


@pytest.mark.slow
def test_lava_fixed_point_runtime_learns_the_task_as_its_emulator(task_spec):
    """The same pass on Lava's fixed-point runtime: the same curve, bit for bit."""
    if not backends.is_installed("lava"):
        pytest.skip("lava not installed: pip install 'neurolearn[lava]'")
    from neurolearn.independent.rstdp_task import lava_curve
    kw = dict(epochs=1, every=90, precision="fixed")
    runtime = lava_curve(task_spec, 0, **kw)
    emulator = lava_curve(task_spec, 0, engine="emulator", **kw)
    assert runtime.accuracy == emulator.accuracy and runtime.final >= 0.9


@pytest.mark.slow
def test_lava_curve_ends_at_the_lava_run_and_learns(task_spec):
    """The learning curve of docs/rstdp_task.md on Lava (fused): its last point is the
    accuracy that ``neurolearn run --backend lava`` gives after the same pass (the same
    stream, the same weights), and it learns (>= 0.9 after one pass)."""
    if not backends.is_installed("lava"):
        pytest.skip("lava not installed: pip install 'neurolearn[lava]'")
    from neurolearn.independent.rstdp_task import lava_curve
    curve = lava_curve(task_spec, 0, epochs=1)
    res = backends.get("lava").run(task_spec, epochs=1, quiet=True, variant="fused")
    assert curve.examples[-1] == 271 and curve.final == res.test_accuracy
    assert curve.final >= 0.9 and curve.accuracy[0] < 0.6
