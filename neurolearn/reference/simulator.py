"""The time-stepped face of the NumPy reference, on the textbook schedule.

Textbook schedule: no delays. Within a step every layer is updated bottom-up from
the same step's input, then the learning signals are formed, then the rule's sum of
products is evaluated and added to an accumulator; the accumulated change is applied
every ``rule.t_epoch`` steps (after that step's evaluation). Examples come from
:mod:`neurolearn.reference.stream`, each shown for ``t_example``; state is not reset
between examples. Parameters start from :func:`neurolearn.reference.params.init_params`.
Random draws: input spikes (poisson) ``default_rng([seed, 3])`` as in the stream,
burst draws ``default_rng([seed, 4])``.

Per step and plastic layer l (eta_l = rule.eta, eta_output for the last layer):
    dW_l += eta_l * sum_k c_k * (P_k^T Q_k) * syn_k,   db_l += eta_l * sum_k c_k P_k * syn_k
with P_k the product of the term's post signals (1, n_l) and Q_k of its pre signals
(1, n_{l-1}); the bias is a synapse from a unit of constant activity 1. Terms with
``when = "pre_spike"`` (``"post_spike"``) are masked by this step's pre (post)
spikes. A learned feedback matrix gets dB_l += eta_{l+1} * (syn-free part of
dW_{l+1})^T - eta_{l+1} * decay * B_l (Kolen-Pollack), like the batched trainer.

**Rate networks** (sigmoid, tanh, relu, linear, burst_rate): each step is the batched
trainer's forward pass, error and learning signals on one sample (see
:mod:`neurolearn.reference.trainer`). Exact statement, tested: with
``t_example = dt`` the simulator applies, step for step, the batched trainer's
update for a minibatch of size ``t_epoch`` taken in stream order, with learning rate
``eta * t_epoch`` (bit-identical for ``t_epoch = 1``, momentum included, to
rounding for larger epochs). A pre or post ``activity`` factor with a ``tau`` is the
rate low-passed with that time constant (seconds); ``activity_sq_avg`` is a moving
average of activity^2 with time constant tau (seconds, 1 s if unset), from its first
value.

**Spiking networks** (lif, burst). Units: activity 1 means ``simulation.max_rate`` Hz.
Traces are low-pass filters with unit area, x <- d x + (1 - d) s / (dt * max_rate),
d = exp(-dt / tau), so a train at rate r has mean trace r / max_rate.

- Input layer: spikes from :func:`neurolearn.reference.stream.encode`; each input
  spike is also an event.
- Feedforward: x_hat_{l-1} is the ``tau_syn`` trace of layer l-1's spikes (LIF) or
  events (burst: bursts do not drive the layer above, as with Payeur's depressing
  feedforward synapses); net input a_l = W_l x_hat_{l-1} + b_l; somatic current
  J = threshold + gain * a_l, so a neuron starts firing at a_l > 0 (ReLU-like).
- Readout and ``activity``: the ``tau_syn`` trace of the layer's spikes (LIF) or
  events (burst); a factor with its own ``tau`` gets its own trace.
- ``pre.event_trace``: the trace of presynaptic events with the factor's tau (E~_j).
- Spiking feedback alignment (``post.error_drive``): output error
  e = a_hat_L - y (a_hat_L the output readout trace), output drive
  delta_L = -e * f'(a_L) (loss mse) or -e (cross_entropy, no softmax), hidden drive
  delta_l = g_l * f'(a_l) with g_l by the feedback pathway exactly as in the batched
  trainer (transport W_{l+1}, random or learned B_l, direct from delta_L). Surrogate
  derivative f'(a) = 1 if a > 0 else 0 (the neuron is driven above threshold).
- Burst neurons (:class:`neurolearn.reference.neurons.BurstNeuron`): events and bursts
  are detected from each layer's spike train (:mod:`neurolearn.reference.burst`);
  ``post.event`` = E_i(t), ``post.burst`` = B_i(t) (0/1 per step),
  ``post.pbar_event`` = P_bar_i(t-) E_i(t). Apical input, top-down after the
  feedforward pass: output layer u = y - e_hat_L (the teacher), hidden layer
  u_l = M_l (b_hat_{l+1} - p_baseline_{l+1} e_hat_{l+1}) with e_hat, b_hat the
  ``tau_apical`` traces of the layer above's events and bursts and M_l the feedback
  matrix of the layer's pathway (transport W_{l+1}^T, random/learned B_l, direct B_l
  with the output layer as source). Subtracting p_baseline times the event rate plays
  Payeur's event-cancelling interneurons: only burst probability above or below
  baseline teaches. Bursts never feed forward, so evaluation skips them. The
  output's e_hat is read before the step's own event is added (an event does not
  judge itself). Burst decisions are deterministic sigma-delta by default (option
  ``bursts="random"`` draws them from ``default_rng([seed, 4])``).
- Background noise: burst neurons get a white current noise of std 1 on J every step
  (``default_rng([seed, 5])``; option ``noise``), so they fire spontaneously as
  Payeur's neurons do and a silent neuron can still be taught; LIF neurons get none.
- Teaching protocol (Payeur et al.'s XOR code): each example is first shown without
  teacher and without plasticity (prediction phase; bursts and the moving averages
  run, so P_bar settles at the untaught burst probability), then teacher and
  plasticity switch on for the last ``teach`` fraction of the example: 0.25 for
  networks with burst neurons, 1 (always on) otherwise. ``rule.t_epoch`` counts
  plastic steps only.

**Populations**: where a layer is k times wider than the data set (input k * n_in,
output k * n_out), each input value drives k consecutive units, each target teaches
k units, and the output readout is averaged over each group of k (:func:`tile_data`,
:func:`pool`). This is how a spec asks for Payeur's populations of neurons.

**Evaluation** (:func:`evaluate`): every test example from rest, in parallel, for
``t_example`` without learning; readout = spike (LIF) or event (burst) count over the
example divided by t_example * max_rate, pooled per population; class = argmax, or
readout > 0.5 for a single output.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..data import load_dataset
from ..errors import SpecError, UnsupportedRule
from ..progress import Progress
from ..result import RunResult, Trace
from .activations import f, fprime, sigmoid
from .burst import BurstDetector
from .trainer import accuracy, burst_prob_devs, feedback_signal
from .neurons import LIF, BurstNeuron
from .params import Params, init_params
from .stream import encode, example_order, input_stream, steps_per_example
from .terms import error_free_part, rule_update

OPTIONS = {
    "tau_syn": (0.01, "feedforward synaptic and readout trace time constant (s)"),
    "tau_apical": (0.1, "burst nets: event/burst traces feeding the dendrites (s)"),
    "gain": (1.0, "spiking nets: J = threshold + gain * (W x_hat + b)"),
    "noise": (-1.0, "spiking nets: std of a white current noise added to J every step, "
                    "from default_rng([seed, 5]); negative means the model default "
                    "(lif 0, burst 1: Payeur's neurons fire spontaneously)"),
    "teach": (-1.0, "fraction of each example, at its end, with the teacher and plasticity "
                    "on; before it a prediction phase lets P_bar settle without teacher "
                    "(Payeur et al.'s protocol); negative: 0.25 with burst neurons, else 1"),
    "bursts": ("regular", "burst nets: 'regular' (deterministic sigma-delta) or 'random' "
                          "(seeded draws) burst decisions, see neurons.BurstNeuron"),
}
NAME = "numpy"
SCHEDULE = "textbook"


def _options(options: dict) -> dict:
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise SpecError(f"unknown option(s) {', '.join(sorted(unknown))} for the "
                        f"time-stepped simulator (known: {', '.join(OPTIONS)})", "options")
    out = {k: v[0] for k, v in OPTIONS.items()}
    out.update(options)
    if out["bursts"] not in BurstNeuron.MODES:
        raise SpecError(f"must be one of {', '.join(BurstNeuron.MODES)}, got "
                        f"{out['bursts']!r}", "options.bursts")
    for k, v in out.items():
        if k not in ("bursts", "noise", "teach") and not (isinstance(v, (int, float)) and v > 0):
            raise SpecError(f"must be a positive number, got {v!r}", f"options.{k}")
    return out


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


# -- the network -----------------------------------------------------------------------
class _Filter:
    """Unit-area low-pass filter in activity units (1 = max_rate Hz)."""

    def __init__(self, tau, dt, max_rate, shape):
        self.d = np.exp(-dt / tau)
        self.g = (1.0 - self.d) / (dt * max_rate)
        self.x = np.zeros(shape)

    def __call__(self, s):
        self.x = self.d * self.x + self.g * s
        return self.x


class Network:
    """A spec's network on the textbook schedule, ``n_par`` independent copies."""

    def __init__(self, spec, params: Params | None = None, seed: int | None = None,
                 n_par: int = 1, **options):
        self.spec = spec
        self.net = spec.network
        self.sim = spec.simulation
        self.opt = _options(options)
        self.seed = spec.training.seed if seed is None else seed
        self.L = len(self.net.layers) - 1
        self.neurons = [layer.neuron for layer in self.net.layers]
        self.models = [n.model for n in self.neurons]
        self.spiking = self.net.spiking
        self.params = params if params is not None else init_params(self.net, self.seed)
        self.terms = spec.rule.resolved_terms()
        r = spec.rule
        self.eta = [r.eta] * (self.L - 1) + [r.eta_output or r.eta]
        self.t_epoch = r.t_epoch
        self.momentum = spec.training.momentum
        self.ce = spec.training.loss == "cross_entropy"
        self._check()
        self._filtered_factors = self._find_filtered_factors()
        self.post_needed = spec.rule.signals("post")
        self._all_step_terms = all(t.when == "step" for t in self.terms)
        self._vel = None
        self.rng = np.random.default_rng([self.seed, 4])
        self.noise_rng = np.random.default_rng([self.seed, 5])
        teach = self.opt["teach"]
        if teach < 0:
            teach = 0.25 if "burst" in self.models else 1.0
        if teach > 1:
            raise SpecError(f"must be at most 1, got {teach!r}", "options.teach")
        k = steps_per_example(self.sim)
        self.teach_steps = max(1, int(round(teach * k)))  # last steps of each example
        default_noise = {"lif": 0.0, "burst": 1.0}
        self.noise = [0.0] + [self.opt["noise"] if self.opt["noise"] >= 0
                              else default_noise.get(m, 0.0) for m in self.models[1:]]
        self.n_steps = 0
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
        """Fresh dynamic state (weights are kept)."""
        self.n_par = n_par
        sizes, dt, mr = self.net.sizes, self.sim.dt, self.sim.max_rate
        shape = lambda l: (n_par, sizes[l])  # noqa: E731
        self.acc_W = [np.zeros_like(w) for w in self.params.W]
        self.acc_b = [np.zeros_like(b) for b in self.params.b]
        self.acc_B = {k: np.zeros_like(v) for k, v in self.params.B.items()}
        self.filters = {}  # (layer, source, tau) -> _Filter
        self.theta = {}  # BCM averages per layer
        self.last_bursts = {}  # burst layer -> (E, B, P_bar before the step)
        if not self.spiking:
            return
        self.units = [None]
        for l in range(1, self.L + 1):
            n = self.neurons[l]
            if n.model == "lif":
                self.units.append(LIF(n, sizes[l], dt, n_par))
            else:
                self.units.append(BurstNeuron(n, sizes[l], dt, n_par, self.opt["bursts"]))
        self.detectors = [None] + [
            BurstDetector(sizes[l], dt, self.neurons[l].burst_window, self.neurons[l].tau_avg,
                          self.neurons[l].p_baseline, n_par)
            if self.models[l] == "burst" else None for l in range(1, self.L + 1)]
        self.xhat = [_Filter(self.opt["tau_syn"], dt, mr, shape(l)) for l in range(self.L + 1)]
        self.ehat = [_Filter(self.opt["tau_apical"], dt, mr, shape(l))
                     for l in range(self.L + 1)]
        self.bhat = [_Filter(self.opt["tau_apical"], dt, mr, shape(l))
                     for l in range(self.L + 1)]

    def _trace(self, key, tau, s):
        if key not in self.filters:
            self.filters[key] = _Filter(tau, self.sim.dt, self.sim.max_rate, s.shape)
        return self.filters[key](s)

    def _rate_trace(self, key, tau, h):
        """Rate nets: activity low-passed with tau (s), starting from its first value."""
        d = np.exp(-self.sim.dt / tau)
        x = self.filters.get(key)
        x = h.copy() if x is None else d * x + (1.0 - d) * h
        self.filters[key] = x
        return x

    def _find_filtered_factors(self):
        """(kind, signal, tau) of the factors that need their own trace."""
        out = set()
        for t in self.terms:
            for fa in t.factors:
                if fa.kind == "pre" and (fa.signal == "event_trace" or fa.tau is not None):
                    out.add((fa.kind, fa.signal, fa.tau))
                elif fa.kind == "post" and fa.signal == "activity" and fa.tau is not None:
                    out.add((fa.kind, fa.signal, fa.tau))
        return sorted(out, key=str)

    def _factor_taus(self, kind, signal):
        return {fac.tau for t in self.terms for fac in t.factors
                if fac.kind == kind and fac.signal == signal}

    # -- feedback ---------------------------------------------------------------------
    def _g(self, l, delta_above, delta_out):
        return feedback_signal(self.net, self.params, l, delta_above, delta_out)

    def _drives(self, fp, err):
        d_out = -err if self.ce else -err * fp[-1]
        deltas = [None] * self.L
        deltas[-1] = d_out
        for l in range(self.L - 1, 0, -1):
            deltas[l - 1] = self._g(l, deltas[l], d_out) * fp[l - 1]
        return deltas

    # -- one step -------------------------------------------------------------------------
    def teaching(self, step_in_example: int) -> bool:
        """Whether the teacher and plasticity are on at this step of an example."""
        return step_in_example >= steps_per_example(self.sim) - self.teach_steps

    def step(self, x, y, learn: bool = True, apical: dict | None = None, teach: bool = True):
        """One step with input x (rates, or 0/1 spikes for spiking nets) and target y,
        both (n_par, width). ``learn=False``: inference only (no bursts, no plasticity).
        ``teach=False``: prediction phase, no teacher and no plasticity, but bursts and
        moving averages run. ``apical`` maps a burst layer's index to an apical input
        that replaces its teacher or feedback this step (to probe the mechanism).
        Returns (readout, error, spikes per layer or None)."""
        if self.spiking:
            out = self._step_spiking(x, y, learn, apical or {}, teach)
        else:
            out = self._step_rate(x, y, learn and teach)
        learn = learn and teach
        if learn:
            self.n_steps += 1
            if self.n_steps % self.t_epoch == 0:
                self._apply()
        return out

    def _step_rate(self, x, y, learn):
        W, b = self.params.W, self.params.b
        a_list, h_list = [], [x]
        for l in range(1, self.L + 1):
            a = h_list[-1] @ W[l - 1].T + b[l - 1]
            a_list.append(a)
            h_list.append(f(self.models[l], a))
        if self.ce:
            z = a_list[-1] - a_list[-1].max(axis=1, keepdims=True)
            ez = np.exp(z)
            y_hat = ez / ez.sum(axis=1, keepdims=True)
        else:
            y_hat = h_list[-1]
        err = y_hat - y
        if not learn:
            return y_hat, err, None
        need = self.post_needed
        post = [dict() for _ in range(self.L)]
        if "error_drive" in need:
            fp = [fprime(self.models[l], a_list[l - 1], h_list[l]) for l in range(1, self.L + 1)]
            for l, d in enumerate(self._drives(fp, err)):
                post[l]["error_drive"] = d
        if "burst_prob_dev" in need:
            for l, d in enumerate(self._burst_devs(h_list, y)):
                post[l]["burst_prob_dev"] = d
        pre = [{"activity": h_list[l], "event_trace": h_list[l]} for l in range(self.L)]
        for l in range(self.L):
            post[l]["activity"] = h_list[l + 1]
            if "activity_sq_avg" in need:
                tau = next(iter(self._factor_taus("post", "activity_sq_avg") - {None}), 1.0)
                post[l]["activity_sq_avg"] = self._rate_trace((l, "sq"), tau,
                                                              h_list[l + 1] ** 2)
        self._accumulate(pre, post, spikes=None, filtered=self._rate_trace,
                         pre_raw=h_list, post_raw=h_list[1:])
        return y_hat, err, None

    def _burst_devs(self, e, y):
        """The batched trainer's (p - p_bar) * e on one sample (its docstring, step 4)."""
        return burst_prob_devs(self.net, self.params, e, y)

    def _step_spiking(self, x_spikes, y, learn, apical, teach):
        L, W, b = self.L, self.params.W, self.params.b
        gain = self.opt["gain"]
        spikes = [x_spikes]
        events = [x_spikes]  # the input's spikes are its events
        bursts = [None] * (L + 1)
        nets = [None] * (L + 1)
        for l in range(1, L + 1):
            xh = self.xhat[l - 1](events[l - 1])
            a = xh @ W[l - 1].T + b[l - 1]
            nets[l] = a
            unit = self.units[l]
            J = unit.soma.threshold + gain * a if self.models[l] == "burst" else \
                unit.threshold + gain * a
            if self.noise[l]:
                J = J + self.noise[l] * self.noise_rng.standard_normal(J.shape)
            if self.models[l] == "lif":
                s = unit.step(J)
                spikes.append(s)
                events.append(s)
            else:
                s, _ = unit.step(J)
                spikes.append(s)
                pbar = self.detectors[l].p_bar
                E, B = self.detectors[l].step(s)
                events.append(E)
                bursts[l] = (B, pbar)
                self.last_bursts[l] = (E, B, pbar)  # for probes and tests
        # readout: the output layer's spike (lif) or event (burst) trace
        readout = self.xhat[L](events[L])
        self._last_events = events[L]
        err = readout - y
        if not learn:
            return readout, err, spikes
        # top-down: apical input and burst decisions, output layer first
        for l in range(L, 0, -1):
            if self.models[l] != "burst":
                continue
            E, B = events[l], bursts[l][0]
            ehat_before = self.ehat[l].x
            self.ehat[l](E)
            self.bhat[l](B)
            if l in apical:
                u = apical[l]
            elif l == L:
                # the teacher compares with past events only: an event does not judge itself
                u = y - ehat_before if teach else np.zeros_like(y)
            else:
                kind = self.net.feedback_of(l).kind
                src = L if kind == "direct" else l + 1
                M = W[l].T if kind == "transport" else self.params.B[l]
                pb_src = self.neurons[src].p_baseline
                u = (self.bhat[src].x - pb_src * self.ehat[src].x) @ M.T
            p = self.units[l].burst_probability(u)
            self.units[l].schedule_bursts(E, p, self.rng)
        if not teach:
            return readout, err, spikes
        need = self.post_needed
        post = [dict() for _ in range(L)]
        if "error_drive" in need:
            fp = [(nets[l] > 0).astype(float) for l in range(1, L + 1)]
            for l, d in enumerate(self._drives(fp, err)):
                post[l]["error_drive"] = d
        for l in range(1, L + 1):
            sig = post[l - 1]
            sig["activity"] = self.xhat[l].x if l < L else readout
            if "activity_sq_avg" in need:
                tau = next(iter(self._factor_taus("post", "activity_sq_avg") - {None}), 1.0)
                sig["activity_sq_avg"] = self._rate_trace((l - 1, "sq"), tau,
                                                          sig["activity"] ** 2)
            if self.models[l] == "burst":
                B, pbar = bursts[l]
                sig["event"] = events[l]
                sig["burst"] = B
                sig["pbar_event"] = pbar * events[l]
        pre = [{"activity": self.xhat[l].x, "event_trace": None} for l in range(L)]
        self._accumulate(pre, post, spikes=spikes, filtered=self._trace,
                         pre_raw=events, post_raw=events[1:])
        return readout, err, spikes

    # -- learning -------------------------------------------------------------------------
    def _accumulate(self, pre, post, spikes, filtered, pre_raw, post_raw):
        """Evaluate every term for every plastic layer and add it to the accumulators.

        Filtered factors (pre.event_trace, and pre/post activity with their own tau)
        are advanced once per step, whether or not the layer is plastic."""
        traces = {}
        for l in range(self.L):
            for kind, signal, tau in self._filtered_factors:
                raw = pre_raw[l] if kind == "pre" else post_raw[l]
                eff = tau if tau is not None else self.opt["tau_syn"]
                traces[(l, kind, signal, tau)] = filtered((l, kind, signal, tau), eff, raw)
        W, b = self.params.W, self.params.b
        for l in range(1, self.L + 1):
            layer = self.net.layers[l]
            if not layer.plastic:
                continue
            bias = b[l - 1] if layer.bias else None
            if self._all_step_terms:
                # the shared evaluator of the batched trainer, on a batch of n_par rows
                sig_pre = dict(pre[l - 1])
                sig_post = dict(post[l - 1])
                for (ll, kind, signal, tau), v in traces.items():
                    if ll == l - 1:
                        (sig_pre if kind == "pre" else sig_post)[f"{signal}@{tau}"] = v
                dW, db = rule_update(self._terms_for(l - 1, traces), sig_pre, sig_post,
                                     W[l - 1], bias, scale=self.eta[l - 1])
                self.acc_W[l - 1] += dW
                if db is not None:
                    self.acc_b[l - 1] += db
                continue
            # terms gated by spikes: the same sum of products, masked per step
            dW = db = None
            for term in self.terms:
                P = self._product(term, "post", l - 1, post, traces)
                Q = self._product(term, "pre", l - 1, pre, traces)
                if term.when == "pre_spike":
                    Q = spikes[l - 1] if Q is None else Q * spikes[l - 1]
                elif term.when == "post_spike":
                    P = spikes[l] if P is None else P * spikes[l]
                if P is None:
                    P = np.ones((self.n_par, W[l - 1].shape[0]))
                if Q is None:
                    Q = np.ones((self.n_par, W[l - 1].shape[1]))
                tw = term.coeff * (P.T @ Q) / self.n_par
                tb = term.coeff * P.sum(axis=0) if bias is not None else None
                for fac in term.factors:
                    if fac.kind == "syn":
                        tw = tw * W[l - 1]
                        if tb is not None:
                            tb = tb * bias
                dW = tw if dW is None else dW + tw
                if tb is not None:
                    db = tb if db is None else db + tb
            self.acc_W[l - 1] += self.eta[l - 1] * dW
            if db is not None:
                self.acc_b[l - 1] += self.eta[l - 1] * db / self.n_par
        for l, B in self.params.B.items():
            fb = self.net.feedback_of(l)
            if fb.kind == "learned":
                pre_l = {k: v for k, v in pre[l].items() if v is not None}
                for (ll, kind, signal, tau), v in traces.items():
                    if ll == l and kind == "pre":
                        pre_l[signal] = v
                mirror = error_free_part(self.terms, pre_l, post[l], W[l])
                self.acc_B[l] += self.eta[l] * (mirror.T - fb.decay * B)

    def _terms_for(self, l, traces):
        """The rule's terms with filtered factors renamed to their own trace, so that a
        signal filtered with two different taus in two terms stays two signals."""
        if not self._filtered_factors:
            return self.terms
        key = ("_terms", l)
        if key not in self.filters:
            renamed = []
            for t in self.terms:
                facs = [replace(fa, signal=f"{fa.signal}@{fa.tau}")
                        if (fa.kind, fa.signal, fa.tau) in self._filtered_factors else fa
                        for fa in t.factors]
                renamed.append(replace(t, factors=facs))
            self.filters[key] = renamed
        return self.filters[key]

    def _product(self, term, kind, l, sig, traces):
        out = None
        for fac in term.factors:
            if fac.kind != kind:
                continue
            v = traces.get((l, kind, fac.signal, fac.tau))
            if v is None:
                v = sig[l][fac.signal]
            out = v if out is None else out * v
        return out

    def _apply(self):
        """Add the accumulated changes (through momentum, as the batched trainer does)
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


# -- runs ------------------------------------------------------------------------------
class _Encoder:
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


def _dataset(spec, dataset):
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    k_in, k_out = population_factors(spec, ds)
    return ds, k_in, k_out


def _check_precision(precision):
    if precision != "float":
        raise UnsupportedRule("the numpy time-stepped simulator", f"precision {precision!r}",
                              "it simulates float64 only",
                              "the numpy backend's batched trainer with precision 'fixed'")


def simulate(spec, *, steps: int, precision: str = "float", seed: int | None = None,
             record_every: int = 1, dataset=None, params: Params | None = None,
             **options) -> Trace:
    """Time-stepped run with learning on the training stream; see the module docstring.

    Records every plastic layer's weights every ``record_every`` steps (after that
    step's update), the output readout and error per step, and every layer's spikes
    (spiking nets, the input layer's included). ``extra["params"]`` holds the final
    parameters (weights, biases, feedback matrices).
    """
    _check_precision(precision)
    seed = spec.training.seed if seed is None else seed
    ds, k_in, k_out = _dataset(spec, dataset)
    net = Network(spec, params=params, seed=seed, **options)
    x_t, y_t = input_stream(ds.x_train, ds.y_train, spec.simulation, steps, seed)
    x_t, y_t = tile_data(x_t, k_in), tile_data(y_t, k_out)
    if net.spiking:
        x_t = encode(x_t, spec.simulation, seed)
    names = [layer.name for layer in spec.network.layers]
    k = steps_per_example(spec.simulation)
    plastic = [l for l in range(1, net.L + 1) if spec.network.layers[l].plastic]
    rec_steps, rec_w = [], {names[l]: [] for l in plastic}
    outputs = np.zeros((steps, spec.network.sizes[-1]))
    errors = np.zeros_like(outputs)
    spikes = {n: np.zeros((steps, s)) for n, s in zip(names, spec.network.sizes)} \
        if net.spiking else {}
    t0 = time.perf_counter()
    for t in range(steps):
        out, err, spk = net.step(x_t[t:t + 1], y_t[t:t + 1], teach=net.teaching(t % k))
        outputs[t], errors[t] = out[0], err[0]
        if spk is not None:
            for n, s in zip(names, spk):
                spikes[n][t] = s[0]
        if (t + 1) % record_every == 0:
            rec_steps.append(t)
            for l in plastic:
                rec_w[names[l]].append(net.params.W[l - 1].copy())
    wall = time.perf_counter() - t0
    return Trace(backend=NAME, schedule=SCHEDULE, precision=precision,
                 steps=np.asarray(rec_steps, dtype=int),
                 weights={k: np.asarray(v) for k, v in rec_w.items()},
                 outputs=outputs, errors=errors, spikes=spikes, wall_seconds=wall,
                 extra={"params": net.params})


def evaluate(spec, params: Params, x, y, k_in: int = 1, k_out: int = 1, seed: int = 0,
             classification: bool = True, **options):
    """(loss, accuracy, pooled readout): every example from rest, all in parallel,
    for t_example without learning."""
    net = Network(spec, params=params, seed=seed, n_par=len(x), **options)
    xt, yt = tile_data(x, k_in), tile_data(y, k_out)
    k = steps_per_example(spec.simulation)
    if net.spiking:
        # one encoder column per (example, input): every example starts at phase 0
        enc = _Encoder(spec.simulation, xt.size, seed)
        flat = enc(np.broadcast_to(xt.reshape(1, -1), (k, xt.size))).reshape(k, *xt.shape)
        total = np.zeros((len(x), spec.network.sizes[-1]))
        for t in range(k):
            net.step(flat[t], yt, learn=False)
            total += net._last_events
        readout = total / (k * spec.simulation.dt * spec.simulation.max_rate)
    else:
        readout, _, _ = net.step(xt, yt, learn=False)
    readout = pool(readout, k_out)
    loss = float(np.mean((readout - y) ** 2))
    return loss, (accuracy(readout, y) if classification else None), readout


def run_time_stepped(spec, dataset=None, epochs: int | None = None, quiet: bool | None = None,
                     params: Params | None = None, **options) -> RunResult:
    """Train ``spec`` with the time-stepped simulator: ``epochs`` passes over the
    training set, each example shown for ``t_example``, in the order of
    :func:`neurolearn.reference.stream.example_order`; the test set is evaluated
    (:func:`evaluate`) before training and after every epoch. After every epoch eta
    is multiplied by ``training.lr_decay``, as in the batched trainer."""
    t = spec.training
    ds, k_in, k_out = _dataset(spec, dataset)
    epochs = epochs or t.epochs
    net = Network(spec, params=params, seed=t.seed, **options)
    sim = spec.simulation
    k = steps_per_example(sim)
    n = len(ds.x_train)
    order = example_order(n, epochs * n, t.seed)
    enc = _Encoder(sim, spec.network.sizes[0], t.seed)
    xtr, ytr = tile_data(ds.x_train, k_in), tile_data(ds.y_train, k_out)
    hist = {"epoch": [], "test_loss": [], "test_accuracy": [], "train_loss": [],
            "train_accuracy": [], "seconds": []}
    same = ds.x_test.shape == ds.x_train.shape and np.array_equal(ds.x_test, ds.x_train)

    def record(ep, seconds):
        ev = dict(k_in=k_in, k_out=k_out, seed=t.seed, classification=ds.classification,
                  **options)
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

    record(0, 0.0)
    seconds = 0.0
    with Progress(epochs, f"{spec.name} numpy time-stepped", quiet) as bar:
        for ep in range(1, epochs + 1):
            t0 = time.perf_counter()
            for idx in order[(ep - 1) * n: ep * n]:
                xs = np.broadcast_to(xtr[idx], (k, xtr.shape[1]))
                y1 = ytr[idx:idx + 1]
                if net.spiking:
                    xs = enc(xs)
                for s in range(k):
                    net.step(xs[s:s + 1], y1, teach=net.teaching(s))
            seconds += time.perf_counter() - t0
            if t.lr_decay != 1.0:  # as the batched trainer: eta shrinks after every epoch
                net.eta = [e * t.lr_decay for e in net.eta]
            te_loss, te_acc, readout = record(ep, seconds)
            bar.update(1, f"loss {te_loss:.4f}" + (f" acc {te_acc:.3f}" if te_acc is not None
                                                   else ""))
    extra = {"steps_per_example": k, "population": [k_in, k_out],
             "seconds_per_epoch": seconds / epochs,
             "test_readout": readout.tolist()}
    return RunResult(
        backend=NAME, rule=spec.rule.display_name, dataset=ds.name, seed=t.seed,
        epochs=epochs, test_accuracy=hist["test_accuracy"][-1],
        test_loss=hist["test_loss"][-1], train_seconds=seconds, history=hist,
        spec_name=spec.name, weights=[w.copy() for w in net.params.W], extra=extra,
        state=net)
