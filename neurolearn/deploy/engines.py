"""Inference with a trained network on an engine: ``neurolearn run SPEC --init-from DIR
--epochs 0 --backend lava|nengo [--precision fixed --profile loihi2]``.

The backend's ``infer`` runs the trained W and b with learning off over the test set
(:mod:`neurolearn.backends.inference` says how it is presented and read); its
accuracy is the run's. The report adds the numpy reference's evaluation of the same
float weights (from rest, no delays: the figure ``--backend numpy`` gives), the
reference's network over the engine's presentation (what presenting the examples one
after another changes, apart from the engine), and in fixed point the accuracy of
the same engine path in float (the backend's NumPy emulator, equal to the engine's
float run: tests/test_deploy_infer.py) and the points lost to the weight grid.
"""

from __future__ import annotations

import time

from ..errors import UnsupportedRule
from ..result import RunResult

# engines with no inference entry point, and why
NO_INFERENCE = {
    "nengo-loihi": "the nengo-loihi backend runs rate rules as PES compositions (rate "
                   "codes relayed from host Ensembles, weights as learned decoders); an "
                   "inference lowering of a trained network onto its chip Ensembles is "
                   "not written",
}


def evaluate_on(backend: str, spec, trained, *, precision="float", profile=None,
                dataset=None, variant=None, rest=None) -> RunResult:
    """Run ``trained`` (a TrainedNetwork whose network equals ``spec``'s) on
    ``backend`` without learning (``rest``: seconds without input before each test
    example); a RunResult whose ``extra["deploy"]`` holds the figures (module
    docstring)."""
    from .. import backends
    from ..data import load_dataset
    if backend in NO_INFERENCE:
        raise UnsupportedRule(backend, "inference with trained weights (--init-from)",
                              NO_INFERENCE[backend], "lava or nengo (float), numpy")
    mod = backends.get(backend)  # not installed: a clear error naming the extra
    if not hasattr(mod, "infer"):
        raise UnsupportedRule(backend, "inference with trained weights (--init-from)",
                              "the backend has no inference entry point", "numpy")
    from ..backends.inference import reference_on_stream, presentation
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    w = presentation(spec, ds, rest)  # a bad --rest fails before the engine starts
    params = trained.params
    t0 = time.perf_counter()
    got = mod.infer(spec, params, precision=precision, profile=profile, dataset=ds,
                    variant=variant, rest=rest)
    seconds = time.perf_counter() - t0
    from .trained import TrainedNetwork  # the spec's network with the trained params
    ref = TrainedNetwork(spec=spec, params=params, epoch=trained.epoch,
                         data_shape=trained.data_shape).evaluate(ds)
    from ..rules.phases import is_phased
    phased = is_phased(spec)  # each example from its sweep: the presentation is the
    same = None if phased else reference_on_stream(spec, params, ds, w)  # reference's
    dep = {"init_from": str(trained.path), "trained_epochs": trained.epoch,
           "evaluated": "test", "engine": backend, "n": got.n, "steps": got.steps,
           "seconds": seconds, "reference_accuracy": ref["accuracy"],
           "reference_loss": ref["loss"], "reference_gap_points": _points(got, ref),
           "reference_presented_accuracy": None if phased else same.accuracy,
           "reference_presented_gap_points": None if phased else
           _points(got, {"accuracy": same.accuracy}),
           "rest_s": w.rest * spec.simulation.dt,
           "presented": (f"the test set in order, each example from its forward sweep "
                         f"through its phases before the teacher ({w.k} steps of the "
                         "reference), learning off; readout at the last step") if phased
           else (f"the test set in order, {w.rest} steps without input then "
                 f"{w.k} steps per example, no reset, learning off; readout over "
                 f"each example's last {w.window} steps"),
           **{k: v for k, v in got.extra.items() if k != "approximations"}}
    if got.extra.get("approximations"):
        dep["approximations"] = got.extra["approximations"]
    if precision == "fixed":
        base = mod.emulate_infer(spec, params, precision="float", profile=profile,
                                 dataset=ds, variant=variant, rest=rest)
        from ..hardware.profile import load_profile
        prof = load_profile(profile) if profile is not None else None
        dep.update({
            "profile": prof.name if prof is not None else _default_profile(mod),
            "float_accuracy": base.accuracy, "quantized_accuracy": got.accuracy,
            "accuracy_lost_points": None if base.accuracy is None else
            100.0 * (base.accuracy - got.accuracy),
            "float_from": f"{backend}'s NumPy emulator in float over the same stream "
                          "(equal to the engine's float run)",
            "what": "weights on the engine's fixed-point grid; neurons and biases in "
                    "float64"})
    return RunResult(backend=backend, rule=spec.rule.display_name, dataset=ds.name,
                     seed=spec.training.seed, epochs=0, test_accuracy=got.accuracy,
                     test_loss=got.loss, precision=precision, spec_name=spec.name,
                     weights=[w.copy() for w in (got.weights or params.W)],
                     extra={"deploy": dep})


def _points(got, ref):
    if ref["accuracy"] is None or got.accuracy is None:
        return None
    return 100.0 * (got.accuracy - ref["accuracy"])


def _default_profile(mod) -> str:
    return getattr(mod, "FIXED_PROFILE", None) or "default"
