"""Seconds per epoch of batched FA on Fashion-MNIST 784-1000-10 (batch 32): the
neurolearn NumPy reference and a PyTorch CPU peer, in the same run.

    .venv/bin/python benchmarks/bench_fa_fashion_mnist.py [--epochs 1] [--threads 2]

The peer (benchmarks/peers/torch_fa.py) runs in its own Python 3.11 environment,
because torch 2.13.0's CPU build exists only for 3.11; it is created on first use
at benchmarks/.venv-torch (pip install torch==2.13.0). Both sides start from the
same weights and use the same batch order; the peer is timed in float64 (the
reference's precision) and float32 (PyTorch's default). Results go to
benchmarks/results/fa_fashion_mnist.json; ratios are peer seconds / ours.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from neurolearn.data import load_dataset  # noqa: E402
from neurolearn.reference import init_params, train  # noqa: E402
from neurolearn.rules import load  # noqa: E402

TORCH_ENV = HERE / ".venv-torch"


def torch_python() -> Path:
    py = TORCH_ENV / "bin" / "python"
    if not py.exists():
        base = None
        for c in ["python3.11", *sorted(Path.home().glob(".pyenv/versions/3.11*/bin/python3.11")),
                  *sorted(Path("/root/.pyenv/versions").glob("3.11*/bin/python3.11"))]:
            if subprocess.run([str(c), "--version"], capture_output=True).returncode == 0:
                base = str(c)
                break
        if base is None:
            sys.exit("bench: the PyTorch peer needs Python 3.11 (torch 2.13.0 CPU); none found")
        subprocess.run([base, "-m", "venv", str(TORCH_ENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0", "numpy<2"],
                       check=True)
    return py


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--spec", default=str(ROOT / "examples/specs/fa_fashion_mnist.toml"))
    args = ap.parse_args()
    spec = load(args.spec)
    t = spec.training
    ds = load_dataset(spec.data, t.seed)
    params = init_params(spec.network, t.seed)
    rng = np.random.default_rng([t.seed, 1])  # the trainer's batch-order stream
    orders = np.stack([rng.permutation(len(ds.x_train)) for _ in range(args.epochs)])

    ours = train(spec, dataset=ds, epochs=args.epochs, quiet=True)
    ours_spe = ours.train_seconds / args.epochs

    py = torch_python()
    peers = {}
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in ("float64", "float32"):
            npz = Path(tmp) / f"init_{dtype}.npz"
            np.savez(npz, x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test,
                     y_test=ds.y_test, W1=params.W[0], W2=params.W[1], b1=params.b[0],
                     b2=params.b[1], B1=params.B[1], eta=spec.rule.eta, momentum=t.momentum,
                     batch_size=t.batch_size, orders=orders, dtype=dtype,
                     loss=t.loss, lr_decay=t.lr_decay,
                     hidden=spec.network.layers[1].neuron.model)
            out = subprocess.run([str(py), str(HERE / "peers" / "torch_fa.py"), str(npz),
                                  str(args.epochs), str(args.threads)],
                                 capture_output=True, text=True, check=True)
            peers[dtype] = json.loads(out.stdout.strip().splitlines()[-1])
    result = {
        "benchmark": "batched FA, Fashion-MNIST 784-1000-10, batch 32, seconds per epoch",
        "command": "python benchmarks/bench_fa_fashion_mnist.py --epochs "
                   f"{args.epochs} --threads {args.threads}",
        "epochs": args.epochs,
        "neurolearn_numpy": {"seconds_per_epoch": ours_spe,
                             "test_accuracy": ours.test_accuracy, "dtype": "float64"},
        "pytorch": peers,
        "speedup_vs_torch_float64": peers["float64"]["seconds_per_epoch"] / ours_spe,
        "speedup_vs_torch_float32": peers["float32"]["seconds_per_epoch"] / ours_spe,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "fa_fashion_mnist.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
