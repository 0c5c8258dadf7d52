"""Lowering to Lava (no lava import): what lowers, every refusal's message, the
generated rules, the Program's shape."""

import pickle
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from neurolearn.backends import capabilities
from neurolearn.backends.lava import BACKEND, lower
from neurolearn.backends.lava.lower import EY, LAVA, LAVA_STEP, LAVA_STEP_FLOAT
from neurolearn.backends.lava.rulestring import check
from neurolearn.errors import UnsupportedRule
from neurolearn.rules.catalog import catalog
from neurolearn.rules.ir import Factor, Rule, Simulation, Term
from neurolearn.rules.neurons import Neuron

ROWS = dict(catalog())
FA_RATE, FA_LIF = ROWS["delta · FA · rate"], ROWS["delta · FA · lif"]
LOWERS_FLOAT = ["delta · FA · rate", "delta · FA · rate · batch 8, momentum 0.9",
                "delta · DFA · rate", "delta · FA · lif", "delta · DFA · lif",
                "burstprop_rate", "burstprop (spiking)", "stdp (pair, all-to-all)",
                "stdp_nearest", "triplet_stdp", "rstdp (reward, eligibility tag)"]
# a spec in phases lowers to the stock variant only (.phased)
STOCK_ONLY = ["equilibrium_propagation · hard_sigmoid", "predictive_coding · rate",
              "segregated_dendrites · pyramidal", "weight_mirror · rate"]
# rows whose products leave no y slot for the batch, or with an eligibility tag
PER_STEP = ["triplet_stdp", "rstdp (reward, eligibility tag)"]


def with_rule(spec, *terms, **training):
    spec = spec.with_(rule=Rule(name="custom", terms=list(terms), eta=spec.rule.eta))
    return spec.with_(training=replace(spec.training, **training)) if training else spec


def pre(signal="activity", tau=None):
    return Factor("pre", signal, tau)


def post(signal="error_drive", tau=None):
    return Factor("post", signal, tau)


def test_capabilities_are_derived_by_lowering_the_catalog():
    caps = capabilities("lava")
    for row in ROWS:
        for variant in ("stock", "fused"):
            lowers = caps[(row, "float", variant)] == "lowers"
            assert lowers == (row in LOWERS_FLOAT or (row in STOCK_ONLY and
                                                     variant == "stock")), \
                (row, variant, caps[(row, "float", variant)])
        spiking = ROWS[row].network.spiking
        assert (caps[(row, "fixed", "stock")] == "lowers") == (
            spiking and row in LOWERS_FLOAT)
        assert "fused process runs the reference's float64" in caps[(row, "fixed", "fused")]
    assert BACKEND.variants == ("stock", "fused") and BACKEND.schedule == LAVA


