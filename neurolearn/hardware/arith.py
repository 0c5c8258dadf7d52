"""Integer primitives of Lava 0.10.0's fixed-point learning engine, in NumPy.

This module is the bit-level ground truth that fixed-point backends are checked
against. Every function mirrors one step of Lava's ``fixed_pt`` (bit-approximate)
model of the Loihi learning engine and cites where it lives in Lava's source
(paths relative to ``lava/``). Nothing here imports lava.

Widths (``lava/magma/core/learning/constants.py``), the defaults of every function:

- weights: 8 bits + sign (``W_WEIGHTS_U = 8``, ``W_WEIGHTS_S = 9``), kept in
  [-256, 255] after learning (``clip_weights`` in ``lava/utils/weightutils.py``);
- traces x1 x2 y1 y2 y3: 7 bits (``W_TRACE``), unsigned, saturating at 127;
  trace impulses keep 8 fractional bits (``W_TRACE_FRACTIONAL_PART``);
- accumulator of synaptic changes: 15 bits + sign (``W_ACCUMULATOR_U/S``);
- scaling factor ``m * 2^e``: mantissa 4 bits (``W_S_MANT``), m in [-8, 7], e in
  [-7, 8] (checked in ``magma/core/learning/product_series.py``); Lava stores
  ``e + 7`` (0..15) and left-shifts by it.

One learning epoch for the weights (``_apply_learning_rules`` in
``magma/core/model/py/connection.py``, ``LearningRuleApplierBitApprox.apply`` in
``magma/core/learning/learning_rule_applier.py``):

1. The weight-rounding generator advances (one uniform number r in [0, 1) per
   epoch, shared by every synapse: :class:`WeightRounding`). Lava's
   ``ConnVarRandom()`` is built with its default seed 2, whatever ``rng_seed`` says.
2. ``acc = w << 7`` (7 = accumulator signed width 16 - weight signed width 9).
3. For each product ``m * 2^e * D * f_1 * ... * f_k`` of the rule (:func:`product`):
   the dependency D (0/1) times each factor, each factor saturated to
   [-2^width, 2^width - 1] after adding its constant; times m; arithmetic (floor)
   right shift by ``max(0, sum(widths) + 4 - 15)``; left shift by ``e + 7``; clip to
   [-2^15 - 1, 2^15 - 1]; ``acc += that``, and clip acc to the same range.
4. Stochastic rounding to the weight grid (:func:`round_weight_accumulator`): with
   q = 2^(15 - 8) = 128, ``acc = (floor(acc / q) + (r < frac(acc / q))) * q``.
5. ``w = acc >> 7`` then clip to [-256, 255] (mixed sign mode).

Traces (``_compute_trace_histories``, ``_decay_trace``, ``_add_impulse``): each step
of an epoch decays a trace by ``exp(-1/tau)`` with floor + stochastic rounding by
one shared float random (:func:`decay_trace`; a trace whose tau is 0 is *not*
decayed but reads 0 after the first step of the epoch, see
:func:`trace_history`), then adds its impulse where a spike occurred
(:func:`add_impulse`: integer part, stochastic rounding of the 8-bit fraction
against a 7-bit random integer, saturation to [0, 127]). Trace randoms come from
:class:`TraceRandom` seeded ``rng_seed`` .. ``rng_seed + 3``.

Weights handed to a fixed-point ``LearningDense`` are truncated once, on its first
step, to the even grid in mixed sign mode (:func:`truncate_weights`), and the
dendritic sum is shifted by ``weight_exp`` (:func:`dense_accumulate`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# Lava 0.10.0, lava/magma/core/learning/constants.py
W_WEIGHTS_U = 8
W_WEIGHTS_S = W_WEIGHTS_U + 1
W_TRACE = 7
W_TRACE_FRACTIONAL_PART = 8
W_CONST = 8
W_S_MANT = 4
W_ACCUMULATOR_U = 15
W_ACCUMULATOR_S = W_ACCUMULATOR_U + 1
W_EPOCH_TIME = 6
W_TAG_1_U = 8  # the tag t (Lava's tag_1): 8 bits + sign
# lava/magma/core/learning/product_series.py (validation of the scaling factor)
MANTISSA_MIN, MANTISSA_MAX = -8, 7
EXPONENT_MIN, EXPONENT_MAX = -7, 8
# Lava's exponent storage offset (product_series.py stores s_exp + 7)
EXPONENT_OFFSET = 7
# lava/magma/core/learning/random.py: ConnVarRandom's default seed
WEIGHT_ROUNDING_SEED = 2

# Widths of the factors a product may hold (FACTOR_TO_WIDTH_DICT)
FACTOR_WIDTH = {"x0": 1, "y0": 1, "x1": W_TRACE, "x2": W_TRACE, "y1": W_TRACE,
                "y2": W_TRACE, "y3": W_TRACE, "w": W_WEIGHTS_S, "d": W_WEIGHTS_S,
                "t": W_WEIGHTS_S, "C": W_CONST}


@dataclass(frozen=True)
class EngineWidths:
    """The bit widths the primitives use; defaults are Lava 0.10.0's. A hardware
    profile builds one with :func:`neurolearn.hardware.profile.widths_of`."""
    weight_bits: int = W_WEIGHTS_U          # magnitude bits; a sign bit comes on top
    trace_bits: int = W_TRACE
    trace_frac_bits: int = W_TRACE_FRACTIONAL_PART
    accumulator_bits: int = W_ACCUMULATOR_U  # magnitude bits; a sign bit comes on top
    mantissa_bits: int = W_S_MANT
    mantissa_min: int = MANTISSA_MIN
    mantissa_max: int = MANTISSA_MAX
    exponent_min: int = EXPONENT_MIN
    exponent_max: int = EXPONENT_MAX

    @property
    def weight_shift(self) -> int:
        """Left shift of w into the accumulator: (acc + 1) - (weight + 1) signed widths."""
        return (self.accumulator_bits + 1) - (self.weight_bits + 1)

    @property
    def acc_min(self) -> int:
        return -(2 ** self.accumulator_bits) - 1  # Lava's bound, one below -2^15

    @property
    def acc_max(self) -> int:
        return 2 ** self.accumulator_bits - 1

    @property
    def weight_min(self) -> int:
        return -(2 ** self.weight_bits)

    @property
    def weight_max(self) -> int:
        return 2 ** self.weight_bits - 1

    @property
    def trace_max(self) -> int:
        return 2 ** self.trace_bits - 1

    def factor_width(self, name: str) -> int:
        if name in ("x1", "x2", "y1", "y2", "y3"):
            return self.trace_bits
        if name in ("w", "d", "t"):
            return self.weight_bits + 1
        return FACTOR_WIDTH[name]


LAVA = EngineWidths()


# ---- randoms -------------------------------------------------------------------

class WeightRounding:
    """Lava's ``ConnVarRandom``: one uniform number per learning epoch, shared by
    all synapses. Construction draws one number; :meth:`advance` draws the next and
    Lava advances *before* each epoch, so epoch 1 uses the second draw."""

    def __init__(self, seed: int = WEIGHT_ROUNDING_SEED):
        self._rng = np.random.default_rng(seed=seed)
        self.value = self._rng.random(1)[0]

    def advance(self) -> float:
        self.value = self._rng.random(1)[0]
        return self.value


class TraceRandom:
    """Lava's ``TraceRandom``: a float for decay rounding and a 7-bit integer for
    impulse rounding, each from its own generator; both advance together."""

    def __init__(self, seed_decay: int, seed_impulse: int, trace_bits: int = W_TRACE):
        self._rd = np.random.default_rng(seed=seed_decay)
        self._ri = np.random.default_rng(seed=seed_impulse)
        self._bits = trace_bits
        self.decay = self._rd.random(1)[0]
        self.impulse = self._ri.integers(0, 2 ** trace_bits, size=1, dtype=int)[0]

    def advance(self):
        self.decay = self._rd.random(1)[0]
        self.impulse = self._ri.integers(0, 2 ** self._bits, size=1, dtype=int)[0]


def trace_randoms(rng_seed: int) -> tuple[TraceRandom, TraceRandom]:
    """(x_random, y_random) as Lava seeds them from a learning rule's ``rng_seed``."""
    return TraceRandom(rng_seed, rng_seed + 1), TraceRandom(rng_seed + 2, rng_seed + 3)


