"""Runs of the Lava backend (parent side; lava is imported only in the child).

The Program is lowered here, once, and pickled to the child with the stream
(:mod:`.stream`: the data set and a few integers); the child builds the Lava
processes from it (:mod:`.build`) and writes its records into memmaps
(:mod:`.runner` runs the child, ends its process group whatever happens, and
raises :class:`.runner.LavaRunError` with the real traceback).

- :func:`simulate`: the runtime on the shared training stream, a Trace;
- :func:`run`: train for ``epochs`` passes; the test accuracy is the reference's
  evaluation (:func:`neurolearn.reference.simulator.evaluate`) of the weights and
  biases Lava learned, after every pass, so the task tier grades learning the same
  way on every engine.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ...data import load_dataset
from ...reference.params import Params
from ...reference.simulator import evaluate, population_factors
from ...result import RunResult, Trace, add_history_row, new_history
from .lower import WEIGHT_HEADROOM, lower
from .runner import run_job
from .stream import Cursor, Stream, training_stream

NAME = "lava"
DEFAULT_TIMEOUT = 600.0


def with_seed(spec, seed):
    """The spec whose training.seed is ``seed`` (the reference's simulate draws the
    parameters, the order, the encoder and the generators from it)."""
    if seed is None or seed == spec.training.seed:
        return spec
    return spec.with_(training=dataclasses.replace(spec.training, seed=seed))


def make_stream(program, spec, *, steps, seed=None, dataset=None, record_every=1,
                epochs=None):
    """(stream, record steps): the training stream of ``steps`` steps and the 0-based
    steps after which weights and biases are recorded (every ``record_every``-th)."""
    seed = spec.training.seed if seed is None else seed
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    k_in, k_out = population_factors(spec, ds)
    stream = training_stream(spec, ds, steps, seed, program.k, program.n_teach, k_in,
                             k_out, program.schedule.apply == "batch", epochs=epochs)
    return stream, [i for i in range(steps) if (i + 1) % record_every == 0]


def _with_final(record_steps, steps):
    return sorted(set(record_steps) | {steps - 1})


def params_at(program, arrays, j) -> Params:
    """The parameters after record ``j`` (float units)."""
    L = program.L
    W = [program.float_weights(l, arrays[f"W_{l}"][j]) for l in range(1, L + 1)]
    b = [np.array(arrays[f"b_{l}"][j]) for l in range(1, L + 1)]
    return Params(W, b, {k: v.copy() for k, v in program.params.B.items()})


def trace_from(program, arrays, record_steps, all_steps, backend, wall, extra=None) -> Trace:
    """A Trace from the records (``all_steps``: the record steps of ``arrays``, a
    superset of ``record_steps``)."""
    names = program.names
    net = program.spec.network
    idx = [all_steps.index(t) for t in record_steps]
    weights = {names[l]: np.stack([program.float_weights(l, arrays[f"W_{l}"][j])
                                   for j in idx]) if idx else
               np.zeros((0, net.sizes[l], net.sizes[l - 1]))
               for l in range(1, program.L + 1) if net.layers[l].plastic}
    spikes = {names[l]: arrays[f"spk_{l}"] for l in range(program.L + 1)
              if f"spk_{l}" in arrays}
    return Trace(backend=backend, schedule=program.schedule.name,
                 precision=program.precision, steps=np.asarray(record_steps, dtype=int),
                 weights=weights, outputs=arrays["out"], errors=arrays["err"],
                 spikes=spikes, wall_seconds=wall,
                 extra={"params": params_at(program, arrays, len(all_steps) - 1),
                        "variant": program.variant,
                        "approximations": [str(a) for a in program.approximations]}
                 | (extra or {}))


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
             dataset=None, time_limit=None, fault=None, warmup=0, lowering=None,
             timeout=None, weight_headroom=WEIGHT_HEADROOM) -> Trace:
    """Lava (``variant`` stock, the default here, or fused) on the shared training
    stream for ``steps`` steps, learning on; the same Trace as the reference's
    ``simulate``. ``time_limit``: seconds before the run is ended (``lowering`` and
    ``timeout`` are older names of ``variant`` and ``time_limit``).
    ``fault=(kind, step, who)`` injects a failure (tests only): kind "exception" or
    "hang", who e.g. "population1", "dense1", "source", "fused"."""
    variant = variant or lowering
    time_limit = time_limit if time_limit is not None else timeout
    spec = with_seed(spec, seed)
    program = lower(spec, precision, variant=variant or "stock",
                    weight_headroom=weight_headroom)
    if program.phased is not None:
        return _simulate_phased(program, spec, steps, dataset, record_every, fault,
                                time_limit)
    stream, record_steps = make_stream(program, spec, steps=steps, dataset=dataset,
                                       record_every=record_every)
    at = _with_final(record_steps, steps)
    t0 = time.perf_counter()
    info = run_job({"program": program, "stream": stream, "record_steps": at,
                    "spike_steps": steps if program.spiking else 0, "fault": fault,
                    "warmup": warmup}, time_limit)
    extra = {k: info[k] for k in ("build_s", "run_s", "stop_s", "processes", "pgid",
                                  "steady_ms_per_step")}
    return trace_from(program, info["arrays"], record_steps, at, NAME,
                      time.perf_counter() - t0, extra)


def _simulate_phased(program, spec, steps, dataset, record_every, fault, time_limit):
    """A spec in phases, as the phased reference's simulate_phased runs it (whole
    examples, weights after each recorded update), timed in the reference's steps."""
    from .phased import phased_stream, phased_trace, record_plan
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    n_ex, at, ref = record_plan(program, len(ds.x_train), steps, record_every,
                                spec.training.batch_size)
    stream = phased_stream(program, spec, ds, n_ex, spec.training.seed)
    t0 = time.perf_counter()
    info = run_job({"program": program, "stream": stream, "record_steps": at,
                    "spike_steps": 0, "fault": fault, "warmup": 0}, time_limit)
    extra = {k: info[k] for k in ("build_s", "run_s", "stop_s", "processes", "pgid",
                                  "steady_ms_per_step")}
    return phased_trace(program, info["arrays"], ref, NAME, time.perf_counter() - t0,
                        extra)


