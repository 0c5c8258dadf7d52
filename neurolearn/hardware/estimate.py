"""Energy and latency estimates: operations counted from a run (:class:`Counts`, made
by neurolearn.reference.counts from the time-stepped reference) times the
per-operation figures of a hardware profile (each with its published source).

Counts, per sample (one example shown for ``t_example``, k = t_example / dt steps),
from the time-stepped reference run of the spec on the first ``samples`` examples
of its training stream, from the spec's initial weights or a trained network's:

- spikes of layer l: counted in the run (the input layer's spikes come from the
  host and are listed, not charged: no per-spike host I/O figure is known);
- synaptic operations (forward): every spike of layer l-1 is delivered to the n_l
  synapses of the projection into layer l;
- neuron updates: every compartment of layers 1..L in every step (2 per burst neuron);
- training only, learning-engine updates: every synapse (and bias) of every plastic
  projection once per plastic step (round(simulation.teach * k) per sample): the
  lowering learns with an epoch of one step and accumulates a batch in a tag;
- training only, feedback operations: rules whose post factor carries an error send
  it to each plastic hidden layer as a dense graded message every teaching step
  (n_l x n_src synaptic operations, src = l+1, or the output for direct feedback),
  and the target to the output layer (n_L); graded messages are charged as
  synaptic operations.

Inference counts are the forward part (spikes, synaptic operations, neuron updates)
of the same run: LIF teaching does not change the spiking, and a few samples of
learning barely change the weights.

Energy = sum of count x energy per operation. Latency per sample = k x (the slowest
core's work per step + the barrier that ends each step): each layer's work is spread
over its cores (``neurolearn.hardware.check.resources``), cores run in parallel and
each core's operations one after another. A figure the profile does not know makes
every total that needs it unknown; the parts that are known are still shown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


from .check import resources
from .profile import Profile

OPS = ("synaptic_op", "neuron_update", "synaptic_update", "spike")
OP_NAMES = {"synaptic_op": "synaptic operations", "neuron_update": "neuron updates",
            "synaptic_update": "learning-engine updates", "spike": "spikes"}


@dataclass
class Counts:
    steps_per_sample: int
    samples: int
    spikes: dict                       # layer -> spikes per sample (input included)
    per_layer: dict                    # layer -> {op: count per sample} (training)
    inference: dict                    # op -> count per inference
    training: dict                     # op -> count per training sample
    weights: str = "initial"
    inference_steps: float | None = None  # phased specs: steps of an inference
    phase_steps: dict | None = None       # phased specs: phase -> mean steps taken


@dataclass
class Part:
    op: str
    count: float
    per_op: float | None
    total: float | None
    source: str


@dataclass
class Estimate:
    spec: str
    profile: str
    counts: Counts
    energy: dict = field(default_factory=dict)       # phase -> {"parts", "total_j", ...}
    latency: dict = field(default_factory=dict)      # phase -> {"seconds", "missing"}

    def to_dict(self) -> dict:
        return {"spec": self.spec, "profile": self.profile, "counts": asdict(self.counts),
                "energy": {k: {**v, "parts": [asdict(p) for p in v["parts"]]}
                           for k, v in self.energy.items()},
                "latency": self.latency}


def _figure(profile: Profile, section: str, op: str, unit: str):
    name = f"{section}.{op}_{unit}"
    return profile.get(name), profile.source(name) or f"unknown: {name} is not in the profile"


def _energy(profile, ops: dict) -> dict:
    parts, total, missing = [], 0.0, []
    for op in OPS:
        n = ops[op]
        pj, src = _figure(profile, "energy", op, "pj")
        if n and pj is None:
            missing.append(f"energy.{op}_pj")
        e = None if pj is None else n * pj * 1e-12
        parts.append(Part(op, n, pj, e, src))
        if e is not None:
            total += e
    return {"parts": parts, "total_j": None if missing else total,
            "known_part_j": total, "missing": missing}


def _latency(profile, counts: Counts, layers, training: bool) -> dict:
    """Seconds per sample: k x (slowest core per step + barrier); a phased spec's
    inference runs only its phases before the teacher (``inference_steps``)."""
    k = counts.steps_per_sample
    k_phase = k if training or counts.inference_steps is None else counts.inference_steps
    figs = {op: _figure(profile, "timing", op, "ns") for op in OPS}
    barrier, bsrc = _figure(profile, "timing", "barrier_sync", "ns")
    missing = set()
    worst = 0.0
    cores = {r.layer: r.cores for r in layers}
    for name, ops in counts.per_layer.items():
        work = {"synaptic_op": ops["synaptic_op"] + (ops["feedback_op"] if training else 0.0),
                "neuron_update": ops["neuron_update"],
                "synaptic_update": ops["synaptic_update"] if training else 0.0,
                "spike": ops["spike"]}
        ns = 0.0
        for op, n in work.items():
            t = figs[op][0]
            if n and t is None:
                missing.add(f"timing.{op}_ns")
            elif t is not None:
                ns += n * t
        worst = max(worst, ns / max(cores.get(name, 1), 1) / k)
    if barrier is None:
        missing.add("timing.barrier_sync_ns")
    step_ns = worst + (barrier or 0.0)
    return {"seconds": None if missing else k_phase * step_ns * 1e-9,
            "known_part_seconds": k_phase * step_ns * 1e-9, "steps": k_phase,
            "missing": sorted(missing)}


def estimate(spec, profile: Profile, counts: Counts) -> Estimate:
    """Energy and latency per training sample and per inference (module docstring)."""
    layers = resources(spec, profile)
    est = Estimate(spec.name, profile.name, counts)
    for phase, training in (("training_sample", True), ("inference", False)):
        ops = counts.training if training else counts.inference
        est.energy[phase] = _energy(profile, ops)
        est.latency[phase] = _latency(profile, counts, layers, training)
    return est


def _si(x, unit):
    if x is None:
        return "unknown"
    for scale, prefix in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if abs(x) >= scale or scale == 1e-12:
            return f"{x / scale:.3g} {prefix}{unit}"
    return f"{x:g} {unit}"  # pragma: no cover


def format_estimate(est: Estimate) -> str:
    c = est.counts
    lines = [f"estimate: {est.spec} on {est.profile} ({c.weights} weights; counts from the "
             f"numpy reference, {c.samples} samples of {c.steps_per_sample:g} steps)",
             "  spikes per sample: " + ", ".join(f"{k} {v:.1f}" for k, v in c.spikes.items())
             + " (input spikes come from the host: not charged)"]
    if c.phase_steps:
        lines.insert(1, "  steps per training sample by phase: " + ", ".join(
            f"{k} {v:g}" for k, v in c.phase_steps.items()) + f"; per inference "
            f"{c.inference_steps:g} (a rate network: one graded message per neuron and "
            "step, charged as a spike)")
    for phase, title in (("training_sample", "per training sample"),
                         ("inference", "per inference")):
        e, t = est.energy[phase], est.latency[phase]
        lines.append(f"  {title}: energy {_si(e['total_j'], 'J')}, latency "
                     f"{_si(t['seconds'], 's')}")
        for p in e["parts"]:
            if not p.count:
                continue
            fig = "unknown" if p.per_op is None else f"{p.per_op:g} pJ"
            lines.append(f"    {OP_NAMES[p.op]:<24} {p.count:>12.4g} x {fig:<9} = "
                         f"{_si(p.total, 'J'):<10} [{p.source}]")
        if e["missing"]:
            lines.append(f"    energy unknown: the profile does not know "
                         f"{', '.join(e['missing'])}; the known parts sum to "
                         f"{_si(e['known_part_j'], 'J')}")
        if t["missing"]:
            lines.append(f"    latency unknown: the profile does not know "
                         f"{', '.join(t['missing'])}")
    return "\n".join(lines)


__all__ = ["Counts", "Estimate", "estimate", "format_estimate"]