# ---- rounding and saturation ------------------------------------------------------

def stochastic_round(values, random, probabilities) -> np.ndarray:
    """Add 1 where ``random < probabilities`` (Lava ``utils.stochastic_round``)."""
    return (np.asarray(values) + np.asarray(random < probabilities).astype(int)).astype(int)


def saturate_factor(values, width: int) -> np.ndarray:
    """Clip a factor value to [-2^width, 2^width - 1] as the applier does."""
    return np.clip(values, -(2 ** width), 2 ** width - 1)


# ---- scaling factor ---------------------------------------------------------------

def split_scale(value: float, widths: EngineWidths = LAVA) -> tuple[int, int] | None:
    """The exact (mantissa, exponent) with ``value == m * 2^e`` inside the engine's
    range, or None when ``value`` is not of that form. Lava normalises an even
    mantissa above 7 by halving it (``product_series.py``); we search the smallest
    exponent, which gives the same pair for every representable value."""
    if value == 0:
        return (0, 0)
    for e in range(widths.exponent_min, widths.exponent_max + 1):
        m = value / 2.0 ** e
        if m == int(m) and widths.mantissa_min <= m <= widths.mantissa_max:
            return int(m), e
    return None


def nearest_scale(value: float, widths: EngineWidths = LAVA) -> tuple[int, int]:
    """The representable (m, e) nearest to ``value`` (ties to the larger exponent,
    i.e. the coarser grid), saturating at the ends of the range."""
    best, best_err = (0, 0), abs(value)
    for e in range(widths.exponent_min, widths.exponent_max + 1):
        m = int(np.clip(np.rint(value / 2.0 ** e), widths.mantissa_min, widths.mantissa_max))
        err = abs(m * 2.0 ** e - value)
        if err <= best_err:
            best, best_err = (m, e), err
    return best


