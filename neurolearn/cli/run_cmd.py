"""``neurolearn run SPEC``: train or simulate a spec on one backend; save, resume or
evaluate a trained network (docs/deploy.md)."""

from __future__ import annotations

import sys

from .options import checked_int, field_check, path, time_limit_option


def register(sub):
    from .. import backends
    from ..rules.ir import Training
    p = sub.add_parser("run", help="train or simulate a spec on a backend")
    p.add_argument("spec", type=path, nargs="?", default=None,
                   help="spec file (.toml or .json); optional with --resume or --init-from")
    p.add_argument("--backend", default="numpy", choices=backends.names())
    p.add_argument("--precision", default="float", choices=["float", "fixed"])
    p.add_argument("--profile", type=path, default=None,
                   help="hardware profile name or file (fixed precision)")
    p.add_argument("--variant", default=None,
                   help="the backend's lowering (lava: fused, the default, or stock)")
    p.add_argument("--seed", type=checked_int(field_check(Training, "seed")), default=None,
                   help="overrides training.seed (0 <= seed < 2**32)")
    p.add_argument("--set", metavar="PATH=VALUE", action="append", default=[],
                   help="override a spec field, e.g. rule.eta=0.01 or "
                        "network.layers[1].size=100 (repeatable)")
    p.add_argument("--epochs", type=checked_int(_epochs_or_zero), default=None,
                   help="overrides training.epochs; 0 with --init-from: evaluate only")
    p.add_argument("--save", type=path, metavar="DIR", default=None,
                   help="write a resumable checkpoint to DIR every epoch (time-stepped "
                        "runs also within an epoch, see --save-every)")
    p.add_argument("--save-every", metavar="STEPS", dest="save_every", default=None,
                   type=checked_int(_positive_steps),
                   help="time-stepped runs: also checkpoint within an epoch, at the first "
                        "batch end after every STEPS steps (default 50000)")
    p.add_argument("--resume", type=path, metavar="DIR", default=None,
                   help="continue the checkpoint in DIR to the spec's epochs (saving there)")
    p.add_argument("--init-from", type=path, metavar="DIR", default=None, dest="init_from",
                   help="start from the trained network in DIR (--epochs 0: evaluate it)")
    p.add_argument("--rest", metavar="SECONDS", type=_rest, default=None,
                   help="--init-from DIR --epochs 0 on an engine (lava, nengo): seconds "
                        "without input before each test example, so it starts nearer "
                        "rest (default 0: examples follow each other, as in training)")
    p.add_argument("--weight-headroom", metavar="H", dest="weight_headroom", type=_headroom,
                   default=None,
                   help="--precision fixed, training on numpy or lava: how far the weights "
                        "may grow past their initial peak on the integer grid (default 4; "
                        "1: the finest grid, no room)")
    p.add_argument("--json", type=path, metavar="PATH", default=None,
                   help="write the report as JSON")
    time_limit_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def summary(result) -> str:
    lines = [f"spec       {result.spec_name}",
             f"backend    {result.backend} ({result.precision})",
             f"rule       {result.rule}",
             f"dataset    {result.dataset} (seed {result.seed}, {result.epochs} epochs)"]
    dep = result.extra.get("deploy")
    if dep:
        lines.append(f"network    {dep['init_from']} (trained {dep['trained_epochs']} epochs), "
                     "evaluated without training")
    if result.test_accuracy is not None:
        lines.append(f"accuracy   {100 * result.test_accuracy:.2f} % (test)")
    if dep and dep.get("float_accuracy") is not None:
        lines.append(f"float      {100 * dep['float_accuracy']:.2f} % (test, float64 weights); "
                     f"lost to {dep['profile']}'s weight grid: "
                     f"{dep['accuracy_lost_points']:.2f} points")
    if dep and dep.get("reference_accuracy") is not None:  # an engine's inference
        lines.append(f"reference  {100 * dep['reference_accuracy']:.2f} % (numpy's evaluation "
                     f"of the float weights: each example from rest); engine - reference: "
                     f"{dep['reference_gap_points']:+.2f} points")
        if dep.get("reference_presented_accuracy") is not None:
            lines.append(f"presented  {100 * dep['reference_presented_accuracy']:.2f} % "
                         f"(the reference's network over the engine's presentation: "
                         f"examples in a row, {dep['rest_s']:g} s rest before each)")
        lines.append(f"time       {dep['seconds']:.2f} s inference on {dep['engine']} "
                     f"({dep['n']} examples, {dep['steps']} steps)")
    if result.test_loss is not None:
        lines.append(f"loss       {result.test_loss:.5f} (test)")
    for name, ang in result.alignment_angle_deg.items():
        lines.append(f"angle      {name}: {ang:.1f} deg to backprop")
    if not dep:
        lines.append(f"time       {result.train_seconds:.2f} s training")
    if result.extra.get("checkpoint"):
        lines.append(f"checkpoint {result.extra['checkpoint']}")
    return "\n".join(lines)


