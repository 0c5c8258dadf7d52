"""Typed IR nodes: validation at construction, and plain dict conversion.

Every IR node is a dataclass deriving from :class:`Node` whose fields carry their
type annotation and, where needed, a ``check`` in the field metadata. A node checks
its own fields when it is constructed (``__post_init__``), so a spec built in Python
is validated exactly like a loaded one: a wrong type or a failed check raises one
:class:`SpecError` with the reason and the field. ``from_dict`` builds the tree from
plain data (TOML/JSON), turning sub-tables into nodes, and prefixes an error with
the dotted field path (``network.layers[1].size``). ``to_dict`` is its exact
inverse: ``from_dict(T, to_dict(x)) == x`` for every node (TOML has no null, so
``None`` fields are left out and come back as their default, which is ``None``).

A field annotated with a *union base* (a class with a ``registry`` of subclasses
keyed by a ``tag`` field, like the neuron models) is a tagged union: the sub-table's
tag field picks the class.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Callable

from ..errors import SpecError, cut, shorten
from . import limits

Check = Callable[[Any], "str | None"]


def field(default=dataclasses.MISSING, *, check: Check | None = None,
          default_factory=dataclasses.MISSING, doc: str = ""):
    """A dataclass field with an optional validation ``check`` and a doc line."""
    meta = {"check": check, "doc": doc}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ---- reusable checks: each returns an error reason or None -----------------
# Offending values are shown cut to a sane length (errors.shorten); bounds come
# from neurolearn.rules.limits, each named in the message.

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _limit(v) -> str:
    return f"{v:,}" if _is_int(v) else f"{v:g}"


def positive_int(v):
    if not _is_int(v) or v <= 0:
        return f"must be a positive integer, got {shorten(v)}"
    return None


def non_negative_int(v):
    if not _is_int(v) or v < 0:
        return f"must be a non-negative integer, got {shorten(v)}"
    return None


def positive(v):
    if not (v > 0) or not math.isfinite(v):
        return f"must be a positive number, got {shorten(v)}"
    return None


def non_negative(v):
    if not (v >= 0) or not math.isfinite(v):
        return f"must be a non-negative number, got {shorten(v)}"
    return None


def finite(v):
    if not math.isfinite(v):
        return f"must be a finite number, got {shorten(v)}"
    return None


def unit_interval(v):
    if not (0.0 <= v <= 1.0):
        return f"must be in [0, 1], got {shorten(v)}"
    return None


def half_open_unit_interval(v):
    if not (0.0 < v <= 1.0):
        return f"must be in (0, 1], got {v!r}"
    return None


def open_unit_interval(v):
    if not (0.0 < v < 1.0):
        return f"must be in (0, 1), got {shorten(v)}"
    return None


def int_in(lo: int, hi: int, why: str) -> Check:
    """An integer in [lo, hi]; ``why`` names the upper limit's reason."""
    def check(v):
        if not _is_int(v) or v < lo:
            kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
                lo, f"an integer >= {_limit(lo)}")
            return f"must be {kind}, got {shorten(v)}"
        if v > hi:
            return f"must be at most {_limit(hi)} ({why}), got {shorten(v)}"
        return None
    return check


def int_below(hi: int, why: str) -> Check:
    """A non-negative integer < hi (seeds: < 2**32)."""
    def check(v):
        if not _is_int(v) or v < 0:
            return f"must be a non-negative integer, got {shorten(v)}"
        if v >= hi:
            return f"must be below {_limit(hi)} ({why}), got {shorten(v)}"
        return None
    return check


def number_in(lo: float, hi: float, why: str, *, lo_open: bool = False) -> Check:
    """A finite number in [lo, hi] (or (lo, hi] with ``lo_open``)."""
    def check(v):
        if not math.isfinite(v) or (v <= lo if lo_open else v < lo):
            what = ("a positive number" if lo == 0 and lo_open else
                    "a non-negative number" if lo == 0 else
                    f"a number {'>' if lo_open else '>='} {_limit(lo)} ({why})")
            return f"must be {what}, got {shorten(v)}"
        if v > hi:
            return f"must be at most {_limit(hi)} ({why}), got {shorten(v)}"
        return None
    return check


def magnitude(hi: float, why: str) -> Check:
    """A finite number with |v| <= hi."""
    def check(v):
        if not math.isfinite(v):
            return f"must be a finite number, got {shorten(v)}"
        if abs(v) > hi:
            return f"must be within +-{_limit(hi)} ({why}), got {shorten(v)}"
        return None
    return check


def text(max_chars: int) -> Check:
    def check(v):
        if len(v) > max_chars:
            return f"must be at most {max_chars:,} characters, got {len(v):,}"
        return None
    return check


def identifier(v):
    if len(v) > limits.MAX_NAME_CHARS:
        return f"must be at most {limits.MAX_NAME_CHARS} characters, got {len(v):,}"
    if not v.isidentifier():
        return f"must be an identifier, got {shorten(v)}"
    return None


