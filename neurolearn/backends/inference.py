"""Inference with trained weights on an engine: what every backend's ``infer`` shares.

An engine runs a trained network the way it runs training, with learning off:

- **the network**: :func:`frozen_spec` makes every projection non-plastic (so the
  lowering builds plain Dense/Connection objects and no learning engine), replaces
  the rule by one that is never applied (the lowering then builds no feedback
  pathway), and drops momentum and batching; the trained W and b are the
  lowering's parameters, unchanged (biases become fixed offsets);
- **the stream** (:func:`presentation`): the test set in its order, each example
  shown for ``k = t_example / dt`` steps, one after another without a reset (state
  carries over, as on a chip; ``rest`` seconds without input before each example let
  it decay towards rest); spiking inputs come from the reference's encoder as its
  evaluation encodes them: the regular code starts every example at phase 0
  (:func:`encode_example`; a phase carried over from the previous example moves each
  input's spike count by up to one, which is 10 % of a 50 ms example at 200 Hz),
  poisson draws continue one generator; no teacher and no plasticity on any step;
- **the readout** (:func:`readout`): per example, the mean over its last
  ``n_teach = round(simulation.teach * k)`` steps (the window the reference's
  evaluation reads) of the output's activity (rate networks: the readout the loss
  sees) or of its events (spiking: event counts / (window dt max_rate)), pooled per
  population; class = argmax (or > 0.5 for one output), loss as the reference's
  evaluation computes it.

The reference's evaluation (:func:`neurolearn.reference.simulator.evaluate`, or the
batched trainer's for rate networks) shows each example from rest with no delays;
an engine's readout departs from it by the state an example inherits from the one
before (spiking; :func:`reference_on_stream` measures that part alone: the
reference's network over the engine's presentation), by its timing (one step per
projection on Lava, settled long before the window for rate networks) and by its
neuron model (nengo's LIF).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..reference.signals import loss_value
from ..reference.simulator import pool, population_factors, teach_steps, tile_data
from ..reference.stream import steps_per_example
from ..reference.trainer import accuracy
from ..rules.terms import Factor, Term

FROZEN_RULE = "none (inference)"
MAX_REST = 10.0  # s of rest before each example (a bound, like the spec's time fields)


def rest_steps(rest, dt: float) -> int:
    """Steps of ``rest`` seconds (None: 0); SpecError naming ``--rest`` otherwise."""
    from ..errors import SpecError
    if rest is None:
        return 0
    if isinstance(rest, bool) or not isinstance(rest, (int, float)) or \
            not np.isfinite(rest) or not 0 <= rest <= MAX_REST:
        raise SpecError(f"must be a number of seconds in [0, {MAX_REST:g}], got {rest!r}",
                        "--rest")
    return int(round(rest / dt))


def frozen_spec(spec):
    """``spec`` with learning off (module docstring). Feedback kinds that tie B to W
    (transport, learned) become 'random': nothing flows down a pathway at inference
    except a burst layer's apical input, which never feeds forward."""
    net = spec.network
    fb = net.feedback
    if fb.kind in ("transport", "learned"):
        fb = dataclasses.replace(fb, kind="random")
    layers = []
    for layer in net.layers:
        lf = layer.feedback
        if lf is not None and lf.kind in ("transport", "learned"):
            lf = dataclasses.replace(lf, kind="random")
        layers.append(dataclasses.replace(layer, plastic=False, feedback=lf))
    rule = type(spec.rule)(name=FROZEN_RULE, terms=[Term([Factor("pre", "activity"),
                                                          Factor("post", "activity")])],
                           eta=spec.rule.eta)
    tr = spec.training
    training = dataclasses.replace(tr, momentum=0.0, batch_size=1, lr_decay=1.0,
                                   loss="mse" if tr.loss == "reward" else tr.loss)
    return spec.with_(network=dataclasses.replace(net, layers=layers, feedback=fb),
                      rule=rule, training=training, reward=None)


def frozen_params(spec, params):
    """The trained parameters for :func:`frozen_spec`: a copy, with a zero feedback
    matrix where a pathway had none (transport feedback) and the frozen spec's
    lowering asks for one (burst layers' apical input)."""
    p = params.copy()
    sizes = spec.network.sizes
    for l in range(1, len(sizes) - 1):
        if l not in p.B:
            src = len(sizes) - 1 if spec.network.feedback_of(l).kind == "direct" else l + 1
            p.B[l] = np.zeros((sizes[l], sizes[src]))
    return p


@dataclass
class Window:
    """How a test set is presented: ``n`` examples, each ``rest`` steps without input
    then ``k`` steps shown, the readout over the last ``window`` steps of each;
    populations ``k_in``, ``k_out``."""
    n: int
    k: int
    window: int
    k_in: int
    k_out: int
    rest: int = 0

    @property
    def period(self) -> int:
        return self.rest + self.k

    @property
    def steps(self) -> int:
        return self.n * self.period


def presentation(spec, dataset, rest=None) -> Window:
    """How the test set is shown. A spec in phases: each example for the steps of its
    phases before the teacher (at least one), read at the last of them (the phased
    reference's readout); every example starts from its forward sweep, so there is
    no state for a rest to let decay (``rest`` must be 0 or unset)."""
    k_in, k_out = population_factors(spec, dataset)
    n_rest = rest_steps(rest, spec.simulation.dt)
    from ..rules.phases import is_phased, phases_of
    if is_phased(spec):
        if n_rest:
            from ..errors import SpecError
            raise SpecError("a spec in phases starts every example from its forward "
                            "sweep: there is nothing for a rest to let decay; give 0",
                            "--rest")
        free = []
        for p in phases_of(spec):
            if p.target:
                break
            free.append(p.steps)
        return Window(len(dataset.x_test), max(1, sum(free)), 1, k_in, k_out, 0)
    return Window(len(dataset.x_test), steps_per_example(spec.simulation),
                  teach_steps(spec.simulation), k_in, k_out, n_rest)


