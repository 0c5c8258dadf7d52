"""The quantized reference: Lava's integer learning engine, bit for bit, and the
quantized trainer (deterministic, learns)."""

import numpy as np
import pytest

from neurolearn.hardware import arith as A


def _lava():
    pytest.importorskip("lava")
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
    from lava.magma.core.learning.learning_rule_applier import LearningRuleApplierBitApprox
    from lava.magma.core.learning.random import ConnVarRandom
    from lava.magma.core.model.py.connection import \
        LearningConnectionModelBitApproximate as Model
    from lava.utils.weightutils import SignMode, clip_weights
    return (Loihi2FLearningRule, LearningRuleApplierBitApprox, ConnVarRandom, Model,
            SignMode, clip_weights)


@pytest.mark.lava
def test_learning_epoch_matches_lava_bit_for_bit():
    """50 random epochs of a three-product rule (mixed scales, a w factor, a
    negative term, saturating values): arith.learn_weights equals Lava's fixed_pt
    applier + stochastic rounding + clipping exactly, and WeightRounding reproduces
    ConnVarRandom's stream."""
    Rule, Applier, ConnVarRandom, Model, SignMode, clip_weights = _lava()
    rule = Rule(dw="3 * 2^-5 * u0 * x1 * y2 - 2^-7 * u0 * x1 * y3 + 2^2 * u0 * w * y1",
                x1_tau=10, t_epoch=1, rng_seed=5)
    applier = Applier(rule.active_product_series["dw"])
    rng = np.random.default_rng(0)
    post, pre = 7, 5
    lava_rand, ours = ConnVarRandom(), A.WeightRounding()
    for _ in range(50):
        w = rng.integers(-256, 256, (post, pre))
        x1 = rng.integers(0, 128, (1, pre))
        y = rng.integers(0, 128, (3, post, 1))
        args = dict(shape=(post, pre), x0=np.zeros((1, pre), bool),
                    y0=np.zeros((post, 1), bool), u=1, weights=w, tag_2=np.zeros_like(w),
                    tag_1=np.zeros_like(w), x1_u=x1, y1_u=y[0], y2_u=y[1], y3_u=y[2])
        lava_rand.advance()
        r = lava_rand.random_stochastic_round
        assert r == ours.advance()
        acc = applier.apply(w << 7, **args)
        acc = Model._stochastic_round_synaptic_variable("weights", acc, r)
        expected = clip_weights(acc >> 7, SignMode.MIXED, 8)
        got = A.learn_weights(w, [A.product(1, [(x1, 7), (y[1], 7)], 3, -5),
                                  A.product(1, [(x1, 7), (y[2], 7)], -1, -7),
                                  A.product(1, [(w, 9), (y[0], 7)], 1, 2)], r)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.lava
def test_trace_primitives_match_lava():
    _, _, _, Model, _, _ = _lava()
    rng = np.random.default_rng(1)
    for _ in range(50):
        tv = rng.integers(0, 128, 9)
        rd, ri = rng.random(), int(rng.integers(0, 128))
        tau = float(rng.integers(1, 40))
        np.testing.assert_array_equal(A.decay_trace(tv, tau, rd),
                                      Model._decay_trace(tv, 1, np.array([[tau]]), rd)[0])
        np.testing.assert_array_equal(A.add_impulse(tv, ri, 3, 77),
                                      Model._add_impulse(tv, ri, np.array(3), np.array(77)))


def test_product_shift_and_saturation_by_hand():
    # 127 * 127 * 7 = 112903, widths 7+7+4 = 18 -> >> 3 = 14112, e = -7 -> << 0
    assert A.product(1, [(127, 7), (127, 7)], 7, -7) == 14112
    # e = 8 shifts by 15 and saturates at 2^15 - 1
    assert A.product(1, [(127, 7), (127, 7)], 7, 8) == 2 ** 15 - 1
    # negative products floor: -1 * 1 * 1 >> 3 = -1
    assert A.product(1, [(1, 7), (1, 7)], -1, -7) == -1
    # a factor above its width saturates before the multiply
    assert A.product(1, [(500, 7), (1, 7)], 1, -7) == 127 >> 3
    # dependency 0 gives nothing
    assert A.product(0, [(127, 7), (127, 7)], 7, 0) == 0