def _rest(text):
    """--rest: seconds, checked as neurolearn.backends.inference.rest_steps checks them."""
    import argparse

    from ..backends.inference import rest_steps
    from ..errors import SpecError, shorten
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got "
                                         f"{shorten(text)}") from None
    try:
        rest_steps(value, 1.0)
    except SpecError as err:
        raise argparse.ArgumentTypeError(err.reason) from None
    return value


def _headroom(text):
    """--weight-headroom: a finite number >= 1."""
    import argparse
    import math

    from ..errors import shorten
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1.0):
        raise argparse.ArgumentTypeError(f"must be a number >= 1, got {shorten(text)}")
    return value


def _epochs_or_zero(v):
    """--epochs: the spec field's check, or 0 (evaluate a network given by --init-from)."""
    from ..rules.ir import Training
    return None if v == 0 else field_check(Training, "epochs")(v)


def _positive_steps(v):
    return None if v >= 1 else f"must be a positive number of steps, got {v}"


def profile_file(name):
    """The profile's path when --profile names a file (an input not to overwrite)."""
    from pathlib import Path
    return name if name and (Path(name).is_file()) else None


def main(args) -> int:
    from ..api import as_spec, run, sourced
    from ..deadline import time_limit
    from ..errors import SpecError
    from ..hardware.profile import load_profile
    from ..outputs import check_output
    from ..rules import overrides
    if args.spec is None and not (args.resume or args.init_from):
        raise SpecError("give a spec file (or --resume DIR / --init-from DIR)", "SPEC")
    spec = args.spec
    if spec is not None:
        spec = as_spec(spec)  # bad input fails here, before anything else
    if args.set:
        if spec is None:
            raise SpecError("needs a spec file to override", "--set")
        spec = overrides.apply(spec, overrides.single_values(args.set, "run"))
    options = {}
    if args.profile:
        options["profile"] = load_profile(args.profile)
    if args.json:  # an unwritable report fails now, not after training
        check_output(args.json, option="--json", inputs=(args.spec, profile_file(args.profile)))
    if args.variant:
        options["variant"] = args.variant
    if args.save_every is not None:
        if not (args.save or args.resume):
            raise SpecError("applies to checkpoints: give --save DIR or --resume DIR",
                            "--save-every")
        options["save_every"] = args.save_every
    if args.rest is not None:
        if not (args.init_from and args.epochs == 0 and args.backend != "numpy"):
            raise SpecError("applies to inference on an engine: --init-from DIR --epochs 0 "
                            "--backend lava or nengo", "--rest")
        options["rest"] = args.rest
    if args.weight_headroom is not None:
        if args.precision != "fixed" or args.backend not in ("numpy", "lava"):
            raise SpecError("applies to --precision fixed on numpy or lava (the weight "
                            "grids neurolearn chooses)", "--weight-headroom")
        if args.resume or args.init_from:
            raise SpecError("applies to a fresh training run: a resumed or initialised "
                            "network keeps its checkpoint's grid", "--weight-headroom")
        options["weight_headroom"] = args.weight_headroom
    quiet = True if args.quiet else None
    with time_limit(args.time_limit), sourced(args.spec):
        result = run(spec, args.backend, seed=args.seed, epochs=args.epochs,
                     precision=args.precision, quiet=quiet, save=args.save,
                     resume=args.resume, init_from=args.init_from, **options)
    print(summary(result))
    if args.json:
        result.write_json(args.json, option="--json",
                          inputs=(args.spec, profile_file(args.profile)))
        print(f"report     {args.json}", file=sys.stderr)
    return 0
