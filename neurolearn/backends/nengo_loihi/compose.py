"""A spec as a PES composition for nengo-loihi.

nengo-loihi learns only ``nengo.PES`` on the decoders of an on-chip Ensemble whose
decoded output leaves the chip. A layered network maps onto that as follows, for
layers l = 1..L:

- ``src[l-1]``: an on-chip Ensemble of n_{l-1} SpikingRectifiedLinear neurons with
  gain R and bias 0, driven on ``.neurons`` by h_{l-1} (the input x for l = 1): it
  fires R * h_j Hz (the rate code of the layer below).
- ``conn[l]``: its decoded connection to a host Node, decoders D_l = W_l^T / (R s_l)
  (so the decoded value is a_l / s_l: decode neurons saturate beyond about +-1, see
  :func:`current_scales`), learning with PES. The host Node computes
  h_l = f(s_l * decoded) with the layer's rate function.
- one host Node computes every layer's post factor (error_drive under random or
  direct feedback, or burst_prob_dev) from the decoded a_l, h_l and the target, and
  feeds -c_l * post_l to layer l's PES as its error. PES's filtered pre activity
  (the chip's 7-bit pre trace) is the eligibility trace, so the chip does
  pre trace x factor:  dD = -kappa dt / n_pre * err * act, and the chip applies it to
  both the on and the off decode neuron (decoded value on - off: twice the change,
  measured), so kappa = eta n_pre / (2 c R^2 s_l dt) reproduces dW = eta * post outer pre per step.

Compile-time checks (see :func:`check_limits`): the error grid (error sent as
round(100 e), clipped to +-127: c_l maps a bound of |post_l| onto 1.27), presynaptic
rates below 500 Hz, the pre trace time constant a whole number of steps, and, on the
built model, the 7-bit trace increment and the headroom of the learned weights under
the fixed exponent ``pes_wgt_exp``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ...errors import UnsupportedRule
from ...reference.activations import f as rate_f, fprime, sigmoid

NAME = "nengo-loihi"
MAX_RATE_HZ = 500.0   # nengo-loihi: presynaptic rates must stay below this
ERROR_RANGE = 1.27    # errors are sent as int(round(100 e)), clipped to +-127
ERROR_STEP = 0.01
HOST_MODELS = ("sigmoid", "tanh", "relu", "linear", "burst_rate")


@dataclass
class Composition:
    network: object
    connections: dict            # l -> learned (or frozen) nengo.Connection
    D0: dict                     # l -> initial decoders (n_{l-1}, n_l)
    rate: float
    error_gain: dict             # l -> c_l
    probes: dict
    state: dict = field(default_factory=dict)
    a_scale: dict = field(default_factory=dict)


def post_bounds(spec, params) -> dict:
    """A bound on |post factor| per layer, used to fill the +-1.27 error range."""
    net = spec.network
    L = len(net.layers) - 1
    models = [layer.neuron.model for layer in net.layers]
    fp_max = {"sigmoid": 0.25, "burst_rate": 0.25, "tanh": 1.0, "relu": 1.0, "linear": 1.0}
    y_span = 1.0  # targets and sigmoid outputs lie in [0, 1]; others: checked at run
    bound = {L: y_span * fp_max[models[L]]}
    if "burst_prob_dev" in spec.rule.signals("post"):
        # |p - p_bar| <= 1 and e <= 1; in practice p_b(1-p_b) beta times the FA drive
        pb = net.layers[L].neuron.p_baseline
        bound[L] = pb * y_span
        for l in range(L - 1, 0, -1):
            n = net.layers[l].neuron
            bound[l] = 0.25 * abs(n.beta) * np.abs(params.B[l]).sum(axis=1).max() * bound[L]
        return bound
    for l in range(L - 1, 0, -1):
        kind = net.feedback_of(l).kind
        src = bound[L] if kind == "direct" else bound[l + 1]
        bound[l] = np.abs(params.B[l]).sum(axis=1).max() * src * fp_max[models[l]]
    return bound


def current_scales(spec, params, x, y=None, headroom=2.0) -> dict:
    """Per layer, the factor s_l by which decoded currents are shrunk on the chip.

    nengo-loihi's decode neurons represent values in about [-1, 1] and saturate
    beyond; the chip decodes a_l / s_l and the host multiplies back. s_l is
    ``headroom`` times the largest |a_l| over the training inputs at the initial
    weights (room for learning to grow them), and at least the range the layer's
    nonlinearity uses: 4 for sigmoids (f in [0.02, 0.98]), 2 for tanh, and for a
    relu/linear output the target range.
    """
    out = {}
    h = x
    models = [layer.neuron.model for layer in spec.network.layers]
    L = len(models) - 1
    for l in range(1, L + 1):
        a = h @ params.W[l - 1].T
        floor = {"sigmoid": 4.0, "burst_rate": 4.0, "tanh": 2.0}.get(models[l], 1.0)
        if l == L and y is not None and models[l] in ("relu", "linear"):
            floor = max(floor, float(np.abs(y).max()))
        out[l] = max(floor, headroom * float(np.abs(a).max()))
        h = rate_f(models[l], a)
    return out


def check_spec(spec, *, rate, pre_tau, dt, x_max) -> None:
    """Refuse, with the reason and an alternative, what this composition cannot run."""
    from ...rules.phases import refuse_phases
    refuse_phases(spec, NAME, "a PES composition learns decoders every step from "
                  "host-computed post factors, with no phases")
    rule = spec.rule.display_name
    net = spec.network
    post = spec.rule.signals("post")
    alt = "nengo (nengo.Simulator) or numpy"
    if post & {"burst", "pbar_event", "event"}:
        raise UnsupportedRule(NAME, f"rule {rule!r} (spiking burst-dependent plasticity)",
                              "nengo-loihi learns only PES on decoders; it has no burst "
                              "neurons and no burst/event traces",
                              "numpy (neurolearn.reference.simulator) or lava")
    for l in range(1, len(net.layers) - 1):
        kind = net.feedback_of(l).kind
        if kind in ("transport", "learned"):
            raise UnsupportedRule(
                NAME, f"rule {rule!r} with feedback kind {kind!r} (layer {l})",
                "it needs the learned forward weights on the host every step, but "
                "nengo-loihi keeps PES-learned weights on the chip and cannot probe them",
                alt)
    if not post <= {"error_drive", "burst_prob_dev"} or spec.rule.signals("pre") - {"activity"}:
        raise UnsupportedRule(NAME, f"rule {rule!r}", "a PES composition carries one "
                              "presynaptic trace times one host-computed post factor; "
                              f"this rule uses {sorted(post | spec.rule.signals('pre'))}", alt)
    for t in spec.rule.resolved_terms():
        if any(fac.kind == "syn" for fac in t.factors):
            raise UnsupportedRule(NAME, f"rule {rule!r} (term {t})",
                                  "PES has no weight-dependent term (syn.w)", alt)
        if len(t.factors) != 2:
            raise UnsupportedRule(NAME, f"rule {rule!r} (term {t})",
                                  "PES is exactly pre trace x error", alt)
    for i, layer in enumerate(net.layers[1:], start=1):
        if layer.neuron.model not in HOST_MODELS:
            raise UnsupportedRule(
                NAME, f"neuron model {layer.neuron.model!r} (network.layers[{i}])",
                "layer nonlinearities are computed in host Nodes from decoded currents; "
                f"only rate models {HOST_MODELS} have one", alt)
    if rate * max(1.0, x_max) >= MAX_RATE_HZ:
        raise UnsupportedRule(NAME, f"rate code of {rate:g} Hz per unit (max input "
                              f"{x_max:g})", f"presynaptic rates must stay below "
                              f"{MAX_RATE_HZ:g} Hz on Loihi; lower the rate option", alt)
    steps = pre_tau / dt
    if abs(steps - round(steps)) > 1e-9 or round(steps) < 1:
        raise UnsupportedRule(NAME, f"pre trace time constant {pre_tau:g} s",
                              f"Loihi traces decay per whole step; use a multiple of dt = "
                              f"{dt:g} s", alt)


def build(spec, params, x, y, n_steps, seed, *, rate=300.0, pre_tau=0.005, synapse=0.005,
          frozen=(), settle=0.0):
    """The nengo network of the composition (not yet built for a simulator)."""
    import nengo
    from ..nengo.model import stream_nodes
    net_spec = spec.network
    L = len(net_spec.layers) - 1
    models = [layer.neuron.model for layer in net_spec.layers]
    kinds = {l: net_spec.feedback_of(l).kind for l in range(1, L)}
    eta = [spec.rule.eta] * (L - 1) + [spec.rule.eta_output or spec.rule.eta]
    bounds = post_bounds(spec, params)
    c = {l: ERROR_RANGE / bounds[l] for l in bounds}
    post_kind = "burst_prob_dev" if "burst_prob_dev" in spec.rule.signals("post") \
        else "error_drive"
    sizes = net_spec.sizes
    dt = spec.simulation.dt
    a_scale = current_scales(spec, params, x, y)
    state = {"clipped": 0, "sent": 0}
    conns, D0, probes = {}, {}, {}
    with nengo.Network(seed=seed, label=spec.name) as net:
        inp, tgt = stream_nodes(x, y, spec.simulation, n_steps, seed)
        srcs = []
        for l in range(L):
            ens = nengo.Ensemble(sizes[l], 1, label=f"src{l}",
                                 neuron_type=nengo.SpikingRectifiedLinear(
                                     initial_state={"voltage": nengo.dists.Choice([0])}),
                                 gain=np.full(sizes[l], rate), bias=np.zeros(sizes[l]))
            srcs.append(ens)
        nengo.Connection(inp, srcs[0].neurons, synapse=None)
        hosts = []
        for l in range(1, L + 1):
            def host_f(t, a, l=l):
                return rate_f(models[l], (a_scale[l] * a)[None, :])[0]
            node = nengo.Node(host_f, size_in=sizes[l], size_out=sizes[l], label=f"h{l}")
            hosts.append(node)
            D = params.W[l - 1].T / (rate * a_scale[l])
            D0[l] = D
            learn = None if (l in frozen or not net_spec.layers[l].plastic) else \
                nengo.PES(eta[l - 1] * sizes[l - 1] / (2.0 * c[l] * rate ** 2 * a_scale[l] * dt),
                          pre_synapse=nengo.Lowpass(pre_tau))
            conns[l] = nengo.Connection(
                srcs[l - 1], node, function=lambda v, n=sizes[l]: np.zeros(n),
                solver=nengo.solvers.NoSolver(D, weights=False), synapse=synapse,
                learning_rule_type=learn, label=f"learn{l}")
            if l < L:
                nengo.Connection(node, srcs[l].neurons, synapse=None)

        offs = np.cumsum([0] + sizes[1:])

        k_ex = max(1, int(round(spec.simulation.t_example / dt)))
        k_settle = int(round(settle / dt))

        def back_f(t, v):
            # v = [h_1 .. h_L, y]; for relu/linear, f'(a) is a function of h = f(a) too
            if (int(round(t / dt)) - 1) % k_ex < k_settle:
                return np.zeros(offs[-1])  # the chip pipeline still shows the last example
            y_t = v[offs[-1]:]
            h = {l: v[offs[l - 1]:offs[l]] for l in range(1, L + 1)}
            if models[L] in ("sigmoid", "burst_rate"):
                state["out"] = h[L]
            if post_kind == "error_drive":
                fp = {l: fprime(models[l], h[l][None, :], h[l][None, :])[0]
                      for l in range(1, L + 1)}
                d = {L: -(h[L] - y_t) * fp[L]}
                for l in range(L - 1, 0, -1):
                    g = d[L if kinds[l] == "direct" else l + 1] @ params.B[l].T
                    d[l] = g * fp[l]
                post = d
            else:
                pb = net_spec.layers[L].neuron.p_baseline
                p_bar = {L: np.full(sizes[L], pb)}
                p = {L: pb * (1.0 + (y_t - h[L]) * (1.0 - h[L]))}
                for l in range(L - 1, 0, -1):
                    n = net_spec.layers[l].neuron
                    off = np.log(n.p_baseline / (1.0 - n.p_baseline))
                    src = L if kinds[l] == "direct" else l + 1
                    for probs in (p_bar, p):
                        u = (probs[src] * h[src]) @ params.B[l].T
                        probs[l] = sigmoid((n.beta * u * (1.0 - h[l]) + off)[None, :])[0]
                post = {l: (p[l] - p_bar[l]) * h[l] for l in range(1, L + 1)}
            # PES error = -c * post factor, clipped here to the chip's +-1.27 grid
            err = np.concatenate([-c[l] * post[l] for l in range(1, L + 1)])
            state["sent"] += err.size
            over = np.abs(err) > ERROR_RANGE
            state["clipped"] += int(over.sum())
            return np.clip(err, -ERROR_RANGE, ERROR_RANGE)

        back = nengo.Node(back_f, size_in=offs[-1] + sizes[L], size_out=offs[-1],
                          label="post")
        for l in range(1, L + 1):
            nengo.Connection(hosts[l - 1], back[offs[l - 1]:offs[l]], synapse=None)
        nengo.Connection(tgt, back[offs[-1]:], synapse=None)
        off = 0
        for l in range(1, L + 1):
            if conns[l].learning_rule is not None:
                nengo.Connection(back[off:off + sizes[l]], conns[l].learning_rule,
                                 synapse=None)
            off += sizes[l]
        probes["output"] = nengo.Probe(hosts[-1], synapse=None)
    return Composition(net, conns, D0, rate, c, probes, state, a_scale)


def learned_synapses(model, comp) -> dict:
    """l -> the chip Synapse holding layer l's learned decoders (nengo-loihi cannot probe
    connections, so the weights are read from the built model's blocks)."""
    labels = {f"learn{l}": l for l in comp.connections}
    out = {}
    for blk in model.blocks:
        for syn in blk.synapses:
            if syn.learning:
                label = getattr(blk, "label", "") or ""
                for name, l in labels.items():
                    if f"'{name}'" in label or label.endswith(name) or name in label:
                        out[l] = syn
    return out


