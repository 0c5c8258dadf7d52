"""One layer's population under the stock lowering (no lava import).

The reference's step (:class:`neurolearn.reference.simulator.Network`) split where
Lava splits it: a population receives what its ``LearningDense`` delivers (W s of
the layer below, one step old) and what its feedback ``Dense`` delivers (M times
its source's down signals, one step old), runs its neurons with the reference's own
classes and functions (:mod:`neurolearn.reference.neurons`, ``reference.burst``,
``reference.signals``), and sends forward its activity (rates as graded payloads,
events as spikes), down its learning signals, and to its LearningDense the rule's
post factors y1..y3 (module docstring of :mod:`.lower`): post traces advanced as the
reference advances them, global factors from the reward task (the output population
runs :class:`neurolearn.reference.reward.RewardState`, the hidden ones receive its
(r, rpe) within the step). The bias is the population's own Var (Loihi's compartment
bias) and learns here, with the same accumulation and momentum as the reference.

The Lava population ProcessModels and the emulator both run this class; the
plumbing check (runtime vs emulator) therefore tests Lava's Dense, LearningDense,
ports and timing, and the emulator vs the reference under Lava's schedule tests the
split.
"""

from __future__ import annotations

import numpy as np

from ...reference.burst import BurstDetector
from ...reference.neurons import LIF as LIFUnit
from ...reference.neurons import BurstNeuron
from ...reference.reward import RewardState
from ...reference.signals import (apical_drive, burst_hidden_prob, burst_output_probs,
                                  output_drive, output_error, output_readout)
from ...reference.simulator import Filter
from ...rules.neurons import Burst
from .program import MAX_Y, SPIKED


def apply_bias(pop, momentum: float) -> None:
    """A population applies its accumulated bias change through momentum (v <- mu v +
    d, b += v; the reference's apply) and starts the accumulation over."""
    d = pop.acc_b
    if momentum:
        pop.vel_b *= momentum
        pop.vel_b += d
        d = pop.vel_b
    pop.b += d
    pop.acc_b.fill(0.0)


def to_fixed(y, scale):
    """A post factor as the fixed-point LearningDense receives it: rint(y scale), +-127."""
    return np.clip(np.rint(y * scale), -127, 127)


