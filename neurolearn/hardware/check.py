"""Design-rule check: does a spec's network fit a profile, and where does it learn?

Resource model (one population per layer; the input layer is spike sources on
the host and uses no core):

- compartments: the neuron model's (2 for the two-compartment ``burst`` model, 3 for
  ``pyramidal``, else 1), twice that under predictive-coding dynamics (a value and an
  error population per layer).
- synapses into layer l: the forward projection (n_l x n_{l-1}) and, when the
  rule's post factor carries an error (error_drive, burst_prob_dev, burst,
  pbar_event; a pyramidal plateau, fed by apical feedback; predictive coding's
  error) or the network settles (equilibrium, predictive coding: W^T from above) to
  hidden layer l, its feedback projection (n_l x n_src, src = l+1, or the output
  for ``direct``); the output layer gets its target as n_L inputs.
- input axons of each core of layer l: every presynaptic neuron of every
  projection into l (a neuron needs all its inputs in its own core), so
  splitting a layer over more cores does not reduce them.
- output axons: one per (neuron, destination core); destination cores are those
  needed by compartments and synapse memory.
- synapse memory: per input axon, ``ceil((n_targets * (weight bits + 1) + header)
  / word) * word`` bits (nengo-loihi's ``bits_per_axon`` without its 64-synapse
  blocks; word and header default to 1 and 0 when unknown).

Cores of a layer = the largest of ceil(compartments / per core), ceil(synapse bits
/ per core), ceil(output axons / per core): the per-core limit that sets this is
the violation's ``cause`` when the chip has too few cores. Input axons and one
neuron's synapse memory cannot be split: they are violations of their own.

Learning engine (the rule-mapping check), per plastic projection: each term's
dependency, factors, distinct pre/post traces, the scale eta*c as m*2^e (unless
the profile's engine reads graded post factors, into which eta*c is folded so that
every product has scale 1, as the Lava lowering does), the number of terms and
the profile's limits. A breach makes the projection
learn on the host (``consequence = "host"``); an unsupported neuron model or a
rule family the profile marks ``none`` means it cannot run. Exit status of
``neurolearn check``: 1 when a resource or model limit is broken or a projection
cannot run, else 0; host learning is reported but fits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..rules.ir import WHEN
from .arith import EngineWidths, nearest_scale, split_scale
from .profile import Profile

ERROR_POST = {"error_drive", "burst_prob_dev", "burst", "pbar_event",
              "plateau", "error"}  # plateau: apical feedback; error: errors from above
LOCAL_POST = {"activity", "activity_sq_avg", "event"}
WHEN_TO_DEP = {"step": "u", "pre_spike": "x0", "post_spike": "y0"}


@dataclass
class Violation:
    name: str          # profile figure, e.g. "core.input_axons"
    limit: object
    value: object
    where: str         # layer, projection or rule
    reason: str
    consequence: str = "does not fit"   # or "host" (learning moves off-chip)
    cause: str = ""    # chip.cores: the per-core limit that set the core count

    def __str__(self):
        extra = f" (set by {self.cause})" if self.cause else ""
        return (f"{self.name}{extra}: {self.where}: value {self.value}, limit "
                f"{self.limit}: {self.reason} [{self.consequence}]")


@dataclass
class LayerUse:
    layer: str
    neurons: int
    compartments: int
    input_axons: int
    output_axons: int
    synapses: int
    synapse_bits: int
    cores: int
    cores_set_by: str


@dataclass
class Mapping:
    projection: str
    rule: str
    status: str        # on_chip, host, cannot_run
    reasons: list = field(default_factory=list)
    scales: list = field(default_factory=list)  # per term: (eta*c, m, e, rel. error)


@dataclass
class Report:
    spec: str
    profile: str
    layers: list
    total_cores: int
    core_limit: int | None
    violations: list
    mapping: list
    unchecked: list     # figures the profile does not know

    @property
    def fits(self) -> bool:
        return not any(v.consequence == "does not fit" for v in self.violations) and \
            not any(m.status == "cannot_run" for m in self.mapping)

    def names(self) -> list[str]:
        return [v.name for v in self.violations]

    def to_dict(self) -> dict:
        return {"spec": self.spec, "profile": self.profile, "fits": self.fits,
                "total_cores": self.total_cores, "core_limit": self.core_limit,
                "layers": [asdict(x) for x in self.layers],
                "violations": [asdict(v) for v in self.violations],
                "mapping": [asdict(m) for m in self.mapping],
                "unchecked": self.unchecked}


def _ceil(a, b):
    return -(-a // b)


def _family(rule) -> str:
    if rule.builtin and not rule.terms:
        return rule.builtin
    posts = rule.signals("post")
    if posts & {"burst", "pbar_event"}:
        return "burstprop"
    if "burst_prob_dev" in posts:
        return "burstprop_rate"
    if "error_drive" in posts:
        return "delta"
    return "local"


def _sources(net, l, needs_error):
    """(name, n) of every population projecting into layer l (1-based)."""
    L = len(net.layers) - 1
    srcs = [(net.layers[l - 1].name, net.layers[l - 1].size)]
    if needs_error and net.layers[l].plastic:
        if l == L:
            srcs.append(("target", net.layers[L].size))
        else:
            kind = net.feedback_of(l).kind
            src = L if kind == "direct" else l + 1
            srcs.append((net.layers[src].name, net.layers[src].size))
    return srcs


def _known(value, default):
    """A figure's value, ``default`` only when unknown: 0 is a real 0."""
    return default if value is None else value


