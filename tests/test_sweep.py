"""``neurolearn sweep``: task expansion, statistics, the missing-extra error, and a small
sweep on a local Dask cluster of 2 worker processes whose every report equals a
direct ``neurolearn.run`` of the same setting and seed, bit for bit."""

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurolearn import backends
from neurolearn.errors import SpecError
from neurolearn.result import is_clock
from neurolearn.rules.io import loads
from neurolearn.sweep import aggregate, grid
from neurolearn.sweep.store import Store
from neurolearn.sweep.task import weights_digest

from conftest import SPECS

# spiking FA on 20 digits, 2 epochs of 30 ms examples: ~1 s numpy, ~2 s Lava per task
TINY = '''
name = "fa_lif_tiny"
[network]
layers = [{name="in", size=64},
          {name="hid", size=20, neuron={model="lif", tau_rc=0.01}},
          {name="out", size=10, neuron={model="lif", tau_rc=0.01}}]
init = {dist="uniform", scale=0.3}
feedback = {kind="random"}
[rule]
terms = [{factors=[{kind="pre", signal="activity", tau=0.01},
                   {kind="post", signal="error_drive"}]}]
eta = 0.002
[data]
n_train = 20
n_test = 20
[training]
epochs = 2
[simulation]
t_example = 0.03
max_rate = 200.0
'''

needs_dask = pytest.mark.skipif(
    __import__("importlib").util.find_spec("distributed") is None,
    reason="Dask distributed not installed (pip install 'neurolearn[sweep]')")
needs_lava = pytest.mark.skipif(not backends.is_installed("lava"),
                                reason="lava-nc not installed (pip install 'neurolearn[lava]')")


