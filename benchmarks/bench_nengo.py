"""Speed of the Nengo backends: simulated seconds per wall second.

Side by side in one run, on the same neurons (an Identity input layer, Sigmoid
hidden and output Ensembles driven on .neurons, dt = 1 ms):

- ``compiled FA``: the nengo backend's compiled network (SumOfProducts rule on both
  projections, one SimPostFactors operator) on nengo.Simulator;
- ``stock PES``: a stock nengo network of the same ensembles and connections that
  learns with nengo.PES only (output error from a Node, fed to the output layer's PES
  and through a fixed random matrix to the hidden layer's PES: feedback alignment
  made of stock parts, without f');
- ``emulator FA``: the nengo-loihi backend's PES composition on nengo-loihi's
  emulator (target 'sim'), same sizes.

With ``--fidelity`` it prints the statistical-tier figures instead: the nengo-loihi
emulator (target 'sim'), the same composition in float (target 'simreal') and the
same network with frozen hidden weights, against the NumPy reference under Nengo's
schedule (windowed error ratio, weight-change correlation, rate-network loss of the
learned weights), and spiking nengo.Simulator (SpikingRectifiedLinear, 400 Hz per
unit) against the rate reference.

Usage: .venv/bin/python benchmarks/bench_nengo.py [--sizes 64,100,10] [--steps 5000]
       .venv/bin/python benchmarks/bench_nengo.py --fidelity
"""

from __future__ import annotations

import argparse
import time
import warnings

import nengo
import numpy as np

from neurolearn.backends.nengo.model import build, stream_nodes
from neurolearn.backends.nengo.neurons import Identity
from neurolearn.reference.params import init_params
from neurolearn.rules.ir import Feedback, Init, Layer, Network, Neuron, Rule, Simulation, Spec


def make_spec(sizes):
    layers = [Layer("input", sizes[0])] + \
        [Layer(f"h{i}", n, Neuron("sigmoid")) for i, n in enumerate(sizes[1:-1], 1)] + \
        [Layer("output", sizes[-1], Neuron("sigmoid"))]
    return Spec(name="bench", network=Network(layers=layers, feedback=Feedback("random"),
                                              init=Init("uniform", 0.3)),
                rule=Rule(builtin="delta", eta=0.001), simulation=Simulation(t_example=0.1))


def data(sizes, n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, sizes[0])), rng.uniform(0, 1, (n, sizes[-1]))


def timed(sim, steps, warmup=100):
    with sim:
        sim.run_steps(warmup)
        t0 = time.perf_counter()
        sim.run_steps(steps)
        return steps * sim.dt / (time.perf_counter() - t0)


def compiled_fa(spec, x, y, steps):
    params = init_params(spec.network, 0)
    return build(spec, params, x, y, steps + 200, 0).sim


def stock_pes(spec, x, y, steps):
    sizes = spec.network.sizes
    params = init_params(spec.network, 0)
    L = len(sizes) - 1
    with nengo.Network(seed=0) as net:
        inp, tgt = stream_nodes(x, y, spec.simulation, steps + 200, 0)
        src = nengo.Ensemble(sizes[0], 1, neuron_type=Identity(), gain=np.ones(sizes[0]),
                             bias=np.zeros(sizes[0]))
        nengo.Connection(inp, src.neurons, synapse=None)
        # n-dimensional ensembles with identity encoders: PES's local error is the
        # error per neuron
        ens = [nengo.Ensemble(n, n, neuron_type=nengo.Sigmoid(tau_ref=1.0), encoders=np.eye(n),
                              gain=np.ones(n), bias=np.zeros(n)) for n in sizes[1:]]
        prev, conns = src.neurons, []
        for l in range(L):
            conns.append(nengo.Connection(prev, ens[l].neurons, transform=params.W[l],
                                          synapse=None,
                                          learning_rule_type=nengo.PES(1e-3, pre_synapse=None)))
            prev = ens[l].neurons
        err = nengo.Node(size_in=sizes[-1])
        nengo.Connection(ens[-1].neurons, err, synapse=None)
        nengo.Connection(tgt, err, transform=-1, synapse=None)
        nengo.Connection(err, conns[-1].learning_rule, synapse=None)
        for l in range(L - 1):
            nengo.Connection(err, conns[l].learning_rule, transform=-params.B[l + 1],
                             synapse=None)
    return nengo.Simulator(net, progress_bar=False)


def emulator_fa(spec, x, y, steps):
    from neurolearn.backends.nengo_loihi import Runner
    warnings.filterwarnings("ignore")
    return Runner(spec, x, y, steps + 200, 0).sim


