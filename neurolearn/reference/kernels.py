"""Compiled forms of the time-stepped simulator's steps (the ``jit`` extra).

With numba installed, these run as loops instead of a dozen numpy calls each: an LIF
soma (:meth:`~neurolearn.reference.neurons.LIF.spike`); a layer's whole step from its
filtered input, burst layers (soma, burst spikes, burst averages, rate estimate;
``Network._burst_forward``) and plain LIF layers (:func:`lif_layer`); own spike traces
(``Network._traces``); spike-triggered terms with one row per copy
(``terms.CompiledTerm.add_to``) and their sparse application (``terms.add_sparse``).
The per-call cost of numpy calls, not their arithmetic, is most of a small layer's
step: the 5-seed XOR's burst network spends 12 % less CPU with its layer steps
compiled (56.9 against 64.6 s per seed for the spec's 800 epochs, side by side), and
the pair-STDP network of the Brian2 comparison (784-256-10) about a third less
(benchmarks/README.md).

Same meaning, bit for bit: each loop does the numpy code's IEEE operations in the same
order on the same operands (``(v - J) * decay + J``, ``d * x + g * s``) and numba
compiles without fast-math, so nothing is reassociated or contracted into fused
multiply-adds. tests/test_kernels.py checks every output and state array against the
numpy path, step by step and over whole training runs.

The numpy path stays the fallback: without numba, with ``NEUROLEARN_JIT=0`` in the
environment, or for arrays the loops do not take (other shapes, dtypes or layouts).
:func:`use` switches it for a block (tests and benchmarks).
"""

from __future__ import annotations

import importlib.util
import os
from collections import namedtuple
from contextlib import contextmanager

import numpy as np

EXTRA = "jit"
ENV = "NEUROLEARN_JIT"  # "0": the numpy path even where numba is installed

_state = {"on": None, "loops": None}


class JitUnavailable(ImportError):
    def __init__(self):
        super().__init__("compiled neuron steps need numba, which is not installed: "
                         f"pip install 'neurolearn[{EXTRA}]'")


def available() -> bool:
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # e.g. sys.modules["numba"] = None
        return False


def active() -> bool:
    """Whether neuron steps run compiled: numba is installed and not switched off."""
    on = _state["on"]
    if on is None:
        on = _state["on"] = os.environ.get(ENV, "1") != "0" and available()
    return on


@contextmanager
def use(flag: bool):
    """Run the block with the compiled steps on (``True``; numba must be installed) or
    off, then restore the setting."""
    if flag and not available():
        raise JitUnavailable()
    before = active()
    _state["on"] = bool(flag)
    try:
        yield
    finally:
        _state["on"] = before


def fits(J, v) -> bool:
    """The loops take float64 C-contiguous currents of the state's shape (no
    broadcasting); anything else goes the numpy way."""
    return (type(J) is np.ndarray and J.shape == v.shape and J.dtype == np.float64
            and J.flags.c_contiguous)


def warm(ndim: int = 3):
    """Load (or compile) the loops for arrays of ``ndim`` axes now, when the steps
    will run compiled: numba's import and cache load take about half a second, which
    belongs to building a network, not to its first step (the simulator calls this
    from ``Network.reset``). Once per process and ndim."""
    if not active() or ndim in _state.setdefault("warm", set()):
        return
    loops = _loops()
    shape = (1,) * ndim
    f = lambda: np.zeros(shape)  # noqa: E731  (the dtypes of the real calls)
    i, b = (lambda: np.zeros(shape, dtype=np.int64)), np.zeros(shape, dtype=bool)  # noqa: E731
    loops.lif(f(), f(), f(), f() + 1.0, i(), 0, 0, b)
    loops.layer(f(), f(), f(), f(), f(), f(), f(), f(), f(), False, f(), f(), f() + 1.0,
                i(), 0, 0, True, i(), f(), f(), f(), f(), f(), f(), f(),
                np.empty((7, *shape)), b)
    for reset in (False, True):
        loops.trace(f(), f(), f(), f(), reset, f(), f())
    if ndim == 3:  # the simulator's weights: (copies, post, pre)
        two, three, idx = np.zeros((1, 1)), np.zeros((1, 1, 1)), np.zeros(1, dtype=np.int64)
        for spiked in (loops.rows, loops.cols):
            spiked(two, 1.0, np.ones(1), False, two, three, three, False, idx, idx.copy())
        for add in (loops.apply_rows, loops.apply_cols):
            add(three, three.copy(), idx, idx)
    _state["warm"].add(ndim)


