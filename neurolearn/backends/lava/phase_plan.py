"""The plan of an example in phases on Lava: the control values the stream sends
each step, the modes of the populations, and the layer programs every phased lowering
shares (no lava import; :mod:`.phased` lowers settling specs and runs them,
:mod:`.phased_ff` lowers feedforward ones)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import UnsupportedRule
from ...reference.schedule import Schedule
from .stream import CTRL

NAME = "lava"
# the phases run at the reference's timing: the Dense delays are taken up by the
# sweep's extra steps and the synchronous settling update, not by the meaning
LAVA_PHASED = Schedule("lava (phases: L + 1 sweep steps per example)", apply="batch")
# control values of a phased stream, after the five of .stream.CTRL
PHASED_CTRL = CTRL + ("mode", "sweep_layer", "settle_step", "nudge", "snapshot", "phase",
                      "window", "prev_window", "group")
TEACH, APPLY, N_BATCH, EPOCH_END, EXAMPLE_START = range(5)
MODE, SWEEP_LAYER, SETTLE_STEP, NUDGE, SNAPSHOT, PHASE, WINDOW, PREV_WINDOW, GROUP = \
    range(5, 14)
# modes: hold; sweep (the layer named by SWEEP_LAYER); an equilibrium step; predictive
# coding's value update and error steps; a feedforward layer's step, the flush after a
# phase, a learning step, a backward (error) step
HOLD, SWEEP, SETTLE, UPDATE, ERROR, FORWARD, FLUSH, LEARN, BACKWARD = range(9)


def _refuse(what, reason, alternative="numpy (the phased reference), or nengo"):
    raise UnsupportedRule(NAME, what, reason, alternative)


# -- the plan: what each step of an example does ------------------------------------------
@dataclass
class PhasePlan:
    name: str
    steps: int
    settle_step: float
    nudge: float          # the output's nudge (0 without the teacher)
    target: bool
    snapshot: int         # 1-based index of this phase among the recorded ones, or 0
    plastic: bool = False
    input: bool = True
    window: int = 0       # steps of its averaging window (feedforward phases)


@dataclass
class PhasedPlan:
    """An example on Lava: ``sweep`` steps (hold, then each layer's sweep), then the
    phases, one Lava step per reference step (equilibrium) or two (predictive coding:
    update, error)."""
    sweep: int
    phases: list = field(default_factory=list)   # [PhasePlan]
    dynamics: str = "equilibrium"
    groups: int = 0       # feedforward: learning steps after each plastic phase
    learn: bool = True    # feedforward: with those learning steps (training)
    backward: tuple = ()  # feedforward: phases whose steps pass errors down

    @property
    def per_step(self) -> int:
        """Lava steps per reference step."""
        return 2 if self.dynamics == "predictive_coding" else 1

    @property
    def ref_k(self) -> int:
        """The reference's steps per example."""
        return sum(p.steps for p in self.phases)

    @property
    def k(self) -> int:
        """Lava steps per example."""
        return len(self.controls())

    def controls(self) -> np.ndarray:
        """(k, 10) per step of an example: mode, layer (sweeping or stepping), settle
        step, nudge, teacher, snapshot, phase, window, the previous step's window,
        learning group (the example-independent part of PHASED_CTRL)."""
        if self.dynamics == "feedforward":
            return np.array(feedforward_rows(self.sweep - 1, self.phases,
                                    [p.window for p in self.phases], self.groups,
                                    self.learn, self.backward), dtype=float)
        rows = [[HOLD, 0, 0.0, 0.0, 0.0, 0.0]]
        rows += [[SWEEP, l, 0.0, 0.0, 0.0, 0.0] for l in range(1, self.sweep)]
        modes = [UPDATE, ERROR] if self.per_step == 2 else [SETTLE]
        for p in self.phases:
            for t in range(p.steps):
                for mode in modes:
                    snap = p.snapshot if t == p.steps - 1 and mode == modes[-1] else 0
                    rows.append([mode, 0, p.settle_step, p.nudge, float(p.target),
                                 float(snap)])
        table = np.pad(np.array(rows, dtype=float), ((0, 0), (0, 5)))
        table[:, 10] = 1.0  # the input on throughout (check refuses a switch)
        return table


def feedforward_rows(L: int, phases, windows, groups: int, learn: bool, backward=()) -> list:
    """Per Lava step of an example: [mode, layer, -, nudge, teach, -, phase, window,
    previous step's window, group, input] (.phased.PHASED_CTRL after the stream's
    five, and whether the source sends the input: the input of the next step's phase,
    which layer 1 reads a step later). ``backward``: phase indices whose steps pass
    the error down after the forward pass (step terms with error drives)."""
    out = [[HOLD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
    out += [[SWEEP, l, 0, 0, 0, 0, 0, 0, 0, 0, 0] for l in range(1, L + 1)]
    for pi, p in enumerate(phases):
        first = p.steps - windows[pi]
        teach = float(p.target)
        for t in range(p.steps):
            for l in range(1, L + 1):
                out.append([FORWARD, l, 0, p.nudge, teach, 0, pi, float(t >= first),
                            float(t - 1 >= first), 0, 0])
            if learn and pi in backward:
                out += [[BACKWARD, l, 0, 0, teach, 0, pi, 0, 0, 0, 0]
                        for l in range(L - 1, 0, -1)]
        out.append([FLUSH, 0, 0, 0, 0, 0, pi, 0, 1, 0, 0])
        if learn and p.plastic:
            out += [[LEARN, 0, 0, 0, 0, 0, pi, 0, 0, g + 1, 0] for g in range(groups)]
    # the sweep reads the input; layer 1 then reads the input of its step's phase; the
    # last step (a learning step's presynaptic payload) sends it too
    for row, nxt in zip(out, out[1:] + [None]):
        row[10] = 1.0 if nxt is None or nxt[0] == SWEEP else \
            float(phases[int(nxt[6])].input)
    return out


def phased_layer_program(spec, params, l: int, eta: float, role):
    """Layer l's program in phases: rate payloads, no time-stepped rule, the phased
    control port, ``role`` (Settling or .phased_ff.FeedforwardLayer)."""
    from .program import EY, LayerProgram
    return LayerProgram.of_layer(spec, params, l, eta, terms=[], post_needed=(),
                                 spiking=False, n_teach=0, apply="batch",
                                 graded_in=True, y_comp=1.0 / EY,
                                 n_ctrl=len(PHASED_CTRL), phased_layer=role)


def learn_from_x1(lp, kind: str) -> None:
    """A plastic layer in phases learns one product x1 * y1 (x1 the presynaptic
    payload, y1 the population's post factor of ``kind``), gathered in the tag t for
    the batch (:func:`.program.accumulate`)."""
    from .program import RATE_X1_TAU, PreTrace, Product, Slot, accumulate
    from .rulestring import check as check_rule_string
    # x1 of graded payloads: payload / 2, faded by exp(-64) before it is read
    x1 = PreTrace("x1", RATE_X1_TAU, 0.0, float(np.exp(-1 / RATE_X1_TAU)) / 2.0,
                  overwrite=True)
    lp.pre_traces = [x1]
    lp.slots = [Slot(1, kind, gain=lp.y_comp / x1.per_spike)]
    lp.products = [Product("u0", "x1", (1,))]
    lp.tags = True
    accumulate(lp)
    check_rule_string(lp.dw, where=f"layer {lp.name!r}")
    check_rule_string(lp.dt_rule, where=f"layer {lp.name!r}")


def folded_coefficient(spec, term, what: str) -> float:
    """A term's coefficient times its global factors, which must be constants
    (``inv_nudge``: 1 / the named phase's nudge), so that they fold into the post
    factor the population sends."""
    nudge = {p.name: p.nudge for p in spec.phases}
    c = term.coeff
    for g in (f for f in term.factors if f.kind == "global"):
        if g.signal != "inv_nudge":
            _refuse(what, f"global factor {g.signal!r}: only constants (inv_nudge) are "
                    "folded into the post factor")
        c *= 1.0 / nudge[g.phase]
    return c


class PhasedPopulation:
    """What every population in phases holds (the interface of
    :class:`.population.LayerStep`): its bias, the bias's accumulated change and
    velocity, eta, its state ``a`` and activity ``h`` as rows, the output's readout."""

    def __init__(self, lp):
        self.lp = lp
        n = lp.size
        self.b = lp.b0.copy()
        self.acc_b = np.zeros(n)
        self.vel_b = np.zeros(n)
        self.eta = lp.eta
        self.a = np.zeros((1, n))
        self.h = lp.neuron.f(self.a)
        self.readout = np.zeros(lp.n_out) if lp.is_output else None
        self.error = np.zeros(lp.n_out) if lp.is_output else None
        self.spikes = self.h[0]

    def glob_out(self) -> np.ndarray:
        return np.zeros(2)

    def state(self) -> dict:
        return {"bias": self.b, "acc_bias": self.acc_b, "vel_bias": self.vel_b,
                "v": self.a[0], "activity": self.h[0]}
