"""The 5-seed spiking burstprop XOR (examples/specs/burstprop_xor.toml: the spec's epochs
x 4 examples x 500 steps per seed) on one core: all seeds in one vectorised run
(neurolearn.reference.simulator.run_seeds), against one seed alone.

    .venv/bin/python benchmarks/bench_xor_seeds.py [--epochs N] [--seeds 0,1,2,3,4]
        [--single-epochs 30] [--numpy-too]

Runs in a child process with one BLAS thread; reports CPU and wall seconds of the
vectorised run (training and the evaluation after every epoch), per seed, the
accuracy and readout of each seed, and the CPU seconds per step of one seed run
alone (``run_time_stepped``) over ``--single-epochs`` epochs. The neuron steps run
compiled where the ``jit`` extra (numba) is installed; ``--numpy-too`` runs the same
child with them in numpy (``NEUROLEARN_JIT=0``) at the same time on the other core,
and reports the ratio and whether both trained the same weights bit for bit. The
goal (issue 16): under 60 s per seed on one core. Results:
benchmarks/results/xor_seeds.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
SPEC = ROOT / "examples/specs/burstprop_xor.toml"
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
GOAL_S_PER_SEED = 60.0


def child(epochs: int, seeds: list, single_epochs: int) -> dict:
    from dataclasses import replace

    from neurolearn.reference import kernels
    from neurolearn.reference.simulator import run_seeds, run_time_stepped
    from neurolearn.rules import load
    spec = load(SPEC)
    spec_epochs = spec.training.epochs
    c0, w0 = time.process_time(), time.perf_counter()
    results = run_seeds(spec, seeds, epochs=epochs, quiet=True)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    k = results[0].extra["steps_per_example"]
    n = 4  # XOR's four patterns
    steps = epochs * n * k
    out = {"epochs": epochs, "seeds": seeds, "steps_per_seed": steps,
           "cpu_s": cpu, "wall_s": wall, "cpu_s_per_seed": cpu / len(seeds),
           "wall_s_per_seed": wall / len(seeds),
           "us_per_seed_step_cpu": 1e6 * cpu / (len(seeds) * steps),
           "accuracy": [r.test_accuracy for r in results],
           "readout": [[round(v[0], 4) for v in r.extra["test_readout"]] for r in results],
           "weights_sha1": hashlib.sha1(b"".join(
               w.tobytes() for r in results for w in r.weights)).hexdigest(),
           "compiled_steps": kernels.active(),
           "numba": _version("numba") if kernels.active() else None}
    if single_epochs:
        one = spec.with_(training=replace(spec.training, seed=seeds[0]))
        c0 = time.process_time()
        run_time_stepped(one, epochs=single_epochs, quiet=True)
        c = time.process_time() - c0
        out["single_seed"] = {"epochs": single_epochs, "cpu_s": c,
                              "us_per_step_cpu": 1e6 * c / (single_epochs * n * k),
                              "cpu_s_per_seed_spec_epochs": c / single_epochs * spec_epochs}
    return out


def _version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=None,
                    help="epochs per seed (default: the spec's training.epochs)")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--single-epochs", type=int, default=30)
    ap.add_argument("--numpy-too", action="store_true",
                    help="also run it with the neuron steps in numpy, on the other core")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", default=str(HERE / "results" / "xor_seeds.json"))
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    from neurolearn.rules import load
    spec_epochs = load(SPEC).training.epochs
    if args.epochs is None:
        args.epochs = spec_epochs
    if args.child:
        print(json.dumps(child(args.epochs, seeds, args.single_epochs)))
        return
    cmd = [sys.executable, __file__, "--child", "--epochs", str(args.epochs), "--seeds",
           args.seeds, "--single-epochs", str(args.single_epochs)]
    load_start = os.getloadavg()  # a shared machine: the load beside the figures
    env = {**os.environ, **ONE_THREAD}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)]
    if args.numpy_too:  # side by side: the numpy steps on the other core
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                      env={**env, "NEUROLEARN_JIT": "0"}))
    try:
        outs = [p.communicate()[0] for p in procs]
    finally:
        for p in procs:  # no child outlives the benchmark (an interrupt included)
            if p.poll() is None:
                p.kill()
                p.wait()
    if any(p.returncode for p in procs):
        sys.exit("bench_xor_seeds: a child failed (its error is above)")
    r, *rest = [json.loads(o.strip().splitlines()[-1]) for o in outs]
    r["command"] = ("python benchmarks/bench_xor_seeds.py --epochs "
                    f"{args.epochs} --seeds {args.seeds} --single-epochs {args.single_epochs}"
                    + (" --numpy-too" if args.numpy_too else ""))
    if rest:
        r["numpy_steps"] = rest[0]
        r["numpy_over_this_cpu"] = rest[0]["cpu_s"] / r["cpu_s"]
        r["same_weights_as_numpy"] = rest[0]["weights_sha1"] == r["weights_sha1"]
    r["goal_s_per_seed"] = GOAL_S_PER_SEED
    r["load_average_1_5_15min"] = {"start": load_start, "end": os.getloadavg()}
    # the goal is for the spec's epochs; a shorter run is scaled linearly (every
    # epoch does the same work) and says so
    r["spec_epochs"] = spec_epochs
    r["cpu_s_per_seed_spec_epochs"] = r["cpu_s_per_seed"] * spec_epochs / args.epochs
    if args.epochs != spec_epochs:
        r["note"] = (f"run at {args.epochs} epochs, not the spec's {spec_epochs}: the "
                     "spec-epoch figure (cpu_s_per_seed_spec_epochs) is extrapolated "
                     "linearly from it")
    r["goal_met_cpu"] = r["cpu_s_per_seed_spec_epochs"] < GOAL_S_PER_SEED
    path = Path(args.json)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(r, indent=1) + "\n")
    os.replace(tmp, path)
    print(f"{len(seeds)} seeds x {args.epochs} epochs in one run: {r['cpu_s']:.1f} s CPU "
          f"({r['cpu_s_per_seed']:.1f} s per seed, {r['us_per_seed_step_cpu']:.1f} us per "
          f"seed-step), {r['wall_s']:.1f} s wall; accuracy {r['accuracy']}")
    if rest:
        print(f"the numpy steps beside it: {rest[0]['cpu_s_per_seed']:.1f} s per seed "
              f"({r['numpy_over_this_cpu']:.2f}x this run's CPU); same weights: "
              f"{r['same_weights_as_numpy']}")
    if "single_seed" in r:
        s = r["single_seed"]
        print(f"one seed alone: {s['us_per_step_cpu']:.1f} us per step "
              f"({s['cpu_s_per_seed_spec_epochs']:.0f} s CPU for {spec_epochs} epochs)")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
