"""A neurolearn rule as a Nengo learning rule: types, operators, builders.

Two operators per network, registered the Nengo way:

- :class:`SimPostFactors` (one per network) computes every layer's post factors of
  this step (error_drive under the layer's feedback pathway, burst_prob_dev,
  activity) from the neurons' input currents, activities, the target and the
  forward/feedback matrices. It *sets* one signal per (layer, factor), so it runs
  within the step, after the neurons.
- :class:`SimSumOfProducts` (one per plastic connection, built from the
  :class:`SumOfProducts` learning rule type) *updates* the connection's delta with
  ``eta * sum_k c_k (post_k outer pre_k) * syn_k`` (eta per step); Nengo adds the delta to the
  weights at the start of the next step. For a learned (Kolen-Pollack) feedback
  matrix it also updates B with the transposed syn-free part, minus decay * B.

The post-factor operator needs objects of the whole network, built after every
connection, so :func:`add_post_factors` is called on the built model (see model.py).
"""

from __future__ import annotations

import nengo
import numpy as np
from nengo.builder import Builder, Operator, Signal
from nengo.builder.learning_rules import build_or_passthrough
from nengo.params import Parameter


class Plan:
    """What the operators of one network share: layers, pathways and their signals.

    Signals are created on first use in a model and cached in ``model.sig[plan]``.
    """

    def __init__(self, spec, params, layers, ensembles, act_synapse):
        self.spec = spec
        self.params = params            # initial W, B (copied into signals)
        self.layers = layers            # LayerNeurons per layer 1..L (index 0..L-1)
        self.ensembles = ensembles      # Ensemble per layer 1..L
        self.act_synapse = act_synapse  # filter of activities (None for rate)
        self.L = len(layers)
        self.post_needed = spec.rule.signals("post")
        self.connections = {}           # layer index l (1..L) -> Connection

    def signals(self, model) -> dict:
        """Flat keys ("pf", l, name), ("B", l), ("act", l) -> Signal (flat so that
        Nengo's optimizer can replace merged signals in place)."""
        sig = model.sig[self]
        if ("ready",) not in sig:
            sizes = self.spec.network.sizes
            for l in range(1, self.L + 1):
                for name in ("error_drive", "burst_prob_dev"):
                    sig[("pf", l, name)] = Signal(np.zeros(sizes[l]), name=f"pf{l}.{name}")
            for l, B in self.params.B.items():
                sig[("B", l)] = Signal(B.copy(), name=f"B{l}")
            sig[("ready",)] = Signal(np.zeros(1), name="plan")
        return sig

    def activity(self, model, l):
        """The (filtered) output of layer l's neurons, built once per layer."""
        sig = self.signals(model)
        if ("act", l) not in sig:
            out = model.sig[self.ensembles[l - 1].neurons]["out"]
            sig[("act", l)] = build_or_passthrough(model, self.act_synapse, out)
        return sig[("act", l)]


class SumOfProducts(nengo.learning_rules.LearningRuleType):
    """dW = eta * sum_k c_k * prod(pre) * prod(post) * prod(syn), per step.

    ``plan`` and ``layer`` tie the rule to its network's post factors.
    """

    modifies = "weights"
    probeable = ("delta",)
    plan = Parameter("plan", readonly=True)
    layer = Parameter("layer", readonly=True)
    pre_synapse = nengo.synapses.SynapseParam("pre_synapse", default=None, optional=True,
                                                readonly=True)

    def __init__(self, learning_rate, plan, layer, pre_synapse=None):
        super().__init__(learning_rate, size_in=0)
        self.plan = plan
        self.layer = layer
        self.pre_synapse = pre_synapse


