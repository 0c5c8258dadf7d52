"""The sweep directory: one report per task, written atomically as it completes.

    DIR/sweep.json          what was asked (spec, --set values, backends, seeds, keys)
    DIR/tasks/KEY.json      one task's report (see task.execute)
    DIR/tasks/KEY.npz       its final weights (w0, w1, ...), with --save-weights
    DIR/summary.json|.csv   aggregates per setting and backend
    DIR/runs.csv            one row per task
    DIR/plots/*.png         accuracy against each swept value

Every file is written to a temporary name in the same folder and moved into place
with os.replace, so a killed sweep leaves whole files or none.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

FINISHED = ("ok", "failed")  # what --resume skips; a "lost" task is run again


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, default=_jsonable) + "\n")


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON-able: {type(v).__name__}")


class Store:
    def __init__(self, root):
        self.root = Path(root)
        self.tasks = self.root / "tasks"

    def create(self):
        """The folders; temporary files a killed sweep left behind are removed."""
        self.tasks.mkdir(parents=True, exist_ok=True)
        for stale in list(self.tasks.glob(".*.tmp")) + list(self.root.glob(".*.tmp")):
            stale.unlink(missing_ok=True)

    def report_path(self, key: str) -> Path:
        return self.tasks / f"{key}.json"

    def weights_path(self, key: str) -> Path:
        return self.tasks / f"{key}.npz"

    def existing(self) -> list[str]:
        return sorted(p.stem for p in self.tasks.glob("*.json")) if self.tasks.is_dir() else []

    def load(self, key: str) -> dict | None:
        try:
            return json.loads(self.report_path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def finished(self, key: str) -> bool:
        report = self.load(key)
        return report is not None and report.get("status") in FINISHED

    def write(self, report: dict) -> Path:
        """The report (weights first, if any, so a report never names a missing file)."""
        report = dict(report)
        weights = report.pop("_weights", None)
        if weights is not None:
            buf = io.BytesIO()
            np.savez(buf, **{f"w{i}": np.asarray(w) for i, w in enumerate(weights)})
            write_bytes_atomic(self.weights_path(report["key"]), buf.getvalue())
            report["weights_file"] = self.weights_path(report["key"]).name
        return write_json_atomic(self.report_path(report["key"]), report)

    def load_weights(self, key: str) -> list[np.ndarray]:
        with np.load(self.weights_path(key)) as z:
            return [z[f"w{i}"] for i in range(len(z.files))]