def presented_inputs(dataset, w: Window):
    """(x, y) of the test set tiled to the input and output populations."""
    return tile_data(dataset.x_test, w.k_in), tile_data(dataset.y_test, w.k_out)


def events_from_trace(trace, tau: float, dt: float, max_rate: float):
    """The 0/1 event train behind a unit-area trace x <- d x + g E (what an engine
    records as a spiking layer's readout): E = (x_t - d x_{t-1}) / g, exact to
    rounding, so it is rounded; a value far from 0 or 1 means the trace was not
    such a filter (an error)."""
    d = np.exp(-dt / tau)
    g = (1.0 - d) / (dt * max_rate)
    prev = np.vstack([np.zeros((1, trace.shape[1])), trace[:-1]])
    e = (trace - d * prev) / g
    r = np.rint(e)
    if np.max(np.abs(e - r), initial=0.0) > 1e-6:
        raise AssertionError("the readout is not a unit-area trace of events")
    return r


def readout(per_step, w: Window, *, spiking: bool, dt: float, max_rate: float):
    """Per-example readout (n, n_out) from per-step outputs (steps, n_out units):
    the window's mean of the activity (rate) or event count / (window dt max_rate)
    (spiking: ``per_step`` holds 0/1 events), pooled per population."""
    x = np.asarray(per_step)[:w.steps].reshape(w.n, w.period, -1)[:, w.period - w.window:]
    r = x.sum(axis=1) / (w.window * dt * max_rate) if spiking else x.mean(axis=1)
    return pool(r, w.k_out)


@dataclass
class Inference:
    """What an engine's inference run gives. ``outputs``: the output layer's
    per-step values the readout is read from (rate: the readout the loss sees;
    spiking: 0/1 events), (steps, n_out units); ``readout``: per example, pooled."""
    backend: str
    precision: str
    accuracy: float | None
    loss: float
    n: int
    outputs: np.ndarray = field(repr=False)
    readout: np.ndarray = field(repr=False)
    steps: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    weights: list | None = field(default=None, repr=False)  # W per layer as the engine held it


def grade(backend, precision, spec, dataset, w: Window, outputs, *, seconds=0.0,
          extra=None, weights=None) -> Inference:
    """The Inference of per-step ``outputs`` (see :func:`readout`)."""
    sim = spec.simulation
    spiking = spec.network.spiking
    r = readout(outputs, w, spiking=spiking, dt=sim.dt, max_rate=sim.max_rate)
    y = dataset.y_test
    loss = loss_value(r, y, "mse" if spiking else spec.training.loss)
    acc = accuracy(r, y) if dataset.classification else None
    return Inference(backend, precision, acc, loss, w.n, np.asarray(outputs), r,
                     w.steps, seconds, extra or {}, weights)


def encode_example(enc, x, k: int):
    """The input spikes of one example shown for k steps (x: (n_in,)), as the
    reference's evaluation encodes it: regular code from phase 0; poisson draws
    from ``enc``'s generator, which continues."""
    enc.phase[:] = 0.0
    return enc(np.broadcast_to(x, (k, len(x))))


def step_network(net, spec, dataset, w: Window):
    """Per-step outputs of a reference :class:`~neurolearn.reference.simulator.Network`
    (or an engine emulator's subclass of it) over the test stream, learning off:
    the readout (rate) or the output's events (spiking)."""
    from ..reference.simulator import Encoder
    x, y = presented_inputs(dataset, w)
    enc = Encoder(spec.simulation, x.shape[1], net.seed) if net.spiking else None
    out = np.zeros((w.steps, y.shape[1]))
    blank = np.zeros((w.rest, x.shape[1]))
    t = 0
    for i in range(w.n):
        xs = np.broadcast_to(x[i:i + 1], (w.k, x.shape[1])) if enc is None else \
            encode_example(enc, x[i], w.k)
        net.begin_example()
        for s, xt in enumerate(np.vstack([blank, xs])):
            r, _, _ = net.step(xt[None, :], y[i:i + 1], learn=False)
            out[t] = net._last_events[0] if net.spiking else r[0]
            t += 1
    return out


def reference_on_stream(spec, params, dataset, w: Window, schedule=None) -> Inference:
    """The reference's network (textbook schedule unless ``schedule``) over the
    engine's presentation of the test set: what the presentation alone changes."""
    from ..reference.simulator import Network
    from ..rules.phases import is_phased
    if is_phased(spec):  # the phased reference's readout (no carried state, no delays)
        return _phased_readout(spec, params, dataset, w)
    frozen = frozen_spec(spec)
    kw = {} if schedule is None else {"schedule": schedule}
    net = Network(frozen, params=frozen_params(frozen, params), **kw)
    import time
    t0 = time.perf_counter()
    out = step_network(net, frozen, dataset, w)
    return grade("numpy", "float", frozen, dataset, w, out,
                 seconds=time.perf_counter() - t0)


def _phased_readout(spec, params, dataset, w: Window) -> Inference:
    """The phased reference's readout of the test set (its evaluation), as per-step
    outputs read at each example's last step."""
    import time

    from ..reference.phased import PhasedTrainer
    x, _ = presented_inputs(dataset, w)
    t0 = time.perf_counter()
    r = PhasedTrainer(spec, params).predict(x)
    out = np.zeros((w.steps, r.shape[1]))
    out[w.period - 1::w.period] = r
    return grade("numpy", "float", spec, dataset, w, out, seconds=time.perf_counter() - t0)
