"""Lifecycle: an exception inside a ProcessModel and a time-out end the runtime and
every process it started, and the user sees the real cause."""

import os
import time

import pytest

from neurolearn.backends import lava as backend
from neurolearn.backends.lava.runner import LavaRunError, group_members
from neurolearn.rules.io import loads

SPEC = loads('''
name = "lifecycle"
[network]
layers = [{name="in", size=64}, {name="h", size=20, neuron={model="lif"}},
          {name="out", size=10, neuron={model="lif"}}]
[rule]
builtin = "delta"
''')


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(d))
    return out


def assert_nothing_left(pgid):
    assert group_members(pgid) == []
    assert children_of(os.getpid()) == []


@pytest.mark.parametrize("lowering,who", [("stock", "population1"), ("stock", "dense2"),
                                          ("fused", "fused")])
def test_exception_in_process_model_surfaces_real_traceback(lowering, who):
    with pytest.raises(LavaRunError) as err:
        backend.simulate(SPEC, steps=50, lowering=lowering, timeout=60,
                         fault=("exception", 7, who))
    msg = str(err.value)
    assert f"RuntimeError: injected fault in {who} at step 7" in msg
    assert "Traceback (most recent call last)" in msg and "run_spk" in msg
    assert f"traceback from {who}" in msg
    assert_nothing_left(err.value.pgid)


def test_timeout_ends_runtime_and_all_processes():
    t0 = time.monotonic()
    with pytest.raises(LavaRunError, match="timed out after 8 s") as err:
        backend.simulate(SPEC, steps=50, lowering="stock", timeout=8,
                         fault=("hang", 5, "population2"))
    assert time.monotonic() - t0 < 30
    assert_nothing_left(err.value.pgid)


def test_successful_run_leaves_no_process():
    tr = backend.simulate(SPEC, steps=20, lowering="stock", timeout=60)
    assert tr.extra["processes"] == 6
    assert_nothing_left(tr.extra["pgid"])


def test_ctrl_c_as_the_child_starts_leaves_no_process(monkeypatch):
    """A Ctrl-C that lands right after the fork, before the runner holds the child's
    handle, still ends the child's group (it used to leave the child running)."""
    import signal
    import subprocess

    from neurolearn.backends.lava import runner
    real_popen, started = subprocess.Popen, []

    def popen(*args, **kw):
        proc = real_popen(*args, **kw)
        started.append(proc.pid)
        os.kill(os.getpid(), signal.SIGINT)
        return proc

    monkeypatch.setattr(runner.subprocess, "Popen", popen)
    old_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            backend.simulate(SPEC, steps=50, lowering="stock", timeout=60)
    finally:
        signal.signal(signal.SIGINT, old_handler)
        monkeypatch.undo()
        left = group_members(started[0]) if started else []
        if left:  # the test failed: do not leak the child into the rest of the run
            runner.kill_group(started[0])
    assert started and left == [] and children_of(os.getpid()) == []


def test_ctrl_c_ends_runtime_and_all_processes(monkeypatch):
    import signal
    import threading

    from neurolearn.backends.lava import runner
    seen = {}
    real_kill_group = runner.kill_group

    def spy(pgid, wait=10.0):
        seen["pgid"] = pgid
        seen["segments"] = _shm_mapped(group_members(pgid))  # read before the kill
        real_kill_group(pgid, wait)

    monkeypatch.setattr(runner, "kill_group", spy)
    # Ctrl-C as an interactive session has it: a test runner started in the background
    # by a non-interactive shell inherits SIGINT ignored (the run then just times out)
    old_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(4.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            backend.simulate(SPEC, steps=50, lowering="stock", timeout=60,
                             fault=("hang", 5, "population1"))
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, old_handler)
    assert_nothing_left(seen["pgid"])
    # Ctrl-C used to leak Lava's 4 shared-memory segments (the group's manager and
    # resource tracker die with it); they are unlinked now
    assert len(seen["segments"]) >= 4
    assert [s for s in seen["segments"] if os.path.exists(s)] == []


# ---- the command line under signals: nothing of the run survives ---------------------

