"""A spec lowered to nengo-loihi: the PES-composition plan, its scales, the timing it
runs under, the approximations it declares, and every refusal. Imports no nengo.

nengo-loihi learns only ``nengo.PES``, on the decoders of an on-chip Ensemble whose
decoded output leaves the chip. A layered network maps onto that as follows, for
the projection into layer l = 1..L:

- **rate code.** Layer l-1's activity h (the input x for l = 1) drives a host
  Ensemble of SpikingRectifiedLinear neurons firing R h Hz (R = ``RATE_HZ``), whose
  spikes are relayed one to one to an on-chip Ensemble (gain ``RELAY_GAIN``: each
  arriving spike fires the chip neuron once). A signed activity (tanh, linear)
  travels as an on and an off neuron (R max(h, 0), R max(-h, 0)). A learned bias is
  one more neuron firing R Hz: the reference's synapse from a unit of activity 1.
- **learned projection.** The chip Ensemble's decoded connection to a host Node,
  decoders D = W^T / (R s_l) (off neurons: -W^T / (R s_l)), learning with PES; the
  host Node reads a_l = s_l * decoded (+ a fixed offset) and computes h_l = f(a_l)
  with the layer's rate function. ``s_l`` keeps the decoded value within what the
  chip's decode compartments represent (|a/s| <= 1 at a bound of |a_l|).
- **post factors.** One host Node computes every layer's post factor (error drive
  under random or direct feedback, or rate burstprop's (p - p_bar) e) with
  :mod:`neurolearn.reference.signals`, and sends -c_l * factor to layer l's PES as
  its error, times (batch_size / n_batch) lr_decay^pass from the stream (so eta's
  meaning per batch and per pass holds), and 0 outside plastic steps.
- **scaling (the error grid and the 7-bit trace).** nengo-loihi sends an error as
  round(100 e) clipped to +-127: the grid is 0.01 on +-1.27. c_l maps the 99th
  percentile of |factor_l| over the training set at the initial weights onto 1.27
  (the reference's own signals, :class:`~neurolearn.reference.trainer.BatchedTrainer`),
  so typical factors span ~100 grid steps; larger ones clip (counted). The PES
  learning rate compensates: kappa_l = eta_step n_pre / (dt c_l s_l R^2 g), eta_step =
  eta_l / (n_teach batch_size), g = :func:`trace_gain`, so the chip's change per
  plastic step is eta_step factor x h as the spec means. nengo-loihi folds the learning rate into
  the 7-bit pre trace's increment: a larger c_l lowers it (coarser trace), a smaller
  one coarsens the error grid; c_l above is the finest error grid that clips <= 1 %
  of factors, and the built model's trace increment is checked (refused above 127,
  reported otherwise). In 'sim' the runtime then lowers c_l where the trace
  increment is the coarser grid (:func:`balanced_scales`) and rebuilds once.
- **timing.** Every host -> chip -> host hop lags (the Schedule's forward delay per
  projection), so the stream holds each example for the whole pipeline's latency
  before its own t_example steps, with the teacher and PES off
  (:func:`schedule_for`, ``Schedule.hold_steps``); the reference runs the same hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import UnsupportedRule
from ...reference.schedule import Schedule
from ...reference.signals import layer_etas
from ...reference.simulator import teach_steps
from ...reference.stream import steps_per_example
from ...rules.neurons import BurstRate, Linear, ReLU, Sigmoid, Tanh
from ..base import Approximation, Program

NAME = "nengo-loihi"
VARIANTS = ("sim", "simreal")
RATE_HZ = 400.0       # rate code, Hz per unit of activity (the chip trace counts at most
MAX_RATE_HZ = 500.0   # one spike per 2-step trace epoch: rates must stay below 500 Hz)
RELAY_GAIN = 1.5      # chip neuron gain: one relayed spike crosses threshold once (measured)
PRE_TAU_STEPS = 4     # PES pre trace (whole steps: Loihi traces decay per step)
DECODE_TAU = 0.001    # nengo-loihi Model.decode_tau (s): the decode compartments' filter
OUT_TAU = 0.003       # filter of the decoded output on the host (s)
ERROR_RANGE = 1.27    # nengo-loihi: error sent as round(100 e), clipped to +-127
ERROR_STEP = 0.01
CLIP_QUANTILE = 0.99  # c_l maps this quantile of |factor_l| onto ERROR_RANGE
HOP_STEPS = 3         # host -> chip relay -> decoded back on the host: pure latency
# The Schedule's forward delay: the integer delay per projection under which the
# reference's weight changes best match nengo-loihi's in float ('simreal') on
# fa_digits.toml, 2000 steps, delays 2..8 tried (the pure latency plus the decode
# filters' lag); benchmarks/bench_nengo.py --loihi-delay measures it
FORWARD_DELAY = 6

# nengo-loihi 1.1.0 learns on the steps t (1-based) with t % 4 == 0, with 4 times the
# error the host sent in that step (Synapse.set_learning; the phase measured by sending
# an error in one step only): the host scales the error of each example's learning
# steps by n_teach / (4 m), m the number of them in the example's plastic window
LEARN_EPOCH = 4

SCHEDULE = Schedule("nengo-loihi", forward_delay=FORWARD_DELAY, feedback_delay=0,
                    apply="step")


def pipeline_steps(n_projections: int) -> int:
    """Steps from an example's input on the host to the output it causes back on the
    host: FORWARD_DELAY per projection, chained through the L projections (each
    layer's host Node sees the layer below only after its relay, chip and decode
    hops). Without a hold, an example shorter than this pairs the previous example's
    output with the current target in its plastic steps (fa_digits.toml: 18 steps
    against 10-step examples; the reference under that timing reaches 15.6 % after
    one epoch, 82.7 % with the hold)."""
    return n_projections * FORWARD_DELAY


def schedule_for(n_projections: int) -> Schedule:
    """The Program's Schedule: SCHEDULE, each example held for the pipeline's latency
    before its own t_example steps (teacher and PES off), so its settling and plastic
    steps run on a filled pipeline, as on the textbook schedule. The spec's settling
    steps stay on top: the best-fit delay is a mean lag and the decode filters are
    still moving at that point."""
    return Schedule(SCHEDULE.name, forward_delay=FORWARD_DELAY, feedback_delay=0,
                    apply="step", hold_steps=pipeline_steps(n_projections))

# models whose f the host computes; bounded ones may be hidden layers (rate code < 500 Hz)
HOST_MODELS = {Sigmoid: (0.0, 1.0), BurstRate: (0.0, 1.0), Tanh: (-1.0, 1.0),
               ReLU: None, Linear: None}

APPROXIMATIONS = [
    Approximation("PES composition", "learning",
                  "the rule's post factor is computed on the host and sent as PES's error; "
                  "its pre factor is the chip's filtered spike trace of the presynaptic "
                  f"rate code ({PRE_TAU_STEPS}-step time constant), not the activity of "
                  "the step"),
    Approximation("on-chip rate code", "neuron model",
                  f"activities travel as spikes of {RATE_HZ:g} Hz per unit; the decoded "
                  f"output is filtered ({DECODE_TAU * 1e3:g} ms on chip, {OUT_TAU * 1e3:g} "
                  "ms on the host), so a layer's net input is a noisy, lagging estimate"),
    Approximation("signed rate code", "learning",
                  "a signed activity (tanh, linear) is an on and an off neuron whose "
                  "decoders PES learns separately, each from the sign it carries, at "
                  "twice the rate: their mean (the reported W) follows the rule, but the "
                  "forward pass uses the on weights for positive activities and the off "
                  "weights for negative ones, which drift apart"),
    Approximation("host-chip pipeline", "timing",
                  f"{HOP_STEPS} steps from a layer's activity on the host to the next "
                  "layer's net input back on the host (relay to the chip, chip, decode), "
                  "plus the decode filters' lag: the Schedule's forward delay of "
                  f"{FORWARD_DELAY} steps per projection is the best integer fit"),
    Approximation("pipeline fill", "timing",
                  "each example is held before its own t_example steps for the "
                  f"pipeline's latency ({FORWARD_DELAY} steps per projection), teacher "
                  "and PES off, so its plastic steps pair its own output with its "
                  "target; plastic steps per example (eta's meaning) are unchanged, but "
                  "an example takes that many more engine steps (Schedule.hold_steps: "
                  "the reference runs the same hold)"),
    Approximation("learning every 4 steps", "timing",
                  "PES updates the weights on every 4th step with 4 times that step's "
                  "error (nengo-loihi's learning epoch), at once (no batch accumulation); "
                  "the host rescales those steps' errors so each example still adds "
                  "eta times its factor, but from 1 or 2 sampled steps of its plastic "
                  "window instead of their mean"),
    Approximation("error grid", "precision",
                  f"errors are sent as round(100 e) clipped to +-127: a grid of "
                  f"{ERROR_STEP} on +-{ERROR_RANGE} after the scaling c_l (sim and "
                  "simreal)"),
    Approximation("7-bit pre trace, 8-bit learned weights", "precision",
                  "the pre trace is 7 bits with stochastic rounding, learned weights 8 "
                  "bits under the exponent pes_wgt_exp (sim only; simreal is float)"),
]


@dataclass
class LoihiProgram(Program):
    spec: object = None
    spiking: bool = False          # the stream's rate inputs (ExampleStream reads it)
    phases: list = field(default_factory=list)  # none: phased specs are refused (the stream)
    L: int = 0
    sizes: list = field(default_factory=list)
    codes: list = field(default_factory=list)     # per pre layer 0..L-1: 'rate' or 'signed'
    bias: list = field(default_factory=list)      # per layer 1..L: 'learned' or 'fixed'
    plastic: list = field(default_factory=list)   # per layer 1..L
    s: list = field(default_factory=list)         # decoded scale per layer 1..L
    c: list = field(default_factory=list)         # error scale per layer 1..L
    kappa: list = field(default_factory=list)     # PES learning rate per layer 1..L
    factor_median: list = field(default_factory=list)  # median |factor_l| (initial)
    n_pre: list = field(default_factory=list)     # chip neurons of pre layer l-1
    unit_level: list = field(default_factory=list)  # bias unit's activity per pre layer
    factor: str = "error_drive"
    rate: float = RATE_HZ
    pre_tau_steps: int = PRE_TAU_STEPS
    k: int = 1                     # steps per example in the stream, hold included
    n_teach: int = 1
    batch_size: int = 1
    lr_decay: float = 1.0
    loss: str = "mse"
    dt: float = 0.001


def trace_gain(tau_steps: int) -> float:
    """Mean of nengo-loihi's pre trace over nengo's PES pre filter for the same rate:
    the chip adds (1 - exp(-1/tau)) / dt^2 per spike and decays by exp(-2/tau) every
    2-step trace epoch, so a train of p spikes per step averages
    2 p (1 - exp(-1/tau)) / (1 - exp(-2/tau)) = 2 p / (1 + exp(-1/tau)) (per dt^2),
    where a unit-area filter gives p. 1.12 for tau = 4 steps (measured 1.11 in
    simreal with a constant error and rate)."""
    return 2.0 / (1.0 + np.exp(-1.0 / tau_steps))


def _refuse(what, reason, alternative="nengo (nengo.Simulator) or numpy"):
    raise UnsupportedRule(NAME, what, reason, alternative)


def _check(spec, precision, variant):
    from ...rules.phases import refuse_phases
    refuse_phases(spec, NAME, "a PES composition learns decoders every step from "
                  "host-computed post factors, with no phases")
    rule = spec.rule.display_name
    if spec.rule.resolved_tag() is not None or spec.rule.signals("global"):
        _refuse(f"rule {rule!r} (syn.tag or a global signal)",
                "PES learns from one error per decoder; it has no per-synapse tag and no "
                "reward task on the chip", "nengo (nengo.Simulator), numpy, lava or brian2")
    tag = spec.rule.resolved_tag()
    for t in list(spec.rule.resolved_terms()) + (list(tag.terms) if tag else []):
        if t.when != "step":
            _refuse(f"term '{t}' of rule {rule!r}",
                    "nengo-loihi's on-chip learning is PES only: a filtered presynaptic "
                    "trace times an error on every learning step, with no dependency on "
                    "the step's pre or post spikes and no STDP spike traces",
                    "nengo (nengo.Simulator), lava or brian2")
    if spec.reward is not None or spec.training.loss == "reward":
        _refuse("a reward task (spec.reward, training.loss = 'reward')",
                "the host forms every learning signal from the teacher's error through "
                "the host-chip pipeline; no action selection or reward prediction error "
                "is built into it (the teacher's error would silently replace it)",
                "nengo (nengo.Simulator), numpy or brian2")
    if precision != "float":
        _refuse(f"precision {precision!r}", "the chip's arithmetic is the variant: 'sim' "
                "(Loihi's integers) or 'simreal' (the same model in float)",
                "nengo-loihi with variant 'sim' or 'simreal', or lava (precision 'fixed')")
    if variant not in (None,) + VARIANTS:
        _refuse(f"variant {variant!r}", "real Loihi needs Intel's NxSDK, which is not "
                f"installable; the emulator's variants are {', '.join(VARIANTS)}",
                "nengo-loihi with variant 'sim'")
    net = spec.network
    for i, layer in enumerate(net.layers[1:], start=1):
        n = layer.neuron
        if type(n) not in HOST_MODELS:
            _refuse(f"neuron model {n.model!r} (network.layers[{i}].neuron)",
                    "a layer's nonlinearity is computed on the host from the chip's "
                    "decoded output, so it must be a rate model (sigmoid, tanh, relu, "
                    "linear, burst_rate)",
                    "nengo (lif) or numpy or lava (lif, burst)")
        if i < len(net.layers) - 1 and HOST_MODELS[type(n)] is None:
            _refuse(f"neuron model {n.model!r} on hidden layer {i}",
                    "its activity is unbounded, and the rate code must stay below "
                    f"{MAX_RATE_HZ:g} Hz (the chip's trace counts one spike per 2 steps)")
    for l in range(1, len(net.layers) - 1):
        kind = net.feedback_of(l).kind
        if kind in ("transport", "learned"):
            _refuse(f"rule {rule!r} with feedback kind {kind!r} (layer {l})",
                    "it needs the learned forward weights on the host every step, but "
                    "nengo-loihi keeps PES-learned weights on the chip and cannot probe "
                    "them while running")
    terms = spec.rule.resolved_terms()
    post = spec.rule.signals("post")
    if len(terms) != 1 or len(terms[0].factors) != 2 or \
            {f.kind for f in terms[0].factors} != {"pre", "post"}:
        _refuse(f"rule {rule!r} ({'; '.join(map(str, terms))})",
                "PES is exactly one product, presynaptic trace x error: one term of one "
                "pre and one post factor")
    pre_f = next(f for f in terms[0].factors if f.kind == "pre")
    post_f = next(f for f in terms[0].factors if f.kind == "post")
    if pre_f.signal not in ("activity", "event_trace") or pre_f.tau is not None:
        _refuse(f"rule {rule!r} (pre factor {pre_f})", "PES's presynaptic factor is the "
                "chip's own spike trace of the activity; no other trace or time constant")
    if post_f.signal not in ("error_drive", "burst_prob_dev") or post_f.tau is not None:
        _refuse(f"rule {rule!r} (post factor {post_f})", "the host sends one learning "
                "signal per neuron as PES's error: error_drive or burst_prob_dev")
    if spec.training.momentum:
        _refuse(f"training.momentum = {spec.training.momentum:g}",
                "PES applies each update on the chip at once; there is no velocity")
    return post_f.signal, post


def _bounds(spec, params):
    """Bound on |a_l| per layer for the decoded scale: input in [0, 1] and each
    hidden activity within its model's range."""
    net = spec.network
    out = []
    hmax = 1.0
    for l in range(1, len(net.layers)):
        a = np.abs(params.W[l - 1]).sum(axis=1).max() * hmax + np.abs(params.b[l - 1]).max()
        out.append(float(a))
        rng = HOST_MODELS[type(net.layers[l].neuron)]
        hmax = 1.0 if rng is None else max(abs(rng[0]), abs(rng[1]))
    return out


