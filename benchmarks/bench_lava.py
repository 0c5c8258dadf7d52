"""ms per step on Lava (CPU, float): spiking FA 784-256-10 with the stock-engine and
fused lowerings, side by side with a stock Lava Dense+LIF network of the same size
without learning, in one run of this script.

    .venv/bin/python benchmarks/bench_lava.py [--steps 1000] [--warmup 100]

Each network runs in its own Lava child; only the steps after ``warmup`` are timed
(compilation and runtime start excluded). Input: 784 regular-coded spike trains from
uniform random rates (seeded), 10 one-hot targets.
"""

import argparse
import json

import numpy as np

from neurolearn.backends.lava import _job
from neurolearn.backends.lava.runner import run_job
from neurolearn.reference.schedules import lava as sched
from neurolearn.rules.io import loads

SPEC = '''
name = "bench_fa_lif_784_256_10"
[network]
layers = [{name="in", size=784}, {name="hid", size=256, neuron={model="lif"}},
          {name="out", size=10, neuron={model="lif"}}]
[rule]
builtin = "delta"
eta = 0.001
'''


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    spec = loads(SPEC)
    rng = np.random.default_rng(0)
    xs = rng.uniform(0, 1, (50, 784))
    ys = np.eye(10)[rng.integers(0, 10, 50)]
    x, y, g = sched.make_stream(spec, xs, ys, args.steps + args.warmup, 0)
    rows = {}
    for lowering in ("plain", "stock", "fused"):
        job = _job(spec, x, y, g, lowering, record_every=len(x), spike_steps=0)
        job["warmup"] = args.warmup
        info = run_job(job, timeout=600)
        rows[lowering] = {"ms_per_step": info["steady_ms_per_step"],
                          "processes": info["processes"]}
    base = rows["plain"]["ms_per_step"]
    print(f"{'network':34s} {'procs':>5s} {'ms/step':>8s} {'ratio':>6s}")
    labels = {"plain": "Dense+LIF, no learning (stock)", "stock": "FA, stock LearningDense",
              "fused": "FA, fused single process"}
    for k, r in rows.items():
        r["ratio_to_plain"] = r["ms_per_step"] / base
        print(f"{labels[k]:34s} {r['processes']:5d} {r['ms_per_step']:8.3f} "
              f"{r['ratio_to_plain']:6.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"steps": args.steps, "warmup": args.warmup, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
