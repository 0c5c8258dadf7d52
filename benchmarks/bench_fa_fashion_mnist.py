"""Seconds per epoch of batched FA on Fashion-MNIST 784-1000-10 (batch 32): the
neurolearn NumPy reference in float64 and float32 and a PyTorch CPU peer in float64
and float32, in the same run, repeated.

    .venv/bin/python benchmarks/bench_fa_fashion_mnist.py [--epochs 1] [--repeats 5]
        [--threads 2]

Every measurement runs in its own child process with the same thread count for BLAS
and PyTorch (``--threads``, default: the machine's cores); the order of the four
runs rotates from repeat to repeat. The peer (benchmarks/peers/torch_fa.py) runs in
its own Python 3.11 environment, because torch 2.13.0's CPU build exists only for
3.11; it is created on first use at benchmarks/.venv-torch (pip install
torch==2.13.0). Both sides start from the same weights and see the same batches
(the stream's example order, neurolearn.reference.stream.example_order), with the
same loss, momentum and lr_decay. Reported: each run's median, min and max over the
repeats; the ratios peer / ours per repeat (median, min, max), float32 against
float32 and float64 against float64; and the FLOP count of an epoch (forward and
weight-gradient GEMMs, 2 n S each) against our seconds. Results:
benchmarks/results/fa_fashion_mnist.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

TORCH_ENV = HERE / ".venv-torch"
SPEC = ROOT / "examples/specs/fa_fashion_mnist.toml"
RUNS = ("ours float64", "ours float32", "pytorch float64", "pytorch float32")
# the yardstick: the epoch's GEMM work on 2 cores takes about 1.5 s (float64),
# so float32 at 2x that limit is about 3 s
TARGET_FLOAT32_S = 3.0


def torch_python() -> Path:
    py = TORCH_ENV / "bin" / "python"
    if not py.exists():
        base = None
        for c in ["python3.11", *sorted(Path.home().glob(".pyenv/versions/3.11*/bin/python3.11")),
                  *sorted(Path("/root/.pyenv/versions").glob("3.11*/bin/python3.11"))]:
            try:
                ok = subprocess.run([str(c), "--version"], capture_output=True).returncode == 0
            except OSError:
                ok = False
            if ok:
                base = str(c)
                break
        if base is None:
            sys.exit("bench: the PyTorch peer needs Python 3.11 (torch 2.13.0 CPU); none found")
        subprocess.run([base, "-m", "venv", str(TORCH_ENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0", "numpy<2"],
                       check=True)
    return py


def _env(threads: int) -> dict:
    return {**os.environ, **{k: str(threads) for k in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}


def ours_child(dtype: str, epochs: int) -> dict:
    from neurolearn.data import load_dataset
    from neurolearn.reference import train
    from neurolearn.rules import load
    spec = load(SPEC)
    spec = spec.with_(training=type(spec.training)(**{**vars(spec.training), "dtype": dtype}))
    ds = load_dataset(spec.data, spec.training.seed)
    r = train(spec, dataset=ds, epochs=epochs, quiet=True)
    return {"seconds_per_epoch": r.train_seconds / epochs, "test_accuracy": r.test_accuracy,
            "dtype": dtype}


def flops_per_epoch(spec, n: int) -> float:
    sizes = spec.network.sizes
    s = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2 * 2 * n * s  # forward and weight-gradient GEMMs


def _stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "all": xs}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", default=str(HERE / "results" / "fa_fashion_mnist.json"))
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(ours_child(args.child, args.epochs)))
        return
    from neurolearn.data import load_dataset
    from neurolearn.reference import init_params
    from neurolearn.reference.stream import example_order
    from neurolearn.rules import load
    spec = load(SPEC)
    t = spec.training
    ds = load_dataset(spec.data, t.seed)
    params = init_params(spec.network, t.seed)
    n = len(ds.x_train)
    orders = example_order(n, args.epochs * n, t.seed).reshape(args.epochs, n)
    py = torch_python()
    load_start = os.getloadavg()  # a shared machine: the load beside the figures
    runs = {k: [] for k in RUNS}
    with tempfile.TemporaryDirectory() as tmp:
        npz = {}
        for dtype in ("float64", "float32"):
            npz[dtype] = Path(tmp) / f"init_{dtype}.npz"
            np.savez(npz[dtype], x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test,
                     y_test=ds.y_test, W1=params.W[0], W2=params.W[1], b1=params.b[0],
                     b2=params.b[1], B1=params.B[1], eta=spec.rule.eta, momentum=t.momentum,
                     batch_size=t.batch_size, orders=orders, dtype=dtype,
                     loss=t.loss, lr_decay=t.lr_decay,
                     hidden=spec.network.layers[1].neuron.model)
        for rep in range(args.repeats):
            order = RUNS[rep % len(RUNS):] + RUNS[:rep % len(RUNS)]
            for run in order:
                who, dtype = run.split()
                if who == "ours":
                    cmd = [sys.executable, __file__, "--child", dtype, "--epochs",
                           str(args.epochs)]
                else:
                    cmd = [str(py), str(HERE / "peers" / "torch_fa.py"), str(npz[dtype]),
                           str(args.epochs), str(args.threads)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                     env=_env(args.threads), cwd=ROOT)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                runs[run].append(r)
                print(f"repeat {rep + 1} {run}: {r['seconds_per_epoch']:.2f} s/epoch, "
                      f"test accuracy {r['test_accuracy']:.4f}", flush=True)
    spe = {k: [r["seconds_per_epoch"] for r in v] for k, v in runs.items()}
    ratios = {dtype: _stats([p / o for p, o in zip(spe[f"pytorch {dtype}"],
                                                   spe[f"ours {dtype}"])])
              for dtype in ("float64", "float32")}
    flops = flops_per_epoch(spec, n)
    ours32 = statistics.median(spe["ours float32"])
    result = {
        "benchmark": "batched FA, Fashion-MNIST 784-1000-10, batch 32, seconds per epoch",
        "command": f"python benchmarks/bench_fa_fashion_mnist.py --epochs {args.epochs} "
                   f"--repeats {args.repeats} --threads {args.threads}",
        "epochs": args.epochs, "repeats": args.repeats, "threads": args.threads,
        "seconds_per_epoch": {k: _stats(v) for k, v in spe.items()},
        "test_accuracy": {k: [r["test_accuracy"] for r in v] for k, v in runs.items()},
        "peer_over_ours": ratios,
        "flop_per_epoch": flops,
        "gflop_per_s": {k: flops / statistics.median(v) / 1e9 for k, v in spe.items()},
        "targets": {"float32 s/epoch at most": TARGET_FLOAT32_S,
                    "float32 met": ours32 <= TARGET_FLOAT32_S,
                    "pytorch float32 / ours float32 at least": 10.0,
                    "ratio met": ratios["float32"]["median"] >= 10.0},
        "load_average_1_5_15min": {"start": load_start, "end": os.getloadavg()},
        "runs": runs,
    }
    path = Path(args.json)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, path)
    for k, v in result["seconds_per_epoch"].items():
        print(f"{k:16s} median {v['median']:.2f} s/epoch [{v['min']:.2f}, {v['max']:.2f}]")
    for dtype, r in ratios.items():
        print(f"pytorch / ours {dtype}: median {r['median']:.2f}x [{r['min']:.2f}, {r['max']:.2f}]")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
