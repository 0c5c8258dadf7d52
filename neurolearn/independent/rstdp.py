"""Reward-modulated STDP: NEST's ``stdp_dopamine_synapse`` conventions, an open-loop
protocol, and the reference's run of it (written in the rule IR).

NEST's model (models/stdp_dopamine_synapse.h, Izhikevich 2007; Potjans et al. 2010),
per synapse, with an eligibility trace c, a dopamine trace n and the weight w:

- c decays with tau_c; at a post spike c += A_plus K_plus (the pre trace, tau_plus,
  +1 per pre spike); at a pre spike c -= A_minus K_minus (the post neuron's trace,
  tau_minus);
- n decays with tau_n; each dopamine spike reaching the synapse's volume transmitter
  adds (multiplicity) / tau_n;
- dw/dt = c (n - b), integrated exactly between events; w is clipped to [Wmin, Wmax]
  at every update.

In the rule IR the same model is a tag and one weight term (:func:`reference_rule`):
the tag (tau = tau_c) is pair STDP with spike traces, ``+A_plus pre.spike_trace`` at
post spikes and ``-A_minus post.spike_trace`` at pre spikes; the weight term is
``syn.tag * global.reward`` with eta = dt, the third factor being n - b, which the
task delivers (here: the protocol's dopamine trace, sampled at each step after its
spikes). So the reference adds dt c_k (n_k - b) per step, a left Riemann sum of
NEST's integral: the two differ by O(dt / tau) (:func:`exact_increments` integrates
the reference's own c_k and n_k exactly, which NEST's weight equals to rounding).
The reference has no weight bounds: the protocol stays inside NEST's.

Times: protocol spikes are steps on the dt grid; step k covers [k dt, (k+1) dt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..reference.params import Params
from ..reference.schedule import Schedule
from ..reference.simulator import Network as _RefNetwork
from ..rules.ir import (Data, Factor, Layer, Network, Neuron, Reward, Rule, Simulation,
                        Spec, Tag, Term, Training)


@dataclass(frozen=True)
class DopaSTDP:
    """stdp_dopamine_synapse's parameters (s, NEST's defaults but tau_c: 1 s there)."""
    a_plus: float = 1.0
    a_minus: float = 1.5
    tau_plus: float = 0.020
    tau_minus: float = 0.020     # a parameter of the post neuron in NEST
    tau_c: float = 0.2
    tau_n: float = 0.2
    b: float = 0.0
    w_min: float = -1e6
    w_max: float = 1e6

    @property
    def tau_s(self) -> float:
        """1 / (1/tau_c + 1/tau_n): the time constant of the product c n."""
        return self.tau_c * self.tau_n / (self.tau_c + self.tau_n)


@dataclass
class DopaProtocol:
    """Per synapse k: its pre and post spike steps; shared by all synapses: the
    dopamine spike steps and multiplicities (one volume transmitter); ``steps`` in all."""
    pre: list
    post: list
    dopa: np.ndarray
    multiplicity: np.ndarray
    steps: int
    w0: float = 1.0

    def __post_init__(self):
        self.pre = [np.asarray(p, dtype=np.int64) for p in self.pre]
        self.post = [np.asarray(p, dtype=np.int64) for p in self.post]
        self.dopa = np.asarray(self.dopa, dtype=np.int64)
        self.multiplicity = np.asarray(self.multiplicity, dtype=np.int64)
        for p, q in zip(self.pre, self.post):
            if np.intersect1d(p, q).size:
                raise ValueError("a pre and a post spike in the same step: NEST and the "
                                 "reference pair them differently (see independent/stdp.py)")

    @property
    def n(self) -> int:
        return len(self.pre)

    def refined(self, factor: int) -> "DopaProtocol":
        """The same spike times on a grid ``factor`` times finer."""
        return DopaProtocol([p * factor for p in self.pre], [p * factor for p in self.post],
                            self.dopa * factor, self.multiplicity, self.steps * factor,
                            self.w0)


def random_protocol(seed: int = 0, n: int = 4, duration: float = 2.0, dt: float = 0.001,
                    rate: float = 20.0, rewards=((0.5, 3), (1.1, 5), (1.6, 2)),
                    tonic: float = 0.0) -> DopaProtocol:
    """``n`` synapses with Poisson pre and post trains at ``rate`` Hz (same-step
    coincidences removed) for ``duration`` s; dopamine: ``tonic`` Hz regular spikes
    plus, for each (time s, count), a burst of ``count`` spikes in one step."""
    rng = np.random.default_rng(seed)
    steps = int(round(duration / dt))
    pre, post = [], []
    for _ in range(n):
        a = np.flatnonzero(rng.random(steps - 1) < rate * dt)
        b = np.flatnonzero(rng.random(steps - 1) < rate * dt)
        b = np.setdiff1d(b, a)
        pre.append(a)
        post.append(b)
    times = {}
    if tonic > 0:
        period = int(round(1.0 / (tonic * dt)))
        for s in range(period // 2, steps - 1, period):
            times[s] = times.get(s, 0) + 1
    for t, count in rewards:
        s = int(round(t / dt))
        if not 0 <= s < steps:
            raise ValueError(f"reward time {t} s is outside the protocol (0, {duration}) s")
        times[s] = times.get(s, 0) + int(count)
    dopa = np.array(sorted(times), dtype=np.int64)
    mult = np.array([times[s] for s in dopa], dtype=np.int64)
    return DopaProtocol(pre, post, dopa, mult, steps)


def dopamine_trace(protocol: DopaProtocol, params: DopaSTDP, dt: float) -> np.ndarray:
    """n at each step, after that step's dopamine spikes (NEST's jump m / tau_n)."""
    d = np.exp(-dt / params.tau_n)
    jumps = np.zeros(protocol.steps)
    np.add.at(jumps, protocol.dopa, protocol.multiplicity / params.tau_n)
    n = np.zeros(protocol.steps)
    x = 0.0
    for k in range(protocol.steps):
        x = d * x + jumps[k]
        n[k] = x
    return n


def reference_rule(params: DopaSTDP, dt: float) -> Rule:
    """R-STDP in the rule IR with NEST's conventions (module docstring)."""
    tag = Tag(params.tau_c, [
        Term([Factor("pre", "spike_trace", params.tau_plus)], params.a_plus, "post_spike"),
        Term([Factor("post", "spike_trace", params.tau_minus)], -params.a_minus,
             "pre_spike")])
    return Rule(name="rstdp_dopamine", eta=dt, tag=tag,
                terms=[Term([Factor("syn", "tag"), Factor("global", "reward")])])


