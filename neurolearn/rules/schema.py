"""Typed dataclass <-> plain dict conversion with validation that names the field.

Every IR node is a dataclass whose fields carry their type annotation and, where
needed, a ``check`` in the field metadata. ``from_dict`` walks the annotation, so a
wrong type, an unknown key or a failed check raises one :class:`SpecError` with the
dotted field path (``network.layers[1].size``). ``to_dict`` is its exact inverse:
``from_dict(T, to_dict(x)) == x`` for every node (TOML has no null, so ``None``
fields are left out and come back as their default, which is ``None``).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Callable

from ..errors import SpecError

Check = Callable[[Any], "str | None"]


def field(default=dataclasses.MISSING, *, check: Check | None = None,
          default_factory=dataclasses.MISSING, doc: str = ""):
    """A dataclass field with an optional validation ``check`` and a doc line."""
    meta = {"check": check, "doc": doc}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ---- reusable checks: each returns an error reason or None -----------------

def positive_int(v):
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        return f"must be a positive integer, got {v!r}"
    return None


def non_negative_int(v):
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        return f"must be a non-negative integer, got {v!r}"
    return None


def positive(v):
    if not (v > 0) or not math.isfinite(v):
        return f"must be a positive number, got {v!r}"
    return None


def non_negative(v):
    if not (v >= 0) or not math.isfinite(v):
        return f"must be a non-negative number, got {v!r}"
    return None


def finite(v):
    if not math.isfinite(v):
        return f"must be a finite number, got {v!r}"
    return None


def unit_interval(v):
    if not (0.0 <= v <= 1.0):
        return f"must be in [0, 1], got {v!r}"
    return None


def open_unit_interval(v):
    if not (0.0 < v < 1.0):
        return f"must be in (0, 1), got {v!r}"
    return None


def one_of(*choices: str) -> Check:
    def check(v):
        if v not in choices:
            return f"must be one of {', '.join(map(repr, choices))}, got {v!r}"
        return None
    return check


def optional(check: Check) -> Check:
    return lambda v: None if v is None else check(v)


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
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {int: "an integer", float: "a number", str: "a string",
            bool: "true or false", dict: "a table"}.get(tp, str(tp))


def _coerce(tp, value, path: str):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, path)
    if origin in (list, typing.List):
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"must be {_type_name(tp)}, got {value!r}", path)
        (item,) = typing.get_args(tp)
        return [_coerce(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, typing.Dict):
        if not isinstance(value, dict):
            raise SpecError(f"must be a table, got {value!r}", path)
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(f"must be true or false, got {value!r}", path)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"must be an integer, got {value!r}", path)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"must be a number, got {value!r}", path)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(f"must be a string, got {value!r}", path)
        return value
    return value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def from_dict(cls, data, path: str = ""):
    """Build dataclass ``cls`` from a plain dict, validating every field."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise SpecError(f"must be a table, got {data!r}", path)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise SpecError(f"unknown field (expected one of {', '.join(fields)})",
                        _join(path, unknown[0]))
    kwargs = {}
    for name, f in fields.items():
        fpath = _join(path, name)
        if name in data:
            value = _coerce(hints[name], data[name], fpath)
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            raise SpecError("is required", fpath)
        check = f.metadata.get("check")
        if check is not None and value is not None:
            reason = check(value)
            if reason:
                raise SpecError(reason, fpath)
        kwargs[name] = value
    obj = cls(**kwargs)
    post = getattr(obj, "validate", None)
    if post is not None:
        post(path)
    return obj


def to_dict(obj) -> Any:
    """The plain-data form of a dataclass tree (``None`` fields omitted)."""
    if dataclasses.is_dataclass(obj):
        out = {}
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
    hints = typing.get_type_hints(cls)
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
