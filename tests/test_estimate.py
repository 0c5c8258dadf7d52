"""check --estimate: energy and latency per training sample and per inference from a
reference run's counts and a profile's sourced per-operation figures."""

import json

import numpy as np
import pytest

from neurolearn.cli import main
from neurolearn.data import load_dataset
from neurolearn.hardware.estimate import estimate as estimate_from_counts
from neurolearn.reference.counts import count
from neurolearn.hardware.profile import load_profile
from neurolearn.reference.stream import example_order
from neurolearn.rules import load

from conftest import SPECS

SPIKING = SPECS / "fa_digits_spiking.toml"


def estimate(spec, profile, samples):
    return estimate_from_counts(spec, profile, count(spec, samples=samples))


def test_counts_follow_the_network_and_the_input_code():
    spec = load(SPIKING)
    est = estimate(spec, load_profile("loihi1"), samples=5)
    c = est.counts
    k = 50  # 50 ms per example at 1 ms
    assert c.steps_per_sample == k
    assert c.inference["neuron_update"] == (200 + 10) * k
    # delta on every teaching step (t_epoch 1): every synapse and bias, every step
    assert c.training["synaptic_update"] == (200 * 65 + 10 * 201) * k
    # regular rate code: a pixel x fires x * 200 Hz * 50 ms = 10 x spikes per example
    ds = load_dataset(spec.data)
    idx = example_order(len(ds.x_train), 5, spec.training.seed)
    expected = 10 * ds.x_train[idx].sum() / 5
    assert abs(c.spikes["input"] - expected) <= 64 / 5 + 1e-9   # phase carries over
    assert c.inference["synaptic_op"] == pytest.approx(
        c.spikes["input"] * 200 + c.spikes["hidden"] * 10)
    # training adds the graded feedback: B e into the hidden layer, target into the output
    assert c.training["synaptic_op"] - c.inference["synaptic_op"] == pytest.approx(
        (200 * 10 + 10) * k)


def test_loihi1_energy_is_counts_times_published_figures():
    spec = load(SPIKING)
    est = estimate(spec, load_profile("loihi1"), samples=5)
    e = est.energy["training_sample"]
    per_op = {"synaptic_op": 23.6, "neuron_update": 81.0, "synaptic_update": 120.0,
              "spike": 1.7}
    want = sum(est.counts.training[op] * pj for op, pj in per_op.items()) * 1e-12
    assert e["total_j"] == pytest.approx(want, rel=1e-12)
    assert all("Davies et al. 2018" in p.source for p in e["parts"])
    assert est.latency["inference"]["seconds"] > 50 * 465e-9   # at least the barriers


def test_check_estimate_cli_loihi1_and_loihi2(tmp_path, capsys):
    out = tmp_path / "est.json"
    assert main(["check", str(SPIKING), "--profile", "loihi1", "--estimate", "--samples", "3",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "per training sample: energy" in text and "per inference: energy" in text
    assert "Davies et al. 2018, IEEE Micro 38(1), Table 2" in text
    data = json.loads(out.read_text())["estimate"]
    assert data["energy"]["inference"]["total_j"] > 0
    assert data["latency"]["training_sample"]["seconds"] > 0
    assert main(["check", str(SPIKING), "--profile", "loihi2", "--estimate",
                 "--samples", "3"]) == 0
    text = capsys.readouterr().out
    assert "per training sample: energy unknown, latency unknown" in text
    assert "Loihi 2 technology brief" in text and "energy.synaptic_op_pj" in text


def test_estimate_refuses_rate_networks(capsys):
    assert main(["check", str(SPECS / "fa_digits.toml"), "--profile", "loihi1",
                 "--estimate"]) == 2
    assert "rate network 'fa_digits'" in capsys.readouterr().err


def test_profile_energy_figures_are_validated(tmp_path):
    from neurolearn.errors import SpecError
    from neurolearn.rules.schema import to_dict
    d = to_dict(load_profile("loihi1"))
    d["energy"]["spike_pj"]["value"] = -1.0
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(SpecError, match=r"energy.spike_pj.value: must be a non-negative number"):
        load_profile(str(p))
    assert np.isfinite(load_profile("loihi1").get("timing.barrier_sync_ns"))
