"""Design-rule check: one crafted spec per limit of each profile, reported by name
and nothing else; a fitting spec exits 0 with a table, the enlarged one exits 1."""

import json

import pytest

from neurolearn.cli import main as cli
from neurolearn.hardware.check import check, format_report
from neurolearn.hardware.profile import load_profile
from neurolearn.rules.io import save
from neurolearn.rules.ir import Spec
from neurolearn.rules.schema import from_dict

ETA = 2.0 ** -6  # exactly m * 2^e


def spec(sizes, plastic=None, fb="random", model="lif", rule=None, eta=ETA):
    plastic = plastic or [True] * (len(sizes) - 1)
    layers = [{"name": "input", "size": sizes[0]}] + [
        {"name": f"l{i}", "size": s, "neuron": {"model": model}, "plastic": p}
        for i, (s, p) in enumerate(zip(sizes[1:], plastic), 1)]
    r = {"builtin": "delta"} if rule is None else {"terms": rule}
    r.update(eta=eta)
    return from_dict(Spec, {"name": "crafted", "network": {"layers": layers,
                                                           "feedback": {"kind": fb}},
                            "rule": r})


def term(*factors, when="step", coeff=1.0):
    return {"factors": [dict(zip(("kind", "signal", "tau"), f)) for f in factors],
            "when": when, "coeff": coeff}


def only(report, name, cause=None):
    assert report.names() and set(report.names()) == {name}, format_report(report)
    if cause:
        assert report.violations[0].cause == cause, format_report(report)
    v = report.violations[0]
    assert v.limit is not None and v.value is not None and v.where
    return v


FIT = spec([64, 100, 10])


@pytest.mark.parametrize("name", ["loihi1", "loihi2", "cpu"])
def test_small_lif_network_fits_every_profile(name):
    report = check(FIT, load_profile(name))
    assert report.violations == [] and report.fits
    assert [r.layer for r in report.layers] == ["l1", "l2"]
    # l1: 100 compartments; inputs 64 + 10 (random feedback from l2)
    assert report.layers[0].compartments == 100 and report.layers[0].input_axons == 74
    assert report.layers[0].synapses == 100 * 74
    # output: 100 forward inputs + 10 targets
    assert report.layers[1].input_axons == 110


# ---- Loihi 1 -------------------------------------------------------------------------

def test_loihi1_cores_set_by_compartments():
    v = only(check(spec([64, 100, 1024 * 128 + 1], [False, False]), load_profile("loihi1")),
             "chip.cores", "core.compartments")
    assert v.limit == 128 and v.value > 128


def test_loihi1_cores_set_by_synapse_memory():
    v = only(check(spec([64, 2048, 8192], [False, False]), load_profile("loihi1")),
             "chip.cores", "core.synapse_memory_bits")
    assert v.value > 128


def test_loihi1_cores_set_by_output_axons():
    only(check(spec([64, 64, 2000, 4000], [True, True, False], fb="direct"),
               load_profile("loihi1")), "chip.cores", "core.output_axons")


def test_loihi1_input_axons():
    v = only(check(spec([5000, 10], [False]), load_profile("loihi1")), "core.input_axons")
    assert (v.limit, v.value, v.where) == (4096, 5000, "l1")


def test_loihi1_neuron_model():
    v = only(check(spec([64, 100, 10], model="tanh"), load_profile("loihi1")),
             "models.neuron_models")
    report = check(spec([64, 100, 10], model="tanh"), load_profile("loihi1"))
    assert not report.fits and all(m.status == "cannot_run" for m in report.mapping)
    assert v.value == "tanh"


@pytest.mark.parametrize("rule,name", [
    ([term(("pre", "activity"), ("post", "error_drive"), when="pre_spike")],
     "learning.dependencies"),
    ([term(("pre", "activity"), ("post", "activity"))], "learning.post_factors"),
    ([term(("pre", "activity"), ("post", "error_drive"), ("syn", "w"))],
     "learning.syn_factors"),
    ([term(("pre", "activity", 0.01), ("post", "error_drive")),
      term(("pre", "activity", 0.02), ("post", "error_drive"))], "learning.max_pre_traces"),
])
def test_loihi1_learning_limits(rule, name):
    report = check(spec([64, 100, 10], rule=rule), load_profile("loihi1"))
    v = only(report, name)
    assert v.consequence == "host" and report.fits  # learning moves off-chip; it still fits
    assert all(m.status == "host" for m in report.mapping)


def test_loihi1_post_traces():
    # two distinct post signals -> two post traces; error_drive is allowed, so only the
    # trace count and the activity factor would break: use error_drive at two taus
    rule = [term(("pre", "activity"), ("post", "error_drive", 0.01)),
            term(("pre", "activity"), ("post", "error_drive", 0.02))]
    only(check(spec([64, 100, 10], rule=rule), load_profile("loihi1")),
         "learning.max_post_traces")


def test_loihi1_pre_factor():
    # pre factors beyond 'activity' need burst neurons, which loihi1 does not run
    # either, so the event_trace factor is checked on a user copy of loihi1 that
    # admits burst neurons
    prof = load_profile("loihi1")
    prof.models.neuron_models.value = ["lif", "relu", "burst"]
    rule = [term(("pre", "event_trace", 0.1), ("post", "error_drive"))]
    s = spec([64, 100, 10], model="burst", rule=rule)
    only(check(s, prof), "learning.pre_factors")


