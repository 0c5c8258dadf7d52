"""Statistics over seeds, per setting and backend; the best setting per rule and
backend; the table, JSON and CSV forms.

For each metric over the n successful seeds of a group: mean, sample standard
deviation (ddof 1), min, max, and the 95 % confidence interval of the mean,
mean ± t(0.975, n-1) · std / sqrt(n) (Student's t; none for n < 2).
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

METRICS = ("test_accuracy", "test_loss", "margin")


def t975(dof: int) -> float:
    from scipy.stats import t  # scipy comes with scikit-learn, a core dependency
    return float(t.ppf(0.975, dof))


def stats(values) -> dict:
    v = np.asarray([x for x in values if x is not None], float)
    n = len(v)
    if n == 0:
        return {"n": 0, "mean": None, "std": None, "ci95_low": None, "ci95_high": None,
                "min": None, "max": None}
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else None
    half = t975(n - 1) * std / math.sqrt(n) if n > 1 else None
    return {"n": n, "mean": mean, "std": std,
            "ci95_low": None if half is None else mean - half,
            "ci95_high": None if half is None else mean + half,
            "min": float(v.min()), "max": float(v.max())}


def metric_of(report: dict, metric: str):
    if report.get("status") != "ok":
        return None
    if metric == "margin":
        return report.get("margin")
    return (report.get("result") or {}).get(metric)


def rule_name(spec: dict) -> str:
    rule = spec.get("rule", {})
    return rule.get("name") or rule.get("builtin") or "custom"


def primary_metric(reports) -> str:
    """Accuracy where the task has one (classification), else the test loss."""
    if any(metric_of(r, "test_accuracy") is not None for r in reports):
        return "test_accuracy"
    return "test_loss"


def summarize(tasks, reports: dict) -> dict:
    """``tasks``: the sweep's Task list; ``reports``: key -> report (missing allowed).
    Returns {"paths", "metric", "groups", "best"}."""
    paths = [p for p, _ in tasks[0].setting] if tasks else []
    order, members = [], {}
    for t in tasks:  # values may be lists or tables: group by their JSON form
        gid = (json.dumps([list(kv) for kv in t.setting], sort_keys=True), t.backend)
        if gid not in members:
            order.append(gid)
            members[gid] = []
        members[gid].append(t)
    all_reports = [reports[t.key] for t in tasks if t.key in reports]
    metric = primary_metric(all_reports)
    groups = []
    for gid in order:
        ts = members[gid]
        rs = [reports.get(t.key) for t in ts]
        status = [r.get("status") if r else "missing" for r in rs]
        g = {"setting": dict(ts[0].setting), "backend": ts[0].backend, "rule": rule_name(ts[0].spec),
             "n_tasks": len(ts), "n_ok": status.count("ok"),
             "n_failed": status.count("failed"), "n_lost": status.count("lost"),
             "n_missing": status.count("missing"),
             "seeds": [t.seed for t in ts],
             "per_seed": {m: [metric_of(r, m) if r else None for r in rs] for m in METRICS},
             "wall_seconds_mean": _mean([r.get("wall_seconds") for r in rs
                                         if r and r.get("status") == "ok"])}
        for m in METRICS:
            g[m] = stats(g["per_seed"][m])
        groups.append(g)
    return {"paths": paths, "metric": metric, "groups": groups,
            "best": best_settings(groups, metric)}


def _mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def best_settings(groups, metric: str) -> list[dict]:
    """Per (rule, backend): the group with the best mean of ``metric`` (highest
    accuracy or lowest loss); ties go to the smaller spread, then to fewer failures."""
    sign = -1.0 if metric == "test_accuracy" else 1.0
    best = {}
    for i, g in enumerate(groups):
        s = g[metric]
        if s["mean"] is None:
            continue
        rank = (sign * s["mean"], s["std"] or 0.0, g["n_failed"] + g["n_lost"], i)
        k = (g["rule"], g["backend"])
        if k not in best or rank < best[k][0]:
            best[k] = (rank, i)
    return [{"rule": r, "backend": b, "group": i, "setting": groups[i]["setting"],
             metric: groups[i][metric]} for (r, b), (_, i) in best.items()]


# ---- text forms --------------------------------------------------------------

def _fmt(v, pct: bool) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.1f}" if pct else f"{v:.4g}"


def setting_label(setting: dict) -> str:
    return ", ".join(f"{p}={v}" for p, v in setting.items()) or "(spec as is)"


def table(summary: dict) -> str:
    metric = summary["metric"]
    pct = metric == "test_accuracy"
    unit = " %" if pct else ""
    has_margin = any(g["margin"]["n"] for g in summary["groups"])
    head = ["setting", "backend", "ok/n", f"{metric} mean{unit}", "std", "95 % CI",
            "min", "max"] + (["margin mean", "margin min"] if has_margin else []) + ["s/task"]
    rows = []
    for g in summary["groups"]:
        s = g[metric]
        ci = ("-" if s["ci95_low"] is None
              else f"[{_fmt(s['ci95_low'], pct)}, {_fmt(s['ci95_high'], pct)}]")
        row = [setting_label(g["setting"]), g["backend"], f"{g['n_ok']}/{g['n_tasks']}",
               _fmt(s["mean"], pct), _fmt(s["std"], pct), ci, _fmt(s["min"], pct),
               _fmt(s["max"], pct)]
        if has_margin:
            row += [_fmt(g["margin"]["mean"], False), _fmt(g["margin"]["min"], False)]
        row.append("-" if g["wall_seconds_mean"] is None else f"{g['wall_seconds_mean']:.1f}")
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa
    out = [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]
    if summary["best"]:
        out.append("")
        for b in summary["best"]:
            out.append(f"best  {b['rule']} on {b['backend']}: {setting_label(b['setting'])} "
                       f"({metric} {_fmt(b[metric]['mean'], pct)}{unit})")
    bad = [(g, s) for g in summary["groups"] for s in ("failed", "lost") if g[f"n_{s}"]]
    for g, s in bad:
        out.append(f"{s:<6} {g[f'n_{s}']} task(s): {setting_label(g['setting'])} on "
                   f"{g['backend']}")
    return "\n".join(out)


def summary_csv(summary: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = ["n", "mean", "std", "ci95_low", "ci95_high", "min", "max"]
    w.writerow(summary["paths"] + ["backend", "rule", "n_tasks", "n_ok", "n_failed",
                                   "n_lost", "n_missing"]
               + [f"{m}_{c}" for m in METRICS for c in cols] + ["wall_seconds_mean"])
    for g in summary["groups"]:
        w.writerow([g["setting"][p] for p in summary["paths"]]
                   + [g["backend"], g["rule"], g["n_tasks"], g["n_ok"], g["n_failed"],
                      g["n_lost"], g["n_missing"]]
                   + [_csv(g[m][c]) for m in METRICS for c in cols]
                   + [_csv(g["wall_seconds_mean"])])
    return buf.getvalue()


def runs_csv(tasks, reports: dict, paths) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["key"] + list(paths) + ["backend", "seed", "status", "test_accuracy",
                                        "test_loss", "margin", "readout", "wall_seconds",
                                        "worker", "error"])
    for t in tasks:
        r = reports.get(t.key) or {"status": "missing"}
        who = r.get("worker") or {}
        w.writerow([t.key] + [v for _, v in t.setting]
                   + [t.backend, t.seed, r.get("status")]
                   + [_csv(metric_of(r, m)) for m in METRICS]
                   + [_readout(r), _csv(r.get("wall_seconds")),
                      f"{who.get('host', '')}:{who.get('pid', '')}" if who else "",
                      (r.get("error") or "").splitlines()[0] if r.get("error") else ""])
    return buf.getvalue()


def _readout(report) -> str:
    """A one-output readout per test example (XOR-like runs), space-separated."""
    r = ((report.get("result") or {}).get("extra") or {}).get("test_readout")
    if report.get("margin") is None or r is None:
        return ""
    return " ".join(f"{float(np.ravel(v)[0]):.4g}" for v in r)


def _csv(v):
    return "" if v is None else (repr(v) if isinstance(v, float) else v)
