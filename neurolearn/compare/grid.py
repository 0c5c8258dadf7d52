"""The conformance grid: every built-in rule (under each feedback pathway and neuron
kind it takes) on every backend and precision, each cell graded as ``compare``
grades a pair (like Brian2's feature-test matrix).

Cells: ``pass`` at the cell's tier, ``outside tolerance`` (with the figure),
``error`` (an unexpected failure: a bug), ``not supported`` (the backend's stated
reason), ``not installed``. The numpy columns are the reference itself: they are
checked for determinism (two runs, same seed, bit-identical weights).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import backends as registry
from ..errors import BackendUnavailable, UnsupportedRule
from ..progress import Progress
from ..rules import Data, Feedback, Layer, Network, Neuron, Rule, Simulation, Spec, Training
from .run import compare
from .tiers import Verdict

# (label, builtin rule, feedback kind, hidden/output neuron models, data set)
ROWS = [
    ("delta · FA · rate", "delta", "random", ("tanh", "sigmoid"), "digits"),
    ("delta · DFA · rate", "delta", "direct", ("tanh", "sigmoid"), "digits"),
    ("delta · BP · rate", "delta", "transport", ("tanh", "sigmoid"), "digits"),
    ("delta · learned B · rate", "delta", "learned", ("tanh", "sigmoid"), "digits"),
    ("kolen_pollack · rate", "kolen_pollack", "learned", ("tanh", "sigmoid"), "digits"),
    ("delta · FA · lif", "delta", "random", ("lif", "lif"), "digits"),
    ("delta · DFA · lif", "delta", "direct", ("lif", "lif"), "digits"),
    ("burstprop_rate", "burstprop_rate", "random", ("burst_rate", "burst_rate"), "digits"),
    ("burstprop (spiking)", "burstprop", "random", ("burst", "burst"), "xor"),
]
COLUMNS = [("numpy", "float"), ("numpy", "fixed"), ("lava", "float"), ("lava", "fixed"),
           ("nengo", "float"), ("nengo-loihi", "float")]


def row_spec(label, rule, fb, models, dataset, hidden=16) -> Spec:
    """A small spec for one grid row (small enough for CI)."""
    n_in, n_out = (64, 10) if dataset == "digits" else (2, 1)
    hid, out = models
    layers = [Layer("input", n_in), Layer("h1", hidden, Neuron(hid)),
              Layer("h2", hidden, Neuron(hid)), Layer("output", n_out, Neuron(out))]
    return Spec(label.replace(" · ", "_").replace(" ", "_"), Network(layers, Feedback(fb)),
                Rule(builtin=rule, eta=0.05), Data(dataset, n_train=20, n_test=20),
                Training(epochs=1, batch_size=10, seed=0),
                Simulation(dt=0.001, t_example=0.02, max_rate=200.0))


@dataclass
class Grid:
    rows: list
    columns: list
    cells: dict = field(default_factory=dict)  # (row, column) -> Verdict
    seconds: float = 0.0
    steps: int = 0

    def symbol(self, v: Verdict) -> str:
        if v.status == "pass":
            fig = next((f"{k}={x:.2g}" for k, x in v.figures.items()
                        if k in ("max_abs_dW", "max_lsb")), "")
            return f"pass · {v.tier}" + (f" ({fig})" if fig else "")
        if v.status == "outside tolerance":
            fig = ", ".join(f"{k}={x:.2g}" for k, x in v.figures.items()
                            if isinstance(x, float) and k != "seconds" and "[" not in k)
            return f"outside · {v.tier} ({fig})"
        return v.status

    def markdown(self) -> str:
        cols = [f"{b} ({p})" for b, p in self.columns]
        out = ["| rule | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        notes, numbered = [], {}
        for r in self.rows:
            cells = []
            for c in self.columns:
                v = self.cells[(r, c)]
                text = self.symbol(v)
                if v.note and v.status != "pass":
                    n = numbered.setdefault(v.note, len(numbered) + 1)
                    text += f" [{n}]"
                cells.append(text)
            out.append(f"| {r} | " + " | ".join(cells) + " |")
        notes = [f"{n}. {note}" for note, n in numbered.items()]
        return "\n".join(out + [""] + notes)

    def text(self) -> str:
        return self.markdown()

    def to_dict(self) -> dict:
        return {"steps": self.steps, "seconds": self.seconds,
                "cells": [{"row": r, "backend": c[0], "precision": c[1], **v.to_dict()}
                          for (r, c), v in self.cells.items()]}


def _numpy_cell(spec, precision, steps) -> Verdict:
    """The reference itself: run twice with the same seed, weights must be identical."""
    from ..backends.numpy import run as np_run
    try:
        if precision == "float":
            from ..reference.simulator import simulate
            a, b = (simulate(spec, steps=steps, record_every=steps) for _ in range(2))
            same = all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
        else:
            a, b = (np_run(spec, precision="fixed", profile="loihi2", quiet=True)
                    for _ in range(2))
            same = all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))
    except UnsupportedRule as err:
        return Verdict("numpy", "-", "reference", "not supported", note=str(err))
    except Exception as err:
        return Verdict("numpy", "-", "reference", "error", note=f"{type(err).__name__}: {err}")
    return Verdict("numpy", "-", "deterministic", "pass" if same else "outside tolerance")


def run_grid(steps: int = 100, columns=COLUMNS, rows=ROWS, quiet=None) -> Grid:
    t0 = time.perf_counter()
    grid = Grid([r[0] for r in rows], list(columns), steps=steps)
    with Progress(len(rows) * len(columns), "grid", quiet) as bar:
        for label, rule, fb, models, dataset in rows:
            spec = row_spec(label, rule, fb, models, dataset)
            for col in columns:
                name, precision = col
                if name == "numpy":
                    v = _numpy_cell(spec, precision, steps)
                else:
                    v = _backend_cell(spec, name, precision, steps)
                grid.cells[(label, col)] = v
                bar.update(1, label)
    grid.seconds = time.perf_counter() - t0
    return grid


def _backend_cell(spec, name, precision, steps) -> Verdict:
    try:
        registry.get(name)
    except BackendUnavailable as err:
        return Verdict(name, "-", "-", "not installed",
                       note=f"pip install 'neurolearn[{err.extra}]'")
    rep = compare(spec, [name], precision=precision, steps=steps, record_every=steps // 4,
                  quiet=True, plots=False)
    # Lava gives one verdict per lowering: the cell is the worse of them
    order = ["error", "outside tolerance", "not supported", "not installed", "pass"]
    worst = min(rep.verdicts, key=lambda v: order.index(v.status))
    if name == "lava" and worst.status == "pass":
        worst.note = ""
    return worst
