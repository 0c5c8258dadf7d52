"""The time-stepped face of the NumPy reference: one network model, run under any
:class:`~neurolearn.reference.schedule.Schedule` (the textbook one by default).

**Examples and updates.** Examples come from :mod:`neurolearn.reference.stream`,
each shown for ``k = t_example / dt`` steps; the last ``n_teach =
round(simulation.teach * k)`` of them are *plastic steps* (teacher and plasticity
on); before them the network settles without teacher (Payeur et al.'s prediction
phase). A schedule's ``hold_steps`` precede them (teacher and plasticity off, as
settling steps). State is not reset between examples. Examples are grouped into batches of
``training.batch_size`` within each pass over the training set (the last batch of a
pass may be smaller, as in the batched trainer). Every plastic step adds

    eta_l * sum_k c_k * (P_k^T Q_k) * syn_k / (n_teach * n_batch)

to layer l's accumulated change (P_k: product of the term's post signals, Q_k of its
pre signals, one row per parallel copy), i.e. each example contributes eta times its
rule value averaged over its plastic steps, and the batch's mean is applied after
its last plastic step through momentum (v = mu v + dW; W += v), exactly the batched
trainer's update for rate networks (:mod:`neurolearn.reference.trainer`). A schedule
with ``apply = "step"`` applies each plastic step's share at once instead. The bias
is a synapse from a unit of constant activity 1. Terms with ``when = "pre_spike"``
(``"post_spike"``) are masked by the step's pre (post) spikes. A learned feedback
matrix gets eta_{l+1} * (syn-free part of dW_{l+1})^T - eta_{l+1} * decay * B_l per
update (Kolen-Pollack), like the batched trainer. eta is multiplied by
``training.lr_decay`` after every pass.

**Order within a step**, bottom-up then top-down: each layer receives what its
forward projection delivers (this step's presynaptic output, or the one
``schedule.forward_delay`` steps old), updates its neurons; the readout and output
error are formed; the learning signals go down the feedback pathways (delayed by
``schedule.feedback_delay`` per projection); on plastic steps the rule is evaluated
with the step's pre and post signals. The forward pass uses the weights of the step's
start; a step's change takes effect at its end.

**Rate networks** (sigmoid, tanh, relu, linear, burst_rate): a_l = W_l h_{l-1} + b_l,
h_l = f(a_l); the learning signals are those of :mod:`neurolearn.reference.signals`
with the output error switched off outside plastic steps (no teacher). A factor
with a ``tau`` is its signal low-passed with that time constant (s) from its first
value; like every trace it advances on every step, settling steps included (traces
run in physical time, as a chip's synaptic traces do); ``activity_sq_avg`` is the
moving average of activity^2 over plastic steps (tau in s, 1 s if unset). With one step per example (``t_example = dt``) the run is, update for
update, the batched trainer on the stream's batches (bit-identical for batch size
1; to rounding otherwise).

**Spiking networks** (lif, burst): neuron equations in :mod:`neurolearn.rules.neurons`
(current-based synapse I_l = low-pass(W_l s_{l-1}) with the layer's tau_syn,
J = threshold + gain (I + b) + noise). Activity 1 = ``simulation.max_rate`` Hz;
traces are unit-area low-pass filters, x <- d x + (1 - d) s / (dt max_rate).

- Input: spikes from :func:`neurolearn.reference.stream.encode` (regular or poisson);
  an input spike is also an event.
- Readout and ``activity``: the tau_syn trace of a layer's spikes (lif) or events
  (burst); the input layer's uses layer 1's tau_syn. A factor with its own tau gets
  its own trace; ``pre.event_trace`` is the trace of presynaptic events (E~_j).
- Spiking feedback alignment (``post.error_drive``): output error e = readout - y,
  drives as in signals.py with the surrogate f'(a) = [I + b > 0].
- Burst neurons (:class:`neurolearn.reference.neurons.BurstNeuron`): events and
  bursts as :mod:`neurolearn.reference.burst` reads them from the spike train (the
  neuron's somatic spikes and burst spikes, which are the same, bit for bit);
  ``post.event`` = E_i(t), ``post.burst`` = B_i(t), ``post.pbar_event`` =
  P_bar_i(t-) E_i(t). Apical input: output u = y - e_hat_L (its event trace read
  before the step's own event) while teaching, else 0; hidden u_l = low-pass with
  the layer's tau_apical of M_l (B_src - p_b,src E_src) (signals.apical_drive),
  i.e. M_l (b_hat - p_b e_hat): only burst probability above or below baseline
  teaches (Payeur's event-cancelling interneurons). Bursts never feed forward.
- Random draws: poisson input ``default_rng([seed, 3])``; per layer l, burst draws
  ``default_rng([seed, 4, l])`` and current noise ``default_rng([seed, 5, l])``.

**Populations**: where a layer is k times wider than the data set (input k * n_in,
output k * n_out), each input value drives k consecutive units, each target teaches
k units, and the readout is averaged over each group of k (:func:`tile_data`,
:func:`pool`): Payeur's populations of neurons.

**Evaluation** (:func:`evaluate`): every test example from rest, in parallel, for
``t_example`` without learning or teacher; readout = the mean of the output's
activity (rate) or of its spikes/events over the example's plastic window, pooled;
class = argmax, or readout > 0.5 for a single output.
"""

from __future__ import annotations

import time
from collections import namedtuple
from dataclasses import replace

import numpy as np

from ..data import load_dataset
from ..errors import SpecError, UnsupportedRule
from ..progress import Progress
from ..result import RunResult, Trace, add_history_row, new_history
from ..rules.neurons import Burst
from ..rules.schema import to_dict
from . import kernels
from .burst import BurstAverages
from .neurons import LIF, BurstNeuron
from .params import Params, init_params
from .reward import RewardState
from .schedule import TEXTBOOK, Schedule
from .signals import (_T, apical_drive, burst_prob_devs, error_drives, feedback_matrix,
                      feedback_source, layer_etas, loss_value, output_error,
                      output_readout)
from .stream import example_order, steps_per_example
from .terms import CompiledTerm, add_sparse, error_free_part
from .trainer import accuracy

NAME = "numpy"


def teach_steps(sim) -> int:
    """Plastic steps per example: the last ``teach`` fraction, at least one."""
    return max(1, int(round(sim.teach * steps_per_example(sim))))


# -- populations ---------------------------------------------------------------------
def population_factors(spec, dataset) -> tuple[int, int]:
    """(k_in, k_out): how many units of the input/output layer per data dimension."""
    sizes = spec.network.sizes
    last = len(sizes) - 1
    if sizes[0] % dataset.n_in:
        raise SpecError(f"must be a multiple of the input size of data set "
                        f"{dataset.name!r} ({dataset.n_in}), got {sizes[0]}",
                        "network.layers[0].size")
    if sizes[-1] % dataset.n_out:
        raise SpecError(f"must be a multiple of the output size of data set "
                        f"{dataset.name!r} ({dataset.n_out}), got {sizes[-1]}",
                        f"network.layers[{last}].size")
    return sizes[0] // dataset.n_in, sizes[-1] // dataset.n_out


def tile_data(x, k: int):
    """Each column repeated k times side by side: unit i*k + j carries column i."""
    return x if k == 1 else np.repeat(x, k, axis=1)


def pool(readout, k: int):
    """Mean over each group of k consecutive units (inverse of :func:`tile_data`)."""
    if k == 1:
        return readout
    return readout.reshape(*readout.shape[:-1], -1, k).mean(axis=-1)


# -- building blocks -------------------------------------------------------------------
class Filter:
    """Unit-area low-pass filter in activity units (1 = max_rate Hz)."""

    def __init__(self, tau, dt, max_rate, shape):
        self.d = np.exp(-dt / tau)
        self.g = (1.0 - self.d) / (dt * max_rate)
        self.x = np.zeros(shape)
        # the constants as arrays of the state's shape: the same products, without
        # numpy's scalar conversion on every step
        self._d, self._g = np.full(shape, self.d), np.full(shape, self.g)

    def __call__(self, s):
        self.x = self._d * self.x + self._g * s
        return self.x


class _Delay:
    """A delay line of ``n`` steps: push this step's value, get the one ``n`` old
    (zeros at first); n = 0 passes the value through."""

    def __init__(self, n: int):
        self.n = n
        self.buf = []

    def __call__(self, value):
        if self.n == 0:
            return value
        self.buf.append(value)
        if len(self.buf) <= self.n:
            return np.zeros_like(value) if not isinstance(value, tuple) else \
                tuple(np.zeros_like(v) for v in value)
        return self.buf.pop(0)


