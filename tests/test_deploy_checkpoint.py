"""Checkpoints of the batched trainer: save every epoch, SIGKILL, resume bit-identical;
neurolearn.load; evaluation of a trained network (--init-from, --epochs 0)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import neurolearn
from neurolearn.cli import main
from neurolearn.deploy import checkpoint
from neurolearn.errors import SpecError, UnsupportedRule
from neurolearn.rules import load, save

from conftest import SPECS

FA = SPECS / "fa_digits.toml"


def small_spec(tmp_path, src=FA, name="small.toml", **training):
    """A spec written to disk with a few hundred training images (fast epochs), with
    momentum (so the checkpoint must carry velocities)."""
    spec = load(src)
    training = {"momentum": 0.9, "batch_size": 32, **training}
    spec = spec.with_(data=type(spec.data)(**{**vars(spec.data), "n_train": 400}),
                      training=type(spec.training)(**{**vars(spec.training), **training}))
    path = tmp_path / name
    save(spec, path)
    return path


def same_params(a, b):
    return (all(np.array_equal(x, y) for x, y in zip(a.W, b.W))
            and all(np.array_equal(x, y) for x, y in zip(a.b, b.b))
            and a.B.keys() == b.B.keys() and all(np.array_equal(a.B[k], b.B[k]) for k in a.B))


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    """A `neurolearn run --save` killed with SIGKILL after some epochs, resumed with
    --resume, ends with exactly the weights, biases, feedback matrices and history of
    a run that was never interrupted (momentum 0.9 and the shuffling generator
    included)."""
    spec_path = small_spec(tmp_path, epochs=60)
    ref = neurolearn.run(spec_path, quiet=True)
    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, "-m", "neurolearn", "run", str(spec_path),
                             "--save", str(ck), "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    killed_at = None
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            try:
                epoch = json.loads((ck / "manifest.json").read_text())["epoch"]
            except (OSError, ValueError, KeyError):
                epoch = 0
            if epoch >= 3:
                proc.send_signal(signal.SIGKILL)
                killed_at = epoch
                break
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert killed_at is not None, "the run ended before it could be killed"
    survived = checkpoint.read(ck)          # valid despite the kill (atomic writes)
    assert 3 <= survived.epoch < 60
    assert main(["run", "--resume", str(ck), "--quiet"]) == 0
    done = neurolearn.load(ck)
    assert done.epoch == 60
    assert same_params(done.params, ref.state.params)
    assert done.history["test_accuracy"] == ref.history["test_accuracy"]
    assert done.evaluate()["accuracy"] == ref.test_accuracy


def test_resume_in_process_covers_bcm_state_and_lr_decay(tmp_path):
    """BCM's moving threshold and eta after lr_decay are part of the state."""
    from neurolearn.data.datasets import Dataset
    patterns = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], float)
    x = patterns[np.arange(64) % 2]
    ds = Dataset("patterns", x, np.zeros((64, 1)), patterns, np.zeros((2, 1)), False)
    spec = load(SPECS / "bcm_selectivity.toml")
    spec = spec.with_(training=type(spec.training)(**{**vars(spec.training), "epochs": 8,
                                                      "lr_decay": 0.9, "batch_size": 4}))
    ref = neurolearn.run(spec, quiet=True, dataset=ds)
    part = spec.with_(training=type(spec.training)(**{**vars(spec.training), "epochs": 5}))
    neurolearn.run(part, quiet=True, save=tmp_path / "ck", dataset=ds)
    m = json.loads((tmp_path / "ck" / "manifest.json").read_text())
    assert m["trainer"]["theta"] and m["trainer"]["eta"][0] == pytest.approx(0.02 * 0.9 ** 5)
    out = neurolearn.run(quiet=True, resume=tmp_path / "ck", epochs=8, dataset=ds)
    assert same_params(out.state.params, ref.state.params)


def test_quantized_trainer_resumes_bit_identical(tmp_path):
    spec_path = small_spec(tmp_path, epochs=3)
    ref = neurolearn.run(spec_path, precision="fixed", profile="loihi2", quiet=True)
    neurolearn.run(spec_path, precision="fixed", profile="loihi2", quiet=True, epochs=2,
                   save=tmp_path / "q")
    assert json.loads((tmp_path / "q" / "manifest.json").read_text())["kind"] == "quantized"
    out = neurolearn.run(quiet=True, resume=tmp_path / "q", epochs=3)
    assert all(np.array_equal(a, b) for a, b in zip(out.state.Wq, ref.state.Wq))
    assert out.extra["saturations"] == ref.extra["saturations"]
    assert out.test_accuracy == ref.test_accuracy


def test_checkpoint_format_and_atomic_layout(tmp_path):
    spec_path = small_spec(tmp_path, epochs=2)
    neurolearn.run(spec_path, quiet=True, save=tmp_path / "ck")
    m = json.loads((tmp_path / "ck" / "manifest.json").read_text())
    assert (m["format"], m["version"], m["kind"], m["epoch"]) == \
        ("neurolearn.checkpoint", 1, "batched", 2)
    files = sorted(p.name for p in (tmp_path / "ck").iterdir())
    assert files == ["manifest.json", "state-000002.npz"]   # the old state was removed
    z = np.load(tmp_path / "ck" / m["state_file"])
    assert {"W.0", "b.0", "B.1", "B.2", "vel.W.0"} <= set(z.files)


