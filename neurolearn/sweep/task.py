"""One sweep task, as a worker runs it: one ``neurolearn.run`` call -> a report dict.

This module is what Dask workers import: it must stay light and must never import
lava (importing lava sets multiprocessing's start method, which fails inside a
worker). The Lava backend runs Lava in a fresh child interpreter of its own, which
dies with this worker (see neurolearn.backends.lava.child).
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import traceback
from datetime import datetime, timezone

import numpy as np

REPORT_FORMAT = "neurolearn.sweep.task"
REPORT_VERSION = 1


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def weights_digest(weights) -> str:
    """sha256 over every layer's final weights (shape, dtype and bytes)."""
    h = hashlib.sha256()
    for w in weights:
        a = np.ascontiguousarray(w)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def margin(spec, result) -> float | None:
    """For a one-output binary task with a readout (XOR-like, time-stepped runs):
    the lowest readout of a true pattern minus the highest of a false one."""
    readout = (result.extra or {}).get("test_readout")
    if readout is None:
        return None
    r = np.asarray(readout, float)
    if r.ndim == 2 and r.shape[1] == 1:
        r = r[:, 0]
    if r.ndim != 1:
        return None
    from ..data import load_dataset
    ds = load_dataset(spec.data, spec.training.seed)
    y = np.asarray(ds.y_test, float)
    if y.ndim != 2 or y.shape[1] != 1 or len(y) != len(r) or not ds.classification:
        return None
    true, false = r[y[:, 0] > 0.5], r[y[:, 0] <= 0.5]
    if not len(true) or not len(false):
        return None
    return float(true.min() - false.max())


def worker_identity() -> dict:
    who = {"host": socket.gethostname(), "pid": os.getpid()}
    try:
        from distributed import get_worker
        who["address"] = get_worker().address
    except (ImportError, ValueError):
        pass
    return who


def _report(payload: dict) -> dict:
    from ..version import __version__
    return {"format": REPORT_FORMAT, "version": REPORT_VERSION,
            "key": payload["key"], "setting": payload["setting"],
            "backend": payload["backend"], "seed": payload["seed"],
            "precision": payload["precision"], "options": payload["options"],
            "spec": payload["spec"], "status": "ok", "error": None, "traceback": None,
            "result": None, "margin": None, "weights_sha256": None,
            "worker": worker_identity(), "started": _now(),
            "neurolearn_version": __version__}


def execute(payload: dict) -> dict:
    """Run one task; never raises for a failing run (the report carries the error)."""
    return execute_batch([payload])[0]


def execute_batch(payloads: list) -> list:
    """Run tasks that differ only in their seed and learning rates as one
    ``neurolearn.run_members`` call (one vectorised run where the backend has one;
    each result bit-identical to its own ``run``): one report per task. A failure
    fails every task of the batch, each report carrying the error; nothing raises."""
    reports = [_report(p) for p in payloads]
    first = payloads[0]
    t0 = time.perf_counter()
    try:
        from ..api import run_members
        from ..rules import Spec
        from ..rules.schema import from_dict
        specs = [from_dict(Spec, p["spec"]) for p in payloads]
        seeds = [p["seed"] for p in payloads]
        results = run_members(specs, first["backend"], seeds, precision=first["precision"],
                              quiet=True, **first["options"])
        for report, payload, spec, result in zip(reports, payloads, specs, results):
            report["result"] = result.to_json_dict()
            report["weights_sha256"] = weights_digest(result.weights)
            report["margin"] = margin(spec.with_(training=type(spec.training)(
                **{**vars(spec.training), "seed": payload["seed"]})), result)
            if payload.get("save_weights"):
                report["_weights"] = [np.asarray(w) for w in result.weights]
    except Exception as err:  # noqa: BLE001 - recorded, the sweep goes on
        from ..errors import NeurolearnError
        error = (str(err) if isinstance(err, NeurolearnError)
                 else f"{type(err).__name__}: {err}")
        for report in reports:
            report.update(status="failed", error=error, traceback=traceback.format_exc(),
                          result=None, margin=None, weights_sha256=None)
            report.pop("_weights", None)
    wall = time.perf_counter() - t0
    for report in reports:
        # a batch's wall time is shared out; the batch is named for the record
        report["wall_seconds"] = wall / len(reports)
        report["finished"] = _now()
        if len(reports) > 1:
            report["batch"] = {"keys": [p["key"] for p in payloads],
                               "seeds": [p["seed"] for p in payloads],
                               "wall_seconds": wall}
    return reports