class _Draws:
    """Each call returns this step's draws, (n_copies, *shape), from one generator per
    copy (``rng.<kind>(shape)`` per step), drawn ``chunk`` steps ahead: the same
    numbers as one call per step, with one Python call per chunk instead of one per
    step and copy. :meth:`state` / :meth:`load` give the generators' states at the
    start of the chunk and the position in it."""

    def __init__(self, rngs, shape, kind: str, chunk: int):
        self.rngs, self.shape, self.kind, self.chunk = rngs, tuple(shape), kind, chunk
        self.buf = np.empty((chunk, len(rngs), *shape))  # a step's draws contiguous
        self._one = np.empty((chunk, *shape)) if len(rngs) > 1 else None
        self.i = chunk  # nothing drawn yet
        self.start = None

    def _fill(self):
        self.start = [r.bit_generator.state for r in self.rngs]
        if self._one is None:
            getattr(self.rngs[0], self.kind)(out=self.buf[:, 0])
        else:
            for g, r in enumerate(self.rngs):
                getattr(r, self.kind)(out=self._one)
                self.buf[:, g] = self._one
        self.i = 0

    def __call__(self):
        if self.i == self.chunk:
            self._fill()
        self.i += 1
        return self.buf[self.i - 1]

    def rewind(self):
        """Put the generators where one call per step would have left them."""
        if self.start is not None and self.i < self.chunk:
            for r, st in zip(self.rngs, self.start):
                r.bit_generator.state = st
                if self.i:
                    getattr(r, self.kind)((self.i, *self.shape))
        self.i, self.start = self.chunk, None

    def state(self) -> dict:
        return {"start": self.start, "i": self.i}

    def load(self, st: dict):
        if st["start"] is None:
            self.i, self.start = self.chunk, None
            return
        for r, s in zip(self.rngs, st["start"]):
            r.bit_generator.state = s
        self._fill()
        self.i = int(st["i"])


