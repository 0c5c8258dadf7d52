"""The Python API; the command line is a thin layer over it."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from . import backends
from .errors import SpecError
from .rules import Spec, load


def as_spec(spec) -> Spec:
    return spec if isinstance(spec, Spec) else load(Path(spec))


def _source_of(spec) -> str | None:
    return None if isinstance(spec, Spec) else Path(spec).name


@contextmanager
def sourced(source: str | None):
    """Errors about spec fields raised inside (a data set that does not fit the
    network, a memory estimate) name the spec file they come from."""
    try:
        yield
    except SpecError as err:
        if source and not err.source and err.path and not err.path.startswith("-"):
            raise err.with_source(source) from None
        raise


def _override(spec: Spec, name: str, value) -> Spec:
    """spec with training.<name> = value, checked exactly like the spec field."""
    from .cli.options import field_check
    reason = field_check(type(spec.training), name)(value)
    if reason:
        raise SpecError(reason, name)
    return spec.with_(training=type(spec.training)(**{**vars(spec.training), name: value}))


def run(spec, backend: str = "numpy", *, seed: int | None = None, epochs: int | None = None,
        precision: str = "float", quiet: bool | None = None, **options):
    """Train or simulate ``spec`` (a Spec or a path) on ``backend``; a RunResult.

    ``seed`` and ``epochs`` override the spec's and are checked like its fields. A
    network whose memory (a lower bound, estimated before anything is allocated)
    exceeds what this machine has free is refused (neurolearn.rules.limits)."""
    from .rules.limits import check_memory
    source = _source_of(spec)
    spec = as_spec(spec)
    if seed is not None:
        spec = _override(spec, "seed", seed)
    if epochs is not None:
        spec = _override(spec, "epochs", epochs)
    mod = backends.get(backend)
    with sourced(source):
        check_memory(spec)
        return mod.run(spec, precision=precision, epochs=epochs, quiet=quiet, **options)
