"""Neuron models of the IR as Nengo neuron types, and their derivatives.

Every layer is an Ensemble whose input arrives on ``.neurons``, so Nengo scales it
by the gain: J = gain * a (bias 0). Rate types are chosen so the output equals the
reference's f(a): Sigmoid/Tanh with tau_ref = 1, RectifiedLinear with amplitude 1.
Spiking types are scaled the same way: SpikingRectifiedLinear with gain = rate and
amplitude = 1 / rate fires ``rate`` Hz per unit of relu(a), and its output, filtered,
estimates relu(a). LIF follows neurolearn.reference.simulator: J = threshold + gain*a
(Nengo: gain/threshold, bias 1), activity 1 = simulation.max_rate Hz, surrogate
derivative 1 above threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import nengo
import numpy as np

from ...errors import UnsupportedRule


class Identity(nengo.neurons.NeuronType):
    """The linear rate model, f(a) = a (Nengo has no stock linear neuron)."""

    def step(self, dt, J, output):
        output[...] = J


@dataclass
class LayerNeurons:
    model: str          # the IR's neuron model
    neuron_type: object  # the Nengo neuron type
    gain: float
    spiking: bool
    tau_rc: float = 0.02
    tau_ref: float = 0.002
    amplitude: float = 1.0
    bias: float = 0.0

    def fprime(self, J, h):
        """f'(a) at a = (J - bias) / gain, with h the (filtered) activity."""
        m = self.model
        if m in ("sigmoid", "burst_rate"):
            return h * (1.0 - h)
        if m == "tanh":
            return 1.0 - h * h
        if m == "relu":
            return (J > 0).astype(float)
        if m == "linear":
            return np.ones_like(J)
        if m == "lif":  # surrogate, as the textbook reference: 1 above threshold
            return (J > self.bias).astype(float)
        raise AssertionError(m)


def layer_neurons(layer, index, *, spiking: bool, rate: float,
                  max_rate: float = 200.0, lif_gain: float = 1.0) -> LayerNeurons:
    """The Nengo neurons of one IR layer; ``spiking`` swaps relu for its spiking twin."""
    n = layer.neuron
    m = n.model
    if m in ("sigmoid", "burst_rate"):
        return LayerNeurons(m, nengo.Sigmoid(tau_ref=1.0), 1.0, False)
    if m == "tanh":
        return LayerNeurons(m, nengo.Tanh(tau_ref=1.0), 1.0, False)
    if m == "linear":
        return LayerNeurons(m, Identity(), 1.0, False)
    if m == "relu":
        if spiking:
            return LayerNeurons(m, nengo.SpikingRectifiedLinear(amplitude=1.0 / rate),
                                float(rate), True)
        return LayerNeurons(m, nengo.RectifiedLinear(amplitude=1.0), 1.0, False)
    if m == "lif":
        # as neurolearn.reference.simulator: J = threshold + gain * a, activity 1 =
        # max_rate Hz; Nengo's LIF has threshold 1, so J / threshold = 1 + gain * a / threshold
        kind = nengo.LIF if spiking else nengo.LIFRate
        amp = 1.0 / max_rate
        return LayerNeurons(m, kind(tau_rc=n.tau_rc, tau_ref=n.tau_ref, amplitude=amp),
                            lif_gain / n.threshold, spiking, n.tau_rc, n.tau_ref, amp, 1.0)
    raise UnsupportedRule(
        "nengo", f"neuron model {m!r} (network.layers[{index}].neuron.model)",
        "the two-compartment burst neuron (soma + apical dendrite with burst/event "
        "trains) has no Nengo neuron type, and Nengo learning rules see one output "
        "per neuron, not separate burst and event trains",
        "numpy (neurolearn.reference.simulator) or lava")
