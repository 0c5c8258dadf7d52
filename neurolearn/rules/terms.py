"""Factors and terms: the pieces a plasticity rule is written from.

A rule is a sum of products of locality-typed factors,

    dW_ij = eta * sum_k c_k * D_k * prod(pre factors)(j) * prod(post factors)(i) * prod(syn)(ij)

pre factors are presynaptic traces, post factors per-neuron signals the neuron
computes (all the non-local work of feedback alignment or burst-dependent
plasticity lives there), syn factors synaptic variables, and D_k (``when``) says
when the term applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError
from .schema import (Node, bounded, field, identifier, list_of, one_of, optional,
                     time_constant)

# Signals a factor may name, by locality. The neuron (post) or the presynaptic
# trace (pre) computes each; a backend lowers each name to its own mechanism.
PRE_SIGNALS = {
    "activity": "presynaptic rate (rate models) or spike trace with time constant tau",
    "event_trace": "trace of presynaptic events, E~_j (burst neurons), time constant tau",
    "spike_trace": "STDP trace of presynaptic spikes: x <- exp(-dt/tau) x, +1 at a spike "
                   "(update = 'set': x <- 1 at a spike, nearest-neighbour); tau required",
    "net_input": "phased specs: the presynaptic layer's net input a = W h_below + b (its "
                 "state under equilibrium or predictive-coding dynamics); for the input "
                 "layer its activity",
}
POST_SIGNALS = {
    "activity": "postsynaptic rate, or its spike trace with time constant tau",
    "activity_sq_avg": "moving average of the squared activity <y^2> (BCM threshold), tau",
    "error_drive": "the layer's learning signal under its feedback pathway: "
                   "-dL/da at the output, (M delta_above) * f'(a) below",
    "burst_prob_dev": "(p - p_bar) * e of a rate burst neuron",
    "burst": "burst train B_i(t) of a spiking burst neuron",
    "pbar_event": "P_bar_i(t) * E_i(t): moving-average burst probability times event train",
    "event": "event train E_i(t) of a spiking burst neuron",
    "spike_trace": "STDP trace of postsynaptic spikes (as pre.spike_trace)",
    "slope": "phased specs: f'(a), the slope of the layer's rate at its net input "
             "(pyramidal: k_B sigmoid'(C), per unit of basal potential)",
    "plateau": "phased specs: the plateau potential sigmoid(A) of a pyramidal layer's "
               "apical potential A; read as a phase average, sigmoid of the phase's mean "
               "A (Guerguiev et al. 2017); a layer without an apical dendrite (the "
               "output) reads its activity",
    "error": "phased specs, predictive-coding dynamics: the layer's error population "
             "e = x - mu (value units x, prediction mu = W f(x_below) + b)",
}
SYN_SIGNALS = {"w": "the synaptic weight itself",
               "tag": "the synapse's eligibility tag (rule.tag): a synaptic state with its "
                      "own decay and sum of products"}
GLOBAL_SIGNALS = {
    "reward": "the task's reward r (spec.reward), during the plastic steps after its delay",
    "rpe": "reward prediction error r - r_bar, r_bar a running mean of past rewards "
           "(spec.reward.baseline_tau)",
    "inv_nudge": "1 / nudge of the phase the factor names (the finite-difference scale "
                 "of contrastive rules: equilibrium propagation, predictive coding)",
}
REWARD_SIGNALS = ("reward", "rpe")
SIGNALS = {"pre": PRE_SIGNALS, "post": POST_SIGNALS, "syn": SYN_SIGNALS,
           "global": GLOBAL_SIGNALS}
WHEN = ("step", "pre_spike", "post_spike")
TRACE_SIGNALS = ("activity", "event_trace", "spike_trace")


@dataclass
class Factor(Node):
    kind: str = field(check=one_of("pre", "post", "syn", "global"),
                      doc="locality of the factor: pre, post, syn (per synapse) or "
                          "global (one scalar for the network: a third factor)")
    signal: str = field(doc="signal name, see neurolearn.rules.ir.SIGNALS")
    tau: float | None = field(None, check=optional(time_constant),
                              doc="time constant (s) of a filtered signal")
    update: str = field("add", check=one_of("add", "set"),
                        doc="spike traces: 'add' adds the jump at each spike (all-to-all "
                            "pairing), 'set' sets the trace to it (nearest-neighbour)")
    read: str = field("after", check=one_of("after", "before"),
                      doc="spike traces: read after this step's own spike is added, or "
                          "just before it (the t - epsilon value of triplet STDP)")
    phase: str | None = field(None, check=optional(identifier),
                              doc="phased specs: read the value this signal had in the "
                                  "named phase ([[phases]]) instead of the step's value")
    phase_value: str = field("snapshot", check=one_of("snapshot", "average"),
                             doc="with phase: 'snapshot', the value at the phase's last "
                                 "step; 'average', the mean over the phase's window")

    def validate(self, path: str):
        known = SIGNALS[self.kind]
        if self.signal not in known:
            raise SpecError(f"unknown {self.kind} signal {self.signal!r} (known: "
                            f"{', '.join(known)})", "signal")
        if self.signal == "spike_trace" and self.tau is None:
            raise SpecError("a spike_trace needs its time constant tau", "tau")
        if (self.update != "add" or self.read != "after") and \
                self.signal not in TRACE_SIGNALS:
            raise SpecError(f"update and read apply to spike traces ({', '.join(TRACE_SIGNALS)}), "
                            f"not {self.kind}.{self.signal}", "update")
        if self.phase is None and self.phase_value != "snapshot":
            raise SpecError("phase_value applies to a factor that reads a phase: give "
                            "phase = NAME", "phase_value")
        if self.signal == "inv_nudge" and self.phase is None:
            raise SpecError("global.inv_nudge is 1/nudge of a phase: give phase = NAME",
                            "phase")
        if self.phase is not None and (self.kind == "syn" or self.tau is not None):
            raise SpecError(f"{self.kind}.{self.signal}"
                            f"{' with tau' if self.tau is not None else ''} cannot read a "
                            "phase (phase values are of neuron signals)", "phase")

    @property
    def key(self) -> tuple:
        """What makes two factors the same signal."""
        return (self.kind, self.signal, self.tau, self.update, self.read, self.phase,
                self.phase_value)

    def __str__(self):
        opts = [f"tau={self.tau:g}"] if self.tau is not None else []
        opts += ["nearest"] if self.update == "set" else []
        opts += ["before"] if self.read == "before" else []
        if self.phase is not None:
            opts += [self.phase + (" avg" if self.phase_value == "average" else "")]
        return f"{self.kind}.{self.signal}" + (f"[{','.join(opts)}]" if opts else "")


@dataclass
class Term(Node):
    factors: list[Factor] = field(check=list_of("factors"), doc="the product's factors")
    coeff: float = field(1.0, check=bounded, doc="c_k, relative to the rule's eta")
    when: str = field("step", check=one_of(*WHEN), doc="dependency D_k: when the term applies")

    def validate(self, path: str):
        if not self.factors:
            raise SpecError("a term needs at least one factor", "factors")

    def __str__(self):
        return f"{self.coeff:+g} * " + " * ".join(map(str, self.factors)) + \
            ("" if self.when == "step" else f" @{self.when}")


@dataclass
class Tag(Node):
    """A synaptic state variable with its own decay and sum of products (eligibility):
    every step (plastic or not) tag <- exp(-dt/tau) tag + sum_k c_k prod(factors);
    a spike-gated term adds its product at each spike, a step term every step."""
    tau: float = field(check=time_constant, doc="decay time constant (s)")
    terms: list[Term] = field(check=list_of("terms"),
                              doc="what the tag accumulates (syn.tag may not appear)")

    def validate(self, path: str):
        if not self.terms:
            raise SpecError("a tag needs at least one term", "terms")
        for k, t in enumerate(self.terms):
            for m, f in enumerate(t.factors):
                if f.kind in ("syn", "global"):
                    raise SpecError(f"a tag's terms may not read {f.kind}.{f.signal}",
                                    f"terms[{k}].factors[{m}].signal")
