"""The signatures of the phased algorithms, measured against backprop: what each
paper proves or reports, as numbers (tests/test_phased_signatures.py and
benchmarks/phased_signatures.py use them).

- equilibrium propagation: its update approaches the gradient of the loss at the
  free equilibrium as the nudge beta -> 0 (Scellier & Bengio 2017, theorem 1). The
  gradient is recurrent backprop through that fixed point, computed here by implicit
  differentiation (:func:`equilibrium_gradient`), independently of the nudged phase.
- predictive coding: at equilibrium the error populations divided by the nudge (the
  output's precision) approach backprop's deltas of the forward pass as the nudge ->
  0 (Whittington & Bogacz 2017) (:func:`coding_errors`).
- weight mirrors: the angle between B and W^T (Akrout et al. 2019).
- segregated dendrites: the angle of the hidden update to backprop's gradient
  (below 90 degrees: positively correlated), the batched trainer's alignment.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..rules.neurons import HardSigmoid, Linear
from .phased import PhasedTrainer
from .trainer import angle_deg


def with_nudge(spec, nudge: float, tol: float = 1e-12, steps: int = 20000):
    """``spec`` with every nudged phase at ``nudge`` and every settling phase run to
    convergence (``tol``, at most ``steps`` steps)."""
    phases = []
    for p in spec.phases:
        p = replace(p, nudge=nudge) if p.nudge else p
        if p.settle is not None:
            p = replace(p, steps=steps, settle=replace(p.settle, tol=tol))
        phases.append(p)
    return spec.with_(phases=phases)


def _free_equilibrium(tr, x):
    """The state at the end of the free phases (the readout's state)."""
    return tr._run(x, np.zeros((len(x), tr.net.sizes[-1])), learn=False, index0=0)


def equilibrium_gradient(spec, x, y, params=None):
    """-dJ/dW_l, l = 1..L, batch mean: the descent direction of J = loss(rho(s_L), y)
    at the free equilibrium s of an equilibrium network, by implicit
    differentiation of the fixed point s_A = u_A(s) of its active units (units
    pinned at a bound of their range do not move). Piecewise-linear rho only
    (hard_sigmoid, linear), whose active units satisfy s = u."""
    tr = PhasedTrainer(spec, params)
    if not all(isinstance(n, (HardSigmoid, Linear)) for n in tr.neurons[1:]):
        raise ValueError("equilibrium_gradient: hard_sigmoid or linear layers only")
    st = _free_equilibrium(tr, x)
    L, W = tr.L, tr.params.W
    sizes = tr.net.sizes[1:]
    off = np.concatenate([[0], np.cumsum(sizes)])
    K = np.zeros((off[-1], off[-1]))
    for l in range(2, L + 1):  # u_l gets W_l rho(s_(l-1)), u_(l-1) gets W_l^T rho(s_l)
        K[off[l - 1]:off[l], off[l - 2]:off[l - 1]] = W[l - 1]
        K[off[l - 2]:off[l - 1], off[l - 1]:off[l]] = W[l - 1].T
    out = [np.zeros_like(w) for w in W]
    n = len(x)
    from .dynamics import output_delta
    g_out = -output_delta(tr.neurons[L], st.a[L], st.h[L], y, tr.loss_kind)
    for r in range(n):
        s = np.concatenate([st.a[l][r] for l in range(1, L + 1)])
        active = np.ones_like(s, dtype=bool)
        for l in range(1, L + 1):
            b = tr.neurons[l].bounds
            if b is not None:
                seg = s[off[l - 1]:off[l]]
                active[off[l - 1]:off[l]] = (seg > b[0]) & (seg < b[1])
        g = np.zeros_like(s)
        g[off[L - 1]:] = g_out[r]
        A = np.flatnonzero(active)
        lam = np.zeros_like(s)
        M = np.eye(len(A)) - K[np.ix_(A, A)]
        lam[A] = np.linalg.solve(M.T, g[A])
        lams = [None] + [lam[off[l - 1]:off[l]] for l in range(1, L + 1)]
        rho = [st.h[l][r] for l in range(L + 1)]
        for l in range(1, L + 1):
            grad = np.outer(lams[l], rho[l - 1])
            if l >= 2:
                grad += np.outer(rho[l], lams[l - 1])
            out[l - 1] -= grad / n
    return out


def ep_angles(spec, x, y, nudges, params=None) -> dict:
    """{nudge: [angle (deg) between EP's dW_l and -dJ/dW_l per layer]}."""
    target = equilibrium_gradient(with_nudge(spec, nudges[0]), x, y, params)
    out = {}
    for beta in nudges:
        tr = PhasedTrainer(with_nudge(spec, beta), params)
        dW, _, _, _ = tr.compute_updates(x, y)
        out[beta] = [angle_deg(d, t) for d, t in zip(dW, target)]
    return out


def coding_errors(spec, x, y, nudge: float, params=None):
    """(errors e_l / nudge at the end of the plastic phase, backprop's deltas of the
    forward pass), l = 1..L, for a predictive-coding spec."""
    tr = PhasedTrainer(with_nudge(spec, nudge), params)
    tr.compute_updates(x, y)
    errors = [tr.last_state.e[l] / nudge for l in range(1, tr.L + 1)]
    a, h = tr.forward(x)
    _, err = tr.output_error(a, h, y)
    return errors, tr.error_drives(a, h, err, transport_only=True)


def pc_angles(spec, x, y, nudges, params=None) -> dict:
    """{nudge: [angle (deg) between e_l / nudge and backprop's delta_l per layer]}."""
    out = {}
    for beta in nudges:
        errors, deltas = coding_errors(spec, x, y, beta, params)
        out[beta] = [angle_deg(e, d) for e, d in zip(errors, deltas)]
    return out


def mirror_angle(params, l: int) -> float:
    """Angle (deg) between the feedback matrix B_l and W_(l+1)^T."""
    return angle_deg(params.B[l], params.W[l].T)
