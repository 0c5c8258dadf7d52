"""The Lava backend: the spec's network and learning on Lava's Loihi 2 simulation (CPU).

Lowerings (``lowering=`` option): ``stock`` (stock LearningDense with a generated
Loihi3FLearningRule per plastic projection, a custom Population ProcessModel per
layer computing the post factors, stock Dense per fixed feedback matrix) and
``fused`` (the whole network in one Lava process; default for ``run``, fastest).
Every run happens in a child process with a time limit (runner.py). The reference
under the same timing is neurolearn.reference.schedules.lava (REFERENCE_SCHEDULE).
This module never imports lava itself.
"""

from __future__ import annotations

import time

import numpy as np

from ...errors import UnsupportedRule
from ...result import RunResult, Trace
from ...reference.schedules import lava as sched
from .runner import LavaRunError, run_job  # noqa: F401

NAME = "lava"
REFERENCE_SCHEDULE = "lava"
LOWERINGS = ("stock", "fused")


def capabilities() -> dict:
    return {
        "rules": ["delta (feedback random or direct)", "kolen_pollack (weight-decay term "
                  "w*y; feedback random or direct)", "burstprop_rate", "burstprop",
                  "custom: up to 3 terms, one pre factor of one tau, any post signals "
                  "the population computes, optional w, dependency 'step'"],
        "neuron_models": ["sigmoid", "tanh", "relu", "linear", "lif", "burst_rate", "burst"],
        "precisions": ["float", "fixed (spiking networks: Lava's fixed_pt learning "
                       "engine, loihi2 widths)"],
        "lowerings": list(LOWERINGS),
        "unsupported": {
            "feedback transport, learned": "the feedback matrix must follow a learning "
            "Dense's weights; Lava processes share no weight memory",
            "t_epoch > 1": "Lava's engine then sees epoch-end post values only",
            "pre_spike / post_spike terms": "not lowered (only Lava's u0)",
            "activity_sq_avg (BCM)": "no Lava population computes it",
            "precision fixed for rate networks": "graded payloads would need an "
            "integer rate code on the 7-bit x1 trace (round(payload/2))",
        },
    }


def _check(spec, precision, lowering):
    if precision not in ("float", "fixed"):
        raise UnsupportedRule(NAME, f"precision {precision!r}", "use float or fixed")
    if lowering not in LOWERINGS:
        raise UnsupportedRule(NAME, f"lowering {lowering!r}",
                              f"known lowerings: {', '.join(LOWERINGS)}")
    sched.plan(spec, precision)  # refuses what cannot be lowered, before any process starts


def _job(spec, x, y, g, lowering, record_every, spike_steps=1000, fault=None,
         precision="float"):
    return {"precision": precision, "spec": spec, "x": np.ascontiguousarray(x, float),
            "y": np.ascontiguousarray(y, float), "gate": np.ascontiguousarray(g, float),
            "lowering": lowering, "record_every": record_every, "spike_steps": spike_steps,
            "fault": fault}


def simulate(spec, *, steps, precision="float", seed=None, record_every=1,
             lowering="stock", timeout=None, dataset=None, fault=None, **options) -> Trace:
    """A time-stepped Lava run on the training stream of spec.data (see
    neurolearn.reference.stream). ``fault=(kind, step, who)`` injects a failure
    (tests only): kind "exception" or "hang", who e.g. "population1", "dense1",
    "source", "fused"."""
    from ...data import load_dataset
    _check(spec, precision, lowering)
    seed = spec.training.seed if seed is None else seed
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    x, y, g = sched.make_stream(spec, ds.x_train, ds.y_train, steps, seed)
    t0 = time.perf_counter()
    info = run_job(_job(spec, x, y, g, lowering, record_every, fault=fault,
                        precision=precision), timeout)
    rec_steps = np.arange(1, steps // record_every + 1) * record_every
    return Trace(backend=NAME, schedule="lava", precision=precision, steps=rec_steps,
                 weights=info["weights"], outputs=info["outputs"], spikes=info["spikes"],
                 wall_seconds=time.perf_counter() - t0,
                 extra={k: info[k] for k in ("build_s", "run_s", "stop_s", "processes",
                                             "pgid")} | {"lowering": lowering})


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None,
        lowering="fused", timeout=None, **options) -> RunResult:
    """Train on spec.data for ``epochs`` passes (each example shown t_example), then
    show every test example once with learning gated off, all in one Lava run; the
    class is the argmax of the output activity summed over the example's window."""
    from ...data import load_dataset
    from ...rules.compat import check_data_fits
    _check(spec, precision, lowering)
    t = spec.training
    ds = dataset if dataset is not None else load_dataset(spec.data, t.seed)
    check_data_fits(spec, ds)
    epochs = epochs or t.epochs
    x, y, g, n_train = sched.train_test_stream(spec, ds, epochs, t.seed)
    steps = len(x)
    t0 = time.perf_counter()
    info = run_job(_job(spec, x, y, g, lowering, record_every=steps, spike_steps=0,
                        precision=precision),
                   timeout if timeout is not None else max(600.0, 0.05 * steps))
    k = sched.steps_per_example(spec.simulation)
    L = len(spec.network.layers) - 1
    acc = sched.accuracy_from_outputs(info["outputs"][n_train:], ds.y_test, k, L)
    names = [layer.name for layer in spec.network.layers[1:]]
    return RunResult(
        backend=NAME, rule=spec.rule.display_name, dataset=ds.name, seed=t.seed,
        epochs=epochs, test_accuracy=acc if ds.classification else None,
        train_seconds=time.perf_counter() - t0, precision=precision,
        spec_name=spec.name, weights=[info["weights"][n][-1] for n in names],
        history={"epoch": [epochs], "test_accuracy": [acc]},
        extra={"lowering": lowering, "steps": steps, "run_s": info["run_s"],
               "ms_per_step": 1000 * info["run_s"] / steps})
