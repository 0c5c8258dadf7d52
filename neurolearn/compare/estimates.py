"""Energy and latency estimates per hardware profile for ``compare``'s JSON report.

The same estimate ``neurolearn check SPEC --profile P --estimate`` prints
(:mod:`neurolearn.hardware.estimate`: operation counts of a time-stepped reference
run times each profile's per-operation figures, every figure with its source;
a figure the profile does not know stays None and makes the totals that need it
None), for every built-in profile that has energy or timing figures. The counts come
from the textbook reference run compare already made (the spec's initial weights,
the whole examples among its ``steps`` steps); without one (no engine was graded, or
fewer steps than one example) from a reference run of ``SAMPLES`` examples, as
``check --estimate`` makes by default.
"""

from __future__ import annotations

from ..errors import NeurolearnError
from ..reference.stream import steps_per_example

SAMPLES = 20  # as check --estimate's default --samples


def _reference_trace(report):
    """A textbook reference Trace compare made (any graded engine's), or None."""
    for entry in (report.traces or {}).values() if report is not None else ():
        tr = entry.get("textbook")
        if tr is not None and tr.spikes:
            return tr
    return None


def counts_for(spec, report=None):
    """(Counts, where they come from)."""
    from ..reference.counts import count, count_from_trace
    k = steps_per_example(spec.simulation)
    trace = _reference_trace(report)
    if trace is not None:
        samples = min(len(v) for v in trace.spikes.values()) // k
        if samples >= 1:
            return (count_from_trace(spec, trace, samples),
                    f"compare's textbook reference run: the spec's initial weights, the "
                    f"first {samples} training examples of {k} steps")
    return (count(spec, samples=SAMPLES),
            f"a reference run: the spec's initial weights, the first {SAMPLES} training "
            f"examples of {k} steps (as check --estimate)")


def estimates(spec, report=None) -> dict:
    """The ``estimates`` section of compare's JSON (module docstring): ``counts_from``,
    ``counts`` and per profile the estimate (``energy`` and ``latency`` per training
    sample and per inference, each part with its source) or why there is none."""
    from ..hardware.estimate import estimate
    from ..hardware.profile import builtin_names, load_profile
    try:
        counts, source = counts_for(spec, report)
    except NeurolearnError as err:
        return {"not_supported": str(err)}
    out = {"counts_from": source, "profiles": {}}
    for name in builtin_names():
        prof = load_profile(name)
        if prof.energy is None and prof.timing is None:
            out["profiles"][name] = {"skipped": "the profile has no energy or timing figures"}
            continue
        try:
            est = estimate(spec, prof, counts).to_dict()
        except NeurolearnError as err:
            out["profiles"][name] = {"error": str(err)}
            continue
        out.setdefault("counts", est.pop("counts"))
        est.pop("counts", None)
        est["summary"] = {phase: {"energy_j": est["energy"][phase]["total_j"],
                                  "latency_s": est["latency"][phase]["seconds"]}
                          for phase in ("training_sample", "inference")}
        out["profiles"][name] = est
    return out
