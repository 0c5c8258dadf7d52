"""STDP protocols on Lava: the reference's protocol network (:mod:`.stdp`) lowered by
the Lava backend and run on Lava's stock LearningDense (or its emulator).

Lava's Dense delivers a spike one step after it was sent, so the driver spikes of
the protocol are sent one step earlier: the post units then spike on the protocol's
steps, and the engine pairs a presynaptic spike of step t (x0 at t) with a
postsynaptic one of step t' (y0 at t'), the reference's pairing. Float: the weight
changes equal the reference's to rounding; fixed point: Lava's 8-bit weights and
7-bit traces, graded against the emulator's integer model (0 LSB).

Fixed point needs weights the 8-bit grid resolves: ``max_rate`` sets the driver
weight (~1500 dt max_rate, the largest weight, so W_int = W 2^f with f from it) and
the amplitudes must span several weight LSBs (2^-f); :func:`fixed_point_protocol`
picks both.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..backends.lava import lower
from ..backends.lava.raster import run_raster
from .stdp import PairSTDP, Pairing, check_post_spikes, protocol_network


def lava_program(pairings: list[Pairing], params, kind: str = "pair", dt: float = 0.001,
                 max_rate: float = 200.0, precision: str = "float",
                 variant: str = "stock"):
    """(LavaProgram, input raster for Lava) of the protocol network."""
    spec, P, x = protocol_network(pairings, params, dt, max_rate, kind)
    n = len(pairings)
    steps = len(x)
    # one example of `steps` plastic steps (its change applied at the end)
    spec = spec.with_(simulation=replace(spec.simulation, t_example=steps * dt, teach=1.0))
    x_lava = x.copy()
    x_lava[:, n:] = np.roll(x[:, n:], -1, axis=0)  # drivers one step early (Dense delay)
    # fixed point: the protocol's driver weights stay put, so the finest grid
    # (fixed_point_protocol's LSB assumes it)
    return lower(spec, precision, variant=variant, params=P, weight_headroom=1.0), x_lava


def weight_changes(pairings: list[Pairing], params, kind: str = "pair", dt: float = 0.001,
                   max_rate: float = 200.0, precision: str = "float",
                   engine: str = "runtime", variant: str = "stock",
                   time_limit: float = 300.0) -> np.ndarray:
    """Weight change (float units) of each pairing's synapse, on Lava (``engine``
    "runtime") or its emulator ("emulator"); checks that every post unit spiked on
    its protocol's steps."""
    prog, x = lava_program(pairings, params, kind, dt, max_rate, precision, variant)
    arrays = run_raster(prog, x, engine, time_limit)
    n = len(pairings)
    check_post_spikes(np.asarray(arrays["spk_1"]), pairings, f"lava {engine}")
    W = prog.float_weights(1, np.asarray(arrays["W_1"][-1]))
    W0 = prog.float_weights(1, prog.layers[0].W0)
    return W[np.arange(n), np.arange(n)] - W0[np.arange(n), np.arange(n)]


def fixed_point_protocol(params: PairSTDP = PairSTDP(), lsb_per_a_plus: int = 32,
                         dt: float = 0.001):
    """(params, max_rate, lsb) for a fixed-point pairing run: max_rate 0.5 Hz puts the
    driver weight near 0.75 (so f = 8, one LSB = 2^-8), and the amplitudes are scaled
    so that a+ spans ``lsb_per_a_plus`` LSBs, a-/a+ kept."""
    max_rate = 0.5
    lsb = 2.0 ** -8
    scale = lsb_per_a_plus * lsb / params.a_plus
    return (replace(params, a_plus=params.a_plus * scale, a_minus=params.a_minus * scale),
            max_rate, lsb)