# ---- one product and one epoch of weight learning ------------------------------------

def product(dependency, factors, mantissa: int, exponent: int,
            widths: EngineWidths = LAVA, shape=None) -> np.ndarray:
    """One product of a rule in accumulator units (step 3 of the module docstring).

    ``dependency``: 0/1 array or scalar (x0, y0 or u). ``factors``: a list of
    ``(value, width)`` pairs, value an integer array already including any added
    constant (use :data:`FACTOR_WIDTH` or ``widths.factor_width(name)`` for the
    width). ``mantissa``, ``exponent``: the scale m * 2^e, e unshifted (-7..8).
    """
    if not (widths.exponent_min <= exponent <= widths.exponent_max):
        raise ValueError(f"exponent {exponent} outside [{widths.exponent_min}, "
                         f"{widths.exponent_max}]")
    if shape is None:
        shape = np.broadcast_shapes(np.shape(dependency), *(np.shape(v) for v, _ in factors))
    mac = np.ones(shape, dtype=np.int32)
    mac *= np.asarray(dependency).astype(np.int32)
    width_sum = 0
    for value, width in factors:
        width_sum += width
        mac *= saturate_factor(np.asarray(value), width).astype(np.int32)
    width_sum += widths.mantissa_bits
    mac *= mantissa
    mac = np.right_shift(mac, max(0, width_sum - widths.accumulator_bits))
    mac = np.left_shift(mac, exponent + EXPONENT_OFFSET)
    return np.clip(mac, widths.acc_min, widths.acc_max)


def accumulate(acc, contribution, widths: EngineWidths = LAVA) -> np.ndarray:
    """``acc + contribution`` saturated to the accumulator (after each product)."""
    return np.clip(acc + contribution, widths.acc_min, widths.acc_max)


def weights_to_accumulator(weights, widths: EngineWidths = LAVA) -> np.ndarray:
    """Step 2: ``w << 7``."""
    return np.left_shift(np.asarray(weights).astype(np.int64), widths.weight_shift)


def round_weight_accumulator(acc, random: float, widths: EngineWidths = LAVA) -> np.ndarray:
    """Step 4: stochastic rounding of acc to multiples of 2^(acc_bits - weight_bits),
    with ``random`` shared by every synapse."""
    q = 2 ** (widths.accumulator_bits - widths.weight_bits)
    scaled = np.asarray(acc) / q
    frac = scaled % 1
    return (stochastic_round(np.floor(scaled), random, frac) * q).astype(np.int64)


def accumulator_to_weights(acc, widths: EngineWidths = LAVA) -> np.ndarray:
    """Step 5: ``acc >> 7`` then clip to [-2^8, 2^8 - 1] (mixed sign mode)."""
    w = np.right_shift(np.asarray(acc).astype(np.int64), widths.weight_shift)
    return np.clip(w, widths.weight_min, widths.weight_max)


def learn_weights(weights, products, random: float, widths: EngineWidths = LAVA) -> np.ndarray:
    """One learning epoch of the weights: steps 2-5 of the module docstring.

    ``products``: contributions from :func:`product` (accumulator units), applied in
    order with saturation after each; ``random``: this epoch's
    :class:`WeightRounding` value (advance it before calling, as Lava does).
    """
    acc = weights_to_accumulator(weights, widths)
    for contribution in products:
        acc = accumulate(acc, contribution, widths)
    acc = round_weight_accumulator(acc, random, widths)
    return accumulator_to_weights(acc, widths)


