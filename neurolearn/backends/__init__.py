"""Backend registry. The core never imports an engine at import time.

Each backend is a package ``neurolearn.backends.<name>`` of one shape (see
:mod:`neurolearn.backends.base`): ``BACKEND`` (a :class:`~.base.Backend`
descriptor), ``lower``, ``simulate``, ``run`` and, where the engine's arithmetic
differs from the reference's, ``emulate``. Importing a backend package imports no
engine; the runtime imports it when it runs.
"""

from __future__ import annotations

import importlib
import importlib.util

from ..errors import BackendUnavailable, NeurolearnError, UnsupportedRule

# name -> package (the descriptor lives in the package's __init__)
PACKAGES = {
    "numpy": "neurolearn.backends.numpy",
    "lava": "neurolearn.backends.lava",
    "nengo": "neurolearn.backends.nengo",
    "nengo-loihi": "neurolearn.backends.nengo_loihi",
    "brian2": "neurolearn.backends.brian2",
}


def names() -> list[str]:
    return list(PACKAGES)


def _check_name(name: str):
    if name not in PACKAGES:
        raise NeurolearnError(f"unknown backend {name!r} (known: {', '.join(PACKAGES)})")


def package(name: str):
    """The backend's package (no engine imported)."""
    _check_name(name)
    return importlib.import_module(PACKAGES[name])


def descriptor(name: str):
    return package(name).BACKEND


def is_installed(name: str) -> bool:
    dep = descriptor(name).requires
    return dep is None or importlib.util.find_spec(dep) is not None


def get(name: str):
    """The backend package, ready to run, or a clear error naming the extra to install."""
    mod = package(name)
    d = mod.BACKEND
    if not is_installed(name):
        raise BackendUnavailable(name, d.extra, f"module {d.requires!r} not found")
    return mod


def capabilities(name: str, precisions=None) -> dict:
    """What ``name`` runs, derived by lowering the conformance catalog
    (:mod:`neurolearn.rules.catalog`): {(row, precision, variant): "lowers" or the
    refusal's reason}. Needs no engine."""
    from ..rules.catalog import catalog
    mod = package(name)
    d = mod.BACKEND
    out = {}
    for row, spec in catalog():
        for precision in precisions or d.precisions:
            for variant in d.variants:
                try:
                    mod.lower(spec, precision=precision, variant=variant)
                    out[(row, precision, variant)] = "lowers"
                except UnsupportedRule as err:
                    out[(row, precision, variant)] = str(err)
    return out
