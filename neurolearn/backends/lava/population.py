"""One layer's population under the stock lowering (no lava import).

The reference's step (:class:`neurolearn.reference.simulator.Network`) split where
Lava splits it: a population receives what its ``LearningDense`` delivers (W s of
the layer below, one step old) and what its feedback ``Dense`` delivers (M times
its source's down signals, one step old), runs its neurons with the reference's own
classes and functions (:mod:`neurolearn.reference.neurons`, ``reference.burst``,
``reference.signals``), and sends forward its activity (rates as graded payloads,
events as spikes), down its learning signals, and to its LearningDense the rule's
post factors y1..y3 (module docstring of :mod:`.lower`). The bias is the
population's own Var (Loihi's compartment bias) and learns here, with the same
accumulation and momentum as the reference.

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
from ...reference.signals import (apical_drive, burst_hidden_prob, burst_output_probs,
                                  output_drive, output_error, output_readout)
from ...reference.simulator import Filter
from ...rules.neurons import Burst
from .lower import MAX_Y


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

    # -- the step --------------------------------------------------------------------
    def step(self, a_in, fb_in, y, ctrl):
        """One step. ``a_in`` (n,): what the LearningDense delivers; ``fb_in``
        (n * channels,): what the feedback Dense delivers; ``y`` (n_out,): target;
        ``ctrl``: teach, apply, n_batch, epoch_end (:mod:`.stream`). Returns
        (forward payload (n,), down signals (n * channels,), [y1, y2, y3])."""
        lp = self.lp
        teach = bool(ctrl[0])
        if lp.fixed:  # integer dendritic sum of W_int -> the float current
            a_in = a_in * 2.0 ** -lp.w_frac
        fb = {c: fb_in[i * lp.size:(i + 1) * lp.size][None, :]
              for i, c in enumerate(lp.fb_channels)}
        y = y[None, :]
        if lp.spiking:
            fwd, down, post = self._spiking(a_in[None, :], fb, y, teach)
        else:
            fwd, down, post = self._rate(a_in[None, :], fb, y, teach)
        ys = self._learn(post, ctrl) if lp.plastic else [np.zeros(lp.size)] * MAX_Y
        if lp.bias_learns and post is not None:
            self._learn_bias(post, ctrl)
        if ctrl[3]:
            self.eta = self.eta * lp.lr_decay  # as run_time_stepped after every pass
        down = np.concatenate([down[c][0] for c in lp.down_channels]) if lp.down_channels \
            else np.zeros(0)
        return fwd[0], down, ys

    def _rate(self, a_in, fb, y, teach):
        lp, nrn = self.lp, self.nrn
        a = a_in + self.b
        h = nrn.f(a)
        down, post = {}, {}
        if lp.is_output:
            y_hat = output_readout(a, h, lp.loss)
            err = output_error(y_hat, y)
            self.readout, self.error = y_hat[0], err[0]
        if self.need_drive:
            fp = nrn.fprime(a, h)
            if lp.is_output:
                d = output_drive(err if teach else np.zeros_like(err), fp, lp.loss)
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
        if not teach:
            return h, down, None
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
                d = output_drive(err if teach else np.zeros_like(err), fp, lp.loss)
            else:
                d = fb["drive"] * fp
            post["error_drive"] = down["drive"] = d
        if not teach:
            return events, down, None
        post["activity"] = self.xhat.x
        if self.burst:
            post["event"] = events
            post["burst"] = B
            post["pbar_event"] = pbar * events
        return events, down, post

    # -- learning --------------------------------------------------------------------
    def _scale(self, ctrl):
        """eta's share of one plastic step (Network.begin_batch and _accumulate)."""
        return self.eta * (1.0 / (self.lp.n_teach * int(ctrl[2])))

    @staticmethod
    def _product(post, signals):
        out = None
        for sig in signals:
            v = post[sig]
            out = v if out is None else out * v
        return out

    def _learn(self, post, ctrl):
        """The post factors y1..y3 for the LearningDense (zeros off plastic steps)."""
        lp = self.lp
        n = lp.size
        ys = [np.zeros(n) for _ in range(MAX_Y)]
        g = float(ctrl[1]) if post is not None else 0.0
        if lp.slot_apply is not None:
            ys[lp.slot_apply - 1] = np.full(n, g * lp.y_comp)
        if lp.slot_mom is not None:
            ys[lp.slot_mom - 1] = np.full(n, (lp.momentum - 1.0) * g * lp.y_comp)
        if post is None:
            return ys
        scale = self._scale(ctrl)
        for p in lp.products:
            y = None
            for coeff, signals in p.terms:
                c = coeff * scale / 1
                P = self._product(post, signals)
                v = np.full((1, n), c) if P is None else P * c
                y = v if y is None else y + v
            y = y[0] * p.gain
            ys[p.slot - 1] = to_fixed(y, p.y_scale) if lp.fixed else y
        return ys

    def _learn_bias(self, post, ctrl):
        """The bias as a synapse from a unit of constant activity 1: its share of every
        term, accumulated and applied like the weights (Network._accumulate, apply)."""
        lp = self.lp
        scale = self._scale(ctrl)
        db = None
        for coeff, signals, syn in lp.terms:
            c = coeff * scale / 1
            P = self._product(post, signals)
            tb = c * (np.ones(lp.size) if P is None else P.sum(axis=0))
            if syn:
                tb *= self.b
            db = tb if db is None else db + tb
        self.acc_b += db
        if lp.apply == "step" or ctrl[1]:
            d = self.acc_b
            if lp.momentum:
                self.vel_b *= lp.momentum
                self.vel_b += d
                d = self.vel_b
            self.b += d
            self.acc_b.fill(0.0)

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
