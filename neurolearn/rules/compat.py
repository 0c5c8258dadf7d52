"""Cross-field checks of a spec: does the rule fit the neurons it runs on?"""

from __future__ import annotations

from ..errors import SpecError
from .neurons import Burst, BurstRate
from .phases import check_phased
from .terms import REWARD_SIGNALS

# post signals and the neuron model (class) that computes them
_POST_NEEDS = {
    "burst_prob_dev": BurstRate,
    "burst": Burst,
    "pbar_event": Burst,
    "event": Burst,
}
_PRE_NEEDS = {"event_trace": Burst}


def check_compatible(spec) -> None:
    net, rule = spec.network, spec.rule
    _check_limits(spec)
    post = rule.signals("post")
    pre = rule.signals("pre")
    for i, layer in enumerate(net.layers[1:], start=1):
        if not layer.plastic:
            continue
        for sig in post:
            need = _POST_NEEDS.get(sig)
            if need and not isinstance(layer.neuron, need):
                raise SpecError(
                    f"rule {rule.display_name!r} uses post signal {sig!r}, which needs "
                    f"neuron model {need.model!r}, got {layer.neuron.model!r}",
                    f"network.layers[{i}].neuron.model")
        for sig in pre:
            need = _PRE_NEEDS.get(sig)
            src = net.layers[i - 1]
            if need and i > 1 and not isinstance(src.neuron, need):
                raise SpecError(
                    f"rule {rule.display_name!r} uses pre signal {sig!r}, which needs "
                    f"neuron model {need.model!r}, got {src.neuron.model!r}",
                    f"network.layers[{i - 1}].neuron.model")
    _check_reward_and_tags(spec)
    check_phased(spec)
    kinds = {layer.neuron.spiking for layer in net.layers[1:]}
    if len(kinds) > 1:
        raise SpecError("mixes rate and spiking neuron models; use one kind per network",
                        "network.layers")
    if spec.training.mode == "batched" and net.spiking:
        raise SpecError("spiking networks run only in the time-stepped simulator",
                        "training.mode")


def _check_limits(spec) -> None:
    """Cross-field bounds (neurolearn.rules.limits) and the learned pathway's needs."""
    from . import limits
    sim = spec.simulation
    steps = sim.t_example / sim.dt
    if steps > limits.MAX_STEPS_PER_EXAMPLE:
        raise SpecError(f"t_example / dt = {steps:.3g} steps per example; at most "
                        f"{limits.MAX_STEPS_PER_EXAMPLE:,} (limit MAX_STEPS_PER_EXAMPLE: "
                        f"each step updates the whole network)", "simulation.dt")
    net = spec.network
    learned = [i for i in range(1, len(net.layers) - 1)
               if net.feedback_of(i).kind == "learned"]
    if learned:
        syn_free = [t for t in spec.rule.resolved_terms()
                    if not any(f.kind == "syn" for f in t.factors)]
        if not syn_free:
            i = learned[0]
            where = (f"network.layers[{i}].feedback.kind" if net.layers[i].feedback
                     else "network.feedback.kind")
            raise SpecError("'learned' feedback mirrors the rule's terms without syn "
                            f"factors, and rule {spec.rule.display_name!r} has none; add "
                            "a term without syn.w or use feedback kind 'random'", where)


def check_data_fits(spec, dataset) -> None:
    """The network's input and output sizes must match the data set's."""
    sizes = spec.network.sizes
    if sizes[0] != dataset.n_in:
        raise SpecError(f"must equal the input size of data set {dataset.name!r} "
                        f"({dataset.n_in}), got {sizes[0]}", "network.layers[0].size")
    if sizes[-1] != dataset.n_out:
        raise SpecError(f"must equal the output size of data set {dataset.name!r} "
                        f"({dataset.n_out}), got {sizes[-1]}",
                        f"network.layers[{len(sizes) - 1}].size")


def refuse_offsets(spec, backend: str, alternative: str = "numpy") -> None:
    """Backends whose lowerings have no bias input refuse a non-zero ``bias_init``
    (they would silently drop it)."""
    from ..errors import UnsupportedRule
    for i, layer in enumerate(spec.network.layers[1:], start=1):
        if layer.bias_init != 0.0:
            raise UnsupportedRule(
                backend, f"network.layers[{i}].bias_init = {layer.bias_init:g}",
                "this backend's lowering has no bias input, so the offset would be lost",
                alternative)


def _check_reward_and_tags(spec) -> None:
    """Tags, reward factors, the reward loss and spike traces need what they read."""
    rule, net = spec.rule, spec.network
    if "tag" in rule.signals("syn") and rule.resolved_tag() is None:
        raise SpecError(f"rule {rule.display_name!r} reads syn.tag but has no tag "
                        "(give rule.tag = {tau = ..., terms = [...]})", "rule.tag")
    rewards = sorted(rule.signals("global") & set(REWARD_SIGNALS))
    if rewards and spec.reward is None:
        raise SpecError(f"rule {rule.display_name!r} reads global.{rewards[0]}, "
                        "which comes from a reward task: give a [reward] table", "reward")
    if spec.training.loss == "reward" and spec.reward is None:
        raise SpecError("loss 'reward' needs a reward task: give a [reward] table",
                        "training.loss")
    if rule.builtin == "brainprop" and not rule.terms and spec.training.loss != "reward":
        raise SpecError("rule 'brainprop' learns from rewards: set training.loss = "
                        f"'reward', got {spec.training.loss!r}", "training.loss")
    if rule.resolved_tag() is not None and any(layer.bias for layer in net.layers[1:]
                                                if layer.plastic):
        i = next(i for i, layer in enumerate(net.layers) if i and layer.plastic
                 and layer.bias)
        raise SpecError(f"rule {rule.display_name!r} has a tag, which a learned bias "
                        "does not carry: set bias = false", f"network.layers[{i}].bias")
    spiky = [f for f in rule.all_factors() if f.signal == "spike_trace" or
             f.update != "add" or f.read != "after"]
    tag = rule.resolved_tag()
    gated = [t for t in rule.resolved_terms() + (tag.terms if tag else [])
             if t.when != "step"]
    if (spiky or gated) and not net.spiking:
        what = f"{spiky[0]}" if spiky else f"term '{gated[0]}'"
        raise SpecError(f"rule {rule.display_name!r} uses {what}, which needs spikes; "
                        "this network has rate neurons (use lif or burst)",
                        "network.layers")
