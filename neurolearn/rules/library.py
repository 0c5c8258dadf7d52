"""The built-in rules, each written in the same terms a user would write."""

from __future__ import annotations

from dataclasses import dataclass

from .terms import Factor, Tag, Term


@dataclass(frozen=True)
class BuiltinRule:
    name: str
    summary: str
    terms: list
    needs: str  # neuron models of the plastic layers
    reference: str
    tag: object = None  # an eligibility Tag (reward-modulated rules)
    needs_spec: str = ""  # what else the spec must give (phases, dynamics, feedback rule)


def _pre(signal, tau=None):
    return Factor("pre", signal, tau)


def _post(signal, tau=None):
    return Factor("post", signal, tau)


def _pair_stdp(update="add"):
    """Pair STDP with Song, Miller & Abbott's (2000) windows (tau+ = tau- = 20 ms,
    A- = 1.05 A+, eta = A+): at a post spike + pre trace, at a pre spike - post trace."""
    return [Term([Factor("pre", "spike_trace", 0.02, update)], 1.0, "post_spike"),
            Term([Factor("post", "spike_trace", 0.02, update)], -1.05, "pre_spike")]


def _triplet_stdp():
    """Pfister & Gerstner 2006, all-to-all, visual cortex (their Table 4; NEST's
    stdp_triplet_synapse defaults): at a post spike r1 (A2+ + A3+ o2), at a pre spike
    -o1 (A2- + A3- r2), the slow traces o2, r2 read before their own spike."""
    r1 = Factor("pre", "spike_trace", 0.0168)
    r2 = Factor("pre", "spike_trace", 0.101, read="before")
    o1 = Factor("post", "spike_trace", 0.0337)
    o2 = Factor("post", "spike_trace", 0.125, read="before")
    return [Term([r1], 5e-10, "post_spike"), Term([r1, o2], 6.2e-3, "post_spike"),
            Term([o1], -7e-3, "pre_spike"), Term([o1, r2], -2.3e-4, "pre_spike")]


def _at(kind, signal, phase, value="snapshot"):
    """A factor that reads ``signal`` as it was in ``phase`` (phased specs)."""
    return Factor(kind, signal, phase=phase, phase_value=value)


def _contrast(plus: str, minus: str, nudged: str):
    """Equilibrium propagation's contrastive Hebbian difference (Scellier & Bengio
    2017): (rho_i rho_j at the nudged equilibrium - at the free one) / beta."""
    inv = _at("global", "inv_nudge", nudged)
    return [Term([_at("pre", "activity", plus), _at("post", "activity", plus), inv]),
            Term([_at("pre", "activity", minus), _at("post", "activity", minus), inv],
                 coeff=-1.0)]


