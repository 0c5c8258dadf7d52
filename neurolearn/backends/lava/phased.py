"""Specs in phases on Lava: settling networks (equilibrium propagation, predictive
coding) on the stock processes, the stream and the runs of every spec in phases
(no lava import; feedforward phases: :mod:`.phased_ff`; the plan of an example and
its control values: :mod:`.phase_plan`).

What maps, and how (docs/backends/lava.md, "Specs in phases"):

- **Settling.** Every Dense delivers what it computed the step before, so a
  population that updates its state from what its Dense delivered updates from every
  layer's previous state: the reference's synchronous update. The top-down drive
  W_l^T rho(s_(l+1)) comes from a second LearningDense holding W_l^T (the *mirror*),
  fed by the upper population's payload.
- **Predictive coding** takes two Lava steps per reference step: an *update* step
  (each population moves its value units by -e + f'(x) W^T e_above, from its own
  error of the step before and the mirror's delivery of the errors above) and an
  *error* step (e = x - (W f(x_below) + b), from the prediction its LearningDense
  delivers, sent down to the mirror). The reference computes a step's errors from
  the states that step produced, so the error step is the update's second half, and
  the snapshot of the phase's end is taken at its last error step. The errors are a
  second compartment of the population (Loihi 2's multi-compartment neurons), not a
  population of their own: a separate one would add a Dense delay each way.
- **The sweep.** The reference starts each example from its forward sweep (states at
  the net inputs, clipped for equilibrium dynamics; predictive coding's errors 0). On
  Lava it takes L + 1 steps: the source's input reaches layer 1 one step after it is
  sent (step 0, every population holding its state), and layer l sweeps at step l.
  The phases follow.
- **Phases.** The stream's control values carry, per step, the mode (hold, sweep,
  settle), the sweeping layer, the phase's settle step and nudge, the teacher, and
  which phase ends at this step.
- **Learning from phase snapshots** (a gated post factor, nothing else). A rule whose
  terms read ``pre.activity`` and post signals at one phase's end (and constant
  global factors, ``inv_nudge``) is, per phase P, ``x1 * y1`` with y1 = eta * share
  * c_P * (post signals) sent only at P's last step: x1 there holds the presynaptic
  payload of the same step, the snapshot. The example's change gathers in the tag t
  (the batch accumulation of :func:`.program.accumulate`) and reaches w at the batch's
  last step, so w does not move between phases, as in the reference.
- **The mirror** learns the same products from the other side (x1 the upper
  layer's payload of the rule's post signal: its activity, or predictive coding's
  errors; the lower population's activity as its post factor, on a y slot of its own
  when the lower layer's own post factor is another signal): the same values, rounded
  in another order, so W^T follows W to rounding (declared: ``mirror_rounding``).

Refused by name: fixed point, the fused variant, settle.tol (a network-wide
convergence test), a settling phase that switches the input, momentum with predictive
coding (four post factors), and rules that read anything but snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...reference import dynamics as D
from ...reference.signals import output_error, output_readout
from ...rules.phases import (COMPARTMENTS, ERROR_POPULATIONS, FEEDBACK_RULE, NOISE,
                             PHASE_VALUES, PHASES, SETTLING, dynamics_of)
from .phase_plan import (APPLY, EPOCH_END, ERROR, LAVA_PHASED, MODE, N_BATCH, NAME,
                         NUDGE, PHASED_CTRL, SETTLE, SETTLE_STEP, SNAPSHOT, SWEEP,
                         SWEEP_LAYER, TEACH, UPDATE, PhasedPlan, PhasedPopulation,
                         PhasePlan, _refuse, folded_coefficient,
                         learn_from_x1, phased_layer_program)
from .population import LayerStep, apply_bias
from .stream import Cursor, Stream

SUPPORTED = frozenset({SETTLING, ERROR_POPULATIONS, COMPARTMENTS, PHASES, PHASE_VALUES,
                       FEEDBACK_RULE, NOISE})
SETTLING_MODELS = ("equilibrium", "predictive_coding")
# the post signal a settling population sends, by dynamics
POST_SIGNAL = {"equilibrium": "activity", "predictive_coding": "error"}
LOWERING = ("the Lava lowering of phases settles equilibrium and predictive-coding "
            "populations over mirrored LearningDense, steps pyramidal and rate layers "
            "through feedforward phases, and learns from phase snapshots and averages")


@dataclass
class Settling:
    """What a settling population does besides its dynamics: the coefficient c_P of
    its post factor at the end of each recorded phase (1-based, as the stream's
    snapshot value) and the number of evaluations per example (eta's share is 1 /
    (evaluations * examples in the batch)); its post signal is the dynamics'
    (:data:`POST_SIGNAL`)."""
    coeff: dict
    evals: int
    dynamics: str = "equilibrium"


# -- lowering ---------------------------------------------------------------------------
def check(spec, precision: str, variant: str) -> None:
    """Refuse what the Lava lowering of phases cannot run, by its first reason."""
    from ...rules.phases import refuse_phases
    if precision != "float":
        _refuse(f"precision {precision!r} for a spec in phases", "the phased lowering "
                "runs Lava's float engine (rate networks send graded payloads, which "
                "Lava's fixed-point x1 cannot carry)", "lava --precision float")
    refuse_phases(spec, NAME, LOWERING, "numpy (the phased reference), or nengo",
                  supported=SUPPORTED)
    if variant != "stock":
        _refuse(f"variant {variant!r} for a spec in phases", "the fused process runs the "
                "time-stepped reference's Network, which has no phases",
                "lava --variant stock")
    for p in spec.phases:
        if p.settle is not None and p.settle.tol is not None:
            _refuse(f"phase {p.name!r} settle.tol", "a convergence test reads every "
                    "layer's move of the step, a network-wide reduction that Lava's "
                    "populations, each seeing only its own state, do not have here",
                    "a fixed number of settling steps (no tol), or numpy")
        if not p.input and p.settle is not None:
            _refuse(f"phase {p.name!r} with input = false", "the input Dense delivers "
                    "the switch a step late, while the reference clamps the new input at "
                    "the phase's first step")


def _snapshot_terms(spec):
    """{phase name: coefficient} of a rule whose every term is pre.activity x the
    population's post signal (:data:`POST_SIGNAL`) x constant globals, all at one
    phase's end."""
    out = {}
    rule = spec.rule.display_name
    for k, t in enumerate(spec.rule.resolved_terms()):
        pre = [f for f in t.factors if f.kind == "pre"]
        post = [f for f in t.factors if f.kind == "post"]
        syn = [f for f in t.factors if f.kind == "syn"]
        what = f"rule {rule!r}, term {k} ({t})"
        if syn or len(pre) != 1 or pre[0].signal != "activity" or len(post) != 1:
            _refuse(what, "a term is lowered as x1 * y1: one presynaptic activity (the "
                    "payload the LearningDense holds) times one post signal, no synaptic "
                    "factor")
        if any(f.phase is None or f.phase_value != "snapshot" for f in pre + post):
            _refuse(what, "Lava's pre trace holds the payload of the step, so a term "
                    "reads phase snapshots only (a phase average would need a window's "
                    "mean of the payload, which Lava's exponential traces are not; a "
                    "value on every step is not lowered in phases)")
        if pre[0].phase != post[0].phase:
            _refuse(what, "its pre and post factors read different phases; the engine "
                    "pairs a payload with the post factor of the same step")
        signal = POST_SIGNAL[spec.network.dynamics.model]
        if post[0].signal != signal:
            _refuse(what, f"post signal {post[0].signal!r}: a settling population of "
                    f"{spec.network.dynamics.model} dynamics sends its {signal}")
        out[pre[0].phase] = out.get(pre[0].phase, 0.0) + folded_coefficient(spec, t, what)
    return out


