"""Entry point of the Lava child process:
``python -m neurolearn.backends.lava.child DIR [PARENT_PID]``.

Reads DIR/job.pkl, runs it with lava (imported only here), writes DIR/result.pkl.
Any exception is written to DIR/error-child.txt with its full traceback; the parent
then kills this process's group (Lava's runtime processes included).

The child never outlives its parent: before lava is imported it asks the kernel
for SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG), handles SIGTERM and
SIGHUP, and starts a watchdog thread that polls the parent's pid (a parent-death
signal is lost if the parent dies before prctl, and comes from the parent
*thread*). Each ends the whole group (reaper.kill_group, shared memory included),
removes DIR and exits, within a fraction of a second of the parent's death.
"""

import os
import pickle
import signal
import sys
import threading
import time
import traceback

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCHDOG_PERIOD = 0.2  # s between two looks at the parent's pid
_ending = threading.Lock()


def _end_group(job_dir: str) -> None:
    """Kill every other process of this group, unlink its shared memory, remove the
    job folder, exit. Runs once, from a signal handler or the watchdog."""
    if not _ending.acquire(blocking=False):
        return
    try:
        from .reaper import kill_group
        kill_group(os.getpgrp(), wait=5.0, spare=os.getpid())
        import shutil
        shutil.rmtree(job_dir, ignore_errors=True)
    finally:
        os._exit(1)


def _guard(job_dir: str, parent: int) -> None:
    def on_signal(signum, frame):
        _end_group(job_dir)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the watchdog stays
        pass

    def watchdog():
        while True:
            if os.getppid() != parent:
                _end_group(job_dir)
            time.sleep(WATCHDOG_PERIOD)

    if os.getppid() != parent:  # the parent died before prctl took effect
        _end_group(job_dir)
    threading.Thread(target=watchdog, name="neurolearn-watchdog", daemon=True).start()


def main(job_dir: str, parent: int | None = None) -> int:
    if parent is not None:
        _guard(job_dir, parent)
    # the parent starts this process with SIGINT, SIGTERM, SIGHUP and SIGALRM blocked
    # (runner.run_job), and a signal mask survives exec: clear it, so a pending
    # signal arrives now, with the handlers above in place
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    try:
        with open(os.path.join(job_dir, "job.pkl"), "rb") as fh:
            job = pickle.load(fh)
        job["dir"] = job_dir
        from .build import execute
        info = execute(job)
        with open(os.path.join(job_dir, "result.pkl.tmp"), "wb") as fh:
            pickle.dump(info, fh)
        os.replace(os.path.join(job_dir, "result.pkl.tmp"),
                   os.path.join(job_dir, "result.pkl"))
    except BaseException:
        with open(os.path.join(job_dir, "error-child.txt"), "w") as fh:
            fh.write(traceback.format_exc())
        sys.stderr.flush()
        os._exit(1)  # never call stop() after a failure: it hangs
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip interpreter teardown: Lava's atexit hooks can hang


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
