"""Load and save specs as TOML or JSON, with errors that name the file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..errors import SpecError
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


def loads(text: str, fmt: str = "toml", cls=Spec, source: str | None = None):
    try:
        data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise SpecError(f"not valid {fmt.upper()}: {err}", source=source) from None
    return parse(cls, data, source)


def load(path, cls=Spec, fmt: str | None = None):
    """Read a spec (or any IR node, given ``cls``) from a .toml or .json file."""
    path = Path(path)
    fmt = _format_of(path, fmt)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(f"cannot read: {err.strerror}", source=str(path)) from None
    return loads(text, fmt, cls, source=path.name)


def dumps(obj, fmt: str = "toml") -> str:
    data = to_dict(obj)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    import tomli_w
    return tomli_w.dumps(data)


def save(obj, path, fmt: str | None = None) -> Path:
    """Write ``obj`` atomically: a failed write leaves an existing file as it was."""
    path = Path(path)
    text = dumps(obj, _format_of(path, fmt))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
