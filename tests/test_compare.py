"""`compare`: plumbing, textbook departure split into timing / model / precision, the
task tier, refusals, missing extras, and the CLI (table, JSON, plots) — on the numpy
reference and a fake backend whose engine is the reference under a delayed
schedule (tests/_fake_backend.py), so every figure has a known value."""

import json
from dataclasses import replace

import numpy as np
import pytest

from neurolearn import backends
from neurolearn.cli import main
from neurolearn.compare import compare
from neurolearn.compare.stats import departure, max_abs_diff, windowed_errors
from neurolearn.reference.schedule import TEXTBOOK
from neurolearn.reference.simulator import simulate
from neurolearn.result import Trace
from neurolearn.rules import load
from neurolearn.rules.catalog import catalog

import _fake_backend


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(backends.PACKAGES, "fake", "_fake_backend")


def _fa_row():
    return dict(catalog())["delta · FA · rate"]


def test_plumbing_and_textbook_departure_split(fake):
    spec = _fa_row()
    rep = compare(spec, ["fake"], steps=200, record_every=20, task_epochs=0, quiet=True)
    by = {(v.backend, v.check): v for v in rep.verdicts}
    good = by[("fake (good)", "plumbing")]
    assert good.status == "pass" and good.figures["max_abs_dW"] == 0.0
    broken = by[("fake (broken)", "plumbing")]
    assert broken.status == "outside tolerance"
    assert broken.figures["max_abs_dW"] == pytest.approx(1e-6, rel=1e-6)
    # the engine is the reference under its schedule: all its departure is timing
    tb = by[("fake (good)", "textbook")]
    ref_f = simulate(spec, steps=200, record_every=20, schedule=_fake_backend.SCHEDULE)
    ref_t = simulate(spec, steps=200, record_every=20, schedule=TEXTBOOK)
    timing = departure(ref_f, ref_t)
    assert tb.figures["timing.corr_dW"] == timing["corr_dW"] == tb.figures["corr_dW"]
    assert tb.figures["model.corr_dW"] == pytest.approx(1.0) and tb.figures["model.rel_dW"] == 0
    assert 0.9 < timing["corr_dW"] < 1.0 and timing["rel_dW"] > 0  # delays change learning
    assert tb.status == ("pass" if timing["corr_dW"] >= 0.95 else "outside tolerance")
    refused = by[("fake (refused)", "plumbing")]
    assert refused.status == "not supported" and "refuses this variant" in refused.note
    assert "run it on numpy" in refused.note
    assert any("per-step updates" in a for a in rep.approximations["fake (good)"])


def test_missing_backend_is_reported_with_the_extra(monkeypatch):
    pkg = backends.package("numpy")
    monkeypatch.setitem(backends.PACKAGES, "fake", "_fake_backend")
    monkeypatch.setattr(_fake_backend, "BACKEND",
                        replace(_fake_backend.BACKEND, requires="fake_engine_not_here"))
    rep = compare(_fa_row(), ["fake"], steps=20, task_epochs=0, quiet=True)
    (v,) = rep.verdicts
    assert v.status == "not installed" and "pip install 'neurolearn[fake]'" in v.note
    assert pkg.BACKEND.requires is None


def test_task_tier_time_stepped_numpy_learns_the_same_rule(specs_dir):
    """The same spec means the same learning: numpy time-stepped trains fa_digits to
    the batched trainer's accuracy (equal to rounding)."""
    spec = load(specs_dir / "fa_digits.toml")
    spec = spec.with_(data=replace(spec.data, n_test=150))
    rep = compare(spec, ["numpy"], steps=20, task_epochs=1, quiet=True)
    task = [v for v in rep.verdicts if v.check == "task"]
    assert [v.backend for v in task] == ["numpy (time-stepped)"]
    f = task[0].figures
    assert task[0].status == "pass" and f["gap_points"] == 0.0
    assert f["reference_accuracy"] == rep.runs["numpy"].test_accuracy > 0.5
    ts, bt = rep.runs["numpy (time-stepped)"].weights, rep.runs["numpy"].weights
    assert max(np.abs(a - b).max() for a, b in zip(ts, bt)) < 1e-12


def test_grading_figures():
    w = {"h": np.zeros((3, 2, 2))}
    a = Trace("x", "s", weights=w)
    b = Trace("y", "s", weights={"h": w["h"] + 1e-13})
    assert max_abs_diff(a, b) == pytest.approx(1e-13)
    err = np.concatenate([np.ones((4, 1)), np.full((4, 1), 2.0)])
    # second half of each 4-step window: 1 then 2 -> squared 1 and 4
    assert windowed_errors(err, 4).tolist() == [1.0, 4.0]
    c = Trace("z", "s", weights={"h": np.stack([np.zeros((2, 2)), np.eye(2)])})
    d = Trace("z", "s", weights={"h": np.stack([np.zeros((2, 2)), 2 * np.eye(2)])})
    dep = departure(c, d)
    assert dep["corr_dW"] == pytest.approx(1.0) and dep["rel_dW"] == pytest.approx(0.5)


def test_cli_prints_table_json_and_survives_failing_plots(fake, tmp_path, monkeypatch,
                                                           capsys):
    from neurolearn.rules.io import save
    spec_path = save(_fa_row(), tmp_path / "fa.toml")
    js = tmp_path / "cmp.json"

    def no_plots(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr("neurolearn.viz.plots.write_compare_plots", no_plots)
    code = main(["compare", str(spec_path), "--backends", "numpy,fake", "--steps", "100",
                 "--task-epochs", "0", "--json", str(js), "--quiet"])
    out = capsys.readouterr()
    assert "fake (good)" in out.out and "plumbing" in out.out and "textbook" in out.out
    assert "plots not written: disk full" in out.err
    data = json.loads(js.read_text())
    assert {v["check"] for v in data["verdicts"]} == {"plumbing", "textbook"}
    assert code == 2  # the plots failed (the broken variant alone would give 1)


def test_compare_plots_are_pngs(fake, tmp_path):
    pytest.importorskip("matplotlib")
    from neurolearn.viz.plots import write_compare_plots
    spec = _fa_row()
    rep = compare(spec, ["fake"], steps=100, task_epochs=0, quiet=True)
    written = write_compare_plots(spec, rep, tmp_path)
    for name in ("learning_curves", "divergence"):
        png = written[name]
        assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
