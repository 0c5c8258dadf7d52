"""The NumPy reference under nengo.Simulator's order of operations.

This is the schedule the ``nengo`` backend is checked against for exact equivalence
(max |dW| <= 1e-12). Rate networks only: a spiking Nengo run is compared with this
schedule run on the spiking neurons' rate curves (statistical tier).

One step k (1-based count, time k*dt), float64:

1. Input x_k and target y_k come from :func:`neurolearn.reference.stream.input_stream`
   (rate values; the input layer is not spiking).
2. Forward: layer l receives u_l = W_l h_{l-1}. Without a synapse the current is
   a_l = u_l of this very step. With ``synapse=tau`` (a Lowpass on every forward
   connection) Nengo runs the filter in 'update' mode, i.e. one step late, with a
   zero-order hold: s_l(k) = a s_l(k-1) + (1-a) u_l(k-1), a = exp(-dt/tau), and
   a_l = s_l. Connections into ``.neurons`` are scaled by the gain: J = gain * a_l;
   ``h_l = f(a_l)`` (the backend picks gain 1 for rate neurons, so J = a).
3. Post factors of this step from the current W, B (trainer docstring steps 2-4,
   batch of one): error_drive, burst_prob_dev, activity.
4. Pre factors: presynaptic activity, through the rule's pre filter in 'set' mode
   (same step): q(k) = a q(k-1) + (1-a) h(k) when the factor has a tau, else h(k).
5. dW_l = eta_l * sum_k c_k (post_k outer pre_k) * syn_k (eta per step, as in
   neurolearn.reference.simulator). Learned feedback:
   dB_l = eta_{l+1} * (mirror^T - decay * B_l).
6. The deltas apply from the next step (Nengo adds ``weights += delta`` at the start
   of the following step); the recorded weights of step k are those after step k's
   update.

lif layers run their rate curve (as neurolearn.reference.simulator maps them: J =
threshold + a, activity 1 = simulation.max_rate Hz, surrogate f'(a) = [a > 0]); a
spiking Nengo run is graded against it in the statistical tier.

Biases are not used by time-stepped runs (``Layer.bias`` is for the batched trainer).
"""

from __future__ import annotations

import time

import numpy as np

from ...errors import UnsupportedRule
from ...result import Trace
from ..activations import f, fprime
from ..params import init_params
from ..stream import input_stream
from ..terms import error_free_part, rule_update
from ..trainer import BatchedTrainer

NAME = "nengo"
RATE_OK = ("sigmoid", "tanh", "relu", "linear", "burst_rate", "lif")


def _f(model, a, neuron, max_rate):
    """The layer's rate function; lif is its rate curve as in reference.simulator:
    J = threshold + a (gain 1), activity 1 = max_rate Hz."""
    if model == "lif":
        from ..neurons import lif_rate
        return lif_rate(neuron.threshold + a, neuron) / max_rate
    return f(model, a)


def _error_drives(tr, a_list, h, err, models):
    """The trainer's error drives, with the surrogate f'(a) = [a > 0] for lif."""
    L = tr.L
    fp = [(a_list[l - 1] > 0).astype(float) if models[l] == "lif"
          else fprime(models[l], a_list[l - 1], h[l]) for l in range(1, L + 1)]
    d = [None] * L
    d[-1] = -err if tr.spec.training.loss == "cross_entropy" else -err * fp[-1]
    for l in range(L - 1, 0, -1):
        d[l - 1] = tr._feedback_matrix(l, d[l], d[-1]) * fp[l - 1]
    return d


def _pre_tau(terms):
    taus = {fac.tau for t in terms for fac in t.factors if fac.kind == "pre"}
    if len(taus) > 1:
        raise UnsupportedRule("nengo", "a rule with several pre time constants",
                              "one pre filter per connection", "numpy")
    return taus.pop() if taus else None


