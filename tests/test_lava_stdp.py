"""Spike-timing and third-factor rules on Lava (issue 14): the lowering (x0/y0
products, Lava's pre traces, the eligibility tag in t, the reward as a post factor)
and every refusal; the emulator against the reference under the Program's schedule
(max |dW| <= 1e-12, no lava); Lava's stock runtime against the emulator (float:
max |dW| = 0; fixed point: 0 LSB) and the fused lowering against stock (1e-12); the
pairing curve on Lava."""

import importlib.util
from dataclasses import replace

import numpy as np
import pytest
from lava_stdp_specs import CASES, FA_LIF, FIXED, builtin, custom, reward_spec

from neurolearn.backends.lava import emulate, lower, simulate
from neurolearn.backends.lava.lower import EY, LAVA, LAVA_STEP_FLOAT, LAVA_STEP_TAG, SPIKED
from neurolearn.errors import UnsupportedRule
from neurolearn.independent import lava_stdp
from neurolearn.independent.measure import pairing_curve, weight_changes
from neurolearn.independent.stdp import (PairSTDP, TripletSTDP, curve_protocol,
                                         frequency_protocol)
from neurolearn.hardware import arith
from neurolearn.reference.schedule import Schedule
from neurolearn.reference.simulator import Network
from neurolearn.reference.simulator import simulate as reference_simulate
from neurolearn.rules.ir import Factor as F
from neurolearn.rules.ir import Rule, Tag, Term
from neurolearn.rules.neurons import Neuron

HAS_LAVA = importlib.util.find_spec("lava") is not None
needs_lava = pytest.mark.skipif(not HAS_LAVA, reason="lava is not installed "
                                "(pip install 'neurolearn[lava]')")
TOL = 1e-12


# -- the lowering (no lava) ------------------------------------------------------------
def test_pair_stdp_is_a_y0_and_an_x0_product():
    lp = lower(builtin("stdp")).layers[0]
    # post spike: + eta x_pre (Lava's x1, impulse 1, tau 20 steps); pre spike:
    # - 1.05 eta y_post (the population's trace); the example's change held in t
    assert lp.dw == "u0 * t * y3 + y0 * x1 * y1 * y3 + x0 * y2 * y3"
    assert lp.dt_rule == ("y0 * x1 * y1 + x0 * y2 - u0 * t * y3 - y0 * x1 * y1 * y3 - "
                          "x0 * y2 * y3")
    assert lp.bap and not lp.graded_in and lp.slot_apply == 3
    (x1,) = lp.pre_traces
    assert (x1.tau, x1.impulse, x1.overwrite) == (pytest.approx(20.0), 1.0, False)
    assert [(s.kind, s.share, s.terms) for s in lp.slots[:2]] == [
        ("terms", "event", [(1.0, ())]),
        ("terms", "event", [(-1.05, ("post.spike_trace@0.02:add:after",))])]
    assert lp.slots[0].gain == pytest.approx(1 / EY, rel=1e-15)
    # one plastic step per batch: the increments go straight to w
    one = builtin("stdp").with_(simulation=FA_LIF.simulation.__class__(
        dt=0.001, t_example=0.002, teach=0.5))
    assert lower(one).layers[0].dw == "y0 * x1 * y1 + x0 * y2"


def test_nearest_neighbour_is_x1_in_overwrite_mode():
    lp = lower(builtin("stdp_nearest")).layers[0]
    (x1,) = lp.pre_traces
    d = np.exp(-1 / 20.0)
    # x1 = payload / 2 = 0.5 at a spike, decayed once before the rule reads it
    assert x1.overwrite and lp.graded_in and x1.impulse == 0.0
    assert lp.slots[0].gain == pytest.approx(2 / d / EY, rel=1e-12)
    assert lp.post_traces[0].update == "set"