def _evaluate(spec, params, x, y, ev):
    """(loss, accuracy): the reference's evaluation (the phased trainer's readout for
    a spec in phases)."""
    from ...rules.phases import is_phased
    if is_phased(spec):
        from ...reference.phased import PhasedTrainer
        return PhasedTrainer(spec, params).evaluate(x, y, ev["classification"])
    return evaluate(spec, params, x, y, **ev)


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, variant=None,
        profile=None, time_limit=None, warmup=0, lowering=None, timeout=None,
        weight_headroom=WEIGHT_HEADROOM) -> RunResult:
    """Train on the spec's data set for ``epochs`` passes (variant ``fused`` by
    default), in one Lava run that records the weights and biases after every pass;
    each pass is then graded by the reference's evaluation. ``time_limit``: seconds
    (default max(600, 0.05 per step)); ``lowering``/``timeout``: older names;
    ``weight_headroom``: fixed point, how far the weights may grow past their initial
    peak (:func:`.lower.lower`)."""
    variant = variant or lowering
    time_limit = time_limit if time_limit is not None else timeout
    t = spec.training
    ds = dataset if dataset is not None else load_dataset(spec.data, t.seed)
    k_in, k_out = population_factors(spec, ds)
    epochs = t.epochs if epochs is None else epochs
    from ...rules.phases import is_phased
    program = lower(spec, precision, profile,
                    variant or ("stock" if is_phased(spec) else "fused"),
                    weight_headroom=weight_headroom)
    n = len(ds.x_train)
    steps = epochs * n * program.k
    if program.phased is not None:
        from .phased import phased_stream
        stream = phased_stream(program, spec, ds, epochs * n, t.seed, epochs=epochs)
    else:
        stream = training_stream(spec, ds, steps, t.seed, program.k, program.n_teach,
                                 k_in, k_out, program.schedule.apply == "batch",
                                 epochs=epochs)
    at = [(e + 1) * n * program.k - 1 for e in range(epochs)]
    t0 = time.perf_counter()
    info = run_job({"program": program, "stream": stream, "record_steps": at,
                    "spike_steps": 0, "warmup": warmup},
                   time_limit if time_limit is not None else max(DEFAULT_TIMEOUT,
                                                                 0.05 * steps))
    wall = time.perf_counter() - t0
    hist = new_history()
    ev = dict(k_in=k_in, k_out=k_out, seed=t.seed, classification=ds.classification)
    m = min(n, 512)
    for e in range(epochs + 1):
        params = program.params if e == 0 else params_at(program, info["arrays"], e - 1)
        add_history_row(hist, e, _evaluate(spec, params, ds.x_test, ds.y_test, ev),
                        _evaluate(spec, params, ds.x_train[:m], ds.y_train[:m], ev),
                        info["run_s"] * e / max(epochs, 1))
    final = params_at(program, info["arrays"], epochs - 1)
    return RunResult(
        backend=NAME, rule=spec.rule.display_name, dataset=ds.name, seed=t.seed,
        epochs=epochs, test_accuracy=hist["test_accuracy"][-1],
        test_loss=hist["test_loss"][-1], train_seconds=info["run_s"], history=hist,
        precision=precision, spec_name=spec.name, weights=[w.copy() for w in final.W],
        extra={"variant": program.variant, "steps": steps, "run_s": info["run_s"],
               "build_s": info["build_s"], "wall_s": wall,
               "ms_per_step": 1000 * info["run_s"] / steps,
               "steady_ms_per_step": info["steady_ms_per_step"],
               "processes": info["processes"], "schedule": program.schedule.describe(),
               "approximations": [str(a) for a in program.approximations],
               "population": [k_in, k_out]},
        state=final)


