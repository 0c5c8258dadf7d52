"""Speed and figures of the nengo backends on the example specs.

Default: ms per step of the nengo backend (its LearningNetwork on nengo.Simulator,
as ``run`` trains it) against the numpy time-stepped reference
(neurolearn.reference.simulator, under the same Schedule) on the same spec and
stream, interleaved ``--repeats`` times (the machine is shared: ratios, medians and
spread are the result), for examples/specs/fa_digits.toml (rate) and
fa_digits_spiking.toml (LIF).

    .venv/bin/python benchmarks/bench_nengo.py [--steps 4000] [--repeats 5] [--json F]
    .venv/bin/python benchmarks/bench_nengo.py --full [--epochs 60]   # fa_digits on nengo
    .venv/bin/python benchmarks/bench_nengo.py --spiking-full          # fa_digits_spiking
    .venv/bin/python benchmarks/bench_nengo.py --loihi [--loihi-epochs 1] [--variant sim]
    .venv/bin/python benchmarks/bench_nengo.py --loihi-delay           # the Schedule's fit
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from neurolearn.rules import load

ROOT = Path(__file__).resolve().parent.parent
SPECS = {"fa_digits": ROOT / "examples/specs/fa_digits.toml",
         "fa_digits_spiking": ROOT / "examples/specs/fa_digits_spiking.toml"}


def nengo_ms_per_step(spec, ds, steps, warmup=200):
    """(wall, CPU) ms per step of the LearningNetwork on nengo.Simulator (no probes,
    as in run)."""
    import nengo
    from neurolearn.backends.nengo.lower import lower
    from neurolearn.backends.nengo.runtime import build_network
    from neurolearn.reference.params import init_params
    prog = lower(spec)
    n_ex = -(-(steps + warmup) // prog.k)
    net = build_network(prog, init_params(spec.network, 0), ds, n_ex, 0)
    with nengo.Simulator(net, dt=prog.dt, progress_bar=False) as sim:
        sim.run_steps(warmup)
        t0, c0 = time.perf_counter(), time.process_time()
        sim.run_steps(steps)
        return (1e3 * (time.perf_counter() - t0) / steps,
                1e3 * (time.process_time() - c0) / steps)


def numpy_ms_per_step(spec, ds, steps):
    """(wall, CPU) ms per step of the numpy time-stepped reference under nengo's
    Schedule (its loop; CPU includes building the network, a few ms)."""
    from neurolearn.backends.nengo.lower import lower
    from neurolearn.reference.simulator import simulate
    c0 = time.process_time()
    tr = simulate(spec, steps=steps, record_every=steps, schedule=lower(spec).schedule,
                  dataset=ds)
    return 1e3 * tr.wall_seconds / steps, 1e3 * (time.process_time() - c0) / steps


def speed(args):
    from neurolearn.data import load_dataset
    rows, out = [], {}
    for name, path in SPECS.items():
        spec = load(path)
        ds = load_dataset(spec.data, spec.training.seed)
        steps = args.steps if not spec.network.spiking else args.steps // 2
        a, b = [], []
        for _ in range(args.repeats):  # interleaved: load hits both alike
            a.append(nengo_ms_per_step(spec, ds, steps))
            b.append(numpy_ms_per_step(spec, ds, steps))
        res = {}
        for i, clock in enumerate(("wall", "cpu")):
            x, y = [r[i] for r in a], [r[i] for r in b]
            ratios = [p / q for p, q in zip(x, y)]
            res[clock] = {"nengo_ms": x, "numpy_ms": y, "ratios": ratios,
                          "median": {"nengo": float(np.median(x)), "numpy": float(np.median(y)),
                                     "ratio": float(np.median(ratios))}}
            med = res[clock]["median"]
            print(f"{name} ({clock} clock): {steps} steps x {args.repeats}; ms/step nengo "
                  f"median {med['nengo']:.3f} (min {min(x):.3f}, max {max(x):.3f}), numpy "
                  f"time-stepped {med['numpy']:.3f} (min {min(y):.3f}, max {max(y):.3f}); "
                  f"nengo / numpy {med['ratio']:.2f}x (runs "
                  f"{', '.join(f'{r:.2f}' for r in ratios)})")
            rows.append({"what": f"{name}.toml, ms per step, {clock} clock (median of "
                                 f"{args.repeats})",
                         "ours": f"nengo {med['nengo']:.3f}",
                         "peer": f"numpy time-stepped {med['numpy']:.3f}",
                         "ratio": f"{med['ratio']:.2f}x the reference's time "
                                  f"({min(ratios):.2f}-{max(ratios):.2f})"})
        out[name] = {"steps": steps, **res}
    if args.json:
        cmd = f"python benchmarks/bench_nengo.py --steps {args.steps} --repeats {args.repeats}"
        Path(args.json).write_text(json.dumps({"command": cmd, "rows": rows, "runs": out},
                                              indent=2) + "\n")


def full(args):
    from neurolearn.backends import get
    from neurolearn.reference.trainer import train
    spec = load(SPECS["fa_digits"])
    epochs = args.epochs or spec.training.epochs
    t0, c0 = time.perf_counter(), time.process_time()
    a = get("nengo").run(spec, epochs=epochs, quiet=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    b = train(spec, epochs=epochs, quiet=True)
    print(f"fa_digits.toml, {epochs} epochs on nengo: test accuracy "
          f"{100 * a.test_accuracy:.2f} % (numpy batched {100 * b.test_accuracy:.2f} %), "
          f"{a.train_seconds:.0f} s training, {wall:.0f} s in all ({cpu:.0f} s of CPU: "
          "the machine is shared), "
          f"{a.extra['ms_per_step']:.3f} ms/step over {a.extra['steps']} steps; "
          f"max |W - W_numpy| {max(float(np.abs(x - y).max()) for x, y in zip(a.weights, b.weights)):.1e}")


def spiking_full(args):
    from neurolearn.backends import get
    from neurolearn.reference.simulator import run_time_stepped
    spec = load(SPECS["fa_digits_spiking"])
    t0 = time.perf_counter()
    a = get("nengo").run(spec, quiet=True)
    ta = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = run_time_stepped(spec, quiet=True)
    tb = time.perf_counter() - t0
    print(f"fa_digits_spiking.toml, {spec.training.epochs} epochs: nengo "
          f"{100 * a.test_accuracy:.2f} % ({ta:.0f} s), numpy reference "
          f"{100 * b.test_accuracy:.2f} % ({tb:.0f} s); per epoch nengo "
          + ", ".join(f"{100 * x:.1f}" for x in a.history["test_accuracy"]) + "; numpy "
          + ", ".join(f"{100 * x:.1f}" for x in b.history["test_accuracy"]))


def loihi(args):
    from neurolearn.backends import get
    from neurolearn.backends.nengo_loihi import lower
    from neurolearn.compare.stats import dw_correlation
    from neurolearn.reference.schedule import TEXTBOOK
    from neurolearn.reference.simulator import simulate
    from neurolearn.reference.trainer import train
    warnings.filterwarnings("ignore")
    spec = load(SPECS["fa_digits"])
    nl = get("nengo-loihi")
    prog = lower(spec)
    print("fa_digits.toml on nengo-loihi: error scales c = "
          + ", ".join(f"{c:.2f}" for c in prog.c) + "; decoded scales s = "
          + ", ".join(f"{s:.2f}" for s in prog.s) + "; PES learning rates "
          + ", ".join(f"{k:.3g}" for k in prog.kappa))
    steps = args.loihi_steps
    ref = {sch.name: simulate(spec, steps=steps, record_every=steps // 4, schedule=sch)
           for sch in (TEXTBOOK, prog.schedule)}
    traces = {}
    for variant in ("simreal", "sim"):
        tr = nl.simulate(spec, steps=steps, record_every=steps // 4, variant=variant)
        traces[variant] = tr
        fig = {k: v for k, v in tr.extra.items() if k in ("ms_per_step", "pes_wgt_exp",
                                                         "trace_increment",
                                                         "errors_clipped_fraction")}
        print(f"  {variant}, {steps} steps: {fig}")
    pairs = [("timing: reference[nengo-loihi] vs reference[textbook]",
              ref[prog.schedule.name], ref["textbook"]),
             ("architecture: simreal vs reference[nengo-loihi]", traces["simreal"],
              ref[prog.schedule.name]),
             ("precision: sim vs simreal", traces["sim"], traces["simreal"]),
             ("all: sim vs reference[textbook]", traces["sim"], ref["textbook"])]
    for label, a, b in pairs:
        print(f"  corr(dW) {label}: " + ", ".join(f"{k} {v:.3f}"
                                                 for k, v in dw_correlation(a, b).items()))
    from neurolearn.rules.catalog import catalog
    for row, cspec in catalog():
        try:
            cprog = lower(cspec)
        except Exception:
            continue
        b = simulate(cspec, steps=500, record_every=50, schedule=cprog.schedule)
        t = simulate(cspec, steps=500, record_every=50)
        for variant in ("simreal", "sim"):
            a = nl.simulate(cspec, steps=500, record_every=50, variant=variant)
            print(f"  catalog {row!r}, 500 steps, {variant}: corr(dW) vs reference"
                  "[nengo-loihi] " + ", ".join(f"{k} {v:.3f}" for k, v in
                                               dw_correlation(a, b).items())
                  + "; vs textbook " + ", ".join(f"{k} {v:.3f}" for k, v in
                                                 dw_correlation(a, t).items()))
        print(f"  catalog {row!r}: reference[nengo-loihi] vs textbook "
              + ", ".join(f"{k} {v:.3f}" for k, v in dw_correlation(b, t).items()))
    if args.loihi_epochs:
        t0 = time.perf_counter()
        r = nl.run(spec, epochs=args.loihi_epochs, quiet=True, variant=args.variant)
        b = train(spec, epochs=args.loihi_epochs, quiet=True)
        print(f"  run, {args.loihi_epochs} epoch(s), {args.variant}: test accuracy "
              + ", ".join(f"{100 * x:.1f}" for x in r.history["test_accuracy"])
              + f" % (numpy reference {100 * b.test_accuracy:.1f} %), "
              f"{time.perf_counter() - t0:.0f} s, {r.extra['ms_per_step']:.1f} ms/step, "
              f"errors clipped {100 * r.extra['errors_clipped_fraction']:.2f} %")


def loihi_delay(args):
    """The integer forward delay under which the reference's weight changes best match
    nengo-loihi's in float (the Schedule's forward_delay)."""
    from neurolearn.backends import get
    from neurolearn.compare.stats import dw_correlation
    from neurolearn.reference.schedule import Schedule
    from neurolearn.reference.simulator import simulate
    warnings.filterwarnings("ignore")
    spec = load(SPECS["fa_digits"])
    steps = args.loihi_steps
    a = get("nengo-loihi").simulate(spec, steps=steps, record_every=steps // 4,
                                    variant="simreal")
    for d in range(2, 9):
        b = simulate(spec, steps=steps, record_every=steps // 4,
                     schedule=Schedule("fit", forward_delay=d, apply="step"))
        corr = dw_correlation(a, b)
        print(f"  forward delay {d}: corr(dW) " + ", ".join(f"{k} {v:.3f}"
                                                         for k, v in corr.items())
              + f", mean {np.mean(list(corr.values())):.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None, help="write the speed rows for run_all.py")
    ap.add_argument("--quick", action="store_true", help="short runs (smoke check)")
    ap.add_argument("--full", action="store_true", help="fa_digits.toml trained on nengo")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--spiking-full", action="store_true")
    ap.add_argument("--loihi", action="store_true")
    ap.add_argument("--loihi-steps", type=int, default=2000)
    ap.add_argument("--loihi-epochs", type=int, default=0)
    ap.add_argument("--variant", default="sim")
    ap.add_argument("--loihi-delay", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.repeats = 500, 1
    if args.full:
        return full(args)
    if args.spiking_full:
        return spiking_full(args)
    if args.loihi:
        return loihi(args)
    if args.loihi_delay:
        return loihi_delay(args)
    speed(args)


if __name__ == "__main__":
    main()
