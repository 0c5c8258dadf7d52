"""Spike-timing-dependent plasticity: parameters, protocols, and the reference's runs.

Weight changes are given in the textbook form, with traces that jump by 1 at a spike
and decay exponentially (Song, Miller & Abbott 2000; Pfister & Gerstner 2006):

- pair STDP, all-to-all: at a post spike w += a_plus * r1, at a pre spike
  w -= a_minus * o1 (r1: pre trace with tau_plus, o1: post trace with tau_minus), so
  one pair at dt_pair = t_post - t_pre gives a_plus exp(-dt_pair/tau_plus) for
  dt_pair > 0 and -a_minus exp(dt_pair/tau_minus) for dt_pair < 0;
- triplet STDP, all-to-all (Pfister & Gerstner 2006, eqs. 3-4): at a post spike
  w += r1 (a2_plus + a3_plus o2(t-)), at a pre spike w -= o1 (a2_minus + a3_minus r2(t-)),
  r2 and o2 slow traces (tau_x, tau_y) read *before* their own spike's increment;
- nearest-neighbour (symmetric) pair STDP: as pair STDP with traces reset to 1 instead
  of incremented, so a post spike pairs only with the latest pre spike and vice versa.

Same-step convention: in a step where pre and post both spike, the reference updates
every trace before evaluating any term, so dt_pair = 0 gives a_plus - a_minus. The
Brian2 harness is written to the same convention; NEST places the pair differently
(see :mod:`.nest_stdp`).

The reference writes all three in its rule IR, with traces that jump by 1
(``spike_trace``), are set to 1 for nearest-neighbour pairing (``update = "set"``) and
are read just before their own spike where the triplet rule says so (``read =
"before"``); spike-triggered terms (``when = "post_spike"`` / ``"pre_spike"``) add
their value at each spike, so with eta 1 the coefficients are the textbook
amplitudes (:func:`pair_rule`, :func:`triplet_rule`).

Protocols are lists of :class:`Pairing` (one synapse each: its pre and post spike steps
on the dt grid). Every simulator runs all pairings of a protocol in one network, one
synapse per pairing, and returns the weight change of each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reference.params import Params
from ..reference.simulator import Network as _RefNetwork
from ..rules.ir import (Data, Factor, Layer, Network, Neuron, Rule, Simulation, Spec,
                        Term, Training)

KINDS = ("pair", "nearest", "triplet")


@dataclass(frozen=True)
class PairSTDP:
    """Additive pair STDP (defaults: Song, Miller & Abbott 2000, A-/A+ = 1.05)."""
    a_plus: float = 0.005
    a_minus: float = 0.00525
    tau_plus: float = 0.020
    tau_minus: float = 0.020

    def window(self, dt_pair):
        """Weight change of a single pair at dt_pair = t_post - t_pre (s)."""
        x = np.asarray(dt_pair, dtype=float)
        return np.where(x > 0, self.a_plus * np.exp(-np.abs(x) / self.tau_plus), 0.0) - \
            np.where(x < 0, self.a_minus * np.exp(-np.abs(x) / self.tau_minus), 0.0) + \
            np.where(x == 0, self.a_plus - self.a_minus, 0.0)


@dataclass(frozen=True)
class TripletSTDP:
    """All-to-all triplet STDP; defaults: Pfister & Gerstner 2006, visual cortex data
    (Sjostrom et al. 2001), all-to-all full model; the same values are NEST's defaults
    of stdp_triplet_synapse."""
    a2_plus: float = 5e-10
    a3_plus: float = 6.2e-3
    a2_minus: float = 7e-3
    a3_minus: float = 2.3e-4
    tau_plus: float = 0.0168
    tau_minus: float = 0.0337
    tau_x: float = 0.101
    tau_y: float = 0.125


@dataclass
class Pairing:
    """One synapse's protocol: pre and post spike steps (sorted, on the dt grid)."""
    pre: np.ndarray
    post: np.ndarray

    def __post_init__(self):
        self.pre = np.asarray(self.pre, dtype=np.int64)
        self.post = np.asarray(self.post, dtype=np.int64)


