"""The nengo runtime: a lowered spec built as a :class:`~.frontend.LearningNetwork`
and run on a plain ``nengo.Simulator``."""

from __future__ import annotations

import time

import nengo
import numpy as np

from ...data import load_dataset
from ...progress import Progress
from ...reference.params import Params, init_params
from ...reference.simulator import evaluate as evaluate_stepped
from ...reference.simulator import population_factors, tile_data
from ...reference.trainer import BatchedTrainer
from ...result import RunResult, Trace, add_history_row, new_history
from .frontend import ExampleStream, LearningNetwork
from .lower import NAME, lower
from .ops import APPLY, N_BATCH, PLASTIC, TEACH


def _check_data(program, ds):
    if program.spiking and (np.min(ds.x_train) < 0 or np.max(ds.x_train) > 1):
        from ...errors import UnsupportedRule
        raise UnsupportedRule(NAME, f"data set {ds.name!r} (inputs outside [0, 1])",
                              "spiking inputs are rate codes of values in [0, 1]", "numpy")


def build_network(program, params, dataset, n_examples, seed, *, decay=False):
    """The LearningNetwork of ``program`` over ``n_examples`` examples of the stream
    (training set of ``dataset``, order and encoding from ``seed``)."""
    k_in, k_out = population_factors(program.spec, dataset)
    x, y = tile_data(dataset.x_train, k_in), tile_data(dataset.y_train, k_out)
    stream = ExampleStream(x, y, program, n_examples, seed, decay=decay)
    return LearningNetwork(program, params, stream, seed=seed)


def learned_params(sim, net) -> Params:
    """W, b, B after the last step's update: the weight signals plus the pending delta
    (nengo adds a step's delta at the start of the next step)."""
    def read(conn):
        w = np.array(sim.signals[sim.model.sig[conn]["weights"]])
        if conn.learning_rule is not None:
            w += sim.signals[sim.model.sig[conn.learning_rule]["delta"]]
        return w

    prog = net.program
    W = [read(net.projections[l]) for l in range(1, prog.L + 1)]
    b = []
    for l in range(1, prog.L + 1):
        conn = net.bias_projections.get(l)
        if conn is not None:
            b.append(read(conn)[:, 0])
        else:
            b.append(net.fixed_bias[l].copy())
    B = {}
    for l, B0 in net.B0.items():
        key = ("B", l)
        sig = sim.model.sig[net].get(key)
        B[l] = np.array(sim.signals[sig]) if sig is not None else B0.copy()
    return Params(W, b, B)


def _simulator(net, program):
    return nengo.Simulator(net, dt=program.dt, progress_bar=False, optimize=True)