def _loops():
    loops = _state["loops"]
    if loops is None:
        loops = _state["loops"] = _compile()
    return loops


def _compile():
    try:
        return _define(cache=True)
    except RuntimeError:  # numba finds no writable cache directory: compile per process
        return _define(cache=False)


def _define(cache: bool):
    import numba

    # cache: compiled once per machine (in __pycache__, or numba's user cache where
    # the package is read-only), not once per process (sweep workers, CLI runs)
    njit = numba.njit(cache=cache, nogil=True)

    @njit
    def lif(v, J, decay, thr, release, t, n_ref, spiked):
        v, J, decay, thr = v.reshape(-1), J.reshape(-1), decay.reshape(-1), thr.reshape(-1)
        release, spiked = release.reshape(-1), spiked.reshape(-1)
        for k in range(v.size):
            x = (v[k] - J[k]) * decay[k] + J[k]
            x = 0.0 if release[k] > t else x  # clamped
            s = x >= thr[k]
            v[k] = 0.0 if s else x
            release[k] = t + 1 + n_ref if s else release[k]
            spiked[k] = s

    # Each formula in a loop of its own, which LLVM vectorises: silent inputs and
    # neurons decay the filters through subnormal numbers (up to a quarter of the XOR's
    # hidden layer at a time), and each of their slow operations then covers a vector
    # of neurons, as in numpy, not one (measured: 19 against 54 us a call). One loop
    # serves burst and plain LIF layers (``burst`` says which): the formulas are
    # written out here, not in shared helpers, because numba's cache does not keep a
    # function that calls another defined here (it recompiled them in every process,
    # 3 s each time).
    @njit
    def layer(a, c_old, d_c, g_c, bias, thr, gain, noise, z, noisy, v, decay, thr_v,
              release, t, n_ref, burst, due, E_bar, B_bar, d_avg, a_avg, x_old, d_x, g_x,
              out, ev):
        n = v.size
        a, c_old, d_c, g_c, bias = (a.reshape(-1), c_old.reshape(-1), d_c.reshape(-1),
                                    g_c.reshape(-1), bias.reshape(-1))
        thr, gain, noise, z = thr.reshape(-1), gain.reshape(-1), noise.reshape(-1), \
            z.reshape(-1)
        v, decay, thr_v = v.reshape(-1), decay.reshape(-1), thr_v.reshape(-1)
        release, due, ev = release.reshape(-1), due.reshape(-1), ev.reshape(-1)
        E_bar, B_bar = E_bar.reshape(-1), B_bar.reshape(-1)
        d_avg, a_avg = d_avg.reshape(-1), a_avg.reshape(-1)
        x_old, d_x, g_x = x_old.reshape(-1), d_x.reshape(-1), g_x.reshape(-1)
        rows = out.reshape(7, n)
        s, E, B, x_new, c_new, net, J = rows[0], rows[1], rows[2], rows[3], rows[4], \
            rows[5], rows[6]
        for k in range(n):  # the current (Filter), the net input, J (Network._current)
            c_new[k] = d_c[k] * c_old[k] + g_c[k] * a[k]
        for k in range(n):
            net[k] = c_new[k] + bias[k]
        for k in range(n):  # a gain or noise of 1 comes as ones: times 1 is exact
            J[k] = thr[k] + gain[k] * net[k]
        if noisy:
            for k in range(n):
                J[k] = J[k] + noise[k] * z[k]
        for k in range(n):  # the soma (lif above) and the train
            x = (v[k] - J[k]) * decay[k] + J[k]
            x = 0.0 if release[k] > t else x
            event = x >= thr_v[k]
            v[k] = 0.0 if event else x
            release[k] = t + 1 + n_ref if event else release[k]
            # a burst layer's train: its events and the burst spikes falling due
            spike = event | (burst and due[k] == t)
            ev[k] = event
            E[k] = 1.0 if event else 0.0
            s[k] = 1.0 if spike else 0.0
        if burst:
            for k in range(n):
                B[k] = s[k] - E[k]  # exact: 0 or 1, since every event is in the train
            for k in range(n):  # BurstAverages.averages
                E_bar[k] = E_bar[k] * d_avg[k] + a_avg[k] * E[k]
            for k in range(n):
                B_bar[k] = B_bar[k] * d_avg[k] + a_avg[k] * B[k]
        for k in range(n):  # Filter: the rate estimate
            x_new[k] = d_x[k] * x_old[k] + g_x[k] * E[k]

    @njit
    def trace(x, d, jump, s, reset, old, new):
        """Network._traces, one spike trace: old = d x, then new = jump where s > 0
        (reset) or old + jump s."""
        x, d, jump, s = x.reshape(-1), d.reshape(-1), jump.reshape(-1), s.reshape(-1)
        old, new = old.reshape(-1), new.reshape(-1)
        for k in range(x.size):
            old[k] = d[k] * x[k]
        if reset:
            for k in range(x.size):
                new[k] = jump[k] if s[k] > 0 else old[k]
        else:
            for k in range(x.size):
                new[k] = old[k] + jump[k] * s[k]

    # Spike-triggered terms (terms.CompiledTerm.add_to with one row per copy): the
    # change of the rows (columns) where the sparse side is not zero, each entry the
    # numpy gather's (p c) q, times the syn factor if any, added into acc; the indices
    # go to g_out and k_out (add_sparse applies them later). -1: too dense, numpy
    # takes the dense product (the same threshold as the numpy path: a quarter).
    @njit
    def rows(P, c, cg, per_copy, Q, acc, S, has_s, g_out, k_out):
        G, n_post = P.shape
        m = 0
        for g in range(G):
            for i in range(n_post):
                if P[g, i] != 0.0:  # NaN too, as numpy's nonzero
                    g_out[m], k_out[m] = g, i
                    m += 1
        if m * 4 >= P.size:
            return -1
        for k in range(m):  # rows and scalars as locals: stores into acc could alias
            g, i = g_out[k], k_out[k]  # the index arrays for all LLVM knows
            a, q, row, s = P[g, i] * (cg[g] if per_copy else c), Q[g], acc[g, i], S[g, i]
            for j in range(q.size):
                x = a * q[j]
                if has_s:
                    x = x * s[j]
                row[j] += x
        return m

    @njit
    def cols(P, c, cg, per_copy, Q, acc, S, has_s, g_out, k_out):
        G, n_pre = Q.shape
        m = 0
        for g in range(G):
            for j in range(n_pre):
                if Q[g, j] != 0.0:
                    g_out[m], k_out[m] = g, j
                    m += 1
        if m * 4 >= Q.size:
            return -1
        start = 0
        while start < m:  # one copy's columns at a time (runs of equal g)
            g, end = g_out[start], start
            while end < m and g_out[end] == g:
                end += 1
            js, qs = k_out[start:end].copy(), np.empty(end - start)
            for k in range(js.size):
                qs[k] = Q[g, js[k]]
            # row by row, its columns within it: a column walks a page per entry (a
            # TLB miss each), and local copies of the indices and q values spare the
            # reloads LLVM makes after each store (every entry is written once, so the
            # order changes no bit)
            for i in range(P.shape[1]):
                a, row, s = P[g, i] * (cg[g] if per_copy else c), acc[g, i], S[g, i]
                for k in range(js.size):
                    x = a * qs[k]
                    if has_s:
                        x = x * s[js[k]]
                    row[js[k]] += x
            start = end
        return m

    @njit
    def apply_rows(target, acc, g, idx):  # add_sparse: target += acc, acc <- 0 there
        for k in range(g.size):
            t, a = target[g[k], idx[k]], acc[g[k], idx[k]]
            for j in range(t.size):
                t[j] += a[j]
                a[j] = 0.0

    @njit
    def apply_cols(target, acc, g, idx):
        start, m = 0, g.size
        while start < m:  # as cols above
            gg, end = g[start], start
            while end < m and g[end] == gg:
                end += 1
            js = idx[start:end].copy()
            for i in range(target.shape[1]):
                t, a = target[gg, i], acc[gg, i]
                for k in range(js.size):
                    t[js[k]] += a[js[k]]
                    a[js[k]] = 0.0
            start = end

    return _Loops(lif, layer, trace, rows, cols, apply_rows, apply_cols)


