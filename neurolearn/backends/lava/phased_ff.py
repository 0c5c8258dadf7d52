"""Feedforward specs in phases on Lava: segregated dendrites' pyramidal somata and a
rule that reads phase averages; the weight mirror's delta rule with its error pass,
noise and a feedback matrix that learns (no lava import; :mod:`.phase_plan` holds the
plan, :mod:`.phased` the stream and the runs).

- **A reference step is L Lava steps.** The reference's feedforward step is one
  instantaneous pass: layer l reads layer l-1 of the same step. Lava's Dense deliver
  the step before, so layer l updates at the l-th Lava step of each reference step
  (what its LearningDense delivers there is layer l-1's update of the same reference
  step) and holds otherwise.
- **Apical input.** A pyramidal layer's apical potential is its feedback Dense (B) of
  its pathway's source (the layer above, or the output), which the reference reads a
  step late (after the step's layers): at layer l's Lava step the source has not yet
  updated in this reference step, so the Dense delivers the source's activity of the
  step before, as the reference has it.
- **Averages.** Each population sums what the rule reads over each phase's window as
  the reference does (its activity, slope, the output's rates at its own update; a
  pyramidal plateau's apical potential one reference step late, as it arrives). After
  each phase one *flush* step takes the last apical potential and closes the phase's
  means (a plateau average is the plateau of the mean potential).
- **Learning steps.** After each plastic phase, one step per presynaptic factor the
  rule reads (segregated dendrites: one, the forward phase's average activity): every
  population sends that recorded value as its payload, so the engine's x1 holds it,
  and its post factor y1 = eta share sum coeff prod(recorded post factors). The next
  example's first step holds every population, so no layer reads those payloads.
- **The delta rule on plastic steps** (the weight mirror's learn phase): after the
  forward pass, the output's error drive goes down its feedback Dense (B) for one
  step, each hidden layer in turn taking B delta_above times f' as its own and sending
  it on (*backward* steps); each population sends y1 = eta share delta at the step it
  has it, when its LearningDense's x1 holds the layer below's activity.
- **Noise** replacing a layer's activity is the reference's own draws
  (``reference.phased.example_noise``), drawn by the population at each example.
- **A learned feedback matrix** (the weight mirror's B) is a LearningDense of its own
  from the source's second payload (its net input in the rule's phase, its error drive
  where the teacher is on, each for one step) into the layer: x1 * y1 (y1 = eta_B
  share times the layer's activity, sent at the step the source updates) and w * y2
  (the decay), gathered in t like the forward weights. y1 is the layer's one product
  slot, so its own LearningDense reads it too: it is lowered where that one's
  presynaptic payload is 0 in the rule's phase (the first hidden layer, the input
  off), and refused otherwise (a fourth post factor would be needed).
- **The input** of each step is the input of the phase of the step after it (layer 1
  reads it a step later).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...reference import dynamics as D
from ...reference.signals import output_drive, output_error, output_readout
from ...rules.neurons import Pyramidal
from .phase_plan import (APPLY, BACKWARD, EPOCH_END, EXAMPLE_START, FLUSH, FORWARD,
                         GROUP, LAVA_PHASED, LEARN, MODE, N_BATCH, NUDGE, PHASE,
                         PREV_WINDOW, SWEEP, SWEEP_LAYER, TEACH, WINDOW, PhasedPlan,
                         PhasedPopulation, PhasePlan, _refuse, folded_coefficient,
                         learn_from_x1,
                         phased_layer_program)
from .population import apply_bias

@dataclass
class Group:
    """The terms that read one presynaptic factor: ``pre`` its key (signal, phase
    index, kind) and ``terms`` [(coefficient, [post keys])]."""
    pre: tuple
    terms: list = field(default_factory=list)


@dataclass
class FeedforwardLayer:
    """What a population of a feedforward spec in phases records and sends."""
    groups: list                 # [Group]
    records: set                 # {(signal, phase index, kind)} this layer records
    windows: list                # steps per phase window
    evals: int
    pyramidal: bool
    step_terms: list = field(default_factory=list)  # [(coeff, post signal)] per step
    step_evals: int = 1          # plastic reference steps per example
    plastic_phases: tuple = ()   # phase indices where step terms learn
    down: dict = field(default_factory=dict)  # phase index -> signal sent down
    down_hold: bool = True       # the down payload held (apical) or one step (errors)
    noise: dict = field(default_factory=dict)  # phase index -> (phase name, col, size)
    spec: object = None          # for the reference's noise draws (example_noise)
    noise_key: int = 7           # TRAIN (reference.phased); inference: EVAL
    fb_phase: int | None = None  # the phase of the feedback rule this layer is post of
    fb_src: int = 0              # its pathway's source layer
    fb_terms: list = field(default_factory=list)  # [(coeff, kind)]: "product" or "w"
    fb_eta: float = 0.0
    fb_steps: int = 1            # the feedback rule's phase steps (its share)


class FeedforwardStep(PhasedPopulation):
    """A layer's population under feedforward phases (module docstring), the interface
    of :class:`.population.LayerStep`."""

    def __init__(self, lp):
        super().__init__(lp)
        self.role = lp.phased_layer
        n = lp.size
        self.A = np.zeros((1, n))
        self.sums = {}
        self.rec = {}
        self.delta = np.zeros((1, n))
        self.examples = 0            # training examples seen (the noise draws' index)
        self.draws, self.t_in_phase = {}, {}

    def _value(self, signal, raw=False):
        if signal == "activity":
            return self.h
        if signal == "net_input":
            return self.a
        if signal == "slope":
            return self.lp.neuron.fprime(self.a, self.h)
        if signal == "plateau":  # a pyramidal layer's from its apical potential
            return (self.A if raw else D.plateau(self.A)) if self.role.pyramidal \
                else self.h
        raise ValueError(signal)

    def _add(self, key, v):
        self.sums[key] = v if key not in self.sums else self.sums[key] + v

    def step(self, a_in, fb_in, y, ctrl, glob_in=None):
        lp, nrn, role = self.lp, self.lp.neuron, self.role
        mode, layer = int(ctrl[MODE]), int(ctrl[SWEEP_LAYER])
        pi = int(ctrl[PHASE])
        n_batch = int(ctrl[N_BATCH])
        if ctrl[EXAMPLE_START] and role.noise:
            self._draw()
        payload, down, post = None, None, None
        step_share = self.eta * (1.0 / (role.step_evals * n_batch))
        if mode == SWEEP and layer == lp.index:
            net = a_in[None, :] + self.b
            self.a = D.soma_rest(nrn, net) if role.pyramidal else net
            self.h = nrn.f(self.a)
        elif mode == FORWARD and layer == lp.index:
            self._forward(a_in, fb_in, y, ctrl, pi)
            if lp.is_output and pi in role.plastic_phases:  # the output's error drive
                self.delta = self._output_drive(y)
                post = self.delta
            down = self._down(pi)
        elif mode == BACKWARD and layer == lp.index:  # the error through B, times f'
            self.delta = fb_in[None, :] * nrn.fprime(self.a, self.h)
            if pi in role.plastic_phases:
                post = self.delta
            down = self.delta
        elif mode == FLUSH:
            if role.pyramidal:
                self.A = fb_in[None, :]
                self._window(pi, "plateau", self.A)
            self._close(pi)
        if lp.is_output:
            y_hat = output_readout(self.a, self.h, lp.loss)
            self.readout, self.error = y_hat[0], output_error(y_hat, y[None, :])[0]
        g = float(ctrl[APPLY])
        ys = [np.zeros(lp.size) for _ in range(3)]
        if mode == LEARN:
            group = role.groups[int(ctrl[GROUP]) - 1]
            payload = self.rec.get(group.pre)
            post = self._group_post(group)
            step_share = self.eta * (1.0 / (role.evals * n_batch))
        if post is not None and lp.plastic:  # a frozen layer has no LearningDense
            ys[0] = (step_share * post)[0] * lp.slots[0].gain
            if lp.bias_learns:
                self.acc_b += (step_share * post)[0]
        if role.fb_phase is not None and mode == FORWARD and layer == role.fb_src \
                and pi == role.fb_phase:  # the feedback rule's post factors (B learns)
            c = role.fb_eta * (1.0 / (role.fb_steps * n_batch))
            for coeff, kind in role.fb_terms:
                if kind == "product":
                    ys[0] = (c * coeff) * self.h[0] * lp.slots[0].gain
                else:
                    ys[1] = np.full(lp.size, c * coeff * lp.slots[1].gain)
        for slot in lp.slots:
            if slot.kind == "apply":
                ys[slot.index - 1] = np.full(lp.size, g * slot.gain)
            elif slot.kind == "momentum":
                ys[slot.index - 1] = np.full(lp.size, (lp.momentum - 1.0) * g * slot.gain)
        if lp.bias_learns and g:
            apply_bias(self, lp.momentum)
        if ctrl[EPOCH_END]:
            self.eta = self.eta * lp.lr_decay
        out = (payload if payload is not None else self.h)[0]
        if not lp.down_channels:
            down_out = np.zeros(0)
        elif role.down_hold:
            down_out = self.h[0]
        else:
            down_out = down[0] if down is not None else np.zeros(lp.size)
        return out, down_out, ys

    def _forward(self, a_in, fb_in, y, ctrl, pi):
        """Layer l's feedforward update of a reference step (module docstring)."""
        lp, nrn, role = self.lp, self.lp.neuron, self.role
        net = a_in[None, :] + self.b
        xi = self.draws[pi][self.t_in_phase[pi]][None, :] if pi in role.noise else None
        if xi is not None:
            self.t_in_phase[pi] += 1
        if role.pyramidal:
            A_prev = fb_in[None, :]
            if ctrl[PREV_WINDOW]:  # the apical potential of the step before
                self._window(pi, "plateau", A_prev)
            self.A = A_prev
            self.a = D.soma_step(nrn, self.a, net, A_prev, lp.dt)
            self.h = nrn.f(self.a) if xi is None else xi
        else:
            self.a = net
            h = nrn.f(self.a) if xi is None else xi
            if lp.is_output and ctrl[TEACH] and ctrl[NUDGE]:
                h = D.nudge_activity(h, y[None, :], ctrl[NUDGE])
            self.h = h
        if ctrl[WINDOW]:
            for sig in ("activity", "slope", "net_input", "plateau"):
                if not (role.pyramidal and sig == "plateau"):
                    self._window(pi, sig, self._value(sig, raw=True))

    def _output_drive(self, y):
        """The output's error drive (reference/signals.py), as the phased trainer's
        error_drives starts it."""
        lp = self.lp
        y_hat = output_readout(self.a, self.h, lp.loss)
        return output_drive(output_error(y_hat, y[None, :]),
                            lp.neuron.fprime(self.a, self.h), lp.loss)

    def _down(self, pi):
        """What this layer sends down its pathway at its update in phase ``pi``."""
        sig = self.role.down.get(pi)
        if sig == "error_drive":
            return self.delta
        if sig == "net_input":
            return self.a
        return None

    def _draw(self):
        """This example's noise: the reference's own draws (example_noise)."""
        from ...reference.phased import example_noise
        role = self.role
        draws = example_noise(role.spec, role.noise_key, self.examples)
        self.examples += 1
        self.draws = {pi: draws[name][:, col:col + size]
                      for pi, (name, col, size) in role.noise.items()}
        self.t_in_phase = {pi: 0 for pi in role.noise}

    def _group_post(self, group):
        out = None
        for c, keys in group.terms:
            v = np.full((1, self.lp.size), c)
            for key in keys:
                v = v * self.rec[key]
            out = v if out is None else out + v
        return out

    def _window(self, pi, signal, v):
        if (signal, pi, "average") in self.role.records:
            self._add((signal, pi), v)

    def _close(self, pi):
        """The phase's means and snapshots of what the rule reads."""
        w = self.role.windows[pi]
        for sig, p, kind in self.role.records:
            if p != pi:
                continue
            if kind == "snapshot":
                self.rec[(sig, p, kind)] = self._value(sig)
            else:
                mean = self.sums.pop((sig, p)) / w
                if sig == "plateau" and self.role.pyramidal:
                    mean = D.plateau(mean)  # the plateau of the mean apical potential
                self.rec[(sig, p, kind)] = mean

    def state(self) -> dict:
        return super().state() | {"apical": self.A[0]}