def _axon_bits(n_targets, profile):
    wbits = _known(profile.get("weights.bits"), 8) + 1
    word = _known(profile.get("core.synapse_word_bits"), 1)
    header = _known(profile.get("core.synapse_header_bits"), 0)
    return _ceil(n_targets * wbits + header, word) * word


def resources(spec, profile: Profile):
    """Per-layer resource use and the cores each layer needs."""
    from ..rules.phases import dynamics_of
    net = spec.network
    L = len(net.layers) - 1
    settles = dynamics_of(net).settles  # states feel the layer above through W^T
    needs_error = bool(spec.rule.signals("post") & ERROR_POST) or settles
    # predictive coding: a value and an error population per layer
    per_neuron = 2 if dynamics_of(net).model == "predictive_coding" else 1
    comp_lim = profile.get("core.compartments")
    syn_lim = profile.get("core.synapse_memory_bits")
    out_lim = profile.get("core.output_axons")
    rows = []
    for l in range(1, L + 1):
        layer = net.layers[l]
        comps = layer.size * layer.neuron.compartments * per_neuron
        srcs = _sources(net, l, needs_error)
        in_axons = sum(n for _, n in srcs)
        synapses = sum(n * layer.size if name != "target" else layer.size
                       for name, n in srcs)
        bits = sum(n * _axon_bits(layer.size if name != "target" else 1, profile)
                   for name, n in srcs)
        rows.append(dict(layer=layer.name, neurons=layer.size, compartments=comps,
                         input_axons=in_axons, synapses=synapses, synapse_bits=bits))
    # cores from compartments and synapse memory first; a limit of 0 places nothing
    # (check() reports it as a violation), so it sets no core count here
    for r in rows:
        need = {"core.compartments": _ceil(r["compartments"], comp_lim) if comp_lim else 1,
                "core.synapse_memory_bits": _ceil(r["synapse_bits"], syn_lim) if syn_lim else 1}
        r["_need"] = need
    base = {r["layer"]: max(r["_need"].values()) for r in rows}
    # output axons: one per (neuron, destination core)
    dests = {net.layers[l].name: [] for l in range(1, L + 1)}
    for l in range(1, L + 1):
        for name, _ in _sources(net, l, needs_error):
            if name in dests:
                dests[name].append(net.layers[l].name)
    out = []
    for r in rows:
        r["output_axons"] = r["neurons"] * sum(base[d] for d in dests[r["layer"]])
        if out_lim:
            r["_need"]["core.output_axons"] = _ceil(r["output_axons"], out_lim)
        by, cores = max(r["_need"].items(), key=lambda kv: (kv[1], kv[0] == "core.compartments"))
        if cores <= 1:
            by = ""
        out.append(LayerUse(r["layer"], r["neurons"], r["compartments"], r["input_axons"],
                            r["output_axons"], r["synapses"], r["synapse_bits"], max(cores, 1),
                            by))
    return out


def _widths(profile: Profile) -> EngineWidths:
    d = EngineWidths()
    g = profile.get
    return EngineWidths(
        mantissa_min=g("learning.mantissa_min") if g("learning.mantissa_min") is not None
        else d.mantissa_min,
        mantissa_max=g("learning.mantissa_max") if g("learning.mantissa_max") is not None
        else d.mantissa_max,
        exponent_min=g("learning.exponent_min") if g("learning.exponent_min") is not None
        else d.exponent_min,
        exponent_max=g("learning.exponent_max") if g("learning.exponent_max") is not None
        else d.exponent_max)


def _scale_known(profile):
    return all(profile.get(f"learning.{k}") is not None
               for k in ("mantissa_min", "mantissa_max", "exponent_min", "exponent_max"))


