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


def half_open_unit_interval(v):
    if not (0.0 < v <= 1.0):
        return f"must be in (0, 1], got {v!r}"
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
            raise SpecError(f"must be {_type_name(tp)}, got {_short(value)}", name, node=node)
        (item,) = typing.get_args(tp)
        return [_check_type(item, v, f"{name}[{i}]", node) for i, v in enumerate(value)]
    if origin in (dict, typing.Dict):
        if not isinstance(value, dict):
            raise SpecError(f"must be a table, got {_short(value)}", name, node=node)
        return value
    if isinstance(tp, type) and (issubclass(tp, Node) or _is_union_base(tp)):
        if not isinstance(value, tp):
            raise SpecError(f"must be {_type_name(tp)} ({tp.__name__}), got "
                            f"{_short(value)}", name, node=node)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(f"must be true or false, got {_short(value)}", name, node=node)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"must be an integer, got {_short(value)}", name, node=node)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"must be a number, got {_short(value)}", name, node=node)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(f"must be a string, got {_short(value)}", name, node=node)
        return value
    return value


def _short(value, limit: int = 80) -> str:
    """repr of an offending value, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
            raise SpecError(f"must be {_type_name(tp)}, got {_short(value)}", path)
        (item,) = typing.get_args(tp)
        return [_coerce(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if _is_union_base(tp):
        return _from_union(tp, value, path)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _from_union(base, data, path: str):
    if isinstance(data, base):
        return data
    if not isinstance(data, dict):
        raise SpecError(f"must be a table, got {_short(data)}", path)
    tag = base.tag
    if tag not in data:
        raise SpecError(f"is required (one of {', '.join(map(repr, base.registry))})",
                        _join(path, tag))
    cls = base.registry.get(data[tag]) if isinstance(data[tag], str) else None
    if cls is None:
        raise SpecError(f"must be one of {', '.join(map(repr, base.registry))}, got "
                        f"{_short(data[tag])}", _join(path, tag))
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
        raise SpecError(f"must be a table, got {_short(data)}", path)
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    tag = getattr(cls, "tag", None)
    if tag is not None and tag not in fields and tag in data:
        # a union member read on its own: its tag must name it
        if data[tag] != getattr(cls, tag):
            raise SpecError(f"must be {getattr(cls, tag)!r}, got {_short(data[tag])}",
                            _join(path, tag))
        data = {k: v for k, v in data.items() if k != tag}
    unknown = sorted(k for k in data if k not in fields)
    if unknown:
        raise SpecError(f"unknown field (expected one of {', '.join(fields)})",
                        _join(path, str(unknown[0])[:40]))
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
