"""PNG plots of a sweep summary (headless; matplotlib from the ``plot`` extra).

One plot per swept path: the primary metric (mean over seeds, error bars = 95 %
interval of the mean) against the path's values, one line per backend. Where several
paths are swept, each line holds the other paths at that backend's best setting. One
plot of the metric (and margin, where there is one) per seed at each backend's best
setting.
"""

from __future__ import annotations

import io
import json
import numbers
import re
from pathlib import Path

from .aggregate import setting_label
from .store import write_bytes_atomic

LABEL = {"test_accuracy": "test accuracy (%)", "test_loss": "test loss"}


def _scale(metric: str) -> float:
    return 100.0 if metric == "test_accuracy" else 1.0


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _best_per_backend(summary) -> dict:
    """backend -> index of its best group (over rules: the better of their bests)."""
    metric = summary["metric"]
    sign = -1.0 if metric == "test_accuracy" else 1.0
    out = {}
    for b in summary["best"]:
        cur = out.get(b["backend"])
        if cur is None or sign * b[metric]["mean"] < sign * \
                summary["groups"][cur][metric]["mean"]:
            out[b["backend"]] = b["group"]
    return out


def _save(fig, path: Path, plt) -> Path:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return write_bytes_atomic(path, buf.getvalue())


def file_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path).strip("_") + ".png"


def write_plots(summary: dict, out: Path) -> dict:
    """Write the plots into ``out``; returns {name: path}."""
    from ..viz.plots import _plt
    plt = _plt()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metric, groups, paths = summary["metric"], summary["groups"], summary["paths"]
    k = _scale(metric)
    best = _best_per_backend(summary)
    written = {}
    for path in paths:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        values = []
        for g in groups:
            v = g["setting"][path]
            if not any(_same(v, u) for u in values):
                values.append(v)
        numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
        pos = (lambda v: v) if numeric else \
            (lambda v: next(i for i, u in enumerate(values) if _same(u, v)))  # noqa: E731
        for backend, bi in best.items():
            fixed = {p: v for p, v in groups[bi]["setting"].items() if p != path}
            line = [g for g in groups if g["backend"] == backend and g[metric]["mean"] is not None
                    and all(_same(g["setting"][p], v) for p, v in fixed.items())]
            line.sort(key=lambda g: pos(g["setting"][path]))
            xs = [pos(g["setting"][path]) for g in line]
            ys = [k * g[metric]["mean"] for g in line]
            err = [[k * (g[metric]["mean"] - (g[metric]["ci95_low"] if g[metric]["ci95_low"]
                                              is not None else g[metric]["mean"])) for g in line],
                   [k * ((g[metric]["ci95_high"] if g[metric]["ci95_high"] is not None
                          else g[metric]["mean"]) - g[metric]["mean"]) for g in line]]
            label = backend + (f" ({setting_label(fixed)})" if fixed else "")
            ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=label)
        if numeric:
            pos_vals = [v for v in values if v > 0]
            if len(pos_vals) == len(values) and max(values) / min(values) >= 10:
                ax.set_xscale("log")
            if len(values) <= 12:  # the swept values themselves as ticks
                ax.set_xticks(sorted(values), [f"{v:g}" for v in sorted(values)])
                ax.minorticks_off()
        else:
            ax.set_xticks(range(len(values)), [str(v) for v in values])
        ax.set(xlabel=path, ylabel=LABEL.get(metric, metric),
               title=f"{LABEL.get(metric, metric)} against {path}\n"
                     f"(mean over seeds, bars: 95 % interval of the mean)")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7)
        written[path] = _save(fig, out / file_name(path), plt)

    # per seed, at each backend's best setting
    has_margin = any(g["margin"]["n"] for g in groups)
    fig, axes = plt.subplots(1, 2 if has_margin else 1, figsize=(11 if has_margin else 6.5, 4),
                             squeeze=False)
    for backend, bi in best.items():
        g = groups[bi]
        label = backend + (f" ({setting_label(g['setting'])})" if g["setting"] else "")
        panels = [(metric, k)] + ([("margin", 1.0)] if has_margin else [])
        for ax, (m, scale) in zip(axes[0], panels):
            pts = [(s, v) for s, v in zip(g["seeds"], g["per_seed"][m]) if v is not None]
            ax.plot([s for s, _ in pts], [scale * v for _, v in pts], "o", label=label,
                    alpha=0.8)
    axes[0][0].set(xlabel="seed", ylabel=LABEL.get(metric, metric),
                   title="per seed, best setting of each backend")
    if has_margin:
        axes[0][1].axhline(0.0, color="k", lw=0.8)
        axes[0][1].set(xlabel="seed", ylabel="margin (lowest true - highest false readout)",
                       title="margin per seed")
    from matplotlib.ticker import MaxNLocator
    for ax in axes[0]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7)
    written["seeds"] = _save(fig, out / "seeds.png", plt)
    return written