def test_loihi1_unknown_learning_figures_are_listed_unchecked():
    report = check(spec([64, 100, 10], eta=1e-6), load_profile("loihi1"))
    assert report.violations == []   # no scale or epoch figure to break
    text = " ".join(report.unchecked)
    assert "learning.epoch_bits" in text and "learning.max_terms" in text


# ---- Loihi 2 -------------------------------------------------------------------------

def test_loihi2_cores_set_by_compartments():
    v = only(check(spec([64, 100, 8192 * 128 + 1], [False, False]), load_profile("loihi2")),
             "chip.cores", "core.compartments")
    assert v.limit == 128


def test_loihi2_neuron_model():
    only(check(spec([64, 100, 10], model="sigmoid"), load_profile("loihi2")),
         "models.neuron_models")


@pytest.mark.parametrize("kwargs,name,value", [
    (dict(eta=1e-3), "learning.scale", "0.001"),           # below 1 * 2^-7
    (dict(eta=4096.0), "learning.scale", "4096"),          # above 8 * 2^8
])
def test_loihi2_learning_limits(kwargs, name, value):
    profile = load_profile("loihi2")
    profile.learning.graded_post_factors = None  # a scale the engine must form itself
    report = check(spec([64, 100, 10], **kwargs), profile)
    v = only(report, name)
    assert v.value == value and v.consequence == "host" and report.fits
    assert {m.status for m in report.mapping} == {"host"}
    assert name in report.mapping[0].reasons[0]


def test_loihi2_pre_and_post_trace_counts():
    pre3 = [term(("pre", "activity", t), ("post", "error_drive")) for t in (0.01, 0.02, 0.03)]
    only(check(spec([64, 100, 10], rule=pre3), load_profile("loihi2")),
         "learning.max_pre_traces")
    post4 = [term(("pre", "activity"), ("post", "error_drive", t))
             for t in (0.01, 0.02, 0.03, 0.04)]
    only(check(spec([64, 100, 10], rule=post4), load_profile("loihi2")),
         "learning.max_post_traces")


def test_loihi2_folds_any_scale_into_graded_post_factors():
    report = check(spec([64, 100, 10], eta=1e-3), load_profile("loihi2"))
    assert report.violations == [] and {m.status for m in report.mapping} == {"on_chip"}
    (entry,) = report.mapping[0].scales[0]
    assert entry["folded_into_post_factor"] and (entry["m"], entry["e"]) == (1, 0)


def test_loihi2_scale_inside_range_maps_on_chip_with_its_m_e():
    profile = load_profile("loihi2")
    profile.learning.graded_post_factors = None
    report = check(spec([64, 100, 10], eta=0.02), profile)
    assert report.violations == []
    m = report.mapping[0]
    assert m.status == "on_chip"
    (entry,) = m.scales[0]
    assert (entry["m"], entry["e"]) == (5, -8) or entry["rel_error"] < 0.25


def test_kolen_pollack_learns_on_host_on_loihi2():
    s = spec([64, 100, 10], fb="learned")
    s.rule.builtin = "kolen_pollack"
    report = check(s, load_profile("loihi2"))
    assert all(m.status == "host" for m in report.mapping)


# ---- user profile: limits the built-ins cannot break alone ---------------------------

def test_user_profile_synapse_memory_of_one_neuron(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text('name = "tiny"\nprecision = "fixed"\n'
                    '[core.synapse_memory_bits]\nvalue = 512\nsource = "test chip"\n'
                    '[weights.bits]\nvalue = 8\nsource = "test chip"\n')
    v = only(check(spec([64, 100, 10], [False, False]), load_profile(str(path))),
             "core.synapse_memory_bits")
    assert v.limit == 512 and v.value == 64 * 9 and v.where == "l1"


# ---- CLI -----------------------------------------------------------------------------

def test_cli_fits_exit_0_with_table_and_enlarged_exit_1(tmp_path, capsys):
    small = save(FIT, tmp_path / "small.toml")
    assert cli(["check", str(small), "--profile", "loihi2", "--json",
                str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "fits" in out and "compartments" in out and "total cores: 2 of 128" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["fits"] and data["layers"][0]["compartments"] == 100
    big = save(spec([64, 100, 8192 * 128 + 1], [False, False]), tmp_path / "big.toml")
    assert cli(["check", str(big), "--profile", "loihi2"]) == 1
    out = capsys.readouterr().out
    assert "DOES NOT FIT" in out and "chip.cores" in out and "core.compartments" in out


def test_cli_bad_input_exit_2(tmp_path, capsys):
    small = save(FIT, tmp_path / "small.toml")
    assert cli(["check", str(small), "--profile", "loihi9"]) == 2
    assert "unknown profile 'loihi9'" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[core.compartments]\nvalue = -1\nsource = "x"\n')
    assert cli(["check", str(small), "--profile", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: core.compartments.value: must be a non-negative integer" in err
    assert cli(["check", str(tmp_path / "missing.toml"), "--profile", "loihi2"]) == 2


def test_cli_profiles_lists_all(capsys):
    assert cli(["profiles", "-v"]) == 0
    out = capsys.readouterr().out
    for name in ("loihi1", "loihi2", "cpu"):
        assert name in out
    assert "W_TRACE = 7" in out and "MAX_COMPARTMENTS = 1024" in out
