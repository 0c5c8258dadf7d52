"""Schedule.hold_steps: each example is held before its own t_example steps with the
teacher and plasticity off. It is timing, not meaning: plastic steps per example
(eta's meaning) are unchanged, so where nothing in the network remembers the hold
the reference learns exactly the same weights with and without it, and a hold as
long as an engine's pipeline undoes that pipeline's delays."""

from dataclasses import replace

import numpy as np
import pytest

from neurolearn.rules import load
from neurolearn.rules.ir import Factor, Rule, Term
from neurolearn.reference.schedule import TEXTBOOK, Schedule
from neurolearn.reference.simulator import simulate

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
FA_DIGITS = load(ROOT / "examples/specs/fa_digits.toml")  # 10-step examples, 5 plastic
N_EXAMPLES = 24  # 6 batches of 4


def _run(spec, schedule, n=N_EXAMPLES):
    k = 10 + schedule.hold_steps
    return simulate(spec, steps=n * k, record_every=k, schedule=schedule)


def _max_diff(a, b):
    names = a.weights.keys()
    out = max(float(np.abs(a.weights[k] - b.weights[k]).max()) for k in names)
    pa, pb = a.extra["params"], b.extra["params"]
    return max([out] + [float(np.abs(x - y).max()) for x, y in zip(pa.b, pb.b)])


@pytest.mark.parametrize("apply", ["batch", "step"])
def test_a_hold_without_delays_changes_nothing_for_a_rate_rule(apply):
    # rate neurons have no time course: without delays the settling and hold steps
    # leave no state behind, so the weights after every example are the same
    plain = _run(FA_DIGITS, Schedule("plain", apply=apply))
    held = _run(FA_DIGITS, Schedule("held", apply=apply, hold_steps=7))
    assert len(held.steps) == len(plain.steps) == N_EXAMPLES
    moved = max(float(np.abs(plain.weights[k][-1] - plain.weights[k][0]).max())
                for k in plain.weights)
    assert moved > 1e-3  # the rule really changed the weights
    assert _max_diff(plain, held) <= 1e-12


def test_a_hold_as_long_as_the_pipeline_undoes_forward_delays():
    # 3 projections, 6 steps each: the output answers an input 18 steps later. Held
    # that long, every plastic step sees the example's own settled signals, so with
    # batch application the delayed reference learns the textbook's weights
    delayed = Schedule("delayed", forward_delay=6, hold_steps=3 * 6)
    assert _max_diff(_run(FA_DIGITS, TEXTBOOK), _run(FA_DIGITS, delayed)) <= 1e-12
    # without the hold the plastic steps pair another example's output with this
    # example's target, and the weights differ at the size of the changes themselves
    short = _run(FA_DIGITS, Schedule("short", forward_delay=6))
    assert _max_diff(_run(FA_DIGITS, TEXTBOOK), short) > 1e-3


def test_traces_run_through_the_hold():
    # what is not true: a factor with its own time constant advances on every step,
    # hold included (traces run in physical time), so its value at the plastic steps,
    # and the weights, depend on the hold
    terms = [Term([Factor("pre", "activity", tau=0.02), Factor("post", "error_drive")])]
    spec = FA_DIGITS.with_(rule=Rule(terms=terms, eta=0.1))
    plain = _run(spec, TEXTBOOK)
    held = _run(spec, Schedule("held", hold_steps=7))
    assert _max_diff(plain, held) > 1e-4


def test_hold_steps_is_validated_and_described():
    with pytest.raises(ValueError, match="hold_steps must be a non-negative integer"):
        Schedule("bad", hold_steps=-1)
    assert "held 18 steps" in Schedule("s", hold_steps=18).describe()
    assert "held" not in TEXTBOOK.describe() and TEXTBOOK.hold_steps == 0
    assert replace(TEXTBOOK, hold_steps=0) == TEXTBOOK