_DATA_CACHE: dict = {}


def _training_set(spec):
    """The spec's data set, loaded once per (data, seed) in a process (lowering the
    catalog for capabilities() would otherwise load it per row and variant)."""
    from ...data import load_dataset
    key = (repr(spec.data), spec.training.seed)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = load_dataset(spec.data, spec.training.seed)
    return _DATA_CACHE[key]


def factor_scales(spec, params, factor, dataset=None) -> tuple:
    """(c_l, median |factor_l|): c_l maps the CLIP_QUANTILE of |factor_l| over the
    training set at the initial weights (the reference's signals) onto ERROR_RANGE."""
    from ...reference.trainer import BatchedTrainer
    ds = dataset if dataset is not None else _training_set(spec)
    tr = BatchedTrainer(spec, params.copy())
    post = tr.signals(ds.x_train, ds.y_train)[5]
    c, med = [], []
    for p in post:
        x = np.abs(p[factor])
        q = float(np.quantile(x, CLIP_QUANTILE))
        c.append(ERROR_RANGE / q if q > 0 else 1.0)
        med.append(float(np.median(x[x > 0])) if np.any(x > 0) else 0.0)
    return c, med


def balanced_scales(program, trace_increments: dict) -> list:
    """The error scales that balance the two grids, given the 7-bit trace increments
    a build gave (sim): the relative resolution of the sent error, ERROR_STEP /
    (c median|factor|), falls as c grows, while the trace's, 1 / (2 increment), grows
    with c (nengo-loihi folds the learning rate, ~1/c, into the increment). Their sum
    of squares is least at c* = sqrt(ERROR_STEP / (median |factor| B)) with B =
    1 / (2 increment c) of the build; c never exceeds the clipping bound above."""
    out = []
    for l, (c, med) in enumerate(zip(program.c, program.factor_median), start=1):
        inc = trace_increments.get(l)
        if not inc or not med:
            out.append(c)
            continue
        B = 1.0 / (2.0 * inc * c)
        out.append(min(c, float(np.sqrt(ERROR_STEP / (med * B)))))
    return out