class SimSumOfProducts(Operator):
    """delta = eta * sum_k c_k (P_k outer Q_k) [* W]; learned B += its mirror.

    reads [pre, post factors..., weights]; updates [delta (, B)].
    """

    def __init__(self, terms, eta, pre, post, weights, delta, B=None, decay=0.0,
                 B_pre=None, tag=None):
        super().__init__(tag=tag)
        # signals live only in sets/reads/updates: Nengo's optimizer rewrites those
        self.terms = terms
        self.eta = eta
        self.post_names = list(post)
        self.has_B, self.decay = B is not None, decay
        self.sets, self.incs = [], []
        self.reads = [pre] + list(post.values()) + [weights]
        self.updates = [delta] + ([B] if B is not None else [])

    def make_step(self, signals, dt, rng):
        pre = signals[self.reads[0]]
        post = {k: signals[s] for k, s in zip(self.post_names, self.reads[1:-1])}
        W = signals[self.reads[-1]]
        delta = signals[self.updates[0]]
        eta = self.eta
        compiled = []
        for t in self.terms:
            P = [f.signal for f in t.factors if f.kind == "post"]
            Q = [f.signal for f in t.factors if f.kind == "pre"]
            S = sum(1 for f in t.factors if f.kind == "syn")
            compiled.append((t.coeff, P, bool(Q), S))
        B = signals[self.updates[1]] if self.has_B else None
        decay = self.decay
        n_post, n_pre = W.shape

        def prod_post(names):
            out = None
            for name in names:
                out = post[name] if out is None else out * post[name]
            return np.ones(n_post) if out is None else out

        if len(compiled) == 1 and compiled[0][2] and compiled[0][3] == 0 \
                and len(compiled[0][1]) == 1 and B is None:
            # fast path (delta, burstprop_rate): one pre x post product, scaled on the
            # post vector first (one pass over the matrix, as nengo's SimPES does);
            # this reassociates eta*c*(P q) and differs from the reference by ulps
            coeff, (name,), _, _ = compiled[0]
            p_sig = post[name]
            scale = eta * coeff
            outer = np.multiply.outer

            def step_one_product():
                outer(scale * p_sig, pre, out=delta)

            return step_one_product

        def step_sum_of_products():
            d = np.zeros((n_post, n_pre))
            mirror = None
            for coeff, P, has_q, S in compiled:
                q = pre if has_q else np.ones(n_pre)
                tw = coeff * np.outer(prod_post(P), q)
                for _ in range(S):
                    tw = tw * W
                d += tw
                if S == 0:
                    mirror = tw if mirror is None else mirror + tw
            if B is not None:
                m = mirror if mirror is not None else np.zeros_like(d)
                B[...] += eta * (m.T - decay * B)
            delta[...] = eta * d

        return step_sum_of_products


@Builder.register(SumOfProducts)
def build_sum_of_products(model, rule_type, rule):
    plan, l = rule_type.plan, rule_type.layer
    conn = rule.connection
    sig = plan.signals(model)
    pre = build_or_passthrough(model, rule_type.pre_synapse, model.sig[conn.pre_obj]["out"])
    needed = plan.spec.rule.signals("post")
    post = {}
    for name in needed:
        post[name] = plan.activity(model, l) if name == "activity" else sig[("pf", l, name)]
    terms = plan.spec.rule.resolved_terms()
    B = None
    decay = 0.0
    below = l - 1
    if below >= 1 and ("B", below) in sig and \
            plan.spec.network.feedback_of(below).kind == "learned":
        B = sig[("B", below)]
        decay = plan.spec.network.feedback_of(below).decay
    model.add_op(SimSumOfProducts(terms, rule_type.learning_rate, pre, post,
                                  model.sig[conn]["weights"], model.sig[rule]["delta"],
                                  B=B, decay=decay, tag=f"SumOfProducts{l}"))


