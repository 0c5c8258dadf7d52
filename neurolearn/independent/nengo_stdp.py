"""STDP protocols on nengo: the reference's protocol network (:mod:`.stdp`) lowered by
the nengo backend and run on a plain ``nengo.Simulator`` (or on its emulator, the
reference network with nengo's LIF step under nengo's schedule).

A nengo Connection's synapse runs in nengo's 'update' mode, so a spike reaches the
next layer one step after it was sent: the driver spikes of the protocol are sent one
step earlier and the post units then spike on the protocol's steps. The learning
operator pairs a presynaptic spike of step t with a postsynaptic one of step t' from
the layers' own spike trains (no delay), so the weight changes equal the reference's
to rounding.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .stdp import Pairing, check_post_spikes, protocol_network


def nengo_protocol(pairings: list[Pairing], params, kind: str = "pair", dt: float = 0.001,
                   max_rate: float = 200.0):
    """(spec, NengoProgram, Params, input raster for nengo) of the protocol network:
    one example as long as the protocol, plastic throughout, its change applied at
    its end; the drivers one step early (the Connection's delay)."""
    from ..backends.nengo import lower
    spec, P, x = protocol_network(pairings, params, dt, max_rate, kind)
    steps = len(x)
    spec = spec.with_(simulation=replace(spec.simulation, t_example=steps * dt, teach=1.0))
    n = len(pairings)
    x_nengo = x.copy()
    x_nengo[:, n:] = np.roll(x[:, n:], -1, axis=0)
    return spec, lower(spec), P, x_nengo


def _runtime(program, P, x):
    """(post spikes (steps, n), learned W) of the raster on nengo.Simulator."""
    import nengo

    from ..backends.nengo.frontend import LearningNetwork
    from ..backends.nengo.runtime import RasterStream, learned_params
    n_out = program.layers[-1].size
    net = LearningNetwork(program, P, RasterStream(x, n_out, program), seed=0)
    with net:
        probe = nengo.Probe(net.populations[-1].neurons)
    with nengo.Simulator(net, dt=program.dt, progress_bar=False) as sim:
        sim.run_steps(len(x))
        post = (np.asarray(sim.data[probe]) > 0).astype(float)
        W = learned_params(sim, net).W[0]
    return post, W


def _emulator(spec, program, P, x):
    from ..backends.nengo.emulator import NengoNetwork
    net = NengoNetwork(spec, params=P, schedule=program.schedule)
    y = np.zeros((1, program.layers[-1].size))
    post = np.zeros((len(x), y.shape[1]))
    for t in range(len(x)):
        post[t] = net.step(x[t:t + 1], y)[2][-1][0]
    net.apply()  # the protocol is one example: its change applied at its end
    return post, net.params.W[0]


def weight_changes(pairings: list[Pairing], params, kind: str = "pair", dt: float = 0.001,
                   max_rate: float = 200.0, engine: str = "runtime") -> np.ndarray:
    """Weight change of each pairing's synapse on nengo (``engine`` "runtime") or its
    emulator ("emulator"); checks that every post unit spiked on its protocol's
    steps."""
    if engine not in ("runtime", "emulator"):
        raise ValueError(f"engine must be 'runtime' or 'emulator', got {engine!r}")
    spec, program, P, x = nengo_protocol(pairings, params, kind, dt, max_rate)
    W0 = P.W[0].copy()
    if engine == "runtime":
        post, W = _runtime(program, P, x)
    else:
        post, W = _emulator(spec, program, P, x)
    check_post_spikes(post, pairings, f"nengo {engine}")
    n = len(pairings)
    return W[np.arange(n), np.arange(n)] - W0[np.arange(n), np.arange(n)]
