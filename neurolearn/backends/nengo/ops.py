"""The nengo operators of a lowered spec: the post factors of every layer, one
projection's learning (accumulate over the batch, emit through momentum), and for
specs in phases a layer's phased output and a plastic feedback matrix's rule.

Signals live only in an operator's ``sets``/``reads``/``updates`` lists (nengo's
optimizer rewrites those lists when it merges signals); ``keys`` name them. Rows
are (1, n) views, the shapes the reference computes with, so the formulas of
:mod:`neurolearn.reference.signals` and :mod:`neurolearn.reference.terms` run on
them unchanged.
"""

from __future__ import annotations

import numpy as np
from nengo.builder import Operator

from ...reference.dynamics import (bound_state, equilibrium_force, nudge_activity,
                                   output_delta, plateau, prediction_error, soma_rest,
                                   soma_step, value_force)
from ...reference.params import Params
from ...reference.phased import example_noise, noise_columns
from ...reference.reward import RewardState
from ...reference.signals import (burst_prob_devs, error_drives, output_error,
                                  output_readout)
from ...reference.terms import error_free_part, term_update
from .lower import trace_name

# the stream's flags, after its input and target (see frontend.ExampleStream)
TEACH, N_BATCH, PASS, APPLY, PLASTIC, PHASE, PHASE_STEP, EXAMPLE = range(8)
N_FLAGS = 8


def _row(a):
    return a.reshape(1, -1)


def _apply_to(M, acc, vel, mu):
    """A feedback matrix's batch change through momentum (v = mu v + acc; M += v, as
    the reference's apply), then the accumulator cleared."""
    if mu:
        vel[...] *= mu
        vel[...] += acc
        M[...] += vel
    else:
        M[...] += acc
    acc[...] = 0.0


class _Keyed(Operator):
    """An operator whose signals are named by keys parallel to its lists."""

    def __init__(self, sets=(), reads=(), updates=(), tag=None):
        super().__init__(tag=tag)
        self.set_keys = [k for k, _ in sets]
        self.read_keys = [k for k, _ in reads]
        self.update_keys = [k for k, _ in updates]
        self.sets = [s for _, s in sets]
        self.incs = []
        self.reads = [s for _, s in reads]
        self.updates = [s for _, s in updates]

    def views(self, signals) -> dict:
        out = {}
        for keys, sigs in ((self.set_keys, self.sets), (self.read_keys, self.reads),
                           (self.update_keys, self.updates)):
            for k, s in zip(keys, sigs):
                out[k] = signals[s]
        return out


