"""``neurolearn check SPEC --profile NAME``: resources, violations, rule mapping, and
with ``--estimate`` energy and latency per training sample and per inference.

Exit status: 0 when the network fits (learning may still move to the host), 1 when
it does not fit or a plastic projection cannot run, 2 for bad input.
"""

from __future__ import annotations

import json

from .options import path


def register(sub):
    p = sub.add_parser("check", help="does a spec fit a hardware profile?")
    p.add_argument("spec", type=path, help="spec file (.toml or .json)")
    p.add_argument("--profile", type=path, required=True,
                   help="profile name (see: neurolearn profiles) or a .toml file")
    p.add_argument("--estimate", action="store_true",
                   help="also estimate energy and latency per training sample and per "
                        "inference (counts from a numpy reference run, figures from the "
                        "profile with their sources)")
    p.add_argument("--samples", type=int, default=20,
                   help="--estimate: training samples of the reference run (default 20)")
    p.add_argument("--learning-epoch", type=int, default=1,
                   help="--estimate: steps per learning epoch on the chip (default 1, as "
                        "neurolearn's lowerings learn; Loihi allows up to 63)")
    p.add_argument("--init-from", type=path, metavar="DIR", default=None, dest="init_from",
                   help="--estimate: count with the trained network in DIR instead of the "
                        "spec's initial weights")
    p.add_argument("--json", type=path, metavar="PATH", default=None,
                   help="write the report as JSON")
    p.set_defaults(func=main)


def main(args) -> int:
    from ..hardware.check import check, format_report
    from ..hardware.profile import load_profile
    from ..outputs import check_output, write_atomic
    from ..rules.io import load
    from .run_cmd import profile_file
    spec = load(args.spec)
    profile = load_profile(args.profile)
    inputs = (args.spec, profile_file(args.profile))
    if args.json:
        check_output(args.json, option="--json", inputs=inputs)
    report = check(spec, profile)
    print(format_report(report))
    out = report.to_dict()
    if args.estimate:
        from ..hardware.estimate import estimate, format_estimate
        from ..reference.counts import count
        params, weights = None, "initial"
        if args.init_from:
            from ..deploy.run import _same_network
            from ..deploy.trained import load as load_trained
            trained = load_trained(args.init_from)
            _same_network(spec, trained, args.init_from)
            params, weights = trained.params, f"trained ({args.init_from})"
        counts = count(spec, samples=args.samples, params=params, weights=weights,
                       learning_epoch=args.learning_epoch)
        est = estimate(spec, profile, counts)
        print()
        print(format_estimate(est))
        out["estimate"] = est.to_dict()
    if args.json:
        write_atomic(args.json, json.dumps(out, indent=2, default=str) + "\n",
                     option="--json", inputs=inputs)
    return 0 if report.fits else 1