# -- inference with trained weights (neurolearn.backends.inference) ----------------------
def inference_program(spec, params, precision="float", profile=None, variant=None):
    """(frozen spec, LavaProgram) of a trained network with learning off: every
    projection a stock Dense holding the trained W (fixed point: on Lava's 8-bit weight
    grid, W_int = rint(W 2^f), even), the trained b each population's bias, no
    learning engine and no feedback Dense."""
    from ...errors import UnsupportedRule
    from ..inference import frozen_params, frozen_spec
    if precision == "fixed" and not spec.network.spiking:
        raise UnsupportedRule(
            NAME, f"fixed-point inference of rate network {spec.name!r}",
            "its layers send graded activations (tanh, sigmoid, ...) that a fixed-point "
            "Dense takes as integers, and neurolearn has no integer rate code for them",
            "lava --precision float, or numpy --precision fixed (weights on the "
            "profile's grid)")
    frozen = frozen_spec(spec)
    return frozen, lower(frozen, precision, profile, variant or "stock",
                         params=frozen_params(frozen, params))


@dataclasses.dataclass
class InferenceStream(Stream):
    """The test set as a Lava stream (neurolearn.backends.inference): in order, each
    example ``rest`` steps without input then k steps shown; no teacher (``n_teach =
    0`` turns every step's teach flag off)."""
    rest: int = 0

    def cursor(self):
        return InferenceCursor(self)