class SimPostFactors(_Keyed):
    """Every layer's post factors of a plastic step: error drives under each feedback
    pathway (output error switched off when the stream does not teach), rate
    burstprop's (p - p_bar) e, and the moving average of activity^2, all from
    :mod:`neurolearn.reference.signals`. Nothing of these runs on settling steps
    (nothing reads the factors then: nengo has no feedback delay to feed).

    A reward task (``program.reward``) runs here too, on every step: the
    reference's own :class:`~neurolearn.reference.reward.RewardState` (action
    generator ``default_rng([seed, 6])``) sees the output's readout (the settling
    steps' mean decides the action at the first plastic step), sets the global
    signals ('glob', name) (reward and rpe after the reward's delay) and gives the
    error the output is taught with (loss 'reward': the selected action's value
    error only, BrainProp; else the teacher's).

    keys: ('I', l) (what projection l delivers, after its synapse), ('b', l) (a
    learned bias; else the fixed one), ('noise', l) (a phase's noise added to the net
    input), ('h', l) (rate output or spiking trace),
    ('y',), ('flags',), ('W', l), ('B', l) read; ('pf', l, name), ('glob', name)
    set; ('sq', l), ('sq_started',) updated.
    """

    def __init__(self, program, sets, reads, updates, fixed_bias=None, seed=0,
                 tag="PostFactors"):
        super().__init__(sets, reads, updates, tag=tag)
        self.program = program
        self.fixed_bias = fixed_bias or {}
        self.seed = seed

    def make_step(self, signals, dt, rng):
        prog = self.program
        net, L = prog.spec.network, prog.L
        v = self.views(signals)
        flags = v[("flags",)]
        y = _row(v[("y",)])
        layers = prog.layers
        current = [None] + [_row(v[("I", l)]) for l in range(1, L + 1)]
        bias = [None] + [_row(v[("b", l)]) if ("b", l) in v else
                         self.fixed_bias[l].reshape(1, -1) for l in range(1, L + 1)]
        h = [_row(v[("h", l)]) if ("h", l) in v else None for l in range(L + 1)]
        params = Params([v[("W", l)] if ("W", l) in v else None for l in range(1, L + 1)],
                        [], {l: v[("B", l)] for l in range(1, L) if ("B", l) in v})
        neurons = [lm.neuron for lm in layers]
        drive = [v.get(("pf", l, "error_drive")) for l in range(L + 1)]
        burst = [v.get(("pf", l, "burst_prob_dev")) for l in range(L + 1)]
        sq_out = [v.get(("pf", l, "activity_sq_avg")) for l in range(L + 1)]
        sq = [v.get(("sq", l)) for l in range(L + 1)]
        sq_started = v.get(("sq_started",))
        need = prog.post_needed
        taus = {f.tau for t in prog.spec.rule.resolved_terms() for f in t.factors
                if f.kind == "post" and f.signal == "activity_sq_avg"}
        d_sq = np.exp(-prog.dt / next(iter(taus - {None}), 1.0))
        loss, spiking = prog.loss, prog.spiking
        glob = {k[1]: s for k, s in v.items() if k[0] == "glob"}
        reward = RewardState(prog.reward, self.seed, prog.n_teach, prog.dt, loss) \
            if prog.reward is not None else None
        clock = {"step": 0}

        noise = {l: _row(v[("noise", l)]) for l in range(1, L + 1) if ("noise", l) in v}

        def net_input(l):
            a = current[l] + bias[l]
            return a + noise[l] if l in noise else a  # a phase's added noise

        def readout(a_out):
            return h[L] if spiking else output_readout(a_out, h[L], loss)

        def reward_step(teach):
            """The reward task's step (every step): global signals, taught error."""
            if clock["step"] % prog.k == 0:
                reward.begin_example()
            clock["step"] += 1
            y_hat = readout(net_input(L))
            g, err = reward.step(y_hat, y, output_error(y_hat, y), teach)
            for name, sig in glob.items():
                sig[...] = g[name][0]
            return y_hat, err

        def step_post_factors():
            teach = bool(flags[TEACH])
            if reward is not None:
                err = reward_step(teach)[1]
            if not teach:
                if prog.phases and "error_drive" in need:
                    for l in range(1, L + 1):  # no teacher, no error (a plastic phase
                        drive[l][...] = 0.0    # may run without one)
                return
            a = [None] + [net_input(l) for l in range(1, L + 1)]
            if "error_drive" in need:
                if spiking:
                    fp = [neurons[l].fprime(a[l]) for l in range(1, L + 1)]
                else:
                    fp = [neurons[l].fprime(a[l], h[l]) for l in range(1, L + 1)]
                if reward is None:
                    err = output_error(readout(a[L]), y)
                for l, d in enumerate(error_drives(net, params, fp, err, loss), start=1):
                    drive[l][...] = d[0]
            if "burst_prob_dev" in need:
                for l, d in enumerate(burst_prob_devs(net, params, h, y), start=1):
                    burst[l][...] = d[0]
            if "activity_sq_avg" in need:
                # the reference's moving average: from its first value, plastic steps only
                for l in range(1, L + 1):
                    x2 = h[l][0] ** 2
                    if sq_started[0]:
                        sq[l][...] = d_sq * sq[l] + (1.0 - d_sq) * x2
                    else:
                        sq[l][...] = x2
                    sq_out[l][...] = sq[l]
                sq_started[0] = 1.0

        return step_post_factors


