"""``neurolearn run SPEC``: train or simulate a spec on one backend."""

from __future__ import annotations

import sys


def register(sub):
    from .. import backends
    p = sub.add_parser("run", help="train or simulate a spec on a backend")
    p.add_argument("spec", help="spec file (.toml or .json)")
    p.add_argument("--backend", default="numpy", choices=backends.names())
    p.add_argument("--precision", default="float", choices=["float", "fixed"])
    p.add_argument("--profile", default=None,
                   help="hardware profile name or file (fixed precision)")
    p.add_argument("--variant", default=None,
                   help="the backend's lowering (lava: fused, the default, or stock)")
    p.add_argument("--seed", type=int, default=None, help="overrides training.seed")
    p.add_argument("--epochs", type=int, default=None, help="overrides training.epochs")
    p.add_argument("--json", metavar="PATH", default=None, help="write the report as JSON")
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


def main(args) -> int:
    from ..api import run
    options = {}
    if args.profile:
        options["profile"] = args.profile
    if args.variant:
        options["variant"] = args.variant
    quiet = True if args.quiet else None
    result = run(args.spec, args.backend, seed=args.seed, epochs=args.epochs,
                 precision=args.precision, quiet=quiet, **options)
    print(summary(result))
    if args.json:
        result.write_json(args.json)
        print(f"report     {args.json}", file=sys.stderr)
    return 0