def plan_of(spec, phase_terms) -> tuple:
    """(PhasedPlan, {phase name: 1-based snapshot index})."""
    order = [p.name for p in spec.phases if p.name in phase_terms]
    index = {name: i + 1 for i, name in enumerate(order)}
    L = len(spec.network.layers) - 1
    plan = PhasedPlan(L + 1, [PhasePlan(p.name, p.steps, p.settle.step,
                                        p.nudge if p.target else 0.0, p.target,
                                        index.get(p.name, 0)) for p in spec.phases],
                      spec.network.dynamics.model)
    return plan, index


def lower_phased(spec, prog, precision: str, variant: str):
    """Fill the LavaProgram ``prog`` (from :func:`.lower.lower`) for a spec in phases."""
    from ..base import Approximation
    from ...reference.signals import layer_etas
    from .program import Product, Slot, accumulate
    from .rulestring import check as check_rule_string
    check(spec, precision, variant)
    net, sim, tr = spec.network, spec.simulation, spec.training
    if dynamics_of(net).model not in SETTLING_MODELS:
        from .phased_ff import lower_feedforward
        return lower_feedforward(spec, prog)
    L = len(net.layers) - 1
    phase_terms = _snapshot_terms(spec)
    plan, index = plan_of(spec, phase_terms)
    names = [p.name for p in spec.phases]
    plastic_at = [i for i, p in enumerate(spec.phases) if p.plastic]
    evals = len(plastic_at)
    # a rule evaluated at every plastic phase's end reads phase P's snapshot once per
    # plastic phase at or after P
    coeff = {index[name]: c * sum(1 for i in plastic_at if i >= names.index(name))
             for name, c in phase_terms.items()}
    dyn = net.dynamics.model
    signal = POST_SIGNAL[dyn]
    if signal != "activity" and tr.momentum != 0.0 and L > 1:
        _refuse(f"training.momentum = {tr.momentum:g} with {dyn} dynamics",
                "a hidden population's post factors would be four (its own "
                f"{signal}, its activity for the mirror above, the batch's g and "
                "momentum's (mu - 1) g), and Loihi3FLearningRule carries three",
                "momentum = 0, or numpy")
    etas = layer_etas(spec.rule, L)
    if len({etas[l - 1] for l in range(1, L + 1) if net.layers[l].plastic}) > 1:
        _refuse(f"rule {spec.rule.display_name!r} with eta_output {spec.rule.eta_output:g}"
                f" != eta {spec.rule.eta:g}", "a hidden population sends one post factor "
                "to both LearningDense it is post of (its own, eta of the layer, and the "
                "mirror of the layer above, eta of that layer)", "one eta, or numpy")
    frozen = [layer.name for layer in net.layers[1:] if not layer.plastic]
    if frozen and L > 1:
        _refuse(f"frozen layer {frozen[0]!r} in a settling network", "its mirror W^T "
                "into the layer below must stay W^T, and the phased lowering learns "
                "both or neither (every layer plastic)")
    if not phase_terms:
        _refuse(f"rule {spec.rule.display_name!r}", "it reads no phase snapshot")
    params = prog.params
    prog.k, prog.n_teach = plan.k, 0
    prog.phased, prog.schedule = plan, LAVA_PHASED
    for l in range(1, L + 1):
        layer = net.layers[l]
        lp = phased_layer_program(spec, params, l, etas[l - 1],
                                  Settling(coeff, max(evals, 1), dyn))
        if l < L:
            lp.fb_channels = ("top",)
        if l > 1 and signal != "activity":  # what the mirror below carries down
            lp.down_channels = (signal,)
        if layer.plastic:
            learn_from_x1(lp, "snapshot")
            if signal != "activity" and l < L:  # the mirror's post factor: activity
                lp.slots.append(Slot(len(lp.slots) + 1, "mirror",
                                     gain=lp.slots[0].gain))
        prog.layers.append(lp)
    for l in range(2, L + 1):  # layer l's W^T into layer l - 1, learning from its side
        up, low = prog.layers[l - 1], prog.layers[l - 2]
        mslot = next((s_.index for s_ in low.slots if s_.kind == "mirror"), 1)
        m = replace(low, index=l, name=f"{up.name}^T", n_pre=up.size,
                    W0=up.W0.T.copy(), plastic=up.plastic, mirror=None, fb_channels=(),
                    down_channels=(), phased_layer=None, slots=low.slots[:1],
                    products=[Product("u0", "x1", (mslot,))],
                    pre_port="payload" if signal == "activity" else "down",
                    learner="mirror")
        accumulate(m)  # the same batch and momentum slots as the lower layer's
        check_rule_string(m.dw, where=f"mirror {m.name!r}")
        low.mirror = m
    prog.approximations = [Approximation(
        "mirror_rounding", "precision",
        "the top-down W^T is a second LearningDense learning the same products from "
        "the other side (its x1 the upper layer's payload), rounded in another order, "
        "so it follows W to rounding, not bit for bit")] if L > 1 else []
    return prog