def _dataset(spec, dataset):
    return dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
             dataset=None, time_limit=None) -> Trace:
    """``steps`` steps of the training stream with learning on (as
    :func:`neurolearn.reference.simulator.simulate`: the last example may be cut
    short, and then its batch is not applied). Records the plastic layers' weights
    after every ``record_every``-th step (a batch's change included at its last
    plastic step, as the reference records), the output readout and error per step,
    every layer's spikes (spiking); ``extra["params"]``: W, b, B after the run."""
    program = lower(spec, precision, variant=variant)
    seed = spec.training.seed if seed is None else seed
    ds = _dataset(spec, dataset)
    _check_data(program, ds)
    params = init_params(spec.network, seed)
    if program.phases:
        return _simulate_phased(program, params, ds, steps, seed, record_every)
    k = program.k
    net = build_network(program, params, ds, -(-steps // k), seed)
    L = program.L
    names = [lm.name for lm in program.layers]
    plastic = [l for l in range(1, L + 1) if program.layers[l].plastic]
    every = record_every * program.dt
    with net:
        # the weights after the step: the weights in effect plus the delta emitted in
        # it (nengo adds it at the start of the next step; the reference records a
        # batch's last step after applying the batch)
        probes = {l: nengo.Probe(net.projections[l], "weights", sample_every=every)
                  for l in plastic}
        deltas = {l: nengo.Probe(net.projections[l].learning_rule, "delta",
                                 sample_every=every) for l in plastic}
        out = nengo.Probe(net.populations[L].neurons,
                          "input" if spec.training.loss == "cross_entropy"
                          and not program.spiking else "output")
        spk = {l: nengo.Probe(net.populations[l].neurons) for l in range(L + 1)} \
            if program.spiking else {}
    t0 = time.perf_counter()
    with _simulator(net, program) as sim:
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        sim.run_steps(steps)
        wall = time.perf_counter() - t0
        final = learned_params(sim, net)
        data = {l: np.array(sim.data[p]) + np.array(sim.data[deltas[l]])
                for l, p in probes.items()}
        raw_out = np.array(sim.data[out])
        raw_spk = {l: np.array(sim.data[p]) for l, p in spk.items()}
    n_rec = steps // record_every
    weights = {names[l]: data[l][:n_rec] for l in probes}
    lm = program.layers[L]
    if program.spiking:
        # the readout: the output's tau_syn trace, as the reference's (set mode)
        decay = np.exp(-program.dt / lm.trace_tau)
        s = (raw_out > 0).astype(float)
        outputs = np.zeros_like(s)
        x = np.zeros(s.shape[1])
        g = (1.0 - decay) / (program.dt * program.max_rate)
        for i in range(len(s)):
            x = decay * x + g * s[i]
            outputs[i] = x
    elif spec.training.loss == "cross_entropy":
        from ...reference.signals import softmax
        outputs = softmax((raw_out - lm.offset) / lm.gain)
    else:
        outputs = raw_out
    Y = net.stream.output.targets(steps)
    spikes = {names[l]: (v > 0).astype(float) for l, v in raw_spk.items()}
    return Trace(backend=NAME, schedule=program.schedule.name, precision=precision,
                 steps=np.arange(record_every - 1, n_rec * record_every, record_every),
                 weights=weights, outputs=outputs, errors=outputs - Y, spikes=spikes,
                 wall_seconds=wall,
                 extra={"params": final, "build_seconds": build_s,
                        "ms_per_step": 1e3 * wall / steps,
                        "approximations": [str(a) for a in program.approximations]})


def _simulate_phased(program, params, ds, steps, seed, record_every) -> Trace:
    """A spec in phases, as :func:`neurolearn.reference.phased.simulate_phased` runs
    it: the whole examples that fit in ``steps``, the plastic layers' weights recorded
    after every update whose last step reaches a multiple of ``record_every``."""
    from ...reference.simulator import batches_of
    spec, k, L = program.spec, program.k, program.L
    n = len(ds.x_train)
    k_ref = program.example_steps  # the reference's steps per example (no sweep)
    n_examples = max(1, steps // k_ref)
    net = build_network(program, params, ds, n_examples, seed)
    names = [lm.name for lm in program.layers]
    plastic = [l for l in range(1, L + 1) if program.layers[l].plastic]
    rec_steps, rec_w = [], {names[l]: [] for l in plastic}
    t0 = time.perf_counter()
    with _simulator(net, program) as sim:
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pos = done = 0
        for size in batches_of(n, program.batch_size, n_examples):
            end = (pos + size) * k_ref
            if end // record_every > pos * k_ref // record_every or pos + size == n_examples:
                sim.run_steps((pos + size) * k - done)
                done = (pos + size) * k
                p = learned_params(sim, net)
                rec_steps.append(end - 1)
                for l in plastic:
                    rec_w[names[l]].append(p.W[l - 1])
            pos += size
        wall = time.perf_counter() - t0
        final = learned_params(sim, net)
    return Trace(backend=NAME, schedule=program.schedule.name, precision="float",
                 steps=np.asarray(rec_steps, dtype=int),
                 weights={k_: np.asarray(v) for k_, v in rec_w.items()},
                 wall_seconds=wall,
                 extra={"params": final, "build_seconds": build_s,
                        "ms_per_step": 1e3 * wall / max(done, 1),
                        "approximations": []})


def evaluate(spec, params, x, y, k_in=1, k_out=1, classification=True):
    """(loss, accuracy): the reference's evaluation of ``params`` (the batched
    trainer's forward pass for rate networks, the time-stepped one for spiking, the
    phased trainer's readout for a spec in phases)."""
    from ...rules.phases import is_phased
    if is_phased(spec):
        from ...reference.phased import PhasedTrainer
        return PhasedTrainer(spec, params).evaluate(x, y, classification)
    if spec.network.spiking:
        loss, acc, _ = evaluate_stepped(spec, params, x, y, k_in, k_out, spec.training.seed,
                                        classification)
        return loss, acc
    return BatchedTrainer(spec, params).evaluate(x, y, classification)


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, variant=None,
        profile=None, time_limit=None) -> RunResult:
    """Train on the spec's data set, ``epochs`` passes of the stream, on
    nengo.Simulator; the test set is graded by the reference's evaluation of the
    learned parameters after every pass. ``time_limit`` (s): stop after the pass
    that exceeds it (``extra["epochs_done"]`` says how many ran)."""
    program = lower(spec, precision, profile, variant)
    t = spec.training
    ds = _dataset(spec, dataset)
    _check_data(program, ds)
    k_in, k_out = population_factors(spec, ds)
    epochs = t.epochs if epochs is None else epochs
    n = len(ds.x_train)
    params = init_params(spec.network, t.seed)
    t0 = time.perf_counter()
    net = build_network(program, params, ds, epochs * n, t.seed, decay=True)
    sim = _simulator(net, program)
    build_s = time.perf_counter() - t0
    per_epoch = n * program.k
    hist = new_history()
    same = ds.x_test.shape == ds.x_train.shape and np.array_equal(ds.x_test, ds.x_train)
    ev = dict(k_in=k_in, k_out=k_out, classification=ds.classification)

    def record(ep, p, seconds):
        te = evaluate(spec, p, ds.x_test, ds.y_test, **ev)
        m = min(n, 512)
        tr = te if same else evaluate(spec, p, ds.x_train[:m], ds.y_train[:m], **ev)
        add_history_row(hist, ep, te, tr, seconds)
        return te

    record(0, params, 0.0)
    seconds, done = 0.0, 0
    p = params
    with sim, Progress(epochs, f"{spec.name} {NAME}", quiet) as bar:
        for ep in range(1, epochs + 1):
            t1 = time.perf_counter()
            sim.run_steps(per_epoch)
            seconds += time.perf_counter() - t1
            done = ep
            p = learned_params(sim, net)
            te_loss, te_acc = record(ep, p, seconds)
            bar.update(1, f"loss {te_loss:.4f}" + (f" acc {te_acc:.3f}" if te_acc is not None
                                                   else ""))
            if time_limit is not None and seconds > time_limit:
                break
    steps = done * per_epoch
    return RunResult(
        backend=NAME, rule=spec.rule.display_name, dataset=ds.name, seed=t.seed,
        epochs=done, test_accuracy=hist["test_accuracy"][-1],
        test_loss=hist["test_loss"][-1], train_seconds=seconds, history=hist,
        spec_name=spec.name, weights=[w.copy() for w in p.W],
        extra={"steps": steps, "epochs_done": done, "build_seconds": build_s,
               "ms_per_step": 1e3 * seconds / max(steps, 1),
               "sim_seconds_per_wall_second": steps * program.dt / max(seconds, 1e-12),
               "schedule": program.schedule.describe(),
               "approximations": [str(a) for a in program.approximations]},
        state=p)


class RasterStream(ExampleStream):
    """Given input spikes (steps, n_in), 0/1, as one example as long as the raster,
    plastic throughout (the program's k and n_teach), its change applied after its
    last step; no teacher (y = 0). For protocols that impose spike times
    (:mod:`neurolearn.independent.nengo_stdp`)."""

    def __init__(self, raster, n_out, program):
        raster = np.asarray(raster, dtype=float)
        super().__init__(np.zeros((1, raster.shape[1])), np.zeros((1, n_out)), program, 1, 0)
        self.raster = raster
        self.n_steps = len(raster)

    def make_step(self, shape_in, shape_out, dt, rng, state):
        prog = self.program
        n_in, n_out = self.raster.shape[1], self.y.shape[1]
        spike = 1.0 / (prog.dt * prog.max_rate)
        k, n_teach, steps = prog.k, prog.n_teach, len(self.raster)
        out = np.zeros(shape_out)
        flags = out[n_in + n_out:]
        flags[N_BATCH] = 1.0

        def step_raster(t):
            i = int(round(t / dt)) - 1
            if i >= steps:
                raise RuntimeError(f"the raster holds {steps} steps; step {i + 1} asked "
                                   "for more")
            out[:n_in] = self.raster[i] * spike
            s = i % k
            flags[TEACH] = flags[PLASTIC] = s >= k - n_teach
            flags[APPLY] = s == k - 1 or i == steps - 1
            return out

        return step_raster


# -- inference with trained weights (neurolearn.backends.inference) ----------------------
class InferenceStream(ExampleStream):
    """The test set in its order (no shuffling), each example ``rest`` steps without
    input then k steps shown, spiking inputs encoded per example as the reference's
    evaluation encodes them (neurolearn.backends.inference.encode_example); no
    teacher, no learning flags."""

    def __init__(self, x, y, program, seed, rest=0):
        super().__init__(x, y, program, len(x), seed)
        self.order = np.arange(len(x))
        self.rest = rest
        self.n_steps = len(x) * (program.k + rest)

    def make_step(self, shape_in, shape_out, dt, rng, state):
        from ...reference.simulator import Encoder
        from ..inference import encode_example
        prog = self.program
        k, rest = prog.k, self.rest
        n_in, n_out = self.x.shape[1], self.y.shape[1]
        sim = prog.spec.simulation
        enc = Encoder(sim, n_in, self.stream_seed) if prog.spiking else None
        spike = 1.0 / (sim.dt * sim.max_rate)  # a unit-area filter reads activity units
        out = np.zeros(shape_out)
        out[n_in + n_out + N_BATCH] = 1.0  # (nothing learns)
        cur = {"e": -1, "xs": None}

        def step_inference(t):
            e, i = divmod(int(round(t / dt)) - 1, k + rest)
            if e != cur["e"]:
                cur["e"] = e
                idx = self.order[e]
                out[n_in:n_in + n_out] = self.y[idx]
                cur["xs"] = np.broadcast_to(self.x[idx], (k, n_in)) if enc is None else \
                    encode_example(enc, self.x[idx], k) * spike
            out[:n_in] = 0.0 if i < rest else cur["xs"][i - rest]
            return out

        return step_inference


class PhasedInferenceStream(ExampleStream):
    """The test set in its order, each example for the program's readout steps (the
    sweep and the phases before the teacher, :attr:`~.lower.NengoProgram.readout_table`):
    no teacher, no learning, no batch applied; a phase's noise from the evaluation's
    generators, ``default_rng([seed, 8, i])`` for test example i, as the phased
    reference's readout draws it."""

    def __init__(self, x, y, program, seed):
        from ...reference.phased import EVAL
        super().__init__(x, y, program, len(x), seed)
        self.order = np.arange(len(x))
        self.table = program.readout_table
        self.noise_key = EVAL
        self.last[:] = False  # nothing is applied
        self.n_steps = len(x) * len(self.table)


def _infer_phased(spec, params, precision, ds, rest):
    """Inference of a spec in phases (:func:`infer`): the trained network with its
    learning operators idle (no plastic or applying step), each test example for its
    readout steps, the output's activity at the last of them read."""
    from ..inference import grade, presentation, presented_inputs
    from .lower import refuse_phased_inference
    refuse_phased_inference(spec)
    program = lower(spec, precision)
    w = presentation(spec, ds, rest)  # the reference's readout steps; a bad rest fails
    x, y = presented_inputs(ds, w)
    seed = spec.training.seed
    stream = PhasedInferenceStream(x, y, program, seed)
    k = len(stream.table)
    net = LearningNetwork(program, params, stream, seed=seed)
    with net:
        probe = nengo.Probe(net.populations[program.L].neurons, "output")
    t0 = time.perf_counter()
    with _simulator(net, program) as sim:
        build_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        sim.run_steps(len(x) * k)
        run_s = time.perf_counter() - t1
        raw = np.array(sim.data[probe])
    from dataclasses import replace
    engine = replace(w, k=k)  # the engine's steps per example: the sweep's too
    return grade(NAME, precision, spec, ds, engine, raw, seconds=build_s + run_s,
                 extra={"build_s": build_s, "run_s": run_s,
                        "ms_per_step": 1e3 * run_s / (len(x) * k),
                        "schedule": f"{program.sweep} sweep steps, then the phases "
                                    "before the teacher, learning off; readout at the "
                                    "last step",
                        "approximations": []})


def inference_program(spec, precision="float", profile=None, variant=None):
    """(frozen spec, NengoProgram): the trained network with learning off (every
    projection a plain Connection with the trained W, b the Ensembles' fixed bias)."""
    from ..inference import frozen_spec
    from .lower import refuse_phased_inference
    refuse_phased_inference(spec)
    frozen = frozen_spec(spec)
    return frozen, lower(frozen, precision, profile, variant)


def infer(spec, params, *, precision="float", profile=None, dataset=None, variant=None,
          time_limit=None, rest=None):
    """Inference of a trained network (``params``: W, b, B) on nengo.Simulator,
    learning off, the test set presented as :mod:`neurolearn.backends.inference`
    says (``rest``: seconds without input before each example); rate outputs are the
    output Ensemble's rates (softmax of its input for cross-entropy), spiking ones
    its spikes. Returns an Inference."""
    from ..inference import frozen_params, grade, presented_inputs, presentation
    from ...rules.phases import is_phased
    ds = _dataset(spec, dataset)
    if is_phased(spec):
        return _infer_phased(spec, params, precision, ds, rest)
    frozen, program = inference_program(spec, precision, profile, variant)
    w = presentation(frozen, ds, rest)
    x, y = presented_inputs(ds, w)
    seed = frozen.training.seed
    net = LearningNetwork(program, frozen_params(frozen, params),
                          InferenceStream(x, y, program, seed, w.rest), seed=seed)
    L = program.L
    ce = frozen.training.loss == "cross_entropy" and not program.spiking
    with net:
        probe = nengo.Probe(net.populations[L].neurons, "input" if ce else "output")
    t0 = time.perf_counter()
    with _simulator(net, program) as sim:
        build_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        sim.run_steps(w.steps)
        run_s = time.perf_counter() - t1
        raw = np.array(sim.data[probe])
    lm = program.layers[L]
    if program.spiking:
        outputs = (raw > 0).astype(float)
    elif ce:
        from ...reference.signals import softmax
        outputs = softmax((raw - lm.offset) / lm.gain)
    else:
        outputs = raw
    return grade(NAME, precision, frozen, ds, w, outputs, seconds=build_s + run_s,
                 extra={"build_s": build_s, "run_s": run_s,
                        "ms_per_step": 1e3 * run_s / w.steps,
                        "schedule": f"{program.schedule.forward_delay}-step delay per "
                                    "forward projection, learning off",
                        "approximations": [str(a) for a in program.approximations]})