def curve_protocol(intervals, dt: float = 0.001, t_post: float = 0.150) -> list[Pairing]:
    """One pre and one post spike per synapse, post at ``t_post``, pre ``interval``
    earlier (intervals in s, t_post - t_pre; multiples of dt)."""
    post = int(round(t_post / dt))
    out = []
    for iv in intervals:
        k = int(round(iv / dt))
        if post - k < 1:
            raise ValueError(f"interval {iv} s puts the pre spike before the start")
        out.append(Pairing([post - k], [post]))
    return out


def frequency_protocol(rho: float, dt_pair: float, n_pairs: int = 60, dt: float = 0.001,
                       start: float = 0.1) -> Pairing:
    """``n_pairs`` pre-post pairs at ``rho`` Hz, post ``dt_pair`` s after pre
    (negative: before), the first pre spike at ``start`` (the Sjostrom et al. 2001 /
    Pfister & Gerstner 2006 frequency protocol)."""
    period = int(round(1.0 / (rho * dt)))
    k = int(round(dt_pair / dt))
    first = int(round(start / dt)) + max(0, -k)
    pre = first + period * np.arange(n_pairs)
    return Pairing(pre, pre + k)


def pair_rule(p: PairSTDP, update: str = "add") -> Rule:
    """Pair STDP in the rule IR: spike traces that jump by 1 (update 'set': are set to
    1, nearest-neighbour), a+ x_pre at each post spike, -a- y_post at each pre spike;
    eta 1 and batch size 1, so each spike-triggered term is the change per event."""
    return Rule(name="stdp_pair" if update == "add" else "stdp_nearest", eta=1.0, terms=[
        Term([Factor("pre", "spike_trace", p.tau_plus, update)], p.a_plus, "post_spike"),
        Term([Factor("post", "spike_trace", p.tau_minus, update)], -p.a_minus,
             "pre_spike")])


def triplet_rule(p: TripletSTDP) -> Rule:
    """Pfister & Gerstner's all-to-all triplet rule in the rule IR: at a post spike
    r1 (A2+ + A3+ o2), at a pre spike -o1 (A2- + A3- r2), the slow traces o2 and r2
    read just before their own spike (Factor.read = 'before')."""
    r1 = Factor("pre", "spike_trace", p.tau_plus)
    r2 = Factor("pre", "spike_trace", p.tau_x, read="before")
    o1 = Factor("post", "spike_trace", p.tau_minus)
    o2 = Factor("post", "spike_trace", p.tau_y, read="before")
    return Rule(name="stdp_triplet", eta=1.0, terms=[
        Term([r1], p.a2_plus, "post_spike"), Term([r1, o2], p.a3_plus, "post_spike"),
        Term([o1], -p.a2_minus, "pre_spike"), Term([o1, r2], -p.a3_minus, "pre_spike")])


def reference_rule(params, kind: str = "pair") -> Rule:
    if isinstance(params, TripletSTDP):
        return triplet_rule(params)
    if isinstance(params, PairSTDP):
        return pair_rule(params, "set" if kind == "nearest" else "add")
    raise TypeError(f"no reference rule for {type(params).__name__}")


def protocol_network(pairings: list[Pairing], params, dt: float = 0.001,
                     max_rate: float = 200.0, kind: str = "pair"):
    """(spec, Params, input raster (steps, 2n)) of the protocol network (see
    :func:`reference_weight_changes`): pre units 0..n-1, driver units n..2n-1, n LIF
    post units, the rule of :func:`reference_rule` on every weight."""
    n = len(pairings)
    dt_small = dt / 20.0
    lif = Neuron("lif", tau_rc=dt_small, tau_ref=0.0, threshold=1.0, tau_syn=dt_small)
    spec = Spec(name="independent_stdp",
                network=Network(layers=[Layer("pre", 2 * n),
                                        Layer("post", n, lif, bias=False)]),
                rule=reference_rule(params, kind), data=Data("digits"),
                training=Training(batch_size=1),
                simulation=Simulation(dt=dt, max_rate=max_rate))
    g_syn = -np.expm1(-dt / dt_small) / (dt * max_rate)  # the synaptic current's jump
    offset, j_drive = -1000.0, 500.0
    W0 = np.zeros((n, 2 * n))
    W0[np.arange(n), n + np.arange(n)] = (j_drive - lif.threshold - offset) / g_syn
    steps = 2 + max(int(max(p.pre.max(initial=0), p.post.max(initial=0))) for p in pairings)
    x = np.zeros((steps, 2 * n))
    for k, p in enumerate(pairings):
        x[p.pre, k] = 1.0
        x[p.post, n + k] = 1.0
    return spec, Params([W0], [np.full(n, offset)], {}), x


