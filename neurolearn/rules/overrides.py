"""``--set PATH=VALUE`` overrides of a spec, validated like a spec field.

A path names a field of the spec's plain-dict form (``schema.to_dict``) with dots and
list indices: ``rule.eta``, ``network.layers[1].size``,
``network.layers[1].neuron.tau_rc``. A value is read with TOML's rules (``0.01``,
``200``, ``true``, ``"text"``, ``[1, 2]``, ``{ model = "lif" }``); a bare word that is
not TOML (``random``) is taken as a string. The changed dict goes back through
``schema.from_dict``, so a bad path or value raises the same one-line SpecError as a
bad field in a spec file, with ``--set`` as its source.
"""

from __future__ import annotations

import copy
import re
import sys

from ..errors import SpecError
from .ir import Spec
from .schema import from_dict, to_dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib

OPTION = "--set"
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def parse_path(path: str) -> list:
    """``network.layers[1].size`` -> ``["network", "layers", 1, "size"]``."""
    keys: list = []
    for part in path.split("."):
        m = _STEP.fullmatch(part)
        if not m:
            raise SpecError("not a field path (expected e.g. rule.eta or "
                            "network.layers[1].size)", path, OPTION)
        keys.append(m.group(1))
        keys.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return keys


def parse_value(text: str):
    """One value with TOML's rules; a bare word that is not TOML is a string."""
    text = text.strip()
    if not text:
        raise SpecError("empty value", source=OPTION)
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", text):
            return text
        raise SpecError(f"not a TOML value: {text!r}", source=OPTION) from None


def split_values(text: str) -> list[str]:
    """Split ``0.01,0.02`` at top-level commas (not inside [], {} or quotes)."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_assignment(text: str) -> tuple[str, list]:
    """``PATH=V1,V2`` -> (path, [values]); the path is checked for syntax only."""
    path, eq, values = text.partition("=")
    path = path.strip()
    if not eq or not path:
        raise SpecError(f"expected PATH=VALUE[,VALUE...], got {text!r}", source=OPTION)
    parse_path(path)
    try:
        return path, [parse_value(v) for v in split_values(values)]
    except SpecError as err:
        raise SpecError(err.reason, path, OPTION) from None


def set_path(data: dict, path: str, value) -> dict:
    """A deep copy of ``data`` with ``value`` at ``path`` (missing tables are created;
    the schema then names a field that does not exist)."""
    keys = parse_path(path)
    out = copy.deepcopy(data)
    node = out
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        where = _render(keys[:i + 1])
        if isinstance(key, int):
            if not isinstance(node, list):
                raise SpecError("is not a list", _render(keys[:i]), OPTION)
            if key >= len(node):
                raise SpecError(f"index out of range (the list has {len(node)} items)",
                                where, OPTION)
        elif not isinstance(node, dict):
            raise SpecError("is not a table", _render(keys[:i]), OPTION)
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and key not in node:
                node[key] = [] if isinstance(keys[i + 1], int) else {}
            node = node[key]
    return out


def _render(keys: list) -> str:
    s = ""
    for k in keys:
        s += f"[{k}]" if isinstance(k, int) else (f".{k}" if s else k)
    return s


def apply(spec: Spec, assignments, source: str = OPTION) -> Spec:
    """``spec`` with every (path, value) of ``assignments`` set, re-validated."""
    data = to_dict(spec)
    for path, value in (assignments.items() if isinstance(assignments, dict)
                        else assignments):
        data = set_path(data, path, value)
    try:
        return from_dict(Spec, data)
    except SpecError as err:
        raise err.with_source(source) from None


def single_values(texts, command: str) -> dict:
    """``--set`` of ``run`` / ``compare``: one value per path."""
    out = {}
    for text in texts or []:
        path, values = parse_assignment(text)
        if len(values) != 1:
            raise SpecError(f"takes one value in '{command}' (several values: use "
                            f"'neurolearn sweep')", path, OPTION)
        if path in out:
            raise SpecError("set twice", path, OPTION)
        out[path] = values[0]
    return out
