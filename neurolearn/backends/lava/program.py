"""The Program of the Lava backend: what :func:`.lower.lower` computes once in the
parent and the processes, the emulator and the phased lowering read (no lava import).
The module docstring of :mod:`.lower` says how the meaning maps onto it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ...reference.params import Params
from ...rules.neurons import NeuronModel
from ..base import Program

Y_TAU = 65535                 # Loihi3FLearningRule's y taus: 2^16 - 1 steps
EY = float(np.exp(-1 / Y_TAU))  # the factor the float engine puts on every y
RATE_X1_TAU = 1.0 / 64        # steps: x1 of graded payloads fades by exp(-64) per step
UNUSED_TAU = 65535            # a trace with tau 0 reads NaN in Lava's float engine
MAX_Y = 3
SPIKED = "spike@step"         # post signal: the layer's spikes of the step (0/1)


# -- the Program ---------------------------------------------------------------------
@dataclass
class PreTrace:
    """One presynaptic trace of a LearningDense (x1 or x2)."""
    name: str                 # "x1" or "x2"
    tau: float                # decay time constant in steps (Lava's x tau)
    impulse: float            # added per presynaptic spike (0 in OVERWRITE mode)
    per_spike: float = 1.0    # engine value of a fresh spike's unit jump (gains divide by it)
    overwrite: bool = False   # x1 set to payload/2 at a spike (rates; nearest-neighbour)


@dataclass
class Slot:
    """What a population sends on y<index> each step.

    ``terms``: ``gain * sum c * share * prod(signals)`` on plastic steps (``share``
    "step" or "event"), or on every step (``share`` "tag": the tag's terms, scale 1);
    ``apply``: g (1 at a batch's last plastic step); ``momentum``: (mu - 1) g;
    ``decay``: ``value`` = exp(-dt/tau_tag) - 1 on every step. Every value is sent
    times ``comp`` (1/exp(-1/65535) in float), fixed point as rint(y y_scale), +-127."""
    index: int
    kind: str
    terms: list = field(default_factory=list)   # [(coeff, (signal names))]
    share: str = "step"
    gain: float = 1.0
    value: float = 0.0
    y_scale: float = 1.0


@dataclass
class Product:
    """One product of a rule string: ``[m * 2^e *] dep [* x] * y.. [* w|t] [* y..]``.
    ``offset``: the pre trace is read as ``(x - offset)``; ``extra``: y slots after
    the syn factor (the batch accumulation's g and (mu - 1) g)."""
    dep: str = "u0"
    pre: str | None = None
    slots: tuple = ()
    syn: str | None = None
    offset: int = 0
    extra: tuple = ()
    mantissa: int = 1
    exponent: int | None = None   # None: 2^0, no literal

    @property
    def slot(self) -> int:
        return self.slots[0]

    def factors(self) -> list[str]:
        pre = [] if self.pre is None else \
            [self.pre if not self.offset else f"({self.pre} - {self.offset})"]
        return pre + [f"y{k}" for k in self.slots] + ([self.syn] if self.syn else []) + \
            [f"y{k}" for k in self.extra]

    def signed(self) -> tuple[int, str]:
        m = abs(self.mantissa)
        scale = ([str(m)] if m != 1 else []) + \
            ([f"2^{self.exponent}"] if self.exponent is not None else [])
        return (-1 if self.mantissa < 0 else 1), " * ".join(scale + [self.dep] + self.factors())

    def string(self) -> str:
        sign, text = self.signed()
        return ("-" if sign < 0 else "") + text

    def times(self, slot: int, sign: int = 1) -> "Product":
        return replace(self, extra=self.extra + (slot,), mantissa=sign * self.mantissa)


def rule_string(products) -> str:
    out = ""
    for p in products:
        sign, text = p.signed()
        out = (("-" if sign < 0 else "") + text) if not out else \
            f"{out} {'-' if sign < 0 else '+'} {text}"
    return out


@dataclass
class PostTrace:
    """A post factor with its own trace, computed by the population as the
    reference's Network._advance does (spiking) or _rate_trace (rate)."""
    name: str
    tau: float                # s
    jump: str                 # "one" (spike_trace) or "area" ((1 - d) / (dt max_rate))
    update: str               # "add" or "set"
    read: str                 # "after" or "before"


@dataclass
class LayerProgram:
    """What layer l's population and its LearningDense/Dense are built from."""
    index: int
    name: str
    size: int
    n_pre: int
    neuron: NeuronModel
    is_output: bool
    plastic: bool
    bias_learns: bool
    b0: np.ndarray
    eta: float
    terms: list               # [(coeff, (post signals), syn, when)] of the weight rule
    post_needed: tuple        # post signals the rule reads (every layer computes them)
    spiking: bool
    dt: float
    max_rate: float
    loss: str
    n_out: int
    n_teach: int
    momentum: float
    lr_decay: float
    apply: str                # schedule.apply
    noise_seed: list
    burst_seed: list
    W0: np.ndarray | None = None          # initial weights as the engine holds them
    products: list = field(default_factory=list)     # [Product] of dw (increments)
    tag_products: list = field(default_factory=list)  # [Product] of the tag's dt
    slots: list = field(default_factory=list)        # [Slot]
    pre_traces: list = field(default_factory=list)   # [PreTrace]
    post_traces: list = field(default_factory=list)  # [PostTrace]
    graded_in: bool = False   # presynaptic payloads are graded (rates; OVERWRITE of x1)
    in_payload: float = 1.0   # a presynaptic spike's payload (fixed-point OVERWRITE: 32)
    out_payload: float = 1.0  # what this population's spike carries (the next in_payload)
    bap: bool = False         # the rule has y0 products: the population sends its spikes
    dw: str | None = None
    dt_rule: str | None = None
    tags: bool = False        # the batch's change is held in the tag t
    eligibility: bool = False  # t is the rule's own tag
    slot_mom: int | None = None   # y slot carrying (mu - 1) g
    slot_apply: int | None = None  # y slot carrying g
    y_comp: float = 1.0       # 1 / exp(-1/65535) in float, 1 in fixed point
    fb_src: int | None = None     # layer whose signals reach this one (hidden layers)
    fb_channels: tuple = ()       # what this layer receives down its pathway
    down_channels: tuple = ()     # what this layer sends down (union over receivers)
    B: np.ndarray | None = None   # feedback Dense weights (receiver x sender channels)
    reward: object = None     # the output population runs this reward task (spec.reward)
    reward_seed: int = 0
    reward_in: bool = False   # receives (r, rpe) from the output population each step
    reward_out: bool = False  # sends (r, rpe) to the hidden populations each step
    fixed: bool = False
    w_frac: int = 0               # fixed point: W_int = W 2^w_frac
    t_frac: int = 0               # fixed point: T_int = T 2^t_frac (an eligibility tag)
    decay_scale: tuple | None = None  # fixed point: the tag decay's literal (m, e)
    rng_seed: int = 0             # fixed point: seed of the engine's trace randoms
    n_ctrl: int = 5               # control values per step (.stream.CTRL; phased: more)
    phased_layer: object = None   # a layer in phases (.phased.Settling, .phased_ff)
    mirror: "LayerProgram | None" = None  # the LearningDense of W_(l+1)^T into this layer
    pre_port: str = "payload"     # a mirror's presynaptic port: "payload" or "down"
    learner: str = ""             # "mirror" (W^T) or "feedback" (a learned B), or none

    @classmethod
    def of_layer(cls, spec, params, l: int, eta: float, **kw) -> "LayerProgram":
        """Layer l's program: what every lowering takes from the spec and the initial
        parameters, and ``kw`` (the lowering's own fields)."""
        net, sim, tr = spec.network, spec.simulation, spec.training
        layer = net.layers[l]
        return cls(index=l, name=layer.name, size=layer.size, n_pre=net.sizes[l - 1],
                   neuron=layer.neuron, is_output=l == len(net.layers) - 1,
                   plastic=layer.plastic, bias_learns=layer.plastic and layer.bias,
                   b0=params.b[l - 1].copy(), eta=eta, dt=sim.dt, max_rate=sim.max_rate,
                   loss=tr.loss, n_out=net.sizes[-1], momentum=tr.momentum,
                   lr_decay=tr.lr_decay, noise_seed=[tr.seed, 5, l],
                   burst_seed=[tr.seed, 4, l], W0=params.W[l - 1].copy(), **kw)

    @property
    def n_fb(self) -> int:
        return self.size * len(self.fb_channels)

    @property
    def n_down(self) -> int:
        return self.size * len(self.down_channels)

    def rule(self) -> dict:
        """Keyword arguments of this layer's Loihi3FLearningRule."""
        kw = {"dw": self.dw, "t_epoch": 1}
        if self.dt_rule:
            kw["dt"] = self.dt_rule
        x = {t.name: t for t in self.pre_traces}
        for name in ("x1", "x2"):
            t = x.get(name)
            if self.fixed:  # integer taus of at most 8 bits
                kw[f"{name}_impulse"] = t.impulse if t else 0
                kw[f"{name}_tau"] = int(t.tau) if t else 255
            else:
                kw[f"{name}_impulse"] = t.impulse if t else 0.0
                kw[f"{name}_tau"] = t.tau if t else UNUSED_TAU
        if self.fixed:
            kw["rng_seed"] = self.rng_seed
        return kw


@dataclass
class LavaProgram(Program):
    """A spec lowered to Lava (module docstring). ``spec`` travels for the fused
    lowering and the parent's evaluation; the stock Processes get layer programs."""
    spec: object = None
    layers: list = field(default_factory=list)   # [LayerProgram], layers 1..L
    params: Params | None = None                 # initial float parameters
    seed: int = 0
    k: int = 1                                   # steps per example
    n_teach: int = 1                             # plastic steps per example
    stock_refusal: str | None = None             # fused: why stock cannot run it
    phased: object = None                        # .phased.PhasedPlan of a spec in phases

    @property
    def source_payload(self) -> float:
        """What an input spike carries (layer 1's in_payload)."""
        return self.layers[0].in_payload if self.layers else 1.0

    @property
    def L(self) -> int:
        return len(self.spec.network.layers) - 1

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.spec.network.layers]

    @property
    def sizes(self) -> list[int]:
        return self.spec.network.sizes

    @property
    def spiking(self) -> bool:
        return self.spec.network.spiking

    def float_weights(self, l: int, W):
        """Weights of layer l as the engine holds them -> float units."""
        if self.precision != "fixed":
            return np.asarray(W)
        return np.asarray(W, dtype=float) * 2.0 ** -self.layers[l - 1].w_frac


def accumulate(lp: LayerProgram):
    """Wrap the increments for the batch's accumulation in t (module docstring)."""
    incs = lp.products
    nxt = len(lp.slots) + 1
    if lp.momentum != 0.0:
        lp.slot_mom, nxt = nxt, nxt + 1
        lp.slots.append(Slot(lp.slot_mom, "momentum", gain=lp.y_comp))
    lp.slot_apply = nxt
    lp.slots.append(Slot(nxt, "apply", gain=lp.y_comp))
    a = lp.slot_apply
    g = Product("u0", None, (), "t", extra=(a,))
    lp.dw = rule_string([g] + [p.times(a) for p in incs])
    if lp.slot_mom is None:
        dt = incs + [replace(g, mantissa=-1)] + [p.times(a, -1) for p in incs]
    else:
        m = lp.slot_mom
        dt = incs + [Product("u0", None, (), "t", extra=(m,))] + [p.times(m) for p in incs]
    lp.dt_rule = rule_string(dt)
