"""``neurolearn sweep SPEC``: seeds x settings x backends on a Dask cluster."""

from __future__ import annotations

import os
import signal
import sys

from .options import path


def register(sub):
    p = sub.add_parser(
        "sweep", help="run a spec over seeds, settings and backends on a Dask cluster",
        description="Each task is one 'neurolearn run'; its report is written to --out as "
                    "it completes. Without --scheduler a local cluster of --workers "
                    "processes is started. Needs: pip install 'neurolearn[sweep]'.")
    p.add_argument("spec", type=path, help="spec file (.toml or .json)")
    p.add_argument("--seeds", default=None,
                   help="seeds, e.g. 0-9 or 0,3,5-7 (default: the spec's training.seed)")
    p.add_argument("--set", metavar="PATH=V1,V2,...", action="append", default=[],
                   help="swept spec field, e.g. rule.eta=0.01,0.02 or "
                        "network.layers[1].size=100,200 (repeatable: cross product)")
    p.add_argument("--backends", default="numpy", help="comma-separated (default: numpy)")
    p.add_argument("--precision", default="float", choices=["float", "fixed"])
    p.add_argument("--profile", type=path, default=None, help="hardware profile (fixed precision)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="worker processes of the local cluster (default: 2)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="submit to this Dask scheduler (e.g. tcp://host:8786) instead of "
                        "starting a local cluster")
    p.add_argument("--out", type=path, metavar="DIR", required=True,
                   help="folder for the task reports, summary and plots")
    p.add_argument("--seeds-per-task", type=int, default=1, metavar="N",
                   help="run up to N tasks that differ only in their seed and learning "
                        "rates (rule.eta, rule.eta_output, training.lr_decay, "
                        "training.momentum) as one task where the backend trains them "
                        "together (numpy, time-stepped: one vectorised run, each task "
                        "bit-identical to its own run, ~3x less CPU per seed on the "
                        "spiking XOR); a worker killed mid-task loses all N (default: 1)")
    p.add_argument("--resume", action="store_true",
                   help="continue a sweep in DIR: finished tasks are not run again")
    p.add_argument("--retry-failed", action="store_true",
                   help="with --resume: also run the tasks that failed again")
    p.add_argument("--save-weights", action="store_true",
                   help="also store each task's final weights (DIR/tasks/KEY.npz)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(args) -> int:
    from ..errors import NeurolearnError
    from ..sweep import parse_seeds, parse_sets, sweep
    if args.retry_failed and not args.resume:
        raise NeurolearnError("--retry-failed: only with --resume")
    options = {"profile": args.profile} if args.profile else {}
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends:
        raise NeurolearnError("--backends: no backend given")
    # SIGTERM (kill, a batch system) ends the sweep as Ctrl-C does: the cluster is
    # closed and its workers stopped before exiting
    signal.signal(signal.SIGTERM, _terminate)
    result = sweep(args.spec, args.out, sets=parse_sets(args.set),
                   seeds=None if args.seeds is None else parse_seeds(args.seeds),
                   backends=backends, precision=args.precision, options=options,
                   workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                   retry_failed=args.retry_failed, save_weights=args.save_weights,
                   plots=not args.no_plots, quiet=True if args.quiet else None,
                   seeds_per_task=args.seeds_per_task)
    from ..sweep.aggregate import table
    print(table(result.summary))
    print()
    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.counts.items()))
    print(f"tasks  {len(result.tasks)}: {counts} ({result.ran} run now, "
          f"{result.skipped} already done)")
    for name, path in result.plots.items():
        print(f"plot   {name}: {path}")
    print(f"report {result.files['summary_json']} (also summary.csv, runs.csv, tasks/)")
    print(f"time   {result.seconds:.1f} s")
    sys.stdout.flush()
    bad = {s: n for s, n in result.counts.items() if s != "ok"}
    return 1 if bad else 0
