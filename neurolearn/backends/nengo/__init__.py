"""The ``nengo`` backend: a spec lowered to a nengo network that learns on a plain
``nengo.Simulator``.

- :mod:`.lower`: ``lower(spec) -> NengoProgram`` (the mapping, nengo's Schedule, the
  declared approximations, every refusal); imports no nengo.
- :mod:`.frontend`: the nengo objects (``LearningNetwork``, whose registered builder
  adds the post-factor operator, the ``SumOfProducts`` learning rule, the example
  stream) and :mod:`.ops`, their operators.
- :mod:`.runtime`: builds and runs them.
- :mod:`.emulator`: the reference network under the Program's schedule with nengo's
  LIF step swapped in (rate networks: the reference itself), so a spiking run's
  departure splits into plumbing (runtime vs emulator, exact) and neuron model
  (emulator vs the reference under the same schedule).
"""

from __future__ import annotations

from ..base import Backend
from .lower import RATE_SCHEDULE, lower  # noqa: F401

BACKEND = Backend(
    name="nengo", package=__name__, extra="nengo", requires="nengo", variants=(None,),
    emulator=True, plumbing_tier="exact", schedule=RATE_SCHEDULE, precisions=("float",),
    summary="nengo.Simulator: a LearningNetwork with a custom learning rule and a "
            "post-factor operator added by the network's own builder")


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
             dataset=None, time_limit=None):
    from .runtime import simulate as _simulate
    return _simulate(spec, steps=steps, precision=precision, seed=seed,
                     record_every=record_every, variant=variant, dataset=dataset,
                     time_limit=time_limit)


<<<<<<< HEAD
def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, variant=None,
        profile=None, time_limit=None):
    from .runtime import run as _run
    return _run(spec, precision=precision, epochs=epochs, quiet=quiet, dataset=dataset,
                variant=variant, profile=profile, time_limit=time_limit)
=======
def check(spec, precision="float") -> None:
    """Raise UnsupportedRule for what this backend cannot run."""
    from ...rules.phases import refuse_phases
    refuse_phases(spec, NAME, "the nengo model runs Connections learning every step "
                  "in simulation.teach's window, with fixed feedback transforms")
    rule = spec.rule.display_name
    if precision != "float":
        raise UnsupportedRule(NAME, f"precision {precision!r}",
                              "nengo.Simulator computes in float64 only",
                              "lava or numpy (precision fixed)")
    post = spec.rule.signals("post")
    if post & {"burst", "pbar_event", "event"}:
        raise UnsupportedRule(
            NAME, f"rule {rule!r} (spiking burst-dependent plasticity)",
            "it needs the burst and event trains of two-compartment burst neurons, which "
            "no Nengo neuron type produces (a Nengo neuron has one output and a learning "
            "rule sees only that)",
            "numpy (neurolearn.reference.simulator) or lava; or use burstprop_rate here")
    bad = post - set(POST_SIGNALS)
    if bad:
        raise UnsupportedRule(NAME, f"rule {rule!r} (post signal {sorted(bad)[0]!r})",
                              "that post factor is not lowered to Nengo operators", "numpy")
    bad = spec.rule.signals("pre") - set(PRE_SIGNALS)
    if bad:
        raise UnsupportedRule(NAME, f"rule {rule!r} (pre signal {sorted(bad)[0]!r})",
                              "only presynaptic activity traces are lowered", "numpy")
    taus = {f.tau for t in spec.rule.resolved_terms() for f in t.factors if f.kind == "pre"}
    if len(taus) > 1:
        raise UnsupportedRule(NAME, f"rule {rule!r}", "its terms use different pre time "
                              "constants; a Nengo connection has one pre filter", "numpy")
    if spec.rule.t_epoch != 1:
        raise UnsupportedRule(NAME, f"rule {rule!r} with t_epoch = {spec.rule.t_epoch}",
                              "Nengo applies each step's delta on the next step", "numpy")
    for i, layer in enumerate(spec.network.layers[1:], start=1):
        if layer.neuron.model == "burst":
            raise UnsupportedRule(
                NAME, f"neuron model 'burst' (network.layers[{i}].neuron.model)",
                "no Nengo neuron type has the soma/apical burst and event outputs",
                "numpy (neurolearn.reference.simulator) or lava")
    refuse_offsets(spec, NAME)
>>>>>>> phases


def emulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
            dataset=None, time_limit=None):
    from .emulator import emulate as _emulate
    return _emulate(spec, steps=steps, precision=precision, seed=seed,
                    record_every=record_every, variant=variant, dataset=dataset,
                    time_limit=time_limit)
