"""PNG plots of a comparison: learning curves, weight divergence, alignment angle
and a spike raster. Headless (Agg); needs matplotlib (pip install 'neurolearn[plot]')."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BackendUnavailable


def _plt():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BackendUnavailable("plots", "plot", "matplotlib is not installed") from None
    return plt


def write_compare_plots(spec, report, out: Path) -> dict:
    plt = _plt()
    from ..compare.curves import learning_curve
    from ..outputs import prepare_dir
    prepare_dir(out, option="--out")
    written = {}

    # 1. learning curves: windowed output error per example, each backend and reference
    fig, ax = plt.subplots(figsize=(7, 4))
    drawn = set()
    for label, tr_set in report.traces.items():
        trace, ref = tr_set["runtime"], tr_set["textbook"]
        for name, tr in ((label, trace), ("reference [textbook]", ref)):
            if name in drawn:
                continue
            curve = learning_curve(tr, spec, report.steps)
            if len(curve):
                ax.plot(np.arange(1, len(curve) + 1), curve, label=name,
                        lw=1.2 if name == label else 2.5, alpha=0.9)
                drawn.add(name)
    for name, res in report.runs.items():
        acc = res.history.get("test_accuracy") if res.history else None
        if acc and len(acc) > 1:
            ax.plot([], [], " ", label=f"{name}: test acc {100 * acc[-1]:.1f} %")
    ax.set(xlabel="example", ylabel="windowed output MSE", title=f"{spec.name}: learning")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    written["learning_curves"] = _save(fig, out / "learning_curves.png", plt)

    # 2. divergence of each backend's weights from its reference over time
    from ..compare.stats import divergence_over_time
    fig, ax = plt.subplots(figsize=(7, 4))
    floor = 1e-18
    for label, tr_set in report.traces.items():
        trace, ref = tr_set["runtime"], tr_set["textbook"]
        for layer, d in divergence_over_time(trace, ref).items():
            ax.plot(trace.steps[:len(d)] if len(trace.steps) >= len(d) else np.arange(len(d)),
                    np.maximum(d, floor), label=f"{label} · {layer}")
    ax.axhline(1e-12, color="k", ls="--", lw=0.8, label="exact tier bound 1e-12")
    ax.set(xlabel="step", ylabel="max |W - W_ref|", yscale="log",
           title=f"{spec.name}: weight divergence from the textbook reference "
                 f"(identical = {floor:g})")
    ax.legend(fontsize=7)
    written["divergence"] = _save(fig, out / "divergence.png", plt)

    # 3. alignment angle over training (batched reference, rate networks)
    if not spec.network.spiking and len(spec.network.layers) > 2:
        res = report.runs.get("numpy")
        if res is None:
            from ..reference.trainer import train
            res = train(spec, epochs=min(spec.training.epochs, 20), quiet=True)
        fig, ax = plt.subplots(figsize=(7, 4))
        for layer, angles in res.history["alignment_angle_deg"].items():
            ax.plot(res.history["alignment_updates"], angles, label=layer)
        ax.set(xlabel="updates", ylabel="angle to backprop (deg)", ylim=(0, 100),
               title=f"{spec.name}: alignment with the backprop gradient (numpy)")
        ax.legend()
        written["alignment"] = _save(fig, out / "alignment.png", plt)

    # 4. spike raster of one sample where a backend has spikes
    for label, tr_set in report.traces.items():
        trace, ref = tr_set["runtime"], tr_set["textbook"]
        spk = trace.spikes or ref.spikes
        if spk:
            fig, axes = plt.subplots(len(spk), 1, figsize=(7, 1.2 + 1.2 * len(spk)),
                                     sharex=True, squeeze=False)
            for ax, (layer, s) in zip(axes[:, 0], spk.items()):
                s = np.asarray(s)[:200]
                t, n = np.nonzero(s)
                ax.scatter(t, n, s=2, marker="|")
                ax.set_ylabel(layer, fontsize=7)
            axes[-1, 0].set_xlabel("step")
            axes[0, 0].set_title(f"{spec.name}: spikes ({label if trace.spikes else 'reference'})")
            written["raster"] = _save(fig, out / "raster.png", plt)
            break
    return written


def _save(fig, path: Path, plt) -> Path:
    """Render to memory, then write atomically: a failed write keeps the old file."""
    import io
    from ..outputs import write_atomic
    try:
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
    finally:
        plt.close(fig)
    return write_atomic(path, buf.getvalue(), option="--out")
