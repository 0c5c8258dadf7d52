"""Faults: a killed process never leaves Lava processes behind; a sweep survives a
killed worker (the task in flight is retried, or recorded "lost"); a sweep killed as a
whole keeps every finished report, and ``--resume`` runs only what is missing."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from neurolearn.backends.lava.runner import group_members
from neurolearn.sweep.store import Store

from test_sweep import needs_dask, needs_lava, tiny_spec_file

LAVA_CHILD = "neurolearn.backends.lava.child"


def _read(path, mode="r"):
    try:
        with open(path, mode) as fh:
            return fh.read()
    except OSError:
        return None


def ppid(pid):
    stat = _read(f"/proc/{pid}/stat")
    return int(stat.rsplit(")", 1)[1].split()[1]) if stat else None


def cmdline(pid):
    raw = _read(f"/proc/{pid}/cmdline", "rb")
    return raw.decode(errors="replace").split("\0") if raw else []


def marked(marker):
    """Live processes whose environment carries this test's marker (our descendants)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        env = _read(f"/proc/{d}/environ", "rb")
        stat = _read(f"/proc/{d}/stat")
        if env and stat and f"NEUROLEARN_TEST_MARKER={marker}".encode() in env.split(b"\0") \
                and stat.rsplit(")", 1)[1].split()[0] != "Z":
            out.append(int(d))
    return out


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def lava_children(marker):
    return [p for p in marked(marker) if LAVA_CHILD in " ".join(cmdline(p))]


def start(args, marker, **env):
    return subprocess.Popen([sys.executable, "-m", "neurolearn", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            env={**os.environ, "NEUROLEARN_TEST_MARKER": marker, **env})


def cleanup(proc, marker):
    """Whatever a failed test left: the sweep's group, then anything marked."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    for p in marked(marker):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def sweep_args(spec, out, seeds, backends, *extra):
    return ["sweep", str(spec), "--seeds", seeds, "--set", "rule.eta=0.002,0.02",
            "--backends", backends, "--workers", "2", "--out", str(out), "--quiet",
            "--no-plots", *extra]


@needs_lava
def test_sigkill_to_neurolearn_run_ends_its_lava_processes(tmp_path):
    marker = uuid.uuid4().hex
    proc = start(["run", str(tiny_spec_file(tmp_path)), "--backend", "lava", "--quiet",
                  "--set", "training.epochs=200"], marker)
    try:
        (child,) = wait_for(lambda: lava_children(marker), 60, "the Lava child")
        job_dir = cmdline(child)[3]
        wait_for(lambda: len(group_members(child)) >= 2, 60, "Lava's runtime processes")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        wait_for(lambda: not group_members(child), 10, "the Lava group to end")
        assert not os.path.exists(job_dir)
        assert marked(marker) == []
    finally:
        cleanup(proc, marker)


@needs_dask
@needs_lava
def test_killed_worker_task_is_retried_and_its_lava_processes_end(tmp_path):
    marker = uuid.uuid4().hex
    out = tmp_path / "sweep"
    proc = start(sweep_args(tiny_spec_file(tmp_path), out, "0-1", "lava"), marker)
    try:
        child = wait_for(lambda: lava_children(marker), 120, "a Lava task")[0]
        worker = ppid(child)
        assert ppid(worker) == proc.pid  # a worker process of the local cluster
        os.kill(worker, signal.SIGKILL)  # the Lava task in flight is lost with it
        wait_for(lambda: not group_members(child), 10, "the lost task's Lava group to end")
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stdout + stderr
        assert "tasks  4: 4 ok (4 run now, 0 already done)" in stdout
        reports = [json.loads(p.read_text()) for p in (out / "tasks").glob("*.json")]
        assert len(reports) == 4 and {r["status"] for r in reports} == {"ok"}
        assert worker not in {r["worker"]["pid"] for r in reports}  # it finished none
        wait_for(lambda: marked(marker) == [], 20, "every worker to exit")
    finally:
        cleanup(proc, marker)


@needs_dask
@needs_lava
def test_lost_task_then_killed_sweep_then_resume_redoes_nothing_finished(tmp_path):
    marker = uuid.uuid4().hex
    spec, out = tiny_spec_file(tmp_path), tmp_path / "sweep"
    store = Store(out)
    reports = lambda: {p.stem: json.loads(p.read_text())  # noqa: E731
                       for p in (out / "tasks").glob("*.json")}
    # no rescheduling of a task whose worker died: it comes back as KilledWorker
    proc = start(sweep_args(spec, out, "0-1", "numpy,lava"), marker,
                 DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    try:
        child = wait_for(lambda: lava_children(marker), 120, "a Lava task")[0]
        os.kill(ppid(child), signal.SIGKILL)
        # lost: the task running there, and any the scheduler had queued on it
        lost = wait_for(lambda: [k for k, r in reports().items() if r["status"] == "lost"],
                        60, "the lost task's report")
        n = len(reports())
        wait_for(lambda: len(reports()) >= n + 1, 120, "one more finished task")
        os.kill(proc.pid, signal.SIGKILL)  # the whole sweep: client, scheduler, nannies
        proc.wait()
        wait_for(lambda: marked(marker) == [], 20, "workers and Lava processes to end")
    finally:
        cleanup(proc, marker)

    before = reports()
    assert len(before) < 8  # killed mid-sweep
    lost = [k for k, r in before.items() if r["status"] == "lost"]
    assert lost and all("KilledWorker" in before[k]["error"] for k in lost)
    ok = {k for k, r in before.items() if r["status"] == "ok"}
    assert ok and len(ok) + len(lost) == len(before)
    stamps = {k: (os.stat(store.report_path(k)).st_ino,
                  os.stat(store.report_path(k)).st_mtime_ns) for k in ok}

    done = subprocess.run([sys.executable, "-m", "neurolearn",
                           *sweep_args(spec, out, "0-1", "numpy,lava", "--resume")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (f"tasks  8: 8 ok ({8 - len(ok)} run now, {len(ok)} already done)"
            in done.stdout)
    after = reports()
    assert len(after) == 8 and {r["status"] for r in after.values()} == {"ok"}
    for k, stamp in stamps.items():  # not rewritten
        assert (os.stat(store.report_path(k)).st_ino,
                os.stat(store.report_path(k)).st_mtime_ns) == stamp
        assert after[k] == before[k]
    assert not list((out / "tasks").glob(".*.tmp"))  # no half-written file

    again = subprocess.run([sys.executable, "-m", "neurolearn",
                            *sweep_args(spec, out, "0-1", "numpy,lava", "--resume")],
                           capture_output=True, text=True, timeout=600)
    assert "tasks  8: 8 ok (0 run now, 8 already done)" in again.stdout