class SimPostFactors(Operator):
    """Every layer's post factors of this step (trainer docstring, steps 2-4).

    reads [J_l, activity_l, target, W_l (transport), B_l]; sets [post factors].
    """

    def __init__(self, plan, J, act, target, weights, B, pf, tag=None):
        super().__init__(tag=tag)
        # signals live only in sets/reads: Nengo's optimizer rewrites those lists
        self.plan = plan
        self.keys = [("J", l) for l in J] + [("act", l) for l in act] + [("y",)] + \
            [("W", l) for l in weights] + [("B", l) for l in B]
        self.pf_keys = list(pf)
        self.sets = list(pf.values())
        self.incs, self.updates = [], []
        self.reads = list(J.values()) + list(act.values()) + [target] + \
            list(weights.values()) + list(B.values())

    def make_step(self, signals, dt, rng):
        plan = self.plan
        net = plan.spec.network
        L = plan.L
        views = {k: signals[s] for k, s in zip(self.keys, self.reads)}
        J = {k[1]: v for k, v in views.items() if k[0] == "J"}
        act = {k[1]: v for k, v in views.items() if k[0] == "act"}
        y = views[("y",)]
        W = {k[1]: v for k, v in views.items() if k[0] == "W"}
        B = {k[1]: v for k, v in views.items() if k[0] == "B"}
        pf = {(k[1], k[2]): signals[s] for k, s in zip(self.pf_keys, self.sets)}
        ce = plan.spec.training.loss == "cross_entropy"
        want_drive = "error_drive" in plan.post_needed
        want_burst = "burst_prob_dev" in plan.post_needed
        kinds = {l: net.feedback_of(l).kind for l in range(1, L)}
        neurons = [None] + [layer.neuron for layer in net.layers[1:]]
        gains = {l: plan.layers[l - 1].gain for l in range(1, L + 1)}
        bias_L = plan.layers[L - 1].bias

        def softmax(a):
            z = np.exp(a - a.max())
            return z / z.sum()

        def sigmoid(v):
            return 1.0 / (1.0 + np.exp(-v))

        layers = [None] + list(plan.layers)
        Jl = [None] + [J[l] for l in range(1, L + 1)]
        hl = [None] + [act[l] for l in range(1, L + 1)]
        sig_fp = [None] + [layers[l].model in ("sigmoid", "burst_rate") for l in range(1, L + 1)]
        drive_out = [None] + [pf.get((l, "error_drive")) for l in range(1, L + 1)]
        burst_out = [None] + [pf.get((l, "burst_prob_dev")) for l in range(1, L + 1)]
        fb_src = [None] + [L if kinds[l] == "direct" else l + 1 for l in range(1, L)]
        fb_mat = [None] + [W[l + 1] if kinds[l] == "transport" else B[l]
                           for l in range(1, L)]
        transport = [None] + [kinds[l] == "transport" for l in range(1, L)]

        def step_post_factors():
            if want_drive:
                fp = [None] * (L + 1)
                for l in range(1, L + 1):
                    h = hl[l]
                    fp[l] = h * (1.0 - h) if sig_fp[l] else layers[l].fprime(Jl[l], h)
                e = (softmax((Jl[L] - bias_L) / gains[L]) if ce else hl[L]) - y
                d = [None] * (L + 1)
                d[L] = -e if ce else -e * fp[L]
                for l in range(L - 1, 0, -1):
                    src = d[fb_src[l]]
                    g = src @ fb_mat[l] if transport[l] else src @ fb_mat[l].T
                    d[l] = g * fp[l]
                for l in range(1, L + 1):
                    drive_out[l][...] = d[l]
            if want_burst:
                e = hl
                pb = neurons[L].p_baseline
                p_bar = {L: np.full_like(e[L], pb)}
                p = {L: pb * (1.0 + (y - e[L]) * (1.0 - e[L]))}
                for l in range(L - 1, 0, -1):
                    n = neurons[l]
                    off = np.log(n.p_baseline / (1.0 - n.p_baseline))
                    src = fb_src[l]
                    M = fb_mat[l].T if transport[l] else fb_mat[l]
                    for probs in (p_bar, p):
                        u = (probs[src] * e[src]) @ M.T
                        probs[l] = sigmoid(n.beta * u * (1.0 - e[l]) + off)
                for l in range(1, L + 1):
                    burst_out[l][...] = (p[l] - p_bar[l]) * e[l]

        return step_post_factors


def add_post_factors(model, plan, target_node):
    """Add the network's :class:`SimPostFactors` operator to a built model."""
    sig = plan.signals(model)
    L = plan.L
    J = {l: model.sig[plan.ensembles[l - 1].neurons]["in"] for l in range(1, L + 1)}
    act = {l: plan.activity(model, l) for l in range(1, L + 1)}
    weights = {l: model.sig[c]["weights"] for l, c in plan.connections.items()}
    pf = {k: s for k, s in sig.items() if k[0] == "pf" and k[2] in plan.post_needed}
    B = {k[1]: s for k, s in sig.items() if k[0] == "B"}
    model.add_op(SimPostFactors(plan, J, act, model.sig[target_node]["out"], weights,
                                B, pf, tag="PostFactors"))