import glob  # noqa: E402
import importlib.util  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

needs_lava = pytest.mark.skipif(importlib.util.find_spec("lava") is None,
                                reason="needs lava-nc (pip install 'neurolearn[lava]')")

# 100 digits x 50 epochs x 100 steps: minutes of Lava, so the run is mid-way when hit
CLI_SPEC = '''
name = "lifecycle_cli"
[network]
layers = [{name="in", size=64}, {name="h", size=20, neuron={model="lif"}},
          {name="out", size=10, neuron={model="lif"}}]
[rule]
builtin = "delta"
[data]
n_train = 100
n_test = 20
[training]
epochs = 50
'''


def _procs():
    """pid -> (ppid, pgid, state, argv) of every process (read from /proc, so
    independent of the code under test)."""
    out = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as fh:
                f = fh.read().rsplit(")", 1)[1].split()
            with open(stat[:-4] + "cmdline") as fh:
                argv = fh.read().split("\0")
        except (OSError, IndexError):
            continue
        out[int(stat.split("/")[2])] = (int(f[1]), int(f[2]), f[0], argv)
    return out


def _shm_mapped(pids):
    found = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/maps") as fh:
                for line in fh:
                    if "/dev/shm/psm_" in line and "(deleted)" not in line:
                        found.add(line[line.index("/dev/shm/"):].strip())
        except OSError:
            pass
    return found


def _start_mid_run(tmp_path):
    """``neurolearn run --backend lava`` until Lava's runtime runs: (proc, child pid,
    job folder, shared-memory segments of the group)."""
    spec = tmp_path / "spk.toml"
    spec.write_text(CLI_SPEC)
    proc = subprocess.Popen([sys.executable, "-m", "neurolearn", "run", str(spec),
                             "--backend", "lava", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 90:
        ps = _procs()
        kids = [p for p, v in ps.items() if v[0] == proc.pid
                and "neurolearn.backends.lava.child" in v[3]]
        if kids:
            members = [p for p, v in ps.items() if v[1] == kids[0]]
            segs = _shm_mapped(members)
            if len(members) >= 4 and len(segs) >= 4:  # runtime, manager, tracker up
                time.sleep(1.0)  # a moment into the run
                ps = _procs()
                members = [p for p, v in ps.items() if v[1] == kids[0]]
                argv = ps[kids[0]][3]
                job = argv[argv.index("neurolearn.backends.lava.child") + 1]
                return proc, kids[0], job, _shm_mapped(members)
        if proc.poll() is not None:
            pytest.fail(f"the run ended early: {proc.stderr.read()[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail("Lava's runtime did not start within 90 s")


def _left(pgid, job, segs):
    return ([p for p, v in _procs().items() if v[1] == pgid and v[2] not in "ZX"],
            Path(job).exists(), sorted(s for s in segs if Path(s).exists()))


@needs_lava
@pytest.mark.parametrize("sig,status", [
    (signal.SIGTERM, 143), (signal.SIGKILL, -9),
    # SIGHUP takes SIGTERM's path (one handler), SIGINT the same cleanup (and the
    # in-process Ctrl-C test above checks its shared memory): slow suite only
    pytest.param(signal.SIGHUP, 129, marks=pytest.mark.slow),
    pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow)])
def test_signal_to_neurolearn_leaves_no_process_folder_or_shared_memory(tmp_path, sig,
                                                                        status):
    proc, pgid, job, segs = _start_mid_run(tmp_path)
    assert segs and Path(job).is_dir()
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read()
    assert proc.returncode == status, err
    assert "Traceback" not in err
    if sig != signal.SIGKILL:
        assert err.strip().count("\n") == 0 and err.startswith("neurolearn run: "), err
    # a SIGKILLed parent cannot clean up: the child notices and ends its own group
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_left(pgid, job, segs)):
        time.sleep(0.2)
    procs, job_left, segs_left = _left(pgid, job, segs)
    assert procs == [], f"processes of the run still alive 10 s after {sig.name}"
    assert not job_left, f"job folder {job} left after {sig.name}"
    assert segs_left == [], f"shared-memory segments leaked after {sig.name}"
