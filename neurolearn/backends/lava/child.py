"""Entry point of the Lava child process:
``python -m neurolearn.backends.lava.child DIR [PARENT_PID]``.

Reads DIR/job.pkl, runs it with lava (imported only here), writes DIR/result.pkl.
Any exception is written to DIR/error-child.txt with its full traceback; the parent
then kills this process's group (Lava's runtime processes included). If the parent
dies first (SIGKILL to neurolearn, a killed sweep worker), a watcher thread removes
DIR and kills this process group, so no Lava process outlives the parent.
"""

import os
import pickle
import shutil
import signal
import sys
import threading
import time
import traceback

WATCH_PERIOD = 0.25  # s between checks that the parent is alive


def die_with_parent(parent_pid: int, job_dir: str) -> threading.Thread:
    def watch():
        while os.getppid() == parent_pid:  # an orphan is re-parented (to init)
            time.sleep(WATCH_PERIOD)
        shutil.rmtree(job_dir, ignore_errors=True)
        os.killpg(0, signal.SIGKILL)  # this child leads its group: Lava's processes too
    thread = threading.Thread(target=watch, name="neurolearn-parent-watch", daemon=True)
    thread.start()
    return thread


def main(job_dir: str, parent_pid: int | None = None) -> int:
    if parent_pid is not None:
        die_with_parent(parent_pid, job_dir)
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
        os._exit(1)  # never call stop() after a failure: it hangs (FACTS.md)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip interpreter teardown: Lava's atexit hooks can hang


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
