"""A backend package for testing compare: the reference itself under a schedule with
one-step delays, applied every step. Variant "broken" perturbs the runtime's weights;
variant "refused" refuses in lower(). Not a product backend."""

from neurolearn.backends.base import Approximation, Backend, Program
from neurolearn.errors import UnsupportedRule
from neurolearn.reference.schedule import Schedule
from neurolearn.reference.simulator import simulate as reference

SCHEDULE = Schedule("fake", forward_delay=1, feedback_delay=1, apply="step")
BACKEND = Backend(name="fake", package=__name__, extra="fake", requires=None,
                  variants=("good", "broken", "refused"), emulator=True,
                  schedule=SCHEDULE)


def lower(spec, precision="float", profile=None, variant=None):
    if variant == "refused":
        raise UnsupportedRule("fake", f"rule {spec.rule.display_name!r}",
                              "the fake engine refuses this variant", "numpy")
    return Program("fake", precision, SCHEDULE, variant,
                   [Approximation("per-step updates", "timing", "no batch accumulation")])


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
             dataset=None, time_limit=None):
    trace = reference(spec, steps=steps, record_every=record_every, schedule=SCHEDULE)
    if variant == "broken":
        for w in trace.weights.values():
            w[-1] += 1e-6
    return trace


def emulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
            dataset=None, time_limit=None):
    return reference(spec, steps=steps, record_every=record_every, schedule=SCHEDULE)


def run(spec, **kw):
    raise UnsupportedRule("fake", "training", "the fake engine does not train", "numpy")
