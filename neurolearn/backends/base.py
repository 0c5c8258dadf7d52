"""What every backend is: a descriptor, a lowering to a Program, an emulator and a
runtime, all of one shape.

A backend package ``neurolearn/backends/<name>/`` holds

- ``__init__.py``: ``BACKEND = Backend(...)`` and the uniform functions below; it
  imports no engine, so the registry, ``capabilities()`` and every refusal work
  without the engine installed;
- ``lower.py``: ``lower(spec, precision, profile, variant) -> Program``. Every
  refusal lives here (``UnsupportedRule`` naming the rule, the reason and where it
  can run); ``capabilities()`` and the grid's "not supported" cells are derived by
  lowering;
- ``emulator.py`` (if the engine's arithmetic differs from the reference's): NumPy,
  bit-exact to the engine, reading the Program;
- ``runtime.py``: the engine itself, reading the Program.

Uniform functions of a backend package (keyword-only after ``spec``):

- ``lower(spec, precision="float", profile=None, variant=None) -> Program``
- ``simulate(spec, *, steps, precision="float", seed=None, record_every=1,
  variant=None, dataset=None, time_limit=None) -> Trace``: the runtime on the shared
  training stream (:mod:`neurolearn.reference.stream`), learning on;
- ``emulate(...)`` with the same arguments, if ``BACKEND.emulator``;
- ``run(spec, *, precision="float", epochs=None, quiet=None, dataset=None,
  variant=None, profile=None, time_limit=None) -> RunResult``: train on the spec's
  data set. Test accuracy is the reference's evaluation
  (:func:`neurolearn.reference.simulator.evaluate` or the batched trainer's) of the
  trained weights, so the task tier grades learning, the same way on every engine.
- ``run_members(specs, seeds, **run's keywords) -> [RunResult]`` (optional): ``run``
  of each spec with its seed, faster together; each result bit-identical to ``run``
  with ``training.seed`` = that seed (numpy: time-stepped specs that differ only in
  their learning rates run as one vectorised run). Where a backend lacks it, callers
  (:func:`neurolearn.api.run_seeds`, :func:`neurolearn.api.run_members`) run the
  members one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..reference.schedule import TEXTBOOK, Schedule

KINDS = ("timing", "neuron model", "precision", "learning")


@dataclass(frozen=True)
class Approximation:
    """A named departure from the spec's meaning that a lowering declares; compare
    measures it. ``kind`` is one of timing, neuron model, precision, learning."""
    name: str
    kind: str
    description: str

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Approximation.kind must be one of {KINDS}, got {self.kind!r}")

    def __str__(self):
        return f"{self.name} ({self.kind}): {self.description}"


@dataclass
class Program:
    """A spec lowered to one engine: computed once, in the parent process, and sent
    where it is needed. Backends subclass it with their engine's fields."""
    backend: str
    precision: str
    schedule: Schedule = TEXTBOOK
    variant: str | None = None
    approximations: list = field(default_factory=list)  # [Approximation]

    def describe(self) -> list[str]:
        return [self.schedule.describe()] + [str(a) for a in self.approximations]


@dataclass(frozen=True)
class Backend:
    """A backend's descriptor.

    ``requires``: the third-party module whose absence means "not installed"
    (``extra`` names the pip extra). ``variants``: lowerings or targets graded
    separately (Lava: stock, fused). ``emulator``: whether a NumPy emulator of the
    engine exists (then compare checks runtime == emulator at ``plumbing_tier``).
    ``schedule``: the engine's timing, which the reference runs under to measure the
    timing departure (a variant may lower to another; the Program says).
    ``task_examples``: the training examples compare's task tier gives this engine
    (the first n; None: all) where the full set does not fit compare's budget; its
    row is graded against the reference trained on the same examples."""
    name: str
    package: str
    extra: str
    requires: str | None = None
    variants: tuple = (None,)
    emulator: bool = False
    plumbing_tier: str = "exact"
    schedule: Schedule = TEXTBOOK
    precisions: tuple = ("float",)
    summary: str = ""
    task_examples: int | None = None


def require_float64(spec, backend: str) -> None:
    """Engines and time-stepped runs compute in float64: refuse training.dtype =
    float32 by name (it is the batched trainer's speed option)."""
    if spec.training.dtype != "float64":
        from ..errors import UnsupportedRule
        raise UnsupportedRule(backend, f"training.dtype = {spec.training.dtype!r}",
                              "float32 is an option of the batched trainer only; this "
                              "backend computes in float64", "numpy (batched)")