def test_bad_checkpoints_are_clear_errors(tmp_path, capsys):
    spec_path = small_spec(tmp_path, epochs=1)
    neurolearn.run(spec_path, quiet=True, save=tmp_path / "ck")
    # saving over an existing checkpoint is refused
    assert main(["run", str(spec_path), "--save", str(tmp_path / "ck"), "--quiet"]) == 2
    assert "already holds a checkpoint" in capsys.readouterr().err
    # damaged state file
    m = json.loads((tmp_path / "ck" / "manifest.json").read_text())
    (tmp_path / "ck" / m["state_file"]).write_bytes(b"junk")
    with pytest.raises(SpecError, match="sha256: .*checksum"):
        neurolearn.load(tmp_path / "ck")
    # not a checkpoint, wrong version
    (tmp_path / "empty").mkdir()
    assert main(["run", "--resume", str(tmp_path / "empty")]) == 2
    assert "not a neurolearn checkpoint" in capsys.readouterr().err
    m["version"] = 99
    (tmp_path / "ck" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(SpecError, match="version: version 99 is not supported"):
        checkpoint.read(tmp_path / "ck")


def test_resume_refuses_a_different_spec(tmp_path):
    spec_path = small_spec(tmp_path, epochs=2)
    neurolearn.run(spec_path, quiet=True, save=tmp_path / "ck", epochs=1)
    other = small_spec(tmp_path, name="other.toml", epochs=2, batch_size=16)
    with pytest.raises(SpecError, match="training.batch_size"):
        neurolearn.run(other, resume=tmp_path / "ck", quiet=True)


def test_epochs_zero_needs_a_trained_network(capsys):
    assert main(["run", str(FA), "--epochs", "0"]) == 2
    assert "--epochs: 0 means: evaluate a trained network" in capsys.readouterr().err
    assert main(["run", str(FA), "--epochs", "-1"]) == 2


def test_init_from_evaluates_float_and_fixed(tmp_path, capsys):
    spec_path = small_spec(tmp_path, epochs=4)
    trained = neurolearn.run(spec_path, quiet=True, save=tmp_path / "ck")
    out = neurolearn.run(spec_path, init_from=tmp_path / "ck", epochs=0)
    assert out.epochs == 0 and out.test_accuracy == trained.test_accuracy
    fixed = neurolearn.run(spec_path, init_from=tmp_path / "ck", epochs=0,
                           precision="fixed", profile="loihi2")
    dep = fixed.extra["deploy"]
    assert dep["float_accuracy"] == trained.test_accuracy
    assert dep["accuracy_lost_points"] == pytest.approx(
        100 * (trained.test_accuracy - fixed.test_accuracy))
    # every weight on the 8-bit (+ sign) grid of its layer, within half a step
    for w, w0, f in zip(fixed.weights, trained.weights, dep["weight_frac_bits"].values()):
        assert np.array_equal(w * 2.0 ** f, np.rint(w * 2.0 ** f))
        assert np.max(np.abs(w - w0)) <= 2.0 ** -f / 2 + 1e-15
    assert main(["run", "--init-from", str(tmp_path / "ck"), "--epochs", "0",
                 "--precision", "fixed", "--profile", "loihi2"]) == 0
    assert "lost to loihi2's weight grid" in capsys.readouterr().out


@pytest.mark.parametrize("backend", ["lava", "nengo", "nengo-loihi"])
def test_what_other_backends_refuse_by_name(tmp_path, backend):
    """Saving and training on from a trained network are numpy's only; inference with
    trained weights runs on lava and nengo (tests/test_deploy_infer.py), not on
    nengo-loihi."""
    spec_path = small_spec(tmp_path, epochs=1)
    neurolearn.run(spec_path, quiet=True, save=tmp_path / "ck")
    with pytest.raises(UnsupportedRule, match=f"cannot run on {backend}: .*(seeded weights "
                                              "and keeps no checkpoints|no entry point)"):
        neurolearn.run(spec_path, backend, init_from=tmp_path / "ck", epochs=1)
    if backend == "nengo-loihi":
        with pytest.raises(UnsupportedRule, match="inference with trained weights "
                                                  r"\(--init-from\) cannot run on nengo-loihi"):
            neurolearn.run(spec_path, backend, init_from=tmp_path / "ck", epochs=0)


def test_load_returns_a_usable_network(tmp_path):
    spec_path = small_spec(tmp_path, epochs=3)
    trained = neurolearn.run(spec_path, quiet=True, save=tmp_path / "ck")
    net = neurolearn.load(tmp_path / "ck")
    assert net.spec.name == trained.spec_name and net.epoch == 3
    from neurolearn.data import load_dataset
    ds = load_dataset(net.spec.data)
    y = net.predict(ds.x_test)
    assert y.shape == (len(ds.x_test), 10)
    assert np.mean(y.argmax(1) == ds.y_test.argmax(1)) == trained.test_accuracy
    # a spec file still loads as a spec
    assert neurolearn.load(FA).name == "fa_digits"
