"""``neurolearn export DIR --nir net.nir``: write a trained spiking network as NIR."""

from __future__ import annotations

import json

from .options import path


def register(sub):
    p = sub.add_parser("export", help="write a trained network (checkpoint DIR) as NIR")
    p.add_argument("checkpoint", type=path, metavar="DIR",
                   help="checkpoint directory (run --save DIR)")
    p.add_argument("--nir", type=path, metavar="PATH", required=True,
                   help="the .nir file to write")
    p.add_argument("--no-measure", action="store_true",
                   help="skip measuring the accuracy with and without refractoriness")
    p.add_argument("--json", type=path, metavar="PATH", default=None,
                   help="write the report as JSON")
    p.set_defaults(func=main)


def main(args) -> int:
    from ..deploy.nirgraph import export
    from ..deploy.trained import load
    trained = load(args.checkpoint)
    report = export(trained, args.nir, measure=not args.no_measure)
    print(f"wrote      {args.nir} ({' -> '.join(report['layers'])}, CubaLIF layers)")
    print(f"dropped    {'; '.join(report['dropped'])} (NIR's LIF has no refractory period)")
    if "accuracy_with_refractory" in report:
        a, b = report["accuracy_with_refractory"], report["accuracy_without_refractory"]
        print(f"departure  test accuracy {100 * a:.2f} % with refractoriness, "
              f"{100 * b:.2f} % without ({100 * (b - a):+.2f} points)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0
