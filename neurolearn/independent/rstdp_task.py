"""The two-choice reward task of examples/specs/rstdp_two_choice.toml, with learning
curves, on the reference, on the Brian2 and Lava backends and on NEST
(:mod:`.nest_task`).

A curve point is taken every ``every`` training examples: the test accuracy that the
reference's evaluation gives for the weights learned so far (the same grading on
every simulator), and the fraction of the window's choices that were rewarded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..data import load_dataset
from ..reference.simulator import Encoder, Network, evaluate, present
from ..reference.stream import example_order

SPEC = "examples/specs/rstdp_two_choice.toml"


@dataclass
class Curve:
    simulator: str
    seed: int
    examples: list = field(default_factory=list)     # examples seen at each point
    accuracy: list = field(default_factory=list)     # test accuracy (reference evaluation)
    rewarded: list = field(default_factory=list)     # rewarded fraction since the last point
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def final(self) -> float:
        return self.accuracy[-1]


def with_seed(spec, seed: int):
    return spec.with_(training=replace(spec.training, seed=seed))


def _points(n: int, epochs: int, every: int) -> list[int]:
    """Every ``every`` examples and at the end of every pass (so each curve has a
    point after exactly one pass)."""
    return sorted(set(range(every, epochs * n + 1, every)) |
                  {e * n for e in range(1, epochs + 1)})


def _evaluate(spec, ds, params, seed) -> float:
    return float(evaluate(spec, params, ds.x_test, ds.y_test, seed=seed)[1])


def reference_curve(spec, seed: int = 0, every: int = 54, epochs: int | None = None,
                    limit: int | None = None) -> Curve:
    """The reference's time-stepped run of the task (batch size 1), a point every
    ``every`` examples (and after the ``limit``-th, where it stops)."""
    spec = with_seed(spec, seed)
    if spec.training.batch_size != 1:
        raise ValueError("the task curves assume batch_size = 1")
    epochs = spec.training.epochs if epochs is None else epochs
    ds = load_dataset(spec.data, seed)
    n = len(ds.x_train)
    net = Network(spec, seed=seed)
    order = example_order(n, epochs * n, seed)
    enc = Encoder(spec.simulation, ds.x_train.shape[1], seed)
    curve = Curve("reference", seed)
    curve.examples.append(0)
    curve.accuracy.append(_evaluate(spec, ds, net.params, seed))
    curve.rewarded.append(float("nan"))
    t0 = time.perf_counter()
    got, shown = 0.0, 0
    points = set(_points(n, epochs, every))
    for e, idx in enumerate(order, start=1):
        net.begin_batch(1)
        present(net, ds.x_train[idx:idx + 1], ds.y_train[idx:idx + 1], net.k, enc,
                end_batch=True)
        got += float(net.reward_state.decision[1][0, 0] == spec.reward.correct)
        shown += 1
        if e in points or e == limit:
            curve.examples.append(e)
            curve.accuracy.append(_evaluate(spec, ds, net.params, seed))
            curve.rewarded.append(got / shown)
            got, shown = 0.0, 0
        if e == limit:
            break
    curve.seconds = time.perf_counter() - t0
    return curve


def brian2_curve(spec, seed: int = 0, every: int = 54, epochs: int | None = None,
                 variant: str = "numpy") -> Curve:
    """The Brian2 backend's run of the task (its runtime: equations, on_pre/on_post
    pathways and code generated from the rule IR), a point every ``every`` examples."""
    from ..backends.brian2.lower import lower
    from ..backends.brian2.runtime import Session
    from ..backends.brian2.task import Plan
    spec = with_seed(spec, seed)
    epochs = spec.training.epochs if epochs is None else epochs
    ds = load_dataset(spec.data, seed)
    n = len(ds.x_train)
    program = lower(spec, variant=variant)
    plan = Plan(spec, ds, epochs * n, seed, program.k, program.n_teach)
    sess = Session(program, plan, variant)
    curve = Curve(f"brian2 ({variant})", seed)
    curve.examples.append(0)
    curve.accuracy.append(_evaluate(spec, ds, program.params, seed))
    curve.rewarded.append(float("nan"))
    t0 = time.perf_counter()
    done = 0
    for e in _points(n, epochs, every):
        sess.run_steps((e - done) * program.k)
        rewards = sess.task.rewards[done:e]
        done = e
        curve.examples.append(e)
        curve.accuracy.append(_evaluate(spec, ds, sess.params(), seed))
        curve.rewarded.append(float(np.mean(np.asarray(rewards) == spec.reward.correct)))
    curve.seconds = time.perf_counter() - t0
    return curve


def lava_curve(spec, seed: int = 0, every: int = 54, epochs: int | None = None,
               variant: str = "fused", precision: str = "float",
               engine: str = "runtime", weight_headroom: float | None = None) -> Curve:
    """The Lava backend's run of the task (the tag as Lava's synaptic ``t``, the
    spike-timed terms as x0/y0 products, the reward as the third factor): one Lava
    run on the training stream of ``neurolearn run``, weights recorded every ``every``
    examples and graded by the reference's evaluation. Lava does not report its
    choices, so ``rewarded`` is NaN. ``precision = "fixed"`` runs the stock lowering
    on Lava's fixed_pt engine; ``engine = "emulator"`` runs the stock lowering's NumPy
    model (:mod:`neurolearn.backends.lava.emulator`, equal to Lava's runtime bit for
    bit in tests/test_lava_stdp.py) instead of Lava; ``weight_headroom``: the fixed-point
    weight grid's room for growth (None: the lowering's default)."""
    from ..backends.lava.emulator import run_stream
    from ..backends.lava.lower import lower
    from ..backends.lava.runner import run_job
    from ..backends.lava.runtime import params_at
    from ..backends.lava.stream import training_stream
    from ..reference.simulator import population_factors
    if engine not in ("runtime", "emulator"):
        raise ValueError(f"engine must be 'runtime' or 'emulator', got {engine!r}")
    if precision == "fixed" or engine == "emulator":
        variant = "stock"  # the fixed-point engine and the emulator are the stock lowering's
    spec = with_seed(spec, seed)
    epochs = spec.training.epochs if epochs is None else epochs
    ds = load_dataset(spec.data, seed)
    n = len(ds.x_train)
    k_in, k_out = population_factors(spec, ds)
    program = lower(spec, precision, None, variant, **(
        {} if weight_headroom is None else {"weight_headroom": weight_headroom}))
    steps = epochs * n * program.k
    stream = training_stream(spec, ds, steps, seed, program.k, program.n_teach, k_in,
                             k_out, program.schedule.apply == "batch", epochs=epochs)
    points = _points(n, epochs, every)
    t0 = time.perf_counter()
    record = [e * program.k - 1 for e in points]
    if engine == "emulator":
        arrays = run_stream(program, stream, record)
        info = {"arrays": arrays, "run_s": arrays["run_s"]}
    else:
        info = run_job({"program": program, "stream": stream, "record_steps": record,
                        "spike_steps": 0, "warmup": 0}, max(600.0, 0.05 * steps))
    label = variant + (", fixed point" if precision == "fixed" else "") + \
        (", emulator" if engine == "emulator" else "")
    curve = Curve(f"lava ({label})", seed)
    curve.examples.append(0)
    curve.accuracy.append(_evaluate(spec, ds, program.params, seed))
    curve.rewarded.append(float("nan"))
    for j, e in enumerate(points):
        curve.examples.append(e)
        curve.accuracy.append(_evaluate(spec, ds, params_at(program, info["arrays"], j),
                                        seed))
        curve.rewarded.append(float("nan"))
    curve.seconds = time.perf_counter() - t0
    curve.extra["run_s"] = info["run_s"]
    return curve


def pass_curve(spec, seed: int = 0, backend: str = "nengo", epochs: int | None = None,
               **options) -> Curve:
    """A backend's ``neurolearn run`` of the task, one point per pass (its history:
    the reference's evaluation of the weights after each pass); ``rewarded`` is NaN."""
    from ..api import run
    spec = with_seed(spec, seed)
    n = len(load_dataset(spec.data, seed).x_train)
    t0 = time.perf_counter()
    res = run(spec, backend, epochs=epochs, quiet=True, **options)
    curve = Curve(backend, seed, seconds=time.perf_counter() - t0)
    for e, acc in zip(res.history["epoch"], res.history["test_accuracy"]):
        curve.examples.append(int(e) * n)
        curve.accuracy.append(float(acc))
        curve.rewarded.append(float("nan"))
    return curve


def summary(curves: list) -> dict:
    """Final accuracies per simulator: {simulator: [(seed, accuracy), ...]}."""
    out = {}
    for c in curves:
        out.setdefault(c.simulator, []).append((c.seed, c.final))
    return out