class _PhaseRecords:
    """The factors of projection ``layer``'s rule that read a phase (the program's
    PhaseRead list): each recorded at its phase's end, the last step's value or the
    mean over the phase's last ``window`` steps summed step by step (as the
    reference's), 1/nudge for global.inv_nudge, 1 on the bias's constant unit; a
    pyramidal layer's plateau is of its apical potential, or of the potential's mean."""

    def __init__(self, program, layer, bias):
        self.program, self.bias = program, bias
        self.at = {}
        for r in program.phase_reads:
            self.at.setdefault(r.phase, []).append(r)
        self.records, self.sums = {}, {}
        self.pyramidal = program.layers[layer].pyramidal

    def record(self, flags, sig_pre, sig_post) -> bool:
        """Record this step's values; True at a phase's last step. A pyramidal post
        layer's own plateau of the step becomes the plateau of its potential."""
        i, j = int(flags[PHASE]), int(flags[PHASE_STEP])
        steps = self.program.phases[i].steps if i >= 0 else 0  # i < 0: the sweep
        for r in self.at.get(i, ()):
            key = (r.kind, r.name)
            if self.bias and r.kind == "pre":
                self.records[key] = np.ones((1, 1))  # the constant unit
                continue
            if r.kind == "global":  # inv_nudge: 1 / the phase's nudge
                self.records[key] = np.full((1, 1), 1.0 / self.program.phases[i].nudge)
                continue
            v = (sig_pre if r.kind == "pre" else sig_post)[r.signal]
            apical = r.kind == "post" and r.signal == "plateau" and self.pyramidal
            if r.value == "average":
                if j == steps - r.window:
                    self.sums[key] = v.copy()
                elif j > steps - r.window:
                    self.sums[key] = self.sums[key] + v
                if j == steps - 1:
                    mean = self.sums[key] / r.window
                    self.records[key] = plateau(mean) if apical else mean
            elif j == steps - 1:
                self.records[key] = plateau(v) if apical else v.copy()
        if self.pyramidal and "plateau" in sig_post:
            sig_post["plateau"] = plateau(sig_post["plateau"])
        return i >= 0 and j == steps - 1

    def signals(self, sig_pre, sig_post):
        """(pre, post) signal dicts with the recorded phase values added."""
        pre = {**sig_pre, **{n: v for (k, n), v in self.records.items() if k == "pre"}}
        post = {**sig_post, **{n: v for (k, n), v in self.records.items() if k != "pre"}}
        return pre, post


