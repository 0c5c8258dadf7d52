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
from .schema import Node, field, finite, one_of, optional, positive

# Signals a factor may name, by locality. The neuron (post) or the presynaptic
# trace (pre) computes each; a backend lowers each name to its own mechanism.
PRE_SIGNALS = {
    "activity": "presynaptic rate (rate models) or spike trace with time constant tau",
    "event_trace": "trace of presynaptic events, E~_j (burst neurons), time constant tau",
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
}
SYN_SIGNALS = {"w": "the synaptic weight itself"}
SIGNALS = {"pre": PRE_SIGNALS, "post": POST_SIGNALS, "syn": SYN_SIGNALS}
WHEN = ("step", "pre_spike", "post_spike")


@dataclass
class Factor(Node):
    kind: str = field(check=one_of("pre", "post", "syn"), doc="locality of the factor")
    signal: str = field(doc="signal name, see neurolearn.rules.ir.SIGNALS")
    tau: float | None = field(None, check=optional(positive),
                              doc="time constant of a filtered signal (s in the "
                                  "time-stepped simulator, updates in the batched trainer)")

    def validate(self, path: str):
        known = SIGNALS[self.kind]
        if self.signal not in known:
            raise SpecError(f"unknown {self.kind} signal {self.signal!r} (known: "
                            f"{', '.join(known)})", "signal")

    def __str__(self):
        tau = f"[tau={self.tau:g}]" if self.tau is not None else ""
        return f"{self.kind}.{self.signal}{tau}"


@dataclass
class Term(Node):
    factors: list[Factor] = field(doc="the product's factors")
    coeff: float = field(1.0, check=finite, doc="c_k, relative to the rule's eta")
    when: str = field("step", check=one_of(*WHEN), doc="dependency D_k: when the term applies")

    def validate(self, path: str):
        if not self.factors:
            raise SpecError("a term needs at least one factor", "factors")

    def __str__(self):
        return f"{self.coeff:+g} * " + " * ".join(map(str, self.factors)) + \
            ("" if self.when == "step" else f" @{self.when}")