def test_split_and_nearest_scale():
    assert A.split_scale(2 ** -7) == (1, -7)
    assert A.split_scale(-8 * 2.0 ** 8) == (-8, 8)
    assert A.split_scale(0.3) is None
    assert A.split_scale(2.0 ** -8) is None       # below 2^-7
    assert A.split_scale(8 * 2.0 ** 8) is None    # above 7 * 2^8
    m, e = A.nearest_scale(0.3)
    assert abs(m * 2.0 ** e - 0.3) <= 2.0 ** -5


def test_weight_rounding_is_seeded_and_shared():
    a, b = A.WeightRounding(), A.WeightRounding()
    assert [a.advance() for _ in range(5)] == [b.advance() for _ in range(5)]
    acc = np.array([64, 64, 191])  # fractions 0.5, 0.5, 0.49 of q = 128
    out = A.round_weight_accumulator(acc, 0.495)
    np.testing.assert_array_equal(out, [128, 128, 128])


# ---- the quantized trainer ---------------------------------------------------------------

from neurolearn.errors import SpecError, UnsupportedRule  # noqa: E402
from neurolearn.hardware.profile import load_profile  # noqa: E402
from neurolearn.hardware.profile import widths_of  # noqa: E402
from neurolearn.reference.quantized import QuantizedTrainer, train_quantized  # noqa: E402
from neurolearn.rules.io import load  # noqa: E402
from neurolearn.rules.ir import Spec  # noqa: E402
from neurolearn.rules.schema import from_dict  # noqa: E402


def _fa_digits(specs_dir, hidden=32):
    spec = load(specs_dir / "fa_digits.toml")
    spec.network.layers[1].size = hidden
    spec.network.layers[2].size = hidden
    return spec


def test_loihi2_widths_are_lavas():
    assert widths_of(load_profile("loihi2")) == A.EngineWidths()


def test_quantized_run_is_deterministic_and_on_grid(specs_dir):
    spec = _fa_digits(specs_dir)
    a = train_quantized(spec, profile="loihi2", epochs=2, quiet=True)
    b = train_quantized(spec, profile="loihi2", epochs=2, quiet=True)
    assert a.precision == "fixed" and a.test_accuracy == b.test_accuracy
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa, wb)
    t = a.state
    for l, W in enumerate(a.weights):
        grid = W * 2.0 ** t.f[l]
        np.testing.assert_array_equal(grid, np.rint(grid))
        assert grid.min() >= -256 and grid.max() <= 255
    spec.training.seed = 1
    c = train_quantized(spec, profile="loihi2", epochs=2, quiet=True)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a.weights, c.weights))


def test_quantized_step_follows_the_documented_arithmetic(specs_dir):
    """One minibatch by hand from arith's primitives equals QuantizedTrainer.step."""
    spec = _fa_digits(specs_dir, hidden=8)
    t = QuantizedTrainer(spec, profile=load_profile("loihi2"))
    rng = np.random.default_rng(5)
    x, y = rng.random((4, 64)), np.eye(10)[rng.integers(0, 10, 4)]
    _, _, _, _, pre, post = t.signals(x, y)
    Wq0 = [w.copy() for w in t.Wq]
    y_rng = np.random.default_rng([spec.training.seed, 3])
    rounding = A.WeightRounding(seed=[spec.training.seed, 2])
    t.step(x, y)
    r = rounding.advance()
    for l in range(3):
        k, (m, e) = t.k[(l, 0)], t.scale[(l, 0)]
        xin = np.concatenate([pre[l]["activity"], np.ones((4, 1))], axis=1)
        xq = np.clip(np.rint(xin * 127), -127, 127).astype(int)
        P = post[l]["error_drive"]
        sc = np.abs(P) * 2.0 ** k
        fl = np.floor(sc)
        yq = (np.sign(P) * np.minimum(fl + (y_rng.random(P.shape) < sc - fl), 127)).astype(int)
        prods = [A.product(1, [(np.outer(yq[s], np.ones(xq.shape[1], int)), 7),
                               (np.outer(np.ones(len(yq[s]), int), xq[s]), 7)], m, e)
                 for s in range(4)]
        expected = A.learn_weights(Wq0[l], prods, r)
        np.testing.assert_array_equal(t.Wq[l], expected)


