"""The built-in rules, each written in the same terms a user would write."""

from __future__ import annotations

from dataclasses import dataclass

from .terms import Factor, Term


@dataclass(frozen=True)
class BuiltinRule:
    name: str
    summary: str
    terms: list
    needs: str  # neuron models of the plastic layers
    reference: str


def _pre(signal, tau=None):
    return Factor("pre", signal, tau)


def _post(signal, tau=None):
    return Factor("post", signal, tau)


BUILTIN_RULES: dict[str, BuiltinRule] = {r.name: r for r in [
    BuiltinRule(
        "delta",
        "dW = eta * error_drive(i) * pre(j); the feedback pathway (transport = backprop, "
        "random = FA, direct = DFA, learned = Kolen-Pollack) decides error_drive",
        [Term([_pre("activity"), _post("error_drive")])],
        "any rate model; lif in the time-stepped simulator",
        "Lillicrap et al. 2016; Nokland 2016; Akrout et al. 2019"),
    BuiltinRule(
        "kolen_pollack",
        "delta rule plus weight decay, dW = eta*(error_drive*pre - 0.003*w); pair with "
        "feedback kind = 'learned' (decay = 0.003) whose B gets the transposed update",
        [Term([_pre("activity"), _post("error_drive")]),
         Term([Factor("syn", "w")], coeff=-0.003)],
        "any rate model",
        "Kolen & Pollack 1994; Akrout et al. 2019"),
    BuiltinRule(
        "burstprop_rate",
        "ensemble burst-dependent plasticity, dW = eta * (p - p_bar) * e * x^T, "
        "p = sigmoid(apical input)",
        [Term([_pre("activity"), _post("burst_prob_dev")])],
        "burst_rate",
        "Payeur et al. 2021 (ensemble-level rule)"),
    BuiltinRule(
        "burstprop",
        "spiking burst-dependent plasticity, dw/dt = eta * [B_i - P_bar_i E_i] * E~_j",
        [Term([_pre("event_trace", 0.1), _post("burst")]),
         Term([_pre("event_trace", 0.1), _post("pbar_event")], coeff=-1.0)],
        "burst",
        "Payeur et al. 2021, eq. 2"),
]}