class _Imposed(_RefNetwork):
    """The reference network with the third factor imposed by the protocol (as the
    driver units impose the post spikes): global.reward = n_k - b at step k."""

    third: np.ndarray = None

    def _reward_step(self, readout, y, err, teach):
        k = self.n_steps
        return {"reward": np.full((len(readout), 1), self.third[k])}, np.zeros_like(err)


def reference_run(protocol: DopaProtocol, params: DopaSTDP, dt: float = 0.001,
                  max_rate: float = 200.0) -> dict:
    """The reference's run: {"c": (steps, n) tags, "n": (steps,), "w": (steps, n)}
    after each step. The network is :func:`neurolearn.independent.stdp.reference_weight_changes`'
    (pre units, driver units that make post unit k spike at its protocol's steps)."""
    n = protocol.n
    dt_small = dt / 20.0
    lif = Neuron("lif", tau_rc=dt_small, tau_ref=0.0, threshold=1.0, tau_syn=dt_small)
    spec = Spec(name="independent_rstdp",
                network=Network(layers=[Layer("pre", 2 * n),
                                        Layer("post", n, lif, bias=False)]),
                rule=reference_rule(params, dt), data=Data("digits"),
                training=Training(batch_size=1),
                simulation=Simulation(dt=dt, t_example=dt, max_rate=max_rate, teach=1.0),
                reward=Reward())
    g_syn = -np.expm1(-dt / dt_small) / (dt * max_rate)
    # the driver weights learn too (every synapse of the layer does); so large that
    # their changes never move a post spike (checked below)
    offset, j_drive = -1e6, 1e6
    W0 = np.zeros((n, 2 * n))
    W0[np.arange(n), np.arange(n)] = protocol.w0
    W0[np.arange(n), n + np.arange(n)] = (j_drive - lif.threshold - offset) / g_syn
    net = _Imposed(spec, params=Params([W0.copy()], [np.full(n, offset)], {}),
                   schedule=Schedule("per-step updates", apply="step"))
    net.third = dopamine_trace(protocol, params, dt) - params.b
    x = np.zeros((protocol.steps, 2 * n))
    for k in range(n):
        x[protocol.pre[k], k] = 1.0
        x[protocol.post[k], n + k] = 1.0
    y = np.zeros((1, n))
    idx = np.arange(n)
    out = {"c": np.zeros((protocol.steps, n)), "w": np.zeros((protocol.steps, n)),
           "n": net.third + params.b}
    post = np.zeros((protocol.steps, n))
    for t in range(protocol.steps):
        _, _, spikes = net.step(x[t:t + 1], y)
        post[t] = spikes[-1][0]
        out["c"][t] = net.tags[0][0][idx, idx]  # tags stacked over copies (one here)
        out["w"][t] = net.params.W[0][idx, idx]
    for k in range(n):
        got = np.flatnonzero(post[:, k])
        if not np.array_equal(got, protocol.post[k]):
            raise RuntimeError(f"reference post unit {k} did not spike at its protocol's "
                               f"steps (first difference: "
                               f"{sorted(set(got) ^ set(protocol.post[k]))[:3]})")
    return out


