"""Runs that save, resume, start from or only evaluate a trained network.

``neurolearn.run(..., save=DIR, resume=DIR, init_from=DIR)`` comes here. What is
covered now: checkpoints every epoch for the batched trainer (float and the
quantized ``--precision fixed`` trainer) and for the time-stepped simulator (kind
``time_stepped``: every epoch, and within an epoch at the first batch end after
every ``save_every`` steps); evaluation of a trained network (``epochs=0``) on the
numpy reference in float, or quantised to a fixed-point profile's weight grid with
the accuracy lost reported; on Lava and nengo, inference with learning off
(:mod:`.engines`). Training on Lava or nengo from trained weights is not wired.
"""

from __future__ import annotations

from ..errors import SpecError, UnsupportedRule
from ..result import RunResult
from . import checkpoint
from .trained import TrainedNetwork, _mode
from .trained import load as load_trained

# what each engine lacks before it can save, resume or train on from a trained
# network (inference with trained weights, --epochs 0, is wired: .engines)
MISSING = {
    "lava": "the Lava backend's training run starts from the spec's seeded weights and "
            "keeps no checkpoints (inference with trained weights, --epochs 0, is wired)",
    "nengo": "the nengo backend's training run starts from the spec's seeded weights and "
             "keeps no checkpoints (inference with trained weights, --epochs 0, is wired)",
    "nengo-loihi": "the nengo-loihi backend builds its PES compositions from freshly "
                   "drawn weights and has no entry point that takes trained weights yet",
}


def _refuse_backend(backend: str, what: str):
    if backend != "numpy":
        raise UnsupportedRule(backend, what, MISSING.get(backend, "not supported"),
                              "numpy (float, or --precision fixed --profile loihi2)")


def _check_epochs(epochs, init_from, resume):
    if epochs is None:
        return
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise SpecError(f"must be a non-negative integer, got {epochs!r}", "--epochs")
    if epochs == 0 and not init_from:
        raise SpecError("0 means: evaluate a trained network without training; give the "
                        "network with --init-from DIR", "--epochs")


def _differences(a, b, path=""):
    """Dotted paths where plain-data trees a and b differ (first few)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _differences(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += _differences(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [path]


def _same_network(spec, trained: TrainedNetwork, source: str):
    from ..rules.schema import to_dict
    a, b = spec.network, trained.spec.network
    if a.sizes != b.sizes:
        raise SpecError(f"the network has sizes {b.sizes}, the spec {spec.name!r} has "
                        f"{a.sizes}", "network.layers", source=source)
    diff = _differences(to_dict(a.layers), to_dict(b.layers))
    diff = [d for d in diff if not d.endswith(("plastic", "bias_init"))]
    if any(".neuron" in d for d in diff):
        raise SpecError(f"the neuron models differ from the spec's ({diff[0]})",
                        f"network.layers{diff[0]}", source=source)


# a time-stepped run's checkpoint within an epoch: at the first batch end after this
# many steps (the spiking digits spec's epoch is 67,350 steps, about a minute)
SAVE_EVERY_STEPS = 50_000


class TimeSteppedSaver:
    """``on_checkpoint`` callback of the time-stepped simulator (kind ``time_stepped``):
    the Network's state_dict arrays, the input encoder's phase (``enc.phase``) and,
    in the manifest, ``position`` (examples done in the epoch after ``epoch``),
    ``network`` and ``encoder`` (their JSON state: generators, eta, r_bar, ...)."""

    def __init__(self, path, spec, data_shape=None):
        from ..rules.schema import to_dict
        self.path = path
        self.base = {"kind": "time_stepped", "resumable": True, "spec": to_dict(spec),
                     "precision": "float", "profile": None,
                     "data": None if data_shape is None else {"n_in": data_shape[0],
                                                              "n_out": data_shape[1]}}

    def __call__(self, state: dict):
        from ..version import __version__
        net, enc = state["network"], state["encoder"]
        arrays = dict(net["arrays"])
        if enc is not None:
            arrays.update({f"enc.{k}": v for k, v in enc["arrays"].items()})
        manifest = {**self.base, "epoch": state["epoch"], "epochs": state["epochs"],
                    "position": state["position"], "network": net["meta"],
                    "encoder": None if enc is None else enc["meta"],
                    "history": state["history"], "seconds": state["seconds"],
                    "neurolearn": __version__}
        checkpoint.write(self.path, manifest, arrays)

    @staticmethod
    def state_of(ck) -> dict:
        """The simulator's resume state held in checkpoint ``ck``."""
        m = ck.manifest
        net = {k: v for k, v in ck.arrays.items() if not k.startswith("enc.")}
        enc = None if m.get("encoder") is None else {
            "arrays": {k[4:]: v for k, v in ck.arrays.items() if k.startswith("enc.")},
            "meta": m["encoder"]}
        return {"epoch": ck.epoch, "position": int(m.get("position", 0)),
                "network": {"arrays": net, "meta": m["network"]}, "encoder": enc,
                "history": m["history"], "seconds": m.get("seconds", 0.0)}


