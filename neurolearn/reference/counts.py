"""Operation counts of a time-stepped reference run, for the energy and latency
estimates of neurolearn.hardware.estimate (whose docstring defines each count)."""

from __future__ import annotations

from ..errors import SpecError, UnsupportedRule
from ..hardware.check import ERROR_POST
from ..hardware.estimate import Counts
from .simulator import simulate, teach_steps
from .stream import steps_per_example


def _check_spiking(spec):
    if not spec.network.spiking:
        raise UnsupportedRule("the estimate", f"rate network {spec.name!r}",
                              "it counts the spikes of a time-stepped run, and rate "
                              "(graded-spike) execution on a chip is not modelled",
                              "a spec with lif or burst neurons")


def count(spec, *, samples: int = 20, params=None, dataset=None,
          weights: str = "initial", learning_epoch: int = 1) -> Counts:
    """Operation counts per sample from a time-stepped reference run (the counts are
    defined in neurolearn.hardware.estimate's docstring)."""
    from ..rules.phases import is_phased
    if is_phased(spec):  # phases and settling loops: reference/phased_counts.py
        from .phased_counts import count_phased
        _check_epoch(learning_epoch)
        return count_phased(spec, samples=samples, params=params, dataset=dataset,
                            weights=weights)
    _check_spiking(spec)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SpecError(f"must be a positive integer, got {samples!r}", "--samples")
    k = steps_per_example(spec.simulation)
    trace = simulate(spec, steps=samples * k, params=params, dataset=dataset,
                     record_every=samples * k)
    return count_from_trace(spec, trace, samples, weights=weights,
                            learning_epoch=learning_epoch)


def count_from_trace(spec, trace, samples: int, *, weights: str = "initial",
                     learning_epoch: int = 1) -> Counts:
    """The counts of :func:`count` from a reference Trace already made (its spikes of
    the first ``samples`` examples: ``samples * k`` steps)."""
    _check_spiking(spec)
    net = spec.network
    k = steps_per_example(spec.simulation)
    n_steps = samples * k
    names = [layer.name for layer in net.layers]
    sizes = net.sizes
    L = len(sizes) - 1
    if samples < 1 or any(len(trace.spikes[n]) < n_steps for n in names):
        raise SpecError(f"the trace holds fewer than {samples} whole samples of {k} steps",
                        "samples")
    spikes = {n: float(trace.spikes[n][:n_steps].sum()) / samples for n in names}
    comps = [s * (2 if layer.neuron.bursts else 1) for s, layer in zip(sizes, net.layers)]
    _check_epoch(learning_epoch)
    n_teach = teach_steps(spec.simulation)
    # the learning engine visits every synapse once per learning epoch; neurolearn's
    # lowerings learn every step (1), an on-chip schedule may choose a longer epoch
    epochs_per_sample = -(-n_teach // learning_epoch)
    error_rule = bool(spec.rule.signals("post") & ERROR_POST)
    per_layer = {}
    for l in range(1, L + 1):
        layer = net.layers[l]
        syn = spikes[names[l - 1]] * sizes[l]
        upd = fb = 0.0
        if layer.plastic:
            upd = sizes[l] * (sizes[l - 1] + (1 if layer.bias else 0)) * epochs_per_sample
            if error_rule:
                if l == L:
                    fb = sizes[L] * n_teach
                else:
                    src = L if net.feedback_of(l).kind == "direct" else l + 1
                    fb = sizes[l] * sizes[src] * n_teach
        per_layer[names[l]] = {"synaptic_op": syn, "feedback_op": fb,
                               "neuron_update": float(comps[l] * k),
                               "synaptic_update": float(upd), "spike": spikes[names[l]]}
    inference = {"synaptic_op": sum(v["synaptic_op"] for v in per_layer.values()),
                 "neuron_update": sum(v["neuron_update"] for v in per_layer.values()),
                 "synaptic_update": 0.0,
                 "spike": sum(v["spike"] for v in per_layer.values())}
    training = dict(inference)
    training["synaptic_op"] += sum(v["feedback_op"] for v in per_layer.values())
    training["synaptic_update"] = sum(v["synaptic_update"] for v in per_layer.values())
    return Counts(k, samples, spikes, per_layer, inference, training, weights)


def _check_epoch(learning_epoch) -> None:
    if isinstance(learning_epoch, bool) or not isinstance(learning_epoch, int) or \
            not 1 <= learning_epoch <= 63:
        raise SpecError(f"must be an integer in 1..63 (a Loihi learning epoch), got "
                        f"{learning_epoch!r}", "--learning-epoch")
