"""``neurolearn compare SPEC``: every backend against the one meaning, by tier.

Plots go to a fresh folder per run, ``--out``/<spec name>-<n> (n: the first free
number, created atomically), so two runs into one ``--out`` never replace each
other's files. Every output location is checked before any backend runs; the
table is printed before the plots are drawn, so it survives a failed plot."""

from __future__ import annotations

import json
import sys

from .options import checked_int, path, steps_type, time_limit_option


def register(sub):
    from .. import backends
    from ..compare import DEFAULT_STEPS, DEFAULT_TASK_EPOCHS
    from ..rules import limits
    from ..rules.schema import int_in
    p = sub.add_parser("compare", help="grade backends against the reference by tier")
    p.add_argument("spec", type=path, help="spec file (.toml or .json)")
    p.add_argument("--backends", default=",".join(backends.names()),
                   help="comma-separated (default: all); missing ones are reported")
    p.add_argument("--precision", default="float", choices=["float", "fixed"])
    p.add_argument("--profile", type=path, default=None, help="hardware profile (fixed precision)")
    p.add_argument("--steps", type=steps_type(), default=DEFAULT_STEPS,
                   help="time steps of the plumbing and textbook runs")
    p.add_argument("--record-every", type=checked_int(int_in(1, limits.MAX_STEPS,
                                                             "limit MAX_STEPS")), default=50)
    p.add_argument("--task-epochs", type=checked_int(int_in(0, limits.MAX_EPOCHS,
                                                            "limit MAX_EPOCHS")),
                   default=DEFAULT_TASK_EPOCHS,
                   help=f"epochs each backend trains for the task tier (default "
                        f"{DEFAULT_TASK_EPOCHS}; 0 turns the task tier off)")
    p.add_argument("--set", metavar="PATH=VALUE", action="append", default=[],
                   help="override a spec field, e.g. rule.eta=0.01 (repeatable)")
    p.add_argument("--json", type=path, metavar="PATH", default=None)
    p.add_argument("--out", type=path, metavar="DIR", default="compare_out",
                   help="folder for PNG plots; each run writes into its own subfolder "
                        "DIR/<spec name>-<n>")
    p.add_argument("--no-plots", action="store_true")
    time_limit_option(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=main)


def main(args) -> int:
    from .. import backends
    from ..api import sourced
    from ..compare import compare
    from ..deadline import time_limit
    from ..errors import NeurolearnError, SpecError
    from ..hardware.profile import load_profile
    from ..outputs import check_output, new_run_dir
    from ..rules import overrides
    from ..rules.io import load
    from ..rules.limits import check_memory
    from .run_cmd import profile_file
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    for n in names:
        if n not in backends.PACKAGES:
            raise SpecError(f"unknown backend {n!r} (known: {', '.join(backends.names())})"
                            [:300], "--backends")
    if args.record_every > args.steps:
        raise SpecError(f"must be at most --steps ({args.steps}), got {args.record_every}",
                        "--record-every")
    spec = load(args.spec)
    if args.set:
        spec = overrides.apply(spec, overrides.single_values(args.set, "compare"))
    profile = load_profile(args.profile) if args.profile else None
    inputs = (args.spec, profile_file(args.profile))
    with sourced(args.spec):
        check_memory(spec, steps=args.steps)
    if args.json:
        check_output(args.json, option="--json", inputs=inputs)
    out = None if args.no_plots else new_run_dir(args.out, spec.name, "--out")
    status = 0
    plots = {}
    with time_limit(args.time_limit):
        try:
            report = compare(spec, names, precision=args.precision, profile=profile,
                             steps=args.steps, record_every=args.record_every,
                             task_epochs=args.task_epochs,
                             quiet=True if args.quiet else None)
        except BaseException:
            _remove_if_empty(out)
            raise
        print(report.table())
        if out is not None:
            try:
                from ..viz.plots import write_compare_plots
                plots = write_compare_plots(spec, report, out)
            except (NeurolearnError, OSError) as err:
                print(f"neurolearn compare: error: plots not written: {err}", file=sys.stderr)
                status = 2
            finally:
                _remove_if_empty(out)
    for name, path in plots.items():
        print(f"plot   {name}: {path}")
    print(f"time   {report.seconds:.1f} s")
    if args.json:
        from ..outputs import write_atomic
        from ..compare.estimates import estimates
        data = {**report.to_dict(), "plots": {k: str(v) for k, v in plots.items()},
                "estimates": estimates(spec, report)}
        write_atomic(args.json, json.dumps(data, indent=2, default=float) + "\n",
                     option="--json", inputs=inputs)
        print(f"report {args.json}", file=sys.stderr)
    bad = [v for v in report.verdicts if v.status in ("outside tolerance", "error")]
    return status or (1 if bad else 0)


def _remove_if_empty(folder):
    if folder is not None:
        try:
            folder.rmdir()  # only succeeds when nothing was written
        except OSError:
            pass
