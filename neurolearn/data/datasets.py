"""The built-in tasks, each a deterministic function of its settings and seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray  # targets (one-hot for classification)
    x_test: np.ndarray
    y_test: np.ndarray
    classification: bool

    @property
    def n_in(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_out(self) -> int:
        return self.y_train.shape[1]


def one_hot(labels, n) -> np.ndarray:
    out = np.zeros((len(labels), n))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def xor() -> Dataset:
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    return Dataset("xor", x, y, x.copy(), y.copy(), True)


def linear_teacher(seed: int = 0, n_in: int = 30, n_out: int = 10, n_train: int = 2000,
                   n_test: int = 500, noise: float = 0.0) -> Dataset:
    """Lillicrap et al. 2016, Fig. 1: targets y = T x (+ noise) of a random linear
    teacher T ~ U[-1, 1], inputs x ~ N(0, 1). With noise the error has a floor
    (noise^2), so final errors of two rules can be compared as a ratio."""
    rng = np.random.default_rng([seed, 0x7EAC])  # independent of the network's stream
    teacher = rng.uniform(-1.0, 1.0, (n_out, n_in))
    x = rng.standard_normal((n_train + n_test, n_in))
    y = x @ teacher.T + noise * rng.standard_normal((n_train + n_test, n_out))
    return Dataset("linear_teacher", x[:n_train], y[:n_train], x[n_train:], y[n_train:],
                   False)


def pca_gaussian(seed: int = 0, n_train: int = 2000, n_test: int = 500) -> Dataset:
    """Unsupervised: 5-dimensional Gaussian inputs with a fixed covariance
    C = A A^T / 5 (A ~ N(0, 1) from ``default_rng(1)``, the same for every seed),
    drawn from ``default_rng([seed, 0x0CA])``; targets are 0 (one output, unused
    by local rules). Oja's rule finds C's first principal component."""
    a = np.random.default_rng(1).standard_normal((5, 5))
    chol = np.linalg.cholesky(a @ a.T / 5)
    rng = np.random.default_rng([seed, 0x0CA])
    x = rng.standard_normal((n_train + n_test, 5)) @ chol.T
    y = np.zeros((n_train + n_test, 1))
    return Dataset("pca_gaussian", x[:n_train], y[:n_train], x[n_train:], y[n_train:], False)


def two_patterns(seed: int = 0, n_train: int = 2000) -> Dataset:
    """Unsupervised: patterns A = (1, 1, 0, 0) and B = (0, 0, 1, 1) in random order
    (``default_rng([seed, 0xBC])``); the test set is A then B; targets are 0. A BCM
    neuron becomes selective to one of them."""
    patterns = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], float)
    rng = np.random.default_rng([seed, 0xBC])
    x = patterns[rng.integers(2, size=n_train)]
    return Dataset("two_patterns", x, np.zeros((n_train, 1)), patterns.copy(),
                   np.zeros((2, 1)), False)


def digits() -> Dataset:
    """scikit-learn's 8x8 digits (ships with scikit-learn). Fixed split: every 4th
    image (index % 4 == 0) is a test image: 1347 train, 450 test."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover
        raise SpecError("the digits data set needs scikit-learn: pip install scikit-learn",
                        "data.dataset") from None
    d = load_digits()
    x = d.data / 16.0
    y = one_hot(d.target, 10)
    test = np.arange(len(x)) % 4 == 0
    return Dataset("digits", x[~test], y[~test], x[test], y[test], True)


def idx_dataset(name: str, path: str | None) -> Dataset:
    from .idx import load_idx_dataset
    xtr, ytr, xte, yte = load_idx_dataset(name, path)
    f = lambda a: a.reshape(len(a), -1).astype(np.float64) / 255.0  # noqa: E731
    return Dataset(name, f(xtr), one_hot(ytr, 10), f(xte), one_hot(yte, 10), True)


def _keep_classes(ds: Dataset, classes) -> Dataset:
    """The examples of ``classes`` only, their one-hot targets over those classes."""
    if not ds.classification or ds.n_out < 2:
        raise SpecError(f"data set {ds.name!r} has no classes to choose from",
                        "data.classes")
    bad = [c for c in classes if c >= ds.n_out]
    if bad:
        raise SpecError(f"data set {ds.name!r} has classes 0..{ds.n_out - 1}, got {bad[0]}",
                        "data.classes")

    def keep(x, y):
        labels = y.argmax(axis=1)
        mask = np.isin(labels, classes)
        relabel = {c: i for i, c in enumerate(classes)}
        return x[mask], one_hot([relabel[c] for c in labels[mask]], len(classes))

    xtr, ytr = keep(ds.x_train, ds.y_train)
    xte, yte = keep(ds.x_test, ds.y_test)
    return Dataset(ds.name, xtr, ytr, xte, yte, True)


def load_dataset(data, seed: int = 0) -> Dataset:
    """Load the data set a spec's ``data`` section names."""
    if data.dataset == "xor":
        ds = xor()
    elif data.dataset == "linear_teacher":
        ds = linear_teacher(seed, noise=data.noise)
    elif data.dataset == "digits":
        ds = digits()
    elif data.dataset == "pca_gaussian":
        ds = pca_gaussian(seed)
    elif data.dataset == "two_patterns":
        ds = two_patterns(seed)
    else:
        ds = idx_dataset(data.dataset, data.path)
    if data.classes is not None:
        ds = _keep_classes(ds, data.classes)
    if data.n_train:
        ds.x_train, ds.y_train = ds.x_train[:data.n_train], ds.y_train[:data.n_train]
    if data.n_test:
        ds.x_test, ds.y_test = ds.x_test[:data.n_test], ds.y_test[:data.n_test]
    return ds
