"""Operation counts of a phased spec (neurolearn.hardware.estimate's Counts): what
its phases and settling loops cost per example.

A phased network is a rate network: every neuron sends one graded message per step
(Loihi 2's graded spikes), charged as a spike, and every message is delivered to
every synapse it drives (a synaptic operation). Per training sample (the phased
reference run on the first ``samples`` examples of the training stream, learning
on, so a settling phase costs the steps its examples actually took):

- steps: the sum over phases of the mean steps taken (a phase with ``settle.tol``
  may stop early); inference: the steps of the phases before the first with the
  teacher (a forward sweep, one step, if there are none);
- messages per step: every neuron of layers 1..L, the input layer's listed and not
  charged (it comes from the host), as for spiking networks;
- synaptic operations per step: the forward projections (n_(l-1) x n_l), and what
  travels down: W^T of the layer above under equilibrium or predictive-coding
  dynamics, a pyramidal layer's apical input (n_src x n_l), the error of an
  error_drive rule on steps with the teacher (n_src x n_l, as the spiking count);
- neuron updates: every compartment every step (pyramidal 3; predictive coding's
  value and error populations 2 per neuron);
- learning-engine updates: every synapse (and bias) of a plastic projection once
  per evaluation of the rule (a rule that reads phases: once per plastic phase;
  else every plastic step), and every synapse of a plastic feedback matrix on
  every step of its phase.
"""

from __future__ import annotations

from ..errors import SpecError
from ..hardware.estimate import Counts
from ..rules.neurons import Pyramidal
from ..rules.phases import dynamics_of, feedback_rules, phases_of


def count_phased(spec, *, samples: int = 20, params=None, dataset=None,
                 weights: str = "initial") -> Counts:
    from ..data import load_dataset
    from .phased import PhasedTrainer
    from .stream import example_order
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SpecError(f"must be a positive integer, got {samples!r}", "--samples")
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    tr = PhasedTrainer(spec, params)
    order = example_order(len(ds.x_train), samples, spec.training.seed)
    tr.compute_updates(ds.x_train[order], ds.y_train[order])  # counts, no update
    taken = tr.settle_steps()
    phases = phases_of(spec)
    net = spec.network
    L = len(net.layers) - 1
    names = [layer.name for layer in net.layers]
    sizes = net.sizes
    dyn = dynamics_of(net)
    k_train = sum(taken[p.name] for p in phases)
    free = tr.free_phases
    k_infer = sum(taken[p.name] for p in free) if free else 1.0
    teach_steps = sum(taken[p.name] for p in phases if p.target)
    reads_phases = tr.per_phase
    evals = sum(1 if reads_phases else taken[p.name] for p in phases if p.plastic)
    fb = feedback_rules(spec)
    error_rule = "error_drive" in spec.rule.signals("post")
    per_value = 2 if dyn.model == "predictive_coding" else 1
    per_layer, spikes = {}, {names[0]: sizes[0] * k_train}
    for l in range(1, L + 1):
        layer = net.layers[l]
        n = sizes[l]
        src = L if l < L and net.feedback_of(l).kind == "direct" else l + 1
        down = 0.0  # synaptic operations per step arriving from above
        if l < L and (dyn.settles or isinstance(layer.neuron, Pyramidal)):
            down = sizes[src] * n
        syn = (sizes[l - 1] * n + down) * k_train
        fb_op = sizes[src] * n * teach_steps if error_rule and l < L and layer.plastic \
            else (n * teach_steps if l == L and error_rule else 0.0)
        upd = 0.0
        if layer.plastic:
            upd = n * (sizes[l - 1] + (1 if layer.bias else 0)) * evals
        if l in fb:
            upd += n * sizes[src] * taken[fb[l].phase]
        spikes[names[l]] = n * k_train
        per_layer[names[l]] = {
            "synaptic_op": float(syn), "feedback_op": float(fb_op),
            "neuron_update": float(n * layer.neuron.compartments * per_value * k_train),
            "synaptic_update": float(upd), "spike": float(n * k_train)}
    inference = {"synaptic_op": sum(v["synaptic_op"] for v in per_layer.values()) *
                 k_infer / k_train,
                 "neuron_update": sum(v["neuron_update"] for v in per_layer.values()) *
                 k_infer / k_train,
                 "synaptic_update": 0.0,
                 "spike": sum(v["spike"] for v in per_layer.values()) * k_infer / k_train}
    training = {"synaptic_op": sum(v["synaptic_op"] + v["feedback_op"]
                                   for v in per_layer.values()),
                "neuron_update": sum(v["neuron_update"] for v in per_layer.values()),
                "synaptic_update": sum(v["synaptic_update"] for v in per_layer.values()),
                "spike": sum(v["spike"] for v in per_layer.values())}
    return Counts(k_train, samples, spikes, per_layer, inference, training, weights,
                  inference_steps=k_infer,
                  phase_steps={p.name: taken[p.name] for p in phases})
