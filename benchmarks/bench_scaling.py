"""Cost against network size: synapses from 10k to 1M (and 3M where it fits), for the
batched trainer, the spiking reference, Lava (fused) and nengo; a fitted exponent
and the peak memory of each point.

    .venv/bin/python benchmarks/bench_scaling.py [--engines batched,reference,lava,nengo]
        [--sizes 10k,30k,100k,300k,1M,3M] [--repeats 1] [--json FILE]

Networks (rules/catalog.py's rows with their sizes changed):
- time-stepped engines: spiking FA (builtin ``delta``, random feedback), LIF
  n_in-n_h-10 on the digits (the input layer a population of n_in / 64 units per
  pixel), 20-step examples, half plastic; ms per step of learning on the training
  stream (the reference's ``simulate``; Lava's steps after a warm-up, so compilation
  and start-up are excluded; nengo's ``run_steps``, build excluded);
- batched trainer: a rate network (tanh hidden, sigmoid output, FA, batch 32,
  float64) with the same number of synapses: its input is the 64 pixels themselves
  (a rate layer takes the data's own width), so the hidden layer is widened to
  n_h = S / 74; seconds per epoch of the 1347 digits training images.

Synapses = n_in n_h + n_h 10. Each point runs in its own child process (one BLAS
thread), which reports its peak resident memory (``ru_maxrss``, the larger of its own
and its children's: Lava runs in a child of its own) and the growth of that peak
over what the interpreter held before building the network.

Fitted: the slope k of log(cost) against log(synapses) by least squares over the
points from 10k to 1M (the issue's range), over the top decade, and the exponent of
the size-dependent part in cost = c0 + c1 * synapses^k (c0: the per-step cost that
does not depend on size, fitted). Issue 16's goal is a slope between 0.9 and 1.1 from
10k to 1M: the summary judges the slope and, beside it, the fitted k (a per-step cost
that does not grow with size pulls the slope below k). Results:
benchmarks/results/scaling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from goals import verdict  # benchmarks/goals.py: the script's folder is on sys.path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

# target synapses -> (n_in, n_h): n_in a multiple of the 64 digit pixels
SIZES = {"10k": (64, 150), "30k": (128, 220), "100k": (256, 380), "300k": (448, 660),
         "1M": (832, 1190), "3M": (1408, 2100)}
ENGINES = ("batched", "reference", "lava", "nengo")
# steps (time-stepped) per point: enough to time, little enough for the slow engines
STEPS = {"reference": 2000, "lava": 1000, "nengo": 1000}
WARMUP = 100
GOAL_SLOPE = (0.9, 1.1)  # issue 16: cost growth exponent from 10k to 1M synapses


def dims(engine: str, size: str) -> tuple:
    """(n_in, n_h) of a point: the batched trainer keeps the 64 pixels as its input
    and widens the hidden layer to the time-stepped networks' synapse count."""
    n_in, n_h = SIZES[size]
    if engine == "batched":
        return 64, round((n_in * n_h + n_h * 10) / (64 + 10))
    return n_in, n_h


def synapses(size: str, engine: str = "reference") -> int:
    n_in, n_h = dims(engine, size)
    return n_in * n_h + n_h * 10


def spec_for(engine: str, size: str):
    from dataclasses import replace

    from neurolearn.rules.catalog import catalog
    n_in, n_h = dims(engine, size)
    label = "delta · FA · rate" if engine == "batched" else "delta · FA · lif"
    spec = dict(catalog())[label]
    layers = spec.network.layers
    layers = [replace(layers[0], size=n_in), replace(layers[1], size=n_h), layers[2]]
    spec = spec.with_(network=replace(spec.network, layers=layers),
                      data=replace(spec.data, n_train=None, n_test=None))
    if engine == "batched":
        spec = spec.with_(training=replace(spec.training, batch_size=32))
    return spec


def _rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def child(engine: str, size: str) -> dict:
    from neurolearn.data import load_dataset
    spec = spec_for(engine, size)
    ds = load_dataset(spec.data, spec.training.seed)
    if engine == "lava":
        import neurolearn.backends.lava  # noqa: F401  (its imports before the baseline)
    elif engine == "nengo":
        import nengo  # noqa: F401
    base = _rss_mb()
    t0 = time.perf_counter()
    if engine == "batched":
        from neurolearn.reference.trainer import train
        r = train(spec, dataset=ds, epochs=1, quiet=True)
        out = {"cost": r.train_seconds, "unit": "s per epoch",
               "accuracy": r.test_accuracy}
    elif engine == "reference":
        from neurolearn.reference.simulator import simulate
        steps = STEPS[engine]
        tr = simulate(spec, steps=steps, record_every=steps, dataset=ds)
        out = {"cost": 1e3 * tr.wall_seconds / steps, "unit": "ms per step"}
    elif engine == "lava":
        from neurolearn.backends.lava import simulate
        steps = STEPS[engine]
        tr = simulate(spec, steps=steps + WARMUP, record_every=steps, variant="fused",
                      warmup=WARMUP, dataset=ds, time_limit=3600)
        out = {"cost": tr.extra["steady_ms_per_step"], "unit": "ms per step"}
    elif engine == "nengo":
        from neurolearn.backends.nengo import simulate
        steps = STEPS[engine]
        tr = simulate(spec, steps=steps, record_every=steps, dataset=ds)
        out = {"cost": tr.extra["ms_per_step"], "unit": "ms per step",
               "build_s": tr.extra.get("build_seconds")}
    else:
        raise SystemExit(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    out.update(engine=engine, size=size, synapses=synapses(size, engine),
               sizes=spec.network.sizes, wall_s=time.perf_counter() - t0,
               peak_mb=_rss_mb(), peak_growth_mb=_rss_mb() - base)
    return out


def run_child(engine, size, timeout):
    cmd = [sys.executable, __file__, "--child", engine, "--size", size]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              start_new_session=True, env={**os.environ, **ONE_THREAD})
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def slope(points) -> float | None:
    """Least-squares slope of log(cost) against log(synapses)."""
    if len(points) < 2:
        return None
    x = np.log([p[0] for p in points])
    y = np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def fit_with_constant(points) -> dict | None:
    """cost = c0 + c1 * S^k, least squares in log space over a grid of k (c0 >= 0)."""
    if len(points) < 3:
        return None
    S = np.array([p[0] for p in points], float)
    c = np.array([p[1] for p in points], float)
    best = None
    for k in np.linspace(0.5, 1.5, 1001):
        A = np.stack([np.ones_like(S), S ** k], axis=1)
        coef, *_ = np.linalg.lstsq(A, c, rcond=None)
        if coef[0] < 0 or coef[1] <= 0:
            continue
        err = float(np.sum((np.log(A @ coef) - np.log(c)) ** 2))
        if best is None or err < best["log_sq_error"]:
            best = {"k": float(k), "c0": float(coef[0]), "c1": float(coef[1]),
                    "log_sq_error": err}
    return best


