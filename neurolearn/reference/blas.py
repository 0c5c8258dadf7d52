"""C = alpha op(A) op(B) + beta C in single precision, through the BLAS numpy uses.

numpy's ``matmul`` has no beta, so a momentum update written with it makes four
passes over the weight matrix (dW, mu v, v + dW, W + v); GEMM's beta folds the first
three into the product. scipy exposes ``sgemm``, but from its own OpenBLAS, whose
thread pool then competes with numpy's for the cores: on the shared 2-core machine
that made the float32 trainer 3-8x slower with 2 threads (benchmarks/README.md).
So this module calls ``cblas_sgemm`` in the OpenBLAS that numpy itself loaded (one
thread pool), found next to numpy; where there is none (another BLAS, another
platform), :func:`sgemm` is None and the trainer keeps numpy's four-pass sequence.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _load():
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libopenblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name, int_t in (("cblas_sgemm64_", ctypes.c_int64), ("cblas_sgemm", ctypes.c_int)):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = None
                fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, int_t, int_t, int_t,
                               ctypes.c_float, ctypes.c_void_p, int_t, ctypes.c_void_p, int_t,
                               ctypes.c_float, ctypes.c_void_p, int_t]
                return fn
    return None


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