_NONE = np.zeros(1)  # no per-copy coefficients
_Loops = namedtuple("_Loops", "lif layer trace rows cols apply_rows apply_cols")


def lif_spike(lif, J) -> np.ndarray:
    """:meth:`LIF.spike` compiled: advances ``lif`` in place, returns the spikes."""
    spiked = np.empty(lif.v.shape, dtype=bool)
    _loops().lif(lif.v, J, lif._decay, lif._threshold, lif.release, lif.t, lif.n_ref,
                spiked)
    lif.t += 1
    return spiked


def burst_layer(unit, averages, xhat, current, bias, a, thr, gain, noise, z):
    """A burst layer's step compiled (``Network._burst_forward``): the current filter
    ``current(a)``, net = that + ``bias``, J = thr + gain * net (+ noise * z; gain and
    noise None for 1), ``unit.spike(J)`` (a BurstNeuron), the train's events and bursts
    as floats, ``averages.averages(E, B)`` and ``xhat(E)``; returns (train, E, B,
    events as booleans, net) and leaves the filters' new values in ``current.x`` and
    ``xhat.x`` (new arrays, as the numpy filter makes)."""
    soma, shape = unit.soma, a.shape
    ones = _ones(shape) if gain is None or noise is None else None
    out, ev = np.empty((7, *shape)), np.empty(shape, dtype=bool)
    _loops().layer(a, current.x, current._d, current._g, bias, thr,
                   ones if gain is None else gain, ones if noise is None else noise,
                   a if z is None else z, z is not None,
                   soma.v, soma._decay, soma._threshold, soma.release, soma.t, soma.n_ref,
                   True, unit.due, averages.E_bar, averages.B_bar, averages._decay,
                   averages._aa, xhat.x, xhat._d, xhat._g, out, ev)
    soma.t += 1
    s, E, B, xhat.x, current.x, net, _ = out
    return s, E, B, ev, net