def length(lo: int, hi: int, what: str) -> Check:
    def check(v):
        if len(v) < lo:
            return f"needs at least {lo} {what}, got {len(v)}"
        if len(v) > hi:
            return f"holds at most {hi:,} {what}, got {len(v):,}"
        return None
    return check


def all_of(*checks: Check) -> Check:
    def check(v):
        for c in checks:
            reason = c(v)
            if reason:
                return reason
        return None
    return check


def list_of(what: str) -> Check:
    """A list no longer than its limit in neurolearn.rules.limits (MAX_<WHAT>)."""
    hi = getattr(limits, f"MAX_{what.upper()}")
    return length(0, hi, what)


# ---- the bounded checks of spec fields (limits.py says why each bound exists) ---------

_MAGNITUDE = "limit MAX_MAGNITUDE: float64 activities and updates overflow beyond it"
_TIME = ("limit MAX_TIME_CONSTANT: neural time constants span ms to minutes; an hour "
         "bounds them")
bounded = magnitude(limits.MAX_MAGNITUDE, _MAGNITUDE)
bounded_non_negative = number_in(0.0, limits.MAX_MAGNITUDE, _MAGNITUDE)
bounded_positive = number_in(0.0, limits.MAX_MAGNITUDE, _MAGNITUDE, lo_open=True)
time_constant = number_in(0.0, limits.MAX_TIME_CONSTANT, _TIME, lo_open=True)
refractory = number_in(0.0, limits.MAX_TIME_CONSTANT, _TIME)
layer_size = int_in(1, limits.MAX_LAYER_SIZE, "limit MAX_LAYER_SIZE: 100x the neurons of "
                    "a Loihi 2 chip, beyond a dense float64 projection on one host")
example_count = int_in(1, limits.MAX_EXAMPLES, "limit MAX_EXAMPLES")
epochs_check = int_in(1, limits.MAX_EPOCHS, "limit MAX_EPOCHS; use --time-limit for a "
                      "wall-clock bound")
batch_size_check = int_in(1, limits.MAX_BATCH_SIZE, "limit MAX_BATCH_SIZE")
seed_check = int_below(limits.SEED_LIMIT, "nengo and Lava seed with unsigned 32-bit "
                       "integers")
t_epoch_check = int_in(1, limits.MAX_T_EPOCH, "limit MAX_T_EPOCH: learning epochs of "
                       "known engines have <= 16 bits")
dt_check = number_in(limits.MIN_DT, limits.MAX_DT, "limits MIN_DT = 1 us, MAX_DT = 1 s: "
                     "neural dynamics need no finer step")
rate_check = number_in(0.0, limits.MAX_RATE_HZ, "limit MAX_RATE_HZ: neurons fire below "
                       "~1 kHz", lo_open=True)
name_text = text(limits.MAX_NAME_CHARS)
free_text = text(limits.MAX_TEXT_CHARS)


def one_of(*choices: str) -> Check:
    def check(v):
        if v not in choices:
            return f"must be one of {', '.join(map(repr, choices))}, got {shorten(v)}"
        return None
    return check


def optional(check: Check) -> Check:
    return lambda v: None if v is None else check(v)


# ---- nodes ------------------------------------------------------------------

def _is_union_base(tp) -> bool:
    return isinstance(tp, type) and "registry" in vars(tp)


class Node:
    """Base of every IR node: checks its own fields when constructed.

    Sub-classes are dataclasses; cross-field rules go in ``validate(path)``, which
    raises SpecError with paths relative to the node (``path`` is its prefix)."""

    def __post_init__(self):
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            value = _check_type(hints[f.name], value, f.name, type(self).__name__)
            object.__setattr__(self, f.name, value)
            check = f.metadata.get("check")
            if check is not None and value is not None:
                reason = check(value)
                if reason:
                    raise SpecError(reason, f.name, node=type(self).__name__)
        validate = getattr(self, "validate", None)
        if validate is not None:
            try:
                validate("")
            except SpecError as err:
                raise SpecError(err.reason, err.path.lstrip("."),
                                node=type(self).__name__) from None


_HINTS: dict = {}