def test_triplet_reads_r2_before_its_spike_and_applies_every_step():
    prog = lower(builtin("triplet_stdp", eta=1.0))
    lp = prog.layers[0]
    assert lp.dw == "y0 * x1 * y1 + x0 * y2 + x0 * (x2 - 1) * y3"
    assert [t.tau for t in lp.pre_traces] == [pytest.approx(16.8), pytest.approx(101.0)]
    # three products leave no y slot for the batch: per-step updates, declared
    assert prog.schedule == LAVA_STEP_FLOAT and prog.approximations == []
    assert "changes applied every plastic step" in prog.describe()[0]


def test_rstdp_keeps_its_tag_in_t_and_reads_it_after_the_step():
    prog = lower(reward_spec())
    lp = prog.layers[-1]
    assert lp.eligibility and prog.schedule == LAVA_STEP_FLOAT
    assert lp.dt_rule == "y0 * x1 + x0 * y2 + u0 * y3 * t"
    # w gains rpe * (t + this step's dt): Lava reads the old t
    assert lp.dw == "u0 * y1 * t + y0 * x1 * y1 + x0 * y1 * y2 + u0 * y1 * y3 * t"
    assert [(s.kind, s.share) for s in lp.slots] == [("terms", "step"), ("terms", "tag"),
                                                     ("decay", "step")]
    assert lp.slots[2].value == pytest.approx(np.exp(-0.001 / 0.2) - 1, rel=1e-15)
    hidden = prog.layers[0]  # receives (r, rpe) from the output within the step
    assert hidden.reward is None and hidden.reward_in and not lp.reward_in
    assert lp.reward is not None and lp.reward_out
    # one plastic step per example: the batch applies at that step, schedule LAVA
    one = reward_spec().with_(simulation=reward_spec().simulation.__class__(
        dt=0.001, t_example=0.004, teach=0.25))
    assert lower(one).schedule == LAVA


def test_fixed_point_products_take_their_sign_and_a_scale():
    lp = lower(builtin("stdp"), "fixed").layers[0]
    # Lava clips the y traces of a neuron that spiked to [0, 127]: the depression
    # product carries the minus sign, its y the magnitude
    assert lp.dw == "2^-5 * y0 * x1 * y1 - 2^-2 * x0 * y2"
    # the weights may grow to 4x their initial peak: a grid 2 bits coarser than the
    # finest, whose exponents are 2 larger
    fine = lower(builtin("stdp"), "fixed", weight_headroom=1.0).layers[0]
    assert fine.w_frac == lp.w_frac + 2
    assert fine.dw == "2^-3 * y0 * x1 * y1 - 2^0 * x0 * y2"
    with pytest.raises(ValueError, match="weight_headroom must be a number >= 1"):
        lower(builtin("stdp"), "fixed", weight_headroom=0.5)
    assert lp.slots[1].terms == [(1.05, ("post.spike_trace@0.02:add:after",))]
    # each exponent keeps its y within 7 bits: the constant eta of the potentiation
    # fills it, the trace factor of the depression has 4x headroom
    assert 64 <= 0.02 * lp.slots[0].y_scale <= 127
    assert 127 / 8 <= 1.05 * 0.02 * lp.slots[1].y_scale <= 127 / 4
    nearest = lower(builtin("stdp_nearest"), "fixed")
    assert nearest.layers[0].in_payload == 32.0 and nearest.source_payload == 32.0
    assert nearest.layers[0].out_payload == 32.0  # the output layer's input is h1


