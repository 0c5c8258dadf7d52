"""Training on a data set with a Nengo simulator: one example per t_example.

The learned weights are read from the built model after each epoch and evaluated
with the neurons' own rate curves (``NeuronType.rates``), so spiking runs are scored
by the rate network their weights define (no spike noise in the test figures).
"""

from __future__ import annotations

import time

import numpy as np

from ...progress import Progress
from ...reference.params import init_params
from ...reference.stream import steps_per_example
from ...result import RunResult
from ...rules.compat import check_data_fits


def forward_rates(layers, weights, x, loss):
    h = x
    for l, ln in enumerate(layers, start=1):
        a = h @ weights[l].T
        if loss == "cross_entropy" and l == len(layers):
            z = np.exp(a - a.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)
        h = np.asarray(ln.neuron_type.rates(a, np.full(a.shape[1], ln.gain),
                                            np.full(a.shape[1], ln.bias)))
    return h


def evaluate(layers, weights, x, y, loss, classification):
    y_hat = forward_rates(layers, weights, x, loss)
    if loss == "cross_entropy":
        lv = float(-np.mean(np.sum(y * np.log(np.clip(y_hat, 1e-300, None)), axis=1)))
    else:
        lv = float(np.mean((y_hat - y) ** 2))
    acc = None
    if classification:
        acc = float(np.mean((y_hat[:, 0] > 0.5) == (y[:, 0] > 0.5))) if y.shape[1] == 1 \
            else float(np.mean(y_hat.argmax(1) == y.argmax(1)))
    return lv, acc


def train(spec, *, backend, epochs=None, quiet=None, dataset=None, build_fn=None,
          weights_fn=None, **options) -> RunResult:
    from ...data import load_dataset
    from .model import build, learned_weights
    build_fn = build_fn or build
    weights_fn = weights_fn or learned_weights
    t = spec.training
    ds = dataset if dataset is not None else load_dataset(spec.data, t.seed)
    check_data_fits(spec, ds)
    epochs = epochs or t.epochs
    params = init_params(spec.network, t.seed)
    per_epoch = len(ds.x_train) * steps_per_example(spec.simulation)
    built = build_fn(spec, params, ds.x_train, ds.y_train, epochs * per_epoch, t.seed,
                     **options)
    hist = {"epoch": [], "test_loss": [], "test_accuracy": [], "train_loss": [],
            "train_accuracy": []}

    def record(ep, W):
        tr = evaluate(built.layers, W, ds.x_train, ds.y_train, t.loss, ds.classification)
        te = evaluate(built.layers, W, ds.x_test, ds.y_test, t.loss, ds.classification)
        hist["epoch"].append(ep)
        hist["train_loss"].append(tr[0])
        hist["train_accuracy"].append(tr[1])
        hist["test_loss"].append(te[0])
        hist["test_accuracy"].append(te[1])
        return te

    W = {l + 1: w for l, w in enumerate(params.W)}
    record(0, W)
    seconds = 0.0
    with built.sim, Progress(epochs, f"{spec.name} {backend}", quiet) as bar:
        for ep in range(1, epochs + 1):
            t0 = time.perf_counter()
            built.sim.run_steps(per_epoch)
            seconds += time.perf_counter() - t0
            W = weights_fn(built)
            te_loss, te_acc = record(ep, W)
            bar.update(1, f"loss {te_loss:.4f}" + (f" acc {te_acc:.3f}" if te_acc is not None
                                                   else ""))
    sim_s = epochs * per_epoch * spec.simulation.dt
    return RunResult(
        backend=backend, rule=spec.rule.display_name, dataset=ds.name, seed=t.seed,
        epochs=epochs, test_accuracy=hist["test_accuracy"][-1],
        test_loss=hist["test_loss"][-1], train_seconds=seconds, history=hist,
        spec_name=spec.name, weights=[W[l] for l in sorted(W)],
        extra={"steps": epochs * per_epoch, "sim_seconds_per_wall_second": sim_s / seconds,
               **{k: v for k, v in options.items() if isinstance(v, (int, float, bool))
                  or v is None}})