def _check_save_every(save_every):
    if save_every is None:
        return SAVE_EVERY_STEPS
    if isinstance(save_every, bool) or not isinstance(save_every, int) or save_every < 1:
        raise SpecError(f"must be a positive number of steps, got {save_every!r}",
                        "--save-every")
    return save_every


class Saver:
    """``on_epoch`` callback of the batched trainer: one checkpoint per epoch."""

    def __init__(self, path, spec, *, kind, precision="float", profile=None,
                 data_shape=None):
        from ..rules.schema import to_dict
        self.path = path
        self.base = {"kind": kind, "resumable": True, "spec": to_dict(spec),
                     "precision": precision, "profile": profile,
                     "data": None if data_shape is None else {"n_in": data_shape[0],
                                                              "n_out": data_shape[1]}}

    def __call__(self, state: dict):
        from ..version import __version__
        tr = state["trainer"]
        manifest = {**self.base, "epoch": state["epoch"], "epochs": state["epochs"],
                    "trainer": tr["meta"], "history": state["history"],
                    "seconds": state["seconds"], "neurolearn": __version__}
        checkpoint.write(self.path, manifest, tr["arrays"])


def _profile_dict(profile):
    if profile is None:
        return None
    from ..hardware.profile import load_profile
    from ..rules.schema import to_dict
    return to_dict(load_profile(profile))


def _dataset(spec, dataset):
    from ..data import load_dataset
    return dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)


def _train(spec, *, precision, epochs, quiet, profile, dataset, resume=None, saver=None,
           params=None, weight_headroom=None):
    """The numpy backend's training call with the checkpoint hooks (``weight_headroom``:
    a fresh fixed-point run's grid; a resumed one keeps its checkpoint's)."""
    if precision == "fixed":
        from ..reference.quantized import train_quantized
        if params is not None:
            raise UnsupportedRule("numpy (fixed)", "training from a trained network "
                                  "(--init-from with --epochs > 0)", "the quantized trainer "
                                  "draws its own grid from initial weights",
                                  "--epochs 0 to evaluate it in fixed point, or float")
        kw = {} if weight_headroom is None else {"weight_headroom": weight_headroom}
        return train_quantized(spec, profile=profile, epochs=epochs, quiet=quiet,
                               dataset=dataset, resume=resume, on_epoch=saver, **kw)
    if precision != "float":
        raise UnsupportedRule("numpy", f"precision {precision!r}", "use float or fixed")
    from ..reference.trainer import train
    return train(spec, dataset=dataset, epochs=epochs, quiet=quiet, params=params,
                 resume=resume, on_epoch=saver)


def run(spec, backend="numpy", *, epochs=None, precision="float", quiet=None,
        save=None, resume=None, init_from=None, profile=None, dataset=None,
        save_every=None, **backend_options) -> RunResult:
    """See :func:`neurolearn.run`. ``spec`` is a Spec (seed and epochs overrides already
    applied by the caller) or None with ``resume``/``init_from``. ``save_every``:
    steps between a time-stepped run's checkpoints within an epoch."""
    _check_epochs(epochs, init_from, resume)
    every = _check_save_every(save_every)
    if resume is not None:
        return _resume(spec, backend, resume=resume, save=save, epochs=epochs,
                       precision=precision, quiet=quiet, dataset=dataset, every=every)
    if init_from is not None:
        return _from_trained(spec, backend, init_from=init_from, save=save, epochs=epochs,
                             precision=precision, quiet=quiet, profile=profile,
                             dataset=dataset, every=every,
                             variant=backend_options.get("variant"),
                             rest=backend_options.get("rest"))
    _refuse_backend(backend, "saving checkpoints (--save)")
    d = checkpoint.prepare_dir(save)
    return _fresh(spec, d, epochs=epochs, precision=precision, quiet=quiet,
                  profile=profile, dataset=dataset, every=every,
                  weight_headroom=backend_options.get("weight_headroom"))


