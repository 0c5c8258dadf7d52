"""The ``nengo`` backend: a spec compiled to a Nengo model run on nengo.Simulator.

Learning is a custom ``LearningRuleType`` (:class:`.rules.SumOfProducts`) with builder
operators registered through ``nengo.builder.Builder.register``. Timing is Nengo's
own; its reference is :mod:`neurolearn.reference.schedules.nengo`.

Options of ``simulate``/``run``: ``spiking`` (default: whether the spec has lif
layers; relu layers become SpikingRectifiedLinear, lif layers LIF instead of LIFRate), ``rate`` (Hz per unit
of activity of spiking relu, default 400), ``synapse`` (Lowpass tau of forward
connections; spiking default 0.002), ``act_synapse`` (filter of activities read by
the learning rule; spiking default 0.005).
"""

from __future__ import annotations

import time

import numpy as np

from ...errors import UnsupportedRule
from ...rules.compat import refuse_offsets
from ...result import RunResult, Trace

NAME = "nengo"
REFERENCE_SCHEDULE = "nengo"
RATE_MODELS = ("sigmoid", "tanh", "relu", "linear", "burst_rate")
POST_SIGNALS = ("error_drive", "burst_prob_dev", "activity")
PRE_SIGNALS = ("activity",)


def capabilities() -> dict:
    return {
        "rules": ["delta (transport, random, direct, learned)", "kolen_pollack",
                  "burstprop_rate", "user terms over pre.activity x post.{error_drive, "
                  "burst_prob_dev, activity} x syn.w"],
        "neuron_models": list(RATE_MODELS) + ["lif", "relu as SpikingRectifiedLinear "
                                              "(spiking=True)"],
        "precisions": ["float"],
        "unsupported": {
            "burstprop": "the spiking burst/event rule needs two-compartment burst "
                         "neurons with separate burst and event trains; Nengo neurons "
                         "have one output. Run it on numpy or lava",
            "neuron model 'burst'": "no Nengo neuron type for the two-compartment burst "
                                    "neuron; numpy or lava",
            "post signals activity_sq_avg, burst, pbar_event, event": "not lowered; numpy",
            "fixed precision": "nengo.Simulator is float64; use lava or numpy (fixed)",
            "t_epoch > 1": "Nengo applies every step's delta; numpy",
        },
    }


def check(spec, precision="float") -> None:
    """Raise UnsupportedRule for what this backend cannot run."""
    from ...rules.phases import refuse_phases
    refuse_phases(spec, NAME, "the nengo model runs Connections learning every step "
                  "in simulation.teach's window, with fixed feedback transforms")
    rule = spec.rule.display_name
    if precision != "float":
        raise UnsupportedRule(NAME, f"precision {precision!r}",
                              "nengo.Simulator computes in float64 only",
                              "lava or numpy (precision fixed)")
    post = spec.rule.signals("post")
    if post & {"burst", "pbar_event", "event"}:
        raise UnsupportedRule(
            NAME, f"rule {rule!r} (spiking burst-dependent plasticity)",
            "it needs the burst and event trains of two-compartment burst neurons, which "
            "no Nengo neuron type produces (a Nengo neuron has one output and a learning "
            "rule sees only that)",
            "numpy (neurolearn.reference.simulator) or lava; or use burstprop_rate here")
    bad = post - set(POST_SIGNALS)
    if bad:
        raise UnsupportedRule(NAME, f"rule {rule!r} (post signal {sorted(bad)[0]!r})",
                              "that post factor is not lowered to Nengo operators", "numpy")
    bad = spec.rule.signals("pre") - set(PRE_SIGNALS)
    if bad:
        raise UnsupportedRule(NAME, f"rule {rule!r} (pre signal {sorted(bad)[0]!r})",
                              "only presynaptic activity traces are lowered", "numpy")
    taus = {f.tau for t in spec.rule.resolved_terms() for f in t.factors if f.kind == "pre"}
    if len(taus) > 1:
        raise UnsupportedRule(NAME, f"rule {rule!r}", "its terms use different pre time "
                              "constants; a Nengo connection has one pre filter", "numpy")
    if spec.rule.t_epoch != 1:
        raise UnsupportedRule(NAME, f"rule {rule!r} with t_epoch = {spec.rule.t_epoch}",
                              "Nengo applies each step's delta on the next step", "numpy")
    for i, layer in enumerate(spec.network.layers[1:], start=1):
        if layer.neuron.model == "burst":
            raise UnsupportedRule(
                NAME, f"neuron model 'burst' (network.layers[{i}].neuron.model)",
                "no Nengo neuron type has the soma/apical burst and event outputs",
                "numpy (neurolearn.reference.simulator) or lava")
    refuse_offsets(spec, NAME)