def lif_layer(unit, xhat, current, bias, a, thr, gain, noise, z):
    """A plain LIF layer's step compiled (``Network._forward_spiking``'s full step):
    the current, net and J as in :func:`burst_layer`, ``unit.spike(J)`` (an LIF) as
    0/1 floats E, and ``xhat(E)``; returns (E, net)."""
    shape = a.shape
    ones = _ones(shape) if gain is None or noise is None else None
    out, spiked = np.empty((7, *shape)), np.empty(shape, dtype=bool)
    # no bursts: the burst arguments are placeholders the loop does not read
    _loops().layer(a, current.x, current._d, current._g, bias, thr,
                   ones if gain is None else gain, ones if noise is None else noise,
                   a if z is None else z, z is not None,
                   unit.v, unit._decay, unit._threshold, unit.release, unit.t, unit.n_ref,
                   False, unit.release, a, a, a, a, xhat.x, xhat._d, xhat._g, out, spiked)
    unit.t += 1
    _, E, _, xhat.x, current.x, net, _ = out
    return E, net


def trace(x, d, jump, s, reset: bool):
    """One spike trace's step (``Network._traces``): (old, new) with old = d x and new
    = jump where s > 0 (``reset``) or old + jump s; d and jump arrays of x's shape."""
    old, new = np.empty_like(x), np.empty_like(x)
    (_state["loops"] or _loops()).trace(x, d, jump, s, reset, old, new)
    return old, new


def _ones(shape) -> np.ndarray:
    ones = _state.setdefault("ones", {}).get(shape)
    if ones is None:
        ones = _state["ones"][shape] = np.ones(shape)
    return ones


def spiked_term(kind: str, P, c, Q, acc, S):
    """A spike-triggered term's sparse change, compiled (``CompiledTerm.add_to``, one
    row per copy; ``kind`` "rows" or "cols"): P (G, n_post) and Q (G, n_pre) the two
    sides, c the coefficient (a float, or (G,) one per copy), acc (G, n_post, n_pre)
    the accumulator, S the syn factor or None. Returns (g, idx) where acc changed, or
    None when the sparse side is too dense for a sparse update (nothing was added)."""
    P, Q = np.ascontiguousarray(P), np.ascontiguousarray(Q)
    rows = kind == "rows"
    gi = np.empty((2, P.size if rows else Q.size), dtype=np.int64)
    loops = _state["loops"] or _loops()
    per_copy = type(c) is np.ndarray
    m = (loops.rows if rows else loops.cols)(
        P, 0.0 if per_copy else float(c), c if per_copy else _NONE, per_copy, Q, acc,
        acc if S is None else S, S is not None, gi[0], gi[1])
    return None if m < 0 else (gi[0, :m], gi[1, :m])


def apply_sparse(kind: str, target, acc, g, idx):
    """``terms.add_sparse`` for one entry, compiled: target += acc and acc <- 0 on
    those rows (``kind`` "rows") or columns of those copies."""
    loops = _state["loops"] or _loops()
    (loops.apply_rows if kind == "rows" else loops.apply_cols)(target, acc, g, idx)


def fits_terms(a) -> bool:
    """The term loops take float64 C-contiguous (copies, post, pre) arrays."""
    return (type(a) is np.ndarray and a.ndim == 3 and a.dtype == np.float64
            and a.flags.c_contiguous)
