"""The ``nengo-loihi`` backend: a spec as a PES composition on nengo-loihi's emulator.

See :mod:`.compose` for the mapping (post factors in host Nodes, PES on chip) and its
compile-time checks. Runs on ``target='sim'`` (the bit-level Loihi emulator, the
default) or ``target='simreal'`` (the same model in float, no quantisation), which
separates quantisation from architecture. Global nengo defaults are never touched
(no ``nengo_loihi.set_defaults``); initial voltages are set per Ensemble.

Options: ``target`` ('sim' | 'simreal'), ``rate`` (Hz per unit of activity of the
on-chip rate code, default 300, must stay < 500), ``pre_tau`` (PES pre trace, whole
steps, default 0.005 s), ``synapse`` (decoded-output filter, default 0.005 s),
``wgt_exp`` (learned-weight exponent; default: chosen so the initial weights use
about half of the 8-bit range), ``frozen`` (layer indices that do not learn).

Timing differs from nengo.Simulator (chip/host pipelining, decode neurons, learning
every 4 steps), so the emulator is graded in the statistical tier against the rate
reference of :mod:`neurolearn.reference.schedules.nengo`.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ...errors import UnsupportedRule
from ...rules.compat import refuse_offsets
from ...result import Trace

NAME = "nengo-loihi"
REFERENCE_SCHEDULE = "nengo"
TARGETS = ("sim", "simreal")


def capabilities() -> dict:
    return {
        "rules": ["delta with random (FA) or direct (DFA) feedback",
                  "burstprop_rate with random or direct feedback"],
        "neuron_models": ["sigmoid", "tanh", "relu", "linear", "burst_rate "
                          "(f computed in host Nodes; the chip carries a rate code of "
                          "SpikingRectifiedLinear neurons)"],
        "precisions": ["float (the emulator quantises as Loihi does: 8-bit weights, "
                       "7-bit traces, errors on a 0.01 grid)"],
        "targets": list(TARGETS),
        "unsupported": {
            "transport / learned (Kolen-Pollack) feedback": "needs the chip's learned "
            "forward weights on the host every step; nengo-loihi cannot read them while "
            "running. Run on nengo",
            "burstprop (spiking)": "no burst neurons or burst/event traces; numpy or lava",
            "syn.w terms, pre signals other than activity": "PES is pre trace x error only; "
            "nengo",
            "lif / burst neuron models": "nonlinearities are host Nodes over decoded "
            "currents; nengo (lif) or numpy/lava (burst)",
            "fixed precision": "use lava or numpy",
        },
    }


def _dataset(spec, dataset):
    if dataset is not None:
        return dataset
    from ...data import load_dataset
    return load_dataset(spec.data, spec.training.seed)


class Runner:
    """Build, check, and step one composition; reads learned weights from the chip."""

    def __init__(self, spec, x, y, n_steps, seed, *, params=None, target="sim", rate=300.0,
                 pre_tau=0.005, synapse=0.005, wgt_exp=None, frozen=(), settle=0.0,
                 precision="float"):
        import nengo_loihi
        from ...reference.params import init_params
        from . import compose as C
        if precision != "float":
            raise UnsupportedRule(NAME, f"precision {precision!r}", "the emulator's "
                                  "quantisation is Loihi's own; precision is not a choice",
                                  "lava or numpy (precision fixed)")
        refuse_offsets(spec, NAME)
        if target not in TARGETS:
            raise UnsupportedRule(NAME, f"target {target!r}", "real Loihi needs Intel's "
                                  "NxSDK, which is not installable; the emulator is "
                                  f"{TARGETS}", "target='sim'")
        dt = spec.simulation.dt
        C.check_spec(spec, rate=rate, pre_tau=pre_tau, dt=dt, x_max=float(np.max(x)))
        if float(np.min(x)) < 0:
            raise UnsupportedRule(NAME, f"data set inputs (min {np.min(x):g})",
                                  "the on-chip rate code needs inputs >= 0", "nengo")
        self.spec = spec
        self.params = params or init_params(spec.network, spec.training.seed)
        exp = 4 if wgt_exp is None else int(wgt_exp)
        for attempt in range(2):
            comp = C.build(spec, self.params, x, y, n_steps, seed, rate=rate, pre_tau=pre_tau,
                           synapse=synapse, frozen=frozen, settle=settle)
            model = nengo_loihi.builder.Model(dt=dt, label=spec.name)
            model.pes_wgt_exp = exp
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sim = nengo_loihi.Simulator(comp.network, dt=dt, seed=seed, model=model,
                                            target=target, progress_bar=False)
            reader = C.WeightReader(sim.model, comp)
            try:
                head = C.check_built(sim, reader, caught)
            except UnsupportedRule:
                sim.close()
                raise
            if wgt_exp is not None or not head or attempt == 1 or target != "sim":
                break
            # set the learned-weight exponent so the initial weights use ~1/2 of the range
            shift = int(np.round(np.log2(0.5 / max(head.values()))))
            if shift <= 0:
                break
            sim.close()
            exp = max(exp - shift, -6)
        self.comp, self.sim, self.reader, self.headroom, self.wgt_exp = \
            comp, sim, reader, head, exp
        self.target = target

    def weights(self) -> dict:
        return self.reader.weights()

    def close(self):
        self.sim.close()


def _quiet():
    warnings.filterwarnings("ignore", message=".*ndim > 0 to a scalar.*")
    warnings.filterwarnings("ignore", message=".*invalid value encountered in cast.*")


def simulate(spec, *, steps, precision="float", seed=None, record_every=None, dataset=None,
             params=None, **options) -> Trace:
    """Time-stepped run on the emulator; weights are read from the chip state every
    ``record_every`` steps (default: at the start and the end only)."""
    from ...reference.stream import input_stream
    seed = spec.training.seed if seed is None else seed
    ds = _dataset(spec, dataset)
    record_every = record_every or steps
    with warnings.catch_warnings():
        _quiet()
        t0 = time.perf_counter()
        r = Runner(spec, ds.x_train, ds.y_train, steps, seed, params=params,
                   precision=precision, **options)
        build_s = time.perf_counter() - t0
        names = {l: spec.network.layers[l].name for l in r.reader.syn}
        rec = {n: [] for n in names.values()}
        wall = 0.0
        try:
            done = 0
            while done < steps:
                n = min(record_every, steps - done)
                t0 = time.perf_counter()
                r.sim.run_steps(n)
                wall += time.perf_counter() - t0
                done += n
                if done % record_every == 0:
                    W = r.weights()
                    for l, name in names.items():
                        rec[name].append(W[l])
            outputs = np.array(r.sim.data[r.comp.probes["output"]])
        finally:
            r.close()
    _, Y = input_stream(ds.x_train[:, :0], ds.y_train, spec.simulation, steps, seed)
    n_rec = steps // record_every
    state = r.comp.state
    return Trace(backend=NAME, schedule="nengo-loihi " + r.target, precision="float",
                 steps=np.arange(1, n_rec + 1) * record_every,
                 weights={k: np.array(v) for k, v in rec.items()}, outputs=outputs,
                 errors=outputs - Y, wall_seconds=wall,
                 extra={"build_seconds": build_s, "target": r.target,
                        "sim_seconds_per_wall_second": steps * spec.simulation.dt / wall,
                        "pes_wgt_exp": r.wgt_exp, "weight_headroom": r.headroom,
                        "error_gain": r.comp.error_gain, "current_scale": r.comp.a_scale,
                        "errors_clipped_fraction": state["clipped"] / max(state["sent"], 1)})


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, **options):
    """Train on the spec's data set on the emulator (one example per t_example)."""
    from ..nengo.train import train

    def build_fn(spec_, params, x, y, n_steps, seed, **opts):
        r = Runner(spec_, x, y, n_steps, seed, params=params, precision=precision, **opts)
        from types import SimpleNamespace
        from ..nengo.neurons import layer_neurons
        layers = [layer_neurons(layer, i, spiking=False, rate=1.0)
                  for i, layer in enumerate(spec_.network.layers[1:], start=1)]
        return SimpleNamespace(sim=r.sim, runner=r, layers=layers)

    with warnings.catch_warnings():
        _quiet()
        return train(spec, backend=NAME, epochs=epochs, quiet=quiet, dataset=dataset,
                     build_fn=build_fn, weights_fn=lambda b: b.runner.weights(), **options)
