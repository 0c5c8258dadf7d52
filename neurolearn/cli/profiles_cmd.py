"""``neurolearn profiles``: the hardware profiles shipped with neurolearn."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("profiles", help="list the hardware profiles")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show each profile's figures and their sources")
    p.set_defaults(func=main)


def _figures(profile):
    for section in ("chip", "core", "weights", "traces", "learning", "models", "energy",
                    "timing"):
        sec = getattr(profile, section)
        if sec is None:
            continue
        for name, fig in vars(sec).items():
            if fig is None:
                continue
            value = "unknown" if fig.value is None else fig.value
            if isinstance(value, list):
                value = ", ".join(value) or "(none)"
            yield f"{section}.{name}", value, fig.source


def main(args) -> int:
    from ..hardware.profile import builtin_names, load_profile
    names = builtin_names()
    width = max(map(len, names))
    for name in names:
        prof = load_profile(name)
        print(f"{name:<{width}}  {prof.precision:<5}  {prof.description}")
        if args.verbose:
            for fig, value, source in _figures(prof):
                print(f"{'':<{width}}    {fig} = {value}  [{source}]")
    print("\nuse: neurolearn check SPEC --profile NAME  (or --profile path/to/chip.toml)")
    return 0