def lower(spec, precision: str = "float", profile=None, variant=None,
          dataset=None) -> LoihiProgram:
    """The nengo-loihi Program of ``spec`` (variant 'sim', the default, or 'simreal'),
    or UnsupportedRule naming the reason. Scales come from the initial parameters and
    the spec's training set (or ``dataset``)."""
    factor, _ = _check(spec, precision, variant)
    from ...reference.params import init_params
    net = spec.network
    L = len(net.layers) - 1
    params = init_params(net, spec.training.seed)
    codes = ["rate"] + ["signed" if HOST_MODELS[type(layer.neuron)][0] < 0 else "rate"
                        for layer in net.layers[1:-1]]
    bias = ["learned" if layer.bias and layer.plastic else "fixed"
            for layer in net.layers[1:]]
    sizes = net.sizes
    n_pre = [sizes[l] * (2 if codes[l] == "signed" else 1) + (bias[l] == "learned")
             for l in range(L)]
    s = _bounds(spec, params)
    c, med = factor_scales(spec, params, factor, dataset)
    sim = spec.simulation
    schedule = schedule_for(L)
    # the stream's steps per example: the hold, then the example's own k steps
    k, n_teach = steps_per_example(sim) + schedule.hold_steps, teach_steps(sim)
    eta_step = [e / (n_teach * spec.training.batch_size) for e in layer_etas(spec.rule, L)]
    # a signed code's on and off weights each learn from one sign; twice the rate makes
    # their mean (the reported W) follow the rule step for step
    # ... and the bias unit of such a population fires R / sqrt(2) (its change goes
    # with the square of its rate), so the bias learns at the rule's rate
    unit_level = [2 ** -0.5 if codes[l] == "signed" else 1.0 for l in range(L)]
    kappa = [eta_step[l] * n_pre[l] * (2 if codes[l] == "signed" else 1)
             / (sim.dt * c[l] * s[l] * RATE_HZ ** 2 * trace_gain(PRE_TAU_STEPS))
             for l in range(L)]
    return LoihiProgram(
        NAME, precision, schedule, variant or "sim", list(APPROXIMATIONS), spec=spec,
        L=L, sizes=sizes, codes=codes, bias=bias,
        plastic=[layer.plastic for layer in net.layers[1:]], s=s, c=c, kappa=kappa,
        factor_median=med,
        n_pre=n_pre, unit_level=unit_level, factor=factor, k=k, n_teach=n_teach,
        batch_size=spec.training.batch_size, lr_decay=spec.training.lr_decay,
        loss=spec.training.loss, dt=sim.dt)
