"""Fixed point: Lava's fixed_pt (bit-approximate) learning engine and the quantized
reference under Lava's schedule (loihi2 profile widths, neurolearn.hardware.arith)
give identical integer weights, 0 LSB, after 300 steps."""

import numpy as np
import pytest

from neurolearn.backends import lava as backend
from neurolearn.reference.schedules import lava as sched

from test_lava_equivalence import CASES, make_spec

STEPS = 300
FIXED_CASES = [("delta-random-lif", "stock"), ("delta-random-lif", "fused"),
               ("delta-direct-lif", "stock"), ("kolen_pollack-random-lif", "stock"),
               ("burstprop", "stock")]


@pytest.mark.parametrize("case,lowering", FIXED_CASES)
def test_fixed_point_zero_lsb(case, lowering):
    spec = make_spec(**CASES[case])
    ref = sched.simulate(spec, steps=STEPS, record_every=50, precision="fixed")
    got = backend.simulate(spec, steps=STEPS, record_every=50, lowering=lowering,
                           precision="fixed", timeout=120)
    changed = 0
    for name, w_ref in ref.weights.items():
        assert np.array_equal(w_ref, np.rint(w_ref)), "integer weights"
        assert w_ref.min() >= -256 and w_ref.max() <= 255
        changed += np.abs(w_ref[-1] - w_ref[0]).max()
        assert np.abs(got.weights[name] - w_ref).max() == 0.0, name  # 0 LSB
    assert changed >= 2  # the engine did learn
    assert np.abs(got.outputs - ref.outputs).max() == 0.0


def test_fixed_plan_uses_loihi2_limits():
    plans = sched.plan(make_spec("lif"), "fixed")
    for lp in plans:
        assert lp.fixed and lp.rule_string() == "2^-7 * u0 * x1 * y1"
        assert lp.x_tau == int(lp.x_tau) <= 255
    eng = sched.FixedEngine(plans[0], 64)
    assert eng.widths.weight_bits == 8 and eng.widths.trace_bits == 7
