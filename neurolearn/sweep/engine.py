"""Running tasks on Dask distributed: a local cluster of worker processes by default,
an existing cluster given its scheduler address.

Reports come back to this client and are written here, as each task completes, so the
workers need no shared file system. When a worker dies, the tasks the scheduler had
given it (the one running, and any queued there) are rescheduled on other workers, up
to ``distributed.scheduler.allowed-failures`` times (3 by default); past that a task
comes back as KilledWorker and is recorded "lost".
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from contextlib import contextmanager

from ..errors import NeurolearnError
from ..progress import Progress
from .task import REPORT_FORMAT, REPORT_VERSION, execute_batch

EXTRA = "sweep"


class DaskUnavailable(NeurolearnError):
    def __init__(self, cause: str = ""):
        super().__init__("sweeps run on Dask distributed, which is not installed: "
                         f"pip install 'neurolearn[{EXTRA}]'" + (f" ({cause})" if cause else ""))


def require_dask():
    try:
        import distributed
    except ImportError as err:
        raise DaskUnavailable(str(err)) from None
    return distributed


@contextmanager
def connect(scheduler: str | None = None, workers: int = 2):
    """A Dask client: to ``scheduler`` (an address such as tcp://host:8786), or to a
    LocalCluster of ``workers`` single-threaded worker processes on this machine,
    closed (workers and all) when the block ends."""
    distributed = require_dask()
    cluster = None
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as err:
            raise NeurolearnError(f"--scheduler {scheduler}: cannot connect: {err}") from None
    else:
        import dask
        # one task per worker thread at a time where Dask queues (big sweeps), so a
        # killed worker takes fewer assigned-but-unstarted tasks with it
        with _deferred_interrupts() as pending, \
                dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None,   # no web server, no port to collide with
                memory_limit=0,           # tasks are bounded; never pause or kill on memory
                silence_logs=logging.ERROR)
            client = distributed.Client(cluster)
            from .interrupt import IgnoreInterrupt
            client.register_plugin(IgnoreInterrupt())  # also on workers restarted later
        if pending:
            client.close()
            cluster.close()
            raise KeyboardInterrupt
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def _deferred_interrupts():
    """SIGINT and SIGTERM are noted, not acted on, inside the block (main thread only);
    the caller checks the list afterwards."""
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    sigs = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.signal(s, lambda signum, frame: pending.append(signum)) for s in sigs}
    try:
        yield pending
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _unfinished_report(task, status: str, error: str) -> dict:
    return {"format": REPORT_FORMAT, "version": REPORT_VERSION, "key": task.key,
            "setting": dict(task.setting), "backend": task.backend, "seed": task.seed,
            "precision": task.precision, "options": dict(task.options), "spec": task.spec,
            "status": status, "error": error, "traceback": None, "result": None,
            "margin": None, "weights_sha256": None, "worker": None, "wall_seconds": None}


class SweepProgress(Progress):
    """Tasks done, failed and an estimate of the time left."""

    def __init__(self, total: int, quiet=None):
        super().__init__(total, "sweep", quiet)
        self.counts = {"ok": 0, "failed": 0, "lost": 0}

    def task_done(self, status: str):
        self.counts[status] = self.counts.get(status, 0) + 1
        done = sum(self.counts.values())
        elapsed = time.perf_counter() - self.t0
        left = elapsed / done * (self.total - done)
        self.update(1, f"ok {self.counts['ok']} failed {self.counts['failed']} "
                       f"lost {self.counts['lost']} | ~{_clock(left)} left ")


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"


def batches(tasks, seeds_per_task: int = 1) -> list[list]:
    """Tasks grouped for submission: up to ``seeds_per_task`` tasks that differ only in
    their seed and learning rates (``rule.eta``, ``rule.eta_output``,
    ``training.lr_decay``, ``training.momentum``), on a backend with a vectorised ``run_members`` (numpy), go
    as one Dask task; every other task goes alone."""
    import json

    from .. import backends
    from ..reference.simulator import without_rates
    if seeds_per_task < 1:
        raise NeurolearnError(f"--seeds-per-task: must be at least 1, got {seeds_per_task}")
    groups: dict[str, list] = {}
    for t in tasks:
        vectorised = hasattr(backends.package(t.backend), "run_members")
        same = json.dumps([without_rates(t.spec), t.backend, t.precision, t.options],
                          sort_keys=True) if vectorised and seeds_per_task > 1 else t.key
        groups.setdefault(same, []).append(t)
    return [group[i:i + seeds_per_task] for group in groups.values()
            for i in range(0, len(group), seeds_per_task)]


def run_tasks(client, tasks, store, *, save_weights=False, quiet=None,
              seeds_per_task: int = 1) -> dict:
    """Submit every task (grouped by :func:`batches`), write each report as its
    batch completes; counts per status."""
    distributed = require_dask()
    run_id = uuid.uuid4().hex[:8]  # Dask keys stay unique across resumed runs
    futures = {client.submit(execute_batch, [t.payload(save_weights) for t in batch],
                             key=f"neurolearn-{batch[0].key}-{len(batch)}-{run_id}",
                             pure=False, retries=0): batch
               for batch in batches(tasks, seeds_per_task)}
    with SweepProgress(len(tasks), quiet) as bar:
        for fut in distributed.as_completed(list(futures)):
            batch = futures.pop(fut)
            if fut.status == "finished":
                reports = fut.result()
            else:
                exc = fut.exception()
                lost = isinstance(exc, distributed.KilledWorker)
                reports = [_unfinished_report(t, "lost" if lost else "failed",
                                              f"{type(exc).__name__}: {exc}") for t in batch]
            fut.release()
            for report in reports:
                store.write(report)
                bar.task_done(report["status"])
    return dict(bar.counts)