def tiny_spec_file(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


# ---- expansion ---------------------------------------------------------------

def test_seeds_and_sets_parse_and_refuse_bad_input():
    assert grid.parse_seeds("0-3,7,2") == [0, 1, 2, 3, 7]
    for bad in ("3-1", "a", "1-", ""):
        with pytest.raises(SpecError, match="--seeds"):
            grid.parse_seeds(bad)
    with pytest.raises(SpecError, match="rule.eta: set twice"):
        grid.parse_sets(["rule.eta=0.1", "rule.eta=0.2"])
    with pytest.raises(SpecError, match="training.seed: seeds are swept with --seeds"):
        grid.parse_sets(["training.seed=1,2"])


def test_cross_product_with_validated_settings_and_stable_distinct_keys():
    spec = loads(TINY)
    sets = grid.parse_sets(["rule.eta=0.01,0.02,0.05", "network.layers[1].size=100,200"])
    tasks = grid.expand(spec, sets, ["numpy", "lava"], [0, 1])
    assert len(tasks) == 3 * 2 * 2 * 2
    assert len({t.key for t in tasks}) == len(tasks)
    again = grid.expand(spec, sets, ["numpy", "lava"], [0, 1])
    assert [t.key for t in again] == [t.key for t in tasks]  # resumable: keys are stable
    t = next(t for t in tasks if dict(t.setting) == {"rule.eta": 0.05,
                                                     "network.layers[1].size": 200})
    assert t.spec["rule"]["eta"] == 0.05 and t.spec["network"]["layers"][1]["size"] == 200
    # a bad value anywhere in the grid stops the sweep before anything runs
    with pytest.raises(SpecError, match="--set: network.layers.1..size: must be a positive"):
        grid.expand(spec, grid.parse_sets(["network.layers[1].size=10,-1"]), ["numpy"], [0])


# ---- statistics ------------------------------------------------------------------

def test_interval_uses_students_t():
    s = aggregate.stats([0.5, 0.75])
    # t(0.975, 1) = 12.7062 (tables); std = 0.25 / sqrt(2)
    assert s["mean"] == 0.625 and math.isclose(s["std"], 0.25 / math.sqrt(2))
    assert math.isclose(s["ci95_high"] - s["mean"], 12.7062 * s["std"] / math.sqrt(2),
                        rel_tol=1e-4)
    v = np.arange(10) / 10.0
    s = aggregate.stats(list(v) + [None])  # a failed seed does not count
    assert s["n"] == 10
    assert math.isclose(s["ci95_high"] - s["mean"], 2.2622 * v.std(ddof=1) / math.sqrt(10),
                        rel_tol=1e-4)
    assert aggregate.stats([0.9])["ci95_low"] is None


def _report(task, acc=None, status="ok"):
    return {"key": task.key, "status": status, "margin": None, "wall_seconds": 1.0,
            "result": None if acc is None else {"test_accuracy": acc, "test_loss": 1 - acc}}


def test_summary_best_setting_and_failures():
    spec = loads(TINY)
    tasks = grid.expand(spec, grid.parse_sets(["rule.eta=0.01,0.02"]), ["numpy"], [0, 1, 2])
    acc = {0.01: [0.5, 0.6, 0.7], 0.02: [0.8, 0.9, None]}
    reports = {}
    for t in tasks:
        a = acc[dict(t.setting)["rule.eta"]][t.seed]
        reports[t.key] = _report(t, a, "ok" if a is not None else "failed")
    s = aggregate.summarize(tasks, reports)
    g01, g02 = s["groups"]
    assert (g01["n_ok"], g02["n_ok"], g02["n_failed"]) == (3, 2, 1)
    assert math.isclose(g02["test_accuracy"]["mean"], 0.85)
    assert s["best"] == [{"rule": "custom", "backend": "numpy", "group": 1,
                          "setting": {"rule.eta": 0.02}, "test_accuracy": g02["test_accuracy"]}]
    text = aggregate.table(s)
    assert "best  custom on numpy: rule.eta=0.02 (test_accuracy 85.0 %)" in text
    assert "failed 1 task(s): rule.eta=0.02 on numpy" in text
    csv = aggregate.summary_csv(s).splitlines()
    assert csv[0].startswith("rule.eta,backend,rule,n_tasks,n_ok,n_failed")
    assert csv[2].startswith("0.02,numpy,custom,3,2,1,0,0,2,0.85")


def test_without_dask_the_command_names_the_extra(tmp_path, monkeypatch, capsys):
    from neurolearn.cli import main
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if absent
    rc = main(["sweep", str(tiny_spec_file(tmp_path)), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "neurolearn sweep: error: sweeps run on Dask distributed, which is not " \
           "installed: pip install 'neurolearn[sweep]'" in err
    assert not (tmp_path / "o").exists()


def test_existing_folder_needs_resume(tmp_path, capsys):
    from neurolearn.cli import main
    out = tmp_path / "o"
    Store(out).create()
    (out / "tasks" / "0123.json").write_text("{}")
    rc = main(["sweep", str(tiny_spec_file(tmp_path)), "--out", str(out)])
    assert rc == 2
    assert "already holds 1 task report(s); pass --resume" in capsys.readouterr().err


# ---- the distributed run equals direct runs --------------------------------------

def _comparable(res_dict):
    """A run's report without wall-clock figures (as RunResult.without_clocks)."""
    d = json.loads(json.dumps(res_dict))
    d.pop("train_seconds")
    d["history"].pop("seconds", None)
    d["extra"] = {k: v for k, v in d["extra"].items() if not is_clock(k)}
    return d


@needs_dask
@needs_lava
def test_sweep_reports_equal_direct_runs_bit_for_bit(tmp_path):
    import neurolearn
    spec_path = tiny_spec_file(tmp_path)
    out = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "neurolearn", "sweep", str(spec_path), "--seeds", "0-1",
         "--set", "rule.eta=0.002,0.02", "--backends", "numpy,lava", "--workers", "2",
         "--out", str(out), "--save-weights"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tasks  8: 8 ok (8 run now, 0 already done)" in proc.stdout
    manifest = json.loads((out / "sweep.json").read_text())
    store = Store(out)
    reports = [store.load(k) for k in manifest["tasks"]]
    assert len(reports) == 8 and all(r["status"] == "ok" for r in reports)
    # the tasks ran on two different worker processes, none of them this one
    pids = {r["worker"]["pid"] for r in reports}
    assert len(pids) == 2 and not pids & {__import__("os").getpid()}

    base = neurolearn.load(spec_path)
    digests = set()
    for r in reports:
        # the direct run builds its setting independently of --set
        eta = r["setting"]["rule.eta"]
        spec = base.with_(rule=dataclasses.replace(base.rule, eta=eta))
        direct = neurolearn.run(spec, r["backend"], seed=r["seed"], quiet=True)
        swept = store.load_weights(r["key"])
        assert len(swept) == len(direct.weights)
        for a, b in zip(swept, direct.weights):
            assert a.dtype == b.dtype and np.array_equal(a, b), (r["backend"], r["seed"], eta)
        assert r["weights_sha256"] == weights_digest(direct.weights)
        assert r["result"]["test_accuracy"] == direct.test_accuracy
        assert _comparable(r["result"]) == _comparable(direct.to_json_dict())
        digests.add(r["weights_sha256"])
    assert len(digests) == 8  # every seed, eta and backend trained different weights

    summary = json.loads((out / "summary.json").read_text())
    assert [g["n_ok"] for g in summary["groups"]] == [2, 2, 2, 2]
    for name in ("rule.eta.png", "seeds.png"):
        assert (out / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "summary.csv").read_text().count("\n") == 5
    assert (out / "runs.csv").read_text().count("\n") == 9


@needs_dask
def test_failing_task_is_recorded_and_the_others_finish(tmp_path):
    # mnist has no files on this machine: the run fails on its worker, not in validation
    spec_path, out = tiny_spec_file(tmp_path), tmp_path / "sweep"
    cmd = [sys.executable, "-m", "neurolearn", "sweep", str(spec_path), "--set",
           "data.dataset=mnist,digits", "--out", str(out), "--quiet", "--no-plots"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "tasks  2: 1 failed, 1 ok (2 run now, 0 already done)" in proc.stdout
    assert "failed 1 task(s): data.dataset=mnist on numpy" in proc.stdout
    store = Store(out)
    by_set = {r["setting"]["data.dataset"]: r for r in map(store.load, store.existing())}
    assert by_set["mnist"]["status"] == "failed" and by_set["mnist"]["result"] is None
    assert by_set["mnist"]["error"].startswith("mnist IDX files not found")
    assert by_set["digits"]["status"] == "ok" and by_set["digits"]["result"]["test_accuracy"] > 0
    # --resume keeps a failure (it is deterministic); --retry-failed runs it again
    again = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert "(0 run now, 2 already done)" in again.stdout
    retry = subprocess.run(cmd + ["--resume", "--retry-failed"], capture_output=True,
                           text=True, timeout=300)
    assert "(1 run now, 1 already done)" in retry.stdout


def test_batches_group_seeds_and_learning_rates_on_vectorised_backends_only(tmp_path):
    """Tasks that differ only in their seed and learning rates go together on numpy
    (one vectorised run); another setting, or a backend without the hook, does not."""
    from neurolearn.sweep.engine import batches
    spec = neurolearn_load(tiny_spec_file(tmp_path))
    tasks = grid.expand(spec, [("rule.eta", [0.002, 0.02]), ("rule.eta_output", [None, 0.01])],
                        ["numpy", "nengo"], [0, 1], "float", {})
    got = [[(t.backend, dict(t.setting)["rule.eta"], dict(t.setting)["rule.eta_output"],
             t.seed) for t in b] for b in batches(tasks, 3)]
    numpy = [(b, e, o, s) for e in (0.002, 0.02) for o in (None, 0.01) for b in ["numpy"]
             for s in (0, 1)]
    assert [len(b) for b in got if b[0][0] == "numpy"] == [3, 3, 2]
    assert sorted((m for b in got if b[0][0] == "numpy" for m in b), key=repr) == \
        sorted(numpy, key=repr)
    assert all(len(b) == 1 for b in got if b[0][0] == "nengo")
    assert sum(len(b) for b in got) == len(tasks) == 16
    # so does a decay: another group member, not another group
    decayed = grid.expand(spec, [("training.lr_decay", [1.0, 0.9])], ["numpy"], [0, 1],
                          "float", {})
    assert [len(b) for b in batches(decayed, 4)] == [4]
    # a setting other than a rate splits the groups
    sized = grid.expand(spec, [("rule.eta", [0.002, 0.02]),
                               ("network.layers[1].size", [10, 20])], ["numpy"], [0], "float", {})
    assert sorted(len(b) for b in batches(sized, 4)) == [2, 2]
    assert [len(b) for b in batches(tasks, 1)] == [1] * 16
    with pytest.raises(Exception, match="--seeds-per-task: must be at least 1"):
        batches(tasks, 0)


def neurolearn_load(path):
    import neurolearn
    return neurolearn.load(path)


@needs_dask
def test_seeds_per_task_reports_equal_direct_runs_bit_for_bit(tmp_path):
    """Three seeds at two learning rates as one vectorised numpy task: each report is
    its own direct run."""
    import neurolearn
    spec_path, out = tiny_spec_file(tmp_path), tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "neurolearn", "sweep", str(spec_path), "--seeds", "0-2",
         "--set", "rule.eta=0.002,0.004", "--seeds-per-task", "6", "--workers", "1",
         "--out", str(out), "--save-weights", "--quiet", "--no-plots"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tasks  6: 6 ok (6 run now, 0 already done)" in proc.stdout
    store = Store(out)
    reports = sorted(map(store.load, store.existing()),
                     key=lambda r: (r["setting"]["rule.eta"], r["seed"]))
    assert [sorted(r["batch"]["seeds"]) for r in reports] == [[0, 0, 1, 1, 2, 2]] * 6
    assert all(sorted(r["batch"]["keys"]) == sorted(q["key"] for q in reports)
               for r in reports)  # which tasks ran together, whatever their rates
    assert len({r["worker"]["pid"] for r in reports}) == 1
    base = neurolearn.load(spec_path)
    for r in reports:
        # the direct run builds its setting independently of --set
        spec = base.with_(rule=dataclasses.replace(base.rule, eta=r["setting"]["rule.eta"]))
        direct = neurolearn.run(spec, "numpy", seed=r["seed"], quiet=True)
        for a, b in zip(store.load_weights(r["key"]), direct.weights):
            assert a.dtype == b.dtype and np.array_equal(a, b), r["seed"]
        assert r["weights_sha256"] == weights_digest(direct.weights)
        swept = _comparable(r["result"])
        assert swept["extra"].pop("copies") == 6  # the one field that says how it ran
        assert swept == _comparable(direct.to_json_dict())
    assert len({r["weights_sha256"] for r in reports}) == 6


def test_api_run_seeds_equals_runs_on_a_backend_without_the_hook_and_in_batched_mode():
    import neurolearn
    spec = neurolearn.load(SPECS / "fa_digits.toml")
    spec = spec.with_(training=dataclasses.replace(spec.training, epochs=1),
                      data=dataclasses.replace(spec.data, n_train=100, n_test=50))
    together = neurolearn.run_seeds(spec, "numpy", [0, 1], quiet=True)
    for seed, got in zip([0, 1], together):
        alone = neurolearn.run(spec, "numpy", seed=seed, quiet=True)
        assert got.test_accuracy == alone.test_accuracy
        assert all(np.array_equal(a, b) for a, b in zip(got.weights, alone.weights))
    with pytest.raises(SpecError, match="--seed"):
        neurolearn.run_seeds(spec, "numpy", [0, -1], quiet=True)


def test_api_run_members_runs_each_member_as_its_own_run(tmp_path):
    """Members with their own rates: batched specs run one by one, time-stepped ones
    together; either way each result is its member's own run."""
    import neurolearn
    batched = neurolearn.load(SPECS / "fa_digits.toml")
    batched = batched.with_(training=dataclasses.replace(batched.training, epochs=1),
                            data=dataclasses.replace(batched.data, n_train=100, n_test=50))
    stepped = neurolearn_load(tiny_spec_file(tmp_path))
    for spec in (batched, stepped):
        members = [spec, spec.with_(rule=dataclasses.replace(spec.rule, eta=2 * spec.rule.eta))]
        together = neurolearn.run_members(members, "numpy", [0, 1], epochs=1, quiet=True)
        assert ("copies" in together[0].extra) == (spec is stepped)
        for member, seed, got in zip(members, [0, 1], together):
            alone = neurolearn.run(member, "numpy", seed=seed, epochs=1, quiet=True)
            assert got.test_accuracy == alone.test_accuracy
            assert all(np.array_equal(a, b) for a, b in zip(got.weights, alone.weights))
    with pytest.raises(SpecError, match="--seed"):
        neurolearn.run_members([stepped, stepped], "numpy", [0, -1], quiet=True)
