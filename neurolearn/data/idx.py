"""IDX files (MNIST, Fashion-MNIST), plain or gzipped, found where Debian puts them."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..errors import NeurolearnError, cut

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


class DataError(NeurolearnError):
    """A malformed data file; names the file and what is wrong with it."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        super().__init__(f"{path}: {reason}")


N_CLASSES = 10  # MNIST and Fashion-MNIST
# Machine: the largest IDX set known (MNIST train images) is 47 MB unpacked; a file
# that unpacks past 4 GiB is not a data set this toolkit can hold in float64.
MAX_IDX_BYTES = 4 << 30


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read(path: Path) -> bytes:
    try:
        with _open(path) as fh:
            raw = fh.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
        what = "corrupt or truncated gzip data" if path.suffix == ".gz" and not \
            isinstance(err, PermissionError) else "cannot read"
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise DataError(path, f"{what}: {reason}"[:300]) from None
    if len(raw) > MAX_IDX_BYTES:
        raise DataError(path, f"unpacks to more than {MAX_IDX_BYTES >> 30} GiB (limit "
                              f"MAX_IDX_BYTES)")
    return raw


def load_idx(path) -> np.ndarray:
    """Read one IDX file into an array (magic: 0, 0, dtype code, number of dims)."""
    path = Path(path)
    raw = _read(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DataError(path, "not an IDX file (bad magic number)")
    ndim = raw[3]
    if ndim == 0:
        raise DataError(path, "IDX header gives 0 dimensions")
    if len(raw) < 4 + 4 * ndim:
        raise DataError(path, f"truncated IDX header ({len(raw)} bytes for {ndim} "
                              f"dimensions)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[raw[2]])
    body = len(raw) - 4 - 4 * ndim
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if body != expected:
        what = "truncated IDX file" if body < expected else "IDX file longer than its header"
        raise DataError(path, f"{what}: header says {shape} values of {dtype.itemsize} "
                              f"byte(s) ({expected:,} bytes), found {body:,} bytes")
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    return data.reshape(shape)


def _check_pair(img_path, images, lab_path, labels):
    if images.ndim < 2:
        raise DataError(img_path, f"images must have at least 2 dimensions (count, "
                                  f"pixels...), got shape {images.shape}")
    if images.dtype != np.uint8:
        raise DataError(img_path, f"images must be unsigned bytes (IDX type 0x08), got "
                                  f"{images.dtype}")
    if labels.ndim != 1:
        raise DataError(lab_path, f"labels must be 1-dimensional, got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise DataError(lab_path, f"labels must be integers, got {labels.dtype}")
    if len(labels) != len(images):
        raise DataError(lab_path, f"{len(labels):,} labels for {len(images):,} images in "
                                  f"{img_path.name}")
    if len(labels) == 0:
        raise DataError(lab_path, "holds no examples")
    bad = np.flatnonzero((labels < 0) | (labels >= N_CLASSES))
    if bad.size:
        raise DataError(lab_path, f"label {int(labels[bad[0]])} at index {int(bad[0])} is "
                                  f"outside 0..{N_CLASSES - 1}")


def _file_in(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        try:
            if (folder / name).is_file():
                return folder / name
        except OSError:  # a name the system refuses (too long) holds no file
            pass
    return None


def find_idx_dir(dataset: str, path: str | None = None) -> Path:
    """The folder holding the dataset's four IDX files, or a clear error. A folder
    the spec names (data.path) is the only place looked: a typo there must not train
    on another copy found elsewhere."""
    if path:
        folder = Path(path)
        missing = [s for s in FILES if not _file_in(folder, s)]
        if missing:
            raise DataNotFound(
                f"data.path: {cut(path)} does not hold the {dataset} IDX files (missing: "
                f"{', '.join(missing)}, each with or without .gz); point it at the folder "
                f"that holds all four, or leave it unset to look in NEUROLEARN_DATA and "
                f"{', '.join(SEARCH_DIRS.get(dataset, [])) or 'nowhere else'}")
        return folder
    candidates = []
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
    paths = [_file_in(folder, s) for s in FILES]
    xtr, ytr, xte, yte = (load_idx(p) for p in paths)
    _check_pair(paths[0], xtr, paths[1], ytr)
    _check_pair(paths[2], xte, paths[3], yte)
    if xtr.shape[1:] != xte.shape[1:]:
        raise DataError(paths[2], f"test images are {xte.shape[1:]}, training images "
                                  f"{xtr.shape[1:]} ({paths[0].name})")
    return xtr, ytr, xte, yte