def learning_violations(spec, profile: Profile, where: str) -> tuple[list, list]:
    """Learning-engine breaches of the spec's rule, and the per-term scales."""
    rule = spec.rule
    terms = rule.resolved_terms()
    out, scales = [], []
    lim = profile.get("learning.max_terms")
    if lim is not None and len(terms) > lim:
        out.append(Violation("learning.max_terms", lim, len(terms), where,
                             f"the rule has {len(terms)} terms", "host"))
    # learning.epoch_bits is never broken: every lowering learns with an epoch of
    # one step (a batch is accumulated in a synaptic tag, not in a longer epoch,
    # because the engine sees only epoch-end post traces)
    deps = profile.get("learning.dependencies")
    kinds = {"pre": "learning.pre_factors", "post": "learning.post_factors",
             "syn": "learning.syn_factors"}
    pre_traces, post_traces = set(), set()
    for k, t in enumerate(terms):
        tw = f"{where}: term {k} ({t})"
        if deps is not None and t.when not in deps:
            out.append(Violation("learning.dependencies", deps, t.when, tw,
                                 f"dependency {t.when!r} ({WHEN_TO_DEP[t.when]}) is not "
                                 f"available", "host"))
        for fac in t.factors:
            if fac.kind == "global":
                # one value for the whole network (a reward, 1/nudge): the post neuron
                # folds it into its graded factor, as it folds eta
                continue
            allowed = profile.get(kinds[fac.kind])
            if allowed is not None and fac.signal not in allowed:
                out.append(Violation(kinds[fac.kind], allowed, fac.signal, tw,
                                     f"the learning engine cannot form {fac.kind} factor "
                                     f"{fac.signal!r}", "host"))
            if fac.kind == "pre":
                pre_traces.add((fac.signal, fac.tau))
            elif fac.kind == "post":
                post_traces.add((fac.signal, fac.tau))
        scales.append(_scale_entry(rule, t, profile, tw, out))
    for name, used in (("learning.max_pre_traces", pre_traces),
                       ("learning.max_post_traces", post_traces)):
        lim = profile.get(name)
        if lim is not None and len(used) > lim:
            out.append(Violation(name, lim, len(used), where,
                                 f"{len(used)} distinct traces: "
                                 f"{', '.join(s for s, _ in sorted(used, key=str))}", "host"))
    return out, scales


def _scale_entry(rule, term, profile, tw, out):
    etas = {rule.eta, rule.eta_output or rule.eta}
    entries = []
    folded = bool(profile.get("learning.graded_post_factors"))
    for eta in sorted(etas):
        value = eta * term.coeff
        if folded:  # the post neuron sends eta * c inside its graded factor
            entries.append({"value": value, "m": 1, "e": 0, "rel_error": 0.0,
                            "folded_into_post_factor": True})
            continue
        if not _scale_known(profile):
            entries.append({"value": value, "m": None, "e": None, "rel_error": None})
            continue
        w = _widths(profile)
        lo = 2.0 ** w.exponent_min
        hi = max(abs(w.mantissa_min), w.mantissa_max) * 2.0 ** w.exponent_max
        exact = split_scale(value, w)
        m, e = exact if exact else nearest_scale(value, w)
        rel = abs(m * 2.0 ** e - value) / abs(value) if value else 0.0
        entries.append({"value": value, "m": m, "e": e, "rel_error": rel})
        if abs(value) < lo or abs(value) > hi:
            out.append(Violation(
                "learning.scale", f"m*2^e, m in [{w.mantissa_min}, {w.mantissa_max}], "
                f"e in [{w.exponent_min}, {w.exponent_max}] (|scale| in [{lo:g}, {hi:g}])",
                f"{value:g}", tw, "eta * coeff is outside the range of m*2^e", "host"))
    return entries


