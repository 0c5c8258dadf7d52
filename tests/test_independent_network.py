"""A two-layer LIF network learning with pair STDP on both projections: Brian2, written
with the reference's conventions and its usual event-deposited synaptic current, gives
the reference's spikes and weights (the reference's synapse is current-based:
I = low-pass(W s)); a current recomputed as W(t) x_hat(t) departs once weights move."""

import numpy as np
import pytest

from neurolearn.independent import is_installed
from neurolearn.independent import network as net

pytestmark = pytest.mark.skipif(not is_installed("brian2"),
                                reason="brian2 not installed: pip install 'neurolearn[brian2]'")


@pytest.fixture(scope="module")
def run():
    p = net.problem((120, 40, 6), 400, seed=1)
    return p, net.reference(p, record=True)


def test_brian2_event_current_reproduces_the_reference_with_learning(run):
    p, ref = run
    b = net.brian2(p, "numpy", current="event", record=True)
    assert sum(ref["spikes"]) > 500 and min(ref["spikes"]) > 20
    for a, c in zip(ref["spike_arrays"], b["spike_arrays"]):
        assert np.array_equal(a, c)
    for w_ref, w_b2, w0 in zip(ref["W"], b["W"], p.W):
        assert np.abs(w_ref - w0).max() > 1e-4  # learned
        assert np.abs(w_ref - w_b2).max() <= 1e-15


def test_summed_current_departs_once_weights_move(run):
    p, ref = run
    b = net.brian2(p, "numpy", current="summed", record=True)
    moved = max(np.abs(x - y).max() for x, y in zip(ref["W"], b["W"]))
    assert moved > 1e-6
    with pytest.raises(ValueError, match="current must be one of"):
        net.brian2(p, current="conductance")
    with pytest.raises(ValueError, match="target must be one of"):
        net.brian2(p, target="cuda_standalone")


@pytest.mark.slow
def test_cpp_standalone_reproduces_the_reference_with_learning(run, tmp_path, monkeypatch):
    """Brian2's C++ standalone device (the speed benchmark's fastest Brian2 target) runs
    the same network: the reference's spikes, and its weights to 1e-15; its project is
    a temporary directory, removed, with nothing written where it ran (slow: the
    project compiles, about 30 s)."""
    p, ref = run
    monkeypatch.chdir(tmp_path)
    b = net.brian2(p, "cpp_standalone", current="event", record=True)
    assert list(tmp_path.iterdir()) == []
    for a, c in zip(ref["spike_arrays"], b["spike_arrays"]):
        assert np.array_equal(a, c)
    for w_ref, w_b2 in zip(ref["W"], b["W"]):
        assert np.abs(w_ref - w_b2).max() <= 1e-15
    assert b["run_wall_s"] > 0 and b["build_s"] > b["run_wall_s"]