class SimSumOfProducts(_Keyed):
    """One projection's learning, the reference's update (simulator docstring):

    every step, the factors with their own trace advance (spiking: unit-area traces,
    spike traces jumping by 1 or set to 1, read after or just before this step's
    own spike; rate: low-passed from their first value) and so does the eligibility
    tag (tag <- exp(-dt/tau) tag + its terms, spike-gated ones masked by the step's
    pre or post spikes); on a plastic step (stream flag) each term adds eta_l *
    term / (n_teach * n_batch) (a step term) or eta_l * term / n_batch (a
    spike-gated term, at the step's spikes) to the accumulated change, evaluated by
    :func:`neurolearn.reference.terms.term_update` on the step's pre, post and
    global signals; after the batch's last plastic step (stream flag) the
    accumulated change goes through momentum (v = mu v + acc) into ``delta``, which
    nengo adds to the weights at the start of the next step (the reference applies
    it at the end of this one: the same weights from the next step on); ``delta`` is
    0 on every other step. eta is multiplied by lr_decay when the stream's pass
    index grows. With ``bias`` the projection is the bias column (pre: a unit of
    constant activity 1 whose every pre signal is 1, as the reference's bias; a
    term's tag factor is 1 there, as in the reference). A learned feedback matrix B
    of the layer below (Kolen-Pollack) gets eta_l (syn-free part)^T - eta_l decay B
    the same way. A rule that reads phases (``program.per_phase``) records each
    phase factor at its phase's end (snapshot, or the mean over the window) and runs
    once at the end of each plastic phase, eta_l * term / (plastic phases * n_batch),
    as the phased reference.

    keys: ('flags',), ('W',), ('pre', name), ('post', name) (global signals
    included), ('raw_pre',), ('raw_post',) read; ('delta',), ('acc',), ('vel',),
    ('trace', i), ('trace_started',), ('tag',), ('B',), ('accB',), ('velB',) updated.
    """

    def __init__(self, program, layer, bias, reads, updates, tag=None):
        super().__init__((), reads, updates, tag=tag)
        self.program = program
        self.layer = layer
        self.bias = bias

    def make_step(self, signals, dt, rng):
        prog, l, bias = self.program, self.layer, self.bias
        v = self.views(signals)
        flags, W = v[("flags",)], v[("W",)]
        delta, acc, vel = v[("delta",)], v[("acc",)], v.get(("vel",))
        learn_w = prog.layers[l].plastic
        mu = prog.momentum
        terms, tag_terms = prog.terms, prog.tag_terms
        filtered = prog.filtered
        names = [trace_name(tr) for tr in filtered]
        spiking = prog.spiking
        pre = {k[1]: _row(s) for k, s in v.items() if k[0] == "pre"}
        post = {k[1]: _row(s) for k, s in v.items() if k[0] == "post"}
        raw = {"pre": v.get(("raw_pre",)), "post": v.get(("raw_post",))}
        traces = [_row(v[("trace", i)]) for i in range(len(filtered))]
        started = v.get(("trace_started",))
        tag = v.get(("tag",))
        B, accB, velB = v.get(("B",)), v.get(("accB",)), v.get(("velB",))
        decay_B = prog.spec.network.feedback_of(l - 1).decay if B is not None else 0.0
        # as the reference: a trace without its own tau has the tau_syn of the
        # projection's first spiking layer
        decays = [np.exp(-dt / (tr.tau if tr.tau is not None else
                                prog.layers[max(l - 1, 1)].trace_tau)) for tr in filtered]
        jumps = [1.0 if tr.signal == "spike_trace" else (1.0 - d) / (dt * prog.max_rate)
                 for tr, d in zip(filtered, decays)]
        tag_decay = np.exp(-dt / prog.tag_tau) if tag is not None else None
        state = {"eta": prog.eta[l - 1], "pass": 0, "dirty": False}
        ones = np.ones((1, 1))
        no_tag = {"tag": np.ones_like(W)} if bias else None

        def advance_traces(sig_pre, sig_post):
            """Every own trace one step on; the value the terms read into the dicts."""
            for i, tr in enumerate(filtered):
                side = sig_pre if tr.kind == "pre" else sig_post
                if bias and tr.kind == "pre":
                    side[names[i]] = ones  # the constant unit's traces are 1
                    continue
                x = traces[i]
                s = _row(raw[tr.kind])
                if spiking:  # from zero; 0/1 spikes
                    old = decays[i] * x
                    if tr.update == "set":
                        x[...] = np.where(s > 0, jumps[i], old)
                    else:
                        x[...] = old + jumps[i] * (s > 0)
                    side[names[i]] = old if tr.read == "before" else x.copy()
                    continue
                if started[0]:  # rate: a low-pass from its first value
                    x[...] = decays[i] * x + (1.0 - decays[i]) * s
                else:
                    x[...] = s
                side[names[i]] = x.copy()
            if started is not None:
                started[0] = 1.0

        def masks(when):
            """(pre_mask, post_mask) of a term: the step's spikes on its gated side
            (the bias's constant unit counts as spiking on every step)."""
            if when == "pre_spike":
                return (None if bias else (_row(raw["pre"]) > 0).astype(float)), None
            if when == "post_spike":
                return None, (_row(raw["post"]) > 0).astype(float)
            return None, None

        phase = _PhaseRecords(prog, l, bias) if prog.phase_reads else None

        def step_sum_of_products():
            if flags[PASS] > state["pass"]:  # a new pass: eta decays (per pass)
                while state["pass"] < flags[PASS]:
                    state["eta"] *= prog.lr_decay
                    state["pass"] += 1
            if state["dirty"]:
                delta[...] = 0.0
                state["dirty"] = False
            if bias:  # the bias is a synapse from a unit of constant activity 1
                sig_pre = {name: ones for name in prog.pre_needed}
            else:
                sig_pre = dict(pre)
            sig_post = dict(post)
            # traces and the tag advance on every step of the training stream,
            # settling included (the meaning); only the weight terms wait for teaching
            advance_traces(sig_pre, sig_post)
            if tag is not None and learn_w:
                tag[...] *= tag_decay
                for t in tag_terms:
                    pm, qm = masks(t.when)
                    tag[...] += term_update(t, sig_pre, sig_post, W, 1, scale=1.0,
                                            pre_mask=pm, post_mask=qm)[0]
            if phase is not None:
                phase_end = phase.record(flags, sig_pre, sig_post)
                if prog.per_phase and flags[PLASTIC] and phase_end and learn_w:
                    # the rule once per plastic phase, with the phases' records
                    scale = state["eta"] * (1.0 / (prog.n_plastic_phases * flags[N_BATCH]))
                    pre_r, post_r = phase.signals(sig_pre, sig_post)
                    for t in terms:
                        acc[...] += term_update(t, pre_r, post_r, W, 1, scale=scale)[0]
            if flags[PLASTIC] and not prog.per_phase:
                n_batch = flags[N_BATCH]
                step_scale = state["eta"] * (1.0 / (prog.n_teach * n_batch))
                event_scale = state["eta"] * (1.0 / n_batch)
                if learn_w:
                    syn = no_tag if bias else ({"tag": tag} if tag is not None else None)
                    for t in terms:
                        pm, qm = masks(t.when)
                        acc[...] += term_update(
                            t, sig_pre, sig_post, W, 1,
                            scale=step_scale if t.when == "step" else event_scale,
                            syn_sig=syn, pre_mask=pm, post_mask=qm)[0]
                if B is not None:
                    mirror = error_free_part(terms, sig_pre, sig_post, W)
                    accB[...] += step_scale * (mirror.T - decay_B * B)
            if flags[APPLY]:
                if learn_w:
                    if mu:
                        vel[...] *= mu
                        vel[...] += acc
                        delta[...] = vel
                    else:
                        delta[...] = acc
                    acc[...] = 0.0
                    state["dirty"] = True
                if B is not None:
                    _apply_to(B, accB, velB, mu)

        return step_sum_of_products