# -- the population -----------------------------------------------------------------------
class SettlingStep(PhasedPopulation):
    """A settling layer's population (equilibrium or predictive-coding dynamics), the
    interface of :class:`.population.LayerStep`: the Lava ProcessModel and the
    emulator run it. Predictive coding's errors are its second compartment."""

    def __init__(self, lp):
        super().__init__(lp)
        self.e = np.zeros((1, lp.size))  # predictive coding: the error compartment
        self.coding = lp.phased_layer.dynamics == "predictive_coding"

    def step(self, a_in, fb_in, y, ctrl, glob_in=None):
        """One step on what the LearningDense (``a_in``: W rho(s_below)) and the mirror
        (``fb_in``: W_above^T rho(s_above), or W_above^T e_above) delivered; returns
        (payload, down signals (predictive coding: the errors), [y1, y2, y3])."""
        lp, nrn = self.lp, self.lp.neuron
        mode = int(ctrl[MODE])
        if mode == SWEEP and int(ctrl[SWEEP_LAYER]) == lp.index:
            a = a_in[None, :] + self.b
            if self.coding:  # the values at their predictions: every error 0
                self._set(a)
                self.e = np.zeros_like(a)
            else:
                self._set(D.bound_state(nrn, a))
        elif mode == UPDATE:  # predictive coding: the values, from the step-before errors
            back = None if lp.is_output else fb_in[None, :]
            force = D.value_force(nrn, self.a, self.h, self.e, back)
            if lp.is_output and ctrl[TEACH] and ctrl[NUDGE]:
                force = force + ctrl[NUDGE] * D.output_delta(nrn, self.a, self.h,
                                                             y[None, :], lp.loss)
            self._set(self.a + ctrl[SETTLE_STEP] * force)
        elif mode == ERROR:  # predictive coding: the errors of the values just moved
            self.e = D.prediction_error(self.a, a_in[None, :] + self.b)
        elif mode == SETTLE:
            drive = a_in[None, :] + self.b
            if not lp.is_output:
                drive = drive + fb_in[None, :]
            force = D.equilibrium_force(nrn, self.a, self.h, drive)
            if lp.is_output and ctrl[TEACH] and ctrl[NUDGE]:
                force = force + ctrl[NUDGE] * D.output_delta(nrn, self.a, self.h,
                                                             y[None, :], lp.loss)
            self._set(D.bound_state(nrn, self.a + ctrl[SETTLE_STEP] * force))
        if lp.is_output:
            y_hat = output_readout(self.a, self.h, lp.loss)
            self.readout, self.error = y_hat[0], output_error(y_hat, y[None, :])[0]
        ys = self._learn(ctrl) if lp.plastic or lp.bias_learns else \
            [np.zeros(lp.size)] * 3
        if ctrl[EPOCH_END]:
            self.eta = self.eta * lp.lr_decay
        return self.h[0], (self.e[0] if lp.down_channels else np.zeros(0)), ys

    def _set(self, a):
        self.a = a
        self.h = self.lp.neuron.f(a)
        self.spikes = self.h[0]

    def _learn(self, ctrl):
        """y1..y3 (the snapshot's post factor, momentum's (mu - 1) g, the batch's g) and
        the bias's own accumulation (a synapse from a unit of constant activity 1)."""
        lp, st = self.lp, self.lp.phased_layer
        n = lp.size
        ys = [np.zeros(n) for _ in range(3)]
        g = float(ctrl[APPLY])
        c = st.coeff.get(int(ctrl[SNAPSHOT]), 0.0)
        share = self.eta * (1.0 / (st.evals * int(ctrl[N_BATCH])))
        post = self.e[0] if self.coding else self.h[0]  # the rule's post signal
        for slot in lp.slots:
            if slot.kind == "apply":
                ys[slot.index - 1] = np.full(n, g * slot.gain)
            elif slot.kind == "momentum":
                ys[slot.index - 1] = np.full(n, (lp.momentum - 1.0) * g * slot.gain)
            elif c and slot.kind == "mirror":  # the mirror above: this layer's activity
                ys[slot.index - 1] = (c * share) * self.h[0] * slot.gain
            elif c:
                ys[slot.index - 1] = (c * share) * post * slot.gain
        if lp.bias_learns:
            if c:
                self.acc_b += (c * share) * post
            if g:
                apply_bias(self, lp.momentum)
        return ys