# -- lowering -------------------------------------------------------------------------------
def _groups(spec) -> tuple:
    """(groups, step terms): the rule's phase-value terms grouped by their presynaptic
    factor (:class:`Group`), each coefficient with its constant global factors folded
    in; the terms evaluated on every plastic step, [(coeff, post signal)]."""
    phases = [p.name for p in spec.phases]
    groups, steps = {}, []
    rule = spec.rule.display_name
    for k, t in enumerate(spec.rule.resolved_terms()):
        what = f"rule {rule!r}, term {k} ({t})"
        pre = [f for f in t.factors if f.kind == "pre"]
        post = [f for f in t.factors if f.kind == "post"]
        glob = [f for f in t.factors if f.kind == "global"]
        if any(f.kind == "syn" for f in t.factors) or len(pre) != 1 or \
                pre[0].signal != "activity":
            _refuse(what, "a term is lowered as x1 * y1: one presynaptic activity (the "
                    "payload the LearningDense holds), no synaptic factor")
        if all(f.phase is None for f in pre + post) and not glob and \
                [f.signal for f in post] == ["error_drive"]:
            steps.append((t.coeff, "error_drive"))
            continue
        if any(f.phase is None for f in pre + post):
            _refuse(what, "a term on every plastic step is lowered for the error drive "
                    "times the presynaptic activity (the delta rule); others read phase "
                    "values")
        for f in post:
            if f.signal not in ("activity", "net_input", "slope", "plateau"):
                _refuse(what, f"post signal {f.signal!r}: a population in feedforward "
                        "phases records its activity, net input, slope and plateau")
        c = folded_coefficient(spec, t, what)
        key = (pre[0].signal, phases.index(pre[0].phase), pre[0].phase_value)
        group = groups.setdefault(key, Group(key))
        group.terms.append((c, [(f.signal, phases.index(f.phase), f.phase_value)
                                for f in post]))
    return list(groups.values()), steps