class SimPhasedOutput(_Keyed):
    """The output of a layer in phases, from what its nengo neuron type computed
    (``base``, f(J)): the phase's noise where the phase's source replaces the layer
    (the reference's draws, :func:`neurolearn.reference.phased.example_noise` of the
    stream's example index), then, at the output while the phase's teacher nudges,
    h + nudge (y - h) (:func:`neurolearn.reference.dynamics.nudge_activity`).

    keys: ('base',), ('flags',), ('y',) read; ('out',) set."""

    def __init__(self, program, layer, seed, key, sets, reads, tag=None):
        super().__init__(sets, reads, (), tag=tag or f"PhasedOutput[{layer}]")
        self.program, self.layer, self.seed, self.key = program, layer, seed, key

    def make_step(self, signals, dt, rng):
        prog, l = self.program, self.layer
        v = self.views(signals)
        base, flags, y, out = v[("base",)], v[("flags",)], v[("y",)], v[("out",)]
        spec = prog.spec
        cols = {i: {k: (c, n) for k, c, n in noise_columns(spec, ph)}.get(l)
                for i, ph in enumerate(prog.phases) if ph.noise is not None}
        replaced = {i: c for i, c in cols.items()
                    if c is not None and prog.phases[i].noise.mode == "replace"}
        nudge = {i: ph.nudge for i, ph in enumerate(prog.phases)
                 if l == prog.L and ph.target and ph.nudge}
        cur = {"e": -1, "draws": None}

        def step_phased_output():
            i = int(flags[PHASE])
            h = base
            if i in replaced:
                e = int(flags[EXAMPLE])
                if e != cur["e"]:
                    cur["e"], cur["draws"] = e, example_noise(spec, self.key, e, self.seed)
                c, n = replaced[i]
                h = cur["draws"][prog.phases[i].name][int(flags[PHASE_STEP]), c:c + n]
            if i in nudge:
                h = nudge_activity(h, y, nudge[i])
            out[...] = h

        return step_phased_output