def layer_step(lp):
    """The population step of a layer program: settling, feedforward in phases, or the
    time-stepped one."""
    if isinstance(lp.phased_layer, Settling):
        return SettlingStep(lp)
    if lp.phased_layer is not None:
        from .phased_ff import FeedforwardStep
        return FeedforwardStep(lp)
    return LayerStep(lp)


# -- the stream ----------------------------------------------------------------------------
@dataclass
class PhasedStream(Stream):
    """The training stream of a spec in phases: each example ``plan.k`` steps, the
    input held for all of them, the target sent on every step (the populations read it
    where the teacher is on); control values PHASED_CTRL."""
    plan: PhasedPlan | None = None
    learn: bool = True

    @property
    def n_ctrl(self) -> int:
        return len(PHASED_CTRL)

    def cursor(self):
        return PhasedCursor(self)


class PhasedCursor(Cursor):
    def __init__(self, stream):
        super().__init__(stream)
        self.table = stream.plan.controls()
        if not stream.learn:  # inference: no teacher, nudge, snapshot or learning step
            self.table[:, [3, 4, 5, 9]] = 0.0

    def step(self):
        s, t = self.s, self.t
        self.t += 1
        e, i = divmod(t, s.k)
        idx = s.order[e]
        row = self.table[i]
        last = i == s.k - 1
        apply = s.learn and last and self.last[e]
        epoch_end = bool(s.epoch_examples) and last and (e + 1) % s.epoch_examples == 0
        ctrl = np.concatenate([[row[4], float(apply), float(self.size[e]),
                                float(epoch_end), float(i == 0)], row[:4], row[5:10]])
        x = s.x[idx] if row[10] else np.zeros_like(s.x[idx])
        return x, s.y[idx], ctrl


