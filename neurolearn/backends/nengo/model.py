"""Lower a spec to a Nengo network and build it for nengo.Simulator.

Layers are Ensembles driven on ``.neurons``; each projection is a Connection whose
transform is W (n_post, n_pre) and whose learning rule is a :class:`SumOfProducts`.
Input and target are Nodes that read the shared stream (neurolearn.reference.stream)
one step at a time, so no per-step arrays are held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import nengo
import numpy as np

from ...reference.stream import example_order, steps_per_example
from .neurons import Identity, layer_neurons
from .rules import Plan, SumOfProducts, add_post_factors


@dataclass
class Built:
    sim: nengo.Simulator
    plan: Plan
    connections: dict   # layer index -> Connection
    probes: dict
    layers: list


def stream_nodes(x, y, sim_cfg, n_steps, seed):
    """Input and target Nodes presenting the stream of reference.stream.input_stream."""
    k = steps_per_example(sim_cfg)
    order = example_order(len(x), -(-n_steps // k), seed)
    dt = sim_cfg.dt

    def index(t):
        return order[min(int(round(t / dt)) - 1, n_steps - 1) // k]

    inp = nengo.Node(lambda t: x[index(t)], size_out=x.shape[1], label="input")
    tgt = nengo.Node(lambda t: y[index(t)], size_out=y.shape[1], label="target")
    return inp, tgt


def pre_tau(spec):
    taus = {f.tau for t in spec.rule.resolved_terms() for f in t.factors if f.kind == "pre"}
    return taus.pop() if len(taus) == 1 else None


def build(spec, params, x, y, n_steps, seed, *, spiking=False, rate=400.0, synapse=None,
          act_synapse=None, record_every=None, probe_spikes=False, optimize=True) -> Built:
    """Build the network for ``n_steps`` steps of the stream over (x, y).

    ``synapse``: Lowpass tau of the forward connections (None: same step);
    ``act_synapse``: filter of activities used by post factors, outputs and (when the
    rule gives no tau) pre traces; None for rate neurons.
    """
    net_spec = spec.network
    dt = spec.simulation.dt
    layers = [layer_neurons(layer, i, spiking=spiking, rate=rate,
                            max_rate=spec.simulation.max_rate)
              for i, layer in enumerate(net_spec.layers[1:], start=1)]
    tau = pre_tau(spec)
    pre_syn = nengo.Lowpass(tau) if tau else act_synapse
    fwd_syn = nengo.Lowpass(synapse) if synapse else None
    act_syn = nengo.Lowpass(act_synapse) if act_synapse else None
    if isinstance(pre_syn, (int, float)):
        pre_syn = nengo.Lowpass(pre_syn)
    L = len(layers)
    eta = [spec.rule.eta] * (L - 1) + [spec.rule.eta_output or spec.rule.eta]
    probes = {}
    with nengo.Network(seed=seed, label=spec.name) as net:
        inp, tgt = stream_nodes(x, y, spec.simulation, n_steps, seed)
        ens = [nengo.Ensemble(n, 1, neuron_type=ln.neuron_type, gain=np.full(n, ln.gain),
                              bias=np.full(n, ln.bias), label=layer.name)
               for n, ln, layer in zip(net_spec.sizes[1:], layers, net_spec.layers[1:])]
        plan = Plan(spec, params, layers, ens, act_syn)
        # learning needs a neural pre: the input is a layer of Identity neurons
        src = nengo.Ensemble(net_spec.sizes[0], 1, neuron_type=Identity(),
                             gain=np.ones(net_spec.sizes[0]), bias=np.zeros(net_spec.sizes[0]),
                             label=net_spec.layers[0].name)
        nengo.Connection(inp, src.neurons, synapse=None)
        prev = src.neurons
        for l in range(1, L + 1):
            rule = None
            if net_spec.layers[l].plastic:
                rule = SumOfProducts(eta[l - 1], plan, l, pre_synapse=pre_syn)
            conn = nengo.Connection(prev, ens[l - 1].neurons, transform=params.W[l - 1].copy(),
                                    synapse=fwd_syn, learning_rule_type=rule)
            plan.connections[l] = conn
            prev = ens[l - 1].neurons
        probes["output"] = nengo.Probe(ens[-1].neurons, synapse=act_syn)
        probes["output_J"] = nengo.Probe(ens[-1].neurons, "input")
        if record_every:
            every = record_every * dt
            for l, conn in plan.connections.items():
                if net_spec.layers[l].plastic:
                    probes[("W", l)] = nengo.Probe(conn, "weights", sample_every=every)
                    probes[("dW", l)] = nengo.Probe(conn.learning_rule, "delta",
                                                    sample_every=every)
        if probe_spikes and spiking:
            for l in range(1, L + 1):
                if layers[l - 1].spiking:
                    probes[("spikes", l)] = nengo.Probe(ens[l - 1].neurons)
    model = nengo.builder.Model(dt=dt, label=spec.name)
    model.build(net)
    add_post_factors(model, plan, tgt)
    sim = nengo.Simulator(None, model=model, seed=seed, progress_bar=False,
                          optimize=optimize)
    return Built(sim, plan, plan.connections, probes, layers)


def learned_weights(built) -> dict:
    """Weights after the last step's update: the weights signal plus the pending delta
    (Nengo applies a step's delta at the start of the next one)."""
    sim = built.sim
    out = {}
    for l, conn in built.connections.items():
        W = np.array(sim.signals[sim.model.sig[conn]["weights"]])
        if conn.learning_rule is not None:
            W = W + sim.signals[sim.model.sig[conn.learning_rule]["delta"]]
        out[l] = W
    return out