def chip_decoders(syn, n_out) -> np.ndarray:
    """(n_pre, n_out): the on minus off decode-neuron weights of a learned synapse."""
    w = np.vstack([np.asarray(wi, float).reshape(-1) for wi in syn.weights])
    return w[:, :n_out] - w[:, n_out:2 * n_out]


class WeightReader:
    """Reads learned W_l (n_l, n_{l-1}) from the chip state, calibrated once against the
    known initial decoders (one scale per synapse: the chip's weight units)."""

    def __init__(self, model, comp):
        self.comp = comp
        self.syn = learned_synapses(model, comp)
        self.scale = {}
        for l, syn in self.syn.items():
            d0 = comp.D0[l]
            c0 = chip_decoders(syn, d0.shape[1])
            self.scale[l] = float(np.vdot(c0, d0) / np.vdot(d0, d0))

    def weights(self) -> dict:
        out = {}
        for l, D in self.comp.D0.items():
            if l in self.syn:
                D = chip_decoders(self.syn[l], D.shape[1]) / self.scale[l]
            out[l] = D.T * self.comp.rate * self.comp.a_scale[l]
        return out

    def headroom(self) -> dict:
        """max |initial chip weight| / largest learnable weight, per learned layer."""
        out = {}
        for l, syn in self.syn.items():
            cfg = syn.synapse_cfg
            limit = (2 ** (8 - cfg.shift_bits) - 1) * 2 ** (cfg.real_weight_exp + cfg.shift_bits)
            w = np.vstack([np.asarray(wi, float).reshape(-1) for wi in syn.weights])
            out[l] = float(np.abs(w).max() / limit)
        return out