def test_rstdp_in_fixed_point_reads_an_integer_tag_before_the_step():
    prog = lower(reward_spec(), "fixed")
    lp = prog.layers[-1]
    assert prog.schedule == LAVA_STEP_TAG and prog.schedule.tag_read == "before"
    # one product per y slot, each with one integer scale: the weight reads the old t
    assert lp.dw == "2^-5 * u0 * y1 * t"
    # the post_spike term is a u0 product times the spikes sent on y2, so no
    # back-propagating spike clips the signed rpe on y1; no slot is left for the decay
    assert lp.dt_rule == "2^-4 * u0 * x1 * y2 + 2^-1 * x0 * y3 - 2^-7 * u0 * t"
    assert not lp.bap and lp.slots[1].terms == [(1.0, (SPIKED,))]
    assert lp.t_frac == 3  # 16x the largest coefficient (1.05) fits 255 LSBs
    # one pair: a fresh pre spike (x1 = 16) at a post spike (y2 = 64) adds one unit of
    # the float tag, 2^3 LSBs, in Lava's integer product (accumulator: 2^7 per LSB)
    y2 = round(lp.slots[1].y_scale)
    assert arith.product(1, [(16, 7), (y2, 7)], 1, -4) == 2 ** 3 * 2 ** 7
    # depression: a pre spike with y_post = 1 takes 1.05 units (y3 = rint(16.8) = 17)
    y3 = round(1.05 * lp.slots[2].y_scale)
    assert arith.product(1, [(y3, 7)], 1, -1) == pytest.approx(1.05 * 2 ** 10, rel=0.02)
    names = [a.name for a in prog.approximations]
    assert names == ["fixed_point_engine", "float_neurons", "tag_decay_scale"]
    assert "tau 0.127 s instead of 0.2 s" in prog.approximations[-1].description


@pytest.mark.parametrize("read", ["after", "before"])
def test_the_schedules_tag_read_says_which_tag_the_weight_sees(read):
    """dW = eta * share * tag on each plastic step (per-step updates): the tag after
    the step's update (the meaning) or before it (Lava's fixed-point engine)."""
    net0 = FA_LIF.network
    base = FA_LIF.with_(network=replace(net0, layers=[net0.layers[0]] + [
        replace(layer, bias=False) for layer in net0.layers[1:]]))
    spec = custom(base, Term([F("syn", "tag")]), eta=0.5, tag=Tag(0.1, [
        Term([F("pre", "spike_trace", 0.02)], 1.0, "post_spike"),
        Term([F("post", "spike_trace", 0.02)], -1.0, "pre_spike")]))
    net = Network(spec, schedule=Schedule("per step", apply="step", tag_read=read))
    scale = spec.rule.eta * net.step_scale
    rng = np.random.default_rng(0)
    moved = 0
    for _ in range(60):
        x = (rng.random((1, 64)) < 0.3).astype(float)
        T0, W0 = [t.copy() for t in net.tags], [w.copy() for w in net.W]
        net.step(x, np.zeros((1, 10)))
        for l in range(2):
            T = T0[l] if read == "before" else net.tags[l]
            assert np.allclose(net.W[l] - W0[l], scale * T, rtol=1e-12, atol=1e-15)
            moved += not np.allclose(T0[l], net.tags[l])
    assert moved > 60  # the two readings differ on most steps


def _refusal(spec, **kw):
    with pytest.raises(UnsupportedRule) as err:
        lower(spec, **kw)
    return str(err.value)


