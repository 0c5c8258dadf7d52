"""Lava itself: the stock lowering (Lava's own LearningDense and Dense) computes what
the emulator predicts, bit for bit (float: max |dW| = 0; fixed point: 0 LSB), and
the fused lowering (one process running the reference's Network under Lava's
schedule) matches the stock runtime to 1e-12, on every catalog row that lowers.
Each run happens in a Lava child process (neurolearn.backends.lava.runner)."""

import importlib.util

import numpy as np
import pytest

from neurolearn.backends.lava import emulate, simulate
from neurolearn.rules.catalog import catalog

pytestmark = pytest.mark.skipif(importlib.util.find_spec("lava") is None,
                                reason="lava is not installed (pip install 'neurolearn[lava]')")

ROWS = dict(catalog())
FLOAT_ROWS = ["delta · FA · rate", "delta · FA · rate · batch 8, momentum 0.9",
              "delta · DFA · rate", "delta · FA · lif", "delta · DFA · lif",
              "burstprop_rate", "burstprop (spiking)"]
FIXED_ROWS = ["delta · DFA · lif", "burstprop (spiking)"]
STEPS = 200
EVERY = 50
_stock = {}


def stock(row, precision="float"):
    if (row, precision) not in _stock:
        _stock[(row, precision)] = simulate(ROWS[row], steps=STEPS, record_every=EVERY,
                                            variant="stock", precision=precision,
                                            time_limit=300)
    return _stock[(row, precision)]


def _compare(a, b):
    """Largest difference of weights, biases, outputs, errors; whether spikes agree."""
    d = max(np.abs(a.weights[k] - b.weights[k]).max() for k in a.weights)
    d = max([d] + [np.abs(x - y).max() for x, y in zip(a.extra["params"].b,
                                                        b.extra["params"].b)])
    d = max(d, np.abs(a.outputs - b.outputs).max(), np.abs(a.errors - b.errors).max())
    spikes = all(np.array_equal(a.spikes[k], b.spikes[k]) for k in a.spikes)
    return d, spikes


@pytest.mark.parametrize("row", FLOAT_ROWS)
def test_stock_runtime_is_the_emulator_bit_for_bit(row):
    got = stock(row)
    em = emulate(ROWS[row], steps=STEPS, record_every=EVERY)
    assert list(got.steps) == list(em.steps) == [49, 99, 149, 199]
    assert set(got.weights) == set(em.weights)
    d, spikes = _compare(got, em)
    assert d == 0.0 and spikes
    moved = max(np.abs(w[-1] - w[0]).max() for w in got.weights.values())
    assert moved > 1e-6  # the engine learned
    if ROWS[row].network.spiking:
        assert all(s.sum() > 0 for s in got.spikes.values()), "a layer never spiked"


@pytest.mark.parametrize("row", FLOAT_ROWS)
def test_fused_runtime_matches_the_stock_runtime(row):
    fused = simulate(ROWS[row], steps=STEPS, record_every=EVERY, variant="fused",
                     time_limit=300)
    assert fused.extra["processes"] == 1 and fused.extra["variant"] == "fused"
    d, spikes = _compare(fused, stock(row))
    assert d <= 1e-12 and spikes


@pytest.mark.parametrize("row", FIXED_ROWS)
def test_fixed_point_runtime_is_the_emulator_zero_lsb(row):
    got = stock(row, "fixed")
    em = emulate(ROWS[row], steps=STEPS, record_every=EVERY, precision="fixed")
    d, spikes = _compare(got, em)
    assert d == 0.0 and spikes  # the weights are k 2^-f: equal floats are equal integers
    assert got.schedule.startswith("lava (fixed point")
