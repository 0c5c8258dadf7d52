"""The Brian2 backend: the spec's network and learning as Brian2 equations, pathways
and summed variables, run on Brian2 2.8's runtime device.

- :mod:`.lower`: ``lower(spec, precision, profile, variant) -> Brian2Program`` (the
  groups' equations, the synapses' ``on_pre``/``on_post`` code and summed variables
  generated from the rule IR, the schedule, every refusal);
- :mod:`.runtime`: builds the Program as one ``brian2.Network`` and runs it
  (``simulate``, ``run``); :mod:`.task`: the stream and the task it is driven by.

Variants are Brian2's runtime code-generation targets, ``numpy`` (no compiler) and
``cython`` (compiled once per code object), and ``loihi`` (brian2-loihi, refused by
name: see :mod:`.loihi`). Brian2 computes in float64 with the reference's order of a
step, so a run is graded against the reference at the exact tier (no emulator is
needed). This module never imports brian2.
"""

from __future__ import annotations

from ...reference.schedule import TEXTBOOK
from ..base import Backend
from .lower import TARGETS, lower  # noqa: F401

BACKEND = Backend(
    name="brian2", package=__name__, extra="brian2", requires="brian2",
    variants=TARGETS + ("loihi",), emulator=False, plumbing_tier="exact",
    schedule=TEXTBOOK, precisions=("float",),
    summary="Brian2 2.8 (runtime device, numpy or cython target): equations, on_pre/"
            "on_post pathways and summed variables generated from the rule IR")


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
             dataset=None, time_limit=None):
    """Brian2 on the shared training stream (see :func:`.runtime.simulate`)."""
    from .runtime import simulate as _simulate
    return _simulate(spec, steps=steps, precision=precision, seed=seed,
                     record_every=record_every, variant=variant, dataset=dataset,
                     time_limit=time_limit)


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, variant=None,
        profile=None, time_limit=None):
    """Train on the spec's data set on Brian2 (see :func:`.runtime.run`)."""
    from .runtime import run as _run
    return _run(spec, precision=precision, epochs=epochs, quiet=quiet, dataset=dataset,
                variant=variant, profile=profile, time_limit=time_limit)