REFUSALS = [
    ("y0 reads a pre trace before its spike",
     lambda: custom(FA_LIF, Term([F("pre", "spike_trace", 0.02, read="before")], 1.0,
                                 "post_spike")), {},
     "read before its own spike in a post_spike term: Lava's y0 product reads x after"),
    ("nearest pre trace read before",
     lambda: custom(FA_LIF, Term([F("pre", "spike_trace", 0.02, "set", "before")], 1.0,
                                 "pre_spike")), {},
     "nearest-neighbour trace read before its own spike: Lava's OVERWRITE mode"),
    ("two nearest pre traces",
     lambda: custom(FA_LIF, Term([F("pre", "spike_trace", 0.02, "set")], 1.0, "post_spike"),
                    Term([F("pre", "spike_trace", 0.05, "set")], 1.0, "post_spike")), {},
     "two nearest-neighbour pre traces; only x1 has Lava's OVERWRITE mode"),
    ("pre_spike from a burst layer",
     lambda: custom(CASES["stdp"].with_(network=CASES["stdp"].network.__class__(
         [CASES["stdp"].network.layers[0],
          CASES["stdp"].network.layers[1].__class__("h1", 100, Neuron("burst")),
          CASES["stdp"].network.layers[2].__class__("output", 10, Neuron("burst"))])),
         Term([F("post", "event")], -0.1, "pre_spike")), {},
     "Lava's x0 is the presynaptic payload, which is a burst layer's event train"),
    ("tag with momentum",
     lambda: reward_spec().with_(training=reward_spec().training.__class__(
         epochs=1, batch_size=1, seed=0, momentum=0.5)), {},
     "eligibility tag occupies Lava's tag t"),
    ("signed post factor with post spikes, fixed point",
     lambda: custom(FA_LIF, Term([F("pre", "activity"), F("post", "error_drive")], 1.0,
                                 "post_spike")), {"precision": "fixed"},
     "clips the y traces of a neuron that spiked to [0, 127]"),
    ("step term reading before, fixed point",
     lambda: custom(FA_LIF, Term([F("pre", "spike_trace", 0.02, read="before"),
                                  F("post", "activity")])), {"precision": "fixed"},
     "a y slot shared by two products"),
    ("four y slots with a tag",
     lambda: reward_spec(Rule(name="r4", eta=0.05, terms=[
         Term([F("syn", "tag"), F("global", "rpe")])], tag=Tag(0.1, [
             Term([F("pre", "spike_trace", 0.02)], 0.7, "post_spike"),
             Term([F("post", "spike_trace", 0.02)], -1.0, "pre_spike")]))), {},
     "rule 'r4' cannot run on lava: it needs 4 y slots for its products (terms grouped "
     "by dependency, pre trace and syn factor, the tag's own terms and its decay)"),
    ("a spike-triggered weight term reading the tag",
     lambda: reward_spec(Rule(name="rx", eta=0.05, terms=[
         Term([F("syn", "tag"), F("global", "rpe")], 1.0, "post_spike")],
         tag=Tag(0.1, [Term([F("pre", "spike_trace", 0.02)], 1.0, "post_spike")]))), {},
     "a weight term reading syn.tag with dependency y0"),
]


