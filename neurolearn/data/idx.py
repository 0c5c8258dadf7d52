"""IDX files (MNIST, Fashion-MNIST), plain or gzipped, found where Debian puts them."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..errors import NeurolearnError

# Debian's dataset-fashion-mnist installs here; MNIST has no Debian package.
SEARCH_DIRS = {
    "fashion_mnist": ["/usr/share/datasets/fashion-mnist"],
    "mnist": ["/usr/share/datasets/mnist"],
}
HOW_TO_GET = {
    "fashion_mnist": "install Debian's package: apt-get install dataset-fashion-mnist, "
                     "or set data.path (or NEUROLEARN_DATA) to a folder holding "
                     "train-images-idx3-ubyte[.gz] and the three other IDX files",
    "mnist": "set data.path (or NEUROLEARN_DATA) to a folder holding "
             "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
             "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]",
}
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
           0x0E: ">f8"}


class DataNotFound(NeurolearnError):
    pass


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def load_idx(path) -> np.ndarray:
    """Read one IDX file into an array (magic: 0, 0, dtype code, number of dims)."""
    path = Path(path)
    with _open(path) as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise NeurolearnError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=_DTYPES[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise NeurolearnError(f"{path}: truncated IDX file: header says {shape}, "
                              f"found {data.size} values")
    return data.reshape(shape)


def _file_in(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_idx_dir(dataset: str, path: str | None = None) -> Path:
    """The folder holding the dataset's four IDX files, or a clear error."""
    candidates = [path] if path else []
    if os.environ.get("NEUROLEARN_DATA"):
        candidates.append(os.path.join(os.environ["NEUROLEARN_DATA"], dataset))
        candidates.append(os.environ["NEUROLEARN_DATA"])
    candidates += SEARCH_DIRS.get(dataset, [])
    for c in candidates:
        folder = Path(c)
        if all(_file_in(folder, s) for s in FILES):
            return folder
    raise DataNotFound(f"{dataset} IDX files not found (looked in "
                       f"{', '.join(map(str, candidates))}): {HOW_TO_GET[dataset]}")


def load_idx_dataset(dataset: str, path: str | None = None):
    folder = find_idx_dir(dataset, path)
    xtr, ytr, xte, yte = (load_idx(_file_in(folder, s)) for s in FILES)
    return xtr, ytr, xte, yte
