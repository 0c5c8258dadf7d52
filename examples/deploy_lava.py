"""Deploy spiking feedback alignment to Lava in fixed point: check the network
against the loihi2 profile, run it on Lava's fixed-point learning engine, and verify
the learned integer weights equal the emulator's (Lava's engine in NumPy, from the
loihi2 profile's integer arithmetic) bit for bit.

    python examples/deploy_lava.py [--tiny] [--steps N]
"""

import numpy as np

from _common import SPECS, parser
from neurolearn import backends
from neurolearn.hardware import check, format_report, load_profile
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
    program = lava.lower(spec, "fixed")
    chip = lava.simulate(spec, steps=steps, precision="fixed", record_every=steps // 4)
    ref = lava.emulate(spec, steps=steps, precision="fixed", record_every=steps // 4)
    for lp in program.layers:
        lsb = 2.0 ** lp.w_frac  # weights are reported in float units, W_int 2^-f
        w = chip.weights[lp.name]
        moved = int(round(np.abs(w[-1] - program.float_weights(lp.index, lp.W0)).max() * lsb))
        diff = int(round(np.abs(w - ref.weights[lp.name]).max() * lsb))
        print(f"{lp.name}: weights moved up to {moved} LSB; Lava fixed_pt vs its "
              f"emulator: {diff} LSB apart")
        if diff:
            raise SystemExit("Lava fixed point departs from its emulator")
    print(f"Lava fixed point equals its emulator after {steps} steps "
          f"({chip.wall_seconds:.1f} s on Lava); "
          + "; ".join(str(a) for a in program.approximations))

if __name__ == "__main__":
    main()
