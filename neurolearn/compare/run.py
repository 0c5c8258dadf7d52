"""``compare``: grade backends against the one meaning of a spec; returns data.

For every backend and variant (see :mod:`neurolearn.compare.tiers` for the checks):

1. ``lower`` the spec (a refusal is reported with its reason);
2. run the runtime and, where the backend has one, its emulator on the shared
   training stream (same seed, same initial weights) for ``steps`` steps;
3. plumbing: runtime vs emulator (exact or 0 LSB);
4. textbook: emulator (or runtime) vs the reference on the textbook schedule, with
   the departure split into timing, neuron model (and the Program's other declared
   approximations) and precision;
5. task (``task_epochs`` > 0): every backend trains on the data set for that many
   epochs and its test accuracy is graded against the reference's at the same
   budget (numpy in the spec's mode; for rate networks the numpy time-stepped
   simulator is graded too, since it must learn the same rule).

Nothing here draws or prints: the CLI does (neurolearn.viz.plots).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from .. import backends as registry
from ..errors import BackendUnavailable, NeurolearnError, UnsupportedRule
from ..progress import Progress
from ..reference.schedule import TEXTBOOK
from ..reference.simulator import simulate as reference_simulate
from . import stats
from .tiers import BOUNDS, EXACT_TOL, STAT_MIN_CORR, Verdict, task_gap_bound

DEFAULT_STEPS = 500
DEFAULT_TASK_EPOCHS = 3


@dataclass
class Report:
    spec_name: str
    precision: str
    steps: int
    task_epochs: int
    verdicts: list = field(default_factory=list)
    # label -> {"runtime", "emulator", "schedule", "textbook": Trace or None}
    traces: dict = field(default_factory=dict, repr=False)
    runs: dict = field(default_factory=dict, repr=False)  # label -> RunResult (task)
    approximations: dict = field(default_factory=dict)  # label -> [str]
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"spec": self.spec_name, "precision": self.precision, "steps": self.steps,
                "task_epochs": self.task_epochs, "bounds": BOUNDS,
                "verdicts": [v.to_dict() for v in self.verdicts],
                "approximations": self.approximations, "seconds": self.seconds}

    def table(self) -> str:
        rows = [("backend", "check", "against", "tier", "verdict", "figures")]
        for v in self.verdicts:
            figs = ", ".join(f"{k}={_fmt(x)}" for k, x in v.figures.items()
                             if not isinstance(x, dict) and "[" not in k)
            rows.append((v.backend, v.check, v.against, v.tier, v.status, figs))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        lines = ["  ".join([c.ljust(w) for c, w in zip(r[:-1], widths)] + [r[-1]]).rstrip()
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 7)
        notes = [f"- {v.backend} ({v.check}): {v.note}" for v in self.verdicts if v.note]
        approx = [f"- {label}: {a}" for label, items in self.approximations.items()
                  for a in items]
        out = lines
        if approx:
            out += ["", "declared schedules and approximations:"] + approx
        if notes:
            out += ["", "notes:"] + notes
        return "\n".join(out)


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.3g}" if x == x else "nan"
    return str(x)


class _References:
    """Reference traces on the shared stream, one per schedule (cached)."""

    def __init__(self, spec, steps, record_every):
        self.spec, self.steps, self.every = spec, steps, record_every
        self.cache = {}

    def __call__(self, schedule=TEXTBOOK):
        if schedule not in self.cache:
            from ..rules.phases import is_phased
            if is_phased(self.spec):
                self.cache[schedule] = _phased_reference(self.spec, self.steps, self.every,
                                                         schedule)
            else:
                self.cache[schedule] = reference_simulate(
                    self.spec, steps=self.steps, record_every=self.every,
                    schedule=schedule)
        return self.cache[schedule]


def _phased_reference(spec, steps, every, schedule):
    """The phased reference (a spec in phases has no time-stepped face); it has the
    textbook timing only, so an engine schedule with other timing is refused."""
    from ..reference.phased import simulate_phased
    if replace(schedule, name=TEXTBOOK.name) != TEXTBOOK:
        raise UnsupportedRule("numpy", f"schedule {schedule.describe()!r} for a spec in "
                              "phases", "the phased reference runs the textbook timing "
                              "only", "an engine with no delays")
    return simulate_phased(spec, steps=steps, record_every=every)


def _labels(desc, only=None):
    return [(desc.name if v is None else f"{desc.name} ({v})", v) for v in desc.variants
            if only is None or v in only]


def _plumbing(label, desc, program, runtime, emulator, refs, precision) -> Verdict | None:
    if emulator is not None:
        d = stats.max_abs_diff(runtime, emulator)
        if precision == "fixed":
            return Verdict(label, "plumbing", f"{desc.name} emulator", "quantized-exact",
                           "pass" if d == 0 else "outside tolerance", {"max_abs_dW": d},
                           BOUNDS["quantized-exact"])
        return Verdict(label, "plumbing", f"{desc.name} emulator", "exact",
                       "pass" if d <= EXACT_TOL else "outside tolerance",
                       {"max_abs_dW": d}, BOUNDS["exact"])
    if program.approximations:
        return None  # no model of the engine: its departure is all in the textbook check
    d = stats.max_abs_diff(runtime, refs(program.schedule))
    return Verdict(label, "plumbing", f"numpy[{program.schedule.name} schedule]", "exact",
                   "pass" if d <= EXACT_TOL else "outside tolerance", {"max_abs_dW": d},
                   BOUNDS["exact"])


def _textbook(label, program, model, refs, precision) -> Verdict:
    textbook = refs(TEXTBOOK)
    figs = dict(stats.departure(model, textbook))
    timing = stats.departure(refs(program.schedule), textbook)
    figs["timing.corr_dW"], figs["timing.rel_dW"] = timing["corr_dW"], timing["rel_dW"]
    # what the engine does beyond the reference under its own schedule: its declared
    # approximations (neuron model in float; arithmetic and float neurons in fixed
    # point, where a fixed-point Program may also carry its own schedule)
    part = stats.departure(model, refs(program.schedule))
    kind = "precision" if precision == "fixed" else "model"
    figs[f"{kind}.corr_dW"], figs[f"{kind}.rel_dW"] = part["corr_dW"], part["rel_dW"]
    ok = figs["corr_dW"] >= STAT_MIN_CORR
    return Verdict(label, "textbook", "numpy[textbook]", "statistical",
                   "pass" if ok else "outside tolerance", figs, BOUNDS["statistical"])


def _failure(label, check, against, tier, err) -> Verdict:
    if isinstance(err, BackendUnavailable):
        return Verdict(label, check, against, tier, "not installed",
                       note=f"pip install 'neurolearn[{err.extra}]'")
    if isinstance(err, UnsupportedRule):
        return Verdict(label, check, against, tier, "not supported", note=str(err))
    if isinstance(err, NeurolearnError):
        return Verdict(label, check, against, tier, "error", note=str(err))
    return Verdict(label, check, against, tier, "error", note=f"{type(err).__name__}: {err}")


def compare(spec, backends=None, *, precision: str = "float", profile=None,
            steps: int = DEFAULT_STEPS, record_every: int = 50,
            task_epochs: int = DEFAULT_TASK_EPOCHS, quiet: bool | None = None,
            time_limit: float | None = None, variants: dict | None = None) -> Report:
    """Grade every backend in ``backends`` (default: all) against the reference;
    ``variants`` ({backend: variants}) grades only those variants of a backend."""
    t_start = time.perf_counter()
    names = list(backends) if backends is not None else registry.names()
    report = Report(spec.name, precision, steps, task_epochs)
    refs = _References(spec, steps, record_every)
    engines = [n for n in names if n != "numpy"]
    n_work = len(engines) + (1 if task_epochs else 0)
    with Progress(n_work, f"compare {spec.name}", quiet) as bar:
        for name in engines:
            bar.update(0, name)
            _grade_backend(name, spec, precision, profile, steps, record_every, refs,
                           report, time_limit, (variants or {}).get(name))
            bar.update(1)
        if task_epochs:
            bar.update(0, "task tier")
            _task_tier(spec, names, precision, profile, task_epochs, report, time_limit)
            bar.update(1)
    report.seconds = time.perf_counter() - t_start
    return report


def _grade_backend(name, spec, precision, profile, steps, record_every, refs, report,
                   time_limit, only=None):
    try:
        mod = registry.get(name)
    except BackendUnavailable as err:
        report.verdicts.append(_failure(name, "plumbing", "-", "-", err))
        return
    desc = mod.BACKEND
    for label, variant in _labels(desc, only):
        run_kw = dict(steps=steps, precision=precision, record_every=record_every,
                      variant=variant, time_limit=time_limit)
        try:
            program = mod.lower(spec, precision=precision, profile=profile, variant=variant)
        except Exception as err:  # a refusal names the rule, the reason, where to run it
            report.verdicts.append(_failure(label, "plumbing", "-", "-", err))
            continue
        report.approximations[label] = program.describe()
        try:
            runtime = mod.simulate(spec, **run_kw)
            emulator = mod.emulate(spec, **run_kw) if desc.emulator else None
            report.traces[label] = {"runtime": runtime, "emulator": emulator,
                                    "schedule": refs(program.schedule),
                                    "textbook": refs(TEXTBOOK)}
            v = _plumbing(label, desc, program, runtime, emulator, refs, precision)
            if v is not None:
                v.figures["seconds"] = round(runtime.wall_seconds, 2)
                report.verdicts.append(v)
            model = emulator if emulator is not None else runtime
            report.verdicts.append(_textbook(label, program, model, refs, precision))
        except Exception as err:  # a backend bug must not hide the other rows
            report.verdicts.append(_failure(label, "plumbing", "-", "-", err))


def _task_tier(spec, names, precision, profile, epochs, report, time_limit):
    from ..api import run
    from ..backends.numpy.lower import mode_of
    bound = task_gap_bound(spec)
    against = f"numpy ({mode_of(spec).replace('_', '-')})"
    refs = {}  # training examples -> the reference run on them

    def reference(s):
        key = s.data.n_train
        if key not in refs:
            refs[key] = run(s, "numpy", epochs=epochs, quiet=True)
        return refs[key]

    try:
        ref = reference(spec)
    except Exception as err:
        report.verdicts.append(_failure("numpy", "task", "-", "task", err))
        return
    report.runs["numpy"] = ref
    report.verdicts.append(Verdict("numpy", "reference", "-", "task", "pass",
                                   {"accuracy": ref.test_accuracy}, note=""))
    todo = []
    if not spec.network.spiking and spec.training.mode != "time_stepped":
        todo.append(("numpy (time-stepped)", "numpy",
                     spec.with_(training=replace(spec.training, mode="time_stepped")), {}))
    for name in names:
        if name == "numpy" and precision == "float":
            continue
        opts = {"profile": profile} if profile is not None else {}
        todo.append((name if name != "numpy" else f"numpy ({precision})", name,
                     _task_budget(spec, name), opts))
    for label, name, s, opts in todo:
        try:
            base = reference(s)
            res = run(s, name, epochs=epochs, precision=precision, quiet=True,
                      time_limit=time_limit, **opts)
            report.runs[label] = res
            if res.test_accuracy is None or base.test_accuracy is None:
                report.verdicts.append(Verdict(label, "task", against, "task",
                                               "not supported",
                                               note="no accuracy on this data set"))
                continue
            gap = res.test_accuracy - base.test_accuracy
            figs = {"accuracy": res.test_accuracy, "reference_accuracy": base.test_accuracy,
                    "gap_points": 100 * gap, "seconds": round(res.train_seconds, 1)}
            note = ""
            if s.data.n_train != spec.data.n_train:
                figs["train_examples"] = s.data.n_train
                note = (f"budget: the first {s.data.n_train} training examples, against "
                        f"the reference trained on the same")
            report.verdicts.append(Verdict(
                label, "task", against, "task",
                "pass" if abs(gap) <= bound + 1e-12 else "outside tolerance",
                figs, BOUNDS["task"], note=note))
        except Exception as err:
            report.verdicts.append(_failure(label, "task", against, "task", err))


def _task_budget(spec, name):
    """The spec as the task tier runs it on backend ``name``: its descriptor's
    ``task_examples`` caps the training set (the reference gets the same cap)."""
    try:
        cap = registry.get(name).BACKEND.task_examples
    except BackendUnavailable:
        return spec
    if cap is None or (spec.data.n_train is not None and spec.data.n_train <= cap):
        return spec
    return spec.with_(data=replace(spec.data, n_train=cap))
