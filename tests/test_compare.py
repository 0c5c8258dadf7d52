"""`neurolearn compare`: verdicts by tier, JSON and plots."""

import json

import pytest

from neurolearn import backends
from neurolearn.cli import main
from neurolearn.compare import compare
from neurolearn.compare.stats import max_abs_diff, windowed_errors
from neurolearn.result import Trace
from neurolearn.rules import load

import numpy as np


def test_compare_fa_digits_exact_tiers_json_and_plots(tmp_path, specs_dir):
    needed = [b for b in ("lava", "nengo") if not backends.is_installed(b)]
    if needed:
        pytest.skip(f"not installed: {needed}")
    out, js = tmp_path / "plots", tmp_path / "cmp.json"
    code = main(["compare", str(specs_dir / "fa_digits.toml"), "--backends",
                 "numpy,lava,nengo", "--steps", "200", "--out", str(out), "--json", str(js),
                 "--quiet"])
    data = json.loads(js.read_text())
    verdicts = {v["backend"]: v for v in data["verdicts"]}
    for label in ("lava (stock)", "lava (fused)", "nengo"):
        assert verdicts[label]["tier"] == "exact"
        assert verdicts[label]["status"] == "pass", verdicts[label]
        assert verdicts[label]["figures"]["max_abs_dW"] <= 1e-12
    assert verdicts["lava (stock)"]["figures"]["max_abs_dW"] == 0.0  # Lava float: bit-identical
    assert code == 0
    for name in ("learning_curves", "divergence", "alignment"):
        png = out / "fa_digits-1" / f"{name}.png"  # each run gets its own folder
        assert data["plots"][name] == str(png)
        assert png.exists() and png.stat().st_size > 1000, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_backend_is_reported_with_the_extra(monkeypatch, specs_dir):
    monkeypatch.setitem(backends.BACKENDS, "nengo", ("neurolearn.backends.nengo", "nengo",
                                                     "nengo_is_not_here"))
    rep = compare(load(specs_dir / "fa_digits.toml"), ["numpy", "nengo"], steps=20,
                  quiet=True, plots=False)
    (v,) = rep.verdicts
    assert v.status == "not installed" and "pip install 'neurolearn[nengo]'" in v.note


def test_unsupported_pair_is_reported_with_the_reason(specs_dir):
    if not backends.is_installed("nengo"):
        pytest.skip("nengo not installed")
    spec = load(specs_dir / "burstprop_xor.toml")
    rep = compare(spec, ["nengo"], steps=20, quiet=True, plots=False)
    (v,) = rep.verdicts
    assert v.status == "not supported"
    assert "burst" in v.note and "numpy" in v.note


def test_grading_figures():
    w = {"h": np.zeros((3, 2, 2))}
    a = Trace("x", "s", weights=w)
    b = Trace("y", "s", weights={"h": w["h"] + 1e-13})
    assert max_abs_diff(a, b) == pytest.approx(1e-13)
    err = np.concatenate([np.ones((4, 1)), np.full((4, 1), 2.0)])
    # second half of each 4-step window: 1 then 2 -> squared 1 and 4
    assert windowed_errors(err, 4).tolist() == [1.0, 4.0]


def test_task_tier_reports_accuracy_gap(specs_dir):
    if not backends.is_installed("nengo"):
        pytest.skip("nengo not installed")
    spec = load(specs_dir / "fa_digits.toml")
    spec.data.n_train, spec.data.n_test = 40, 40
    spec.simulation.t_example = 0.01
    rep = compare(spec, ["numpy", "nengo"], steps=50, task_epochs=1, quiet=True, plots=False)
    task = [v for v in rep.verdicts if v.tier == "task"]
    assert [v.backend for v in task] == ["nengo (task)"]
    f = task[0].figures
    assert f["gap_points"] == pytest.approx(100 * (f["accuracy"] - f["reference_accuracy"]))
    assert task[0].status == ("pass" if abs(f["gap_points"]) <= 2 else "outside tolerance")
    assert rep.runs["numpy"].test_accuracy == f["reference_accuracy"]
