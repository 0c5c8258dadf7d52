"""The conformance grid: every row of the catalog (neurolearn.rules.catalog) on every
backend and precision, each cell graded as ``compare`` grades a backend (like
Brian2's feature-test matrix).

Per engine column two cells: ``engine`` (plumbing: the runtime against the
backend's emulator, exact or 0 LSB) and ``textbook`` (the departure from the
reference on the textbook schedule, corr(dW) >= 0.95, split into timing, model and
precision). A backend with variants (Lava: stock, fused) shows the worst. The numpy
columns are the reference itself: ``deterministic`` (the same seed twice gives
bit-identical weights) and, for rate rows in float, ``batched`` (the time-stepped
run equals the batched trainer, max |dW| <= 1e-12).

A cell outside tolerance is a failure unless it is listed in
:mod:`neurolearn.compare.expected` with its measured figure and its reason; the
grid test holds both ways (tests/test_grid.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .. import backends as registry
from ..errors import BackendUnavailable
from ..progress import Progress
from ..rules.catalog import catalog
from .expected import EXPECTED_GAPS
from .run import compare
from .tiers import BOUNDS, EXACT_TOL, Verdict

COLUMNS = [("numpy", "float"), ("numpy", "fixed"), ("lava", "float"), ("lava", "fixed"),
           ("nengo", "float"), ("nengo-loihi", "float"), ("brian2", "float")]
# variants a column grades (default: all). Brian2's cython target compiles every code
# object once (minutes on a fresh machine) and computes what its numpy target does
# (tests/test_brian2_backend.py holds them equal, -m slow); its "loihi" variant is a
# refusal the capabilities report already shows.
GRID_VARIANTS = {"brian2": ("numpy",)}
CHECKS = {"numpy": ("deterministic", "batched"), None: ("engine", "textbook")}
ORDER = ["error", "outside tolerance", "not supported", "not installed", "pass"]


@dataclass
class Grid:
    rows: list
    columns: list
    cells: dict = field(default_factory=dict)  # (row, (backend, precision), check) -> Verdict
    seconds: float = 0.0
    steps: int = 0

    def checks(self, backend):
        return CHECKS["numpy"] if backend == "numpy" else CHECKS[None]

    def gaps(self) -> list:
        """Cells outside tolerance or in error: (key, verdict, expected entry or None)."""
        out = []
        for key, v in self.cells.items():
            if v.status in ("outside tolerance", "error"):
                out.append((key, v, EXPECTED_GAPS.get(_gap_key(key))))
        return out

    def markdown(self) -> str:
        head = [f"{b} ({p}) {c}" for b, p in self.columns for c in self.checks(b)]
        out = ["| rule | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
        numbered = {}
        for r in self.rows:
            cells = []
            for col in self.columns:
                for c in self.checks(col[0]):
                    v = self.cells.get((r, col, c))
                    if v is None:
                        cells.append("")
                        continue
                    text = _symbol(v)
                    note = _note_of(v, (r, col, c))
                    if note:
                        n = numbered.setdefault(note, len(numbered) + 1)
                        text += f" [{n}]"
                    cells.append(text)
            out.append(f"| {r} | " + " | ".join(cells) + " |")
        notes = [f"{n}. {note}" for note, n in numbered.items()]
        return "\n".join(out + [""] + notes)

    def to_dict(self) -> dict:
        return {"steps": self.steps, "seconds": self.seconds,
                "cells": [{"row": r, "backend": c[0], "precision": c[1], "check": k,
                           **v.to_dict()} for (r, c, k), v in self.cells.items()]}


def _gap_key(key):
    row, (backend, precision), check = key
    return (row, backend, precision, check)


def _symbol(v: Verdict) -> str:
    f = v.figures
    if v.status in ("pass", "outside tolerance"):
        if "max_abs_dW" in f:
            text = f"max abs dW {f['max_abs_dW']:.2g}"
        elif "corr_dW" in f:
            parts = [f"corr {f['corr_dW']:.3f}"]
            split = [f"{k.split('.')[0][0]} {f[k]:.3f}" for k in
                     ("timing.corr_dW", "model.corr_dW", "precision.corr_dW") if k in f]
            text = parts[0] + (f" ({', '.join(split)})" if split else "")
        else:
            text = v.tier
        return ("pass · " if v.status == "pass" else "**gap** · ") + text
    return v.status


def _note_of(v: Verdict, key) -> str:
    if v.status in ("outside tolerance", "error"):
        exp = EXPECTED_GAPS.get(_gap_key(key))
        return f"expected gap: {exp['reason']}" if exp else \
            f"UNEXPECTED: {v.note or 'outside tolerance'}"
    if v.status != "pass" and v.note:
        return v.note
    return ""


def _numpy_cells(spec, precision, steps) -> dict:
    """The reference itself: determinism and, for rate rows, batched == time-stepped."""
    from ..backends.numpy import run as np_run
    from ..backends.numpy import simulate  # phased specs run in the phased reference
    from ..errors import UnsupportedRule
    out = {}
    try:
        if precision == "float":
            a, b = (simulate(spec, steps=steps, record_every=steps) for _ in range(2))
            same = all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
        else:
            a, b = (np_run(spec, precision="fixed", profile="loihi2", quiet=True)
                    for _ in range(2))
            same = all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))
        out["deterministic"] = Verdict("numpy", "deterministic", "itself", "deterministic",
                                       "pass" if same else "outside tolerance")
    except UnsupportedRule as err:
        out["deterministic"] = Verdict("numpy", "deterministic", "-", "-", "not supported",
                                       note=str(err))
    except Exception as err:
        out["deterministic"] = Verdict("numpy", "deterministic", "-", "-", "error",
                                       note=f"{type(err).__name__}: {err}")
    if precision == "float" and not spec.network.spiking:
        from ..rules.phases import is_phased
        out["batched"] = (_phased_rows(spec, steps) if is_phased(spec)
                          else _batched_equivalence(spec, steps))
    return out


def _phased_rows(spec, steps) -> Verdict:
    """A phased spec has no batched-trainer face: its batch check is that examples
    run side by side as rows equal one example at a time, max |dW| <= 1e-12."""
    from ..reference.phased import rows_equivalence
    d = rows_equivalence(spec, steps)
    return Verdict("numpy", "batched", "one example at a time", "exact",
                   "pass" if d <= EXACT_TOL else "outside tolerance", {"max_abs_dW": d},
                   BOUNDS["exact"])


def _batched_equivalence(spec, steps) -> Verdict:
    """The time-stepped run with one step per example equals the batched trainer."""
    from ..data import load_dataset
    from ..reference.simulator import batches_of, simulate
    from ..reference.stream import example_order
    from ..reference.trainer import BatchedTrainer
    one = spec.with_(simulation=replace(spec.simulation, t_example=spec.simulation.dt))
    n_ex = steps
    trace = simulate(one, steps=n_ex, record_every=n_ex)
    ds = load_dataset(spec.data, spec.training.seed)
    order = example_order(len(ds.x_train), n_ex, spec.training.seed)
    bt = BatchedTrainer(one)
    pos = 0
    for size in batches_of(len(ds.x_train), spec.training.batch_size, n_ex):
        idx = order[pos:pos + size]
        bt.step(ds.x_train[idx], ds.y_train[idx])
        pos += size
    d = max(float(np.abs(w - p).max()) for w, p in zip(trace.extra["params"].W, bt.params.W))
    return Verdict("numpy", "batched", "batched trainer", "exact",
                   "pass" if d <= EXACT_TOL else "outside tolerance", {"max_abs_dW": d},
                   BOUNDS["exact"])


def _engine_cells(spec, name, precision, steps) -> dict:
    try:
        registry.get(name)
    except BackendUnavailable as err:
        v = Verdict(name, "-", "-", "-", "not installed",
                    note=f"pip install 'neurolearn[{err.extra}]'")
        return {"engine": v, "textbook": v}
    rep = compare(spec, [name], precision=precision, steps=steps,
                  record_every=max(1, steps // 5), task_epochs=0, quiet=True,
                  variants=GRID_VARIANTS)
    out = {}
    for check, want in (("engine", "plumbing"), ("textbook", "textbook")):
        vs = [v for v in rep.verdicts if v.check == want]
        if not vs and check == "engine":
            # refusals and failures come back as plumbing verdicts; a backend with no
            # emulator and declared approximations has no plumbing cell
            vs = [Verdict(name, "plumbing", "-", "-", "not supported",
                          note="no emulator of this engine: its whole departure is in "
                               "the textbook cell")]
        if not vs:
            vs = [v for v in rep.verdicts if v.check == "plumbing"]
        # the worst variant that ran; a refusal shows only when no variant ran
        ran = [v for v in vs if v.status not in ("not supported", "not installed")]
        worst = min(ran or vs, key=lambda v: ORDER.index(v.status))
        out[check] = worst
    return out


def run_grid(steps: int = 500, columns=COLUMNS, rows=None, quiet=None) -> Grid:
    t0 = time.perf_counter()
    cat = [(label, spec) for label, spec in catalog() if rows is None or label in rows]
    grid = Grid([label for label, _ in cat], list(columns), steps=steps)
    with Progress(len(cat) * len(columns), "grid", quiet) as bar:
        for label, spec in cat:
            for col in columns:
                name, precision = col
                cells = _numpy_cells(spec, precision, steps) if name == "numpy" else \
                    _engine_cells(spec, name, precision, steps)
                for check, v in cells.items():
                    grid.cells[(label, col, check)] = v
                bar.update(1, label)
    grid.seconds = time.perf_counter() - t0
    return grid