def check_built(sim, reader, caught) -> dict:
    """Checks only the built model can answer: trace increment and weight headroom."""
    for w in caught:
        msg = str(w.message)
        if "Trace increment exceeds upper limit" in msg:
            raise UnsupportedRule(NAME, "this learning rate", "the per-spike increment of "
                                  "the 7-bit pre trace would exceed 127 (nengo-loihi folds "
                                  "the learning rate into it); lower eta or the rate option",
                                  "nengo (nengo.Simulator)")
    emu = sim.sims.get("emulator")
    for l, conn in reader.comp.connections.items():
        if conn.learning_rule_type is None:
            continue
        syn = reader.syn.get(l)
        if syn is None or (emu is not None and syn not in emu.synapses.pes_errors):
            n_pre, n_post = reader.comp.D0[l].shape
            raise UnsupportedRule(
                NAME, f"the learned projection into layer {l} ({n_pre} -> {n_post})",
                "it does not fit one Loihi core, so nengo-loihi splits its block, and "
                "nengo-loihi 1.1.0 cannot learn on a split block (its PES error goes to "
                "the unsplit synapse: KeyError in update_pes_errors); use smaller layers",
                "nengo (nengo.Simulator)")
    head = reader.headroom()
    for l, r in head.items():
        if r > 0.75:
            raise UnsupportedRule(
                NAME, f"initial weights of layer {l}", f"they use {100 * r:.0f}% of the "
                "learned-weight range fixed by pes_wgt_exp (8 bits); learning would clip. "
                "Raise the rate option or shrink network.init", "nengo (nengo.Simulator)")
    return head


def ignore_known_warnings():
    """nengo-loihi warnings that this composition handles itself."""
    warnings.filterwarnings("ignore", message=".*initial values for 'voltage'.*")
