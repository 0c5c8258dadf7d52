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
  bursts are read from the spike train (:mod:`neurolearn.reference.burst`);
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

import numpy as np

from ..data import load_dataset
from ..errors import SpecError, UnsupportedRule
from ..progress import Progress
from ..result import RunResult, Trace
from ..rules.neurons import Burst
from .burst import BurstDetector
from .neurons import LIF, BurstNeuron
from .params import Params, init_params
from .reward import RewardState
from .schedule import TEXTBOOK, Schedule
from .signals import (apical_drive, burst_prob_devs, error_drives, feedback_matrix,
                      feedback_source, layer_etas, loss_value, output_error,
                      output_readout)
from .stream import example_order, steps_per_example
from .terms import error_free_part, term_update
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

    def __call__(self, s):
        self.x = self.d * self.x + self.g * s
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


# -- the network -----------------------------------------------------------------------
class Network:
    """A spec's network under ``schedule``, ``n_par`` independent copies."""

    def __init__(self, spec, params: Params | None = None, seed: int | None = None,
                 n_par: int = 1, schedule: Schedule = TEXTBOOK):
        if getattr(spec, "phases", None):  # their meaning: reference/phased.py
            raise UnsupportedRule(NAME, f"phased spec {spec.name!r} in the time-stepped "
                                  "simulator", "it has one plastic window per example "
                                  "(simulation.teach)", "numpy (the phased reference)")
        self.spec = spec
        self.net = spec.network
        self.sim = spec.simulation
        self.schedule = schedule
        self.seed = spec.training.seed if seed is None else seed
        self.L = len(self.net.layers) - 1
        self.neurons = [layer.neuron for layer in self.net.layers]
        self.spiking = self.net.spiking
        self.params = params if params is not None else init_params(self.net, self.seed)
        self.terms = spec.rule.resolved_terms()
        self.eta = layer_etas(spec.rule, self.L)
        self.momentum = spec.training.momentum
        self.loss = spec.training.loss
        self.tag_rule = spec.rule.resolved_tag()
        self.reward = spec.reward
        self._check()
        self._trace_factors = self._find_trace_factors()
        self.post_needed = spec.rule.signals("post")
        self._vel = None
        # one generator per layer, so an engine that runs each layer in its own
        # process draws the same numbers
        self.rng = [np.random.default_rng([self.seed, 4, l]) for l in range(self.L + 1)]
        self.noise_rng = [np.random.default_rng([self.seed, 5, l]) for l in range(self.L + 1)]
        # the schedule's hold steps come first: settling steps in all but name
        self.k = steps_per_example(self.sim) + schedule.hold_steps
        self.teach_steps = teach_steps(self.sim)
        self.n_steps = 0
        self.reward_state = RewardState(self.reward, self.seed, self.teach_steps,
                                        self.sim.dt, self.loss) if self.reward is not None else None
        self.tags = [np.zeros_like(w) for w in self.params.W] if self.tag_rule else None
        self.begin_batch(1)
        self.reset(n_par)

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

    # -- state -----------------------------------------------------------------------
    def reset(self, n_par: int = 1):
        """Fresh dynamic state (weights, accumulated changes and momentum are kept)."""
        self.n_par = n_par
        sizes, dt, mr = self.net.sizes, self.sim.dt, self.sim.max_rate
        shape = lambda l: (n_par, sizes[l])  # noqa: E731
        self.acc_W = [np.zeros_like(w) for w in self.params.W]
        self.acc_b = [np.zeros_like(b) for b in self.params.b]
        self.acc_B = {k: np.zeros_like(v) for k, v in self.params.B.items()}
        self.filters = {}  # (layer, factor key) -> trace state
        self.last_bursts = {}  # burst layer -> (E, B, P_bar before the step)
        self.begin_example()
        sch = self.schedule
        self.fwd = [None] + [_Delay(sch.forward_delay) for _ in range(self.L)]
        self.fb = {}  # (hidden layer, signal) -> _Delay of its feedback pathway
        if not self.spiking:
            return
        self.units = [None]
        self.detectors = [None]
        for l in range(1, self.L + 1):
            n = self.neurons[l]
            if isinstance(n, Burst):
                self.units.append(BurstNeuron(n, sizes[l], dt, n_par, n.burst_draw))
                self.detectors.append(BurstDetector(sizes[l], dt, n.burst_window,
                                                    n.tau_avg, n.p_baseline, n_par))
            else:
                self.units.append(LIF(n, sizes[l], dt, n_par))
                self.detectors.append(None)
        tau_syn = [self.neurons[max(l, 1)].tau_syn for l in range(self.L + 1)]
        self.current = [None] + [Filter(tau_syn[l], dt, mr, shape(l))
                                 for l in range(1, self.L + 1)]
        self.xhat = [Filter(tau_syn[l], dt, mr, shape(l)) for l in range(self.L + 1)]
        self.apical = {l: Filter(self.neurons[l].tau_apical, dt, mr, shape(l))
                       for l in range(1, self.L + 1) if isinstance(self.neurons[l], Burst)}

    def begin_batch(self, n_examples: int):
        """Start a batch of ``n_examples``: each plastic step adds a step term's value
        divided by (plastic steps per example * n_examples), i.e. its mean over the
        example's plastic steps; a spike-triggered term adds its value at each spike
        divided by n_examples (its sum over the example's plastic steps)."""
        self.step_scale = 1.0 / (self.teach_steps * n_examples)
        self.event_scale = 1.0 / n_examples

    def begin_example(self):
        """A new example: forget the previous one's decision (reward tasks)."""
        if self.reward_state is not None:
            self.reward_state.begin_example()

    def _trace(self, key, tau, s):
        if key not in self.filters:
            self.filters[key] = Filter(tau, self.sim.dt, self.sim.max_rate, s.shape)
        return self.filters[key](s)

    def _rate_trace(self, key, tau, h):
        """Rate nets: a signal low-passed with tau (s), starting from its first value."""
        d = np.exp(-self.sim.dt / tau)
        x = self.filters.get(key)
        x = h.copy() if x is None else d * x + (1.0 - d) * h
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
        return next(iter(taus), 1.0)

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
        both (n_par, width). ``learn=False``: inference only (no teacher, bursts or
        plasticity). ``teach=False``: a settling step: no teacher and no plasticity,
        but bursts, moving averages and learning signals run. ``apical`` maps a burst
        layer's index to an apical input that replaces its teacher or feedback this
        step (to probe the mechanism). Returns (readout, error, spikes or None)."""
        if self.spiking:
            out = self._step_spiking(x, y, learn, apical or {}, teach)
        else:
            out = self._step_rate(x, y, learn, teach)
        if learn and teach:
            self.n_steps += 1
            if self.schedule.apply == "step":
                self.apply()
        return out

    def _step_rate(self, x, y, learn, teach):
        W, b = self.params.W, self.params.b
        a_list, h_list = [], [x]
        for l in range(1, self.L + 1):
            a = self.fwd[l](h_list[-1] @ W[l - 1].T) + b[l - 1]
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
            for l, d in enumerate(error_drives(self.net, self.params, fp, teacher_err,
                                               self.loss, delayed=self._delay_line("drive"))):
                post[l]["error_drive"] = d
        if "burst_prob_dev" in need:
            target = y if teach else h_list[-1]  # no teacher: p = p_bar at the output
            for l, d in enumerate(burst_prob_devs(self.net, self.params, h_list, target,
                                                  delayed=self._delay_line("burst"))):
                post[l]["burst_prob_dev"] = d
        pre = [{"activity": h_list[l], "event_trace": h_list[l]} for l in range(self.L)]
        for l in range(self.L):
            post[l]["activity"] = h_list[l + 1]
            if teach and "activity_sq_avg" in need:
                post[l]["activity_sq_avg"] = self._rate_trace(
                    (l, "sq"), self._activity_sq_tau(), h_list[l + 1] ** 2)
        self._learn(pre, post, None, h_list, h_list, teach)
        return y_hat, err, None

    def _step_spiking(self, x_spikes, y, learn, apical, teach):
        L, W, b = self.L, self.params.W, self.params.b
        spikes = [x_spikes]
        events = [x_spikes]  # the input's spikes are its events
        bursts = [None] * (L + 1)
        nets = [None] * (L + 1)
        self.xhat[0](x_spikes)
        for l in range(1, L + 1):
            a = self.fwd[l](events[l - 1] @ W[l - 1].T)
            nets[l] = self.current[l](a) + b[l - 1]
            unit, neuron = self.units[l], self.neurons[l]
            J = neuron.threshold + neuron.gain * nets[l]
            if neuron.noise:
                J = J + neuron.noise * self.noise_rng[l].standard_normal(J.shape)
            if isinstance(neuron, Burst):
                s, _ = unit.step(J)
                spikes.append(s)
                pbar = self.detectors[l].p_bar
                E, B = self.detectors[l].step(s)
                events.append(E)
                bursts[l] = (B, pbar)
                self.last_bursts[l] = (E, B, pbar)  # for probes and tests
            else:
                s = unit.step(J)
                spikes.append(s)
                events.append(s)
            self.xhat[l](events[l])
        readout = self.xhat[L].x
        self._last_events = events[L]
        err = readout - y
        if not learn:
            return readout, err, spikes
        glob, teacher_err = self._reward_step(readout, y, err, teach)
        # top-down: apical input and burst decisions, output layer first
        for l in range(L, 0, -1):
            if not isinstance(self.neurons[l], Burst):
                continue
            E, B = events[l], bursts[l][0]
            if l == L:
                # the teacher compares with past events only: an event does not judge itself
                ehat_before = self._output_ehat.x
                self._output_ehat(E)
                u = y - ehat_before if teach else np.zeros_like(y)
            else:
                src = feedback_source(self.net, l)
                sent = self._delay_line("apical")(
                    l, apical_drive(self.neurons[src], bursts[src][0], events[src]))
                u = self.apical[l](sent @ feedback_matrix(self.net, self.params, l).T)
            if l in apical:
                u = apical[l]
            p = self.units[l].burst_probability(u)
            self.units[l].schedule_bursts(E, p, self.rng[l])
        need = self.post_needed
        post = [dict(glob) for _ in range(L)]
        if "error_drive" in need:
            fp = [self.neurons[l].fprime(nets[l]) for l in range(1, L + 1)]
            for l, d in enumerate(error_drives(self.net, self.params, fp, teacher_err,
                                               self.loss, delayed=self._delay_line("drive"))):
                post[l]["error_drive"] = d
        for l in range(1, L + 1):
            sig = post[l - 1]
            sig["activity"] = self.xhat[l].x
            if teach and "activity_sq_avg" in need:
                sig["activity_sq_avg"] = self._rate_trace(
                    (l - 1, "sq"), self._activity_sq_tau(), sig["activity"] ** 2)
            if isinstance(self.neurons[l], Burst):
                B, pbar = bursts[l]
                sig["event"] = events[l]
                sig["burst"] = B
                sig["pbar_event"] = pbar * events[l]
        pre = [{"activity": self.xhat[l].x} for l in range(L)]
        self._learn(pre, post, spikes, events, spikes, teach)
        return readout, err, spikes

    @property
    def _output_ehat(self):
        key = ("ehat", self.L)
        if key not in self.filters:
            self.filters[key] = Filter(self.neurons[self.L].tau_apical, self.sim.dt,
                                        self.sim.max_rate, (self.n_par, self.net.sizes[-1]))
        return self.filters[key]

    # -- reward tasks ---------------------------------------------------------------------
    def _reward_step(self, readout, y, err, teach):
        """The global signals of this step and the error the output is taught with:
        the teacher's error while teaching (none while settling), or, for loss
        'reward', the selected action's reward prediction error
        (:class:`neurolearn.reference.reward.RewardState`)."""
        if self.reward_state is None:
            return {}, (err if teach else np.zeros_like(err))
        return self.reward_state.step(readout, y, err, teach)

    # -- learning -------------------------------------------------------------------------
    def _traces(self, l, pre_raw, post_raw):
        """Advance every own-trace factor of projection l (into layer l + 1) by one
        step; returns {internal name: value read by the terms}."""
        out = {}
        for key, fa in self._trace_factors.items():
            raw = pre_raw[l] if fa.kind == "pre" else post_raw[l + 1]
            tau = fa.tau if fa.tau is not None else self.neurons[max(l, 1)].tau_syn
            out[_name(fa)] = self._advance((l, key), fa, tau, raw)
        return out

    def _advance(self, key, fa, tau, s):
        if not self.spiking:
            return self._rate_trace(key, tau, s)
        d = np.exp(-self.sim.dt / tau)
        jump = 1.0 if fa.signal == "spike_trace" else (1.0 - d) / (self.sim.dt * self.sim.max_rate)
        x = self.filters.get(key)
        before = d * x if x is not None else np.zeros_like(s)
        after = np.where(s > 0, jump, before) if fa.update == "set" else before + jump * s
        self.filters[key] = after
        return before if fa.read == "before" else after

    def _learn(self, pre, post, spikes, pre_raw, post_raw, teach):
        """One learning step: own traces and tags advance every step; on plastic steps
        every term of every plastic layer adds its share to the accumulated change
        (step terms: eta * value * step_scale; spike-triggered terms: eta * value *
        event_scale at each spike)."""
        W, b = self.params.W, self.params.b
        for l in range(1, self.L + 1):
            layer = self.net.layers[l]
            sig_pre, sig_post = dict(pre[l - 1]), dict(post[l - 1])
            named = self._traces(l - 1, pre_raw, post_raw)
            for key, fa in self._trace_factors.items():
                (sig_pre if fa.kind == "pre" else sig_post)[_name(fa)] = named[_name(fa)]
            if self.tag_rule is not None and layer.plastic:
                d = np.exp(-self.sim.dt / self.tag_rule.tau)
                T = self.tags[l - 1]
                T *= d
                for term in self.tag_rule.terms:
                    T += self._term(term, sig_pre, sig_post, W[l - 1], None, 1.0, spikes,
                                    l)[0]
            if not (teach and layer.plastic):
                pre[l - 1], post[l - 1] = sig_pre, sig_post  # for learned feedback
                continue
            bias = b[l - 1] if layer.bias else None
            eta = self.eta[l - 1]
            for term in self.terms:
                scale = eta * (self.step_scale if term.when == "step" else self.event_scale)
                dW, db = self._term(term, sig_pre, sig_post, W[l - 1], bias, scale, spikes, l)
                self.acc_W[l - 1] += dW
                if db is not None:
                    self.acc_b[l - 1] += db
            pre[l - 1], post[l - 1] = sig_pre, sig_post
        if not teach:
            return
        for l, B in self.params.B.items():
            fb = self.net.feedback_of(l)
            if fb.kind == "learned":
                mirror = error_free_part([_renamed(t, self._trace_factors) for t in self.terms],
                                         {k: v for k, v in pre[l].items() if v is not None},
                                         post[l], W[l])
                self.acc_B[l] += (self.eta[l] * self.step_scale) * (mirror.T - fb.decay * B)

    def _term(self, term, sig_pre, sig_post, W, bias, scale, spikes, l):
        """(dW, db) of one term on this step's signals of projection l."""
        pre_mask = spikes[l - 1] if term.when == "pre_spike" else None
        post_mask = spikes[l] if term.when == "post_spike" else None
        syn = {"tag": self.tags[l - 1]} if self.tags is not None else None
        return term_update(_renamed(term, self._trace_factors), sig_pre, sig_post, W,
                           self.n_par, bias, scale, syn_sig=syn, pre_mask=pre_mask,
                           post_mask=post_mask)

    def apply(self):
        """Add the accumulated change (through momentum, as the batched trainer does)
        and clear the accumulators."""
        p = self.params
        mu = self.momentum
        if mu and self._vel is None:
            self._vel = ([np.zeros_like(w) for w in p.W], [np.zeros_like(v) for v in p.b],
                         {k: np.zeros_like(v) for k, v in p.B.items()})
        for l in range(1, self.L + 1):
            layer = self.net.layers[l]
            if not layer.plastic:
                continue
            pairs = [(p.W, self.acc_W, 0)] + ([(p.b, self.acc_b, 1)] if layer.bias else [])
            for target, acc, g in pairs:
                d = acc[l - 1]
                if mu:
                    v = self._vel[g][l - 1]
                    v *= mu
                    v += d
                    d = v
                target[l - 1] += d
                acc[l - 1].fill(0.0)
        for k, d in self.acc_B.items():
            if mu:
                v = self._vel[2][k]
                v *= mu
                v += d
                p.B[k] += v
            else:
                p.B[k] += d
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
    net = Network(spec, params=params, seed=seed, n_par=len(x))
    xt, yt = tile_data(x, k_in), tile_data(y, k_out)
    if net.spiking:
        k, window = net.k, net.teach_steps
        # one encoder column per (example, input): every example starts at phase 0
        enc = Encoder(spec.simulation, xt.size, seed)
        flat = enc(np.broadcast_to(xt.reshape(1, -1), (k, xt.size))).reshape(k, *xt.shape)
        total = np.zeros((len(x), spec.network.sizes[-1]))
        for t in range(k):
            net.step(flat[t], yt, learn=False)
            if t >= k - window:
                total += net._last_events
        readout = total / (window * spec.simulation.dt * spec.simulation.max_rate)
    else:
        readout, _, _ = net.step(xt, yt, learn=False)
    readout = pool(readout, k_out)
    loss = loss_value(readout, y, "mse" if net.spiking else spec.training.loss)
    return loss, (accuracy(readout, y) if classification else None), readout