def _hints(cls) -> dict:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _check_type(tp, value, name: str, node: str):
    """The value if it is of type ``tp`` (ints are accepted as floats), else SpecError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _check_type(args[0], value, name, node)
    if origin in (list, typing.List):
        if not isinstance(value, list):
            raise SpecError(f"must be {_type_name(tp)}, got {shorten(value)}", name, node=node)
        (item,) = typing.get_args(tp)
        return [_check_type(item, v, f"{name}[{i}]", node) for i, v in enumerate(value)]
    if origin in (dict, typing.Dict) or tp is dict:
        if not isinstance(value, dict):
            raise SpecError(f"must be a table, got {shorten(value)}", name, node=node)
        return value
    if isinstance(tp, type) and (issubclass(tp, Node) or _is_union_base(tp)):
        if not isinstance(value, tp):
            raise SpecError(f"must be {_type_name(tp)} ({tp.__name__}), got "
                            f"{shorten(value)}", name, node=node)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(f"must be true or false, got {shorten(value)}", name, node=node)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"must be an integer, got {shorten(value)}", name, node=node)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"must be a number, got {shorten(value)}", name, node=node)
        try:
            return float(value)
        except OverflowError:  # an integer beyond float64 (1.8e308)
            raise SpecError(f"must be a finite number (float64 holds up to 1.8e308), "
                            f"got {shorten(value)}", name, node=node) from None
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(f"must be a string, got {shorten(value)}", name, node=node)
        return value
    return value


# ---- conversion -------------------------------------------------------------

def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return f"optional, {_type_name(args[0])}"
    if origin in (list, typing.List):
        inner = typing.get_args(tp)[0]
        return ("a list of tables" if dataclasses.is_dataclass(inner)
                else f"a list of {_type_name(inner)}")
    if dataclasses.is_dataclass(tp) or _is_union_base(tp):
        return "a table"
    return {int: "an integer", float: "a number", str: "a string",
            bool: "true or false", dict: "a table"}.get(tp, str(tp))


def _coerce(tp, value, path: str):
    """Plain data -> the field's value (sub-tables become nodes)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, path)
    if origin in (list, typing.List):
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"must be {_type_name(tp)}, got {shorten(value)}", path)
        if len(value) > MAX_LIST:
            raise SpecError(f"holds at most {MAX_LIST:,} items, got {len(value):,}", path)
        (item,) = typing.get_args(tp)
        return [_coerce(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if _is_union_base(tp):
        return _from_union(tp, value, path)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float64 (1.8e308)
            raise SpecError(f"must be a finite number (float64 holds up to 1.8e308), "
                            f"got {shorten(value)}", path) from None
    return value


# Machine: no list of a spec or profile (layers, terms, factors, names) is longer;
# fields set tighter bounds of their own.
MAX_LIST = 10_000


def _from_union(base, data, path: str):
    if isinstance(data, base):
        return data
    if not isinstance(data, dict):
        raise SpecError(f"must be a table, got {shorten(data)}", path)
    tag = base.tag
    if tag not in data:
        raise SpecError(f"is required (one of {', '.join(map(repr, base.registry))})",
                        _join(path, tag))
    cls = base.registry.get(data[tag]) if isinstance(data[tag], str) else None
    if cls is None:
        raise SpecError(f"must be one of {', '.join(map(repr, base.registry))}, got "
                        f"{shorten(data[tag])}", _join(path, tag))
    return from_dict(cls, {k: v for k, v in data.items() if k != tag}, path)


def _join(path: str, name: str) -> str:
    if not path or not name:
        return path or name
    return f"{path}{name}" if name.startswith("[") else f"{path}.{name}"


def from_dict(cls, data, path: str = ""):
    """Build node ``cls`` from a plain dict; errors carry the dotted field path."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise SpecError(f"must be a table, got {shorten(data)}", path)
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    tag = getattr(cls, "tag", None)
    if tag is not None and tag not in fields and tag in data:
        # a union member read on its own: its tag must name it
        if data[tag] != getattr(cls, tag):
            raise SpecError(f"must be {getattr(cls, tag)!r}, got {shorten(data[tag])}",
                            _join(path, tag))
        data = {k: v for k, v in data.items() if k != tag}
    unknown = sorted(k for k in data if k not in fields)
    if unknown:
        raise SpecError(f"unknown field (expected one of {', '.join(fields)})",
                        _join(path, cut(str(unknown[0]), 40)))
    kwargs = {}
    for name, f in fields.items():
        fpath = _join(path, name)
        if name in data:
            kwargs[name] = _coerce(hints[name], data[name], fpath)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SpecError("is required", fpath)
    try:
        return cls(**kwargs)
    except SpecError as err:
        raise SpecError(err.reason, _join(path, err.path)) from None


def to_dict(obj) -> Any:
    """The plain-data form of a node tree (``None`` fields omitted; a union member
    carries its tag first)."""
    if dataclasses.is_dataclass(obj):
        out = {}
        tag = getattr(type(obj), "tag", None)
        if tag is not None and hasattr(type(obj), tag):
            out[tag] = getattr(type(obj), tag)
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if v is not None:
                out[f.name] = to_dict(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def describe(cls, indent: str = "") -> list[str]:
    """Field reference lines for docs: name, type, default and doc string."""
    hints = _hints(cls)
    lines = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = ("unset" if f.default is None
                       else str(f.default).lower() if isinstance(f.default, bool)
                       else repr(f.default))
        elif f.default_factory is not dataclasses.MISSING:
            default = "see its table"
        else:
            default = "required"
        lines.append(f"{indent}- `{f.name}` ({_type_name(hints[f.name])}, default {default}): "
                     f"{f.metadata.get('doc', '')}")
    return lines


def field_check(cls, name) -> Check:
    """The ``check`` of node ``cls``'s field ``name`` (a CLI option or API argument
    that overrides the field is checked exactly like it)."""
    return {f.name: f for f in dataclasses.fields(cls)}[name].metadata["check"] or \
        (lambda v: None)
