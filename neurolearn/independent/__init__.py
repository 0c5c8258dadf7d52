"""Independent simulators: the reference's spiking semantics checked against Brian2 and NEST.

Nothing here is a backend. Each harness takes the same arrays as the reference (input
spikes per step, weights, biases, the neuron's parameters) and returns what the
reference returns (spike steps, weight changes), so a test can hold the reference
against code that neurolearn did not write:

- :mod:`.lif` the LIF problem, its reference run, and the shared conventions;
  :mod:`.brian2_lif`, :mod:`.nest_lif` the same problem in Brian2 and in NEST.
- :mod:`.stdp` pair and triplet STDP parameters, protocols and the reference's runs;
  :mod:`.brian2_stdp`, :mod:`.nest_stdp` the same protocols in Brian2 and NEST.

Brian2 and NEST are optional (extras ``brian2`` and ``nest``) and imported lazily, only
by the harness that needs them; a missing one raises
:class:`~neurolearn.errors.BackendUnavailable` naming the extra.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

from ..errors import BackendUnavailable

EXTRAS = {"brian2": "brian2", "nest": "nest"}  # module -> pip extra


def is_installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # e.g. a module blocked with sys.modules[name] = None
        return False


def require(module: str):
    """Import ``brian2`` or ``nest``, or raise a clear error naming the extra."""
    if not is_installed(module):
        raise BackendUnavailable(module, EXTRAS[module], f"module {module!r} not found")
    if module == "nest":
        # NEST prints a banner at import unless told not to; it installs no signal
        # handlers and starts no Python threads at import (checked with 3.10.0)
        os.environ.setdefault("PYNEST_QUIET", "1")
    mod = importlib.import_module(module)
    if module == "nest":
        mod.verbosity = mod.VerbosityLevel.ERROR
    return mod
