"""Generate the spec format reference (docs/format.md) from the IR itself, so the
docs cannot drift from the code: ``python -m neurolearn.rules.docs > docs/format.md``."""

from __future__ import annotations

from . import ir, phases
from .library import BUILTIN_RULES, FEEDBACK_RULES
from .neurons import NeuronModel
from .schema import describe

SECTIONS = [("Spec (top level)", ir.Spec), ("network", ir.Network),
            ("network.layers[i]", ir.Layer),
            ("feedback (network.feedback, layers[i].feedback)", ir.Feedback),
            ("init (network.init, feedback.init)", ir.Init), ("rule", ir.Rule),
            ("rule.terms[k]", ir.Term), ("rule.terms[k].factors[m]", ir.Factor),
            ("data", ir.Data), ("training", ir.Training), ("simulation", ir.Simulation),
            ("phases[i]", phases.Phase), ("phases[i].settle", phases.Settle),
            ("phases[i].noise", phases.Noise),
            ("feedback.rule (a plastic feedback projection)", phases.FeedbackRule)]


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
    out += MEANING
    for title, cls in SECTIONS:
        out += [f"## {title}", ""] + describe(cls) + [""]
        if cls is ir.Layer:
            out += _neurons()
        if cls is phases.FeedbackRule:
            out += _dynamics()
    out += ["## Signals a factor may name", ""]
    for kind, signals in ir.SIGNALS.items():
        for name, meaning in signals.items():
            out.append(f"- `{kind}.{name}`: {meaning}")
    out += ["", "## Built-in rules", ""]
    for rule in BUILTIN_RULES.values():
        out.append(f"- `{rule.name}`: {rule.summary}. Terms: "
                   + "; ".join(f"`{t}`" for t in rule.terms)
                   + f". Neurons: {rule.needs}. "
                   + (f"The spec gives: {rule.needs_spec}. " if rule.needs_spec else "")
                   + f"Source: {rule.reference}.")
    out += ["", "## Built-in feedback rules (feedback.rule.builtin)", ""]
    for rule in FEEDBACK_RULES.values():
        out.append(f"- `{rule.name}`: {rule.summary}. Terms: "
                   + "; ".join(f"`{t}`" for t in rule.terms)
                   + f". Needs: {rule.needs}. Source: {rule.reference}.")
    out += ["", "## Example", "", "```toml", _example(), "```", ""]
    return "\n".join(out)


MEANING = """## What eta, batch_size, momentum and t_example mean

One spec means one learning rule, whatever runs it (the batched trainer, the
time-stepped simulator, Lava, nengo):

- An example is shown for `simulation.t_example` (k = t_example / dt steps). Its last
  `simulation.teach` fraction (n_teach = round(teach * k) steps, at least one) are its
  *plastic steps*: the teacher and plasticity are on. Before them the network settles
  without a teacher (Payeur et al.'s prediction phase).
- An *update* follows every `training.batch_size` examples (a pass over the training
  set is cut into batches in the order of `default_rng([seed, 2])`; the last batch of a
  pass may be smaller). It changes each plastic projection by
  `eta * mean over the batch of (the rule's sum of products averaged over the
  example's plastic steps)`, through momentum: `v = momentum * v + dW; W += v`.
  A time-stepped run adds `eta * rule / (n_teach * n_batch)` every plastic step and
  applies the sum after the batch's last plastic step.
- A rate network has no time course, so its rule value is the same on every plastic
  step: the batched trainer (one forward pass per example) and the time-stepped
  simulator apply the same updates (bit-identical for batch size 1, to rounding
  otherwise). A factor's `tau` is in seconds; the batched trainer takes a filtered
  factor at its steady state, and runs moving averages across updates (`activity_sq_avg`)
  over n * n_teach * dt seconds per update.
- `training.lr_decay` multiplies eta after every pass. `eta_output` replaces eta for
  the output layer.
- Engines that cannot accumulate a batch declare it (a schedule that applies every
  plastic step's share at once) and `neurolearn compare` measures the departure;
  momentum is then refused.

## Phases: what an example is made of

`simulation.teach` is the two-phase case of `[[phases]]`: an example of k = t_example /
dt steps is a phase of k - n_teach steps without teacher, then a plastic phase of
n_teach steps with the teacher on. A spec may instead list its phases (Guerguiev et
al.'s forward and target phases, equilibrium propagation's free and nudged phases,
predictive coding's inference, a weight mirror's noise phase). Each phase says for
how many steps the input is on or off, whether the teacher is on and how hard it
nudges the output, whether the rule learns, what noise drives which layers, and,
under equilibrium or predictive-coding `network.dynamics`, how the network settles
(a relaxation step and a tolerance or a fixed number of steps). A factor with
`phase = NAME` reads the signal's snapshot at that phase's end or its average over
the phase's window; a rule that reads phases is evaluated once at the end of each
plastic phase, any other rule on every plastic step. eta keeps its meaning: each
example contributes eta times the mean of its evaluations, each update the mean
over the batch. The phased reference (neurolearn.reference.phased) is the meaning of
a phased spec; docs/phases.md explains the design.

## From version 1

Format version 1 meant eta per time step in time-stepped runs and had `rule.t_epoch`;
version 2 (this page) means eta per example everywhere. To convert a version-1
time-stepped spec: multiply eta by the plastic steps per example (`teach * t_example /
dt`), set `training.batch_size` (1 reproduces per-example application), remove
`t_epoch`, give `simulation.teach` (burst networks used 0.25 by default), move the old
simulator options into the neuron tables (`tau_syn`, `gain`, `noise`, `tau_apical`,
`burst_draw`), and set `version = 2`. Batched (rate) specs keep their meaning; only
`version` changes. Version-1 files are refused with this advice.

""".splitlines()


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


def _dynamics() -> list[str]:
    out = ["## Network dynamics (network.dynamics)", "",
           "A table whose `model` names it; unset means feedforward. Each is a class in "
           "`neurolearn/rules/phases.py`.", ""]
    for name, cls in phases.Dynamics.registry.items():
        doc = " ".join((cls.__doc__ or "").split())
        out += [f"### `model = \"{name}\"` (`{cls.__name__}`)", "", doc, ""]
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