def test_lowering_never_imports_lava():
    code = ("import sys\nfrom neurolearn.backends import capabilities\n"
            "capabilities('lava')\n"
            "assert not [m for m in sys.modules if m == 'lava' or m.startswith('lava.')]\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_program_is_picklable_and_describes_its_timing():
    for row in LOWERS_FLOAT:
        for variant in ("stock", "fused"):
            prog = lower(ROWS[row], variant=variant)
            back = pickle.loads(pickle.dumps(prog))
            assert back.schedule == (LAVA_STEP_FLOAT if row in PER_STEP else LAVA)
            assert back.approximations == []
            assert "1-step delay per forward projection" in prog.describe()[0]
    fixed = lower(FA_LIF, "fixed")
    assert fixed.schedule == LAVA_STEP and fixed.schedule.apply == "step"
    assert [a.name for a in fixed.approximations] == ["fixed_point_engine", "float_neurons"]
    assert {a.kind for a in fixed.approximations} == {"precision"}


def test_generated_rules():
    # batch 1 with 10 plastic steps per example: the tag t holds the example's change
    lp = lower(FA_RATE).layers[0]
    assert lp.dt_rule == "u0 * x1 * y1 - u0 * t * y2 - u0 * x1 * y1 * y2"
    assert lp.dw == "u0 * t * y2 + u0 * x1 * y1 * y2"
    assert (lp.slot_apply, lp.slot_mom) == (2, None)
    # momentum: y2 = (mu - 1) g, y3 = g
    lp = lower(ROWS["delta · FA · rate · batch 8, momentum 0.9"]).layers[1]
    assert lp.dt_rule == "u0 * x1 * y1 + u0 * t * y2 + u0 * x1 * y1 * y2"
    assert lp.dw == "u0 * t * y3 + u0 * x1 * y1 * y3"
    # one plastic step per batch, no momentum: the increment goes straight to w
    direct = FA_RATE.with_(simulation=Simulation(dt=0.001, t_example=0.005, teach=0.2))
    lp = lower(direct).layers[0]
    assert (lp.dw, lp.dt_rule, lp.tags) == ("u0 * x1 * y1", None, False)
    # burstprop's two terms share the pre trace: one product, y = B - P_bar E
    lp = lower(ROWS["burstprop (spiking)"]).layers[0]
    assert len(lp.products) == 1 and lp.slots[lp.products[0].slot - 1].terms == [
        (1.0, ("burst",)), (-1.0, ("pbar_event",))]
    # a w term is its own product; Kolen-Pollack's decay with random feedback
    kp = ROWS["delta · FA · rate"].with_(rule=Rule(builtin="kolen_pollack", eta=0.1))
    lp = lower(kp).layers[0]
    assert lp.dw == "u0 * t * y3 + u0 * x1 * y1 * y3 + u0 * y2 * w * y3"
    for prog in (lower(ROWS[r]) for r in LOWERS_FLOAT):
        for lp in prog.layers:
            assert check(lp.dw) == lp.dw and (lp.dt_rule is None or check(lp.dt_rule))
    lp = lower(FA_LIF, "fixed").layers[0]
    assert (lp.dw, lp.fixed, lp.rule()["x1_tau"]) == ("2^-7 * u0 * x1 * y1", True, 10)


def test_gains_convert_engine_traces_to_the_factors():
    lp = lower(FA_RATE).layers[0]
    # x1 = exp(-64) payload / 2; the engine sees y exp(-1/65535)
    assert lp.pre_traces[0].tau == 1 / 64
    assert lp.slots[0].gain == pytest.approx(2 * np.exp(64) / EY, rel=1e-15)
    lp = lower(FA_LIF).layers[0]
    d = np.exp(-0.001 / 0.01)
    assert lp.pre_traces[0].tau == pytest.approx(10.0)
    assert lp.slots[0].gain == pytest.approx((1 - d) / (0.001 * 200.0) / EY, rel=1e-12)


def test_bias_init_is_lowered_as_the_populations_bias():
    layers = list(FA_LIF.network.layers)
    layers[1] = replace(layers[1], bias=False, bias_init=-0.5)
    spec = FA_LIF.with_(network=replace(FA_LIF.network, layers=layers))
    prog = lower(spec)
    assert np.all(prog.layers[0].b0 == -0.5) and not prog.layers[0].bias_learns
    assert prog.layers[1].bias_learns and np.all(prog.layers[1].b0 == 0.0)


REFUSALS = [
    ("transport", lambda: ROWS["delta · BP · rate"], {},
     r"feedback kind 'transport' \(layer 'h1'\) cannot run on lava: .*share no weight "
     r"memory.*run it on numpy"),
    ("learned", lambda: ROWS["kolen_pollack · rate"], {}, r"feedback kind 'learned'"),
    ("fixed rate", lambda: FA_RATE, {"precision": "fixed"},
     r"precision 'fixed' for rate network .*only spiking networks are lowered; run it on "
     r"lava --precision float, or numpy --precision fixed"),
    ("fixed fused", lambda: FA_LIF, {"precision": "fixed", "variant": "fused"},
     r"fixed' with the fused lowering cannot run on lava: .*run it on lava --variant "
     r"stock --precision fixed"),
    ("fixed momentum", lambda: FA_LIF.with_(training=replace(FA_LIF.training,
                                                             momentum=0.5)),
     {"precision": "fixed"}, r"training.momentum = 0.5 in fixed point cannot run on lava: "
     r"Lava's fixed-point tag t has 8 bits"),
    ("fixed profile", lambda: FA_LIF, {"precision": "fixed", "profile": "loihi1"},
     r"profile 'loihi1' cannot run on lava: .*engine widths of 'loihi2'"),
    ("variant", lambda: FA_LIF, {"variant": "hardware"}, r"variant 'hardware' cannot run"),
    ("precision", lambda: FA_LIF, {"precision": "half"}, r"precision 'half' cannot run"),
    ("two pre", lambda: with_rule(FA_LIF, Term([pre(), pre(tau=0.05), post()])), {},
     r"more than one pre factor"),
    ("w twice", lambda: with_rule(FA_LIF, Term([Factor("syn", "w"), Factor("syn", "w")])),
     {}, r"w appears twice"),
    ("bcm", lambda: with_rule(FA_RATE, Term([pre(), post("activity_sq_avg")])), {},
     r"activity_sq_avg"),
    ("rate pre tau", lambda: with_rule(FA_RATE, Term([pre(tau=0.05), post()])), {},
     r"pre factor pre.activity\[tau=0.05\] of a rate network has its own tau: Lava's "
     r"trace of graded payloads .* starts at 0"),
    ("three pre traces", lambda: with_rule(FA_LIF, Term([pre(), post()]),
                                           Term([pre(tau=0.05), post()]),
                                           Term([pre(tau=0.2), post()])), {},
     r"more than two presynaptic traces"),
    ("y slots", lambda: with_rule(FA_LIF, Term([pre(), post()]), Term([post()]),
                                  Term([Factor("syn", "w")], coeff=-0.01), momentum=0.5),
     {}, r"batch_size 1, momentum 0.5 cannot run on lava: it needs 3 y slots for its "
         r"products .* plus 2 y slot\(s\) .*carries 3 post factors y1..y3; run it on lava "
         r"--variant fused"),
]


@pytest.mark.parametrize("name,make,kw,message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_reason_and_where_to_run(name, make, kw, message):
    with pytest.raises(UnsupportedRule, match=message):
        lower(make(), **kw)


def test_fused_honours_what_only_the_y_slots_refuse():
    spec = REFUSALS[-1][1]()
    prog = lower(spec, variant="fused")
    assert "carries 3 post factors" in prog.stock_refusal
    # but not what no Lava process graph can be
    with pytest.raises(UnsupportedRule, match="share no weight memory"):
        lower(ROWS["delta · BP · rate"], variant="fused")


def test_burst_probability_signal_needs_burst_rate_layers():
    spec = ROWS["burstprop_rate"]
    layers = list(spec.network.layers)
    layers[1] = replace(layers[1], neuron=Neuron("sigmoid"), plastic=False)
    with pytest.raises(UnsupportedRule, match="burst_prob_dev needs every layer to be "
                                              "burst_rate"):
        lower(spec.with_(network=replace(spec.network, layers=layers)))


def test_feedback_matrix_of_a_pathway_with_two_signals():
    # burstprop_rate sends (P_bar e, p e) down one Dense: block-diagonal [[M, 0], [0, M]]
    prog = lower(ROWS["burstprop_rate"])
    lp = prog.layers[0]
    M = prog.params.B[1]
    assert lp.fb_channels == ("pbar_e", "p_e") and lp.B.shape == (200, 20)
    assert np.array_equal(lp.B[:100, :10], M) and np.array_equal(lp.B[100:, 10:], M)
    assert not lp.B[:100, 10:].any() and not lp.B[100:, :10].any()

