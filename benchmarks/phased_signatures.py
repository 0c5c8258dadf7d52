"""The signatures of the phased rules against backprop (issue 15), on 16 digits from
the example specs' initial weights:

    .venv/bin/python benchmarks/phased_signatures.py [--out benchmarks/results/phased_signatures.json]

- equilibrium propagation: angle between its update and the gradient of the loss at
  the free equilibrium (recurrent backprop by implicit differentiation) per nudge;
- predictive coding: angle between the error populations over the nudge and
  backprop's deltas, per nudge (the output's precision);
- weight mirror: angle between B and W^T over 3 epochs of weight_mirror_digits.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurolearn.data import load_dataset  # noqa: E402
from neurolearn.reference import signatures as S  # noqa: E402
from neurolearn.rules import load  # noqa: E402

NUDGES = [1.0, 0.1, 0.01, 0.001]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="write the figures as JSON")
    args = ap.parse_args(argv)
    specs = ROOT / "examples" / "specs"
    ds = load_dataset(load(specs / "fa_digits.toml").data, 0)
    x, y = ds.x_train[:16], ds.y_train[:16]
    out = {"equilibrium_propagation": S.ep_angles(
        load(specs / "equilibrium_propagation_digits.toml"), x, y, NUDGES),
        "predictive_coding": S.pc_angles(
        load(specs / "predictive_coding_digits.toml"), x, y, NUDGES)}
    for name in out:
        print(f"{name}: angle to backprop (deg) per layer, by nudge")
        for beta, angles in out[name].items():
            print(f"  {beta:g}: " + ", ".join(f"{a:.3g}" for a in angles))
    from neurolearn.reference.phased import PhasedTrainer
    wm = load(specs / "weight_mirror_digits.toml")
    tr = PhasedTrainer(wm)
    angles = [S.mirror_angle(tr.params, 1)]
    for epoch in range(3):
        for i in range(0, len(ds.x_train) - 3, 4):
            tr.step(ds.x_train[i:i + 4], ds.y_train[i:i + 4])
        angles.append(S.mirror_angle(tr.params, 1))
    out["weight_mirror"] = {"mirror_angle_deg_by_epoch": angles}
    print("weight mirror: angle(B, W^T) by epoch: " + ", ".join(f"{a:.3g}" for a in angles))
    if args.out:
        from neurolearn.outputs import write_atomic
        write_atomic(args.out, json.dumps({k: {str(b): v for b, v in d.items()}
                                           for k, d in out.items()}, indent=1) + "\n",
                     option="--out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
