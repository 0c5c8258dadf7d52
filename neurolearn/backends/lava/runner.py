"""Lifecycle of a Lava run: every run happens in a child process with a time limit.

The child (``python -m neurolearn.backends.lava.child``) starts in a new session, so
it and every process Lava's runtime forks share one process group. Whatever happens
(success, an exception in a ProcessModel, a time-out, Ctrl-C, SIGTERM or SIGHUP,
which the command line turns into an exception) the parent kills that group with
SIGKILL, waits until none of its processes is left and unlinks the shared-memory
segments they used (reaper.py). If the parent itself dies (even by SIGKILL), the
child notices (parent-death signal, and a watchdog polling its parent's pid) and
does the same to its own group, job folder included. Lava is imported only in the
child (importing it sets multiprocessing's start method). Errors come back as
LavaRunError carrying the real traceback written by the failing model.
"""

from __future__ import annotations

import glob
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import numpy as np

from ... import deadline
from ...errors import NeurolearnError
from .reaper import group_members, kill_group  # noqa: F401  (public here)

DEFAULT_TIMEOUT = 600.0
ERROR_GRACE = 1.0  # s to let the child report after a model's exception


class LavaRunError(NeurolearnError):
    """A Lava run that failed or timed out; ``pgid`` is the killed process group."""

    def __init__(self, message: str, pgid: int | None = None):
        self.pgid = pgid
        super().__init__(message)


_HELD = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM}


@contextmanager
def _signals_held():
    """Block the signals that unwind a run (they stay pending and are delivered,
    raising as usual, once the block ends)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _errors(job_dir: str) -> str:
    parts = []
    for path in sorted(glob.glob(os.path.join(job_dir, "error-*.txt"))):
        who = os.path.basename(path)[6:-4]
        with open(path) as fh:
            parts.append(f"--- traceback from {who} ---\n{fh.read().rstrip()}")
    return "\n".join(parts)


def _tail(path: str, n: int = 3000) -> str:
    try:
        with open(path, errors="replace") as fh:
            return fh.read()[-n:]
    except OSError:
        return ""


def _wait(proc, job_dir, timeout):
    """Wait for the child; after a model reported an exception, Lava's runtime may
    never return (its stop() then hangs), so give it ERROR_GRACE seconds and then
    stop waiting. A ``--time-limit`` (neurolearn.deadline) ends the wait too."""
    until = time.monotonic() + timeout
    failed_at = None
    while True:
        try:
            proc.wait(timeout=0.1)
            return None
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if failed_at is None and glob.glob(os.path.join(job_dir, "error-*.txt")):
            failed_at = now
        if failed_at is not None and now - failed_at > ERROR_GRACE:
            return "a ProcessModel raised an exception"
        if now > until:
            return f"timed out after {timeout:g} s"
        deadline.check("lava run")


def run_job(job: dict, timeout: float | None = None) -> dict:
    """Run ``job`` (see build.execute) in a Lava child; returns the child's info
    dict plus ``arrays`` {record name: array} (the .npy files it lists in
    ``records``) and ``pgid``."""
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    with tempfile.TemporaryDirectory(prefix="neurolearn-lava-") as job_dir:
        with open(os.path.join(job_dir, "job.pkl"), "wb") as fh:
            pickle.dump(job, fh)
        log = os.path.join(job_dir, "child.log")
        proc, why = None, None
        try:
            # a Ctrl-C between the fork and the assignment would leave a child that
            # nothing kills: the signals wait until proc is set (the child clears the
            # mask it inherits)
            with _signals_held(), open(log, "wb") as log_fh:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "neurolearn.backends.lava.child", job_dir,
                     str(os.getpid())],
                    stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True)
            why = _wait(proc, job_dir, timeout)
        finally:  # also on KeyboardInterrupt, SIGTERM, a time limit: nothing outlives it
            if proc is not None:
                with _signals_held():  # a second Ctrl-C must not cut the cleanup short
                    kill_group(proc.pid)
                    proc.wait()
        pgid = proc.pid
        result_path = os.path.join(job_dir, "result.pkl")
        if why is None and proc.returncode == 0 and os.path.exists(result_path):
            with open(result_path, "rb") as fh:
                info = pickle.load(fh)
        else:
            why = why or f"the Lava child exited with status {proc.returncode}"
            detail = _errors(job_dir) or ("child output:\n" + _tail(log))
            raise LavaRunError(f"Lava run failed: {why}; runtime and all its processes "
                               f"were ended.\n{detail}", pgid)
        # the records the models wrote (memmaps named in info["records"])
        info["arrays"] = {name: np.array(np.load(os.path.join(job_dir, name + ".npy")))
                          for name in info.get("records", ())}
        info["pgid"] = pgid
        return info
