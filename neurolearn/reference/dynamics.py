"""The formulas of phased networks, each once: the teacher's nudge, the forces of
equilibrium and predictive-coding dynamics, pyramidal compartments and plateau
potentials. :mod:`neurolearn.reference.phased` steps them; the output error and
drive they start from are :mod:`neurolearn.reference.signals`'s.

Notation: rows are examples; ``a`` a layer's net input or state (equilibrium: s;
predictive coding: the value units x; pyramidal: the somatic potential C), ``h``
its activity f(a); ``neuron`` the layer's node (rules/neurons.py).
"""

from __future__ import annotations

import numpy as np

from ..rules.neurons import sigmoid
from .signals import output_drive, output_error, output_readout


def output_delta(neuron, a_out, h_out, y, loss: str):
    """-dloss/da at the output for its state ``a_out``: the output drive of the
    readout's error (signals.output_drive)."""
    y_hat = output_readout(a_out, h_out, loss)
    return output_drive(output_error(y_hat, y), neuron.fprime(a_out, h_out), loss)


def nudge_activity(h, y, nudge: float):
    """Feedforward dynamics: the teacher moves the output activity nudge * (y - h)."""
    return h + nudge * (y - h)


def equilibrium_force(neuron, s, h, drive):
    """-dE/ds of the Hopfield energy (Scellier & Bengio 2017): rho'(s) * drive - s,
    ``drive`` = W_l rho(s_below) + b_l + W_above^T rho(s_above)."""
    return neuron.fprime(s, h) * drive - s


def bound_state(neuron, s):
    """A settling state kept in its neuron's range (hard_sigmoid: [0, 1])."""
    if neuron.bounds is None:
        return s
    return np.clip(s, *neuron.bounds)


def prediction_error(x, mu):
    """Predictive coding's error population: e = x - mu (unit precision)."""
    return x - mu


def value_force(neuron, x, h, e, back=None):
    """-dF/dx of predictive coding's free energy for value units x: -e + f'(x) back,
    ``back`` = W_above^T e_above (the errors of the layer above through the forward
    weights), None at the output (the teacher's nudge is added there)."""
    if back is None:
        return -e
    return -e + neuron.fprime(x, h) * back


def soma_rest(neuron, net, apical=None):
    """A pyramidal soma's steady state for constant dendrites, B = gain * net: (g_B B
    + g_A A) / (1 + g_B + g_A)."""
    c = neuron.k_basal * net
    if apical is not None and neuron.g_apical:
        c = c + neuron.k_apical * apical
    return c


def soma_step(neuron, C, net, apical, dt: float):
    """One step of tau dC/dt = -C + g_B (B - C) + g_A (A - C), B = gain * net, exact
    for B and A held over the step."""
    rest = soma_rest(neuron, net, apical)
    decay = np.exp(-dt * (1.0 + neuron.g_basal + neuron.g_apical) / neuron.tau)
    return rest + (C - rest) * decay


def plateau(apical):
    """The plateau potential of an apical potential (or of its phase mean)."""
    return sigmoid(apical)
