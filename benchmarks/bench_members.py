"""A learning-rate sweep of the spiking burstprop XOR (examples/specs/burstprop_xor.toml)
three ways, side by side, one core each: every member (rate x seed) in one vectorised
run (``neurolearn.run_members``, what ``neurolearn sweep --seeds-per-task N`` gives
when the points differ only in rule.eta / rule.eta_output), one vectorised run per
rate (``run_seeds``: the seeds of one point together, as before members), and each
member alone (``neurolearn.run``).

    .venv/bin/python benchmarks/bench_members.py [--epochs 20] [--seeds 0,1,2,3,4]
        [--rates 4,6,8] [--repeats 3]

``--rates`` are values of rule.eta_output. Each mode runs in its own child process
with one BLAS thread, the modes in rotating order per repeat. Reported: CPU seconds
per member-epoch, training and the evaluation after every epoch included; ratios
per repeat (median [min, max]); and whether every member's final weights are the
same bits in all three modes (they must be). Results: benchmarks/results/members.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
SPEC = ROOT / "examples/specs/burstprop_xor.toml"
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
MODES = ("members", "per-rate", "alone")


def _digest(weights) -> str:
    h = hashlib.sha256()
    for w in weights:
        h.update(w.tobytes())
    return h.hexdigest()[:16]


def child(mode: str, epochs: int, seeds: list, rates: list) -> dict:
    from dataclasses import replace

    from neurolearn.reference.simulator import run_members, run_seeds, run_time_stepped
    from neurolearn.rules import load
    spec = load(SPEC)
    at = {r: spec.with_(rule=replace(spec.rule, eta_output=r)) for r in rates}
    members = [(r, s) for r in rates for s in seeds]
    c0 = time.process_time()
    if mode == "members":
        res = run_members([at[r] for r, _ in members], [s for _, s in members],
                          epochs=epochs, quiet=True)
    elif mode == "per-rate":
        res = [x for r in rates for x in run_seeds(at[r], seeds, epochs=epochs, quiet=True)]
    else:
        res = [run_time_stepped(at[r].with_(training=replace(at[r].training, seed=s)),
                                epochs=epochs, quiet=True) for r, s in members]
    cpu = time.process_time() - c0
    return {"mode": mode, "cpu_s": cpu, "members": len(members),
            "cpu_s_per_member_epoch": cpu / (len(members) * epochs),
            "digests": [_digest(x.weights) for x in res],
            "accuracy": [x.test_accuracy for x in res]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--rates", default="4,6,8", help="values of rule.eta_output")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--json", default=str(HERE / "results" / "members.json"))
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    rates = [float(r) for r in args.rates.split(",") if r]
    if args.child:
        print(json.dumps(child(args.child, args.epochs, seeds, rates)))
        return
    runs = {m: [] for m in MODES}
    load_start = os.getloadavg()
    for rep in range(args.repeats):
        for m in MODES[rep % 3:] + MODES[:rep % 3]:  # rotate the order
            cmd = [sys.executable, __file__, "--child", m, "--epochs", str(args.epochs),
                   "--seeds", args.seeds, "--rates", args.rates]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                  env={**os.environ, **ONE_THREAD}, cwd=ROOT)
            runs[m].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"repeat {rep + 1} {m}: {runs[m][-1]['cpu_s_per_member_epoch'] * 1e3:.1f} "
                  "ms CPU per member-epoch", flush=True)
    per = {m: [r["cpu_s_per_member_epoch"] for r in rs] for m, rs in runs.items()}

    def ratio(peer):  # peer's cost / the members run's, per repeat
        xs = [p / q for p, q in zip(per[peer], per["members"])]
        return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "all": xs}
    digests = {m: rs[0]["digests"] for m, rs in runs.items()}
    out = {"command": f"python benchmarks/bench_members.py --epochs {args.epochs} --seeds "
                      f"{args.seeds} --rates {args.rates} --repeats {args.repeats}",
           "date": time.strftime("%Y-%m-%d"), "spec": str(SPEC.relative_to(ROOT)),
           "epochs": args.epochs, "seeds": seeds, "rates_eta_output": rates,
           "members": len(seeds) * len(rates), "repeats": args.repeats,
           "cpu_s_per_member_epoch": {m: {"median": statistics.median(v), "min": min(v),
                                          "max": max(v), "all": v} for m, v in per.items()},
           "speedup_over_per_rate": ratio("per-rate"), "speedup_over_alone": ratio("alone"),
           "same_bits_in_every_mode": digests["members"] == digests["per-rate"] ==
           digests["alone"] and all(r["digests"] == rs[0]["digests"]
                                    for rs in runs.values() for r in rs),
           "accuracy": runs["members"][0]["accuracy"],
           "load_average_1_5_15min": {"start": load_start, "end": os.getloadavg()}}
    path = Path(args.json)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    os.replace(tmp, path)
    m = out["cpu_s_per_member_epoch"]
    print(f"{out['members']} members x {args.epochs} epochs, CPU ms per member-epoch: "
          + ", ".join(f"{k} {v['median'] * 1e3:.1f}" for k, v in m.items()))
    for k in ("per_rate", "alone"):
        r = out[f"speedup_over_{k}"]
        print(f"members together: {r['median']:.2f}x faster than {k.replace('_', '-')} "
              f"[{r['min']:.2f}, {r['max']:.2f}]")
    print(f"same bits in every mode: {out['same_bits_in_every_mode']}")
    if not out["same_bits_in_every_mode"]:
        raise SystemExit("the modes gave different weights: see " + str(path))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
