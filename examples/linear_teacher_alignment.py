"""Lillicrap et al. 2016, Fig. 1: on a 30-20-10 linear task, the angle between
feedback alignment's hidden update and backprop's falls from about 90 degrees as
W learns to align with the fixed random B. Writes the angle curve as a PNG.

    python examples/linear_teacher_alignment.py [--tiny] [--out DIR]
"""

from pathlib import Path

from _common import SPECS, parser
from neurolearn.reference import train
from neurolearn.rules import load


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    spec = load(SPECS / "fa_linear_teacher.toml")
    epochs = 2 if args.tiny else None
    fa = train(spec, epochs=epochs, quiet=True, record_every=5)
    spec.network.feedback.kind = "transport"
    bp = train(spec, epochs=epochs, quiet=True)
    angles = fa.history["alignment_angle_deg"]["hidden"]
    print(f"angle to backprop: {angles[0]:.1f} deg before learning, {angles[-1]:.1f} deg after")
    print(f"final test error: FA {fa.test_loss:.4g}, BP {bp.test_loss:.4g} "
          f"(ratio {fa.test_loss / bp.test_loss:.2f})")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (pip install 'neurolearn[plot]'): no plot")
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    a1.plot(fa.history["alignment_updates"], angles)
    a1.axhline(90, color="grey", ls=":")
    a1.set(xlabel="updates", ylabel="angle FA vs BP update (deg)", ylim=(0, 100),
           title="hidden-layer alignment")
    a2.semilogy(fa.history["epoch"], fa.history["test_loss"], label="FA")
    a2.semilogy(bp.history["epoch"], bp.history["test_loss"], label="BP")
    a2.set(xlabel="epoch", ylabel="test MSE", title="error")
    a2.legend()
    fig.tight_layout()
    fig.savefig(out / "linear_teacher_alignment.png", dpi=110)
    print(f"plot: {out / 'linear_teacher_alignment.png'}")


if __name__ == "__main__":
    main()
