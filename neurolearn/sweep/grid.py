"""The tasks of a sweep: the cross product of settings x backends x seeds.

A setting is one value per ``--set`` path. Each task carries the spec's plain dict
with its setting applied (validated here, in the client, before anything runs) and a
key: a stable hash of (spec dict, setting, backend, seed, precision, options), which
names its report file and lets ``--resume`` skip it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field

from ..errors import SpecError
from ..rules import overrides
from ..rules.schema import to_dict


@dataclass(frozen=True)
class Task:
    key: str
    spec: dict                  # the spec with the setting applied (plain data)
    setting: tuple              # ((path, value), ...) in --set order
    backend: str
    seed: int
    precision: str = "float"
    options: dict = field(default_factory=dict)

    def payload(self, save_weights: bool = False) -> dict:
        """What a worker receives (plain data only, so any worker can unpickle it)."""
        return {"key": self.key, "spec": self.spec, "setting": dict(self.setting),
                "backend": self.backend, "seed": self.seed, "precision": self.precision,
                "options": dict(self.options), "save_weights": save_weights}


def parse_seeds(text: str) -> list[int]:
    """``0-9``, ``0,3,5-7`` -> sorted distinct seeds."""
    seeds: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise SpecError(f"expected seeds like 0-9 or 0,3,5-7, got {text!r}",
                            source="--seeds")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        seeds.update(range(lo, hi + 1))
    return sorted(seeds)


def parse_sets(texts) -> list[tuple[str, list]]:
    """``--set`` options of a sweep: [(path, [values...]), ...]; a path once."""
    out, seen = [], set()
    for text in texts or []:
        path, values = overrides.parse_assignment(text)
        if path in seen:
            raise SpecError("set twice (give all its values in one --set)", path,
                            overrides.OPTION)
        if path == "training.seed":
            raise SpecError("seeds are swept with --seeds", path, overrides.OPTION)
        seen.add(path)
        out.append((path, values))
    return out


def task_key(spec: dict, setting: tuple, backend: str, seed: int, precision: str,
             options: dict) -> str:
    blob = json.dumps({"spec": spec, "setting": [list(kv) for kv in setting],
                       "backend": backend, "seed": seed, "precision": precision,
                       "options": options}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def settings(sets) -> list[tuple]:
    """Every setting of the cross product, in --set order (the last path varies
    fastest)."""
    paths = [p for p, _ in sets]
    return [tuple(zip(paths, combo)) for combo in itertools.product(*[v for _, v in sets])]


def expand(spec, sets, backends, seeds, precision: str = "float",
           options: dict | None = None) -> list[Task]:
    """All tasks; every setting is validated against the spec schema first."""
    options = dict(options or {})
    tasks = []
    for setting in settings(sets):
        changed = overrides.apply(spec, list(setting))
        data = to_dict(changed)
        for backend in backends:
            for seed in seeds:
                key = task_key(data, setting, backend, seed, precision, options)
                tasks.append(Task(key, data, setting, backend, seed, precision, options))
    return tasks
