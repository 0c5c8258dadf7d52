"""``neurolearn compare SPEC``: every backend against the reference, graded by tier."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub):
    from .. import backends
    p = sub.add_parser("compare", help="grade backends against the reference by tier")
    p.add_argument("spec", help="spec file (.toml or .json)")
    p.add_argument("--backends", default=",".join(backends.names()),
                   help="comma-separated (default: all); missing ones are reported")
    p.add_argument("--precision", default="float", choices=["float", "fixed"])
    p.add_argument("--profile", default=None, help="hardware profile (fixed precision)")
    p.add_argument("--steps", type=int, default=500, help="time steps per equivalence run")
    p.add_argument("--record-every", type=int, default=10)
    p.add_argument("--task-epochs", type=int, default=0,
                   help="also train each backend this many epochs (task tier)")
    p.add_argument("--set", metavar="PATH=VALUE", action="append", default=[],
                   help="override a spec field, e.g. rule.eta=0.01 (repeatable)")
    p.add_argument("--json", metavar="PATH", default=None)
    p.add_argument("--out", metavar="DIR", default="compare_out", help="folder for PNG plots")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=main)


def main(args) -> int:
    from ..api import as_spec
    from ..compare import compare
    from .. import backends
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    for n in names:
        if n not in backends.BACKENDS:
            from ..errors import NeurolearnError
            raise NeurolearnError(f"unknown backend {n!r} (known: {', '.join(backends.names())})")
    from ..rules import overrides
    spec = as_spec(args.spec)
    if args.set:
        spec = overrides.apply(spec, overrides.single_values(args.set, "compare"))
    report = compare(spec, names, precision=args.precision, profile=args.profile,
                     steps=args.steps, record_every=args.record_every,
                     task_epochs=args.task_epochs, out_dir=None if args.no_plots else args.out,
                     quiet=True if args.quiet else None, plots=not args.no_plots)
    print(report.table())
    for name, path in report.plots.items():
        print(f"plot   {name}: {path}")
    print(f"time   {report.seconds:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2, default=float) + "\n")
        print(f"report {args.json}", file=sys.stderr)
    bad = [v for v in report.verdicts if v.status in ("outside tolerance", "error")]
    return 1 if bad else 0
