"""``neurolearn check SPEC --profile NAME``: resources, violations, rule mapping.

Exit status: 0 when the network fits (learning may still move to the host), 1 when
it does not fit or a plastic projection cannot run, 2 for bad input.
"""

from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("check", help="does a spec fit a hardware profile?")
    p.add_argument("spec", help="spec file (.toml or .json)")
    p.add_argument("--profile", required=True,
                   help="profile name (see: neurolearn profiles) or a .toml file")
    p.add_argument("--json", metavar="PATH", default=None, help="write the report as JSON")
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
    if args.json:
        write_atomic(args.json, json.dumps(report.to_dict(), indent=2, default=str) + "\n",
                     option="--json", inputs=inputs)
    return 0 if report.fits else 1
