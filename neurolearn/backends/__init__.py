"""Backend registry. The core never imports a backend package at import time.

Each backend is a module ``neurolearn.backends.<name>`` (a package folder) exposing

    run(spec, *, precision="float", epochs=None, quiet=None, **options) -> RunResult
    capabilities() -> dict  # rules, neuron models, precisions, and why not the rest

and raising :class:`~neurolearn.errors.UnsupportedRule` for what it cannot run.
"""

from __future__ import annotations

import importlib

from ..errors import BackendUnavailable, NeurolearnError

# name -> (module, pip extra, the third-party module whose absence means "not installed")
BACKENDS = {
    "numpy": ("neurolearn.backends.numpy", "core", None),
    "lava": ("neurolearn.backends.lava", "lava", "lava"),
    "nengo": ("neurolearn.backends.nengo", "nengo", "nengo"),
    "nengo-loihi": ("neurolearn.backends.nengo_loihi", "nengo", "nengo_loihi"),
}


def names() -> list[str]:
    return list(BACKENDS)


def is_installed(name: str) -> bool:
    dep = BACKENDS[name][2]
    if dep is None:
        return True
    return importlib.util.find_spec(dep) is not None


def get(name: str):
    """The backend module, or a clear error naming the extra to install."""
    if name not in BACKENDS:
        raise NeurolearnError(f"unknown backend {name!r} (known: {', '.join(BACKENDS)})")
    module, extra, dep = BACKENDS[name]
    if dep is not None and not is_installed(name):
        raise BackendUnavailable(name, extra, f"module {dep!r} not found")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if dep is not None and err.name and err.name.split(".")[0] == dep:
            raise BackendUnavailable(name, extra, str(err)) from None
        raise