def _dataset(spec, dataset):
    if dataset is not None:
        return dataset
    from ...data import load_dataset
    return load_dataset(spec.data, spec.training.seed)


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, dataset=None,
             synapse=None, params=None, **options) -> Trace:
    """Run ``spec`` for ``steps`` steps under Nengo's schedule (see module docstring)."""
    if precision != "float":
        raise UnsupportedRule("nengo reference", f"precision {precision!r}",
                              "the Nengo schedule is float64 only", "numpy (fixed)")
    net = spec.network
    models = [layer.neuron.model for layer in net.layers]
    for i, m in enumerate(models[1:], start=1):
        if m not in RATE_OK:
            raise UnsupportedRule("nengo reference", f"neuron model {m!r} "
                                  f"(network.layers[{i}])",
                                  "the Nengo schedule reference runs rate curves only",
                                  "neurolearn.reference.simulator")
    seed = spec.training.seed if seed is None else seed
    ds = _dataset(spec, dataset)
    sim = spec.simulation
    dt = sim.dt
    X, Y = input_stream(ds.x_train, ds.y_train, sim, steps, seed)
    params = (params or init_params(net, spec.training.seed)).copy()
    tr = BatchedTrainer(spec, params)
    L = tr.L
    terms = spec.rule.resolved_terms()
    post_needed = spec.rule.signals("post")
    eta = list(tr.eta)
    tau_pre = _pre_tau(terms)
    a_pre = np.exp(-dt / tau_pre) if tau_pre else None
    a_syn = np.exp(-dt / synapse) if synapse else None

    plastic = [l for l in range(1, L + 1) if net.layers[l].plastic]
    names = [net.layers[l].name for l in plastic]
    n_rec = steps // record_every
    rec_w = {n: np.zeros((n_rec,) + params.W[l - 1].shape) for n, l in zip(names, plastic)}
    outputs = np.zeros((steps, net.sizes[-1]))
    errors = np.zeros_like(outputs)
    s = [np.zeros(n) for n in net.sizes[1:]]      # filtered currents (synapse)
    u_prev = [np.zeros(n) for n in net.sizes[1:]]  # currents of the previous step
    q = [np.zeros(n) for n in net.sizes[:-1]]      # filtered pre activities
    t0 = time.perf_counter()
    r = 0
    for k in range(steps):
        h = [X[k][None, :]]
        a_list = []
        for l in range(1, L + 1):
            u = params.W[l - 1] @ h[-1][0]
            if a_syn is None:
                a = u
            else:
                s[l - 1] = a_syn * s[l - 1] + (1.0 - a_syn) * u_prev[l - 1]
                u_prev[l - 1] = u
                a = s[l - 1].copy()
            a_list.append(a[None, :])
            h.append(_f(models[l], a_list[-1], net.layers[l].neuron, sim.max_rate))
        y = Y[k][None, :]
        y_hat, err = tr.output_error(a_list, h, y)
        outputs[k], errors[k] = y_hat[0], err[0]
        post = [dict() for _ in range(L)]
        if "error_drive" in post_needed:
            for l, d in enumerate(_error_drives(tr, a_list, h, err, models)):
                post[l]["error_drive"] = d
        if "burst_prob_dev" in post_needed:
            for l, d in enumerate(tr.burst_devs(h, y)):
                post[l]["burst_prob_dev"] = d
        for l in range(L):
            post[l]["activity"] = h[l + 1]
        pre = []
        for l in range(L):
            if a_pre is None:
                q[l] = h[l][0]
            else:
                q[l] = a_pre * q[l] + (1.0 - a_pre) * h[l][0]
            pre.append({"activity": q[l][None, :]})
        dW = {}
        for l in plastic:
            dW[l] = eta[l - 1] * rule_update(terms, pre[l - 1], post[l - 1],
                                             params.W[l - 1])[0]
        dB = {}
        for l, B in params.B.items():
            fb = net.feedback_of(l)
            if fb.kind == "learned":
                mirror = error_free_part(terms, pre[l], post[l], params.W[l])
                dB[l] = eta[l] * (mirror.T - fb.decay * B)
        for l, d in dW.items():
            params.W[l - 1] += d
        for l, d in dB.items():
            params.B[l] += d
        if (k + 1) % record_every == 0 and r < n_rec:
            for n, l in zip(names, plastic):
                rec_w[n][r] = params.W[l - 1]
            r += 1
    steps_rec = np.arange(1, n_rec + 1) * record_every
    return Trace(backend="numpy", schedule=NAME, steps=steps_rec, weights=rec_w,
                 outputs=outputs, errors=errors, wall_seconds=time.perf_counter() - t0,
                 extra={"dt": dt, "synapse": synapse, "final_B": {
                     str(k): v for k, v in params.B.items()}})
