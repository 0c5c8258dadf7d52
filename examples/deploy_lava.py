"""Deploy spiking feedback alignment to Lava in fixed point: check the network
against the loihi2 profile, run it on Lava's fixed-point models, and verify the
learned integer weights equal the loihi2 quantized reference bit for bit.

    python examples/deploy_lava.py [--tiny] [--steps N]
"""

import numpy as np

from _common import SPECS, parser
from neurolearn import backends
from neurolearn.hardware import check, format_report, load_profile
from neurolearn.reference.schedules import lava as lava_schedule
from neurolearn.rules import load


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=None)
    args = p.parse_args()
    spec = load(SPECS / "fa_digits_spiking.toml")
    if args.tiny:
        spec.network.layers[1].size = 32
    report = check(spec, load_profile("loihi2"))
    print(format_report(report))
    if not report.fits:
        raise SystemExit("does not fit loihi2; see the violations above")
    steps = args.steps or (200 if args.tiny else 1000)
    lava = backends.get("lava")
    chip = lava.simulate(spec, steps=steps, precision="fixed", record_every=steps // 4)
    ref = lava_schedule.simulate(spec, steps=steps, precision="fixed",
                                 record_every=steps // 4)
    for layer, w in chip.weights.items():
        moved = int(np.abs(w[-1] - w[0]).max())
        diff = int(np.abs(w - ref.weights[layer]).max())
        print(f"{layer}: weights moved up to {moved} LSB; Lava fixed_pt vs loihi2 "
              f"reference: {diff} LSB apart")
        if diff:
            raise SystemExit("Lava fixed point departs from the quantized reference")
    print(f"Lava fixed point equals the loihi2 quantized reference after {steps} steps "
          f"({chip.wall_seconds:.1f} s on Lava)")


if __name__ == "__main__":
    main()
