"""Sweeps: seeds x settings x backends, each task one ``neurolearn.run``, on a Dask
cluster (a local one by default), resumable, aggregated over seeds.

    grid.py       the tasks (cross product, validation, stable keys)
    task.py       one task on a worker -> a report dict
    engine.py     Dask: local cluster or a scheduler address; reports written on arrival
    store.py      the sweep directory, atomic writes
    aggregate.py  mean, std, 95 % interval per setting and backend; best settings
    plots.py      PNG plots of the summary

Docs: docs/sweeps.md.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NeurolearnError
from .grid import Task, expand, parse_seeds, parse_sets  # noqa: F401
from .store import FINISHED, Store, write_json_atomic, write_text_atomic

MANIFEST_FORMAT = "neurolearn.sweep"


@dataclass
class SweepResult:
    out: Path
    tasks: list
    reports: dict            # key -> report
    summary: dict
    ran: int                 # tasks run by this call
    skipped: int             # finished tasks found in the directory (--resume)
    counts: dict             # status -> number, over every task of the sweep
    seconds: float
    plots: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)


def sweep(spec, out, *, sets=(), seeds=None, backends=("numpy",), precision="float",
          options=None, workers: int = 2, scheduler: str | None = None,
          resume: bool = False, retry_failed: bool = False, save_weights: bool = False,
          plots: bool = True, quiet=None, seeds_per_task: int = 1) -> SweepResult:
    """Run every task of the sweep not yet in ``out`` and aggregate all of them.

    ``sets``: [(path, [values...])] (see grid.parse_sets); ``seeds``: a list, or None
    for the spec's own training.seed. ``seeds_per_task``: seeds of one setting that
    run as one vectorised task where the backend can (numpy; engine.batches).
    """
    from .. import backends as registry
    from ..api import as_spec
    from ..rules.schema import to_dict
    from . import aggregate
    from .engine import batches, connect, run_tasks

    t0 = time.perf_counter()
    spec = as_spec(spec)
    seeds = [spec.training.seed] if seeds is None else list(seeds)
    backends = list(backends)
    for b in backends:
        if b not in registry.PACKAGES:
            raise NeurolearnError(f"--backends: unknown backend {b!r} "
                                  f"(known: {', '.join(registry.names())})")
        if scheduler is None:  # a remote cluster may have what this machine lacks
            registry.get(b)
    if workers < 1:
        raise NeurolearnError(f"--workers: must be at least 1, got {workers}")
    tasks = expand(spec, list(sets), backends, seeds, precision, options)
    batches(tasks[:1], seeds_per_task)  # a bad --seeds-per-task fails before anything runs
    store = Store(out)
    existing = set(store.existing())
    if existing and not resume:
        raise NeurolearnError(f"--out {out}: already holds {len(existing)} task report(s); "
                              "pass --resume to continue that sweep, or choose another folder")
    done = {t.key for t in tasks if t.key in existing and store.finished(t.key)
            and not (retry_failed and store.load(t.key)["status"] == "failed")}
    todo = [t for t in tasks if t.key not in done]
    # connect before writing anything: a sweep that cannot start leaves no folder
    with (connect(scheduler, workers) if todo else contextlib.nullcontext()) as client:
        store.create()
        write_json_atomic(store.root / "sweep.json", {
            "format": MANIFEST_FORMAT, "version": 1, "spec": to_dict(spec),
            "sets": [[p, v] for p, v in sets], "backends": backends, "seeds": seeds,
            "precision": precision, "options": dict(options or {}),
            "scheduler": scheduler, "workers": None if scheduler else workers,
            "seeds_per_task": seeds_per_task,
            "tasks": [t.key for t in tasks]})
        if todo:
            run_tasks(client, todo, store, save_weights=save_weights, quiet=quiet,
                      seeds_per_task=seeds_per_task)
    reports = {t.key: r for t in tasks if (r := store.load(t.key)) is not None}
    summary = aggregate.summarize(tasks, reports)
    files = {"summary_json": write_json_atomic(store.root / "summary.json", summary),
             "summary_csv": write_text_atomic(store.root / "summary.csv",
                                              aggregate.summary_csv(summary)),
             "runs_csv": write_text_atomic(store.root / "runs.csv",
                                           aggregate.runs_csv(tasks, reports,
                                                              summary["paths"]))}
    written = {}
    if plots and summary["best"]:
        from .plots import write_plots
        written = write_plots(summary, store.root / "plots")
    counts = {}
    for t in tasks:
        s = reports[t.key]["status"] if t.key in reports else "missing"
        counts[s] = counts.get(s, 0) + 1
    return SweepResult(Path(out), tasks, reports, summary, len(todo), len(done), counts,
                       time.perf_counter() - t0, written, files)