def exact_increments(c, n, params: DopaSTDP, dt: float) -> np.ndarray:
    """Per step, the exact integral over the step of c(t) (n(t) - b) from the values
    c_k, n_k at its start (both decay exponentially within it): NEST's update."""
    ts, tc = params.tau_s, params.tau_c
    return c * (n[:, None] * ts * -np.expm1(-dt / ts) - params.b * tc * -np.expm1(-dt / tc))


@dataclass
class Comparison:
    """The figures of one reference-NEST comparison (absolute)."""
    c: float                  # max |c_ref - c_nest| (steps without a pre spike)
    n: float                  # max |n_ref - n_nest|
    w: float                  # max |w_ref - w_nest| (reference: Riemann sum)
    w_exact: float            # max |exact integral of the reference's c, n - w_nest|
    w_change: float           # max |w_nest - w0| (the scale)


def compare(ref: dict, nest: dict, protocol: DopaProtocol, params: DopaSTDP,
            dt: float) -> Comparison:
    """NEST's row t is read at the end of step t, i.e. at the start of step t + 1:
    its c and n are the reference's after step t + 1 (the jumps at t + 1 included),
    except that NEST applies a pre spike's depression when that spike is delivered,
    after the read (so c is compared at steps without a pre spike); its w has
    integrated steps 0..t, as the reference's w after step t."""
    pre_at = np.zeros((protocol.steps, protocol.n), dtype=bool)
    for k, p in enumerate(protocol.pre):
        pre_at[p, k] = True
    ok = ~pre_at[1:] & ~np.isnan(nest["c"][:-1])   # rows NEST read
    exact = protocol.w0 + np.cumsum(exact_increments(ref["c"], ref["n"], params, dt), axis=0)
    read = ~np.isnan(nest["w"])
    return Comparison(
        c=float(np.abs(ref["c"][1:] - nest["c"][:-1])[ok].max()),
        n=float(np.nanmax(np.abs(ref["n"][1:] - nest["n"][:-1]))),
        w=float(np.abs(ref["w"] - nest["w"])[read].max()),
        w_exact=float(np.abs(exact - nest["w"])[read].max()),
        w_change=float(np.abs(nest["w"] - protocol.w0)[read].max()))
