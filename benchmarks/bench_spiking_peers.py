"""The spiking reference against Brian2 and NEST on one LIF network with pair STDP:
simulated seconds per wall second, side by side in one run, repeated, as ratios.

    .venv/bin/python benchmarks/bench_spiking_peers.py [--repeats 3] [--sizes small,large]
    .venv/bin/python benchmarks/bench_spiking_peers.py --check    # equivalence only,
                                  # writes benchmarks/results/spiking_peers_check.json

Network and the three builds: neurolearn/independent/network.py (784-256-10, "small",
203k plastic synapses, and 784-2560-100, "large", 2.26M). Every measurement runs in its
own child process (a fresh interpreter: Brian2's preferences and NEST's kernel are
global; peak memory is the child's). Peers:

- ``reference``: neurolearn's time-stepped Network (NumPy, dense), with its compiled
  steps where the ``jit`` extra (numba) is installed (the same bits;
  neurolearn/reference/kernels.py); ``reference-numpy``: the same with the numpy
  steps only (``NEUROLEARN_JIT=0``'s path).
- ``brian2-numpy``, ``brian2-cython``: Brian2 2.8 runtime targets, the usual synapse
  (a pre spike deposits g w into a decaying current), which is the reference's
  (I = low-pass(W s); ``--check`` and tests/test_independent_network.py show the same
  spikes and weights); ``brian2-*-summed``: the current as a summed variable w x_hat,
  recomputed each step with the present weights (it departs once weights move).
- ``brian2-cpp_standalone``: Brian2's C++ standalone device, its fastest CPU target:
  the whole run generated as one C++ program, compiled (-O3, one thread) and executed;
  its time is the loop the binary times itself (``last_run_info``), its CPU time the
  whole binary's (start-up included). The usual synapse, as ``brian2-cython``.
- ``nest``: NEST 3.10 iaf_psc_exp + stdp_synapse, one thread.

Only the simulation loop is timed: Brian2's code generation and Cython or C++
compilation and NEST's connection set-up are reported as build time. Before the timed repeats, one
untimed child per Brian2 Cython variant fills the compilation cache. The order of peers
rotates between repeats. Ratio = reference's simulated s per wall s / the peer's (> 1:
the reference is faster), per repeat, then median [min, max]; the same from process CPU
time (steadier on a shared machine). Every child runs with one thread (BLAS, OpenMP).
Issue 16's goal, judged per size (``goal`` in the results): the reference's median ratio
to the fastest Brian2 build of the same network in the run at least 1.
Results: benchmarks/results/spiking_peers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from goals import verdict  # benchmarks/goals.py: the script's folder is on sys.path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
# one thread everywhere (NumPy's BLAS, NEST, Cython): a like-for-like single-core figure
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

SIZES = {"small": (784, 256, 10), "large": (784, 2560, 100)}
PEERS = ("reference", "reference-numpy", "brian2-numpy", "brian2-cython",
         "brian2-numpy-summed",
         "brian2-cython-summed", "brian2-cpp_standalone", "nest")
DT = 0.001
# issue 16: the reference at least as fast as Brian2's fastest CPU target on the same
# network (the usual synapse: the "-summed" builds are another model)
BRIAN2_SAME = ("brian2-numpy", "brian2-cython", "brian2-cpp_standalone")


def child(peer: str, size: str, steps: int) -> dict:
    import numpy as np  # noqa: F401
    from neurolearn.independent import network as sn
    p = sn.problem(SIZES[size], steps, seed=0)
    if peer.startswith("reference"):
        from neurolearn.reference import kernels
        with kernels.use(peer == "reference" and kernels.available()):
            r = sn.reference(p)
            r["compiled_steps"] = kernels.active()
    elif peer.startswith("brian2"):
        parts = peer.split("-")
        r = sn.brian2(p, target=parts[1], current="summed" if len(parts) > 2 else "event")
    elif peer == "nest":
        r = sn.nest(p)
    else:
        raise SystemExit(f"unknown peer {peer!r} (known: {', '.join(PEERS)})")
    r["sim_s_per_wall_s"] = steps * DT / r["run_wall_s"]
    r["sim_s_per_cpu_s"] = steps * DT / r["run_cpu_s"]
    r["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return r


def run_child(peer, size, steps, timeout):
    cmd = [sys.executable, __file__, "--child", peer, "--size", size, "--steps", str(steps)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              start_new_session=True, env={**os.environ, **ONE_THREAD})
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _agreement(base: dict, other: dict) -> dict:
    """Spike counts of ``other``, and its spike-raster mismatches and largest weight
    difference against ``base`` per layer (both recorded runs)."""
    import numpy as np
    return {"spikes": other["spikes"],
            "spike_mismatches": [int((a != c).sum()) for a, c in
                                 zip(base["spike_arrays"], other["spike_arrays"])],
            "max_abs_weight_diff": [float(np.abs(x - y).max()) for x, y in
                                    zip(base["W"], other["W"])]}


def check(steps: int) -> dict:
    """Spike and weight agreement of the Brian2 builds with the reference (small net)."""
    from neurolearn.independent import network as sn
    p = sn.problem(SIZES["small"], steps, seed=0)
    ref = sn.reference(p, record=True)
    out = {"steps": steps, "reference_spikes": ref["spikes"]}
    runs = {current: sn.brian2(p, "numpy", current=current, record=True)
            for current in ("summed", "event")}
    for current, b in runs.items():
        out[f"brian2-numpy-{current}"] = _agreement(ref, b)
    # the compiled targets run the same equations: the same spikes and weights as
    # Brian2's numpy target (the usual synapse)
    for target in ("cython", "cpp_standalone"):
        b = sn.brian2(p, target, current="event", record=True)
        out[f"brian2-{target}-event_against_numpy"] = _agreement(runs["event"], b)
    out["nest_spikes"] = sn.nest(p)["spikes"]
    return out


def summarise(runs: dict, peers) -> dict:
    out = {}
    for size, by_peer in runs.items():
        ref = by_peer.get("reference", [])
        rows = {}
        for peer in peers:
            ok = [r for r in by_peer.get(peer, []) if "error" not in r]
            if not ok:
                errs = [r["error"] for r in by_peer.get(peer, []) if "error" in r]
                rows[peer] = {"error": errs[0] if errs else "not run"}
                continue
            rates = [r["sim_s_per_wall_s"] for r in ok]
            cpu = [r["sim_s_per_cpu_s"] for r in ok]
            row = {"sim_s_per_wall_s": rates, "median": statistics.median(rates),
                   "sim_s_per_cpu_s": cpu, "median_cpu": statistics.median(cpu),
                   "build_s": statistics.median(r["build_s"] for r in ok),
                   "peak_mb": max(r["peak_mb"] for r in ok), "spikes": ok[0]["spikes"]}
            if peer != "reference" and ref:
                for key, name in (("sim_s_per_wall_s", "ratio_reference_to_peer"),
                                  ("sim_s_per_cpu_s", "ratio_reference_to_peer_cpu")):
                    ratios = [a[key] / b[key] for a, b in zip(ref, by_peer[peer])
                              if "error" not in a and "error" not in b]
                    row[name] = {"median": statistics.median(ratios), "min": min(ratios),
                                 "max": max(ratios), "all": ratios}
            rows[peer] = row
        out[size] = rows
    return out


def judge(summary: dict) -> dict:
    """Issue 16's goal per size: the fastest Brian2 build of the same network in this
    run (the highest median simulated s per wall s) and whether the reference's median
    ratio to it is at least 1; no verdict where the reference or every Brian2 build
    failed or was not run."""
    out = {}
    for size, rows in summary.items():
        ran = [p for p in BRIAN2_SAME if "median" in rows.get(p, {})
               and "ratio_reference_to_peer" in rows[p]]
        if not ran:
            out[size] = {"fastest_brian2": None, "met": None}
            continue
        best = max(ran, key=lambda p: rows[p]["median"])
        ratio = rows[best]["ratio_reference_to_peer"]["median"]
        out[size] = {"fastest_brian2": best, "ratio_median": ratio, "met": ratio >= 1.0}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--size", default="small", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="small,large")
    ap.add_argument("--steps-small", type=int, default=1000)
    ap.add_argument("--steps-large", type=int, default=250)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--timeout", type=int, default=1800, help="per child, seconds")
    ap.add_argument("--check", action="store_true", help="equivalence check only")
    ap.add_argument("--json", default=str(HERE / "results" / "spiking_peers.json"))
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.size, args.steps)))
        return
    if args.check:
        res = check(args.steps or 1000)
        res["command"] = "python benchmarks/bench_spiking_peers.py --check"
        path = HERE / "results" / "spiking_peers_check.json"
        path.write_text(json.dumps(res, indent=1))
        print(json.dumps(res, indent=1))
        print(f"wrote {path}")
        return
    sizes = [s for s in args.sizes.split(",") if s]
    peers = [p for p in args.peers.split(",") if p]
    for s in sizes:
        if s not in SIZES:
            raise SystemExit(f"--sizes: unknown size {s!r} (known: {', '.join(SIZES)})")
    for p in peers:
        if p not in PEERS:
            raise SystemExit(f"--peers: unknown peer {p!r} (known: {', '.join(PEERS)})")
    steps = {"small": args.steps_small, "large": args.steps_large}
    t_start = time.time()
    load_start = os.getloadavg()  # a shared machine: the load beside the figures
    compile_runs = {}
    for p in peers:  # fill Brian2's Cython cache outside the timed repeats
        if "cython" in p:
            r = run_child(p, "small", 20, args.timeout)
            compile_runs[p] = r.get("build_s", r.get("error"))
            print(f"{p}: first build (compilation) {compile_runs[p]}", flush=True)
    runs = {s: {p: [] for p in peers} for s in sizes}
    for rep in range(args.repeats):
        for s in sizes:
            order = peers[rep % len(peers):] + peers[:rep % len(peers)]
            for p in order:
                r = run_child(p, s, steps[s], args.timeout)
                runs[s][p].append(r)
                fig = r.get("sim_s_per_wall_s", r.get("error"))
                print(f"repeat {rep + 1} {s} {p}: {fig}", flush=True)
    result = {
        "command": "python benchmarks/bench_spiking_peers.py " + " ".join(argv or sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
        "cores": os.cpu_count(), "python": platform.python_version(),
        "sizes": {s: list(SIZES[s]) for s in sizes}, "steps": steps, "dt": DT,
        "repeats": args.repeats, "first_build_s": compile_runs,
        "summary": summarise(runs, peers), "runs": runs,
        "wall_s": time.time() - t_start,
        "load_average_1_5_15min": {"start": load_start, "end": os.getloadavg()}}
    result["goal"] = judge(result["summary"])
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, path)
    for s, g in result["goal"].items():
        print(f"{s:5s} goal (>= the fastest Brian2 build, {g['fastest_brian2']}): "
              + verdict(g["met"]))
    for s, rows in result["summary"].items():
        for p, row in rows.items():
            if "error" in row:
                print(f"{s:5s} {p:22s} {row['error']}")
                continue
            rtxt = ""
            for name in ("ratio_reference_to_peer", "ratio_reference_to_peer_cpu"):
                ratio = row.get(name)
                if ratio:
                    rtxt += (f"  {'cpu ' if name.endswith('cpu') else ''}ratio "
                             f"{ratio['median']:.3f} [{ratio['min']:.3f}, {ratio['max']:.3f}]")
            print(f"{s:5s} {p:22s} {row['median']:.4f} sim-s/wall-s ({row['median_cpu']:.4f} "
                  f"per cpu-s)  build {row['build_s']:.1f} s  peak {row['peak_mb']:.0f} MB"
                  f"{rtxt}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
