"""Hardware profiles: what a target chip offers, each figure with its source.

A profile is a TOML file validated like a spec (``neurolearn.rules.schema``): an
unknown key, a wrong type or a failed check raises one :class:`SpecError` naming
the file, the field and the reason. Every figure is a table
``{ value = ..., source = "..." }``; TOML has no null, so an *unknown* figure is
written with its ``source`` (saying why it is unknown) and no ``value``, and a
figure or section left out entirely is unknown too. Both load as ``None``: the
design-rule check never checks an unknown figure, and lists it as unchecked.

The built-in profiles live in ``hardware_profiles/`` at the top of the repository,
shipped inside the package as ``neurolearn.hardware.profiles`` (see docs/hardware.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import SpecError, shorten
from ..rules import limits as lim
from ..rules.io import load, parse
from ..rules.schema import Node, field, length, one_of, text
from .arith import EngineWidths

FORMAT_TYPE = "neurolearn.profile"
FORMAT_VERSION = 1
SUPPORT_MODES = ("on_chip", "host", "none")
RULE_FAMILIES = ("delta", "kolen_pollack", "burstprop_rate", "burstprop", "local")


def _non_negative_int(v):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        return f"must be a non-negative integer, got {shorten(v)}"
    return None


def _source(v):
    if len(v) > lim.MAX_TEXT_CHARS:
        return f"must be at most {lim.MAX_TEXT_CHARS:,} characters, got {len(v):,}"
    return None if v.strip() else "must say where the figure comes from"


_note = text(lim.MAX_TEXT_CHARS)
_names = length(0, 100, "names")

# Bounds of every figure (neurolearn.rules.limits says why each exists): name ->
# (smallest, largest, reason). A 0 is a real 0 (a core with 0 compartments holds no
# neuron), never "unknown": unknown is a figure without a value.
_BITS = "limit MAX_VALUE_BITS: chips use 1-16 bits; the quantized reference works in int64"
BOUNDS = {
    "chip.chips": (0, lim.MAX_RESOURCE, "limit MAX_RESOURCE"),
    "chip.cores_per_chip": (0, lim.MAX_RESOURCE, "limit MAX_RESOURCE"),
    "core.compartments": (0, lim.MAX_RESOURCE, "limit MAX_RESOURCE"),
    "core.input_axons": (0, lim.MAX_RESOURCE, "limit MAX_RESOURCE"),
    "core.output_axons": (0, lim.MAX_RESOURCE, "limit MAX_RESOURCE"),
    "core.synapse_memory_bits": (0, lim.MAX_RESOURCE, "limit MAX_RESOURCE"),
    "core.synapse_word_bits": (1, 1 << 16, "a memory word of more than 65,536 bits"),
    "core.synapse_header_bits": (0, 1 << 16, "a header of more than 65,536 bits"),
    "weights.bits": (1, lim.MAX_VALUE_BITS, _BITS),
    "weights.exponent_min": (-lim.MAX_EXPONENT, lim.MAX_EXPONENT, "limit MAX_EXPONENT: "
                             "int64 shifts"),
    "weights.exponent_max": (-lim.MAX_EXPONENT, lim.MAX_EXPONENT, "limit MAX_EXPONENT: "
                             "int64 shifts"),
    "traces.bits": (1, lim.MAX_VALUE_BITS, _BITS),
    "traces.fraction_bits": (0, lim.MAX_VALUE_BITS, _BITS),
    "learning.accumulator_bits": (1, lim.MAX_ACCUMULATOR_BITS, "limit MAX_ACCUMULATOR_BITS: "
                                  "the accumulator is int64"),
    "learning.mantissa_bits": (1, 16, "a scale mantissa of more than 16 bits"),
    "learning.mantissa_min": (-lim.MAX_MANTISSA, lim.MAX_MANTISSA, "limit MAX_MANTISSA"),
    "learning.mantissa_max": (-lim.MAX_MANTISSA, lim.MAX_MANTISSA, "limit MAX_MANTISSA"),
    "learning.exponent_min": (-lim.MAX_EXPONENT, lim.MAX_EXPONENT, "limit MAX_EXPONENT: "
                              "int64 shifts"),
    "learning.exponent_max": (-lim.MAX_EXPONENT, lim.MAX_EXPONENT, "limit MAX_EXPONENT: "
                              "int64 shifts"),
    "learning.max_terms": (0, lim.MAX_ENGINE_COUNT, "limit MAX_ENGINE_COUNT"),
    "learning.epoch_bits": (1, lim.MAX_EPOCH_BITS, "limit MAX_EPOCH_BITS: t_epoch counts "
                            "steps"),
    "learning.max_pre_traces": (0, lim.MAX_ENGINE_COUNT, "limit MAX_ENGINE_COUNT"),
    "learning.max_post_traces": (0, lim.MAX_ENGINE_COUNT, "limit MAX_ENGINE_COUNT"),
}


@dataclass
class Figure(Node):
    """An integer figure and where it comes from; no ``value`` means unknown."""
    source: str = field(check=_source, doc="file + constant, paper, or why unknown")
    value: int | None = field(None, doc="the figure (absent: unknown)")
    note: str = field("", check=_note, doc="free text")


@dataclass
class SignedFigure(Node):
    """An integer figure that may be negative (exponent bounds)."""
    source: str = field(check=_source, doc="file + constant, paper, or why unknown")
    value: int | None = field(None, doc="the figure (absent: unknown)")
    note: str = field("", check=_note, doc="free text")

    def validate(self, path):
        if self.value is not None and isinstance(self.value, bool):
            raise SpecError(f"must be an integer, got {self.value!r}", f"{path}.value")


@dataclass
class Names(Node):
    """A list of supported names and where it comes from; no ``value``: unknown."""
    source: str = field(check=_source, doc="file + constant, paper, or why unknown")
    value: list[str] | None = field(None, check=_names, doc="the names (absent: unknown)")
    note: str = field("", check=_note, doc="free text")


@dataclass
class Flag(Node):
    """A yes/no capability and where it comes from; no ``value`` means unknown."""
    source: str = field(check=_source, doc="file + constant, paper, or why unknown")
    value: bool | None = field(None, doc="true or false (absent: unknown)")
    note: str = field("", check=_note, doc="free text")


@dataclass
class Support(Node):
    """Whether a rule family learns on the chip."""
    mode: str = field(check=one_of(*SUPPORT_MODES),
                      doc="on_chip: the learning engine runs it; host: weights learn "
                          "off-chip; none: not at all")
    reason: str = field(check=_note, doc="why")
    source: str = field(check=_source, doc="where this comes from")


def _bounded(section, fig, path):
    if fig is None or fig.value is None:
        return
    lo, hi, why = BOUNDS[section]
    v = fig.value
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
            lo, f"an integer >= {lo:,}")
        raise SpecError(f"must be {kind}, got {shorten(v)}", f"{path}.value")
    if v > hi:
        raise SpecError(f"must be at most {hi:,} ({why}), got {shorten(v)}", f"{path}.value")


def _checked(*names):
    """The bounds check of a profile section (its figures' BOUNDS, keyed by the
    section's name: the class name in lower case); errors name the figure relative
    to the section, which the loader prefixes with the section's path."""
    def validate(self, path):
        section = type(self).__name__.lower()
        for name in dataclasses.fields(self):
            if f"{section}.{name.name}" in BOUNDS:
                _bounded(f"{section}.{name.name}", getattr(self, name.name), name.name)
    return validate


@dataclass
class Chip(Node):
    chips: Figure | None = field(None, doc="chips available to the network")
    cores_per_chip: Figure | None = field(None, doc="neuron cores per chip")
    validate = _checked("chips", "cores_per_chip")


@dataclass
class Core(Node):
    compartments: Figure | None = field(None, doc="compartments (neurons) per core")
    input_axons: Figure | None = field(None, doc="input axons per core")
    output_axons: Figure | None = field(None, doc="output axons per core")
    synapse_memory_bits: Figure | None = field(None, doc="synapse memory per core (bits)")
    synapse_word_bits: Figure | None = field(
        None, doc="synapse memory is allocated per axon in words of this many bits")
    synapse_header_bits: Figure | None = field(
        None, doc="bits per axon's synapse list beyond the weights (index, count)")
    validate = _checked("compartments", "input_axons", "output_axons", "synapse_memory_bits",
                        "synapse_word_bits", "synapse_header_bits")


@dataclass
class Weights(Node):
    bits: Figure | None = field(None, doc="weight magnitude bits (a sign bit comes on top)")
    exponent_min: SignedFigure | None = field(None, doc="smallest shared weight exponent")
    exponent_max: SignedFigure | None = field(None, doc="largest shared weight exponent")
    validate = _checked()


@dataclass
class Traces(Node):
    bits: Figure | None = field(None, doc="trace bits (unsigned, saturating)")
    fraction_bits: Figure | None = field(None, doc="fractional bits of trace impulses")
    validate = _checked("bits", "fraction_bits")


@dataclass
class Learning(Node):
    accumulator_bits: Figure | None = field(None, doc="accumulator magnitude bits "
                                                      "(a sign bit comes on top)")
    mantissa_bits: Figure | None = field(None, doc="bits of the scale's mantissa m")
    mantissa_min: SignedFigure | None = field(None, doc="smallest mantissa m")
    mantissa_max: SignedFigure | None = field(None, doc="largest mantissa m")
    exponent_min: SignedFigure | None = field(None, doc="smallest scale exponent e")
    exponent_max: SignedFigure | None = field(None, doc="largest scale exponent e")
    max_terms: Figure | None = field(None, doc="products (terms) per rule")
    epoch_bits: Figure | None = field(None, doc="bits of the learning epoch length t_epoch")
    dependencies: Names | None = field(None, doc="dependencies D_k: step (u), pre_spike "
                                                 "(x0), post_spike (y0)")
    pre_factors: Names | None = field(None, doc="pre signals the engine can form as traces")
    post_factors: Names | None = field(None, doc="post signals the engine can receive")
    syn_factors: Names | None = field(None, doc="synaptic variables usable as factors")
    max_pre_traces: Figure | None = field(None, doc="distinct pre traces per rule (x1, x2)")
    max_post_traces: Figure | None = field(None, doc="distinct post traces per rule "
                                                     "(y1, y2, y3)")
    graded_post_factors: Flag | None = field(
        None, doc="the post neuron sends graded factors (y1..y3) that the engine reads as "
                  "they are, so eta * c can be folded into them and every product keeps "
                  "scale 1: the m*2^e range then does not bind")
    validate = _checked("accumulator_bits", "mantissa_bits", "max_terms", "epoch_bits",
                        "max_pre_traces", "max_post_traces")


def _non_negative_number(fig):
    if fig is None or fig.value is None:
        return None
    v = fig.value
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 or v == float("inf"):
        return f"must be a non-negative number, got {v!r}"
    return None


@dataclass
class Quantity(Node):
    """A measured physical figure (a number in the unit its name gives) and its
    published source; no ``value`` means unknown, and an estimate then says so."""
    source: str = field(check=_source, doc="paper and table, brief, or why unknown")
    value: float | None = field(None, doc="the figure (absent: unknown)")
    note: str = field("", doc="free text: conditions of the measurement")


def _checked_numbers(*names):
    def validate(self, path):
        for name in names:
            reason = _non_negative_number(getattr(self, name))
            if reason:
                raise SpecError(reason, f"{path}.{name}.value")
    return validate


@dataclass
class Energy(Node):
    """Energy per operation (picojoules), for ``check --estimate``."""
    synaptic_op_pj: Quantity | None = field(
        None, doc="one synaptic operation: a spike delivered to one synapse (read weight, "
                  "accumulate into the target's input)")
    neuron_update_pj: Quantity | None = field(
        None, doc="one neuron (compartment) update in one time step, active neuron")
    synaptic_update_pj: Quantity | None = field(
        None, doc="one synapse updated by the learning engine (one weight change)")
    spike_pj: Quantity | None = field(None, doc="one spike sent from a neuron to its core's "
                                                "router (within a tile)")
    validate = _checked_numbers("synaptic_op_pj", "neuron_update_pj", "synaptic_update_pj",
                                "spike_pj")


@dataclass
class Timing(Node):
    """Time per operation (nanoseconds) within one core, and per time step."""
    synaptic_op_ns: Quantity | None = field(None, doc="one synaptic operation")
    neuron_update_ns: Quantity | None = field(None, doc="one neuron update, active neuron")
    synaptic_update_ns: Quantity | None = field(None, doc="one synapse learning update")
    spike_ns: Quantity | None = field(None, doc="one spike into the router (within a tile)")
    barrier_sync_ns: Quantity | None = field(
        None, doc="the chip-wide barrier that ends every time step")
    validate = _checked_numbers("synaptic_op_ns", "neuron_update_ns", "synaptic_update_ns",
                                "spike_ns", "barrier_sync_ns")


@dataclass
class Models(Node):
    neuron_models: Names | None = field(None, doc="neurolearn neuron models the cores run")
    synapse_types: Names | None = field(None, doc="connectivity kinds (dense, sparse, conv)")


@dataclass
class Profile(Node):
    name: str = field(check=text(lim.MAX_NAME_CHARS), doc="short name, used by --profile")
    description: str = field("", check=_note, doc="what the target is")
    precision: str = field("fixed", check=one_of("float", "fixed"),
                           doc="float: no integer arithmetic; fixed: the quantized "
                               "reference applies")
    chip: Chip | None = field(None, doc="chip-level figures")
    core: Core | None = field(None, doc="per-core resources")
    weights: Weights | None = field(None, doc="weight format")
    traces: Traces | None = field(None, doc="trace format")
    learning: Learning | None = field(None, doc="learning-engine limits")
    models: Models | None = field(None, doc="neuron models and synapse types")
    rules: dict | None = field(None, doc="rule family -> {mode, reason, source}")
    energy: Energy | None = field(None, doc="energy per operation (check --estimate)")
    timing: Timing | None = field(None, doc="time per operation (check --estimate)")
    type: str = field(FORMAT_TYPE, check=one_of(FORMAT_TYPE), doc="always neurolearn.profile")
    version: int = field(FORMAT_VERSION, check=one_of(FORMAT_VERSION), doc="format version")

    def validate(self, path):
        for lo, hi in (("weights.exponent_min", "weights.exponent_max"),
                       ("learning.mantissa_min", "learning.mantissa_max"),
                       ("learning.exponent_min", "learning.exponent_max")):
            a, b = self.get(lo), self.get(hi)
            if a is not None and b is not None and a > b:
                raise SpecError(f"must be at least {lo} ({a}), got {b}", f"{hi}.value")
        w, acc = self.get("weights.bits"), self.get("learning.accumulator_bits")
        if w is not None and acc is not None and acc < w:
            raise SpecError(f"must be at least weights.bits ({w}): the accumulator holds a "
                            f"weight, got {acc}", "learning.accumulator_bits.value")
        if self.rules is None:
            return
        from ..rules.schema import from_dict
        out = {}
        for family, entry in self.rules.items():
            fpath = f"{path}.rules.{family}" if path else f"rules.{family}"
            if family not in RULE_FAMILIES:
                raise SpecError(f"unknown rule family (expected one of "
                                f"{', '.join(RULE_FAMILIES)})", fpath)
            out[family] = from_dict(Support, entry, fpath)
        self.rules = out

    def get(self, dotted: str):
        """The value of figure ``section.name`` (None when unknown or absent)."""
        section, name = dotted.split(".")
        sec = getattr(self, section)
        fig = None if sec is None else getattr(sec, name)
        return None if fig is None else fig.value

    def source(self, dotted: str) -> str:
        section, name = dotted.split(".")
        sec = getattr(self, section)
        fig = None if sec is None else getattr(sec, name)
        return "" if fig is None else fig.source

    def support(self, family: str) -> Support | None:
        return (self.rules or {}).get(family)


# ---- loading -------------------------------------------------------------------------

def _builtin_dir():
    return resources.files("neurolearn.hardware") / "profiles"


def builtin_names() -> list[str]:
    """Names of the profiles shipped with neurolearn."""
    try:
        entries = list(_builtin_dir().iterdir())
    except (FileNotFoundError, NotADirectoryError):  # pragma: no cover - broken install
        return []
    return sorted(e.name[:-5] for e in entries if e.name.endswith(".toml"))


def _is_file_name(text: str) -> bool:
    """Whether ``text`` names an existing file; a name the system refuses (too long)
    names none (Path.exists raises ENAMETOOLONG on Python 3.10)."""
    try:
        return Path(text).exists()
    except OSError:
        return False


def load_profile(name_or_path) -> Profile:
    """A profile by built-in name (``loihi2``) or by path to a .toml/.json file."""
    text = str(name_or_path)
    if isinstance(name_or_path, Profile):
        return name_or_path
    looks_like_path = any(s in text for s in ("/", "\\")) or text.endswith((".toml", ".json"))
    if looks_like_path or _is_file_name(text) and not text.isidentifier():
        path = Path(text)
        if not _is_file_name(text):
            raise SpecError("no such profile file", source=text)
        return load(path, cls=Profile)
    if text not in builtin_names():
        raise SpecError(f"unknown profile {text!r} (built-in: {', '.join(builtin_names())}; "
                        f"or give a path to a .toml file)", "--profile")
    res = _builtin_dir() / f"{text}.toml"
    from ..rules.io import loads
    return loads(res.read_text(encoding="utf-8"), "toml", Profile, source=f"{text}.toml")


def parse_profile(data: dict, source: str | None = None) -> Profile:
    return parse(Profile, data, source)


def widths_of(profile: Profile) -> EngineWidths:
    """The engine widths of a profile; a figure the profile does not know is an error."""
    need = {"weights.bits": "weight_bits", "traces.bits": "trace_bits",
            "learning.accumulator_bits": "accumulator_bits",
            "learning.mantissa_bits": "mantissa_bits", "learning.mantissa_min": "mantissa_min",
            "learning.mantissa_max": "mantissa_max", "learning.exponent_min": "exponent_min",
            "learning.exponent_max": "exponent_max"}
    kwargs = {}
    for fig, arg in need.items():
        v = profile.get(fig)
        if v is None:
            raise SpecError(f"the quantized reference needs {fig}, which profile "
                            f"{profile.name!r} does not know", fig, source=profile.name)
        kwargs[arg] = v
    frac = profile.get("traces.fraction_bits")
    if frac is not None:
        kwargs["trace_frac_bits"] = frac
    return EngineWidths(**kwargs)
