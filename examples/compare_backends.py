"""Does FA do on Lava, Nengo and the Loihi emulator what it means in the reference?
Runs `compare` from Python, prints the graded table (plumbing, textbook departure
split into timing / model / precision, task tier) and writes the plots to --out.

    python examples/compare_backends.py [--tiny] [--out DIR]
"""

from pathlib import Path

from _common import SPECS, parser
from neurolearn.compare import compare
from neurolearn.rules import load


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    spec = load(SPECS / "fa_digits.toml")
    backends = ["numpy", "lava", "nengo"] + ([] if args.tiny else ["nengo-loihi"])
    report = compare(spec, backends, steps=100 if args.tiny else 500,
                     task_epochs=0 if args.tiny else 3, quiet=True)
    print(report.table())
    try:
        from neurolearn.viz.plots import write_compare_plots
        for name, path in write_compare_plots(spec, report, Path(args.out)).items():
            print(f"plot {name}: {path}")
    except ImportError:
        print("plots need matplotlib: pip install 'neurolearn[plot]'")


if __name__ == "__main__":
    main()
