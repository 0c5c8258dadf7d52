"""C = alpha op(A) op(B) + beta C (and y += x) in single precision, through the BLAS
numpy uses.

numpy's ``matmul`` has no beta or output to accumulate into, so a momentum update
written with it makes four passes over the weight matrix (dW, mu v, v + dW, W + v);
GEMM accumulating into C (beta = 1) folds the first three into the product (the
trainer keeps the velocity scaled for that: reference/trainer.py). scipy exposes
``sgemm``, but from its own OpenBLAS, whose thread pool then competes with numpy's
for the cores: on the shared 2-core machine that made the float32 trainer 3-8x
slower with 2 threads (benchmarks/README.md).
So this module calls ``cblas_sgemm`` in the OpenBLAS that numpy itself loaded (one
thread pool), found next to numpy; where there is none (another BLAS, another
platform), :func:`sgemm` is None and the trainer keeps numpy's four-pass sequence.

:func:`add_to` (``y += x``, through ``?axpy`` with alpha 1) and :func:`scale`
(``y *= a``, ``?scal``) are numpy's arithmetic bit for bit (1 x = x, and one product
per element), in float32 and float64: numpy runs them on one core, OpenBLAS splits a
long vector over its threads, and a momentum step makes such a pass over every
weight matrix per batch. Each falls back to numpy where the BLAS cannot take the
arrays (another dtype, not C-contiguous) or was not found. :func:`add_scaled`
(``y += a x``) is ``?axpy`` with its alpha, for the float32 path only.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _library():
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libopenblas*.so*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def _function(lib, name, args):
    """cblas_<name> (64-bit integers where OpenBLAS was built so), with ``args``
    (ctypes types; "int" for BLAS integers), or None."""
    if lib is None:
        return None
    for symbol, int_t in ((f"cblas_{name}64_", ctypes.c_int64), (f"cblas_{name}", ctypes.c_int)):
        fn = getattr(lib, symbol, None)
        if fn is not None:
            fn.restype = None
            fn.argtypes = [int_t if a == "int" else a for a in args]
            return fn
    return None


_LIB = _library()
_F, _P = ctypes.c_float, ctypes.c_void_p


def _load():
    return _function(_LIB, "sgemm", [ctypes.c_int, ctypes.c_int, ctypes.c_int, "int", "int",
                                     "int", _F, _P, "int", _P, "int", _F, _P, "int"])


def _make(fn):
    def sgemm(alpha, a, b, beta, c, trans_a=False, trans_b=False):
        """c <- alpha op(a) op(b) + beta c, in place; a, b, c C-contiguous float32
        matrices, op = transpose where asked."""
        for arr in (a, b, c):
            if arr.dtype != np.float32 or not arr.flags.c_contiguous or arr.ndim != 2:
                raise ValueError("sgemm: C-contiguous float32 matrices only")
        m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
        kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
        if kb != k or c.shape != (m, n):
            raise ValueError(f"sgemm: shapes {a.shape}, {b.shape}, {c.shape} do not match")
        fn(_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS,
           m, n, k, alpha, a.ctypes.data, a.shape[1], b.ctypes.data, b.shape[1], beta,
           c.ctypes.data, c.shape[1])
        return c
    return sgemm


def _checked():
    fn = _load()
    if fn is None:
        return None
    gemm = _make(fn)
    rng = np.random.default_rng(0)  # one small product against numpy's, or no sgemm
    a, b = rng.random((5, 7), dtype=np.float32), rng.random((5, 3), dtype=np.float32)
    c = rng.random((7, 3), dtype=np.float32)
    want = 0.5 * (a.T @ b) + 0.25 * c
    try:
        got = gemm(0.5, a, b, 0.25, c.copy(), trans_a=True)
    except Exception:  # noqa: BLE001 - a foreign library: any failure means none
        return None
    return gemm if np.allclose(got, want, rtol=1e-5, atol=1e-6) else None


sgemm = _checked()


def _vector_ops():
    """{dtype: (axpy, scal)} of the BLAS numpy loaded, each checked bit for bit
    against numpy on a small case (a type whose check fails is left out)."""
    out = {}
    for dtype, prefix, real in ((np.float32, "s", ctypes.c_float),
                                (np.float64, "d", ctypes.c_double)):
        axpy = _function(_LIB, prefix + "axpy", ["int", real, _P, "int", _P, "int"])
        scal = _function(_LIB, prefix + "scal", ["int", real, _P, "int"])
        if axpy is None or scal is None:
            continue
        rng = np.random.default_rng(0)
        y, x = rng.random(7).astype(dtype), rng.random(7).astype(dtype)
        got_add, got_scale = y.copy(), y.copy()
        try:
            axpy(7, 1.0, x.ctypes.data, 1, got_add.ctypes.data, 1)
            scal(7, 0.9, got_scale.ctypes.data, 1)
        except Exception:  # noqa: BLE001 - a foreign library: any failure means none
            continue
        if np.array_equal(got_add, y + x) and np.array_equal(got_scale, y * dtype(0.9)):
            out[np.dtype(dtype)] = (axpy, scal)
    return out


_VECTOR = _vector_ops()


def _blas_for(*arrays):
    """The (axpy, scal) pair for these arrays, or None (numpy then)."""
    ops = _VECTOR.get(arrays[0].dtype)
    if ops is None or any(a.dtype != arrays[0].dtype or not a.flags.c_contiguous
                          for a in arrays):
        return None
    return ops


def add_to(y, x):
    """y += x in place; returns y."""
    return add_scaled(y, 1.0, x)


def add_scaled(y, a: float, x):
    """y += a x in place (``?axpy``; a rounded to y's type); returns y. Where the BLAS
    cannot take the arrays numpy computes it (with a temporary of x's size unless
    a = 1)."""
    ops = _blas_for(y, x) if y.shape == x.shape else None
    if ops is None:
        y += x if a == 1.0 else y.dtype.type(a) * x
    else:
        ops[0](y.size, float(y.dtype.type(a)), x.ctypes.data, 1, y.ctypes.data, 1)
    return y


def scale(y, a: float):
    """y *= a in place (a a Python float, rounded to y's type as numpy does); returns y."""
    ops = _blas_for(y)
    if ops is None:
        y *= a
    else:
        ops[1](y.size, float(y.dtype.type(a)), y.ctypes.data, 1)
    return y


def has_vector_ops(dtype) -> bool:
    """Whether add_to and scale run in BLAS for this dtype here."""
    return np.dtype(dtype) in _VECTOR