def check_post_spikes(post, pairings, who: str = "reference"):
    """Every post unit k spiked exactly at its protocol's steps (post: (steps, n))."""
    for k, p in enumerate(pairings):
        got = np.flatnonzero(post[:, k])
        if not np.array_equal(got, np.sort(p.post)):
            raise RuntimeError(f"{who} post unit {k} spiked {len(got)} times, not at "
                               f"its protocol's {len(p.post)} steps (first difference: "
                               f"{sorted(set(got) ^ set(p.post))[:3]})")


def backend_weight_changes(pairings: list[Pairing], params, dt: float = 0.001,
                           max_rate: float = 200.0, kind: str = "pair",
                           variant: str = "numpy") -> np.ndarray:
    """The protocol network of :func:`reference_weight_changes` lowered by the Brian2
    *backend* (the rule IR to equations and on_pre/on_post code), the input spikes
    imposed on its input layer; the weight change of each pairing's synapse."""
    from dataclasses import replace
    from ..backends.brian2.lower import lower
    from ..backends.brian2.runtime import Session
    from ..backends.brian2.task import Plan
    spec, p0, x = protocol_network(pairings, params, dt, max_rate, kind)
    steps = len(x)
    # one example as long as the protocol, plastic throughout (the Plan's k and n_teach)
    spec = spec.with_(simulation=replace(spec.simulation, t_example=steps * dt, teach=1.0))
    n = len(pairings)
    program = lower(spec, params=p0, variant=variant)
    stub = type("Stub", (), {"x_train": np.zeros((1, 2 * n)), "y_train": np.zeros((1, n))})
    sess = Session(program, Plan(spec, stub, 1, 0, program.k, program.n_teach),
                   variant, record_steps=steps, inputs=x)
    sess.run_steps(steps)
    check_post_spikes(sess.spikes["post"], pairings, "brian2 backend")
    W = sess.params().W[0]
    return W[np.arange(n), np.arange(n)] - p0.W[0][np.arange(n), np.arange(n)]


def reference_weight_changes(pairings: list[Pairing], params, dt: float = 0.001,
                             max_rate: float = 200.0, kind: str = "pair") -> np.ndarray:
    """Weight change of each pairing's synapse in the NumPy reference.

    The network is the reference's own: an input layer of n pre units and n driver
    units, an output layer of n LIF units, the rule of :func:`reference_rule` on every
    weight. Post unit k spikes exactly when driver k does: the post units have
    tau_rc = dt/20 (v follows J within a step), a fixed offset b = -1000 keeps them far
    below threshold, the driver weight lifts J to about 500 when the driver spikes, and
    the feedforward trace (tau_syn = dt/20) is gone a step later. So the plastic weights
    would have to change by hundreds to move a post spike; the function checks that
    every post unit spiked exactly at its protocol's steps. Only w[k, k] (pre k -> post
    k) is read."""
    n = len(pairings)
    spec, P, x = protocol_network(pairings, params, dt, max_rate, kind)
    W0 = P.W[0].copy()
    net = _RefNetwork(spec, params=P)
    steps = len(x)
    y = np.zeros((1, n))
    post = np.zeros((len(x), n))
    for t in range(len(x)):
        _, _, spikes = net.step(x[t:t + 1], y)
        post[t] = spikes[-1][0]
    check_post_spikes(post, pairings)
    net.apply()  # the protocol is one example: its summed changes, applied at its end
    W = net.params.W[0]
    return W[np.arange(n), np.arange(n)] - W0[np.arange(n), np.arange(n)]


def check_kind(kind: str, params):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    want = TripletSTDP if kind == "triplet" else PairSTDP
    if not isinstance(params, want):
        raise TypeError(f"kind {kind!r} takes {want.__name__} parameters, "
                        f"got {type(params).__name__}")
