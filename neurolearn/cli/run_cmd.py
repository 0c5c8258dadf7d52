"""``neurolearn run SPEC``: train or simulate a spec on one backend."""

from __future__ import annotations

import sys

from .options import checked_int, field_check, time_limit_option


def register(sub):
    from .. import backends
    from ..rules.ir import Training
    p = sub.add_parser("run", help="train or simulate a spec on a backend")
    p.add_argument("spec", help="spec file (.toml or .json)")
    p.add_argument("--backend", default="numpy", choices=backends.names())
    p.add_argument("--precision", default="float", choices=["float", "fixed"])
    p.add_argument("--profile", default=None,
                   help="hardware profile name or file (fixed precision)")
    p.add_argument("--seed", type=checked_int(field_check(Training, "seed")), default=None,
                   help="overrides training.seed (0 <= seed < 2**32)")
    p.add_argument("--epochs", type=checked_int(field_check(Training, "epochs")),
                   default=None, help="overrides training.epochs")
    p.add_argument("--json", metavar="PATH", default=None, help="write the report as JSON")
    time_limit_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def summary(result) -> str:
    lines = [f"spec       {result.spec_name}",
             f"backend    {result.backend} ({result.precision})",
             f"rule       {result.rule}",
             f"dataset    {result.dataset} (seed {result.seed}, {result.epochs} epochs)"]
    if result.test_accuracy is not None:
        lines.append(f"accuracy   {100 * result.test_accuracy:.2f} % (test)")
    if result.test_loss is not None:
        lines.append(f"loss       {result.test_loss:.5f} (test)")
    for name, ang in result.alignment_angle_deg.items():
        lines.append(f"angle      {name}: {ang:.1f} deg to backprop")
    lines.append(f"time       {result.train_seconds:.2f} s training")
    return "\n".join(lines)


def profile_file(name):
    """The profile's path when --profile names a file (an input not to overwrite)."""
    from pathlib import Path
    return name if name and (Path(name).is_file()) else None


def main(args) -> int:
    from ..api import run
    from ..deadline import time_limit
    from ..hardware.profile import load_profile
    from ..outputs import check_output
    from ..rules.io import load
    load(args.spec)  # bad input fails here, before anything else
    options = {}
    if args.profile:
        options["profile"] = load_profile(args.profile)
    if args.json:  # an unwritable report fails now, not after training
        check_output(args.json, option="--json", inputs=(args.spec, profile_file(args.profile)))
    quiet = True if args.quiet else None
    with time_limit(args.time_limit):
        result = run(args.spec, args.backend, seed=args.seed, epochs=args.epochs,
                     precision=args.precision, quiet=quiet, **options)
    print(summary(result))
    if args.json:
        result.write_json(args.json, option="--json",
                          inputs=(args.spec, profile_file(args.profile)))
        print(f"report     {args.json}", file=sys.stderr)
    return 0