def test_quantized_fa_learns_digits(specs_dir):
    spec = load(specs_dir / "fa_digits.toml")
    res = train_quantized(spec, profile="loihi2", epochs=4, quiet=True)
    assert res.test_accuracy > 0.5  # chance is 0.1; measured 0.66 at 3 epochs
    assert res.extra["profile"] == "loihi2" and res.extra["saturations"]["accumulator"] == 0


def test_quantized_refuses_what_it_cannot_model(specs_dir, tmp_path):
    spec = load(specs_dir / "fa_digits.toml")
    with pytest.raises(SpecError, match="profile 'cpu' is float"):
        train_quantized(spec, profile="cpu", epochs=1, quiet=True)
    with pytest.raises(SpecError, match="needs weights.bits"):
        p = tmp_path / "bare.toml"
        p.write_text('name = "bare"\n')
        train_quantized(spec, profile=str(p), epochs=1, quiet=True)
    with pytest.raises(UnsupportedRule, match="learned"):
        train_quantized(load(specs_dir / "kp_digits.toml"), epochs=1, quiet=True)
    with pytest.raises(UnsupportedRule, match="spiking"):
        train_quantized(load(specs_dir / "fa_digits_spiking.toml"), epochs=1, quiet=True)


def test_numpy_backend_routes_fixed_precision(specs_dir):
    from neurolearn.backends.numpy import run
    spec = _fa_digits(specs_dir, hidden=16)
    res = run(spec, precision="fixed", profile="loihi2", epochs=1, quiet=True)
    assert res.precision == "fixed" and res.extra["weight_frac_bits"]


def test_weight_headroom_from_the_command_line(specs_dir, tmp_path):
    """--weight-headroom H sets the fixed-point grid's room for growth (f drops by
    log2 H against H = 1), with --save too (a resumed run keeps the checkpoint's grid);
    a bad value or a run it does not apply to is one clear error, exit status 2."""
    import json

    from cli_runner import run_cli

    from neurolearn.rules.io import save
    spec = save(_fa_digits(specs_dir, hidden=16), tmp_path / "fa16.toml")
    base = ["run", spec, "--precision", "fixed", "--profile", "loihi2", "--epochs", "1",
            "--quiet"]
    frac = {}
    for h in ("1", "4"):
        out = tmp_path / f"h{h}.json"
        o = run_cli(base + ["--weight-headroom", h, "--json", out])
        assert o.status == 0, o.err
        frac[h] = json.loads(out.read_text())["extra"]["weight_frac_bits"]
    assert frac["1"] and {k: v - 2 for k, v in frac["1"].items()} == frac["4"]
    # a saved run trains on that grid, and its checkpoint resumes on it
    ck, out = tmp_path / "ck", tmp_path / "saved.json"
    o = run_cli(base + ["--weight-headroom", "1", "--save", ck, "--json", out])
    assert o.status == 0, o.err
    assert json.loads(out.read_text())["extra"]["weight_frac_bits"] == frac["1"]
    o = run_cli(["run", "--resume", ck, "--epochs", "2", "--quiet", "--json", out])
    assert o.status == 0, o.err
    assert json.loads(out.read_text())["extra"]["weight_frac_bits"] == frac["1"]
    for argv, msg in ((base + ["--weight-headroom", "0.5"], "must be a number >= 1"),
                      (base + ["--weight-headroom", "nan"], "must be a number >= 1"),
                      (["run", spec, "--weight-headroom", "2"],
                       "--weight-headroom: applies to --precision fixed on numpy or lava"),
                      (["run", "--resume", ck, "--precision", "fixed", "--weight-headroom",
                        "2"], "--weight-headroom: applies to a fresh training run")):
        o = run_cli(argv)
        assert o.status == 2 and o.problem() is None and msg in o.err, o.err


# ---- the whole learning synapse, step by step, against a Lava process run -----------------