def check(spec, profile: Profile) -> Report:
    """Resources used and every violation, by name, with limit, value and place."""
    net = spec.network
    violations, unchecked = [], []
    for fig in ("chip.chips", "chip.cores_per_chip", "core.compartments", "core.input_axons",
                "core.output_axons", "core.synapse_memory_bits", "learning.max_terms",
                "learning.epoch_bits", "learning.dependencies", "learning.pre_factors",
                "learning.post_factors", "learning.syn_factors", "models.neuron_models",
                "models.synapse_types"):
        if profile.precision == "fixed" and profile.get(fig) is None:
            unchecked.append(f"{fig}: {profile.source(fig) or 'not in the profile'}")
    layers = resources(spec, profile)
    in_lim = profile.get("core.input_axons")
    syn_lim = profile.get("core.synapse_memory_bits")
    for row, layer in zip(layers, net.layers[1:]):
        for fig, used in (("core.compartments", row.compartments),
                          ("core.output_axons", row.output_axons)):
            if profile.get(fig) == 0 and used > 0:
                violations.append(Violation(fig, 0, used, row.layer,
                                            "a core of this profile holds none"))
        if in_lim is not None and row.input_axons > in_lim:
            violations.append(Violation("core.input_axons", in_lim, row.input_axons, row.layer,
                                        "every core of the layer receives all its "
                                        "presynaptic axons (fan-in)"))
        per_neuron = row.synapse_bits // max(row.neurons, 1)
        if syn_lim is not None and per_neuron > syn_lim:
            violations.append(Violation("core.synapse_memory_bits", syn_lim, per_neuron,
                                        row.layer, "one neuron's synapses exceed a core's "
                                        "synapse memory"))
    total = sum(r.cores for r in layers)
    chips, cpc = profile.get("chip.chips"), profile.get("chip.cores_per_chip")
    core_limit = chips * cpc if chips is not None and cpc is not None else None
    if core_limit is not None and total > core_limit:
        binding = max(layers, key=lambda r: r.cores)
        violations.append(Violation("chip.cores", core_limit, total, "network",
                                    f"needs {total} cores; layer {binding.layer} alone "
                                    f"needs {binding.cores}",
                                    cause=binding.cores_set_by or "core.compartments"))
    models = profile.get("models.neuron_models")
    bad_model = set()
    if models is not None:
        for layer in net.layers[1:]:
            if layer.neuron.model not in models:
                bad_model.add(layer.name)
                violations.append(Violation("models.neuron_models", models,
                                            layer.neuron.model, layer.name,
                                            "the cores do not run this neuron model"))
    syn_types = profile.get("models.synapse_types")
    if syn_types is not None and "dense" not in syn_types:
        violations.append(Violation("models.synapse_types", syn_types, "dense", "network",
                                    "projections are dense"))
    mapping = []
    rule = spec.rule
    plastic = [(l, net.layers[l]) for l in range(1, len(net.layers)) if net.layers[l].plastic]
    if plastic and profile.precision == "fixed":
        lv, scales = learning_violations(spec, profile, f"rule {rule.display_name}")
        violations.extend(lv)
    else:
        lv, scales = [], []
    family = _family(rule)
    support = profile.support(family)
    for l, layer in plastic:
        proj = f"{net.layers[l - 1].name}->{layer.name}"
        reasons, status = [], "on_chip"
        if layer.name in bad_model:
            status = "cannot_run"
            reasons.append(f"neuron model {layer.neuron.model!r} does not run on "
                           f"{profile.name}")
        elif support is not None and support.mode == "none":
            status = "cannot_run"
            reasons.append(f"rule family {family}: {support.reason}")
        else:
            if support is not None and support.mode == "host":
                status = "host"
                reasons.append(f"rule family {family}: {support.reason}")
            for v in lv:
                status = "host"
                reasons.append(f"{v.name}: {v.reason}")
            if family == "kolen_pollack" or (l < len(net.layers) - 1
                                             and net.feedback_of(l).kind == "learned"):
                if status == "on_chip":
                    reasons.append("the learned feedback matrix itself learns on the host")
        if status == "on_chip" and not reasons:
            reasons.append("every factor, dependency and scale fits the learning engine"
                           if profile.precision == "fixed" else "float, no limits")
        mapping.append(Mapping(proj, rule.display_name, status, reasons, scales))
    return Report(spec.name, profile.name, layers, total, core_limit, violations, mapping,
                  unchecked)


def format_report(report: Report) -> str:
    """The resource table, the violations and the rule mapping, as text."""
    lines = [f"{report.spec} on {report.profile}: "
             f"{'fits' if report.fits else 'DOES NOT FIT'}", ""]
    head = ("layer", "neurons", "compartments", "in axons", "out axons", "synapses",
            "synapse bits", "cores")
    rows = [(r.layer, r.neurons, r.compartments, r.input_axons, r.output_axons, r.synapses,
             r.synapse_bits, f"{r.cores}" + (f" ({r.cores_set_by})" if r.cores_set_by else ""))
            for r in report.layers]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in [head] + rows:
        lines.append("  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                               for i, (x, w) in enumerate(zip(row, widths))))
    limit = "" if report.core_limit is None else f" of {report.core_limit}"
    lines.append(f"total cores: {report.total_cores}{limit}")
    lines.append("")
    if report.violations:
        lines.append(f"violations ({len(report.violations)}):")
        lines += [f"  {v}" for v in report.violations]
    else:
        lines.append("violations: none")
    if report.mapping:
        lines.append("")
        lines.append("rule mapping:")
        for m in report.mapping:
            lines.append(f"  {m.projection}: {m.status}: {'; '.join(m.reasons)}")
    if report.unchecked:
        lines.append("")
        lines.append("unchecked (unknown in the profile):")
        lines += [f"  {u}" for u in report.unchecked]
    return "\n".join(lines)


__all__ = ["check", "format_report", "resources", "Report", "Violation", "LayerUse",
           "Mapping"]
