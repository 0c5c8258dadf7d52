"""The rule-description layer (IR): networks, feedback pathways, plasticity rules."""

from .ir import (Data, Factor, Feedback, Init, Layer, Network, Neuron, Reward, Rule,
                 Simulation, Spec, Tag, Term, Training, SIGNALS, NEURON_MODELS,
                 FEEDBACK_KINDS)
from .io import dumps, load, loads, save  # noqa: F401
from .library import BUILTIN_RULES

__all__ = ["Data", "Factor", "Feedback", "Init", "Layer", "Network", "Neuron", "Reward",
           "Rule", "Simulation", "Spec", "Tag", "Term", "Training", "SIGNALS",
           "NEURON_MODELS", "FEEDBACK_KINDS", "BUILTIN_RULES", "load", "loads", "save",
           "dumps"]