def _fresh(spec, d, *, epochs, precision, quiet, profile, dataset, params=None,
           every=SAVE_EVERY_STEPS, weight_headroom=None):
    ds = _dataset(spec, dataset)
    shape = (ds.n_in, ds.n_out)
    if _mode(spec) == "time_stepped":
        if precision != "float":
            raise UnsupportedRule("the numpy time-stepped simulator",
                                  f"precision {precision!r}", "it simulates float64 only")
        from ..reference.simulator import run_time_stepped
        result = run_time_stepped(spec, dataset=ds, epochs=epochs, quiet=quiet,
                                  params=params,
                                  on_checkpoint=TimeSteppedSaver(d, spec, data_shape=shape),
                                  checkpoint_steps=every)
        result.extra["checkpoint"] = str(d)
        return result
    kind = "quantized" if precision == "fixed" else "batched"
    saver = Saver(d, spec, kind=kind, precision=precision,
                  profile=_profile_dict(profile or "loihi2") if kind == "quantized" else None,
                  data_shape=shape)
    result = _train(spec, precision=precision, epochs=epochs, quiet=quiet, profile=profile,
                    dataset=ds, saver=saver, params=params, weight_headroom=weight_headroom)
    result.extra["checkpoint"] = str(d)
    return result


def _resume(spec, backend, *, resume, save, epochs, precision, quiet, dataset,
            every=SAVE_EVERY_STEPS):
    from ..rules.schema import to_dict
    _refuse_backend(backend, "resuming a checkpoint (--resume)")
    ck = checkpoint.read(resume)
    src = str(ck.path / checkpoint.MANIFEST)
    m = ck.manifest
    if not m.get("resumable"):
        raise SpecError(f"holds a trained network only (kind {m['kind']!r}), not a "
                        "training state; evaluate or train on from it with --init-from",
                        source=str(resume))
    saved = ck.spec()
    if spec is not None:
        diff = [d for d in _differences(to_dict(spec), to_dict(saved))
                if d != "training.epochs"]
        if diff:
            raise SpecError(f"the spec differs from the checkpoint's at {', '.join(diff[:3])}"
                            "; resume with the same spec (or give none)", source=src)
    if precision not in ("float", m.get("precision", "float")):
        raise SpecError(f"the checkpoint was trained with precision "
                        f"{m.get('precision')!r}", "--precision", source=src)
    target = epochs if epochs is not None else saved.training.epochs
    if target < ck.epoch:
        raise SpecError(f"{target} is fewer than the {ck.epoch} epochs already trained",
                        "--epochs", source=src)
    if target != saved.training.epochs:
        saved = saved.with_(training=type(saved.training)(
            **{**vars(saved.training), "epochs": target}))
    d = checkpoint.prepare_dir(save, overwrite=True) if save else ck.path
    data = m.get("data") or None
    if m["kind"] == "time_stepped":
        from ..reference.simulator import run_time_stepped
        saver = TimeSteppedSaver(d, saved, data_shape=None if not data else
                                 (data["n_in"], data["n_out"]))
        result = run_time_stepped(saved, dataset=dataset, epochs=target, quiet=quiet,
                                  resume=TimeSteppedSaver.state_of(ck), on_checkpoint=saver,
                                  checkpoint_steps=every)
        result.extra["checkpoint"] = str(d)
        result.extra["resumed_from_epoch"] = ck.epoch
        result.extra["resumed_from_position"] = int(m.get("position", 0))
        return result
    state = {"epoch": ck.epoch, "trainer": {"arrays": ck.arrays, "meta": m["trainer"]},
             "history": m["history"], "seconds": m.get("seconds", 0.0)}
    profile = None
    if m.get("profile"):
        from ..hardware.profile import parse_profile
        profile = parse_profile(m["profile"], f"{src}: profile")
    saver = Saver(d, saved, kind=m["kind"], precision=m.get("precision", "float"),
                  profile=m.get("profile"),
                  data_shape=None if not data else (data["n_in"], data["n_out"]))
    result = _train(saved, precision=m.get("precision", "float"), epochs=target, quiet=quiet,
                    profile=profile, dataset=dataset, resume=state, saver=saver)
    result.extra["checkpoint"] = str(d)
    result.extra["resumed_from_epoch"] = ck.epoch
    return result


def _from_trained(spec, backend, *, init_from, save, epochs, precision, quiet, profile,
                  dataset, every=SAVE_EVERY_STEPS, variant=None, rest=None):
    trained = load_trained(init_from)
    src = str(trained.path / checkpoint.MANIFEST)
    spec = trained.spec if spec is None else spec
    _same_network(spec, trained, src)
    if epochs == 0:
        if backend != "numpy":
            from .engines import evaluate_on
            return evaluate_on(backend, spec, trained, precision=precision,
                               profile=profile, dataset=dataset, variant=variant,
                               rest=rest)
        if rest is not None:
            raise SpecError("applies to inference on an engine (--backend lava or nengo); "
                            "numpy's evaluation starts every example from rest", "--rest")
        if precision == "fixed":
            return evaluate_fixed(spec, trained, profile=profile, dataset=dataset)
        if precision != "float":
            raise UnsupportedRule("numpy", f"precision {precision!r}", "use float or fixed")
        return evaluate_float(spec, trained, dataset=dataset)
    _refuse_backend(backend, "training from trained weights (--init-from)")
    if save:
        d = checkpoint.prepare_dir(save)
        return _fresh(spec, d, epochs=epochs, precision=precision, quiet=quiet,
                      profile=profile, dataset=dataset,
                      params=trained.params.copy(), every=every)
    if _mode(spec) == "time_stepped":
        from ..reference.simulator import run_time_stepped
        return run_time_stepped(spec, dataset=dataset, epochs=epochs, quiet=quiet,
                                params=trained.params.copy())
    return _train(spec, precision=precision, epochs=epochs, quiet=quiet, profile=profile,
                  dataset=dataset, params=trained.params.copy())


