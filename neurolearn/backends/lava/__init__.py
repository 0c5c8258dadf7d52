"""The Lava backend: the spec's network and learning on Lava 0.10.0's Loihi 2
simulation (CPU, ``Loihi2SimCfg``).

- :mod:`.lower`: ``lower(spec, precision, profile, variant) -> LavaProgram`` (every
  refusal; Lava's schedule, the generated rule strings, the declared approximations);
- :mod:`.emulator`: NumPy, bit-exact to the stock lowering on Lava, reading the
  Program (float: max |dW| = 0; fixed point: 0 LSB);
- :mod:`.runtime`: runs the Program on Lava in a child process (``simulate``,
  ``run``); :mod:`.graph`: the lowered processes in the caller's own interpreter
  (``processes``), for a run configuration of one's own (Loihi 2 hardware).

Variants: ``stock`` (stock LearningDense and Dense, a population Process per layer)
and ``fused`` (one process running the reference's Network under Lava's schedule;
the default for ``run``). This module never imports lava.
"""

from __future__ import annotations

from ..base import Backend
from .lower import FIXED_PROFILE, LAVA, lower  # noqa: F401
from .runner import LavaRunError, run_job  # noqa: F401

BACKEND = Backend(
    name="lava", package=__name__, extra="lava", requires="lava",
    variants=("stock", "fused"), emulator=True, plumbing_tier="exact", schedule=LAVA,
    precisions=("float", "fixed"),
    summary="Lava 0.10.0 (Loihi 2 simulation on CPU): stock LearningDense with generated "
            "Loihi3F rules, or one fused process")


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
             dataset=None, time_limit=None, **options):
    """Lava on the shared training stream (see :func:`.runtime.simulate`)."""
    from .runtime import simulate as _simulate
    return _simulate(spec, steps=steps, precision=precision, seed=seed,
                     record_every=record_every, variant=variant, dataset=dataset,
                     time_limit=time_limit, **options)


def emulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
            dataset=None, time_limit=None, **options):
    """The NumPy model of the stock lowering (see :func:`.emulator.emulate`)."""
    from .emulator import emulate as _emulate
    return _emulate(spec, steps=steps, precision=precision, seed=seed,
                    record_every=record_every, variant=variant, dataset=dataset,
                    time_limit=time_limit, **options)


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, variant=None,
        profile=None, time_limit=None, **options):
    """Train on the spec's data set on Lava (see :func:`.runtime.run`)."""
    from .runtime import run as _run
    return _run(spec, precision=precision, epochs=epochs, quiet=quiet, dataset=dataset,
                variant=variant, profile=profile, time_limit=time_limit, **options)


def processes(spec, *, precision="float", variant="stock", params=None, dataset=None,
              steps=None, epochs=None, seed=None):
    """The lowered Lava processes, built in this interpreter (imports lava): see
    :func:`.graph.processes`."""
    from .graph import processes as _processes
    return _processes(spec, precision=precision, variant=variant, params=params,
                      dataset=dataset, steps=steps, epochs=epochs, seed=seed)


def infer(spec, params, *, precision="float", profile=None, dataset=None, variant=None,
          time_limit=None, rest=None):
    """Inference of trained parameters on Lava, learning off (see
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
