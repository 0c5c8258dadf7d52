"""The batched trainer's hot path (issue 16): float32 runs in single precision with the
momentum update fused into one GEMM (beta = 1 into a scaled velocity), within a
stated bound of float64;
no temporary the size of a weight matrix is made per minibatch (float64 and
float32). float64 results are covered bit for bit by the simulator equivalence
tests (tests/test_simulator.py)."""

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from neurolearn.data import load_dataset
from neurolearn.reference import trainer as T
from neurolearn.reference.blas import add_to, has_vector_ops, scale, sgemm
from neurolearn.rules import load

from conftest import SPECS


def _spec(name, dtype, **training):
    spec = load(SPECS / f"{name}.toml")
    return spec.with_(training=replace(spec.training, dtype=dtype, **training))


def _train(spec):
    return T.train(spec, dataset=load_dataset(spec.data, spec.training.seed), quiet=True)


def test_sgemm_is_numpys_blas_with_beta():
    if sgemm is None:
        pytest.skip("numpy is not linked to a bundled OpenBLAS here: the plain sequence runs")
    rng = np.random.default_rng(1)
    a, b = rng.random((32, 100), dtype=np.float32), rng.random((32, 70), dtype=np.float32)
    c = rng.random((100, 70), dtype=np.float32)
    want = 0.9 * c.astype(float) + a.T.astype(float) @ b.astype(float)
    got = sgemm(1.0, a, b, 0.9, c, trans_a=True)
    assert got is c and np.abs(c - want).max() < 1e-5
    with pytest.raises(ValueError, match="float32"):
        sgemm(1.0, a.astype(float), b, 0.0, c, trans_a=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_add_and_scale_are_numpys_arithmetic_bit_for_bit(dtype):
    """y += x and y *= a through ?axpy / ?scal equal numpy's results exactly, on
    vectors long enough for OpenBLAS to split them over its threads (1000 x 784 >
    10,000), and on arrays the BLAS cannot take (a transposed view: numpy runs)."""
    if not has_vector_ops(dtype):
        pytest.skip("numpy is not linked to a bundled OpenBLAS here: numpy runs")
    rng = np.random.default_rng(2)
    y = rng.standard_normal((1000, 784)).astype(dtype)
    x = (rng.standard_normal((1000, 784)) * 1e-3).astype(dtype)
    want = (y * dtype(0.9)) + x
    assert add_to(scale(y, 0.9), x) is y and np.array_equal(y, want)
    yt, want_t = y.T, y.T + x.T  # not C-contiguous
    assert np.array_equal(add_to(yt, x.T), want_t)


def test_float32_fused_momentum_stays_within_the_bound_of_float64():
    """fa_digits with momentum 0.5, 3 epochs: every weight within 1e-5 of float64's
    (measured 7e-7; weights are of order 0.7), the same test accuracy to 1 point,
    and the arrays are float32 throughout. (With a rate that diverges, eta 0.1 and
    momentum 0.9, rounding differences grow like any perturbation: no bound holds.)"""
    kw = dict(epochs=3, momentum=0.5)
    r64 = _train(_spec("fa_digits", "float64", **kw))
    s32 = _spec("fa_digits", "float32", **kw)
    assert T.BatchedTrainer(s32)._gemm is not None or sgemm is None
    r32 = _train(s32)
    assert all(w.dtype == np.float32 for w in r32.state.params.W + r32.state.params.b)
    err = max(np.abs(a.astype(float) - b).max() for a, b in zip(r32.weights, r64.weights))
    assert 0 < err < 1e-5
    assert abs(r32.test_accuracy - r64.test_accuracy) <= 0.01


def test_fused_update_against_the_four_pass_sequence(monkeypatch):
    """The fused GEMM (u += (cP / s)^T Q with v = s u; W += s u) against numpy's
    dW, mu v, v + dW, W + v in float32: equal to float32 rounding (the two only
    differ in the BLAS kernel's accumulation; measured <= 7e-7 on fa_fashion_mnist
    after 3 epochs of 3000 images, 0 on fa_digits)."""
    if sgemm is None:
        pytest.skip("no fused path on this BLAS")
    spec = _spec("bp_digits", "float32", epochs=3, momentum=0.5)
    fused = _train(spec)
    monkeypatch.setattr(T, "_fused_gemm", lambda *a: None)
    plain = _train(spec)
    err = max(np.abs(a - b).max() for a, b in zip(fused.weights, plain.weights))
    assert err <= 1e-6
    assert fused.test_accuracy == pytest.approx(plain.test_accuracy, abs=0.005)


@pytest.mark.parametrize("name", ["fa_digits", "kp_digits"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_no_weight_sized_temporaries_per_minibatch(name, dtype):
    """With one example per minibatch the activations are tiny, so any temporary of
    a weight matrix's size would show in the peak: forward, drives, rule update,
    learned feedback (Kolen-Pollack), momentum and apply allocate less than the
    smallest weight matrix (hidden layers widened to 512 so that numpy's fixed
    8192-element iterator buffers stay well below it)."""
    spec = _spec(name, dtype, momentum=0.9)
    layers = [replace(layer, size=512) if 0 < i < len(spec.network.layers) - 1 else layer
              for i, layer in enumerate(spec.network.layers)]
    spec = spec.with_(network=replace(spec.network, layers=layers))
    ds = load_dataset(spec.data, 0)
    tr = T.BatchedTrainer(spec)
    x, y = ds.x_train[:1].astype(dtype), ds.y_train[:1].astype(dtype)
    for _ in range(2):  # workspaces and velocities are made once
        tr.step(x, y)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            tr.step(x, y)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    smallest = min(w.nbytes for w in tr.params.W if w.shape[0] > 10)
    assert peak < smallest, (peak, [w.nbytes for w in tr.params.W])


def _halves(spec, monkeypatch=None):
    """Two epochs straight, and one epoch then a resume from its state (the loading
    trainer on the plain path when ``monkeypatch`` is given)."""
    whole = _train(spec)
    states = []
    ds = load_dataset(spec.data, spec.training.seed)
    T.train(spec, dataset=ds, epochs=1, quiet=True, on_epoch=states.append)
    if monkeypatch is not None:
        monkeypatch.setattr(T, "_fused_gemm", lambda *a: None)
    ds = load_dataset(spec.data, spec.training.seed)
    resumed = T.train(spec, dataset=ds, epochs=2, quiet=True, resume=states[-1])
    return whole, resumed, states[-1]


def test_float32_scaled_velocity_resumes_bit_for_bit():
    """The fused path keeps v = s u; a checkpoint carries u and s, so a resumed run
    equals the run that was never stopped, bit for bit (momentum 0.5: s falls below
    2^-16 every 16 updates, so u is rescaled several times per epoch of 43)."""
    if sgemm is None:
        pytest.skip("no fused path on this BLAS")
    spec = _spec("fa_digits", "float32", epochs=2, momentum=0.5)
    whole, resumed, state = _halves(spec)
    scales = state["trainer"]["meta"]["velocity_scale"]
    assert all(0.5 ** 16 <= s_ <= 1.0 for s_ in scales) and any(s_ < 1.0 for s_ in scales)
    for a, b in zip(whole.weights, resumed.weights):
        assert np.array_equal(a, b)


def test_float32_checkpoint_of_the_fused_path_loads_on_the_plain_path(monkeypatch):
    """A trainer without the fused path (another BLAS) loads v = s u itself: its
    second epoch stays within float32 rounding of the fused run's."""
    if sgemm is None:
        pytest.skip("no fused path on this BLAS")
    spec = _spec("fa_digits", "float32", epochs=2, momentum=0.5)
    whole, resumed, _ = _halves(spec, monkeypatch)
    assert resumed.state._vscale is None
    err = max(np.abs(a - b).max() for a, b in zip(whole.weights, resumed.weights))
    assert err <= 1e-6
