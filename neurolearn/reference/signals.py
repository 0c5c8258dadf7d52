"""The learning signals, each formula once. Every face of the reference (batched
trainer, time-stepped simulator) and every backend's post-factor code calls these.

Notation: layers 0..L (0 the input), W[l-1] the projection into layer l
(n_l, n_{l-1}), B[l] the feedback matrix of hidden layer l, rows of a signal are
samples (batched) or parallel copies (time-stepped).

- Output error e = y_hat - y, y_hat the output activity (loss "mse") or the softmax
  of the output's net input (loss "cross_entropy").
- Output drive delta_L = -e * f'(a_L) (mse) or -e (cross-entropy).
- Hidden drive delta_l = g_l * f'(a_l), g_l the error its feedback pathway carries:
  transport g = delta_{l+1} W_{l+1} (backprop), random or learned g = delta_{l+1}
  B_l^T (feedback alignment, Kolen-Pollack), direct g = delta_L B_l^T (direct FA).
- Rate burst neurons: event rate e_l = f(a_l); burst probabilities with teacher (p)
  and without (p_bar), output p_L = p_b (1 + (y - e_L)(1 - e_L)), p_bar_L = p_b,
  hidden p_l = sigmoid(beta u_l (1 - e_l) + logit p_b) with apical input
  u_l = (p_src e_src) M_l^T (M_l: W_{l+1}^T for transport, else B_l); the post
  factor is (p_l - p_bar_l) e_l.
- Spiking burst neurons: apical input of hidden l is M_l (b_hat_src - p_b,src
  e_hat_src) (traces of the source's bursts and events), the output's is the
  teacher y - e_hat_L.
- Learning rates: eta for hidden layers, eta_output (default eta) for the output.
"""

from __future__ import annotations

import numpy as np

from ..rules.neurons import sigmoid

__all__ = ["softmax", "sigmoid", "layer_etas", "output_readout", "output_error",
           "output_drive", "feedback_source", "feedback_matrix", "feedback_signal",
           "error_drives", "burst_output_probs", "burst_hidden_prob", "burst_prob_devs",
           "apical_drive", "loss_value", "select_action", "reward_of", "reward_error"]


def _T(a):
    """Matrix transpose of the last two axes: the same view as ``.T`` for a matrix,
    and per network for a stack of them (the simulator's independent copies)."""
    return a.swapaxes(-1, -2)


def softmax(a):
    z = a - a.max(axis=-1, keepdims=True)
    ez = np.exp(z)
    return ez / ez.sum(axis=-1, keepdims=True)


def layer_etas(rule, L: int) -> list[float]:
    """Learning rate per plastic layer 1..L (index 0..L-1)."""
    return [rule.eta] * (L - 1) + [rule.eta_output or rule.eta]


def output_readout(a_out, h_out, loss: str):
    """What the loss sees: softmax(a_L) for cross-entropy, else the activity."""
    return softmax(a_out) if loss == "cross_entropy" else h_out


def output_error(y_hat, y):
    return y_hat - y


def loss_value(y_hat, y, loss: str) -> float:
    if loss == "cross_entropy":
        return float(-np.mean(np.sum(y * np.log(np.clip(y_hat, 1e-300, None)), axis=-1)))
    return float(np.mean((y_hat - y) ** 2))


def output_drive(err, fp_out, loss: str):
    """-dL/da at the output: -e (cross-entropy) or -e f' (mse, and the reward loss,
    whose e is nonzero at the selected action only)."""
    return -err if loss == "cross_entropy" else -err * fp_out


def select_action(readout, reward, rng):
    """The action per row of the readout, as ``reward.selection`` says (a draw from
    ``rng`` for every row, used or not, so the stream depends on the rows only)."""
    n, k = readout.shape
    u = rng.random(n)
    if reward.selection == "softmax":
        p = softmax(readout / reward.temperature)
        return np.minimum((np.cumsum(p, axis=1) < u[:, None]).sum(axis=1), k - 1)
    greedy = readout.argmax(axis=1)
    if reward.selection == "epsilon_greedy":
        other = rng.integers(0, k, n)
        return np.where(u < reward.epsilon, other, greedy)
    return greedy


