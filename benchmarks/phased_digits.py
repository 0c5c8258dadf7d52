"""Digits table of the phased rules (issue 15): each rule's example spec, the same
network with its hidden layer frozen, and backprop on 64-128-10 (tanh/sigmoid) at
the same budget (eta 0.1, batch 4, 20 epochs), per seed.

    .venv/bin/python benchmarks/phased_digits.py --seeds 0 1 2 --out benchmarks/results/phased_digits.json

Prints a markdown table; with --out writes every run's accuracy, final alignment
angle and, for the weight mirror, the angle between B and W^T. With --curve PNG it
draws segregated dendrites' test-accuracy curve against its frozen control.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurolearn.rules import load  # noqa: E402
from neurolearn.rules.ir import (Data, Feedback, Layer, Network, Rule, Spec,  # noqa: E402
                                 Training)
from neurolearn.rules.neurons import Neuron  # noqa: E402

RULES = ["segregated_dendrites", "equilibrium_propagation", "predictive_coding",
         "weight_mirror"]


def rule_spec(rule: str, seed: int, frozen: bool = False, dataset: str = "digits"):
    spec = load(ROOT / "examples" / "specs" / f"{rule}_{dataset}.toml")
    layers = list(spec.network.layers)
    if frozen:
        layers[1:-1] = [replace(layer, plastic=False) for layer in layers[1:-1]]
    return spec.with_(network=replace(spec.network, layers=layers),
                      training=replace(spec.training, seed=seed))


def bp_spec(seed: int):
    """Backprop on the table's network: 64-128-10, tanh hidden, sigmoid output."""
    return Spec("bp_digits_64_128_10",
                Network([Layer("input", 64), Layer("h1", 128, Neuron("tanh")),
                         Layer("output", 10, Neuron("sigmoid"))], Feedback("transport")),
                Rule(builtin="delta", eta=0.1), Data("digits"),
                Training(epochs=20, batch_size=4, seed=seed))


def measure(spec) -> dict:
    from neurolearn.backends.numpy import run
    from neurolearn.reference.signatures import mirror_angle
    t0 = time.perf_counter()
    res = run(spec, quiet=True)
    out = {"accuracy": res.test_accuracy, "seconds": round(time.perf_counter() - t0, 1),
           "alignment_deg": res.alignment_angle_deg,
           "curve": res.history["test_accuracy"]}
    params = res.state.params
    if params.B and spec.network.feedback.rule is not None:
        out["mirror_angle_deg"] = mirror_angle(params, 1)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--rules", nargs="+", default=RULES, choices=RULES)
    ap.add_argument("--out", default=None, help="write the results as JSON")
    ap.add_argument("--curve", default=None, help="PNG of segregated dendrites' curve")
    args = ap.parse_args(argv)
    results = {}
    for seed in args.seeds:
        results[f"bp/{seed}"] = measure(bp_spec(seed))
        for rule in args.rules:
            results[f"{rule}/{seed}"] = measure(rule_spec(rule, seed))
            results[f"{rule}_frozen/{seed}"] = measure(rule_spec(rule, seed, frozen=True))
            print(f"seed {seed} {rule}: {results[f'{rule}/{seed}']['accuracy']:.4f} "
                  f"(frozen {results[f'{rule}_frozen/{seed}']['accuracy']:.4f}, bp "
                  f"{results[f'bp/{seed}']['accuracy']:.4f})", file=sys.stderr)
    print(table(results, args.rules, args.seeds))
    if args.out:
        from neurolearn.outputs import write_atomic
        write_atomic(args.out, json.dumps(results, indent=1) + "\n", option="--out")
    if args.curve:
        draw_curve(results, args.seeds[0], args.curve)
    return 0


def table(results, rules, seeds) -> str:
    head = ("| rule | " + " | ".join(f"seed {s}" for s in seeds) +
            " | frozen hidden: final (best epoch) | BP minus rule (points) |")
    lines = [head, "|---" * (len(seeds) + 3) + "|"]
    bp = [results[f"bp/{s}"]["accuracy"] for s in seeds]
    lines.append("| backprop (64-128-10 tanh/sigmoid) | " +
                 " | ".join(f"{100 * a:.2f}" for a in bp) + " | | |")
    for rule in rules:
        acc = [results[f"{rule}/{s}"]["accuracy"] for s in seeds]
        fro = [results[f"{rule}_frozen/{s}"] for s in seeds]
        gaps = [100 * (b - a) for a, b in zip(acc, bp)]
        lines.append(f"| {rule} | " + " | ".join(f"{100 * a:.2f}" for a in acc) +
                     " | " + ", ".join(f"{100 * f['accuracy']:.2f} "
                                       f"({100 * max(f['curve'][1:]):.2f})" for f in fro)
                     + " | " + ", ".join(f"{g:+.2f}" for g in gaps) + " |")
    return "\n".join(lines)


def draw_curve(results, seed, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for key, label in (("segregated_dendrites", "segregated dendrites"),
                       ("segregated_dendrites_frozen", "frozen hidden layer"),
                       ("bp", "backprop (tanh/sigmoid)")):
        curve = results[f"{key}/{seed}"]["curve"]
        ax.plot(range(len(curve)), [100 * a for a in curve], label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"digits 64-128-10, seed {seed}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
