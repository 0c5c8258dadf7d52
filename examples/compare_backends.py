"""Does FA do on Lava, Nengo and the Loihi emulator what it does in the reference?
Runs `compare` from Python and prints the graded table; plots go to --out.

    python examples/compare_backends.py [--tiny] [--out DIR]
"""

from _common import SPECS, parser
from neurolearn.compare import compare
from neurolearn.rules import load


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    spec = load(SPECS / "fa_digits.toml")
    backends = ["numpy", "lava", "nengo"] + ([] if args.tiny else ["nengo-loihi"])
    report = compare(spec, backends, steps=100 if args.tiny else 500, out_dir=args.out,
                     quiet=True)
    print(report.table())
    for name, path in report.plots.items():
        print(f"plot {name}: {path}")


if __name__ == "__main__":
    main()
