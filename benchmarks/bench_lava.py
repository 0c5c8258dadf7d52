"""ms per step on Lava (CPU, float), fused and stock lowerings, against the numpy
time-stepped reference on the same spec, repeated and interleaved.

    .venv/bin/python benchmarks/bench_lava.py [--spec examples/specs/fa_digits.toml]
        [--steps 3000] [--warmup 200] [--repeats 3] [--full] [--json FILE]

Each repeat runs, one after the other: the reference (neurolearn.reference.simulator
.simulate on the textbook schedule, learning on, the spec's training stream), Lava
fused and Lava stock (each in its own Lava child; only the steps after ``warmup``
are timed: compilation and runtime start excluded). Reported: the median, min and
max of each over the repeats and the ratio of the medians to the reference's.
``--full`` also times one full ``run`` of the spec on Lava (fused, the spec's
epochs) and reports its wall time, ms per step and test accuracy, and the time the
same ms per step gives for 60 epochs.
"""

import argparse
import json
import statistics
import time

from neurolearn.backends.lava import run, simulate
from neurolearn.reference.simulator import simulate as reference
from neurolearn.rules.io import load


def _stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="examples/specs/fa_digits.toml")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time a full run (fused)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    spec = load(args.spec)
    ms = {"numpy time-stepped": [], "lava fused": [], "lava stock": []}
    procs = {}
    for _ in range(args.repeats):
        tr = reference(spec, steps=args.steps, record_every=args.steps)
        ms["numpy time-stepped"].append(1000 * tr.wall_seconds / args.steps)
        for variant in ("fused", "stock"):
            tr = simulate(spec, steps=args.steps + args.warmup, record_every=args.steps,
                          variant=variant, warmup=args.warmup, time_limit=1800)
            ms[f"lava {variant}"].append(tr.extra["steady_ms_per_step"])
            procs[variant] = tr.extra["processes"]
    rows = {k: _stats(v) for k, v in ms.items()}
    base = rows["numpy time-stepped"]["median"]
    for r in rows.values():
        r["ratio_to_reference"] = r["median"] / base
    out = {"spec": args.spec, "steps": args.steps, "warmup": args.warmup,
           "repeats": args.repeats, "rows": rows, "processes": procs,
           "command": f"python benchmarks/bench_lava.py --spec {args.spec} --steps "
                      f"{args.steps} --warmup {args.warmup} --repeats {args.repeats}"
                      + (" --full" if args.full else "")}
    print(f"{spec.name}: ms per step over {args.steps} steps, {args.repeats} repeats")
    print(f"{'engine':20s} {'median':>8s} {'min':>8s} {'max':>8s} {'ratio':>7s}")
    for k, r in rows.items():
        print(f"{k:20s} {r['median']:8.3f} {r['min']:8.3f} {r['max']:8.3f} "
              f"{r['ratio_to_reference']:7.2f}")
    if args.full:
        t0 = time.perf_counter()
        res = run(spec, variant="fused", warmup=args.warmup, time_limit=3600)
        wall = time.perf_counter() - t0
        per_epoch = res.extra["run_s"] / res.epochs
        out["full_run"] = {"epochs": res.epochs, "steps": res.extra["steps"],
                           "wall_s": wall, "run_s": res.extra["run_s"],
                           "ms_per_step": res.extra["ms_per_step"],
                           "test_accuracy": res.test_accuracy,
                           "projected_60_epochs_s": wall - res.extra["run_s"] + 60 * per_epoch}
        f = out["full_run"]
        print(f"full run (fused, {f['epochs']} epochs, {f['steps']} steps): {f['wall_s']:.0f} s "
              f"wall, {f['ms_per_step']:.3f} ms/step, test accuracy "
              f"{100 * f['test_accuracy']:.2f} %; 60 epochs at this rate: "
              f"{f['projected_60_epochs_s']:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
            fh.write("\n")
    return out


if __name__ == "__main__":
    main()
