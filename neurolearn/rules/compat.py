"""Cross-field checks of a spec: does the rule fit the neurons it runs on?"""

from __future__ import annotations

from ..errors import SpecError
from .neurons import Burst, BurstRate

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
    kinds = {layer.neuron.spiking for layer in net.layers[1:]}
    if len(kinds) > 1:
        raise SpecError("mixes rate and spiking neuron models; use one kind per network",
                        "network.layers")
    if spec.training.mode == "batched" and net.spiking:
        raise SpecError("spiking networks run only in the time-stepped simulator",
                        "training.mode")


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