def reward_of(action, y, reward):
    """r per row: ``reward.correct`` where the action is the target's class."""
    return np.where(action == y.argmax(axis=1), reward.correct, reward.wrong).astype(float)


def reward_error(readout, action, r):
    """The reward loss's output error: readout - r at the selected action (its value
    estimate against the reward), 0 elsewhere (AGREL / BrainProp)."""
    e = np.zeros_like(readout)
    rows = np.arange(len(readout))
    e[rows, action] = readout[rows, action] - r
    return e


def feedback_source(net, l: int) -> int:
    """The layer whose drive reaches hidden layer l through its pathway."""
    return len(net.layers) - 1 if net.feedback_of(l).kind == "direct" else l + 1


def feedback_matrix(net, params, l: int):
    """M_l with g_l = delta_src M_l^T: W_{l+1}^T (transport) or B_l."""
    if net.feedback_of(l).kind == "transport":
        return _T(params.W[l])
    return params.B[l]


def feedback_signal(net, params, l: int, delta_src):
    """g_l, the error carried to hidden layer l by its pathway from ``delta_src``
    (the drive of :func:`feedback_source`)."""
    if net.feedback_of(l).kind == "transport":
        return delta_src @ params.W[l]
    return delta_src @ _T(params.B[l])


def error_drives(net, params, fp, err, loss: str, transport_only: bool = False,
                 delayed=None):
    """delta_1..delta_L (index 0..L-1) from f'(a_l) (``fp``, index 0..L-1) and the
    output error. ``transport_only`` gives true backprop whatever the pathways.
    ``delayed(l, delta_src)``, if given, returns what hidden layer l receives of
    its source's drive (a schedule's feedback delay); by default the drive itself."""
    L = len(fp)
    deltas = [None] * L
    deltas[-1] = output_drive(err, fp[-1], loss)
    for l in range(L - 1, 0, -1):
        if transport_only:
            g = deltas[l] @ params.W[l]
        else:
            src = deltas[feedback_source(net, l) - 1]
            if delayed is not None:
                src = delayed(l, src)
            g = feedback_signal(net, params, l, src)
        deltas[l - 1] = g * fp[l - 1]
    return deltas


def burst_output_probs(neuron, e_out, y):
    """(p_bar_L, p_L) of a rate burst output layer."""
    pb = neuron.p_baseline
    return np.full_like(e_out, pb), pb * (1.0 + (y - e_out) * (1.0 - e_out))


def burst_hidden_prob(neuron, u, e):
    """p_l = sigmoid(beta u (1 - e) + logit p_b) for apical input u."""
    offset = np.log(neuron.p_baseline / (1.0 - neuron.p_baseline))
    return sigmoid(neuron.beta * u * (1.0 - e) + offset)


def burst_prob_devs(net, params, e, y, delayed=None):
    """Rate burstprop's post factor (p - p_bar) * e for layers 1..L (index 0..L-1);
    ``e`` holds the event rates of layers 0..L, ``y`` the target. ``delayed(l,
    (pe_bar, pe))`` returns what hidden layer l receives of its source's p_bar e and
    p e (a schedule's feedback delay)."""
    L = len(net.layers) - 1
    p_bar, p = [None] * (L + 1), [None] * (L + 1)
    p_bar[L], p[L] = burst_output_probs(net.layers[L].neuron, e[L], y)
    for l in range(L - 1, 0, -1):
        src = feedback_source(net, l)
        pair = (p_bar[src] * e[src], p[src] * e[src])
        if delayed is not None:
            pair = delayed(l, pair)
        M = feedback_matrix(net, params, l)
        neuron = net.layers[l].neuron
        p_bar[l] = burst_hidden_prob(neuron, pair[0] @ _T(M), e[l])
        p[l] = burst_hidden_prob(neuron, pair[1] @ _T(M), e[l])
    return [(p[l] - p_bar[l]) * e[l] for l in range(1, L + 1)]


def apical_drive(neuron, bursts, events):
    """The signal a spiking burst layer sends down its feedback pathway, per step:
    B - p_baseline E of its trains (its trace, through M_l, is the apical input of
    the layer below: M_l (b_hat - p_b e_hat))."""
    return bursts - neuron.p_baseline * events
