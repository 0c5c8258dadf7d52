"""A trained network usable from Python: ``neurolearn.load(DIR)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import checkpoint


def _mode(spec) -> str:
    mode = spec.training.mode
    if mode == "auto":
        mode = "time_stepped" if spec.network.spiking else "batched"
    return mode


@dataclass
class TrainedNetwork:
    """A spec and its trained parameters.

    ``predict(x)`` gives the network's output per example: the batched trainer's
    output (softmax of the output layer for loss ``cross_entropy``) for rate
    networks, the time-stepped reference's readout (output spike counts over
    ``t_example`` from rest, pooled per population) for spiking ones.
    ``evaluate(dataset)`` gives loss and accuracy on a data set (default: the
    spec's test set).
    """
    spec: object
    params: object
    epoch: int = 0
    history: dict = field(default_factory=dict)
    precision: str = "float"
    profile: dict | None = None
    data_shape: tuple | None = None                # (n_in, n_out) of the data set
    path: Path | None = None

    @property
    def weights(self) -> list:
        return self.params.W

    @property
    def mode(self) -> str:
        return _mode(self.spec)

    def _populations(self, n_in, n_out):
        sizes = self.spec.network.sizes
        return sizes[0] // n_in, sizes[-1] // n_out

    def predict(self, x) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self.mode == "batched":
            from ..reference.trainer import BatchedTrainer
            return BatchedTrainer(self.spec, self.params).predict(x)
        n_out = (self.data_shape or (None, self.spec.network.sizes[-1]))[1]
        y = np.zeros((len(x), n_out))
        return self._evaluate_spiking(x, y, classification=True)[2]

    def _evaluate_spiking(self, x, y, classification):
        from ..reference.simulator import evaluate
        k_in, k_out = self._populations(x.shape[1], y.shape[1])
        return evaluate(self.spec, self.params, x, y, k_in=k_in, k_out=k_out,
                        seed=self.spec.training.seed, classification=classification)

    def evaluate(self, dataset=None) -> dict:
        """{"loss", "accuracy" (None for regression), "n"} on ``dataset`` (a
        neurolearn Dataset, an (x, y) pair, or None: the spec's test set)."""
        from ..data import load_dataset
        if dataset is None:
            dataset = load_dataset(self.spec.data, self.spec.training.seed)
        if isinstance(dataset, tuple):
            x, y = (np.asarray(a, dtype=float) for a in dataset)
            classification = y.ndim == 2 and y.shape[1] > 1 or bool(np.all(np.isin(y, (0, 1))))
        else:
            x, y, classification = dataset.x_test, dataset.y_test, dataset.classification
        if self.mode == "batched":
            from ..reference.trainer import BatchedTrainer
            loss, acc = BatchedTrainer(self.spec, self.params).evaluate(x, y, classification)
        else:
            loss, acc, _ = self._evaluate_spiking(x, y, classification)
        return {"loss": loss, "accuracy": acc, "n": int(len(x))}

    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write this network as a weights-only checkpoint (kind ``weights``)."""
        from ..rules.schema import to_dict
        d = checkpoint.prepare_dir(path, overwrite=overwrite)
        manifest = weights_manifest(self.spec, epoch=self.epoch, history=self.history,
                                    precision=self.precision, profile=self.profile,
                                    data_shape=self.data_shape)
        manifest["spec"] = to_dict(self.spec)
        checkpoint.write(d, manifest, checkpoint.params_arrays(self.params))
        return d


def weights_manifest(spec, *, epoch, history=None, precision="float", profile=None,
                     data_shape=None, note="") -> dict:
    from ..version import __version__
    from ..rules.schema import to_dict
    return {"kind": "weights", "resumable": False, "spec": to_dict(spec),
            "precision": precision, "profile": profile,
            "data": None if data_shape is None else {"n_in": data_shape[0],
                                                      "n_out": data_shape[1]},
            "epoch": int(epoch), "epochs": int(epoch), "history": history or {},
            "note": note, "neurolearn": __version__}


def from_checkpoint(ck: checkpoint.Checkpoint) -> TrainedNetwork:
    spec = ck.spec()
    m = ck.manifest
    data = m.get("data") or None
    return TrainedNetwork(
        spec=spec, params=checkpoint.params_from(ck, spec), epoch=ck.epoch,
        history=m.get("history") or {}, precision=m.get("precision", "float"),
        profile=m.get("profile"),
        data_shape=None if not data else (int(data["n_in"]), int(data["n_out"])),
        path=ck.path)


def load(path) -> TrainedNetwork:
    """The trained network in checkpoint directory ``path``."""
    return from_checkpoint(checkpoint.read(path))
