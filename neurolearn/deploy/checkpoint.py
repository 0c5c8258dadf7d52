"""Checkpoints: a directory holding a trained (or training) network, versioned.

Format ``neurolearn.checkpoint`` version 1 (docs/deploy.md has the full description):

    DIR/manifest.json        what the arrays are and everything that is not an array
    DIR/state-EEEEEE.npz     the arrays of epoch EEEEEE (numpy .npz, no pickles);
                             state-EEEEEE-PPPPPPPPP.npz within an epoch, P examples in

``manifest.json`` keys: ``format``, ``version``, ``kind`` (``batched``,
``quantized``: resumable trainer states; ``time_stepped``: a resumable state of the
time-stepped simulator, with ``position``, ``network`` and ``encoder``; ``weights``: a
trained network only, e.g. a NIR import), ``resumable``, ``spec`` (the spec
as plain data, ``neurolearn.rules.schema.to_dict``), ``precision``, ``profile``
(the profile as plain data for fixed precision, else null), ``data`` (``n_in``,
``n_out`` of the data set), ``epoch``, ``epochs`` (the target), ``state_file``,
``sha256`` (of the state file), ``trainer`` (the trainer's JSON-able state, see
``BatchedTrainer.state_dict``), ``rng`` (the shuffling generator's
``bit_generator.state``), ``history``, ``seconds``, ``neurolearn`` (version).

The arrays file holds ``W.i``, ``b.i`` (layer i+1), ``B.l`` (feedback matrix of
hidden layer l), and for resumable states the trainer's own arrays (``vel.*``
momentum velocities, ``theta.*`` BCM averages, ``Wq.*`` integer weights).

Writes are atomic and keep the previous checkpoint valid: the new arrays go to a
temporary file that is renamed to its own name ``state-EEEEEE.npz``; then a
temporary manifest pointing at it replaces ``manifest.json`` (``os.replace``, one
atomic rename); only then is the previous state file removed. A run killed at any
moment leaves a manifest that names a complete, checksummed state file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SpecError

FORMAT = "neurolearn.checkpoint"
VERSION = 1
MANIFEST = "manifest.json"
KINDS = ("batched", "quantized", "time_stepped", "weights")


@dataclass
class Checkpoint:
    path: Path
    manifest: dict
    arrays: dict

    @property
    def epoch(self) -> int:
        return int(self.manifest["epoch"])

    def spec(self):
        from ..rules.io import parse
        from ..rules.ir import Spec
        return parse(Spec, self.manifest["spec"], f"{self.path / MANIFEST}: spec")


def _fsync_dir(d: Path):
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_checkpoint(path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def prepare_dir(path, overwrite: bool = False) -> Path:
    """The directory a run will save into; refuses to overwrite another checkpoint."""
    d = Path(path)
    if d.exists() and not d.is_dir():
        raise SpecError("is not a directory", source=str(d))
    if is_checkpoint(d) and not overwrite:
        raise SpecError("already holds a checkpoint: continue it with --resume, or "
                        "save into another directory", source=str(d))
    d.mkdir(parents=True, exist_ok=True)
    return d


def write(path, manifest: dict, arrays: dict) -> Path:
    """Write one checkpoint atomically (module docstring); returns the manifest path."""
    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    # a checkpoint within an epoch (time-stepped runs) carries its position, so that
    # no two checkpoints of a run share a file name
    pos = int(manifest.get("position") or 0)
    name = f"state-{int(manifest['epoch']):06d}" + (f"-{pos:09d}" if pos else "") + ".npz"
    tmp = d / f".{name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, d / name)
    body = {"format": FORMAT, "version": VERSION, **manifest, "state_file": name,
            "sha256": _sha256(d / name)}
    mtmp = d / f".{MANIFEST}.{os.getpid()}.tmp"
    with open(mtmp, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(mtmp, d / MANIFEST)
    _fsync_dir(d)
    for old in d.glob("state-*.npz"):
        if old.name != name:
            old.unlink(missing_ok=True)
    for stale in d.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    return d / MANIFEST


def read(path) -> Checkpoint:
    """Read and verify a checkpoint; every problem is one error naming the file."""
    d = Path(path)
    mpath = d / MANIFEST
    if not d.is_dir():
        raise SpecError("no such checkpoint directory", source=str(d))
    if not mpath.is_file():
        raise SpecError(f"not a neurolearn checkpoint (no {MANIFEST})", source=str(d))
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SpecError(f"cannot read: {err}", source=str(mpath)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SpecError(f"must be {FORMAT!r}, got {manifest.get('format')!r}"
                        if isinstance(manifest, dict) else "must be a JSON object",
                        "format", source=str(mpath))
    if manifest.get("version") != VERSION:
        raise SpecError(f"version {manifest.get('version')!r} is not supported (this "
                        f"neurolearn reads version {VERSION})", "version", source=str(mpath))
    for key in ("kind", "spec", "epoch", "state_file", "sha256"):
        if key not in manifest:
            raise SpecError("is required", key, source=str(mpath))
    if manifest["kind"] not in KINDS:
        raise SpecError(f"must be one of {', '.join(KINDS)}, got {manifest['kind']!r}",
                        "kind", source=str(mpath))
    spath = d / str(manifest["state_file"])
    if not spath.is_file():
        raise SpecError(f"names {manifest['state_file']!r}, which is missing", "state_file",
                        source=str(mpath))
    if _sha256(spath) != manifest["sha256"]:
        raise SpecError(f"{manifest['state_file']} does not match its checksum (damaged "
                        "or replaced)", "sha256", source=str(mpath))
    with np.load(spath, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return Checkpoint(d, manifest, arrays)


def params_arrays(params) -> dict:
    out = {f"W.{i}": w for i, w in enumerate(params.W)}
    out.update({f"b.{i}": v for i, v in enumerate(params.b)})
    out.update({f"B.{k}": v for k, v in params.B.items()})
    return out


def params_from(ck: Checkpoint, spec):
    """The network's parameters (W, b, B) held in a checkpoint, checked against spec."""
    from ..reference.params import Params
    net = spec.network
    sizes = net.sizes
    a = ck.arrays
    src = str(ck.path / ck.manifest["state_file"])
    W, b, B = [], [], {}
    for i in range(len(sizes) - 1):
        for key, shape in ((f"W.{i}", (sizes[i + 1], sizes[i])), (f"b.{i}", (sizes[i + 1],))):
            if key not in a:
                raise SpecError("is missing", key, source=src)
            if a[key].shape != shape:
                raise SpecError(f"has shape {a[key].shape}, the spec's network needs "
                                f"{shape}", key, source=src)
        W.append(np.array(a[f"W.{i}"], dtype=float))
        b.append(np.array(a[f"b.{i}"], dtype=float))
    for l in range(1, len(sizes) - 1):
        kind = net.feedback_of(l).kind
        if kind in ("random", "learned", "direct"):
            key = f"B.{l}"
            src_n = sizes[-1] if kind == "direct" else sizes[l + 1]
            if key not in a or a[key].shape != (sizes[l], src_n):
                raise SpecError(f"feedback matrix of layer {l} ({kind}) is missing or has "
                                f"the wrong shape (needs {(sizes[l], src_n)})", key, source=src)
            B[l] = np.array(a[key], dtype=float)
    return Params(W, b, B)