def fidelity():
    """Figures of the statistical tier, on the tasks of the test suite."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import test_nengo_loihi as tl
    import test_nengo_simulator as ts
    from neurolearn.backends import nengo as nb
    from neurolearn.backends import nengo_loihi as nl
    from neurolearn.backends.nengo.stats import dw_correlation, windowed_error
    from neurolearn.reference.schedules import nengo as ref
    from neurolearn.reference.stream import input_stream, steps_per_example
    warnings.filterwarnings("ignore")
    ds, steps = tl.teacher_task(), 20_000
    spec = tl.fa_spec()
    _, Y = input_stream(ds.x_train, ds.y_train, spec.simulation, steps, 0)
    k = steps_per_example(spec.simulation)
    b = ref.simulate(spec, steps=steps, record_every=steps // 2, dataset=ds)
    p0 = init_params(spec.network, 0)
    eb = windowed_error(b, Y, k)
    print(f"FA 6-16-3 sigmoid, eta {spec.rule.eta}, {steps} steps, t_example "
          f"{spec.simulation.t_example} s; reference windowed error {eb:.4f}, rate loss "
          f"{tl.rate_loss([b.weights['hidden'][-1], b.weights['output'][-1]], ds):.4f} "
          f"(initial {tl.rate_loss(p0.W, ds):.4f})")
    for label, opts in [("emulator (sim)", {}), ("float (simreal)", {"target": "simreal"}),
                        ("emulator, hidden frozen", {"frozen": (1,)}),
                        ("simreal, hidden frozen", {"target": "simreal", "frozen": (1,)})]:
        t0 = time.perf_counter()
        a = nl.simulate(spec, steps=steps, record_every=steps // 2, dataset=ds, **opts)
        wall = time.perf_counter() - t0
        W = [a.weights["hidden"][-1] if "hidden" in a.weights else p0.W[0],
             a.weights["output"][-1]]
        corr = dw_correlation(a, b)
        print(f"  {label:26s} windowed error {windowed_error(a, Y, k):.4f} "
              f"(ratio to reference {windowed_error(a, Y, k) / eb:5.2f}), rate loss "
              f"{tl.rate_loss(W, ds):.4f}, corr(dW) "
              + ", ".join(f"{n} {c:.3f}" for n, c in corr.items())
              + f", wgt_exp {a.extra['pes_wgt_exp']}, {wall:.0f} s")
    spec, ds = ts.spiking_case()
    steps = 10_000
    a = nb.simulate(spec, steps=steps, record_every=100, dataset=ds, spiking=True, rate=400)
    b = ref.simulate(spec, steps=steps, record_every=100, dataset=ds)
    _, Y = input_stream(ds.x_train, ds.y_train, spec.simulation, steps, 0)
    k = steps_per_example(spec.simulation)
    print(f"spiking relu FA 6-16-3 on nengo.Simulator, 400 Hz per unit, {steps} steps: "
          f"windowed error ratio {windowed_error(a, Y, k) / windowed_error(b, Y, k):.3f}, "
          f"corr(dW) " + ", ".join(f"{n} {c:.4f}" for n, c in dw_correlation(a, b).items()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="64,100,10")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--emulator-steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fidelity", action="store_true", help="statistical-tier figures")
    ap.add_argument("--json", default=None, help="write the speed rows for run_all.py")
    ap.add_argument("--quick", action="store_true", help="short runs (smoke check)")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.emulator_steps, args.repeats = 500, 200, 1
    if args.fidelity:
        return fidelity()
    sizes = [int(s) for s in args.sizes.split(",")]
    spec = make_spec(sizes)
    x, y = data(sizes)
    rows = {"compiled FA (nengo.Simulator)": [], "stock PES (nengo.Simulator)": []}
    for _ in range(args.repeats):  # interleaved, so machine load hits both alike
        rows["compiled FA (nengo.Simulator)"].append(
            timed(compiled_fa(spec, x, y, args.steps), args.steps))
        rows["stock PES (nengo.Simulator)"].append(
            timed(stock_pes(spec, x, y, args.steps), args.steps))
    from neurolearn.errors import UnsupportedRule
    print(f"sizes {sizes}, dt 1 ms; simulated s per wall s (median of {args.repeats})")
    try:
        rows["emulator FA (nengo-loihi, target sim)"] = [
            timed(emulator_fa(spec, x, y, args.emulator_steps), args.emulator_steps)]
    except UnsupportedRule as err:
        print(f"  emulator FA refused: {err}")
    med = {k: float(np.median(v)) for k, v in rows.items()}
    for k, v in med.items():
        print(f"  {k:40s} {v:8.2f}   runs: {', '.join(f'{r:.2f}' for r in rows[k])}")
    ratio = med["compiled FA (nengo.Simulator)"] / med["stock PES (nengo.Simulator)"]
    print(f"  compiled FA / stock PES: {ratio:.2f}x (goal >= 1.0)")
    if args.json:
        import json
        cmd = (f"python benchmarks/bench_nengo.py --sizes {args.sizes} --steps {args.steps} "
               f"--repeats {args.repeats}")
        out = [{"what": f"Nengo FA {args.sizes}, simulated s per wall s",
                "ours": f"compiled FA {med['compiled FA (nengo.Simulator)']:.2f}",
                "peer": f"stock PES {med['stock PES (nengo.Simulator)']:.2f}",
                "ratio": f"{ratio:.2f}x as fast"}]
        emu = med.get("emulator FA (nengo-loihi, target sim)")
        if emu is not None:
            out.append({"what": f"nengo-loihi emulator FA {args.sizes}, simulated s per "
                                "wall s", "ours": f"{emu:.2f}", "peer": "-", "ratio": "-"})
        with open(args.json, "w") as fh:
            json.dump({"command": cmd, "rows": out}, fh, indent=2)


if __name__ == "__main__":
    main()