def _defaults(spec, options):
    # lif layers are spiking unless spiking=False; relu ones only with spiking=True
    spiking = bool(options.get("spiking", spec.network.spiking))
    return dict(spiking=spiking, rate=float(options.get("rate", 400.0)),
                synapse=options.get("synapse", 0.002 if spiking else None),
                act_synapse=options.get("act_synapse", 0.005 if spiking else None))


def _dataset(spec, dataset):
    if dataset is not None:
        return dataset
    from ...data import load_dataset
    return load_dataset(spec.data, spec.training.seed)


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, dataset=None,
             params=None, **options) -> Trace:
    """Time-stepped run on nengo.Simulator; see the module docstring for options."""
    from ...reference.params import init_params
    from ...reference.stream import input_stream
    from .model import build
    check(spec, precision)
    opts = _defaults(spec, options)
    seed = spec.training.seed if seed is None else seed
    ds = _dataset(spec, dataset)
    params = params or init_params(spec.network, spec.training.seed)
    t0 = time.perf_counter()
    built = build(spec, params, ds.x_train, ds.y_train, steps, seed, record_every=record_every,
                  probe_spikes=True, **opts)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with built.sim:
        built.sim.run_steps(steps)
    wall = time.perf_counter() - t0
    data = built.sim.data
    net = spec.network
    weights = {}
    for l in built.connections:
        if ("W", l) in built.probes:
            weights[net.layers[l].name] = data[built.probes[("W", l)]] + \
                data[built.probes[("dW", l)]]
    n_rec = steps // record_every
    weights = {k: v[:n_rec] for k, v in weights.items()}
    _, Y = input_stream(ds.x_train[:, :0], ds.y_train, spec.simulation, steps, seed)
    if spec.training.loss == "cross_entropy":
        a = (data[built.probes["output_J"]] - built.layers[-1].bias) / built.layers[-1].gain
        z = np.exp(a - a.max(axis=1, keepdims=True))
        outputs = z / z.sum(axis=1, keepdims=True)
    else:
        outputs = np.array(data[built.probes["output"]])
    spikes = {}
    k = max(1, int(round(spec.simulation.t_example / spec.simulation.dt)))
    for key, p in built.probes.items():
        if isinstance(key, tuple) and key[0] == "spikes":
            spikes[net.layers[key[1]].name] = (data[p][:k] > 0).astype(float)
    return Trace(backend=NAME, schedule=REFERENCE_SCHEDULE, precision="float",
                 steps=np.arange(1, n_rec + 1) * record_every, weights=weights,
                 outputs=outputs, errors=outputs - Y, spikes=spikes, wall_seconds=wall,
                 extra={"build_seconds": build_s, "sim_seconds_per_wall_second":
                        steps * spec.simulation.dt / wall, **{
                            k: v for k, v in opts.items()}})


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, **options):
    """Train on the spec's data set, one example per t_example, on nengo.Simulator."""
    from .train import train
    check(spec, precision)
    return train(spec, backend=NAME, epochs=epochs, quiet=quiet, dataset=dataset,
                 **_defaults(spec, options))