def phased_stream(program, spec, dataset, n_examples: int, seed: int,
                  epochs: int | None = None, learn: bool = True) -> PhasedStream:
    """The stream of ``n_examples`` training examples in the reference's order and
    batches (:func:`neurolearn.reference.phased.simulate_phased`)."""
    from ...reference.simulator import batches_of
    from ...reference.stream import example_order
    n = len(dataset.x_train)
    order = example_order(n, n_examples, seed)
    batches = np.asarray(batches_of(n, spec.training.batch_size, n_examples), dtype=int)
    k = program.phased.k
    return PhasedStream(dataset.x_train, dataset.y_train, order, batches, k, 0,
                        n_examples * k, spec.simulation, seed, False, True,
                        epoch_examples=n if epochs is not None and
                        spec.training.lr_decay != 1.0 else 0,
                        plan=program.phased, learn=learn)


# -- runs -----------------------------------------------------------------------------------
def record_plan(program, n_train: int, steps: int, record_every: int, batch_size: int):
    """(examples, Lava steps to record, their reference steps) of a run of ``steps``
    reference steps: the whole examples that fit, recorded after every update whose
    last step reaches a multiple of ``record_every``, as the phased reference's
    :func:`simulate_phased` records."""
    from ...reference.simulator import batches_of
    plan = program.phased
    n_examples = max(1, steps // plan.ref_k)
    at, ref = [], []
    pos = 0
    for size in batches_of(n_train, batch_size, n_examples):
        end = (pos + size) * plan.ref_k
        if end // record_every > pos * plan.ref_k // record_every or \
                pos + size == n_examples:
            at.append((pos + size) * plan.k - 1)
            ref.append(end - 1)
        pos += size
    return n_examples, at, ref


def params_from(program, arrays, j):
    """The parameters after record ``j``."""
    from ...reference.params import Params
    L = program.L
    B = {k: v.copy() for k, v in program.params.B.items()}
    for lp in program.layers:  # a learned feedback matrix, as its LearningDense ends
        if lp.mirror is not None and lp.mirror.learner == "feedback":
            B[lp.index] = np.array(arrays[f"W_T{lp.index}"][j])
    return Params([np.array(arrays[f"W_{l}"][j]) for l in range(1, L + 1)],
                  [np.array(arrays[f"b_{l}"][j]) for l in range(1, L + 1)], B)


def mirror_gap(program, arrays, j) -> float:
    """The largest |W^T - (W)^T| after record ``j``: how far each mirror has moved
    from its forward weights (rounding)."""
    gaps = [0.0]
    for lp in program.layers:
        m = lp.mirror
        if m is not None and m.learner == "mirror":
            gaps.append(float(np.abs(np.asarray(arrays[f"W_T{lp.index}"][j]) -
                                     np.asarray(arrays[f"W_{m.index}"][j]).T).max()))
    return max(gaps)


def phased_trace(program, arrays, ref_steps, backend: str, wall: float, extra=None):
    """A Trace in the reference's steps (weights after each recorded update)."""
    from ...result import Trace
    names, net = program.names, program.spec.network
    weights = {names[l]: np.stack([np.asarray(w) for w in arrays[f"W_{l}"]])
               for l in range(1, program.L + 1) if net.layers[l].plastic}
    last = len(ref_steps) - 1
    return Trace(backend=backend, schedule=program.schedule.name, precision="float",
                 steps=np.asarray(ref_steps, dtype=int), weights=weights,
                 wall_seconds=wall,
                 extra={"params": params_from(program, arrays, last), "variant": "stock",
                        "lava_steps_per_example": program.phased.k,
                        "mirror_gap": mirror_gap(program, arrays, last),
                        "approximations": [str(a) for a in program.approximations]}
                 | (extra or {}))


def phased_inference_stream(program, spec, dataset, w):
    """(program, stream) of an inference: the trained network's Program with its
    plan cut to the sweep and the phases before the teacher, and the test set in
    order, one example per ``plan.k`` steps, learning off (no teacher, snapshot or
    batch applied: every post factor is 0, so the engines leave w and t as they are)."""
    from ..inference import presented_inputs
    plan = program.phased
    free = []
    for p in plan.phases:
        if p.target:
            break
        free.append(replace(p, snapshot=0))
    readout = replace(plan, phases=free, learn=False)
    # a phase's noise from the evaluation's generators, default_rng([seed, 8, i]) for
    # test example i, as the phased reference's readout draws it
    from ...reference.phased import EVAL
    layers = [replace(lp, phased_layer=replace(lp.phased_layer, noise_key=EVAL))
              if getattr(lp.phased_layer, "noise", None) else lp for lp in program.layers]
    prog = replace(program, phased=readout, k=readout.k, layers=layers)
    x, y = presented_inputs(dataset, w)
    n = len(x)
    stream = PhasedStream(x, y, np.arange(n), np.ones(n, dtype=int), readout.k, 0,
                          n * readout.k, spec.simulation, spec.training.seed, False,
                          False, plan=readout, learn=False)
    return prog, stream
