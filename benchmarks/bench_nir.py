"""A second, independent NIR reader: snnTorch runs neurolearn's NIR export of a
trained spiking network on the digits test set, beside neurolearn's own figures.

    .venv/bin/python benchmarks/bench_nir.py --checkpoint DIR
    .venv/bin/python benchmarks/bench_nir.py --train DIR     # train fa_digits_spiking first

DIR is a checkpoint of examples/specs/fa_digits_spiking.toml (``neurolearn run
examples/specs/fa_digits_spiking.toml --save DIR``). The reader
(benchmarks/peers/snntorch_nir.py) runs in its own Python 3.11 environment, created
on first use at benchmarks/.venv-nir (torch 2.13.0 CPU, snntorch 1.0.0, nir 1.0.8,
nirtorch 2.6; the versions are pinned here), and imports nothing of neurolearn: it
reads the .nir file with nir.read and builds the network with
snntorch.import_nir.import_from_nir. Results go to benchmarks/results/nir.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import neurolearn  # noqa: E402
from neurolearn.data import load_dataset  # noqa: E402
from neurolearn.deploy.nirgraph import export  # noqa: E402

NIR_ENV = HERE / ".venv-nir"
PINS = ["torch==2.13.0", "numpy<2", "snntorch==1.0.0", "nir==1.0.8", "nirtorch==2.6"]


def reader_python() -> Path:
    py = NIR_ENV / "bin" / "python"
    if not py.exists():
        base = None
        for c in ["python3.11", *sorted(Path.home().glob(".pyenv/versions/3.11*/bin/python3.11")),
                  *sorted(Path("/root/.pyenv/versions").glob("3.11*/bin/python3.11"))]:
            if subprocess.run([str(c), "--version"], capture_output=True).returncode == 0:
                base = str(c)
                break
        if base is None:
            sys.exit("bench: the snnTorch reader needs Python 3.11 (torch 2.13.0 CPU); none found")
        subprocess.run([base, "-m", "venv", str(NIR_ENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PINS[:2]], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PINS[2:]], check=True)
    return py


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--checkpoint", metavar="DIR")
    g.add_argument("--train", metavar="DIR", help="train fa_digits_spiking into DIR first")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    ck = args.checkpoint
    if args.train:
        neurolearn.run(ROOT / "examples/specs/fa_digits_spiking.toml", save=args.train)
        ck = args.train
    net = neurolearn.load(ck)
    ds = load_dataset(net.spec.data, net.spec.training.seed)
    py = reader_python()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.nir"
        rep = export(net, path, dataset=ds)
        rows["neurolearn reference (with refractory period)"] = rep["accuracy_with_refractory"]
        rows["neurolearn reference, refractory period dropped (what NIR says)"] = \
            rep["accuracy_without_refractory"]
        data = Path(tmp) / "test.npz"
        sim = net.spec.simulation
        np.savez(data, x_test=ds.x_test, y_test=ds.y_test, max_rate=sim.max_rate,
                 t_example=sim.t_example)
        peer = {}
        for area in ("unit", "snntorch"):
            out = subprocess.run([str(py), str(HERE / "peers" / "snntorch_nir.py"), str(path),
                                  str(data), "--spike-area", area, "--threads",
                                  str(args.threads)], capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"bench: the snnTorch reader failed:\n{out.stderr[-3000:]}")
            peer[area] = json.loads(out.stdout.strip().splitlines()[-1])
        rows["snnTorch import_from_nir, spikes of unit area (NIR)"] = \
            peer["unit"]["test_accuracy"]
        rows["snnTorch import_from_nir, its own spike convention (area 1e-4 s)"] = \
            peer["snntorch"]["test_accuracy"]
    ref = rows["neurolearn reference (with refractory period)"]
    result = {"checkpoint": str(ck), "trained_epochs": net.epoch, "test_images": len(ds.x_test),
              "accuracy": rows, "reader": peer, "pins": PINS,
              "gap_points_snntorch_vs_reference":
                  100 * (peer["unit"]["test_accuracy"] - ref)}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "nir.json").write_text(json.dumps(result, indent=2) + "\n")
    for name, acc in rows.items():
        print(f"{100 * acc:6.2f} %  {name}")
    print(f"snnTorch - neurolearn: {result['gap_points_snntorch_vs_reference']:+.2f} points")


if __name__ == "__main__":
    main()