LAVA_RUN = r'''
"""Run a fixed-point LearningDense in Lava and the NumPy engine model; compare."""
import sys
import numpy as np
from lava.magma.core.learning.constants import GradedSpikeCfg
from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.magma.core.run_conditions import RunSteps
from lava.proc.dense.process import LearningDense
from lava.proc.io.source import RingBuffer
from neurolearn.hardware.engine import LearningDenseFixed, Product

def main(t_epoch, seed, mode="graded"):
    rng = np.random.default_rng(seed)
    n_pre, n_post, T = 5, 4, 12
    W = rng.integers(-200, 200, (n_post, n_pre))
    X = rng.integers(0, 255, (n_pre, T)) * (rng.random((n_pre, T)) < 0.7)
    if mode == "spikes":
        X = (rng.random((n_pre, T)) < 0.5).astype(int)
    Y = rng.integers(0, 128, (3, n_post, T))
    dw = "3 * 2^-3 * u0 * x1 * y2 - 5 * 2^-4 * u0 * x1 * y3 + 2^-6 * u0 * w * y1"
    prods = [Product("u", ["x1", "y2"], 3, -3), Product("u", ["x1", "y3"], -5, -4),
             Product("u", ["w", "y1"], 1, -6)]
    imp = 0 if mode == "graded" else 16.3
    if mode == "spikes":
        dw = "2^-2 * x0 * y2 - 3 * 2^-5 * u0 * x1 * y3 + 2^-4 * x0 * x2 * y1"
        prods = [Product("x0", ["y2"], 1, -2), Product("u", ["x1", "y3"], -3, -5),
                 Product("x0", ["x2", "y1"], 1, -4)]
    rule = Loihi3FLearningRule(dw=dw, x1_tau=20, x1_impulse=imp, x2_tau=9, x2_impulse=7.6,
                               t_epoch=t_epoch, rng_seed=seed + 7)
    conn = LearningDense(weights=W.copy(), learning_rule=rule,
                         num_message_bits=8 if mode == "graded" else 0,
                         graded_spike_cfg=GradedSpikeCfg.OVERWRITE if mode == "graded"
                         else GradedSpikeCfg.USE_REGULAR_IMPULSE)
    src = RingBuffer(data=X.astype(np.int32))
    src.s_out.connect(conn.s_in)
    ys = []
    for i, port in enumerate((conn.s_in_y1, conn.s_in_y2, conn.s_in_y3)):
        r = RingBuffer(data=Y[i].astype(np.int32)); r.s_out.connect(port); ys.append(r)
    bap = RingBuffer(data=np.zeros((n_post, T), np.int32)); bap.s_out.connect(conn.s_in_bap)
    got = []
    try:
        for t in range(T):
            conn.run(condition=RunSteps(num_steps=1), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
            got.append(conn.weights.get().astype(int))
    finally:
        conn.stop()
    model = LearningDenseFixed(W, prods, t_epoch=t_epoch, rng_seed=seed + 7, x1_tau=20,
                               x1_impulse=imp, x2_tau=9, x2_impulse=7.6,
                               graded="overwrite" if mode == "graded" else "impulse",
                               y_taus=(rule.y1_tau, rule.y2_tau, rule.y3_tau))
    ok = True
    for t in range(T):
        model.step(X[:, t], Y[:, :, t])
        if not np.array_equal(model.weights, got[t]):
            print("MISMATCH at step", t + 1, "\nlava\n", got[t], "\nmodel\n", model.weights)
            ok = False
            break
    print("taus", rule.y1_tau, rule.y2_tau, rule.y3_tau, "changes", int(np.abs(got[-1] - (W // 2 * 2)).sum()))
    print("OK" if ok else "FAIL")

if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "graded")
'''


@pytest.mark.lava
@pytest.mark.parametrize("t_epoch,seed,mode", [(1, 0, "graded"), (3, 1, "graded"),
                                               (1, 0, "spikes"), (4, 2, "spikes")])
def test_engine_model_matches_a_lava_learningdense_run(tmp_path, t_epoch, seed, mode):
    """A fixed_pt LearningDense (Loihi3F rule, graded or binary input, u / x0
    dependencies, x1 and x2 traces, 12 steps) run by Lava in a child process: the
    weights after every step equal engine.LearningDenseFixed's bit for bit."""
    pytest.importorskip("lava")
    import subprocess
    import sys
    path = tmp_path / "run.py"
    path.write_text(LAVA_RUN)
    proc = subprocess.run([sys.executable, str(path), str(t_epoch), str(seed), mode],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("OK"), proc.stdout[-2000:]