def _plateau_difference():
    """Guerguiev et al. 2017: dW = eta (alpha^t - alpha^f) k_B sigma'(C^f) x^f with
    phase averages (the output: its rates' difference)."""
    common = [_at("pre", "activity", "forward", "average"),
              _at("post", "slope", "forward", "average")]
    return [Term([_at("post", "plateau", "target", "average")] + common),
            Term([_at("post", "plateau", "forward", "average")] + common, coeff=-1.0)]


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
    BuiltinRule(
        "stdp",
        "pair STDP, all-to-all: each post spike adds eta * x_pre, each pre spike subtracts "
        "eta * 1.05 * y_post (traces +1 per spike, tau 20 ms)",
        _pair_stdp(), "lif", "Bi & Poo 1998; Song, Miller & Abbott 2000"),
    BuiltinRule(
        "stdp_nearest",
        "pair STDP, symmetric nearest-neighbour: as stdp, but a spike sets its trace to 1 "
        "instead of adding 1",
        _pair_stdp("set"), "lif", "Morrison, Diesmann & Gerstner 2008 (nearest-spike)"),
    BuiltinRule(
        "triplet_stdp",
        "triplet STDP, all-to-all (absolute changes: eta = 1): post spikes potentiate by "
        "r1 (A2+ + A3+ o2), pre spikes depress by o1 (A2- + A3- r2)",
        _triplet_stdp(), "lif", "Pfister & Gerstner 2006 (visual cortex, all-to-all)"),
    BuiltinRule(
        "rstdp",
        "reward-modulated STDP: pair STDP accumulates in an eligibility tag (tau 0.2 s); "
        "dw = eta * rpe * tag on plastic steps (needs spec.reward)",
        [Term([Factor("syn", "tag"), Factor("global", "rpe")])], "lif",
        "Izhikevich 2007; Fremaux & Gerstner 2016", tag=Tag(0.2, _pair_stdp())),
    BuiltinRule(
        "brainprop",
        "attention-gated reinforcement learning: the delta rule with the output error "
        "replaced by the reward prediction error of the selected action only (needs "
        "training.loss = 'reward' and spec.reward; transport feedback carries attention "
        "from the selected action)",
        [Term([_pre("activity"), _post("error_drive")])], "any rate model",
        "Roelfsema & van Ooyen 2005 (AGREL); Pozzi, Bohte & Roelfsema 2020 (BrainProp)"),
    BuiltinRule(
        "segregated_dendrites",
        "pyramidal neurons with segregated apical dendrites: a forward phase and a "
        "target phase per example; each layer learns from the difference of its "
        "phase-averaged plateau potentials, dW = eta (alpha^t - alpha^f) f'(C^f) x^f "
        "(the output from its rates' difference)",
        _plateau_difference(), "pyramidal hidden layers, any rate output",
        "Guerguiev, Lillicrap & Richards 2017, eLife 6:e22901",
        needs_spec="phases named 'forward' and 'target' (the target phase plastic, "
                   "target = true)"),
    BuiltinRule(
        "equilibrium_propagation",
        "a free phase and a weakly nudged phase both settle to equilibrium over "
        "symmetric connections; dW = (eta / beta) (rho_i rho_j nudged - rho_i rho_j free)",
        _contrast("nudged", "free", "nudged"), "any rate model (hard_sigmoid in the paper)",
        "Scellier & Bengio 2017, Front. Comput. Neurosci. 11:24",
        needs_spec="network.dynamics = {model = 'equilibrium'}; settling phases named "
                   "'free' and 'nudged' (plastic, target = true, nudge = beta)"),
    BuiltinRule(
        "predictive_coding",
        "value units relax on the prediction-error energy with the output nudged toward "
        "the target; each projection learns dW = (eta / beta) e_l f(x_below)^T from its "
        "error population at equilibrium",
        [Term([_at("pre", "activity", "infer"), _at("post", "error", "infer"),
               _at("global", "inv_nudge", "infer")])],
        "any rate model",
        "Whittington & Bogacz 2017, Neural Comput. 29:1229 (backprop's updates in the "
        "limit of a weak output precision); Millidge, Tschantz & Buckley 2022",
        needs_spec="network.dynamics = {model = 'predictive_coding'}; a settling phase "
                   "named 'infer' (plastic, target = true, nudge = the output's precision)"),
    BuiltinRule(
        "weight_mirror",
        "feedback alignment whose feedback matrices learn in a mirror phase: noise "
        "drives each hidden layer and B learns dB = eta_B (xi (W xi + b)^T - B), so B "
        "approaches W^T; the forward weights learn the delta rule",
        [Term([_pre("activity"), _post("error_drive")])], "any rate model",
        "Akrout, Wilson, Humphreys, Lillicrap & Tweed 2019, NeurIPS (weight mirrors)",
        needs_spec="network.feedback.rule (builtin 'weight_mirror') learning in a phase "
                   "with noise on the hidden layers"),
]}

# Rules of a plastic feedback projection (network.feedback.rule): B of hidden layer l
# is the synapse from the pathway's source (pre) to layer l (post).
FEEDBACK_RULES: dict[str, BuiltinRule] = {r.name: r for r in [
    BuiltinRule(
        "weight_mirror",
        "dB = eta_B (post.activity * pre.net_input - B): in a phase where noise xi "
        "replaces the hidden activity, E[xi (W xi + b)^T] = sigma^2 W^T, so B tends to "
        "sigma^2 W^T",
        [Term([_pre("net_input"), _post("activity")]),
         Term([Factor("syn", "w")], coeff=-1.0)],
        "the hidden layers replaced by zero-mean noise in the rule's phase",
        "Akrout et al. 2019, NeurIPS, section 3 (weight mirror)"),
]}
