"""Runs of the Brian2 backend: the Program built as one Brian2 ``Network`` and run on
Brian2's runtime device with the variant's code-generation target (``numpy`` or
``cython``).

The Program's ops become Brian2 objects in its schedule (slots named after the
phases, ``order`` = position): ``run_regularly`` code, the synapses' pathways and
summed variables, the groups' state updaters, thresholds and resets, and three
``NetworkOperation``\\ s that carry the task (:mod:`.task`): ``stream`` (input spikes
or rates, gates, coefficients, noise draws), ``task`` (readout, output error or
reward, output drive, global factors) and ``record``. They read and write the
groups' state arrays in place (the runtime device's own arrays).

- :func:`simulate`: the shared training stream for ``steps`` steps, a Trace;
- :func:`run`: ``epochs`` passes, one ``Network.run`` per pass; the test accuracy is
  the reference's evaluation of the learned weights after each pass.
"""

from __future__ import annotations

import time

import numpy as np

from ... import deadline
from ...data import load_dataset
from ...errors import BackendUnavailable
from ...progress import Progress
from ...reference.params import Params
from ...reference.signals import layer_etas, output_drive, output_error, output_readout
from ...reference.simulator import evaluate, population_factors
from ...result import RunResult, Trace, add_history_row, new_history
from .lower import PHASES, TARGETS, lower
from .task import Plan, Task

NAME = "brian2"
BRIAN2_SLOTS = ["start", "groups", "thresholds", "synapses", "resets", "end"]
# Brian2's exponential Euler integrates x' = (A - x)/tau with A constant over the step
# exactly, as x <- A + (x - A) exp(-dt/tau): the reference's LIF and traces, operation
# for operation. ("exact" gives the same values through sympy's matrix exponential of
# the whole system, which takes ~15 s per group to derive.)
INTEGRATION = "exponential_euler"


def _import_brian2():
    try:
        import brian2
    except ImportError as err:
        raise BackendUnavailable(NAME, "brian2", str(err)) from None
    return brian2


def _with_seed(spec, seed):
    import dataclasses
    if seed is None or seed == spec.training.seed:
        return spec
    return spec.with_(training=dataclasses.replace(spec.training, seed=seed))


