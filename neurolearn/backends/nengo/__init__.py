"""The ``nengo`` backend: a spec lowered to a nengo network that learns on a plain
``nengo.Simulator``.

- :mod:`.lower`: ``lower(spec) -> NengoProgram`` (the mapping, nengo's Schedule, the
  declared approximations, every refusal); imports no nengo.
- :mod:`.frontend`: the nengo objects (``LearningNetwork``, whose registered builder
  adds the post-factor operator, the ``SumOfProducts`` learning rule, the example
  stream) and :mod:`.ops`, their operators.
- :mod:`.runtime`: builds and runs them.
- :mod:`.emulator`: the reference network under the Program's schedule with nengo's
  LIF step swapped in (rate networks: the reference itself), so a spiking run's
  departure splits into plumbing (runtime vs emulator, exact) and neuron model
  (emulator vs the reference under the same schedule).
"""

from __future__ import annotations

from ..base import Backend
from .lower import RATE_SCHEDULE, lower  # noqa: F401

BACKEND = Backend(
    name="nengo", package=__name__, extra="nengo", requires="nengo", variants=(None,),
    emulator=True, plumbing_tier="exact", schedule=RATE_SCHEDULE, precisions=("float",),
    summary="nengo.Simulator: a LearningNetwork with a custom learning rule and a "
            "post-factor operator added by the network's own builder")


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
             dataset=None, time_limit=None):
    from .runtime import simulate as _simulate
    return _simulate(spec, steps=steps, precision=precision, seed=seed,
                     record_every=record_every, variant=variant, dataset=dataset,
                     time_limit=time_limit)


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, variant=None,
        profile=None, time_limit=None):
    from .runtime import run as _run
    return _run(spec, precision=precision, epochs=epochs, quiet=quiet, dataset=dataset,
                variant=variant, profile=profile, time_limit=time_limit)


def emulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
            dataset=None, time_limit=None):
    from .emulator import emulate as _emulate
    return _emulate(spec, steps=steps, precision=precision, seed=seed,
                    record_every=record_every, variant=variant, dataset=dataset,
                    time_limit=time_limit)


def infer(spec, params, *, precision="float", profile=None, dataset=None, variant=None,
          time_limit=None, rest=None):
    """Inference of trained parameters on nengo.Simulator, learning off (see
    :func:`.runtime.infer` and :mod:`neurolearn.backends.inference`)."""
    from .runtime import infer as _infer
    return _infer(spec, params, precision=precision, profile=profile, dataset=dataset,
                  variant=variant, time_limit=time_limit, rest=rest)


def emulate_infer(spec, params, *, precision="float", profile=None, dataset=None,
                  variant=None, time_limit=None, rest=None):
    """The same inference in NumPy (see :func:`.emulator.emulate_infer`)."""
    from .emulator import emulate_infer as _emulate_infer
    return _emulate_infer(spec, params, precision=precision, profile=profile,
                          dataset=dataset, variant=variant, time_limit=time_limit,
                          rest=rest)