def _chunk(n_values: int) -> int:
    """Steps of draws to make at once: up to 256, at most about 8 MB."""
    return max(1, min(256, (1 << 20) // max(1, n_values)))


# -- the network -----------------------------------------------------------------------
class _LayerInfo:
    """What a step needs to know of layer l, looked up once."""

    def __init__(self, net, l):
        layer = net.layers[l]
        n = layer.neuron
        self.neuron = n
        self.burst = isinstance(n, Burst)
        self.plastic = bool(l and layer.plastic)
        self.bias = bool(l and layer.bias)
        self.threshold = getattr(n, "threshold", None)
        self.gain = getattr(n, "gain", None)
        self.noise = getattr(n, "noise", 0.0)


def per_copy(values):
    """The copies' common value (a float), or their values as an array (G, 1, 1)
    where they differ: it multiplies each copy's (G, ...) arrays with the products a
    lone network's float makes."""
    values = [float(v) for v in values]
    return values[0] if len(set(values)) == 1 else np.array(values)[:, None, None]


def _copy_etas(etas, G: int, L: int) -> list:
    """Per plastic layer: the copies' learning rates (:func:`per_copy`)."""
    if len(etas) != G or any(len(row) != L for row in etas):
        raise ValueError(f"etas: one list of {L} learning rates per copy ({G}), got "
                         f"{[len(row) for row in etas]}")
    return [per_copy(row[l] for row in etas) for l in range(L)]


class Network:
    """A spec's network under ``schedule``: ``n_par`` parallel rows (examples) of one
    network, or with ``seeds`` one independent copy per seed, each with its own
    parameters, generators and state.

    One network (``seeds`` None): ``params`` is that network's Params, updated in
    place; :meth:`step` takes and returns (n_par, width) arrays.
    Copies (``seeds`` a list): ``params`` is None (each copy draws its own from its
    seed) or a list of Params, one per copy; :meth:`step` takes and returns
    (n_copies, n_par, width) arrays; ``copy_params[g]`` holds copy g's parameters
    (views of the stacked arrays the copies learn in). Every copy computes what a
    lone network with its seed computes, bit for bit (numpy's stacked operations
    repeat the lone network's per copy). ``etas``, ``momenta`` (copies only): each
    copy's learning rate per plastic layer (:func:`layer_etas` of its rule) and
    momentum, for copies whose specs differ only in those; a copy's value multiplies
    its own arrays with the same products as a lone network's float
    (:func:`per_copy`).

    Units: ``units[l]`` is a :class:`~neurolearn.reference.neurons.LIF` or
    ``BurstNeuron`` over (n_copies, n_par, n). A subclass may put in its own units
    (an engine's neuron arithmetic) with the lone network's interface, ``step(J)``
    on (n_par, n) arrays returning 0/1 spikes; those run with one copy.
    """

    def __init__(self, spec, params: Params | None = None, seed: int | None = None,
                 n_par: int = 1, schedule: Schedule = TEXTBOOK, seeds=None, etas=None,
                 momenta=None):
        if getattr(spec, "phases", None):  # their meaning: reference/phased.py
            raise UnsupportedRule(NAME, f"phased spec {spec.name!r} in the time-stepped "
                                  "simulator", "it has one plastic window per example "
                                  "(simulation.teach)", "numpy (the phased reference)")
        self.spec = spec
        self.net = spec.network
        self.sim = spec.simulation
        self.schedule = schedule
        self.flat = seeds is None
        if self.flat:
            self.seeds = [spec.training.seed if seed is None else seed]
        else:
            self.seeds = [int(s) for s in seeds]
            if not self.seeds:
                raise ValueError("seeds: give at least one")
        self.seed = self.seeds[0]
        self.G = len(self.seeds)
        self.L = len(self.net.layers) - 1
        self.neurons = [layer.neuron for layer in self.net.layers]
        self.info = [_LayerInfo(self.net, l) for l in range(self.L + 1)]
        self.spiking = self.net.spiking
        self.terms = spec.rule.resolved_terms()
        self.eta = layer_etas(spec.rule, self.L) if etas is None else \
            _copy_etas(etas, self.G, self.L)
        self.momentum = spec.training.momentum if momenta is None else per_copy(momenta)
        self.loss = spec.training.loss
        self.tag_rule = spec.rule.resolved_tag()
        self.reward = spec.reward
        self._check()
        self._trace_factors = self._find_trace_factors()
        self.post_needed = spec.rule.signals("post")
        self._sq_tau = self._activity_sq_tau()
        self._compile()
        if self.flat:
            plist = [params if params is not None else init_params(self.net, self.seed)]
        elif params is None:
            plist = [init_params(self.net, s) for s in self.seeds]
        else:
            plist = list(params)
            if len(plist) != self.G:
                raise ValueError(f"params: one per seed ({self.G}), got {len(plist)}")
        self._bind(plist)
        self._vel = None
        # one generator per layer (and copy), so an engine that runs each layer in its
        # own process draws the same numbers
        self.burst_rng = [[np.random.default_rng([s, 4, l]) for s in self.seeds]
                          for l in range(self.L + 1)]
        self.noise_rng = [[np.random.default_rng([s, 5, l]) for s in self.seeds]
                          for l in range(self.L + 1)]
        # the schedule's hold steps come first: settling steps in all but name
        self.k = steps_per_example(self.sim) + schedule.hold_steps
        self.teach_steps = teach_steps(self.sim)
        self.n_steps = 0
        # the reward task's state (decision, reward, running mean r_bar, action
        # generator [seed, 6]): one RewardState per copy, the code an engine's output
        # population runs too
        self.reward_states = None if self.reward is None else [
            RewardState(self.reward, s, self.teach_steps, self.sim.dt, self.loss)
            for s in self.seeds]
        self.tags = [np.zeros_like(w) for w in self.W] if self.tag_rule else None
        self.begin_batch(1)
        self.reset(n_par)

    def _bind(self, plist):
        """Stack the copies' parameters (G, ...) and make each copy's Params views of
        the stacks; with one copy the stacks are views of its own arrays."""
        if len(plist) == 1:
            p = plist[0]
            self.W = [w[None] for w in p.W]
            self.bv = [v[None] for v in p.b]
            self.Bm = {k: v[None] for k, v in p.B.items()}
            self.copy_params = [p]
        else:
            self.W = [np.stack([p.W[i] for p in plist]) for i in range(self.L)]
            self.bv = [np.stack([p.b[i] for p in plist]) for i in range(self.L)]
            self.Bm = {k: np.stack([p.B[k] for p in plist]) for k in plist[0].B}
            self.copy_params = [Params([w[g] for w in self.W], [v[g] for v in self.bv],
                                       {k: v[g] for k, v in self.Bm.items()})
                                for g in range(self.G)]
        self.params = self.copy_params[0]
        self.pv = Params(self.W, self.bv, self.Bm)  # the stacks, for signals.py
        self.WT = [_T(w) for w in self.W]
        self.b3 = [v[:, None, :] for v in self.bv]
        # M_l of the apical input u_l = trace(sent) M_l^T, as sent @ M_l^T
        self.MT = {l: _T(feedback_matrix(self.net, self.pv, l)) for l in range(1, self.L)
                   if self.info[l].burst}
        self._work = [np.empty_like(w) for w in self.W]

    def _check(self):
        rule = self.spec.rule
        if not self.spiking:
            for t in self.terms:
                if t.when != "step":
                    raise UnsupportedRule(
                        "numpy time-stepped simulator", f"term '{t}' of rule "
                        f"{rule.display_name!r}", f"'when = {t.when}' needs spikes and this "
                        "network has rate neurons", "a network of lif or burst neurons")
        if self.spiking and "burst_prob_dev" in rule.signals("post"):
            raise UnsupportedRule("numpy time-stepped simulator", "post signal "
                                  "'burst_prob_dev'", "it is the rate form (burst_rate "
                                  "neurons)", "burst neurons with builtin 'burstprop'")

    def _compile(self):
        """Terms with their signal names, and each projection's own traces."""
        tf = self._trace_factors

        def name_of(fa):
            return _name(fa) if fa.key in tf else fa.signal
        self.cterms = [CompiledTerm(t, name_of) for t in self.terms]
        self.ctag_terms = [CompiledTerm(t, name_of) for t in self.tag_rule.terms] \
            if self.tag_rule else []
        dt, mr = self.sim.dt, self.sim.max_rate
        self.trace_plan = []
        for l in range(self.L):  # projection l: layer l -> l + 1
            plan = []
            for key, fa in tf.items():
                tau = fa.tau if fa.tau is not None else self.neurons[max(l, 1)].tau_syn
                d = np.exp(-dt / tau)
                if self.spiking:
                    jump = 1.0 if fa.signal == "spike_trace" else (1.0 - d) / (dt * mr)
                else:
                    jump = 1.0 - d
                plan.append(((l, key), _name(fa), fa.kind == "pre", d, jump,
                             fa.update == "set", fa.read == "before"))
            self.trace_plan.append(plan)
        self.tag_decay = np.exp(-dt / self.tag_rule.tau) if self.tag_rule else None
        self.burst_down = [l for l in range(self.L, 0, -1) if self.info[l].burst]
        self.fb_src = {l: feedback_source(self.net, l) for l in range(1, self.L)}
        self.learned_fb = [l for l in range(1, self.L)
                           if self.net.feedback_of(l).kind == "learned"]

    # -- state -----------------------------------------------------------------------
    def reset(self, n_par: int = 1):
        """Fresh dynamic state (weights, accumulated changes and momentum are kept)."""
        self.n_par = n_par
        sizes, dt, mr = self.net.sizes, self.sim.dt, self.sim.max_rate
        G = self.G
        shape = lambda l: (G, n_par, sizes[l])  # noqa: E731
        self.acc_W = [np.zeros_like(w) for w in self.W]
        self.acc_b = [np.zeros_like(b) for b in self.bv]
        # per layer, where acc_W may be nonzero: a list of add_to's answers, or None
        # (anywhere): apply then touches only those rows and columns
        self._touched = [[] for _ in self.W]
        self.acc_B = {k: np.zeros_like(v) for k, v in self.Bm.items()}
        self.filters = {}  # (layer, factor key) -> trace state
        self._trace_consts = {}  # key -> (decay, jump) as arrays of the trace's shape
        self.last_bursts = {}  # burst layer -> (E, B, P_bar before the step)
        self._evaluating = False  # infer_events ran: rate estimates are behind
        self.begin_example()
        sch = self.schedule
        self.fwd = [None] + [_Delay(sch.forward_delay) for _ in range(self.L)]
        self.fb = {}  # (hidden layer, signal) -> _Delay of its feedback pathway
        self._drive_line = self._delay_line("drive")
        self._burst_line = self._delay_line("burst")
        self._apical_line = self._delay_line("apical")
        if not self.spiking:
            return
        for d in getattr(self, "_draws", []):
            d.rewind()
        kernels.warm(len(shape(0)))  # numba's load belongs to the build, not to a step
        self.noise = [None] * (self.L + 1)  # per layer: current noise, burst draws
        self.burst_draws = [None] * (self.L + 1)
        self._draws = []
        for l in range(1, self.L + 1):
            shp = (n_par, sizes[l])
            if self.info[l].noise:
                self.noise[l] = _Draws(self.noise_rng[l], shp, "standard_normal",
                                       _chunk(G * n_par * sizes[l]))
                self._draws.append(self.noise[l])
            if self.info[l].burst and self.neurons[l].burst_draw == "random":
                self.burst_draws[l] = _Draws(self.burst_rng[l], shp, "random",
                                             _chunk(G * n_par * sizes[l]))
                self._draws.append(self.burst_draws[l])
        # J = threshold + gain * net + noise * z, the constants as arrays of the state's
        # shape (the same products, without a scalar conversion per step); a gain or
        # noise of 1 is None (times 1 is exact), and noisy says whether z is drawn
        def const(c, l):
            return None if c is None or c == 1.0 else np.full(shape(l), float(c))
        self._J = [None] + [(np.full(shape(l), float(self.info[l].threshold)),
                             const(self.info[l].gain, l), const(self.info[l].noise, l),
                             bool(self.info[l].noise))
                            for l in range(1, self.L + 1)]
        self.units = [None]
        self.averages = [None]  # burst layers' E_bar, B_bar, P_bar
        for l in range(1, self.L + 1):
            n = self.neurons[l]
            if isinstance(n, Burst):
                self.units.append(BurstNeuron(n, sizes[l], dt, (G, n_par), n.burst_draw))
                # the unit gives its events and bursts (BurstNeuron): only the averages
                self.averages.append(BurstAverages(sizes[l], dt, n.tau_avg, n.p_baseline,
                                                    (G, n_par)))
            else:
                self.units.append(LIF(n, sizes[l], dt, (G, n_par)))
                self.averages.append(None)
        tau_syn = [self.neurons[max(l, 1)].tau_syn for l in range(self.L + 1)]
        self.current = [None] + [Filter(tau_syn[l], dt, mr, shape(l))
                                 for l in range(1, self.L + 1)]
        self.xhat = [Filter(tau_syn[l], dt, mr, shape(l)) for l in range(self.L + 1)]
        self.apical = {l: Filter(self.neurons[l].tau_apical, dt, mr, shape(l))
                       for l in range(1, self.L + 1) if isinstance(self.neurons[l], Burst)}
        self.ehat = Filter(self.neurons[self.L].tau_apical, dt, mr, shape(self.L)) \
            if self.info[self.L].burst else None

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything that changes while the network learns, between two examples, as
        ``{"arrays": {name: ndarray}, "meta": {JSON-able}}``: parameters (``W.i``,
        ``b.i``, ``B.l``: a lone network's own shapes, stacked over copies otherwise),
        accumulated changes, momentum velocities, tags, traces and filters, delay
        lines, neuron and burst-average state, generator states (burst, noise,
        action; draws made ahead are re-made from the state at their chunk's start),
        r_bar, eta after its decays. :meth:`load_state_dict` on a network built from
        the same spec, seeds and n_par continues bit for bit."""
        one = self.G == 1
        arr = {}

        def put(name, a):
            arr[name] = np.array(a[0] if one else a, copy=True)
        for i in range(self.L):
            put(f"W.{i}", self.W[i])
            put(f"b.{i}", self.bv[i])
            put(f"acc.W.{i}", self.acc_W[i])
            put(f"acc.b.{i}", self.acc_b[i])
            if self.tags is not None:
                put(f"tag.{i}", self.tags[i])
        for k in self.Bm:
            put(f"B.{k}", self.Bm[k])
            put(f"acc.B.{k}", self.acc_B[k])
        if self._vel is not None:
            vW, vb, vB = self._vel
            for i in range(self.L):
                put(f"vel.W.{i}", vW[i])
                put(f"vel.b.{i}", vb[i])
            for k in vB:
                put(f"vel.B.{k}", vB[k])
        # stacked state: always with the copies axis
        filters = []
        for j, (key, x) in enumerate(self.filters.items()):
            filters.append([key[0], list(key[1]) if isinstance(key[1], tuple) else key[1]])
            arr[f"s.filter.{j}"] = np.array(x.x if isinstance(x, Filter) else x, copy=True)
        lines = []
        for j, (name, line) in enumerate(self._delay_lines()):
            lines.append([name, [len(v) if isinstance(v, tuple) else None for v in line.buf]])
            for m, v in enumerate(line.buf):
                for t, part in enumerate(v if isinstance(v, tuple) else (v,)):
                    arr[f"s.line.{j}.{m}.{t}"] = np.array(part, copy=True)
        for name, a in self._dynamic_arrays():
            arr[f"s.{name}"] = np.array(a, copy=True)
        meta = {"copies": self.G, "seeds": list(self.seeds), "n_par": self.n_par,
                "eta": [float(e) if np.ndim(e) == 0 else np.ravel(e).tolist()
                        for e in self.eta], "n_steps": self.n_steps,
                "r_bar": [rs.r_bar for rs in self.reward_states or ()],
                "velocity": self._vel is not None, "B": sorted(self.Bm),
                "filters": filters, "lines": lines,
                "rng": {"burst": [[r.bit_generator.state for r in rs] for rs in self.burst_rng],
                        "noise": [[r.bit_generator.state for r in rs] for rs in self.noise_rng],
                        "action": [rs.rng.bit_generator.state
                                   for rs in self.reward_states or ()]},
                "draws": [d.state() for d in getattr(self, "_draws", [])],
                "clocks": self._clocks()}
        return {"arrays": arr, "meta": meta}

    def _clocks(self) -> list:
        """Step counters of the somata (spiking), as [t, None] per layer (the second
        slot held a burst detector's, which the Network no longer runs)."""
        if not self.spiking:
            return []
        out = []
        for l in range(1, self.L + 1):
            unit = self.units[l]
            soma = unit.soma if isinstance(unit, BurstNeuron) else unit
            out.append([getattr(soma, "t", None), None])
        return out

    def load_state_dict(self, state: dict):
        a, meta = state["arrays"], state["meta"]
        if meta["copies"] != self.G or meta["n_par"] != self.n_par:
            raise ValueError(f"state of {meta['copies']} copies x {meta['n_par']} rows, "
                             f"this network has {self.G} x {self.n_par}")
        # in place: the copies' Params and the transposed views share these arrays
        for i in range(self.L):
            self.W[i][...] = a[f"W.{i}"]
            self.bv[i][...] = a[f"b.{i}"]
            self.acc_W[i][...] = a[f"acc.W.{i}"]
            self._touched[i] = None  # apply the loaded accumulator densely
            self.acc_b[i][...] = a[f"acc.b.{i}"]
            if self.tags is not None:
                self.tags[i][...] = a[f"tag.{i}"]
        for k in self.Bm:
            self.Bm[k][...] = a[f"B.{k}"]
            self.acc_B[k][...] = a[f"acc.B.{k}"]
        self._vel = None
        if meta["velocity"]:
            self._vel = ([np.zeros_like(w) for w in self.W], [np.zeros_like(v) for v in self.bv],
                         {k: np.zeros_like(v) for k, v in self.Bm.items()})
            vW, vb, vB = self._vel
            for i in range(self.L):
                vW[i][...] = a[f"vel.W.{i}"]
                vb[i][...] = a[f"vel.b.{i}"]
            for k in vB:
                vB[k][...] = a[f"vel.B.{k}"]
        filters = {}
        for j, (l, key) in enumerate(meta["filters"]):
            k = (int(l), tuple(key) if isinstance(key, list) else key)
            x = np.array(a[f"s.filter.{j}"])
            if isinstance(self.filters.get(k), Filter):
                self.filters[k].x = x
                filters[k] = self.filters[k]
            else:
                filters[k] = x
        self.filters = filters
        lines = dict(self._delay_lines(create=[name for name, _ in meta["lines"]]))
        for j, (name, parts) in enumerate(meta["lines"]):
            lines[name].buf = [
                np.array(a[f"s.line.{j}.{m}.0"]) if n is None else
                tuple(np.array(a[f"s.line.{j}.{m}.{t}"]) for t in range(n))
                for m, n in enumerate(parts)]
        for name, arr in self._dynamic_arrays():
            arr[...] = a[f"s.{name}"]
        self.eta = [np.array(e, float)[:, None, None] if isinstance(e, list) else float(e)
                    for e in meta["eta"]]
        self.n_steps = int(meta["n_steps"])
        rng = meta["rng"]
        for rs, sts in ((self.burst_rng, rng["burst"]), (self.noise_rng, rng["noise"])):
            for layer, layer_st in zip(rs, sts):
                for r, st in zip(layer, layer_st):
                    r.bit_generator.state = st
        for rs, r_bar, st in zip(self.reward_states or (), meta["r_bar"], rng["action"]):
            rs.r_bar = float(r_bar)
            rs.rng.bit_generator.state = st
        for d, st in zip(getattr(self, "_draws", []), meta["draws"]):
            d.load(st)
        for l, (ts, _) in enumerate(meta.get("clocks", []), start=1):
            unit = self.units[l]
            if ts is not None:
                (unit.soma if isinstance(unit, BurstNeuron) else unit).t = int(ts)
        self.begin_example()

    def _delay_lines(self, create=()):
        """(name, _Delay) of every delay line that holds values."""
        for key in create:
            if key.startswith("fb."):
                _, l, sig = key.split(".", 2)
                self.fb.setdefault((int(l), sig), _Delay(self.schedule.feedback_delay))
        out = [(f"fwd.{l}", self.fwd[l]) for l in range(1, self.L + 1)]
        out += [(f"fb.{l}.{sig}", line) for (l, sig), line in sorted(self.fb.items())]
        return [(n, line) for n, line in out if line.buf or n in create]

    def _dynamic_arrays(self):
        """(name, array) of the neurons', burst averages' and filters' state (spiking)."""
        if not self.spiking:
            return []
        out = [("xhat.0", self.xhat[0].x)]
        for l in range(1, self.L + 1):
            unit, avg = self.units[l], self.averages[l]
            soma = unit.soma if isinstance(unit, BurstNeuron) else unit
            if hasattr(soma, "release"):
                out += [(f"v.{l}", soma.v), (f"release.{l}", soma.release)]
            else:  # a subclass's own unit: its arrays
                out += [(f"unit.{l}.{k}", a) for k, a in sorted(vars(soma).items())
                        if isinstance(a, np.ndarray)]
            out += [(f"current.{l}", self.current[l].x), (f"xhat.{l}", self.xhat[l].x)]
            if avg is not None:
                out += [(f"burst_acc.{l}", unit.acc), (f"due.{l}", unit.due),
                        (f"E_bar.{l}", avg.E_bar), (f"B_bar.{l}", avg.B_bar),
                        (f"apical.{l}", self.apical[l].x)]
        if self.ehat is not None:
            out.append(("ehat", self.ehat.x))
        return out

    def begin_batch(self, n_examples: int):
        """Start a batch of ``n_examples``: each plastic step adds a step term's value
        divided by (plastic steps per example * n_examples), i.e. its mean over the
        example's plastic steps; a spike-triggered term adds its value at each spike
        divided by n_examples (its sum over the example's plastic steps)."""
        self.step_scale = 1.0 / (self.teach_steps * n_examples)
        self.event_scale = 1.0 / n_examples

    @property
    def reward_state(self):
        """The lone network's :class:`~neurolearn.reference.reward.RewardState` (None
        without spec.reward); with copies, ``reward_states[g]`` is copy g's."""
        if self.reward_states is None:
            return None
        if self.G != 1:
            raise ValueError(f"{self.G} independent copies: use reward_states[g]")
        return self.reward_states[0]

    def begin_example(self):
        """A new example: forget the previous one's decision (reward tasks)."""
        for rs in self.reward_states or ():
            rs.begin_example()

    def _rate_trace(self, key, d, one_minus_d, h):
        """Rate nets: a signal low-passed (decay d per step), from its first value."""
        x = self.filters.get(key)
        x = h.copy() if x is None else d * x + one_minus_d * h
        self.filters[key] = x
        return x

    def _find_trace_factors(self):
        """Factors of the weight and tag terms that carry their own trace: a pre or
        post activity with its own tau, every event_trace and spike_trace."""
        out = {}
        tag_terms = self.tag_rule.terms if self.tag_rule else []
        for t in list(self.terms) + list(tag_terms):
            for fa in t.factors:
                if fa.kind in ("pre", "post") and (
                        fa.signal in ("event_trace", "spike_trace") or
                        (fa.signal == "activity" and fa.tau is not None)):
                    out[fa.key] = fa
        return out

    def _activity_sq_tau(self):
        taus = {f.tau for f in self.spec.rule.all_factors()
                if f.kind == "post" and f.signal == "activity_sq_avg"} - {None}
        tau = next(iter(taus), 1.0)
        d = np.exp(-self.sim.dt / tau)
        return d, 1.0 - d

    def _delay_line(self, name):
        def delayed(l, value):
            """What hidden layer l receives of its feedback source's ``name`` signal
            this step (one delay line per layer and signal)."""
            key = (l, name)
            if key not in self.fb:
                self.fb[key] = _Delay(self.schedule.feedback_delay)
            return self.fb[key](value)
        return delayed

    # -- one step -------------------------------------------------------------------------
    def teaching(self, step_in_example: int) -> bool:
        """Whether the teacher and plasticity are on at this step of an example."""
        return step_in_example >= self.k - self.teach_steps

    def step(self, x, y, learn: bool = True, apical: dict | None = None, teach: bool = True):
        """One step with input x (rates, or 0/1 spikes for spiking nets) and target y,
        both (n_par, width), or (n_copies, n_par, width) for copies. ``learn=False``:
        inference only (no teacher, bursts or plasticity). ``teach=False``: a settling
        step: no teacher and no plasticity, but bursts, moving averages and learning
        signals run. ``apical`` maps a burst layer's index to an apical input that
        replaces its teacher or feedback this step (to probe the mechanism). Returns
        (readout, error, spikes or None)."""
        if self.flat:
            x, y = x[None], y[None]
            if apical:
                apical = {l: np.asarray(u)[None] for l, u in apical.items()}
        if self.spiking:
            out = self._step_spiking(x, y, learn, apical, teach)
        else:
            out = self._step_rate(x, y, learn, teach)
        if learn and teach:
            self.n_steps += 1
            if self.schedule.apply == "step":
                self.apply()
        if self.flat:
            r, e, s = out
            return r[0], e[0], (None if s is None else [v[0] for v in s])
        return out

    def _step_rate(self, x, y, learn, teach):
        a_list, h_list = [], [x]
        delay = self.schedule.forward_delay
        for l in range(1, self.L + 1):
            z = np.matmul(h_list[-1], self.WT[l - 1])
            if delay:
                z = self.fwd[l](z)
            a = z + self.b3[l - 1]
            a_list.append(a)
            h_list.append(self.neurons[l].f(a))
        y_hat = output_readout(a_list[-1], h_list[-1], self.loss)
        err = output_error(y_hat, y)
        if not learn:
            return y_hat, err, None
        glob, teacher_err = self._reward_step(y_hat, y, err, teach)
        need = self.post_needed
        post = [dict(glob) for _ in range(self.L)]
        if "error_drive" in need:
            fp = [self.neurons[l].fprime(a_list[l - 1], h_list[l])
                  for l in range(1, self.L + 1)]
            for l, d in enumerate(error_drives(self.net, self.pv, fp, teacher_err,
                                               self.loss, delayed=self._drive_line)):
                post[l]["error_drive"] = d
        if "burst_prob_dev" in need:
            target = y if teach else h_list[-1]  # no teacher: p = p_bar at the output
            for l, d in enumerate(burst_prob_devs(self.net, self.pv, h_list, target,
                                                  delayed=self._burst_line)):
                post[l]["burst_prob_dev"] = d
        pre = [{"activity": h_list[l], "event_trace": h_list[l]} for l in range(self.L)]
        sq = teach and "activity_sq_avg" in need
        for l in range(self.L):
            post[l]["activity"] = h_list[l + 1]
            if sq:
                post[l]["activity_sq_avg"] = self._rate_trace((l, "sq"), *self._sq_tau,
                                                              h_list[l + 1] ** 2)
        self._learn(pre, post, None, h_list, h_list, teach)
        return y_hat, err, None

    def _forward_spiking(self, x_spikes, full: bool = True):
        """The bottom-up pass of one step: (spikes, events, bursts, nets, masks) per
        layer. ``full=False`` serves an evaluation, which reads only the output's
        events (``_last_events``) and then drops the network: it skips what only
        learning, probes and readouts read (the rate estimates xhat, the burst
        averages, the burst spikes, float copies of spikes and bursts); the events
        themselves, and so the evaluation, are the same bit for bit."""
        L, info, xhat = self.L, self.info, self.xhat
        spikes = [x_spikes]
        events = [x_spikes]  # the input's spikes are its events
        bursts = [None] * (L + 1)
        nets = [None] * (L + 1)
        masks = [None] * (L + 1)  # burst layers' events as booleans
        if full:
            xhat[0](x_spikes)
        delay = self.schedule.forward_delay
        for l in range(1, L + 1):
            a = np.matmul(events[l - 1], self.WT[l - 1])
            if delay:
                a = self.fwd[l](a)
            lay = info[l]
            if lay.burst and full:  # the rate estimate xhat is advanced too
                s, E, B, masks[l], pbar, nets[l] = self._burst_forward(l, a)
                bursts[l] = (B, pbar)
                self.last_bursts[l] = (E, B, pbar)  # for probes and tests
            elif full and not lay.burst and self._lif_fits(l, a):
                thr, gain, noise, noisy = self._J[l]  # the same steps, compiled
                s, nets[l] = kernels.lif_layer(self.units[l], xhat[l], self.current[l],
                                               self.b3[l - 1], a, thr, gain, noise,
                                               self.noise[l]() if noisy else None)
                E = s
            else:
                nets[l], J = self._current(l, a)
                unit = self.units[l]
                if lay.burst:  # the events alone: the soma's spikes
                    s, E = None, unit.soma.spike(J).astype(float)
                elif hasattr(unit, "spike"):
                    s = E = unit.spike(J).astype(float)
                else:
                    s = E = self._foreign_step(unit, J)
                if full:
                    xhat[l](E)
            spikes.append(s)
            events.append(E)
        self._last_events = events[L]
        return spikes, events, bursts, nets, masks

    def _current(self, l, a):
        """Layer ``l``'s net input (filtered input ``a`` plus bias) and its current J =
        threshold + gain * net (+ noise) this step; a gain or noise of 1 is None (times
        1 is exact)."""
        net = self.current[l](a) + self.b3[l - 1]
        thr, gain, noise, noisy = self._J[l]
        J = thr + (net if gain is None else gain * net)
        if noisy:
            J += self.noise[l]() if noise is None else noise * self.noise[l]()
        return net, J

    def _lif_fits(self, l, a) -> bool:
        """Whether layer l's full step can run compiled (kernels.lif_layer): an LIF
        unit, compiled steps on, arrays of the state's shape (no broadcast bias)."""
        unit = self.units[l]
        return (kernels.active() and type(unit) is LIF and kernels.fits(a, unit.v)
                and self.b3[l - 1].shape == a.shape)

    def _burst_forward(self, l, a):
        """Burst layer ``l``'s step under filtered input ``a``: (train, E, B as floats,
        the events as booleans, P_bar before this step, the net input); the current,
        the burst averages and the rate estimate xhat are advanced. The soma's spikes
        are the train's events, the rest its bursts (BurstNeuron)."""
        unit, avg, xhat = self.units[l], self.averages[l], self.xhat[l]
        pbar = avg.p_bar
        b = self.b3[l - 1]
        if kernels.active() and kernels.fits(a, unit.soma.v) and b.shape == a.shape:
            thr, gain, noise, noisy = self._J[l]  # the same steps, compiled
            z = self.noise[l]() if noisy else None
            s, E, B, ev, net = kernels.burst_layer(unit, avg, xhat, self.current[l], b, a,
                                                   thr, gain, noise, z)
            return s, E, B, ev, pbar, net
        net, J = self._current(l, a)
        spk, ev = unit.spike(J)
        bu = spk ^ ev
        s, E, B = spk.astype(float), ev.astype(float), bu.astype(float)
        avg.averages(E, B)
        xhat(E)
        return s, E, B, ev, pbar, net

    def infer_events(self, x_spikes):
        """One inference step (no teacher, bursts or plasticity) of copies, for an
        evaluation that reads only the output's events: they are returned (and kept in
        ``_last_events``), and the network is left fit only for more such steps
        (:meth:`_forward_spiking`, ``full=False``)."""
        self._evaluating = True
        return self._forward_spiking(x_spikes, full=False)[1][-1]

    def _step_spiking(self, x_spikes, y, learn, apical, teach):
        if self._evaluating:
            raise RuntimeError("this network ran infer_events steps, which leave its "
                               "rate estimates and burst averages behind: build a fresh "
                               "one for other steps")
        L, info, xhat = self.L, self.info, self.xhat
        spikes, events, bursts, nets, masks = self._forward_spiking(x_spikes)
        readout = xhat[L].x
        err = readout - y
        if not learn:
            return readout, err, spikes
        glob, teacher_err = self._reward_step(readout, y, err, teach)
        # top-down: apical input and burst decisions, output layer first
        for l in self.burst_down:
            E = events[l]
            if l == L:
                # the teacher compares with past events only: an event does not judge itself
                ehat_before = self.ehat.x
                self.ehat(E)
                u = y - ehat_before if teach else np.zeros(y.shape)
            else:
                src = self.fb_src[l]
                sent = apical_drive(self.neurons[src], bursts[src][0], events[src])
                if self.schedule.feedback_delay:
                    sent = self._apical_line(l, sent)
                u = self.apical[l](np.matmul(sent, self.MT[l]))
            if apical and l in apical:
                u = apical[l]
            unit = self.units[l]
            unit.schedule_bursts(E, unit.burst_probability(u), self.burst_draws[l],
                                 mask=masks[l])
        need = self.post_needed
        post = [dict(glob) for _ in range(L)]
        if "error_drive" in need:
            fp = [self.neurons[l].fprime(nets[l]) for l in range(1, L + 1)]
            for l, d in enumerate(error_drives(self.net, self.pv, fp, teacher_err,
                                               self.loss, delayed=self._drive_line)):
                post[l]["error_drive"] = d
        sq = teach and "activity_sq_avg" in need
        pe = "pbar_event" in need
        for l in range(1, L + 1):
            sig = post[l - 1]
            sig["activity"] = xhat[l].x
            if sq:
                sig["activity_sq_avg"] = self._rate_trace((l - 1, "sq"), *self._sq_tau,
                                                          sig["activity"] ** 2)
            if info[l].burst:
                B, pbar = bursts[l]
                sig["event"] = events[l]
                sig["burst"] = B
                if pe:
                    sig["pbar_event"] = pbar * events[l]
        pre = [{"activity": xhat[l].x} for l in range(L)]
        self._learn(pre, post, spikes, events, spikes, teach)
        return readout, err, spikes

    def _foreign_step(self, unit, J):
        """A unit a subclass put in (an engine's neuron arithmetic, e.g. the nengo
        emulator's) with the lone network's interface: ``step(J)`` on (n_par, n)."""
        if self.G != 1:
            raise UnsupportedRule("numpy time-stepped simulator", f"{type(unit).__name__} "
                                  "units with independent copies", "they step one "
                                  "network's (n_par, n) arrays", "one seed per run")
        return unit.step(J[0])[None]

    # -- reward tasks ---------------------------------------------------------------------
    def _reward_step(self, readout, y, err, teach):
        """The global signals of this step and the error the output is taught with:
        the teacher's error while teaching (none while settling), or, for loss
        'reward', the selected action's reward prediction error
        (:class:`neurolearn.reference.reward.RewardState`, one per copy)."""
        if self.reward_states is None:
            return {}, (err if teach else np.zeros(err.shape))
        if self.G == 1:
            glob, e = self.reward_states[0].step(readout[0], y[0], err[0], teach)
            return {k: v[None] for k, v in glob.items()}, e[None]
        out = [rs.step(readout[g], y[g], err[g], teach)
               for g, rs in enumerate(self.reward_states)]
        glob = {k: np.stack([o[0][k] for o in out]) for k in out[0][0]}
        return glob, np.stack([o[1] for o in out])

    # -- learning -------------------------------------------------------------------------
    def _traces(self, l, pre_raw, post_raw, sig_pre, sig_post):
        """Advance every own-trace factor of projection l (into layer l + 1) by one
        step and put the value the terms read into the step's signals."""
        for key, name, is_pre, d, jump, reset, before in self.trace_plan[l]:
            s = pre_raw[l] if is_pre else post_raw[l + 1]
            if not self.spiking:
                v = self._rate_trace(key, d, jump, s)
            else:
                x = self.filters.get(key)
                if x is None:
                    old, jump_s = np.zeros(s.shape), jump
                else:  # the constants as arrays of the trace's shape, made once
                    ca = self._trace_consts.get(key)
                    if ca is None or ca[0].shape != x.shape:
                        ca = self._trace_consts[key] = (np.full(x.shape, d),
                                                        np.full(x.shape, jump))
                    if kernels.active() and kernels.fits(s, x):  # the same, compiled
                        old, new = kernels.trace(x, ca[0], ca[1], s, reset)
                        self.filters[key] = new
                        (sig_pre if is_pre else sig_post)[name] = old if before else new
                        continue
                    old, jump_s = ca[0] * x, ca[1]
                new = np.where(s > 0, jump, old) if reset else old + jump_s * s
                self.filters[key] = new
                v = old if before else new
            (sig_pre if is_pre else sig_post)[name] = v

    def _learn(self, pre, post, spikes, pre_raw, post_raw, teach):
        """One learning step: own traces and tags advance every step; on plastic steps
        every term of every plastic layer adds its share to the accumulated change
        (step terms: eta * value * step_scale; spike-triggered terms: eta * value *
        event_scale at each spike)."""
        W = self.W
        for l in range(1, self.L + 1):
            lay = self.info[l]
            sig_pre, sig_post = pre[l - 1], post[l - 1]
            if self.trace_plan[l - 1]:
                self._traces(l - 1, pre_raw, post_raw, sig_pre, sig_post)
            syn = {"tag": self.tags[l - 1]} if self.tags is not None else None
            if self.tag_rule is not None and lay.plastic:
                T = self.tags[l - 1]
                if self.schedule.tag_read == "before":  # the weight reads this copy
                    syn = {"tag": T.copy()}
                T *= self.tag_decay
                for ct in self.ctag_terms:
                    ct.add_to(T, sig_pre, sig_post, W[l - 1], 1.0, syn=syn,
                              pre_mask=spikes[l - 1] if ct.when == "pre_spike" else None,
                              post_mask=spikes[l] if ct.when == "post_spike" else None,
                              work=self._work[l - 1])
            if not (teach and lay.plastic):
                continue
            eta = self.eta[l - 1]
            bias = self.bv[l - 1] if lay.bias else None
            touched = self._touched[l - 1]
            for ct in self.cterms:
                scale = eta * (self.step_scale if ct.when == "step" else self.event_scale)
                where = ct.add_to(self.acc_W[l - 1], sig_pre, sig_post, W[l - 1], scale,
                                  bias=bias, acc_b=self.acc_b[l - 1], syn=syn,
                                  pre_mask=spikes[l - 1] if ct.when == "pre_spike" else None,
                                  post_mask=spikes[l] if ct.when == "post_spike" else None,
                                  work=self._work[l - 1])
                if where is not None and touched is not None:
                    if where == "dense" or len(touched) >= 64:
                        self._touched[l - 1] = touched = None  # apply densely
                    else:
                        touched.append(where)
        if not teach:
            return
        for l in self.learned_fb:
            fb = self.net.feedback_of(l)
            mirror = error_free_part([_renamed(t, self._trace_factors) for t in self.terms],
                                     {k: v for k, v in pre[l].items() if v is not None},
                                     post[l], W[l])
            self.acc_B[l] += (self.eta[l] * self.step_scale) * (_T(mirror) -
                                                                fb.decay * self.Bm[l])

    def apply(self):
        """Add the accumulated change (through momentum, as the batched trainer does)
        and clear the accumulators."""
        mu = self.momentum  # a float, or per copy (G, 1, 1): a copy with 0 gets v = d
        mu_b = mu[..., 0] if isinstance(mu, np.ndarray) else mu  # for (G, n) biases
        mu_on = bool(np.any(mu)) if isinstance(mu, np.ndarray) else mu != 0
        if mu_on and self._vel is None:
            self._vel = ([np.zeros_like(w) for w in self.W],
                         [np.zeros_like(v) for v in self.bv],
                         {k: np.zeros_like(v) for k, v in self.Bm.items()})
        for l in range(1, self.L + 1):
            lay = self.info[l]
            if not lay.plastic:
                continue
            touched = self._touched[l - 1]
            self._touched[l - 1] = []
            pairs = [(self.W, self.acc_W, 0)] + ([(self.bv, self.acc_b, 1)] if lay.bias else [])
            if touched is not None and not mu_on:  # only where the terms added anything
                add_sparse(self.W[l - 1], self.acc_W[l - 1], touched)
                pairs = pairs[1:]
            for target, acc, g in pairs:
                d = acc[l - 1]
                if mu_on:
                    v = self._vel[g][l - 1]
                    v *= mu if g == 0 else mu_b
                    v += d
                    d = v
                target[l - 1] += d
                acc[l - 1].fill(0.0)
        for k, d in self.acc_B.items():
            if mu_on:
                v = self._vel[2][k]
                v *= mu
                v += d
                self.Bm[k] += v
            else:
                self.Bm[k] += d
            d.fill(0.0)


# A term whose own-trace factors carry their own signal names, so one signal traced
# with two taus (or update modes) stays two signals (internal, not spec nodes)
_Factor = namedtuple("_Factor", "kind signal tau")
_RenamedTerm = namedtuple("_RenamedTerm", "factors coeff when")
_RENAMED = {}


def _name(fa) -> str:
    return f"{fa.kind}.{fa.signal}@{fa.tau}:{fa.update}:{fa.read}"


def _renamed(term, trace_factors):
    key = (id(term), id(trace_factors))
    if key not in _RENAMED:
        facs = [_Factor(fa.kind, _name(fa), fa.tau) if fa.key in trace_factors else fa
                for fa in term.factors]
        _RENAMED[key] = (term, _RenamedTerm(facs, term.coeff, term.when))
    return _RENAMED[key][1]


# -- streams of examples ---------------------------------------------------------------
class Encoder:
    """Chunked :func:`neurolearn.reference.stream.encode`: the regular phase and the
    poisson generator carry over between chunks, so chunks concatenate to the
    whole-stream encoding."""

    def __init__(self, sim, n_in: int, seed: int):
        self.sim = sim
        self.phase = np.zeros(n_in)
        self.rng = np.random.default_rng([seed, 3])

    def __call__(self, x_t):
        p = np.clip(x_t, 0.0, None) * self.sim.max_rate * self.sim.dt
        if self.sim.encoding == "poisson":
            return (self.rng.random(p.shape) < p).astype(float)
        out = np.zeros_like(p)
        for t in range(len(p)):
            self.phase += p[t]
            fire = self.phase >= 1.0
            out[t, fire] = 1.0
            self.phase[fire] -= 1.0
        return out


class CopyEncoder(Encoder):
    """:class:`Encoder` for independent copies: ``x_t`` is (steps, n_copies, n_in);
    each copy has its own phase and poisson generator (``default_rng([seed, 3])``)
    and encodes exactly what a lone Encoder with its seed would."""

    def __init__(self, sim, n_in: int, seeds):
        self.sim = sim
        self.phase = np.zeros((len(seeds), n_in))
        self.rngs = [np.random.default_rng([s, 3]) for s in seeds]

    def __call__(self, x_t):
        p = np.clip(x_t, 0.0, None) * self.sim.max_rate * self.sim.dt
        if self.sim.encoding == "poisson":
            return np.stack([(r.random(p[:, g].shape) < p[:, g]).astype(float)
                             for g, r in enumerate(self.rngs)], axis=1)
        out = np.zeros_like(p)
        phase = self.phase
        fire = np.empty(phase.shape, dtype=bool)
        for t in range(len(p)):
            phase += p[t]
            np.greater_equal(phase, 1.0, out=fire)
            out[t] = fire
            np.subtract(phase, 1.0, out=phase, where=fire)
        return out


def encoder_state(enc: CopyEncoder) -> dict:
    """A CopyEncoder's state (phase, generators), as ``{"arrays", "meta"}``."""
    return {"arrays": {"phase": enc.phase.copy()},
            "meta": {"rng": [r.bit_generator.state for r in enc.rngs]}}


def load_encoder_state(enc: CopyEncoder, state: dict):
    enc.phase[...] = state["arrays"]["phase"]
    for r, st in zip(enc.rngs, state["meta"]["rng"]):
        r.bit_generator.state = st


def batches_of(n: int, batch_size: int, n_examples: int):
    """Sizes of the batches of a stream of ``n_examples`` examples made of passes
    over ``n`` examples: each pass is cut into batches of ``batch_size``, the last
    one smaller (as the batched trainer does)."""
    bs = min(batch_size, n)
    out = []
    left = n_examples
    while left > 0:
        in_pass = min(n, left)
        full, rest = divmod(in_pass, bs)
        out += [bs] * full + ([rest] if rest else [])
        left -= in_pass
    return out


def _dataset(spec, dataset):
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    k_in, k_out = population_factors(spec, ds)
    return ds, k_in, k_out


def _check_precision(precision):
    if precision != "float":
        raise UnsupportedRule("the numpy time-stepped simulator", f"precision {precision!r}",
                              "it simulates float64 only",
                              "the numpy backend's batched trainer with precision 'fixed'")


def present(net, x, y, k: int, enc=None, on_step=None, end_batch: bool = False):
    """Show one example (x, y: (1, width)) for k steps: settling, then plastic steps.
    ``end_batch``: it is its batch's last example, so the batch's change is applied
    after its last step (schedules with ``apply = "batch"``), before ``on_step``
    sees that step."""
    xs = np.broadcast_to(x, (k, x.shape[1]))
    if enc is not None:
        xs = enc(xs)
    net.begin_example()
    for s in range(k):
        out = net.step(xs[s:s + 1], y, teach=net.teaching(s))
        if end_batch and s == k - 1 and net.schedule.apply == "batch":
            net.apply()
        if on_step is not None:
            on_step(out)


def simulate(spec, *, steps: int, precision: str = "float", seed: int | None = None,
             record_every: int = 1, dataset=None, params: Params | None = None,
             schedule: Schedule = TEXTBOOK, network=None) -> Trace:
    """Time-stepped run with learning on the training stream for ``steps`` steps
    (the last example may be cut short; its batch then is not applied).

    Records every plastic layer's weights every ``record_every`` steps (after that
    step), the output readout and error per step, and every layer's spikes
    (spiking nets). ``extra["params"]`` holds the final parameters. ``network``: a
    subclass of :class:`Network` to run instead (an engine's emulator that swaps in
    the engine's neuron arithmetic and nothing else)."""
    _check_precision(precision)
    seed = spec.training.seed if seed is None else seed
    ds, k_in, k_out = _dataset(spec, dataset)
    net = (network or Network)(spec, params=params, seed=seed, schedule=schedule)
    k = net.k
    n_examples = -(-steps // k)
    order = example_order(len(ds.x_train), n_examples, seed)
    xtr, ytr = tile_data(ds.x_train, k_in), tile_data(ds.y_train, k_out)
    enc = Encoder(spec.simulation, spec.network.sizes[0], seed) if net.spiking else None
    names = [layer.name for layer in spec.network.layers]
    plastic = [l for l in range(1, net.L + 1) if spec.network.layers[l].plastic]
    rec_steps, rec_w = [], {names[l]: [] for l in plastic}
    outputs = np.zeros((steps, spec.network.sizes[-1]))
    errors = np.zeros_like(outputs)
    spikes = {n: np.zeros((steps, s)) for n, s in zip(names, spec.network.sizes)} \
        if net.spiking else {}
    t = [0]

    def on_step(out):
        i = t[0]
        if i >= steps:
            return
        r, e, spk = out
        outputs[i], errors[i] = r[0], e[0]
        if spk is not None:
            for n, s in zip(names, spk):
                spikes[n][i] = s[0]
        if (i + 1) % record_every == 0:
            rec_steps.append(i)
            for l in plastic:
                rec_w[names[l]].append(net.params.W[l - 1].copy())
        t[0] += 1

    t0 = time.perf_counter()
    pos = 0
    for size in batches_of(len(ds.x_train), spec.training.batch_size, n_examples):
        net.begin_batch(size)
        for j, idx in enumerate(order[pos:pos + size]):
            shown = min(k, steps - t[0])
            if shown:  # an example cut short by the end of the run ends no batch
                present(net, xtr[idx:idx + 1], ytr[idx:idx + 1], shown, enc, on_step,
                        end_batch=j == size - 1 and shown == k)
        pos += size
        if t[0] >= steps:
            break
    wall = time.perf_counter() - t0
    return Trace(backend=NAME, schedule=schedule.name, precision=precision,
                 steps=np.asarray(rec_steps, dtype=int),
                 weights={k_: np.asarray(v) for k_, v in rec_w.items()},
                 outputs=outputs, errors=errors, spikes=spikes, wall_seconds=wall,
                 extra={"params": net.params})


def evaluate(spec, params: Params, x, y, k_in: int = 1, k_out: int = 1, seed: int = 0,
             classification: bool = True):
    """(loss, accuracy, pooled readout): every example from rest, all in parallel,
    for t_example without learning; readout over the plastic window."""
    return evaluate_copies(spec, [params], x, y, k_in, k_out, [seed], classification)[0]


def evaluate_copies(spec, params_list, x, y, k_in: int = 1, k_out: int = 1, seeds=(0,),
                    classification: bool = True) -> list:
    """:func:`evaluate` for several networks at once (one copy each, with its own
    parameters and seed), each result the same as its own evaluate's."""
    net = Network(spec, params=list(params_list), seeds=seeds, n_par=len(x))
    G, sim = net.G, spec.simulation
    xt, yt = tile_data(x, k_in), tile_data(y, k_out)
    Y = np.broadcast_to(yt, (G, *yt.shape))
    if net.spiking:
        k, window = net.k, net.teach_steps
        _replay_noise(net, k)

        def encoded(seed):  # one encoder column per (example, input): all start at phase 0
            enc = Encoder(sim, xt.size, seed)
            return enc(np.broadcast_to(xt.reshape(1, -1), (k, xt.size))).reshape(k, *xt.shape)
        if sim.encoding == "poisson":
            xs = np.stack([encoded(s) for s in net.seeds], axis=1)
        else:  # no generator: the same spikes for every copy
            xs = np.broadcast_to(encoded(net.seeds[0])[:, None], (k, G, *xt.shape))
        total = np.zeros((G, len(x), spec.network.sizes[-1]))
        for t in range(k):
            E = net.infer_events(xs[t])
            if t >= k - window:
                total += E
        readout = total / (window * sim.dt * sim.max_rate)
    else:
        readout, _, _ = net.step(np.broadcast_to(xt, (G, *xt.shape)), Y, learn=False)
    out = []
    for g in range(G):
        ro = pool(readout[g], k_out)
        loss = loss_value(ro, y, "mse" if net.spiking else spec.training.loss)
        out.append((loss, (accuracy(ro, y) if classification else None), ro))
    return out


# An evaluation starts every network from rest with fresh generators, so its current
# noise is the same every time for a seed: the draws of recent evaluations are kept
# (up to _REPLAY_BYTES) and replayed, the same numbers without drawing them again
_REPLAY, _REPLAY_BYTES = {}, 1 << 27


class _Replay:
    """Per-step draws served from an array (steps, n_copies, *shape)."""

    def __init__(self, buf):
        self.buf, self.i = buf, 0

    def __call__(self):
        self.i += 1
        return self.buf[self.i - 1]


def _replay_noise(net, k: int):
    for l, d in enumerate(net.noise):
        if d is None:
            continue
        key = (tuple(net.seeds), l, d.shape, k)
        buf = _REPLAY.get(key)
        if buf is None:
            size = k * len(net.seeds) * int(np.prod(d.shape)) * 8
            if size > _REPLAY_BYTES // 4:
                continue  # too large to keep: drawn as usual
            while _REPLAY and sum(b.nbytes for b in _REPLAY.values()) + size > _REPLAY_BYTES:
                _REPLAY.pop(next(iter(_REPLAY)))
            buf = np.empty((k, *d.buf.shape[1:]))
            for t in range(k):  # d() is a view of its chunk, refilled in place
                buf[t] = d()
            buf.setflags(write=False)
            _REPLAY[key] = buf
        net.noise[l] = _Replay(buf)


def _present_copies(net, x, y, k: int, enc, end_batch: bool):
    """:func:`present` for copies: x, y (n_copies, 1, width), a different example per
    copy."""
    xs = np.broadcast_to(x[:, 0][None], (k, *x[:, 0].shape))
    if enc is not None:
        xs = enc(xs)
    net.begin_example()
    apply_at_end = end_batch and net.schedule.apply == "batch"
    settle = k - net.teach_steps
    for s in range(k):
        net.step(xs[s][:, None], y, teach=s >= settle)
    if apply_at_end:
        net.apply()


class _CopyState:
    """What a copy's RunResult.state offers: its parameters and the learning rates."""

    def __init__(self, net, g):
        self.network, self.copy = net, g
        self.params = net.copy_params[g]
        self.eta = [float(e) if np.ndim(e) == 0 else float(np.ravel(e)[g]) for e in net.eta]


def run_time_stepped(spec, dataset=None, epochs: int | None = None, quiet: bool | None = None,
                     params: Params | None = None, resume: dict | None = None,
                     on_checkpoint=None, checkpoint_steps: int | None = None) -> RunResult:
    """Train ``spec`` with the time-stepped simulator: ``epochs`` passes over the
    training set in the order of :func:`neurolearn.reference.stream.example_order`,
    in batches (module docstring); the test set is evaluated (:func:`evaluate`)
    before training and after every pass.

    Checkpoints: ``on_checkpoint(state)`` is called after every pass, and, with
    ``checkpoint_steps``, at the first batch end after every that many steps within
    a pass; ``state`` holds the whole run (``epoch`` passes done, ``position``
    examples into the next, ``network`` = :meth:`Network.state_dict`, ``encoder``,
    ``history``, ``seconds``). Passing it back as ``resume`` continues bit for bit."""
    return _train(spec, [spec.training.seed], dataset=dataset, epochs=epochs, quiet=quiet,
                  params=None if params is None else [params], resume=resume,
                  on_checkpoint=on_checkpoint, checkpoint_steps=checkpoint_steps)[0]


def run_seeds(spec, seeds, dataset=None, epochs: int | None = None,
              quiet: bool | None = None) -> list:
    """Train one copy of ``spec`` per seed in one vectorised run; returns one
    RunResult per seed, each bit-identical to ``run_time_stepped`` of the spec with
    that seed (``training.seed`` = it). ``train_seconds`` is the whole run's."""
    return _train(spec, list(seeds), dataset=dataset, epochs=epochs, quiet=quiet)


# The fields members of one vectorised run may differ in, besides the seed: the
# learning rates, which scale each copy's own terms (Network's ``etas``), their decay
# after every pass, and the momentum (``momenta``)
RATE_FIELDS = ("rule.eta", "rule.eta_output", "training.lr_decay", "training.momentum")


def without_rates(data: dict) -> dict:
    """A spec's plain data (``rules.schema.to_dict``) without its :data:`RATE_FIELDS`
    and seed: the members of one vectorised run have equal ``without_rates``."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for path in RATE_FIELDS + ("training.seed",):
        section, name = path.split(".")
        if isinstance(out.get(section), dict):
            out[section].pop(name, None)
    return out


def first_beyond_rates(specs) -> int | None:
    """The index of the first spec that differs from specs[0] in more than its
    :data:`RATE_FIELDS` and seed, or None: all of them can run as one."""
    base = without_rates(to_dict(specs[0]))
    return next((i for i, sp in enumerate(specs[1:], start=1)
                 if without_rates(to_dict(sp)) != base), None)


def run_members(specs, seeds, dataset=None, epochs: int | None = None,
                quiet: bool | None = None) -> list:
    """:func:`run_seeds` for members that may also differ in their learning rates,
    their decay and momentum (:data:`RATE_FIELDS`, e.g. the points of a sweep over
    eta): one copy per (spec, seed), each RunResult bit-identical to
    ``run_time_stepped`` of its spec with its seed. Specs that differ in anything else
    raise ValueError."""
    specs, seeds = list(specs), list(seeds)
    if len(specs) != len(seeds) or not specs:
        raise ValueError(f"run_members: one spec per seed, got {len(specs)} specs and "
                         f"{len(seeds)} seeds")
    i = first_beyond_rates(specs)
    if i is not None:
        raise ValueError(f"run_members: member {i}'s spec differs from member 0's in "
                         f"more than {', '.join(RATE_FIELDS)} and the seed")
    L = len(specs[0].network.layers) - 1
    return _train(specs[0], seeds, dataset=dataset, epochs=epochs, quiet=quiet,
                  etas=[layer_etas(sp.rule, L) for sp in specs],
                  decays=[sp.training.lr_decay for sp in specs],
                  momenta=[sp.training.momentum for sp in specs])


def _train(spec, seeds, dataset=None, epochs=None, quiet=None, params=None, resume=None,
           on_checkpoint=None, checkpoint_steps=None, etas=None, decays=None,
           momenta=None) -> list:
    t = spec.training
    # eta's decay after every pass: a float, or per copy where the copies differ (e * d
    # is each copy's own product, and e * 1.0 = e where a lone run skips it)
    decay = t.lr_decay if decays is None else per_copy(decays)
    ds, k_in, k_out = _dataset(spec, dataset)
    epochs = t.epochs if epochs is None else epochs
    net = Network(spec, params=params, seeds=seeds, etas=etas, momenta=momenta)
    G, sim, k = net.G, spec.simulation, net.k
    n = len(ds.x_train)
    orders = np.stack([example_order(n, epochs * n, s) for s in net.seeds])
    enc = CopyEncoder(sim, spec.network.sizes[0], net.seeds) if net.spiking else None
    xtr, ytr = tile_data(ds.x_train, k_in), tile_data(ds.y_train, k_out)
    hists = [new_history() for _ in range(G)]
    same = ds.x_test.shape == ds.x_train.shape and np.array_equal(ds.x_test, ds.x_train)
    ev = dict(k_in=k_in, k_out=k_out, seeds=net.seeds, classification=ds.classification)

    def record(ep, seconds):
        te = evaluate_copies(spec, net.copy_params, ds.x_test, ds.y_test, **ev)
        if same:
            tr = te
        else:
            m = min(n, 512)
            tr = evaluate_copies(spec, net.copy_params, ds.x_train[:m], ds.y_train[:m], **ev)
        for h, te_g, tr_g in zip(hists, te, tr):
            add_history_row(h, ep, te_g, tr_g, seconds)
        return [r[2] for r in te]

    def state(done, position, seconds):
        return {"epoch": done, "epochs": epochs, "position": position,
                "network": net.state_dict(),
                "encoder": None if enc is None else encoder_state(enc),
                "history": hists[0] if G == 1 else hists, "seconds": seconds}

    seconds, start, skip = 0.0, 1, 0
    readouts = None
    if resume is not None:
        net.load_state_dict(resume["network"])
        if enc is not None:
            load_encoder_state(enc, resume["encoder"])
        hists = [resume["history"]] if G == 1 else list(resume["history"])
        start, skip = int(resume["epoch"]) + 1, int(resume.get("position", 0))
        seconds = float(resume["seconds"])
    else:
        readouts = record(0, 0.0)
    sizes = batches_of(n, t.batch_size, n)
    with Progress(epochs, f"{spec.name} numpy time-stepped", quiet) as bar:
        bar.update(start - 1)
        for ep in range(start, epochs + 1):
            t0 = time.perf_counter()
            j, since = 0, 0
            for size in sizes:
                if j < skip:  # done before the checkpoint this run resumed from
                    j += size
                    continue
                net.begin_batch(size)
                for e in range(size):
                    idx = orders[:, (ep - 1) * n + j + e]
                    _present_copies(net, xtr[idx][:, None], ytr[idx][:, None], k, enc,
                                    end_batch=e == size - 1)
                j += size
                since += size * k
                if on_checkpoint is not None and checkpoint_steps and \
                        since >= checkpoint_steps and j < n:
                    seconds += time.perf_counter() - t0
                    on_checkpoint(state(ep - 1, j, seconds))
                    t0, since = time.perf_counter(), 0
            skip = 0
            seconds += time.perf_counter() - t0
            # as the batched trainer: eta shrinks after every pass
            if isinstance(decay, np.ndarray) or decay != 1.0:
                net.eta = [e * decay for e in net.eta]
            readouts = record(ep, seconds)
            if on_checkpoint is not None:
                on_checkpoint(state(ep, 0, seconds))
            h = hists[0]
            bar.update(1, f"loss {h['test_loss'][-1]:.4f}" + (
                f" acc {h['test_accuracy'][-1]:.3f}" if h["test_accuracy"][-1] is not None
                else ""))
    if readouts is None:  # resumed at the end: the readout of the trained networks
        readouts = [r[2] for r in evaluate_copies(spec, net.copy_params, ds.x_test,
                                                  ds.y_test, **ev)]
    results = []
    for g in range(G):
        h = hists[g]
        extra = {"steps_per_example": k, "population": [k_in, k_out],
                 "seconds_per_epoch": seconds / max(epochs, 1),
                 "test_readout": readouts[g].tolist()}
        if G > 1:
            extra["copies"] = G  # train_seconds is the vectorised run's, all copies
        results.append(RunResult(
            backend=NAME, rule=spec.rule.display_name, dataset=ds.name, seed=net.seeds[g],
            epochs=epochs, test_accuracy=h["test_accuracy"][-1],
            test_loss=h["test_loss"][-1], train_seconds=seconds, history=h,
            spec_name=spec.name, weights=[w.copy() for w in net.copy_params[g].W],
            extra=extra, state=net if G == 1 else _CopyState(net, g)))
    return results
