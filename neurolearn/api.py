"""The Python API; the command line is a thin layer over it."""

from __future__ import annotations

from pathlib import Path

from . import backends
from .rules import Spec, load


def as_spec(spec) -> Spec:
    return spec if isinstance(spec, Spec) else load(Path(spec))


def run(spec, backend: str = "numpy", *, seed: int | None = None, epochs: int | None = None,
        precision: str = "float", quiet: bool | None = None, **options):
    """Train or simulate ``spec`` (a Spec or a path) on ``backend``; a RunResult."""
    spec = as_spec(spec)
    if seed is not None:
        spec = spec.with_(training=type(spec.training)(**{**vars(spec.training), "seed": seed}))
    if epochs is not None:
        spec = spec.with_(training=type(spec.training)(**{**vars(spec.training),
                                                          "epochs": epochs}))
    mod = backends.get(backend)
    return mod.run(spec, precision=precision, epochs=epochs, quiet=quiet, **options)
