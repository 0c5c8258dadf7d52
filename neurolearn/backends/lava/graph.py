"""The lowered Lava process graph, built in the caller's own interpreter.

:func:`processes` lowers a spec (or a trained network) and builds the same Lava
processes the backend's runs build in their child process, so a user can hand them
to a run configuration of their own, e.g. Loihi 2 hardware through Intel's
lava-loihi::

    from lava.magma.core.run_conditions import RunSteps
    from neurolearn.backends import lava as nl_lava

    g = nl_lava.processes("examples/specs/fa_digits_spiking.toml", steps=1000)
    g.source.run(condition=RunSteps(num_steps=g.num_steps), run_cfg=g.run_cfg)
    W = g.weights()          # {layer name: weights, float units}
    g.source.stop()

``run_cfg`` is a ``Loihi2SimCfg`` whose exception map selects neurolearn's
ProcessModels (the population, the stream source, Lava's own LearningDense and
Dense models); ``exception_map`` is that map, to merge into a configuration of
one's own. Importing lava sets multiprocessing's start method to 'fork'; a script
that runs the graph must call ``stop()`` (Lava's runtime otherwise keeps the
interpreter alive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data import load_dataset
from ...reference.simulator import population_factors
from .lower import lower
from .stream import training_stream


@dataclass
class LavaGraph:
    """Lava processes of one lowered spec (see the module docstring).

    ``source``: the process to call ``run``/``stop`` on (the stream source, or the
    fused network); ``layers``: per layer name its processes, ``population`` (a
    ``LearningNeuronProcess``), ``dense`` (``LearningDense``, or ``Dense`` for a
    layer that does not learn) and ``feedback`` (``Dense`` carrying the feedback
    matrix into a hidden layer), or ``{"fused": {"network": ...}}``; ``program``:
    the LavaProgram they were built from; ``num_steps``: the stream's length."""
    program: object
    source: object
    layers: dict
    run_cfg: object
    exception_map: dict
    num_steps: int

    def weights(self) -> dict:
        """{layer name: weights} read through ``Var.get()`` (float units; slow for
        large matrices: Lava sends one value per message)."""
        out = {}
        prog = self.program
        if "fused" in self.layers:
            raise NotImplementedError("the fused process keeps its weights inside its "
                                      "model; build the stock variant to read them")
        for lp in prog.layers:
            W = self.layers[lp.name]["dense"].weights.get()
            out[lp.name] = prog.float_weights(lp.index, np.asarray(W, dtype=float))
        return out

    def biases(self) -> dict:
        """{layer name: bias} (the populations' bias Vars)."""
        return {lp.name: np.asarray(self.layers[lp.name]["population"].bias.get(),
                                    dtype=float) for lp in self.program.layers}


def _as_spec_and_params(spec_or_network, params):
    from ...rules.io import load
    obj = spec_or_network
    if hasattr(obj, "spec") and hasattr(obj, "params"):  # a trained network
        return obj.spec, params if params is not None else obj.params
    if isinstance(obj, (str, bytes)) or hasattr(obj, "__fspath__"):
        return load(obj), params
    return obj, params


def processes(spec, *, precision="float", variant="stock", params=None, dataset=None,
              steps=None, epochs=None, seed=None) -> LavaGraph:
    """Build the Lava processes of ``spec`` (a Spec, a spec file, or a trained
    network: an object with ``.spec`` and ``.params``) in this interpreter.

    ``params``: start from these parameters (e.g. ``RunResult.state`` of a run);
    the stream feeds the spec's training set: ``steps`` steps, or ``epochs`` passes
    (default: one pass). Refusals are those of :func:`.lower.lower`."""
    from .build import BUILDERS, run_config
    from .runtime import with_seed
    spec, params = _as_spec_and_params(spec, params)
    spec = with_seed(spec, seed)
    program = lower(spec, precision, variant=variant, params=params)
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    k_in, k_out = population_factors(spec, ds)
    if steps is None:
        steps = (epochs or 1) * len(ds.x_train) * program.k
    if program.phased is not None:  # whole examples in phases
        from .phased import phased_stream
        stream = phased_stream(program, spec, ds, -(-steps // program.k),
                               spec.training.seed, epochs=epochs)
    else:
        stream = training_stream(spec, ds, steps, spec.training.seed, program.k,
                                 program.n_teach, k_in, k_out,
                                 program.schedule.apply == "batch", epochs=epochs)
    source, layers, exceptions = BUILDERS[program.variant](program, stream)
    return LavaGraph(program, source, layers, run_config(program, exceptions), exceptions,
                     steps)
