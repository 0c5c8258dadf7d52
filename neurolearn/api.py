"""The Python API; the command line is a thin layer over it."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from . import backends
from .errors import SpecError
from .rules import Spec
from .rules import load as load_spec
from .rules.schema import field_check


def as_spec(spec) -> Spec:
    return spec if isinstance(spec, Spec) else load_spec(Path(spec))


def _source_of(spec) -> str | None:
    return None if spec is None or isinstance(spec, Spec) else Path(spec).name


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


def _override(spec: Spec, **changes) -> Spec:
    """spec with training.<name> = value for each given change, checked exactly like
    the spec field (the error names the option)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    for name, value in changes.items():
        reason = field_check(type(spec.training), name)(value)
        if reason:
            raise SpecError(reason, f"--{name}")
    if not changes:
        return spec
    return spec.with_(training=type(spec.training)(**{**vars(spec.training), **changes}))


def run(spec=None, backend: str = "numpy", *, seed: int | None = None,
        epochs: int | None = None, precision: str = "float", quiet: bool | None = None,
        save=None, resume=None, init_from=None, **options):
    """Train or simulate ``spec`` (a Spec or a path) on ``backend``; a RunResult.

    ``seed`` and ``epochs`` override the spec's and are checked like its fields. A
    network whose memory (a lower bound, estimated before anything is allocated)
    exceeds what this machine has free is refused (neurolearn.rules.limits).
    ``save=DIR`` writes a checkpoint every epoch (batched trainer; the final weights
    of a time-stepped run); ``resume=DIR`` continues a checkpoint to the spec's
    epochs (or ``epochs``), bit-identical to a run never stopped; ``init_from=DIR``
    starts from a trained network, and with ``epochs=0`` only evaluates it (with
    ``precision="fixed"`` quantised to a profile's weight grid). See docs/deploy.md.
    """
    from .rules.limits import check_memory
    source = _source_of(spec)
    if save is not None or resume is not None or init_from is not None or \
            (epochs is not None and epochs <= 0):
        from .deploy.run import run as deploy_run
        if spec is not None:
            spec = _override(as_spec(spec), seed=seed, epochs=epochs or None)
        elif seed is not None and resume is not None:
            raise SpecError("a resumed run keeps its checkpoint's seed", "--seed")
        if spec is None and resume is None and init_from is None:
            raise SpecError("give a spec (or --resume DIR / --init-from DIR)", "spec")
        if init_from is not None and spec is None and seed is not None:
            from .deploy.trained import load as load_trained
            spec = _override(load_trained(init_from).spec, seed=seed)
        with sourced(source):
            if spec is not None:
                check_memory(spec)
            return deploy_run(spec, backend, epochs=epochs, precision=precision,
                              quiet=quiet, save=save, resume=resume, init_from=init_from,
                              **options)
    spec = _override(as_spec(spec), seed=seed, epochs=epochs)
    mod = backends.get(backend)
    with sourced(source):
        check_memory(spec)
        return mod.run(spec, precision=precision, epochs=epochs, quiet=quiet, **options)


def run_seeds(spec, backend: str = "numpy", seeds=(0,), *, epochs: int | None = None,
              precision: str = "float", quiet: bool | None = None, **options) -> list:
    """``run(spec, backend, seed=s, ...)`` for each of ``seeds``, one RunResult each,
    bit-identical to those runs; on a backend with a ``run_members`` hook (numpy: one
    vectorised time-stepped run) they run together."""
    seeds = list(seeds)
    return _together([as_spec(spec)] * len(seeds), backend, seeds, _source_of(spec),
                     epochs=epochs, precision=precision, quiet=quiet, **options)


def run_members(specs, backend: str = "numpy", seeds=(0,), *, epochs: int | None = None,
                precision: str = "float", quiet: bool | None = None, **options) -> list:
    """``run(specs[i], backend, seed=seeds[i], ...)`` for each member, one RunResult
    each, bit-identical to those runs; on a backend with a ``run_members`` hook (numpy:
    time-stepped specs that differ only in ``rule.eta``, ``rule.eta_output``,
    ``training.lr_decay``, ``training.momentum`` and the seed, e.g. a sweep over
    learning rates) they run together."""
    specs, seeds = list(specs), list(seeds)
    if len(specs) != len(seeds) or not specs:
        raise ValueError(f"run_members: one spec per seed, got {len(specs)} specs and "
                         f"{len(seeds)} seeds")
    return _together([as_spec(sp) for sp in specs], backend, seeds, _source_of(specs[0]),
                     epochs=epochs, precision=precision, quiet=quiet, **options)


def _together(specs, backend, seeds, source, *, epochs, precision, quiet, **options):
    from .rules.limits import check_memory
    for sp, s in zip(specs, seeds):
        _override(sp, seed=s)  # each seed checked like --seed
    hook = getattr(backends.get(backend), "run_members", None)
    deploys = {"save", "resume", "init_from"} & {k for k, v in options.items() if v is not None}
    if hook is None or len(seeds) < 2 or deploys or (epochs is not None and epochs <= 0):
        with sourced(source):
            return [run(sp, backend, seed=s, epochs=epochs, precision=precision,
                        quiet=quiet, **options) for sp, s in zip(specs, seeds)]
    specs = [_override(sp, seed=s, epochs=epochs) for sp, s in zip(specs, seeds)]
    with sourced(source):
        check_memory(specs[0], copies=len(seeds))
        return hook(specs, seeds, precision=precision, epochs=epochs, quiet=quiet,
                    **options)


def load(path):
    """A trained network (a checkpoint directory: :class:`neurolearn.deploy.TrainedNetwork`)
    or a spec (a .toml/.json file: :class:`neurolearn.rules.Spec`)."""
    if Path(path).is_dir():
        from .deploy.trained import load as load_trained
        return load_trained(path)
    return load_spec(path)