def learn_tag(tags, products, random: float, widths: EngineWidths = LAVA,
              tag_bits: int = W_TAG_1_U) -> np.ndarray:
    """One learning epoch of the tag t (``tag_1``), as :func:`learn_weights` with t's
    widths: ``t << (acc_bits - tag_bits)``, the products, the same stochastic rounding
    (the epoch's one random, shared with the weights), ``>>`` back, then Lava's clip to
    [-2^8 - 1, 2^8 - 1] (``_saturate_synaptic_variable`` in
    ``magma/core/model/py/connection.py``; the accumulator is not clipped by sign)."""
    w = replace(widths, weight_bits=tag_bits)  # t's steps are w's, at t's width
    acc = weights_to_accumulator(tags, w)
    for contribution in products:
        acc = accumulate(acc, contribution, w)
    acc = round_weight_accumulator(acc, random, w)
    return np.clip(np.right_shift(acc, w.weight_shift), -(2 ** tag_bits) - 1,
                   2 ** tag_bits - 1)


# ---- traces ---------------------------------------------------------------------------

def decompose_impulse(impulse: float, widths: EngineWidths = LAVA) -> tuple[int, int]:
    """(integer part, fraction in 2^-8 units) of a trace impulse (``_decompose_impulses``)."""
    whole = int(np.floor(impulse))
    frac = int(np.round((impulse - whole) * 2 ** widths.trace_frac_bits))
    return whole, frac


def decay_trace(values, tau: float, random: float, steps: int = 1) -> np.ndarray:
    """``exp(-steps/tau) * v``, floored, plus 1 where ``random`` < the fraction."""
    scaled = np.exp(-steps / tau) * np.asarray(values)
    frac = scaled % 1
    return stochastic_round(np.floor(scaled), random, frac)


def add_impulse(values, random: int, impulse_int: int, impulse_frac: int,
                widths: EngineWidths = LAVA) -> np.ndarray:
    """Add the integer impulse, round up where the 7-bit ``random`` < the 8-bit
    fraction, saturate to [0, 2^7 - 1] (``_add_impulse``)."""
    out = np.asarray(values) + impulse_int
    out = stochastic_round(out, random, impulse_frac)
    return np.clip(out, 0, widths.trace_max)


def trace_history(trace0, tau: float, t_epoch: int, spike_times, decay_random: float,
                  impulse_random: int, impulse: float,
                  widths: EngineWidths = LAVA) -> np.ndarray:
    """Trace values at within-epoch steps 0..t_epoch (``_compute_trace_histories``).

    ``spike_times``: per neuron, the within-epoch step (1..t_epoch) of its last spike,
    0 for none. A trace with ``tau == 0`` is not decayed: rows after step 0 start at
    0 (Lava's history buffer is zero-filled) and only receive impulses. The same
    ``decay_random`` / ``impulse_random`` serve every step of the epoch.
    """
    trace0 = np.asarray(trace0)
    hist = np.zeros((t_epoch + 1,) + trace0.shape, dtype=int)
    hist[0] = trace0
    i_int, i_frac = decompose_impulse(impulse, widths)
    spike_times = np.asarray(spike_times)
    for t in range(1, t_epoch + 1):
        if tau != 0:
            hist[t] = decay_trace(hist[t - 1], tau, decay_random)
        ids = spike_times == t
        hist[t][..., ids] = add_impulse(hist[t][..., ids], impulse_random, i_int, i_frac,
                                        widths)
    return hist


# ---- synaptic input ----------------------------------------------------------------------

def truncate_weights(weights, weight_bits: int = W_WEIGHTS_U, mixed: bool = True,
                     max_weight_bits: int = W_WEIGHTS_U) -> np.ndarray:
    """``(w >> n) << n`` with n = max_bits - bits + mixed (``truncate_weights`` in
    ``lava/utils/weightutils.py``): 8-bit mixed-sign weights become even."""
    n = max_weight_bits - weight_bits + int(mixed)
    w = np.asarray(weights).astype(np.int32)
    return np.left_shift(np.right_shift(w, n), n)


def dense_accumulate(weights, s_in, weight_exp: int = 0) -> np.ndarray:
    """Dendritic sum of a fixed-point Dense: ``W @ s`` shifted left by ``weight_exp``
    (right by ``-weight_exp`` when negative, flooring)."""
    a = np.asarray(weights).astype(np.int64) @ np.asarray(s_in).astype(np.int64)
    return np.left_shift(a, weight_exp) if weight_exp > 0 else np.right_shift(a, -weight_exp)
