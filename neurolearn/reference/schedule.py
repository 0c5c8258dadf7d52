"""Timing as a value: the one reference runs under any engine's Schedule.

The meaning of a spec (neuron models, learning signals, eta, batch_size, momentum,
t_example) does not depend on the engine; *when* things happen does. A Schedule
says it, and :mod:`neurolearn.reference.simulator` runs the same network under it,
so the departure an engine's timing causes is measured by running the reference
under the engine's schedule and under the textbook one (``compare``).

Fields (each a property of an engine, never of a rule):

- ``forward_delay``: steps between a layer's output and its arrival at the layer
  above, per projection (Lava's Dense sends what it computed the step before: 1).
- ``feedback_delay``: the same for the feedback pathway (a Dense carrying B: 1).
- ``apply``: ``"batch"``: the change is accumulated over the batch's plastic steps
  and applied (through momentum) after the batch's last plastic step (the meaning);
  ``"step"``: each plastic step's share is applied at once (an engine without
  batch accumulation; momentum cannot be honoured then).
- ``hold_steps``: steps each example is held before its own ``t_example`` steps,
  with teacher and plasticity off, so an engine's pipeline fills before the example's
  settling and plastic steps (an engine whose latency from input to output exceeds
  them). Plastic steps per example, and so eta's meaning, are unchanged; traces and
  learning signals run through the hold as through settling steps.
- ``tag_read``: what a weight term reading an eligibility tag (``syn.tag``) sees:
  ``"after"`` this step's tag update (the meaning), or ``"before"`` it (an engine
  that evaluates the weight and tag rules from the values before either is updated,
  with no room to add the step's tag increment to the weight's products: Lava's
  fixed-point engine).

Within a step, the forward pass uses the weights as they were at the start of the
step and the step's change is applied at its end (Lava's Dense computes its output
in the spike phase, before the learning phase; nengo adds a step's delta at the
start of the next step), so no field is needed for that.
"""

from __future__ import annotations

from dataclasses import dataclass

APPLY = ("batch", "step")
TAG_READ = ("after", "before")


@dataclass(frozen=True)
class Schedule:
    name: str
    forward_delay: int = 0
    feedback_delay: int = 0
    apply: str = "batch"
    hold_steps: int = 0
    tag_read: str = "after"

    def __post_init__(self):
        if self.apply not in APPLY:
            raise ValueError(f"Schedule.apply must be one of {APPLY}, got {self.apply!r}")
        if self.tag_read not in TAG_READ:
            raise ValueError(f"Schedule.tag_read must be one of {TAG_READ}, got "
                             f"{self.tag_read!r}")
        for name in ("forward_delay", "feedback_delay", "hold_steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 0:
                raise ValueError(f"Schedule.{name} must be a non-negative integer, got {v!r}")

    def describe(self) -> str:
        parts = []
        if self.forward_delay:
            parts.append(f"{self.forward_delay}-step delay per forward projection")
        if self.feedback_delay:
            parts.append(f"{self.feedback_delay}-step delay per feedback projection")
        if self.hold_steps:
            parts.append(f"each example held {self.hold_steps} steps before its own "
                         "(learning off)")
        parts.append("changes applied every plastic step" if self.apply == "step"
                     else "changes accumulated over each batch")
        if self.tag_read == "before":
            parts.append("weight terms read the eligibility tag before the step's update")
        return f"{self.name}: " + ", ".join(parts)


TEXTBOOK = Schedule("textbook")
