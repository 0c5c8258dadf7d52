"""Checkpoints of the time-stepped simulator (issue 12): `run --save` on a spiking spec
writes a resumable state every epoch and within epochs; SIGKILL, then --resume, ends
bit-identical to a run never stopped; the state protocol covers burst neurons'
generators and draws made ahead, momentum, lr_decay and positions within an epoch."""

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

import neurolearn
from neurolearn.cli import main
from neurolearn.deploy import checkpoint
from neurolearn.reference.simulator import run_time_stepped
from neurolearn.rules import load, save

from conftest import SPECS


def spiking_spec(tmp_path, epochs=6):
    """fa_digits_spiking on 60 training images (about 3000 steps per epoch), with
    momentum, batches of 4 and lr_decay, written to disk."""
    spec = load(SPECS / "fa_digits_spiking.toml")
    spec = spec.with_(data=replace(spec.data, n_train=60, n_test=30),
                      training=replace(spec.training, epochs=epochs, momentum=0.5,
                                       batch_size=4, lr_decay=0.9))
    path = tmp_path / "spiking.toml"
    save(spec, path)
    return path


def same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    """`neurolearn run --save` on a spiking spec, killed with SIGKILL after two or more
    epochs, continued with --resume: the weights, biases and history of a run never
    stopped, bit for bit."""
    spec_path = spiking_spec(tmp_path)
    ref = neurolearn.run(spec_path, quiet=True)
    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, "-m", "neurolearn", "run", str(spec_path),
                             "--save", str(ck), "--save-every", "1000", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_at = None
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            try:
                m = json.loads((ck / "manifest.json").read_text())
            except (OSError, ValueError):
                m = {}
            if m.get("epoch", 0) >= 2:
                proc.send_signal(signal.SIGKILL)
                killed_at = m["epoch"]
                break
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert killed_at is not None, "the run ended before it could be killed"
    survived = checkpoint.read(ck)  # valid despite the kill (atomic writes)
    assert survived.manifest["kind"] == "time_stepped" and 2 <= survived.epoch < 6
    assert main(["run", "--resume", str(ck), "--quiet"]) == 0
    done = neurolearn.load(ck)
    assert done.epoch == 6 and done.mode == "time_stepped"
    assert same_weights(done.params.W, ref.state.params.W)
    assert same_weights(done.params.b, ref.state.params.b)
    assert same_weights(done.params.B.values(), ref.state.params.B.values())
    assert done.history["test_accuracy"] == ref.history["test_accuracy"]
    assert done.history["test_loss"] == ref.history["test_loss"]


def test_resume_within_an_epoch_burst_neurons(tmp_path):
    """Spiking burstprop (noise drawn ahead in chunks, burst decisions, moving
    averages, lr_decay): resuming from every checkpoint, at epoch ends and within
    epochs, after a trip through the files, ends bit-identical."""
    spec = load(SPECS / "burstprop_xor.toml")
    ref = run_time_stepped(spec, epochs=3, quiet=True)
    ck = tmp_path / "xor"
    assert main(["run", str(SPECS / "burstprop_xor.toml"), "--epochs", "3", "--save",
                 str(ck), "--save-every", "1000", "--quiet"]) == 0
    m = json.loads((ck / "manifest.json").read_text())
    assert (m["epoch"], m["position"]) == (3, 0)
    states = []

    def keep(state):  # what a checkpoint holds, through its JSON and npz files
        d = tmp_path / f"s{len(states)}"
        from neurolearn.deploy.run import TimeSteppedSaver
        TimeSteppedSaver(d, spec)(state)
        states.append(TimeSteppedSaver.state_of(checkpoint.read(d)))
    run_time_stepped(spec, epochs=3, quiet=True, on_checkpoint=keep, checkpoint_steps=1000)
    assert [(s["epoch"], s["position"]) for s in states] == \
        [(0, 2), (1, 0), (1, 2), (2, 0), (2, 2), (3, 0)]
    for st in (states[0], states[2], states[3]):  # within epochs 1 and 2, after epoch 2
        out = run_time_stepped(spec, epochs=3, quiet=True, resume=st)
        assert same_weights(out.weights, ref.weights), (st["epoch"], st["position"])
        assert out.history["test_loss"] == ref.history["test_loss"]
    assert same_weights(neurolearn.load(ck).params.W, ref.weights)


def test_checkpoint_files_within_an_epoch(tmp_path):
    spec_path = spiking_spec(tmp_path, epochs=1)
    neurolearn.run(spec_path, quiet=True, save=tmp_path / "ck", save_every=1000)
    m = json.loads((tmp_path / "ck" / "manifest.json").read_text())
    assert (m["kind"], m["resumable"], m["epoch"], m["position"]) == \
        ("time_stepped", True, 1, 0)
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == \
        ["manifest.json", "state-000001.npz"]
    z = np.load(tmp_path / "ck" / m["state_file"])
    assert {"W.0", "b.0", "B.1", "vel.W.0", "enc.phase", "s.v.1", "s.xhat.0"} <= set(z.files)
    assert z["W.0"].shape == (200, 64)
    assert set(m["network"]["rng"]) == {"burst", "noise", "action"}


@pytest.mark.parametrize("bad", [["--save-every", "0"], ["--save-every", "10"]])
def test_save_every_is_checked(bad, capsys):
    assert main(["run", str(SPECS / "burstprop_xor.toml"), *bad]) == 2
    err = capsys.readouterr().err
    assert "--save-every" in err and "Traceback" not in err


def test_resume_keeps_the_reward_task_state(tmp_path):
    """Reward-modulated STDP (spec.reward: action generator, running mean r_bar in
    neurolearn.reference.reward.RewardState, tags, momentum): a checkpoint within an
    epoch holds the reward state, and resuming from it ends bit-identical."""
    from neurolearn.deploy.run import TimeSteppedSaver
    from neurolearn.rules.ir import (Data, Layer, Network, Reward, Rule, Simulation,
                                     Spec, Training)
    from neurolearn.rules.neurons import Neuron
    lif = Neuron("lif", noise=0.2)
    spec = Spec(name="rstdp", network=Network(layers=[
        Layer("i", 64), Layer("h", 30, lif, bias=False), Layer("o", 10, lif, bias=False)]),
        rule=Rule(builtin="rstdp", eta=0.5), data=Data("digits", n_train=12, n_test=10),
        training=Training(seed=0, batch_size=3, momentum=0.5, lr_decay=0.9),
        simulation=Simulation(t_example=0.02, teach=0.5, encoding="poisson",
                              max_rate=200.0),
        reward=Reward(selection="epsilon_greedy", epsilon=0.5, delay=0.002,
                      wrong=-1.0))
    ref = run_time_stepped(spec, epochs=2, quiet=True)
    states = []

    def keep(state):
        d = tmp_path / f"s{len(states)}"
        TimeSteppedSaver(d, spec)(state)
        states.append(TimeSteppedSaver.state_of(checkpoint.read(d)))
    run_time_stepped(spec, epochs=2, quiet=True, on_checkpoint=keep, checkpoint_steps=60)
    within = [s for s in states if s["epoch"] == 1 and s["position"]]
    assert within
    st = within[0]
    meta = st["network"]["meta"]
    assert meta["r_bar"][0] != 0.0 and len(meta["rng"]["action"]) == 1
    out = run_time_stepped(spec, epochs=2, quiet=True, resume=st)
    assert same_weights(out.weights, ref.weights)
    assert out.history["test_loss"] == ref.history["test_loss"]