def judge(slope_10k_1M, fit) -> dict:
    """Issue 16's goal for one engine: the slope from 10k to 1M within GOAL_SLOPE
    (None: too few points); the fitted k judged the same way beside it."""
    lo, hi = GOAL_SLOPE
    within = (lambda x: None if x is None else bool(lo <= x <= hi))  # noqa: E731
    return {"range": [lo, hi], "slope_met": within(slope_10k_1M),
            "k_met": within(fit["k"] if fit else None)}


def summarise(runs: dict) -> dict:
    out = {}
    for engine, by_size in runs.items():
        pts = []
        for size, rs in by_size.items():
            ok = [r for r in rs if "error" not in r]
            if ok:
                cost = float(np.median([r["cost"] for r in ok]))
                pts.append((synapses(size, engine), cost))
        pts.sort()
        issue = [p for p in pts if 1e4 <= p[0] <= 1.05e6]
        top = [p for p in pts if p[0] >= pts[-1][0] / 10.5] if pts else []
        k_issue, fit = slope(issue), fit_with_constant(issue)
        out[engine] = {"points": pts, "slope_10k_1M": k_issue,
                       "slope_top_decade": slope(top) if len(top) >= 2 else None,
                       "fit_with_constant": fit, "goal": judge(k_issue, fit),
                       "peak_mb": {size: max(r["peak_mb"] for r in rs if "error" not in r)
                                   for size, rs in by_size.items()
                                   if any("error" not in r for r in rs)},
                       "peak_growth_mb": {size: max(r["peak_growth_mb"] for r in rs
                                                    if "error" not in r)
                                          for size, rs in by_size.items()
                                          if any("error" not in r for r in rs)},
                       "errors": {size: [r["error"] for r in rs if "error" in r]
                                  for size, rs in by_size.items()
                                  if any("error" in r for r in rs)}}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--size", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--sizes", default=",".join(SIZES))
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=3600, help="per child, seconds")
    ap.add_argument("--json", default=str(HERE / "results" / "scaling.json"))
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.size)))
        return
    engines = [e for e in args.engines.split(",") if e]
    sizes = [s for s in args.sizes.split(",") if s]
    for e in engines:
        if e not in ENGINES:
            raise SystemExit(f"--engines: unknown engine {e!r} (known: {', '.join(ENGINES)})")
    for s in sizes:
        if s not in SIZES:
            raise SystemExit(f"--sizes: unknown size {s!r} (known: {', '.join(SIZES)})")
    t_start = time.time()
    load_start = os.getloadavg()  # a shared machine: the load beside the figures
    runs = {e: {s: [] for s in sizes} for e in engines}
    for rep in range(args.repeats):
        for s in sizes:
            for e in engines:
                r = run_child(e, s, args.timeout)
                runs[e][s].append(r)
                print(f"repeat {rep + 1} {s} {e}: " + (
                    r["error"] if "error" in r else
                    f"{r['cost']:.4g} {r['unit']}, peak {r['peak_mb']:.0f} MB"), flush=True)
    result = {"command": "python benchmarks/bench_scaling.py " + " ".join(argv or sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
              "cores": os.cpu_count(), "python": platform.python_version(),
              "sizes": {e: {s: [*dims(e, s), 10] for s in sizes} for e in engines},
              "synapses": {e: {s: synapses(s, e) for s in sizes} for e in engines},
              "steps": STEPS, "warmup": WARMUP,
              "repeats": args.repeats, "summary": summarise(runs), "runs": runs,
              "wall_s": time.time() - t_start,
              "load_average_1_5_15min": {"start": load_start, "end": os.getloadavg()}}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, path)
    for e, row in result["summary"].items():
        pts = ", ".join(f"{s / 1e3:.0f}k: {c:.3g}" for s, c in row["points"])
        fit = row["fit_with_constant"]
        print(f"{e:10s} {pts} | slope 10k-1M {row['slope_10k_1M']}, top decade "
              f"{row['slope_top_decade']}, c0 + c1 S^k: "
              f"{'-' if not fit else round(fit['k'], 3)} | goal {GOAL_SLOPE}: slope "
              f"{verdict(row['goal']['slope_met'])}, k {verdict(row['goal']['k_met'])}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