def _feedback_terms(spec, l, fb):
    """[(coeff, "product" | "w")] of the feedback rule of layer l: pre the source's
    net input or activity (the payload it sends down in the rule's phase) times the
    post activity, or the synapse's own value."""
    out, pre_signal = [], None
    for k, t in enumerate(fb.resolved_terms()):
        kinds = sorted(f.kind for f in t.factors)
        what = f"network.feedback.rule {fb.display_name!r}, term {k} ({t})"
        if kinds == ["syn"] and t.factors[0].signal == "w":
            out.append((t.coeff, "w"))
            continue
        pre = [f for f in t.factors if f.kind == "pre"]
        post = [f for f in t.factors if f.kind == "post"]
        if kinds != ["post", "pre"] or post[0].signal != "activity" or \
                pre[0].signal not in ("net_input", "activity") or \
                (pre_signal is not None and pre[0].signal != pre_signal):
            _refuse(what, "a feedback rule is lowered as x1 * y1 (x1 the source's net "
                    "input or activity, y1 the layer's activity) and w * y2")
        pre_signal = pre[0].signal
        out.append((t.coeff, "product"))
    return out, pre_signal


def lower_feedforward(spec, prog):
    """Fill the LavaProgram ``prog`` for a feedforward spec in phases (module
    docstring)."""
    from dataclasses import replace

    from ...reference.phased import noise_columns
    from ...reference.signals import feedback_source, layer_etas
    from ...rules.phases import feedback_rules
    from .program import Product, Slot, accumulate
    from .rulestring import check as check_rule_string
    net, tr = spec.network, spec.training
    L = len(net.layers) - 1
    names = [p.name for p in spec.phases]
    groups, step_terms = _groups(spec)
    records = {g.pre for g in groups} | {key for g in groups for _, keys in g.terms
                                         for key in keys}
    windows = [p.window or p.steps for p in spec.phases]
    evals = max(1, sum(1 for p in spec.phases if p.plastic))
    plastic = tuple(i for i, p in enumerate(spec.phases) if p.plastic) if step_terms \
        else ()
    for i in plastic:
        if not spec.phases[i].target:
            _refuse(f"phase {names[i]!r}", "the error drive needs the teacher in a plastic "
                    "phase of a rule learning on every step")
    fb_rules = feedback_rules(spec)
    if (fb_rules or step_terms) and tr.momentum != 0.0:
        _refuse(f"training.momentum = {tr.momentum:g} with a feedback rule or the delta "
                "rule in phases", "a hidden population's post factors would be four (the "
                "product's, the feedback rule's decay, the batch's g and momentum's), and "
                "Loihi3FLearningRule carries three", "momentum = 0, or numpy")
    if step_terms and L > 2 and any(net.feedback_of(l).kind == "direct"
                                    for l in range(1, L)):
        _refuse("direct feedback in phases with more than one hidden layer", "the output "
                "sends its error drive down for one step, which the lower layers' "
                "backward steps come after")
    noise = {}
    for i, p in enumerate(spec.phases):
        if p.noise is not None:
            for l, col, size in noise_columns(spec, p):
                if isinstance(net.layers[l].neuron, Pyramidal):
                    _refuse(f"noise replacing pyramidal layer {net.layers[l].name!r}",
                            "its soma would integrate what the noise replaces")
                noise.setdefault(l, {})[i] = (p.name, col, size)
    plan = PhasedPlan(L + 1, [PhasePlan(p.name, p.steps, 0.0, p.nudge if p.target
                                        else 0.0, p.target, 0, plastic=p.plastic,
                                        window=windows[i], input=p.input)
                              for i, p in enumerate(spec.phases)], "feedforward",
                      groups=len(groups), backward=plastic)
    params = prog.params
    prog.phased, prog.schedule, prog.n_teach = plan, LAVA_PHASED, 0
    prog.k = plan.k
    etas = layer_etas(spec.rule, L)
    step_evals = max(1, sum(spec.phases[i].steps for i in plastic))
    downs = {}      # layer -> {phase index: signal it sends down}
    for l in range(1, L + 1):
        layer = net.layers[l]
        pyramidal = isinstance(layer.neuron, Pyramidal) and l < L
        role = FeedforwardLayer(groups, records, windows, evals, pyramidal,
                                step_terms=step_terms, step_evals=step_evals,
                                plastic_phases=plastic, noise=noise.get(l, {}),
                                spec=spec if l in noise else None)
        lp = phased_layer_program(spec, params, l, etas[l - 1], role)
        if l < L and (pyramidal or step_terms or l in fb_rules):
            fb = net.feedback_of(l)
            if fb.kind not in ("random", "direct"):
                _refuse(f"feedback kind {fb.kind!r} into layer {layer.name!r} in phases",
                        "the pathway is a feedback Dense (B); a transported one would "
                        "follow a learning Dense's weights")
            lp.fb_src = feedback_source(net, l)
            lp.fb_channels = ("apical",) if pyramidal else ("drive",)
            src = downs.setdefault(lp.fb_src, {})
            for i in plastic:
                src[i] = "error_drive"
            if l in fb_rules:
                r = fb_rules[l]
                i = names.index(r.phase)
                if i in plastic:
                    _refuse(f"network.feedback.rule phase {r.phase!r}", "it is also a "
                            "plastic phase of the forward rule: both would send y1")
                if l > 1 or spec.phases[i].input:
                    _refuse(f"network.feedback.rule {r.display_name!r} into layer "
                            f"{layer.name!r}", "the layer's post factor y1 carries the "
                            "feedback rule's product in its phase, which its own "
                            "LearningDense would read too unless its presynaptic payload "
                            "is 0 there (the first hidden layer, the phase's input off); "
                            "a fourth post factor would be needed", "numpy, or nengo")
                role.fb_terms, pre_signal = _feedback_terms(spec, l, r)
                role.fb_phase, role.fb_src, role.fb_eta = i, lp.fb_src, r.eta
                role.fb_steps = spec.phases[i].steps
                src[i] = pre_signal
            else:  # a fixed feedback Dense; a learned B is its own LearningDense below
                lp.B = params.B[l].copy()
        if layer.plastic or l in fb_rules:
            learn_from_x1(lp, "learn")
            if l in fb_rules:  # the feedback rule's decay on y2: the batch's g moves to y3
                lp.slots = [lp.slots[0], Slot(2, "fb_decay", gain=lp.y_comp)]
                accumulate(lp)
                check_rule_string(lp.dw, where=f"layer {lp.name!r}")
                check_rule_string(lp.dt_rule, where=f"layer {lp.name!r}")
            lp.plastic = layer.plastic
        prog.layers.append(lp)
    for l, by_phase in downs.items():
        src = prog.layers[l - 1]
        src.phased_layer.down = by_phase
        src.phased_layer.down_hold = False
        src.down_channels = ("drive",)
    for lp in prog.layers:
        if lp.phased_layer.pyramidal:
            prog.layers[lp.fb_src - 1].down_channels = ("apical",)
            prog.layers[lp.fb_src - 1].phased_layer.down_hold = True
    for l, r in fb_rules.items():  # B learns: a LearningDense of its own into layer l
        low = prog.layers[l - 1]
        m = replace(low, index=low.fb_src, name=f"B_{low.name}",
                    n_pre=net.sizes[low.fb_src], W0=params.B[l].copy(), plastic=True,
                    mirror=None, fb_channels=(), down_channels=(), phased_layer=None,
                    slots=low.slots[:2], pre_port="down", learner="feedback",
                    products=[Product("u0", "x1", (1,)), Product("u0", None, (2,), "w")])
        accumulate(m)
        check_rule_string(m.dw, where=f"feedback {m.name!r}")
        check_rule_string(m.dt_rule, where=f"feedback {m.name!r}")
        low.mirror, low.B = m, None
    prog.approximations = []
    return prog
