"""The uniform result every backend returns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def is_clock(key: str) -> bool:
    """Whether a figure named ``key`` is a wall-clock time (runtimes name them so)."""
    return key.endswith(("_s", "ms_per_step")) or key.startswith("seconds")


def new_history() -> dict:
    """An empty per-epoch history of a time-stepped run (RunResult.history)."""
    return {"epoch": [], "test_loss": [], "test_accuracy": [], "train_loss": [],
            "train_accuracy": [], "seconds": []}


def add_history_row(hist: dict, epoch, test, train, seconds) -> None:
    """Append one evaluation: ``test`` and ``train`` are (loss, accuracy, ...)."""
    for key, v in (("epoch", epoch), ("test_loss", test[0]), ("test_accuracy", test[1]),
                   ("train_loss", train[0]), ("train_accuracy", train[1]),
                   ("seconds", seconds)):
        hist[key].append(v)


@dataclass
class RunResult:
    backend: str
    rule: str
    dataset: str
    seed: int
    epochs: int
    test_accuracy: float | None = None
    test_loss: float | None = None
    train_seconds: float = 0.0
    alignment_angle_deg: dict = field(default_factory=dict)  # hidden layer -> final angle
    history: dict = field(default_factory=dict)  # name -> list over training
    precision: str = "float"
    spec_name: str = ""
    weights: list = field(default_factory=list, repr=False)  # final W per layer
    extra: dict = field(default_factory=dict)  # backend-specific figures (JSON-able)
    state: object = field(default=None, repr=False)  # the trained model, not serialised

    def to_json_dict(self) -> dict:
        def clean(v):
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, np.generic):
                return v.item()
            if isinstance(v, np.ndarray):
                return v.tolist()
            if isinstance(v, float) and not np.isfinite(v):
                return None
            return v
        return clean({
            "backend": self.backend, "rule": self.rule, "dataset": self.dataset,
            "spec": self.spec_name, "seed": self.seed, "epochs": self.epochs,
            "precision": self.precision, "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss, "train_seconds": self.train_seconds,
            "alignment_angle_deg": self.alignment_angle_deg, "history": self.history,
            "extra": self.extra,
        })

    def without_clocks(self) -> dict:
        """The report less its wall-clock figures (``train_seconds``, the history's
        ``seconds``, and ``extra`` keys named as clocks by :func:`is_clock`): what
        the seed determines, equal between two runs of one spec and seed."""
        d = self.to_json_dict()
        d.pop("train_seconds")
        d["history"].pop("seconds", None)
        d["extra"] = {k: v for k, v in d["extra"].items() if not is_clock(k)}
        return d

    def write_json(self, path, *, option: str = "", inputs=()) -> Path:
        """Write the report atomically (neurolearn.outputs), never over ``inputs``."""
        from .outputs import write_atomic
        return write_atomic(path, json.dumps(self.to_json_dict(), indent=2) + "\n",
                            option=option, inputs=inputs)


@dataclass
class Trace:
    """What a time-stepped run records, the same on every backend and schedule.

    ``weights[name]`` is an array (n_records, n_post, n_pre) of the projection into
    layer ``name`` at steps ``steps`` (after that step's update); ``outputs`` is the
    output layer's activity per step (n_steps, n_out); ``errors`` the output error
    per step where defined; ``spikes`` maps a layer name to a (n_steps, n) 0/1 array
    for one sample where the backend has spikes.
    """
    backend: str
    schedule: str
    precision: str = "float"
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    weights: dict = field(default_factory=dict)
    outputs: np.ndarray | None = None
    errors: np.ndarray | None = None
    spikes: dict = field(default_factory=dict)
    wall_seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def final_weights(self) -> dict:
        return {k: v[-1] for k, v in self.weights.items()}