class LayerStep:
    """State and step of layer ``lp.index`` (a :class:`.lower.LayerProgram`)."""

    def __init__(self, lp):
        self.lp = lp
        self.nrn = lp.neuron
        n, dt, mr = lp.size, lp.dt, lp.max_rate
        shape = (1, n)
        self.b = lp.b0.copy()
        self.acc_b = np.zeros(n)
        self.vel_b = np.zeros(n)
        self.eta = lp.eta
        self.burst = isinstance(self.nrn, Burst)
        self.need_drive = "error_drive" in lp.post_needed
        self.need_burst_rate = "burst_prob_dev" in lp.post_needed
        if lp.spiking:
            if self.burst:
                self.unit = BurstNeuron(self.nrn, n, dt, 1, self.nrn.burst_draw)
                self.det = BurstDetector(n, dt, self.nrn.burst_window, self.nrn.tau_avg,
                                         self.nrn.p_baseline, 1)
                self.apical = Filter(self.nrn.tau_apical, dt, mr, shape)
                if lp.is_output:
                    self.ehat = Filter(self.nrn.tau_apical, dt, mr, (1, lp.n_out))
            else:
                self.unit = LIFUnit(self.nrn, n, dt, 1)
            self.current = Filter(self.nrn.tau_syn, dt, mr, shape)
            self.xhat = Filter(self.nrn.tau_syn, dt, mr, shape)
            self.noise_rng = np.random.default_rng(lp.noise_seed)
            self.burst_rng = np.random.default_rng(lp.burst_seed)
        self.readout = np.zeros(lp.n_out) if lp.is_output else None
        self.error = np.zeros(lp.n_out) if lp.is_output else None
        self.spikes = np.zeros(n)
        self.traces = {}  # post traces by name (lp.post_traces)
        self.reward = RewardState(lp.reward, lp.reward_seed, lp.n_teach, dt, lp.loss) \
            if lp.reward is not None else None
        self.glob = {}    # this step's global signals (reward, rpe), (1, 1) each

    # -- the step --------------------------------------------------------------------
    def step(self, a_in, fb_in, y, ctrl, glob_in=None):
        """One step. ``a_in`` (n,): what the LearningDense delivers; ``fb_in``
        (n * channels,): what the feedback Dense delivers; ``y`` (n_out,): target;
        ``ctrl``: teach, apply, n_batch, epoch_end, example_start (:mod:`.stream`);
        ``glob_in`` (2,): (r, rpe) from the output population this step (hidden
        layers whose rule reads global factors). Returns (forward payload (n,), down
        signals (n * channels,), [y1, y2, y3]); the output's (r, rpe) of the step is
        then :meth:`glob_out`."""
        lp = self.lp
        teach = bool(ctrl[0])
        if self.reward is not None and ctrl[4]:
            self.reward.begin_example()
        if glob_in is not None:
            self.glob = {"reward": np.full((1, 1), glob_in[0]),
                         "rpe": np.full((1, 1), glob_in[1])}
        if lp.fixed:  # integer dendritic sum of W_int (times the payload) -> the current
            if lp.in_payload != 1.0:
                a_in = a_in / lp.in_payload
            a_in = a_in * 2.0 ** -lp.w_frac
        fb = {c: fb_in[i * lp.size:(i + 1) * lp.size][None, :]
              for i, c in enumerate(lp.fb_channels)}
        y = y[None, :]
        if lp.spiking:
            fwd, down, post = self._spiking(a_in[None, :], fb, y, teach)
        else:
            fwd, down, post = self._rate(a_in[None, :], fb, y, teach)
        post.update(self.glob)
        self._advance_traces(post)
        ys = self._learn(post, ctrl, teach) if lp.plastic else [np.zeros(lp.size)] * MAX_Y
        if lp.bias_learns and teach:
            self._learn_bias(post, ctrl)
        if ctrl[3]:
            self.eta = self.eta * lp.lr_decay  # as run_time_stepped after every pass
        down = np.concatenate([down[c][0] for c in lp.down_channels]) if lp.down_channels \
            else np.zeros(0)
        out = fwd[0] * lp.out_payload if lp.out_payload != 1.0 else fwd[0]
        return out, down, ys

    def glob_out(self) -> np.ndarray:
        """(r, rpe) of this step (the output population of a reward task)."""
        g = self.glob
        return np.array([g["reward"][0, 0], g["rpe"][0, 0]]) if g else np.zeros(2)

    def _teacher(self, readout, y, err, teach):
        """The global signals and the error the output is taught with (the reward
        task's, :class:`neurolearn.reference.reward.RewardState`, or the teacher's)."""
        if self.reward is None:
            return err if teach else np.zeros_like(err)
        self.glob, taught = self.reward.step(readout, y, err, teach)
        return taught

    def _rate(self, a_in, fb, y, teach):
        lp, nrn = self.lp, self.nrn
        a = a_in + self.b
        h = nrn.f(a)
        down, post = {}, {}
        if lp.is_output:
            y_hat = output_readout(a, h, lp.loss)
            err = output_error(y_hat, y)
            self.readout, self.error = y_hat[0], err[0]
            taught = self._teacher(y_hat, y, err, teach)
        if self.need_drive:
            fp = nrn.fprime(a, h)
            if lp.is_output:
                d = output_drive(taught, fp, lp.loss)
            else:
                d = fb["drive"] * fp
            post["error_drive"] = down["drive"] = d
        if self.need_burst_rate:
            if lp.is_output:
                p_bar, p = burst_output_probs(nrn, h, y if teach else h)
            else:
                p_bar = burst_hidden_prob(nrn, fb["pbar_e"], h)
                p = burst_hidden_prob(nrn, fb["p_e"], h)
            down["pbar_e"], down["p_e"] = p_bar * h, p * h
            post["burst_prob_dev"] = (p - p_bar) * h
        self.spikes = h[0]
        self.raw = h
        post["activity"] = h
        return h, down, post

    def _spiking(self, a_in, fb, y, teach):
        lp, nrn = self.lp, self.nrn
        nets = self.current(a_in) + self.b
        J = nrn.threshold + nrn.gain * nets
        if nrn.noise:
            J = J + nrn.noise * self.noise_rng.standard_normal(J.shape)
        if self.burst:
            s, _ = self.unit.step(J)
            pbar = self.det.p_bar
            E, B = self.det.step(s)
            events = E
        else:
            s = self.unit.step(J)
            events = s
        self.xhat(events)
        self.spikes = s[0]
        down, post = {}, {}
        if lp.is_output:
            readout = self.xhat.x
            err = readout - y
            self.readout, self.error = readout[0], err[0]
            taught = self._teacher(readout, y, err, teach)
        if self.burst:
            if lp.is_output:
                # the teacher compares with past events only: an event does not judge itself
                ehat_before = self.ehat.x
                self.ehat(E)
                u = y - ehat_before if teach else np.zeros_like(y)
            else:
                u = self.apical(fb["apical"])
            p = self.unit.burst_probability(u)
            self.unit.schedule_bursts(E, p, self.burst_rng)
            if "apical" in lp.down_channels:
                down["apical"] = apical_drive(self.nrn, B, E)
        if self.need_drive:
            fp = nrn.fprime(nets)
            if lp.is_output:
                d = output_drive(taught, fp, lp.loss)
            else:
                d = fb["drive"] * fp
            post["error_drive"] = down["drive"] = d
        self.raw = s
        post["activity"] = self.xhat.x
        post[SPIKED] = s  # fixed-point tags: a post_spike term as a u0 product
        if self.burst:
            post["event"] = events
            post["burst"] = B
            post["pbar_event"] = pbar * events
        return events, down, post

    # -- learning --------------------------------------------------------------------
    def _advance_traces(self, post):
        """Post factors with their own trace, advanced every step (settling
        included), as the reference's Network._advance (spiking: the jump at a
        spike, added or set, read after or before it) and _rate_trace (rate: from
        the first value)."""
        lp = self.lp
        for tr in lp.post_traces:
            x = self.traces.get(tr.name)
            s = self.raw
            d = np.exp(-lp.dt / tr.tau)
            if not lp.spiking:
                x = s.copy() if x is None else d * x + (1.0 - d) * s
                self.traces[tr.name] = post[tr.name] = x
                continue
            jump = 1.0 if tr.jump == "one" else (1.0 - d) / (lp.dt * lp.max_rate)
            before = d * x if x is not None else np.zeros_like(s)
            after = np.where(s > 0, jump, before) if tr.update == "set" else before + jump * s
            self.traces[tr.name] = after
            post[tr.name] = before if tr.read == "before" else after

    def _scale(self, ctrl, share="step"):
        """eta's share of one plastic step (step terms), of one spike (spike-triggered
        terms), or 1 (a tag's terms): Network.begin_batch and _learn."""
        if share == "tag":
            return 1.0
        if share == "event":
            return self.eta * (1.0 / int(ctrl[2]))
        return self.eta * (1.0 / (self.lp.n_teach * int(ctrl[2])))

    @staticmethod
    def _product(post, signals):
        out = None
        for sig in signals:
            v = post[sig]
            out = v if out is None else out * v
        return out

    def _learn(self, post, ctrl, teach):
        """The post factors y1..y3 for the LearningDense: a weight slot is zero off
        plastic steps; a tag's slots run on every step."""
        lp = self.lp
        n = lp.size
        ys = [np.zeros(n) for _ in range(MAX_Y)]
        g = float(ctrl[1]) if teach else 0.0
        for slot in lp.slots:
            if slot.kind == "apply":
                y = np.full(n, g * slot.gain)
            elif slot.kind == "momentum":
                y = np.full(n, (lp.momentum - 1.0) * g * slot.gain)
            elif slot.kind == "decay":
                y = np.full(n, slot.value * slot.gain)
            elif slot.share != "tag" and not teach:
                continue
            else:
                scale = self._scale(ctrl, slot.share)
                y = None
                for coeff, signals in slot.terms:
                    c = coeff * scale / 1
                    P = self._product(post, signals)
                    v = np.full((1, n), c) if P is None else np.broadcast_to(P * c, (1, n))
                    y = v if y is None else y + v
                y = y[0] * slot.gain
            ys[slot.index - 1] = to_fixed(y, slot.y_scale) if lp.fixed else y
        return ys

    def _learn_bias(self, post, ctrl):
        """The bias as a synapse from a unit of constant activity 1: its share of every
        term, accumulated and applied like the weights (Network._accumulate, apply);
        a post_spike term only where the neuron spiked, a pre_spike term on every
        plastic step (the constant unit is not gated), as the reference's
        term_update."""
        lp = self.lp
        db = None
        for coeff, signals, syn, when in lp.terms:
            c = coeff * self._scale(ctrl, "step" if when == "step" else "event") / 1
            P = self._product(post, signals)
            P = np.ones((1, lp.size)) if P is None else np.broadcast_to(P, (1, lp.size))
            if when == "post_spike":
                P = P * self.spikes[None, :]
            tb = c * P.sum(axis=0)
            if syn:
                tb *= self.b
            db = tb if db is None else db + tb
        self.acc_b += db
        if lp.apply == "step" or ctrl[1]:
            apply_bias(self, lp.momentum)

    # -- state, for the Lava Vars ----------------------------------------------------------
    def state(self) -> dict:
        """The population's state variables by name (1-d arrays; views)."""
        out = {"bias": self.b, "acc_bias": self.acc_b, "vel_bias": self.vel_b}
        if self.lp.spiking:
            out.update(v=self.unit.soma.v[0] if self.burst else self.unit.v[0],
                       current=self.current.x[0], activity=self.xhat.x[0])
            if self.burst:
                out.update(e_bar=self.det.E_bar[0], b_bar=self.det.B_bar[0],
                           apical=self.apical.x[0])
        return out