class Session:
    """One Brian2 network built from a Program, and the task that drives it."""

    def __init__(self, program, plan: Plan, target: str, record_every: int = 0,
                 record_steps: int = 0, inputs=None):
        """``inputs``: (steps, n_in) input spikes (or rates) that replace the stream's
        (a protocol: the STDP pairing curve), one example of the Program's k steps."""
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        self.p = program
        self.plan = plan
        self.spec = program.spec
        self.task = Task(self.spec, program.seed, program.n_teach)
        self.eta = layer_etas(self.spec.rule, program.L)
        self.t = 0
        self.record_every = record_every
        self.n_record = record_steps
        L = program.L
        names = [layer.name for layer in self.spec.network.layers]
        self.names = names
        self.plastic = [l for l in range(1, L + 1) if self.spec.network.layers[l].plastic]
        if record_steps:
            self.outputs = np.zeros((record_steps, self.spec.network.sizes[-1]))
            self.errors = np.zeros_like(self.outputs)
            self.spikes = {n: np.zeros((record_steps, s)) for n, s in
                           zip(names, self.spec.network.sizes)} if program.spiking else {}
        self.rec_steps, self.rec_w = [], {names[l]: [] for l in self.plastic}
        self.noise = {g.index: np.random.default_rng([program.seed, 5, g.index])
                      for g in program.groups if g.noise}
        self._x = self._y = None
        self.inputs = inputs
        self.scale = (1.0, 1.0)
        self.b2 = _import_brian2()
        self._build(target)

    # -- building -----------------------------------------------------------------------
    def _build(self, target):
        b2 = self.b2
        b2.prefs.codegen.target = target
        p, sim = self.p, self.spec.simulation
        dt = sim.dt * b2.second
        self.dt = dt
        self.G, self.S = {}, {}
        for g in p.groups:
            kw = dict(threshold=g.threshold, reset=g.reset, method=INTEGRATION, dt=dt,
                      namespace=self._namespace(g.namespace), name=g.name)
            if g.refractory_steps:
                kw["refractory"] = g.refractory_steps * dt
            grp = b2.NeuronGroup(g.size, g.equations, **kw)
            for var, values in g.init.items():
                setattr(grp, var, values)
            self.G[g.name] = grp
        for s in p.synapses:
            src, tgt = self.G[s.source], self.G[s.target]
            syn = b2.Synapses(src, tgt, s.model, on_pre=s.on_pre or None,
                              on_post=s.on_post or None, method=INTEGRATION, dt=dt,
                              namespace=self._namespace(s.namespace), name=s.name)
            n_t, n_s = s.matrix.shape
            post, pre = np.meshgrid(np.arange(n_t), np.arange(n_s), indexing="ij")
            syn.connect(i=pre.ravel(), j=post.ravel())
            # synapse k holds W[j_k, i_k]: read the matrix back through these indices
            s_flat = np.asarray(syn.j) * n_s + np.asarray(syn.i)
            setattr(syn, s.weight, s.matrix.ravel()[s_flat])
            syn._nl_flat = s_flat
            self.S[s.name] = syn
        objects = list(self.G.values()) + list(self.S.values())
        env = {"stream": self._stream, "task": self._task, "record": self._record}
        for order, op in enumerate(p.ops):
            if op.kind == "env":
                obj = b2.NetworkOperation(env[op.name], dt=dt, when=op.phase, order=order,
                                          name=f"env_{op.name}")
                objects.append(obj)
                continue
            owner = self.G.get(op.owner) or self.S[op.owner]
            if op.kind == "code":
                obj = owner.run_regularly(op.code, dt=dt, when=op.phase, order=order,
                                          name=f"{op.owner}_{op.name}")
            elif op.kind == "pathway":
                obj = getattr(owner, op.name)
            elif op.kind == "summed":
                obj = owner.summed_updaters[op.name]
            elif op.kind == "subexpression":
                obj = owner.subexpression_updater
            elif op.kind == "state":
                obj = owner.state_updater
            elif op.kind == "threshold":
                obj = owner.thresholder["spike"]
            elif op.kind == "reset":
                obj = owner.resetter["spike"]
            else:  # pragma: no cover - lower.py makes only the kinds above
                raise AssertionError(op.kind)
            obj.when, obj.order = op.phase, order
        self.net = b2.Network(*objects)
        self.net.schedule = list(PHASES) + BRIAN2_SLOTS
        self._arrays = {}

    def _namespace(self, ns: dict) -> dict:
        """The Program's constants for Brian2: names starting with ``tau`` are
        times (s), the others dimensionless."""
        sec = self.b2.second
        return {k: (v * sec if k.startswith("tau") else v) for k, v in ns.items()}

    def arr(self, owner: str, var: str):
        """The live state array of ``owner.var`` (the runtime device's own)."""
        key = (owner, var)
        a = self._arrays.get(key)
        if a is None:
            obj = self.G.get(owner) or self.S[owner]
            a = self._arrays[key] = obj.variables[var].get_value()
        return a

    # -- the three NetworkOperations ------------------------------------------------------
    def _stream(self):
        p, plan, t = self.p, self.plan, self.t
        e, i = divmod(t, p.k)
        if i == 0:
            self.task.begin_example()
            self._x, self._y = plan.example(e)
            if plan.first[e]:
                n = int(plan.size[e])
                self.scale = (1.0 / (p.n_teach * n), 1.0 / n)
        teach = i >= p.k - p.n_teach
        self._teach = teach
        step_scale, event_scale = self.scale
        for g in p.groups:
            for c in g.bias_terms:
                self.arr(g.name, c.var)[0] = self._coeff(c, teach, step_scale, event_scale)
            if g.traces and not g.spiking:
                self.arr(g.name, "first")[0] = 1.0 if t == 0 else 0.0
        go = 1.0 if (i == p.k - 1 and plan.last[e]) else 0.0
        for s in p.synapses:
            for c in s.coefficients:
                self.arr(s.name, c.var)[0] = self._coeff(c, teach, step_scale, event_scale)
            if s.plastic:
                self.arr(s.name, "go_w" if s.kind == "forward" else "go_B")[0] = go
        for g in p.groups:
            if g.bias_terms:
                self.arr(g.name, "go")[0] = go
        x0 = self.arr("L0", "xs" if p.spiking else "h")
        if self.inputs is not None:
            x0[:] = self.inputs[t]
        elif p.spiking:
            x0[:] = plan.encoder(self._x)[0]
        else:
            x0[:] = self._x[0]
        for l, rng in self.noise.items():
            xi = self.arr(f"L{l}", "nz")
            xi[:] = rng.standard_normal((1, len(xi)))[0]

    def _coeff(self, c, teach, step_scale, event_scale) -> float:
        if not teach:
            return 0.0
        eta = self.eta[c.layer - 1]
        if c.kind == "mirror":
            return eta * step_scale
        return c.coeff * (eta * (step_scale if c.kind == "step" else event_scale))

    def _task(self):
        p, L = self.p, self.p.L
        out = f"L{L}"
        loss = self.spec.training.loss
        y = self._y
        if p.spiking:
            readout = self.arr(out, "xh")[None].copy()
        else:
            readout = output_readout(self.arr(out, "a")[None], self.arr(out, "h")[None], loss)
        err = output_error(readout, y)
        glob, teacher = self.task(readout, y, err, self._teach)
        if p.needs_drive:
            self.arr(out, "delta")[:] = output_drive(teacher, self.arr(out, "fp")[None],
                                                     loss)[0]
        for s, v in glob.items():
            if s in p.globals_:
                for g in p.groups:
                    if s in g.has_globals:
                        self.arr(g.name, s)[0] = v[0, 0]
        if self.t < self.n_record:
            self.outputs[self.t] = readout[0]
            self.errors[self.t] = err[0]
            for g, name in zip(p.groups, self.names):
                if p.spiking:
                    self.spikes[name][self.t] = self.arr(g.name, "s")

    def _record(self):
        t = self.t
        if self.record_every and t < self.n_record and (t + 1) % self.record_every == 0:
            self.rec_steps.append(t)
            for l in self.plastic:
                self.rec_w[self.names[l]].append(self.weights(l))
        self.t += 1
        if self.t % 256 == 0:
            deadline.check(f"brian2 step {self.t}")

    # -- reading the state ---------------------------------------------------------------
    def weights(self, l: int) -> np.ndarray:
        s = next(s for s in self.p.synapses if s.name == f"S{l}")
        return self._matrix(s)

    def _matrix(self, s) -> np.ndarray:
        syn = self.S[s.name]
        out = np.empty(s.matrix.size)
        out[syn._nl_flat] = self.arr(s.name, s.weight)
        return out.reshape(s.matrix.shape)

    def params(self) -> Params:
        p = self.p
        W = [self._matrix(s) for s in p.synapses if s.kind == "forward"]
        b = [np.array(self.arr(f"L{l}", "b")) for l in range(1, p.L + 1)]
        B = {l: v.copy() for l, v in p.params.B.items()}
        for s in p.synapses:
            if s.kind == "feedback":
                B[s.layer] = self._matrix(s)
        return Params(W, b, B)

    def run_steps(self, n: int):
        """Advance the network by ``n`` steps."""
        self._arrays = {}   # arrays are fetched again after Brian2 prepares the run
        start = self.t
        self.net.run(n * self.dt, namespace={})
        if self.t != start + n:  # pragma: no cover - Brian2's clock is integral
            raise RuntimeError(f"brian2 ran {self.t - start} steps, not {n}")


