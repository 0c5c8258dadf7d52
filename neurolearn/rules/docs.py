"""Generate the spec format reference (docs/format.md) from the IR itself, so the
docs cannot drift from the code: ``python -m neurolearn.rules.docs > docs/format.md``."""

from __future__ import annotations

from . import ir
from .library import BUILTIN_RULES
from .neurons import NeuronModel
from .schema import describe

SECTIONS = [("Spec (top level)", ir.Spec), ("network", ir.Network),
            ("network.layers[i]", ir.Layer),
            ("feedback (network.feedback, layers[i].feedback)", ir.Feedback),
            ("init (network.init, feedback.init)", ir.Init), ("rule", ir.Rule),
            ("rule.terms[k]", ir.Term), ("rule.terms[k].factors[m]", ir.Factor),
            ("data", ir.Data), ("training", ir.Training), ("simulation", ir.Simulation)]


def render() -> str:
    out = ["# Spec format reference", "",
           "Generated from `neurolearn/rules/ir.py` by `python -m neurolearn.rules.docs`; "
           "a test keeps this file equal to the generator's output.", "",
           "A spec is TOML or JSON. Every table below is a typed node; unknown keys, wrong "
           "types and failed checks are errors that name the file, the field path and the "
           "reason (`fa.toml: network.layers[1].size: must be a positive integer, got -3`). "
           "Saving and loading round-trip exactly.", "",
           "A plasticity rule is a sum of products of locality-typed factors:", "",
           "    dW_ij = eta * sum_k c_k * D_k * prod(pre factors)(j) * prod(post factors)(i)"
           " * prod(syn factors)(ij)", ""]
    for title, cls in SECTIONS:
        out += [f"## {title}", ""] + describe(cls) + [""]
        if cls is ir.Layer:
            out += _neurons()
    out += ["## Signals a factor may name", ""]
    for kind, signals in ir.SIGNALS.items():
        for name, meaning in signals.items():
            out.append(f"- `{kind}.{name}`: {meaning}")
    out += ["", "## Built-in rules", ""]
    for rule in BUILTIN_RULES.values():
        out.append(f"- `{rule.name}`: {rule.summary}. Terms: "
                   + "; ".join(f"`{t}`" for t in rule.terms)
                   + f". Neurons: {rule.needs}. Source: {rule.reference}.")
    out += ["", "## Example", "", "```toml", _example(), "```", ""]
    return "\n".join(out)


def _neurons() -> list[str]:
    out = ["## Neuron models (network.layers[i].neuron)", "",
           "A table whose `model` names the model; only that model's parameters are "
           "accepted. Each model is a class in `neurolearn/rules/neurons.py` with its "
           "equations.", ""]
    for name, cls in NeuronModel.registry.items():
        doc = " ".join((cls.__doc__ or "").split())
        kind = "spiking" if cls.spiking else "rate"
        out += [f"### `model = \"{name}\"` ({kind}, `{cls.__name__}`)", "", doc, ""]
        out += describe(cls) or ["- no parameters"]
        out.append("")
    return out


def _example() -> str:
    return '''name = "oja_pca"
[network]
layers = [
  {name = "input", size = 5},
  {name = "out", size = 1, neuron = {model = "linear"}, bias = false},
]
[rule]
name = "oja"   # dw = eta (x y - y^2 w), written from terms
eta = 0.01
terms = [
  {factors = [{kind = "pre", signal = "activity"}, {kind = "post", signal = "activity"}]},
  {coeff = -1.0, factors = [{kind = "post", signal = "activity"},
                            {kind = "post", signal = "activity"}, {kind = "syn", signal = "w"}]},
]'''


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