class SimFeedbackRule(_Keyed):
    """A plastic feedback matrix B_l (``network.feedback.rule``): on every step of
    its phase its terms, evaluated by :func:`neurolearn.reference.terms.term_update`
    with pre = the pathway's source layer and post = layer l (activity h, net input
    a = I + b), add eta_B * term / (phase steps * n_batch) to the accumulated change;
    after the batch's last step it goes through momentum (v = mu v + acc) into B (the
    reference: eta_B times the mean over the batch and the phase's steps, with the
    forward weights' momentum, applied after the batch). The post-factor operator
    reads B; nengo runs an update after every read of the step.

    keys: ('flags',), (side, 'I'), (side, 'h'), (side, 'b') (a learned bias; else
    the fixed one), (side, 'noise') (a phase's added noise) read, side 'pre' or
    'post'; ('B',), ('acc',), ('vel',) updated."""

    def __init__(self, program, layer, reads, updates, fixed_bias, tag=None):
        super().__init__((), reads, updates, tag=tag or f"FeedbackRule[B{layer}]")
        self.program, self.layer, self.fixed_bias = program, layer, fixed_bias

    def make_step(self, signals, dt, rng):
        prog, l = self.program, self.layer
        fb = prog.feedback[l]
        v = self.views(signals)
        flags, B, acc, vel = v[("flags",)], v[("B",)], v[("acc",)], v.get(("vel",))
        mu = prog.momentum
        sides = {}
        for side, layer in (("pre", fb.source), ("post", l)):
            b = v.get((side, "b"))
            xi = v.get((side, "noise"))
            sides[side] = (_row(v[(side, "I")]), _row(v[(side, "h")]),
                           _row(b) if b is not None else self.fixed_bias[layer].reshape(1, -1),
                           None if xi is None else _row(xi))

        def signals_of(side):
            I, h, b, xi = sides[side]
            a = I + b
            return {"activity": h, "net_input": a if xi is None else a + xi}

        def step_feedback_rule():
            if int(flags[PHASE]) == fb.phase:
                pre, post = signals_of("pre"), signals_of("post")
                scale = fb.eta * (1.0 / (fb.steps * flags[N_BATCH]))
                for t in fb.terms:
                    acc[...] += term_update(t, pre, post, B, 1, scale=scale)[0]
            if flags[APPLY]:
                _apply_to(B, acc, vel, mu)

        return step_feedback_rule


class _LayerOp(_Keyed):
    """An operator that runs layer ``layer``'s neurons (its bias: the learned one's
    signal ('b',), else the fixed one); tagged ``kind[layer]``."""
    kind = "Layer"

    def __init__(self, program, layer, fixed_bias, sets, reads, updates, tag=None):
        super().__init__(sets, reads, updates, tag=tag or f"{self.kind}[{layer}]")
        self.program, self.layer, self.fixed_bias = program, layer, fixed_bias

    def layer_views(self, signals):
        """(the layer's neuron node, the signal views, its bias row)."""
        v = self.views(signals)
        return self.program.layers[self.layer].neuron, v, _bias(v, self.fixed_bias)


def _bias(v, fixed):
    """The layer's bias as a row: its learned bias's signal, else the fixed one."""
    return _row(v[("b",)]) if ("b",) in v else fixed.reshape(1, -1)