def _dataset(spec, dataset):
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    return ds, population_factors(spec, ds)


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
             dataset=None, time_limit=None) -> Trace:
    """Brian2 on the shared training stream for ``steps`` steps, learning on; the same
    Trace as the reference's ``simulate``."""
    spec = _with_seed(spec, seed)
    program = lower(spec, precision, variant=variant)
    ds, (k_in, k_out) = _dataset(spec, dataset)
    plan = Plan(spec, ds, -(-steps // program.k), spec.training.seed, program.k,
                program.n_teach, k_in, k_out, steps=steps)
    t0 = time.perf_counter()
    with deadline.time_limit(time_limit):
        sess = Session(program, plan, program.variant, record_every, steps)
        build = time.perf_counter() - t0
        sess.run_steps(steps)
    wall = time.perf_counter() - t0
    weights = {n: np.asarray(v) if v else
               np.zeros((0,) + program.params.W[sess.names.index(n) - 1].shape)
               for n, v in sess.rec_w.items()}
    return Trace(backend=NAME, schedule=program.schedule.name, precision=precision,
                 steps=np.asarray(sess.rec_steps, dtype=int), weights=weights,
                 outputs=sess.outputs, errors=sess.errors, spikes=sess.spikes,
                 wall_seconds=wall,
                 extra={"params": sess.params(), "variant": program.variant,
                        "build_s": build, "run_s": wall - build})


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, variant=None,
        profile=None, time_limit=None) -> RunResult:
    """Train for ``epochs`` passes on Brian2; after each pass the reference evaluates
    the learned weights (the task tier grades learning the same way everywhere)."""
    t = spec.training
    program = lower(spec, precision, profile, variant)
    ds, (k_in, k_out) = _dataset(spec, dataset)
    epochs = t.epochs if epochs is None else epochs
    n = len(ds.x_train)
    plan = Plan(spec, ds, epochs * n, t.seed, program.k, program.n_teach, k_in, k_out)
    hist = new_history()
    ev = dict(k_in=k_in, k_out=k_out, seed=t.seed, classification=ds.classification)
    m = min(n, 512)
    same = ds.x_test.shape == ds.x_train.shape and np.array_equal(ds.x_test, ds.x_train)

    def record(ep, params, seconds):
        te = evaluate(spec, params, ds.x_test, ds.y_test, **ev)
        tr = te if same else evaluate(spec, params, ds.x_train[:m], ds.y_train[:m], **ev)
        add_history_row(hist, ep, te, tr, seconds)
        return te

    t_start = time.perf_counter()
    with deadline.time_limit(time_limit):
        sess = Session(program, plan, program.variant)
        build = time.perf_counter() - t_start
        record(0, program.params, 0.0)
        seconds = 0.0
        with Progress(epochs, f"{spec.name} brian2 ({program.variant})", quiet) as bar:
            for ep in range(1, epochs + 1):
                t0 = time.perf_counter()
                sess.run_steps(n * program.k)
                seconds += time.perf_counter() - t0
                if t.lr_decay != 1.0:  # eta shrinks after every pass, as in the reference
                    sess.eta = [e * t.lr_decay for e in sess.eta]
                te = record(ep, sess.params(), seconds)
                bar.update(1, f"loss {te[0]:.4f}" + (f" acc {te[1]:.3f}" if te[1] is not None
                                                     else ""))
    final = sess.params()
    steps = epochs * n * program.k
    return RunResult(
        backend=NAME, rule=spec.rule.display_name, dataset=ds.name, seed=t.seed,
        epochs=epochs, test_accuracy=hist["test_accuracy"][-1],
        test_loss=hist["test_loss"][-1], train_seconds=seconds, history=hist,
        precision=precision, spec_name=spec.name, weights=[w.copy() for w in final.W],
        extra={"variant": program.variant, "steps": steps, "build_s": build,
               "ms_per_step": 1000 * seconds / max(steps, 1),
               "population": [k_in, k_out], "schedule": program.schedule.describe()},
        state=final)