# -- evaluation (epochs 0) ---------------------------------------------------------------
def _network_for(spec, trained, params):
    return TrainedNetwork(spec=spec, params=params, epoch=trained.epoch,
                          data_shape=trained.data_shape)


def _result(spec, ds, metrics, params, *, precision, extra):
    return RunResult(backend="numpy", rule=spec.rule.display_name, dataset=ds.name,
                     seed=spec.training.seed, epochs=0, test_accuracy=metrics["accuracy"],
                     test_loss=metrics["loss"], precision=precision, spec_name=spec.name,
                     weights=[w.copy() for w in params.W], extra=extra)


def evaluate_float(spec, trained, *, dataset=None) -> RunResult:
    ds = _dataset(spec, dataset)
    metrics = _network_for(spec, trained, trained.params).evaluate(ds)
    return _result(spec, ds, metrics, trained.params, precision="float",
                   extra={"deploy": {"init_from": str(trained.path),
                                     "trained_epochs": trained.epoch, "evaluated": "test"}})


def quantize_params(params, profile, headroom: float = 1.0):
    """Trained (W | b) of every layer on the profile's weight grid, exactly as the
    quantized trainer puts initial weights there (neurolearn.reference.quantized, step
    1): ``w = W_int 2^-f_l`` with W_int in [-2^B, 2^B - 1] and f_l the largest
    integer with ``headroom * max|W_l| <= 2^(B - f_l)``; headroom 1 for a trained
    network (it will not grow). Returns (dequantized Params, per-layer f)."""
    import numpy as np

    from ..hardware.arith import EngineWidths
    from ..reference.quantized import _grid_bits, _to_grid
    bits = profile.get("weights.bits")
    if bits is None:
        raise SpecError(f"quantising weights needs weights.bits, which profile "
                        f"{profile.name!r} does not know", "weights.bits", source=profile.name)
    w = EngineWidths(weight_bits=bits)   # only the weight width is used here
    q = params.copy()
    fs = []
    for l in range(len(q.W)):
        aug = np.concatenate([q.W[l], q.b[l][:, None]], axis=1)
        f = _grid_bits(aug, w.weight_bits, headroom)
        deq = _to_grid(aug, f, w) * 2.0 ** -f
        q.W[l], q.b[l] = deq[:, :-1].copy(), deq[:, -1].copy()
        fs.append(f)
    return q, fs


def evaluate_fixed(spec, trained, *, profile=None, dataset=None,
                   weight_headroom: float = 1.0) -> RunResult:
    """Quantise the trained weights with ``profile``'s arithmetic and evaluate; reports
    the float accuracy, the quantized one and the points lost."""
    import numpy as np

    from ..hardware.profile import load_profile
    headroom = float(weight_headroom)
    prof = load_profile(profile or "loihi2")
    if prof.precision != "fixed":
        raise SpecError(f"profile {prof.name!r} is float: it has no integer arithmetic "
                        "(use --precision float)", "--profile")
    ds = _dataset(spec, dataset)
    qparams, fs = quantize_params(trained.params, prof, headroom)
    ref = _network_for(spec, trained, trained.params).evaluate(ds)
    got = _network_for(spec, trained, qparams).evaluate(ds)
    names = [layer.name for layer in spec.network.layers[1:]]
    err = {n: float(np.max(np.abs(a - b))) for n, a, b in zip(names, qparams.W, trained.params.W)}
    lost = None if ref["accuracy"] is None else 100.0 * (ref["accuracy"] - got["accuracy"])
    extra = {"deploy": {"init_from": str(trained.path), "trained_epochs": trained.epoch,
                        "profile": prof.name, "float_accuracy": ref["accuracy"],
                        "quantized_accuracy": got["accuracy"], "accuracy_lost_points": lost,
                        "weight_frac_bits": dict(zip(names, fs)),
                        "max_abs_weight_error": err, "weight_headroom": headroom,
                        "what": "weights and biases on the profile's weight grid; neuron "
                                "arithmetic stays float64"}}
    return _result(spec, ds, got, qparams, precision="fixed", extra=extra)
