"""``compare``: run one spec on several backends and on the reference under each
backend's schedule, grade every pair by tier, and write a table, JSON and plots.

Pairs: every backend other than numpy is run with ``simulate`` on the shared input
stream and graded against ``neurolearn.reference.schedules.<REFERENCE_SCHEDULE>``
run on the same stream, same seed and same initial weights, at the tier
``tiers.expected_tier`` gives. Lava is graded once per lowering (stock, fused).
With ``task_epochs`` > 0 each backend also trains on the data set and is graded
against the numpy reference's accuracy (task tier).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import backends as registry
from ..errors import BackendUnavailable, NeurolearnError, UnsupportedRule
from ..progress import Progress
from ..reference.stream import steps_per_example
from . import stats
from .tiers import (BOUNDS, EXACT_TOL, STAT_MAX_ERROR_RATIO, STAT_MIN_CORR, TASK_MAX_GAP,
                    Verdict, expected_tier)

LAVA_LOWERINGS = ("stock", "fused")


@dataclass
class Report:
    spec_name: str
    precision: str
    steps: int
    verdicts: list = field(default_factory=list)
    traces: dict = field(default_factory=dict, repr=False)  # label -> (trace, ref trace)
    runs: dict = field(default_factory=dict, repr=False)  # label -> RunResult (task tier)
    plots: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"spec": self.spec_name, "precision": self.precision, "steps": self.steps,
                "bounds": BOUNDS, "verdicts": [v.to_dict() for v in self.verdicts],
                "plots": {k: str(v) for k, v in self.plots.items()},
                "seconds": self.seconds}

    def table(self) -> str:
        rows = [("backend", "reference", "tier", "verdict", "figures", "bound")]
        for v in self.verdicts:
            figs = ", ".join(f"{k}={_fmt(x)}" for k, x in v.figures.items()
                             if not isinstance(x, dict))
            rows.append((v.backend, v.reference, v.tier, v.status, figs, v.bound))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        notes = [f"- {v.backend}: {v.note}" for v in self.verdicts if v.note]
        return "\n".join(lines + ([""] + notes if notes else []))


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.3g}" if x == x else "nan"
    return str(x)


def _reference_module(mod):
    return importlib.import_module(f"neurolearn.reference.schedules.{mod.REFERENCE_SCHEDULE}")


def _grade(label, ref_label, tier, trace, ref, k) -> Verdict:
    if tier in ("exact", "quantized-exact"):
        d = stats.max_abs_diff(trace, ref)
        if tier == "exact":
            ok = d <= EXACT_TOL
            figs = {"max_abs_dW": d}
        else:
            ok = d == 0
            figs = {"max_lsb": d}
        return Verdict(label, ref_label, tier, "pass" if ok else "outside tolerance", figs,
                       BOUNDS[tier])
    corr = stats.dw_correlation(trace, ref)
    figs = {"corr_dW_min": min(corr.values()) if corr else float("nan")}
    for name, c in corr.items():
        figs[f"corr_dW[{name}]"] = c
    if trace.errors is not None and ref.errors is not None:
        e_b = stats.windowed_final_error(trace.errors, k)
        e_r = stats.windowed_final_error(ref.errors, k)
        figs["error_ratio"] = e_b / e_r if e_r > 0 else float("inf")
    ok = figs["corr_dW_min"] >= STAT_MIN_CORR and figs.get("error_ratio", 0) <= \
        STAT_MAX_ERROR_RATIO
    return Verdict(label, ref_label, tier, "pass" if ok else "outside tolerance", figs,
                   BOUNDS[tier])


def _labels(name):
    return [(f"lava ({lo})", {"lowering": lo}) for lo in LAVA_LOWERINGS] \
        if name == "lava" else [(name, {})]


def compare(spec, backends=("numpy", "lava", "nengo", "nengo-loihi"), *,
            precision: str = "float", profile=None, steps: int = 500, record_every: int = 10,
            task_epochs: int = 0, options: dict | None = None, out_dir=None,
            quiet: bool | None = None, plots: bool = True) -> Report:
    """Grade every backend in ``backends`` against the reference; see module docstring.

    ``options`` maps a backend name to extra keyword arguments of its simulate/run.
    """
    t_start = time.perf_counter()
    options = options or {}
    report = Report(spec.name, precision, steps)
    k = steps_per_example(spec.simulation)
    ref_cache = {}
    work = [(name, label, extra) for name in backends if name != "numpy"
            for label, extra in _labels(name)]
    with Progress(len(work) + (1 if task_epochs else 0), f"compare {spec.name}", quiet) as bar:
        for name, label, extra in work:
            bar.update(0, label)
            opts = {**options.get(name, {}), **extra}
            tier = expected_tier(name, spec, precision, opts)
            try:
                mod = registry.get(name)
            except BackendUnavailable as err:
                report.verdicts.append(Verdict(label, "-", tier, "not installed",
                                               note=f"pip install 'neurolearn[{err.extra}]'"))
                bar.update(1)
                continue
            ref_label = f"numpy[{mod.REFERENCE_SCHEDULE} schedule]"
            try:
                # the backend first: its refusal names the rule, the reason and where
                # to run it instead
                trace = mod.simulate(spec, steps=steps, precision=precision,
                                     record_every=record_every, **opts)
                key = (mod.REFERENCE_SCHEDULE, precision, tier)
                if key not in ref_cache:
                    ref_opts = {kk: v for kk, v in opts.items() if kk not in ("lowering",
                                                                              "target")}
                    if tier == "statistical":
                        ref_opts = {}  # the rate reference
                    ref_cache[key] = _reference_module(mod).simulate(
                        spec, steps=steps, precision=precision, record_every=record_every,
                        **ref_opts)
                ref = ref_cache[key]
                verdict = _grade(label, ref_label, tier, trace, ref, k)
                verdict.figures["seconds"] = round(trace.wall_seconds, 2)
                report.traces[label] = (trace, ref)
            except UnsupportedRule as err:
                verdict = Verdict(label, ref_label, tier, "not supported", note=str(err))
            except NeurolearnError as err:
                verdict = Verdict(label, ref_label, tier, "error", note=str(err))
            except Exception as err:  # a backend bug must not hide the other rows
                verdict = Verdict(label, ref_label, tier, "error",
                                  note=f"{type(err).__name__}: {err}")
            report.verdicts.append(verdict)
            bar.update(1)
        if task_epochs:
            _task_tier(spec, backends, precision, profile, task_epochs, options, report)
            bar.update(1)
    if plots and out_dir is not None:
        from ..viz.plots import write_compare_plots
        report.plots = write_compare_plots(spec, report, Path(out_dir))
    report.seconds = time.perf_counter() - t_start
    return report


def _task_tier(spec, backends, precision, profile, epochs, options, report):
    from ..api import run
    ref = run(spec, "numpy", epochs=epochs, quiet=True)
    report.runs["numpy"] = ref
    for name in backends:
        if name == "numpy" and precision == "float":
            continue
        label = f"{name} (task)"
        try:
            opts = dict(options.get(name, {}))
            if profile is not None and name == "numpy":
                opts["profile"] = profile
            res = run(spec, name, epochs=epochs, precision=precision, quiet=True, **opts)
            report.runs[name] = res
            if res.test_accuracy is None or ref.test_accuracy is None:
                report.verdicts.append(Verdict(label, "numpy", "task", "not supported",
                                               note="no accuracy on this data set"))
                continue
            gap = res.test_accuracy - ref.test_accuracy
            report.verdicts.append(Verdict(
                label, "numpy", "task", "pass" if abs(gap) <= TASK_MAX_GAP
                else "outside tolerance",
                {"accuracy": res.test_accuracy, "reference_accuracy": ref.test_accuracy,
                 "gap_points": 100 * gap}, BOUNDS["task"]))
        except BackendUnavailable as err:
            report.verdicts.append(Verdict(label, "numpy", "task", "not installed",
                                           note=f"pip install 'neurolearn[{err.extra}]'"))
        except UnsupportedRule as err:
            report.verdicts.append(Verdict(label, "numpy", "task", "not supported",
                                           note=str(err)))
        except Exception as err:
            report.verdicts.append(Verdict(label, "numpy", "task", "error",
                                           note=f"{type(err).__name__}: {err}"))


def targets_for(spec, steps, seed=None):
    """The per-step targets of the shared stream (for traces without errors)."""
    from ..data import load_dataset
    from ..reference.stream import input_stream
    ds = load_dataset(spec.data, spec.training.seed)
    seed = spec.training.seed if seed is None else seed
    return input_stream(ds.x_train, ds.y_train, spec.simulation, steps, seed)[1]


def learning_curve(trace, spec, steps) -> np.ndarray:
    """Windowed output error per example of a trace."""
    k = steps_per_example(spec.simulation)
    errors = trace.errors
    if errors is None and trace.outputs is not None:
        y = targets_for(spec, steps)
        n = min(len(y), len(trace.outputs))
        if y.shape[1] != trace.outputs.shape[1]:
            return np.zeros(0)
        errors = trace.outputs[:n] - y[:n]
    return stats.windowed_errors(errors, k) if errors is not None else np.zeros(0)