def run_time_stepped(spec, dataset=None, epochs: int | None = None, quiet: bool | None = None,
                     params: Params | None = None) -> RunResult:
    """Train ``spec`` with the time-stepped simulator: ``epochs`` passes over the
    training set in the order of :func:`neurolearn.reference.stream.example_order`,
    in batches (module docstring); the test set is evaluated (:func:`evaluate`)
    before training and after every pass."""
    t = spec.training
    ds, k_in, k_out = _dataset(spec, dataset)
    epochs = t.epochs if epochs is None else epochs
    net = Network(spec, params=params, seed=t.seed)
    sim = spec.simulation
    k = net.k
    n = len(ds.x_train)
    order = example_order(n, epochs * n, t.seed)
    enc = Encoder(sim, spec.network.sizes[0], t.seed) if net.spiking else None
    xtr, ytr = tile_data(ds.x_train, k_in), tile_data(ds.y_train, k_out)
    hist = {"epoch": [], "test_loss": [], "test_accuracy": [], "train_loss": [],
            "train_accuracy": [], "seconds": []}
    same = ds.x_test.shape == ds.x_train.shape and np.array_equal(ds.x_test, ds.x_train)

    def record(ep, seconds):
        ev = dict(k_in=k_in, k_out=k_out, seed=t.seed, classification=ds.classification)
        te_loss, te_acc, readout = evaluate(spec, net.params, ds.x_test, ds.y_test, **ev)
        if same:
            tr_loss, tr_acc = te_loss, te_acc
        else:
            m = min(n, 512)
            tr_loss, tr_acc, _ = evaluate(spec, net.params, ds.x_train[:m], ds.y_train[:m],
                                          **ev)
        for key, v in (("epoch", ep), ("test_loss", te_loss), ("test_accuracy", te_acc),
                       ("train_loss", tr_loss), ("train_accuracy", tr_acc),
                       ("seconds", seconds)):
            hist[key].append(v)
        return te_loss, te_acc, readout

    _, _, readout = record(0, 0.0)
    seconds = 0.0
    sizes = batches_of(n, t.batch_size, n)
    with Progress(epochs, f"{spec.name} numpy time-stepped", quiet) as bar:
        for ep in range(1, epochs + 1):
            t0 = time.perf_counter()
            pos = (ep - 1) * n
            for size in sizes:
                net.begin_batch(size)
                for j, idx in enumerate(order[pos:pos + size]):
                    present(net, xtr[idx:idx + 1], ytr[idx:idx + 1], k, enc,
                            end_batch=j == size - 1)
                pos += size
            seconds += time.perf_counter() - t0
            if t.lr_decay != 1.0:  # as the batched trainer: eta shrinks after every pass
                net.eta = [e * t.lr_decay for e in net.eta]
            te_loss, te_acc, readout = record(ep, seconds)
            bar.update(1, f"loss {te_loss:.4f}" + (f" acc {te_acc:.3f}" if te_acc is not None
                                                   else ""))
    extra = {"steps_per_example": k, "population": [k_in, k_out],
             "seconds_per_epoch": seconds / max(epochs, 1),
             "test_readout": readout.tolist()}
    return RunResult(
        backend=NAME, rule=spec.rule.display_name, dataset=ds.name, seed=t.seed,
        epochs=epochs, test_accuracy=hist["test_accuracy"][-1],
        test_loss=hist["test_loss"][-1], train_seconds=seconds, history=hist,
        spec_name=spec.name, weights=[w.copy() for w in net.params.W], extra=extra,
        state=net)