class SimSettling(_LayerOp):
    """One layer of settling dynamics (the reference's formulas,
    :mod:`neurolearn.reference.dynamics`); the connections of the loop deliver the
    previous step's values, so every layer moves from the same previous state.

    Equilibrium (Scellier & Bengio's Hopfield energy): W_l h_(l-1) arrives one step
    late (the input's at once), and W_(l+1)^T h_(l+1) from above;

    - the sweep's step l - 1 (flags' phase -1): s = bound(W_l h_(l-1) + b_l), the
      reference's forward sweep taken one layer per step;
    - a settling step: s <- bound(s + step (f'(s) drive - s)), drive = W_l h_(l-1) +
      b_l + W_(l+1)^T h_(l+1), plus nudge times the output's delta at the output
      while the phase's teacher nudges.

    Predictive coding (value units x = s): the layer's own error e_l and W_(l+1)^T
    e_(l+1) arrive one step late (layer 1's own error is x - (W_1 x_in + b_1) of the
    step, so a phase that switches the input is seen at its first step, as the
    reference's); the sweep sets x = W_l h_(l-1) + b_l (the prediction, read in the
    step); a settling step moves x by step (-e_l + f'(x) W_(l+1)^T e_(l+1)) (at the
    output -e_L plus the nudge's delta); ``x`` is set so the layer's
    :class:`SimPredictionError` reads the new state in the step.

    With settle.tol the operator sets its largest move of the step and holds its
    state while :class:`SimConvergence` says the example has converged.

    The output is f(s). keys: ('ff',), ('fb',) (not at the output), ('e',)
    (predictive coding), ('b',) (a learned bias; else the fixed one), ('flags',),
    ('y',), ('active',) (settle.tol) read; ('s',) updated; ('out',), ('x',),
    ('moved',) (settle.tol), ('net_input',) (s, when read) set."""

    kind = "Settling"

    def make_step(self, signals, dt, rng):
        prog, l = self.program, self.layer
        n, v, b = self.layer_views(signals)
        ff, fb, flags, y = _row(v[("ff",)]), v.get(("fb",)), v[("flags",)], _row(v[("y",)])
        fb = None if fb is None else _row(fb)
        s, out = _row(v[("s",)]), _row(v[("out",)])
        x, e = v.get(("x",)), v.get(("e",))
        active, moved = v.get(("active",)), v.get(("moved",))  # settle.tol
        net = v.get(("net_input",))  # pre.net_input of the layer above: the state
        net = None if net is None else _row(net)
        coding = e is not None
        x, e = (_row(x), _row(e)) if coding else (None, None)
        is_out = l == prog.L
        loss = prog.loss

        def step_settling():
            i, j = int(flags[PHASE]), int(flags[PHASE_STEP])
            if i < 0:
                if j == l - 1:
                    s[...] = ff + b if coding else bound_state(n, ff + b)
            else:
                ph = prog.phases[i]
                if coding:
                    # layer 1's prediction is of the input of this step (the reference
                    # recomputes it when a phase clamps its input): its error in the step
                    err = prediction_error(s, ff + b) if l == 1 else e
                    force = value_force(n, s, out, err, fb)
                else:
                    drive = ff + b
                    if fb is not None:
                        drive = drive + fb
                    force = equilibrium_force(n, s, out, drive)
                if is_out and ph.target and ph.nudge:
                    force = force + ph.nudge * output_delta(n, s, out, y, loss)
                new = s + ph.settle.step * force
                if not coding:
                    new = bound_state(n, new)
                if active is None or active[0]:
                    if moved is not None:
                        moved[...] = np.abs(new - s).max()
                    s[...] = new
                elif moved is not None:  # converged: the state holds (settle.tol)
                    moved[...] = 0.0
            out[...] = n.f(s)
            if coding:
                x[...] = s
            if net is not None:
                net[...] = s

        return step_settling


class SimConvergence(_Keyed):
    """settle.tol: an example stops settling at the first step that moves none of its
    layers' states by more than tol, and its states hold for the phase's remaining
    steps, as the reference's. Reads every settling layer's largest move of the
    step; updates the flag the settling operators read on the next step (1 again
    from each phase's first step).

    keys: ('moved', l) for each settling layer, ('flags',) read; ('active',)
    updated."""

    def __init__(self, program, reads, updates, tag="Convergence"):
        super().__init__((), reads, updates, tag=tag)
        self.program = program

    def make_step(self, signals, dt, rng):
        prog = self.program
        v = self.views(signals)
        flags, active = v[("flags",)], v[("active",)]
        moved = [s for k, s in v.items() if k[0] == "moved"]

        def step_convergence():
            i, j = int(flags[PHASE]), int(flags[PHASE_STEP])
            if i < 0 or j == prog.phases[i].steps - 1:
                active[0] = 1.0  # the next step starts a phase (or the sweep goes on)
                return
            tol = prog.phases[i].settle.tol
            if tol is not None and active[0]:
                active[0] = float(max(float(m[0]) for m in moved) > tol)

        return step_convergence


