"""Compiled forms of the time-stepped simulator's neuron steps (the ``jit`` extra).

With numba installed, an LIF soma (:meth:`~neurolearn.reference.neurons.LIF.spike`)
and a burst layer's step (the soma, its burst spikes, the burst averages and the rate
estimate; ``Network._burst_forward``) run as one loop over the neurons instead of a
dozen numpy calls per layer and step. The per-call cost of those numpy calls, not
their arithmetic, is most of a small layer's step: the 5-seed XOR's 2-200-1 burst
network spends 12 % less CPU with them compiled (56.9 against 64.6 s per seed for
the spec's 800 epochs, side by side; benchmarks/README.md).

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

    @njit
    def burst(a, c_old, d_c, g_c, bias, thr, gain, noise, z, noisy, v, decay, thr_v,
              release, t, n_ref, due, E_bar, B_bar, d_avg, a_avg, x_old, d_x, g_x, out, ev):
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
        # Each formula in a loop of its own, which LLVM vectorises: silent inputs and
        # neurons decay the filters through subnormal numbers (up to a quarter of the
        # XOR's hidden layer at a time), and each of their slow operations then covers
        # a vector of neurons, as in numpy, not one (measured: 19 against 54 us a call).
        for k in range(n):  # the current (Filter), the net input, J
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
            spike = event | (due[k] == t)  # events and the burst spikes falling due
            ev[k] = event
            E[k] = 1.0 if event else 0.0
            s[k] = 1.0 if spike else 0.0
        for k in range(n):
            B[k] = s[k] - E[k]  # exact: 0 or 1, since every event is in the train
        for k in range(n):  # BurstAverages.averages
            E_bar[k] = E_bar[k] * d_avg[k] + a_avg[k] * E[k]
        for k in range(n):
            B_bar[k] = B_bar[k] * d_avg[k] + a_avg[k] * B[k]
        for k in range(n):  # Filter: the rate estimate
            x_new[k] = d_x[k] * x_old[k] + g_x[k] * E[k]

    return lif, burst


def lif_spike(lif, J) -> np.ndarray:
    """:meth:`LIF.spike` compiled: advances ``lif`` in place, returns the spikes."""
    spiked = np.empty(lif.v.shape, dtype=bool)
    _loops()[0](lif.v, J, lif._decay, lif._threshold, lif.release, lif.t, lif.n_ref,
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
    _loops()[1](a, current.x, current._d, current._g, bias, thr,
                ones if gain is None else gain, ones if noise is None else noise,
                a if z is None else z, z is not None,
                soma.v, soma._decay, soma._threshold, soma.release, soma.t, soma.n_ref,
                unit.due, averages.E_bar, averages.B_bar, averages._decay, averages._aa,
                xhat.x, xhat._d, xhat._g, out, ev)
    soma.t += 1
    s, E, B, xhat.x, current.x, net, _ = out
    return s, E, B, ev, net


def _ones(shape) -> np.ndarray:
    ones = _state.setdefault("ones", {}).get(shape)
    if ones is None:
        ones = _state["ones"][shape] = np.ones(shape)
    return ones
