"""Entry point of the Lava child process: ``python -m neurolearn.backends.lava.child DIR``.

Reads DIR/job.pkl, runs it with lava (imported only here), writes DIR/result.pkl.
Any exception is written to DIR/error-child.txt with its full traceback; the parent
then kills this process's group (Lava's runtime processes included).
"""

import os
import pickle
import sys
import traceback


def main(job_dir: str) -> int:
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
    main(sys.argv[1])
