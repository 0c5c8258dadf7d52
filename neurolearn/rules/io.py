"""Load and save specs as TOML or JSON, with errors that name the file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import SpecError, cut
from . import limits
from .ir import Spec
from .schema import from_dict, to_dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib


def _format_of(path: Path, fmt: str | None) -> str:
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt not in ("toml", "json"):
        raise SpecError(f"unknown spec format {fmt!r}: use a .toml or .json file",
                        source=path.name)
    return fmt


V1_MIGRATION = ("format version 1 is no longer read: in version 2 a rule's eta is per "
                "example (averaged over its plastic steps) and training.batch_size and "
                "momentum hold in every mode, so version-1 time-stepped specs would learn "
                "differently; rule.t_epoch is gone (use training.batch_size). Multiply a "
                "time-stepped eta by the number of plastic steps per example, set "
                "version = 2 (docs/format.md, 'From version 1')")


def parse(cls, data: dict, source: str | None = None):
    """Validate plain data as ``cls``; errors carry ``source`` as their file name."""
    if cls is Spec and isinstance(data, dict) and data.get("version") == 1:
        raise SpecError(V1_MIGRATION, "version", source)
    try:
        return from_dict(cls, data)
    except SpecError as err:
        raise err.with_source(source) from None


def _depth(data) -> int:
    """Nesting depth of parsed data, without recursion (it may be 2,000 deep)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, d)
            if d > limits.MAX_NESTING:
                return d
            stack.extend((v, d + 1) for v in node)
    return deepest


def loads(text: str, fmt: str = "toml", cls=Spec, source: str | None = None):
    if len(text) > limits.MAX_FILE_BYTES:
        raise SpecError(f"is {len(text):,} characters; a spec or profile holds at most "
                        f"{limits.MAX_FILE_BYTES:,} (limit MAX_FILE_BYTES)", source=source)
    try:
        data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise SpecError(f"not valid {fmt.upper()}: {cut(err, 200)}", source=source) from None
    except RecursionError:
        raise SpecError(f"not valid {fmt.upper()}: nested deeper than the parser can read "
                        f"(Python's recursion limit); a spec nests at most "
                        f"{limits.MAX_NESTING} levels (limit MAX_NESTING)",
                        source=source) from None
    except ValueError as err:  # e.g. an integer of more than 4,300 digits
        raise SpecError(f"not valid {fmt.upper()}: {cut(err, 200)}", source=source) from None
    if _depth(data) > limits.MAX_NESTING:
        raise SpecError(f"nested more than {limits.MAX_NESTING} levels deep (limit "
                        f"MAX_NESTING: no spec or profile nests deeper than 6)",
                        source=source)
    return parse(cls, data, source)


def load(path, cls=Spec, fmt: str | None = None):
    """Read a spec (or any IR node, given ``cls``) from a .toml or .json file."""
    path = Path(path)
    fmt = _format_of(path, fmt)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limits.MAX_FILE_BYTES + 1)
    except OSError as err:
        raise SpecError(f"cannot read: {err.strerror}", source=str(path)) from None
    if len(raw) > limits.MAX_FILE_BYTES:
        raise SpecError(f"is larger than {limits.MAX_FILE_BYTES:,} bytes; a spec or profile "
                        f"is a few KB of text (limit MAX_FILE_BYTES)", source=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"not UTF-8 text: byte 0x{raw[err.start]:02x} at offset "
                        f"{err.start:,}", source=str(path)) from None
    return loads(text, fmt, cls, source=path.name)


def dumps(obj, fmt: str = "toml") -> str:
    data = to_dict(obj)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    import tomli_w
    return tomli_w.dumps(data)


def save(obj, path, fmt: str | None = None) -> Path:
    """Write ``obj`` atomically: a failed write leaves an existing file as it was."""
    from ..outputs import write_atomic
    path = Path(path)
    return write_atomic(path, dumps(obj, _format_of(path, fmt)))
