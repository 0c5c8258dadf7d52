"""How far Lava's execution departs from the textbook reference, per catalog row that
Lava lowers, split as compare splits it (NumPy only: the emulator is bit-exact to
Lava, tests/test_lava_equivalence.py).

    .venv/bin/python benchmarks/lava_departures.py [--steps 500] [--json FILE]

- timing: the reference under Lava's schedule vs the reference on the textbook one;
- neuron model and other declared approximations (float): the emulator vs the
  reference under Lava's schedule (none are declared in float: max |dW| is rounding);
- precision (spiking rows): the fixed-point emulator vs the reference under the
  fixed-point Program's schedule (per-step updates), and its timing part, that
  schedule vs the textbook.

Per layer: corr(dW) of the weight changes after ``steps`` steps of the training
stream (dW = W(steps) - W(0)) and the relative error |dW_a - dW_b| / |dW_b|.
"""

import argparse
import json

import numpy as np

from neurolearn.backends.lava import emulate, lower
from neurolearn.errors import UnsupportedRule
from neurolearn.reference.simulator import simulate
from neurolearn.rules.catalog import catalog


def _departure(a, b, W0):
    out = {}
    for l, name in enumerate(b.weights, start=1):
        da = a.weights[name][-1] - W0[l - 1]
        db = b.weights[name][-1] - W0[l - 1]
        corr = float(np.corrcoef(da.ravel(), db.ravel())[0, 1])
        rel = float(np.linalg.norm(da - db) / max(np.linalg.norm(db), 1e-300))
        out[name] = {"corr": corr, "rel_err": rel, "max_abs": float(np.abs(da - db).max())}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    n = args.steps
    rows = {}
    for label, spec in catalog():
        try:
            prog = lower(spec)
        except UnsupportedRule as err:
            rows[label] = {"refused": str(err)}
            continue
        W0 = prog.params.W
        textbook = simulate(spec, steps=n, record_every=n)
        lava_ref = simulate(spec, steps=n, record_every=n, schedule=prog.schedule)
        emu = emulate(spec, steps=n, record_every=n)
        r = {"timing": _departure(lava_ref, textbook, W0),
             "emulator_vs_lava_schedule": _departure(emu, lava_ref, W0)}
        if spec.network.spiking:
            try:
                fprog = lower(spec, "fixed")
            except UnsupportedRule as err:
                r["fixed_refused"] = str(err)
                fprog = None
        if spec.network.spiking and fprog is not None:
            fixed_ref = simulate(spec, steps=n, record_every=n, schedule=fprog.schedule)
            fixed = emulate(spec, steps=n, record_every=n, precision="fixed")
            r["fixed_timing"] = _departure(fixed_ref, textbook, W0)
            r["fixed_precision"] = _departure(fixed, fixed_ref, W0)
        rows[label] = r
        print(label)
        for what, d in r.items():
            if isinstance(d, str):
                print(f"  {what:28s} {d}")
                continue
            print(f"  {what:28s} " + "  ".join(
                f"{k}: corr {v['corr']:.4f} rel {v['rel_err']:.2e}" for k, v in d.items()))
    out = {"steps": n, "rows": rows,
           "command": f"python benchmarks/lava_departures.py --steps {n}"}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
            fh.write("\n")
    return out


if __name__ == "__main__":
    main()
