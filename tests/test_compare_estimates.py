"""``compare --json``'s estimates section: energy and latency per training sample and
per inference for every built-in profile with such figures, from the same estimate
code ``check --estimate`` prints, each part naming its source; unknown stays None."""

import json

import pytest

from neurolearn.hardware.estimate import estimate
from neurolearn.hardware.profile import load_profile
from neurolearn.reference.counts import count
from neurolearn.rules import load

from cli_runner import run_cli
from conftest import SPECS

SPIKING = SPECS / "fa_digits_spiking.toml"


def _compare(tmp_path, spec, backends, steps=100):
    out = tmp_path / "c.json"
    o = run_cli(["compare", spec, "--backends", backends, "--steps", steps, "--record-every",
                 50, "--task-epochs", 0, "--no-plots", "--quiet", "--json", out])
    assert o.problem(allowed=(0, 1)) is None, o.problem()
    return json.loads(out.read_text())["estimates"]


def test_estimates_from_compares_reference_run(tmp_path):
    """With an engine graded, the counts come from compare's textbook reference run
    (100 steps: 2 examples of 50) and equal check --estimate's on 2 samples."""
    pytest.importorskip("nengo")
    est = _compare(tmp_path, SPIKING, "nengo")
    assert est["counts_from"].startswith("compare's textbook reference run")
    assert est["counts"]["samples"] == 2
    spec = load(SPIKING)
    mine = estimate(spec, load_profile("loihi1"), count(spec, samples=2)).to_dict()
    l1 = est["profiles"]["loihi1"]
    for phase in ("training_sample", "inference"):
        assert l1["energy"][phase]["total_j"] == mine["energy"][phase]["total_j"] > 0
        assert l1["latency"][phase]["seconds"] == mine["latency"][phase]["seconds"] > 0
        assert l1["summary"][phase] == {"energy_j": mine["energy"][phase]["total_j"],
                                        "latency_s": mine["latency"][phase]["seconds"]}
        for part in l1["energy"][phase]["parts"]:
            assert part["source"].startswith("Davies et al. 2018")
    # training costs more than inference (learning-engine updates, feedback)
    assert l1["summary"]["training_sample"]["energy_j"] > l1["summary"]["inference"]["energy_j"]
    # loihi2: no published per-operation figure; unknown stays unknown, sources say so
    l2 = est["profiles"]["loihi2"]
    for phase in ("training_sample", "inference"):
        assert l2["summary"][phase] == {"energy_j": None, "latency_s": None}
        for part in l2["energy"][phase]["parts"]:
            assert part["per_op"] is None and part["total"] is None
            assert part["source"].startswith("unknown")
        assert "energy.synaptic_op_pj" in l2["energy"][phase]["missing"]
    assert est["profiles"]["cpu"] == {"skipped": "the profile has no energy or timing figures"}


def test_estimates_without_an_engine_run_their_own_reference(tmp_path):
    est = _compare(tmp_path, SPIKING, "numpy")
    assert est["counts_from"].startswith("a reference run") and est["counts"]["samples"] == 20
    assert est["profiles"]["loihi1"]["summary"]["inference"]["energy_j"] > 0


def test_rate_networks_have_no_estimate_and_say_why(tmp_path):
    est = _compare(tmp_path, SPECS / "fa_digits.toml", "numpy")
    assert set(est) == {"not_supported"}
    assert "rate network 'fa_digits'" in est["not_supported"]
