"""``neurolearn compare SPEC``: every backend against the one meaning, by tier."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub):
    from .. import backends
    from ..compare import DEFAULT_STEPS, DEFAULT_TASK_EPOCHS
    p = sub.add_parser("compare", help="grade backends against the reference by tier")
    p.add_argument("spec", help="spec file (.toml or .json)")
    p.add_argument("--backends", default=",".join(backends.names()),
                   help="comma-separated (default: all); missing ones are reported")
    p.add_argument("--precision", default="float", choices=["float", "fixed"])
    p.add_argument("--profile", default=None, help="hardware profile (fixed precision)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help="time steps of the plumbing and textbook runs")
    p.add_argument("--record-every", type=int, default=50)
    p.add_argument("--task-epochs", type=int, default=DEFAULT_TASK_EPOCHS,
                   help=f"epochs each backend trains for the task tier (default "
                        f"{DEFAULT_TASK_EPOCHS}; 0 turns the task tier off)")
    p.add_argument("--set", metavar="PATH=VALUE", action="append", default=[],
                   help="override a spec field, e.g. rule.eta=0.01 (repeatable)")
    p.add_argument("--json", metavar="PATH", default=None)
    p.add_argument("--out", metavar="DIR", default="compare_out", help="folder for PNG plots")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=main)


def main(args) -> int:
    from .. import backends
    from ..api import as_spec
    from ..compare import compare
    from ..errors import NeurolearnError
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    for n in names:
        if n not in backends.PACKAGES:
            raise NeurolearnError(f"--backends: unknown backend {n!r} (known: "
                                  f"{', '.join(backends.names())})")
    from ..rules import overrides
    spec = as_spec(args.spec)
    if args.set:
        spec = overrides.apply(spec, overrides.single_values(args.set, "compare"))
    report = compare(spec, names, precision=args.precision, profile=args.profile,
                     steps=args.steps, record_every=args.record_every,
                     task_epochs=args.task_epochs, quiet=True if args.quiet else None)
    print(report.table())
    if not args.no_plots:
        try:
            from ..viz.plots import write_compare_plots
            for name, path in write_compare_plots(spec, report, Path(args.out)).items():
                print(f"plot   {name}: {path}")
        except (NeurolearnError, OSError) as err:
            print(f"neurolearn compare: plots not written: {err}", file=sys.stderr)
    print(f"time   {report.seconds:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2, default=float) + "\n")
        print(f"report {args.json}", file=sys.stderr)
    bad = [v for v in report.verdicts if v.status in ("outside tolerance", "error")]
    return 1 if bad else 0