class InferenceCursor(Cursor):
    """A Cursor that puts ``rest`` input-free steps before each example (the encoder
    does not advance during them) and starts each example's regular code at phase 0
    (neurolearn.backends.inference.encode_example)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.u = 0

    def step(self):
        s = self.s
        e, i = divmod(self.u, s.k + s.rest)
        self.u += 1
        if i < s.rest:
            return np.zeros(s.n_in), s.y[s.order[e]], np.array([0.0, 0.0, 1.0, 0.0])
        if i == s.rest and self.enc is not None:
            self.enc.phase[:] = 0.0
        return super().step()


def inference_stream(program, frozen, dataset, window):
    """The test stream of ``window`` (a neurolearn.backends.inference.Window)."""
    from ..inference import presented_inputs
    x, y = presented_inputs(dataset, window)
    n = window.n
    return InferenceStream(x, y, np.arange(n), np.ones(n, dtype=int), window.k, 0, window.steps,
                      frozen.simulation, frozen.training.seed, frozen.network.spiking,
                      False, rest=window.rest)


def inference_outputs(program, frozen, arrays):
    """Per-step outputs the readout reads: the readout (rate) or the output's events,
    recovered exactly from its recorded unit-area trace (spiking)."""
    from ..inference import events_from_trace
    out = np.asarray(arrays["out"])
    if not program.spiking:
        return out
    sim = frozen.simulation
    return events_from_trace(out, frozen.network.layers[-1].neuron.tau_syn, sim.dt,
                             sim.max_rate)


def infer(spec, params, *, precision="float", profile=None, dataset=None, variant=None,
          time_limit=None, rest=None):
    """Inference of a trained network (``params``: W, b, B) on Lava, learning off:
    the test set presented as :mod:`neurolearn.backends.inference` says (``rest``:
    seconds without input before each example), read from the output population's
    records. Returns an Inference; ``extra`` names the variant, the processes and
    the run's seconds."""
    from ..inference import grade, presentation
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    from ...rules.phases import is_phased
    if is_phased(spec):
        from .phased import check
        check(spec, precision, variant or "stock")

        def on_lava(prog, stream, at):
            t0 = time.perf_counter()
            info = run_job({"program": prog, "stream": stream, "record_steps": at,
                            "spike_steps": 0},
                           time_limit if time_limit is not None else
                           max(DEFAULT_TIMEOUT, 0.05 * stream.steps))
            return info["arrays"], time.perf_counter() - t0, {
                "processes": info["processes"], "build_s": info["build_s"],
                "run_s": info["run_s"]}
        return infer_with(on_lava, NAME, spec, params, precision, profile, ds, rest)
    frozen, program = inference_program(spec, params, precision, profile, variant)
    w = presentation(frozen, ds, rest)
    stream = inference_stream(program, frozen, ds, w)
    t0 = time.perf_counter()
    info = run_job({"program": program, "stream": stream, "record_steps": [w.steps - 1],
                    "spike_steps": 0},
                   time_limit if time_limit is not None else max(DEFAULT_TIMEOUT,
                                                                 0.05 * w.steps))
    wall = time.perf_counter() - t0
    extra = {"variant": program.variant, "processes": info["processes"],
             "build_s": info["build_s"], "run_s": info["run_s"], "wall_s": wall,
             "ms_per_step": 1000 * info["run_s"] / w.steps,
             "schedule": f"{program.schedule.forward_delay}-step delay per forward "
                         "projection, learning off"}
    if precision == "fixed":
        extra["weight_frac_bits"] = {lp.name: lp.w_frac for lp in program.layers}
    return grade(NAME, precision, frozen, ds, w,
                 inference_outputs(program, frozen, info["arrays"]), seconds=wall,
                 extra=extra, weights=engine_weights(program))


def engine_weights(program):
    """W of every layer as the engine's Dense holds it, in float units."""
    return [program.float_weights(lp.index, lp.W0) for lp in program.layers]


def infer_with(runner, backend: str, spec, params, precision, profile, dataset, rest):
    """Inference of a spec in phases: ``runner(program, stream, record_steps)`` gives
    the records (the Lava runtime or the emulator); graded on the output's readout at
    each example's last step, as the phased reference's evaluation reads it."""
    from ..inference import grade, presentation
    from .phased import phased_inference_stream
    w = presentation(spec, dataset, rest)  # a rest is refused by name there
    program = lower(spec, precision, profile, "stock", params=params)
    prog, stream = phased_inference_stream(program, spec, dataset, w)
    arrays, seconds, extra = runner(prog, stream, [stream.steps - 1])
    engine = dataclasses.replace(w, k=prog.k)  # the engine's steps per example: the sweep's too
    return grade(backend, precision, spec, dataset, engine, np.asarray(arrays["out"]),
                 seconds=seconds,
                 extra={"variant": "stock", "ms_per_step": 1e3 * seconds / stream.steps,
                        "schedule": f"{prog.phased.sweep} sweep steps, then the phases "
                                    "before the teacher, learning off; readout at the "
                                    "last step"} | extra,
                 weights=[np.array(lp.W0) for lp in prog.layers])
