"""Payeur et al. 2021's XOR with burst-dependent plasticity: the spiking form
(two-compartment burst neurons; the output population's event rate separates the
classes) and the ensemble rate form, on several seeds.

    python examples/xor_burstprop.py [--tiny] [--seeds 5]
"""

import neurolearn
from _common import SPECS, parser

PATTERNS = ["0 0", "0 1", "1 0", "1 1"]


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args()
    seeds = 1 if args.tiny else args.seeds
    for name, epochs in (("burstprop_rate_xor", None), ("burstprop_xor", 2 if args.tiny else None)):
        spec = neurolearn.load(SPECS / f"{name}.toml")
        solved = 0
        for seed in range(seeds):
            res = neurolearn.run(spec, seed=seed, epochs=epochs, quiet=True)
            if "test_readout" in res.extra:  # spiking: pooled output event rate
                out = [r[0] for r in res.extra["test_readout"]]
            else:
                import numpy as np
                out = res.state.predict(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float))[:, 0]
            ok = res.test_accuracy == 1.0
            solved += ok
            print(f"{name} seed {seed}: " + ", ".join(f"{p} -> {o:.2f}" for p, o in
                                                     zip(PATTERNS, out))
                  + f"  ({'all correct' if ok else 'not solved'}, {res.train_seconds:.1f} s)")
        print(f"{name}: {solved} of {seeds} seeds solve XOR\n")


if __name__ == "__main__":
    main()
