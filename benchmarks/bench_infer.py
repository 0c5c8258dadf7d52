"""Inference of a trained network on every engine: accuracy, seconds, and the engine
against its NumPy emulator (the figures of docs/deploy.md, "Inference on the engines").

    .venv/bin/python benchmarks/bench_infer.py --checkpoint DIR [--rest S] [--n-test N]

DIR is a checkpoint (``neurolearn run SPEC --save DIR``). Rows: the numpy reference's
evaluation (float, and weights on loihi2's grid), the reference's network over the
engines' presentation, Lava float and fixed point (loihi2; spiking networks only),
nengo; each engine row gives max |engine - emulator| over the per-step outputs (Lava
fixed point: 0 means 0 LSB). Results go to
benchmarks/results/infer-<spec>[-rest<S>].json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import neurolearn  # noqa: E402
from neurolearn import backends  # noqa: E402
from neurolearn.backends.inference import (frozen_spec, presentation,  # noqa: E402
                                           reference_on_stream)
from neurolearn.data import load_dataset  # noqa: E402
from neurolearn.deploy.run import evaluate_fixed  # noqa: E402
from neurolearn.errors import NeurolearnError  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--rest", type=float, default=None, help="seconds before each example")
    ap.add_argument("--n-test", type=int, default=None, help="the first N test images")
    args = ap.parse_args(argv)
    net = neurolearn.load(args.checkpoint)
    spec = net.spec
    if args.n_test:
        spec = spec.with_(data=replace(spec.data, n_test=args.n_test))
    ds = load_dataset(spec.data, spec.training.seed)
    rows = []

    def row(name, acc, seconds, diff=None, note=""):
        rows.append({"run": name, "accuracy": acc, "seconds": seconds, "vs_emulator": diff,
                     "note": note})
        pct = "-" if acc is None else f"{100 * acc:.2f} %"
        d = "" if diff is None else f"  max|engine - emulator| = {diff:.3g}"
        print(f"{name:<34} {pct:>9} {seconds:8.1f} s{d}  {note}", flush=True)

    t0 = time.perf_counter()
    ev = net.evaluate(ds)
    row("numpy, from rest (float)", ev["accuracy"], time.perf_counter() - t0)
    t0 = time.perf_counter()
    fx = evaluate_fixed(spec, net, profile="loihi2", dataset=ds)
    row("numpy, loihi2 weight grid", fx.test_accuracy, time.perf_counter() - t0)
    w = presentation(frozen_spec(spec), ds, args.rest)
    t0 = time.perf_counter()
    same = reference_on_stream(spec, net.params, ds, w)
    row("numpy, engines' presentation", same.accuracy, time.perf_counter() - t0,
        note=f"{w.rest} rest + {w.k} steps per example")
    for name, precision in (("lava", "float"), ("lava", "fixed"), ("nengo", "float")):
        mod = backends.get(name)
        label = f"{name} {precision}" + (" (loihi2)" if precision == "fixed" else "")
        try:
            t0 = time.perf_counter()
            got = mod.infer(spec, net.params, precision=precision, dataset=ds, rest=args.rest)
            sec = time.perf_counter() - t0
        except NeurolearnError as err:
            row(label, None, 0.0, note=f"refused: {err}")
            continue
        emu = mod.emulate_infer(spec, net.params, precision=precision, dataset=ds,
                                rest=args.rest)
        row(label, got.accuracy, sec, float(np.max(np.abs(got.outputs - emu.outputs))),
            note=f"{got.steps} steps, {1000 * sec / got.steps:.2f} ms/step")
    rest = f"-rest{args.rest:g}" if args.rest else ""
    out = HERE / "results" / f"infer-{spec.name}{rest}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"checkpoint": str(args.checkpoint), "trained_epochs": net.epoch,
                               "rest_s": args.rest or 0.0, "n_test": len(ds.x_test),
                               "rows": rows}, indent=2) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