@pytest.mark.parametrize("name,make,kw,message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_reason_and_where_to_run(name, make, kw, message):
    text = _refusal(make(), **kw)
    assert message in text and "run it on" in text


def test_fused_runs_what_stock_refuses_under_the_same_schedule():
    spec = REFUSALS[-2][1]()
    prog = lower(spec, variant="fused")
    assert "4 y slots" in prog.stock_refusal and prog.schedule == LAVA_STEP_FLOAT


# -- the emulator against the reference under the Program's schedule (no lava) ----------
@pytest.mark.parametrize("label", list(CASES))
def test_emulator_is_the_reference_under_the_programs_schedule(label):
    spec = CASES[label]
    prog = lower(spec)
    assert prog.approximations == []
    em = emulate(spec, steps=500, record_every=100)
    ref = reference_simulate(spec, steps=500, record_every=100, schedule=prog.schedule)
    W0 = prog.params.W
    for l, name in enumerate(ref.weights, start=1):
        assert np.abs(ref.weights[name][-1] - W0[l - 1]).max() > 1e-4, f"{name} did not learn"
        assert np.abs(em.weights[name] - ref.weights[name]).max() <= TOL, name
    assert np.abs(em.outputs - ref.outputs).max() <= TOL
    for b_em, b_ref in zip(em.extra["params"].b, ref.extra["params"].b):
        assert np.abs(b_em - b_ref).max() <= TOL
    for name, s in ref.spikes.items():
        assert np.array_equal(em.spikes[name], s), name
    if spec.network.spiking:
        assert ref.spikes[list(ref.spikes)[-1]].sum() > 0, "the output never spiked"


def test_nearest_and_triplet_protocols_on_the_emulator():
    # the frequency protocol (all-to-all, nearest-neighbour, triplet): every pair of
    # spikes reaches Lava's engine as it reaches the reference
    prot = [frequency_protocol(r, s * 0.01, 8) for r in (5, 40) for s in (1, -1)]
    for params, kind in ((PairSTDP(), "nearest"), (TripletSTDP(), "triplet"),
                         (PairSTDP(), "pair")):
        ref = weight_changes("reference", prot, params, kind)
        em = weight_changes("lava", prot, params, kind, engine="emulator")
        assert np.abs(ref).min() > 1e-4
        assert np.abs(em - ref).max() <= 1e-15, kind


# -- Lava itself ----------------------------------------------------------------------------
STEPS, EVERY = 200, 50
RUNTIME = ["stdp", "stdp_nearest", "triplet_stdp",
           "rstdp · hidden layer, reward delay, epsilon-greedy",
           "reward-modulated hebbian · teach 1"]
FUSED = ["stdp_nearest", "rstdp · hidden layer, reward delay, epsilon-greedy"]
_stock = {}


def _stock_run(label, precision="float"):
    key = (label, precision)
    if key not in _stock:
        spec = (CASES if precision == "float" else FIXED)[label]
        _stock[key] = simulate(spec, steps=STEPS, record_every=EVERY, variant="stock",
                               precision=precision, time_limit=300)
    return _stock[key]


def _largest_difference(a, b):
    d = max(np.abs(a.weights[k] - b.weights[k]).max() for k in a.weights)
    spikes = all(np.array_equal(a.spikes[k], b.spikes[k]) for k in a.spikes)
    return d, spikes


@needs_lava
@pytest.mark.parametrize("label", RUNTIME)
def test_stock_runtime_is_the_emulator_bit_for_bit(label):
    got = _stock_run(label)
    em = emulate(CASES[label], steps=STEPS, record_every=EVERY)
    d, spikes = _largest_difference(got, em)
    assert d == 0.0 and spikes
    assert max(np.abs(w[-1] - w[0]).max() for w in got.weights.values()) > 1e-4


@needs_lava
@pytest.mark.parametrize("label", FUSED)
def test_fused_runtime_matches_the_stock_runtime(label):
    fused = simulate(CASES[label], steps=STEPS, record_every=EVERY, variant="fused",
                     time_limit=300)
    d, spikes = _largest_difference(fused, _stock_run(label))
    assert d <= TOL and spikes


@needs_lava
@pytest.mark.parametrize("label", list(FIXED))
def test_fixed_point_runtime_is_the_emulator_zero_lsb(label):
    got = _stock_run(label, "fixed")
    em = emulate(FIXED[label], steps=STEPS, record_every=EVERY, precision="fixed")
    d, spikes = _largest_difference(got, em)
    assert d == 0.0 and spikes  # weights are k 2^-f: equal floats are equal integers
    assert max(np.abs(w[-1] - w[0]).max() for w in got.weights.values()) > 0


@needs_lava
def test_pairing_curve_on_lava():
    iv, ref = pairing_curve("reference")
    _, em = pairing_curve("lava", engine="emulator")
    _, rt = pairing_curve("lava")
    assert np.array_equal(rt, em)          # Lava's float engine, bit for bit
    assert np.abs(em - ref).max() <= 1e-15  # the reference's pairing, to rounding
    assert rt[iv == 0][0] == pytest.approx(PairSTDP().a_plus - PairSTDP().a_minus)
    # fixed point: 0 LSB against the integer model; the precision departure bounded
    p, rate, lsb = lava_stdp.fixed_point_protocol()
    prot = curve_protocol(iv, 0.001, t_post=0.15)
    f_ref = weight_changes("reference", prot, p, max_rate=rate)
    f_em = weight_changes("lava", prot, p, max_rate=rate, precision="fixed", engine="emulator")
    f_rt = weight_changes("lava", prot, p, max_rate=rate, precision="fixed")
    assert np.array_equal(f_rt, f_em)
    dev = np.abs(f_rt - f_ref) / lsb
    assert dev.max() <= 8 and dev.mean() <= 2.5  # a+ = 32 LSB (docs/independent.md)
    assert np.array_equal(f_rt / lsb, np.rint(f_rt / lsb))
