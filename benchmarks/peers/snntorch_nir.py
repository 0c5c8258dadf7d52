"""Independent NIR reader: snnTorch's import_from_nir runs a neurolearn export.

Run by benchmarks/bench_nir.py in its own Python 3.11 environment (torch 2.13.0 CPU,
snntorch 1.0.0, nir 1.0.8, nirtorch 2.6). Reads the .nir file with nir.read, builds
the network with snntorch.import_nir.import_from_nir and nothing of neurolearn, and
classifies the test images of an .npz (x_test, y_test, max_rate, t_example) by the
output layer's spike counts. Prints one JSON line.

Two conventions of snnTorch 1.0.0's reader, read from its source: it simulates at a
fixed step dt0 = 1e-4 s (alpha = 1 - dt0/tau_syn, beta = 1 - dt0/tau_mem, and it
requires R = tau_mem/dt0), and a spike is a sample of amplitude 1 over that step
(area dt0), where NIR's equations take spikes as Dirac deltas of unit area. With
``--spike-area unit`` (the default) every spike tensor entering a projection is
given amplitude 1/dt0 (the input here, the hidden layers' spikes by a forward hook),
which is NIR's unit area on snnTorch's grid; ``--spike-area snntorch`` leaves
snnTorch's own convention in place, to show what it does to the graph.
"""

import argparse
import json
import time

import numpy as np
import nir
import torch
from snntorch.import_nir import import_from_nir

DT0 = 1e-4  # snnTorch 1.0.0's import_nir hard-codes dt = 1e-4


def regular_code(x, max_rate, steps, dt):
    """Regular rate code: a phase accumulator per input, spike when it reaches 1."""
    phase = np.zeros_like(x)
    out = np.zeros((steps,) + x.shape, dtype=np.float32)
    for t in range(steps):
        phase += x * max_rate * dt
        fire = phase >= 1.0
        out[t][fire] = 1.0
        phase[fire] -= 1.0
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nir_file")
    ap.add_argument("data_npz")
    ap.add_argument("--spike-area", choices=["unit", "snntorch"], default="unit")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d = np.load(args.data_npz)
    x, y = d["x_test"], d["y_test"]
    max_rate, t_example = float(d["max_rate"]), float(d["t_example"])
    graph = nir.read(args.nir_file)
    net = import_from_nir(graph)
    scale = 1.0 / DT0 if args.spike_area == "unit" else 1.0
    counts = {}
    spiking = [(n, m) for n, m in net.named_modules() if type(m).__name__ == "Synaptic"]

    def hook(name):
        def f(module, inputs, out):
            spk = out[0] if isinstance(out, tuple) else out
            counts[name] = counts.get(name, 0) + spk.detach()  # (examples, neurons)
            return spk * scale
        return f
    for name, m in spiking:
        m.register_forward_hook(hook(name))
    steps = int(round(t_example / DT0))
    spikes = regular_code(x, max_rate, steps, DT0) * scale
    t0 = time.perf_counter()
    with torch.no_grad():
        for t in range(steps):
            net(torch.from_numpy(spikes[t]))
    seconds = time.perf_counter() - t0
    out = counts[spiking[-1][0]].numpy()
    acc = float(np.mean(out.argmax(1) == y.argmax(1)))
    print(json.dumps({"test_accuracy": acc, "steps": steps, "dt": DT0,
                      "spike_area": args.spike_area, "seconds": seconds,
                      "spikes_per_example": {n: float(c.sum() / len(x))
                                             for n, c in counts.items()}}))


if __name__ == "__main__":
    main()