class SimPredictionError(_Keyed):
    """Predictive coding's error population of a layer: e = x - mu, mu = W_l
    h_(l-1) + b_l, all of the step (the value units' new state, the prediction from
    the layer below's new activity), as the reference recomputes them after every
    settling step.

    keys: ('x',), ('mu',) (the projection's W_l h_(l-1)), ('b',) (a learned bias;
    else the fixed one) read; ('out',) set."""

    def __init__(self, fixed_bias, sets, reads, tag=None):
        super().__init__(sets, reads, (), tag=tag)
        self.fixed_bias = fixed_bias

    def make_step(self, signals, dt, rng):
        v = self.views(signals)
        x, mu, out = v[("x",)], v[("mu",)], v[("out",)]
        b = v[("b",)] if ("b",) in v else self.fixed_bias

        def step_prediction_error():
            out[...] = prediction_error(x, mu + b)

        return step_prediction_error


class SimTransposedDelta(Operator):
    """The settling loop's top-down W^T follows W: its delta is W's delta transposed,
    read when nengo's own Copy reads W's (so both change in the same step)."""

    def __init__(self, delta, mirror, tag=None):
        super().__init__(tag=tag)
        self.sets, self.incs, self.reads, self.updates = [mirror], [], [delta], []

    def make_step(self, signals, dt, rng):
        delta, mirror = signals[self.reads[0]], signals[self.sets[0]]

        def step_transposed_delta():
            mirror[...] = delta.T

        return step_transposed_delta


class SimPyramidal(_LayerOp):
    """A pyramidal layer (Guerguiev et al. 2017; the reference's formulas,
    :mod:`neurolearn.reference.dynamics`): basal input W_l h_(l-1) + b_l in the step,
    apical potential A = B_l h_src one step late (the reference reads it after the
    step's layers), the soma C integrated exactly over the step:

    - the sweep (flags' phase -1): C = the soma's rest for the basal input alone;
    - a phase step: C <- soma_step(C, basal, A, dt);
    - the output f(C) and the slope f'(C) (the rule's post.slope).

    keys: ('ff',), ('A',), ('b',) (a learned bias; else the fixed one), ('noise',)
    (a phase's noise added to the basal input), ('flags',) read; ('C',) updated;
    ('out',), ('slope',) set."""

    kind = "Pyramidal"

    def make_step(self, signals, dt, rng):
        n, v, b = self.layer_views(signals)
        ff, A, flags = _row(v[("ff",)]), _row(v[("A",)]), v[("flags",)]
        C, out, slope = _row(v[("C",)]), _row(v[("out",)]), _row(v[("slope",)])
        xi = v.get(("noise",))
        xi = None if xi is None else _row(xi)
        net = v.get(("net_input",))  # pre.net_input of the layer above: the soma
        net = None if net is None else _row(net)
        step = self.program.dt

        def step_pyramidal():
            if int(flags[PHASE]) < 0:
                C[...] = soma_rest(n, ff + b)
            else:
                basal = ff + b if xi is None else ff + b + xi  # a phase's added noise
                C[...] = soma_step(n, C, basal, A, step)
            out[...] = n.f(C)
            slope[...] = n.fprime(C, out)
            if net is not None:
                net[...] = C

        return step_pyramidal


class SimRateSignals(_Keyed):
    """A rate layer's net input a = I + b (+ a phase's added noise) and slope
    f'(a, h) of the step, for rules that read pre.net_input or post.slope.

    keys: ('I',), ('b',) (a learned bias; else the fixed one), ('noise',), ('h',)
    read; ('net_input',), ('slope',) set (either)."""

    def __init__(self, neuron, fixed_bias, sets, reads, tag=None):
        super().__init__(sets, reads, (), tag=tag)
        self.neuron, self.fixed_bias = neuron, fixed_bias

    def make_step(self, signals, dt, rng):
        v = self.views(signals)
        I, h = _row(v[("I",)]), _row(v[("h",)])
        slope, net = v.get(("slope",)), v.get(("net_input",))
        b = _bias(v, self.fixed_bias)
        xi = v.get(("noise",))
        n = self.neuron

        def step_rate_signals():
            a = I + b
            if xi is not None:
                a = a + xi
            if net is not None:
                net[...] = a[0]
            if slope is not None:
                slope[...] = n.fprime(a, h)[0]

        return step_rate_signals
