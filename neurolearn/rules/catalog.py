"""The conformance catalog: one small spec per built-in rule, feedback pathway and
neuron kind. The grid grades every backend on it, and a backend's capabilities are
derived by lowering it (neurolearn.backends.capabilities).

Sizes follow the conformance checks: 64-100-10 (digits), with a second hidden layer
of 30 where the pathway needs one to differ (direct FA); examples whose last half is
plastic (so engines with delays settle before learning): 20 steps for rate networks,
50 for spiking ones (spike trains need time to carry a rate); batch size 1 and no
momentum unless the row is about them.
"""

from __future__ import annotations

from .ir import Data, Feedback, Layer, Network, Reward, Rule, Simulation, Spec, Training
from .neurons import Neuron

# spike-timing rows: no learned bias (a tag needs none; a bias under a pre_spike term
# would learn every plastic step); eta per rule: the changes of a grid run span many
# fixed-point LSBs without saturating (the triplet and pair amplitudes are absolute)
_STDP = {"bias": False}

# (label, builtin rule, feedback kind, hidden/output neuron models, data set, extra)
ROWS = [
    ("delta · BP · rate", "delta", "transport", ("tanh", "sigmoid"), "digits", {}),
    ("delta · FA · rate", "delta", "random", ("tanh", "sigmoid"), "digits", {}),
    ("delta · FA · rate · batch 8, momentum 0.9", "delta", "random", ("tanh", "sigmoid"),
     "digits", {"batch_size": 8, "momentum": 0.9}),
    ("delta · DFA · rate", "delta", "direct", ("tanh", "sigmoid"), "digits", {"deep": True}),
    ("kolen_pollack · rate", "kolen_pollack", "learned", ("tanh", "sigmoid"), "digits", {}),
    ("delta · FA · lif", "delta", "random", ("lif", "lif"), "digits", {}),
    ("delta · DFA · lif", "delta", "direct", ("lif", "lif"), "digits", {"deep": True}),
    ("burstprop_rate", "burstprop_rate", "random", ("burst_rate", "burst_rate"), "digits",
     {}),
    ("burstprop (spiking)", "burstprop", "random", ("burst", "burst"), "digits", {}),
    # phased rules (issue 15): the phases and dynamics of their example specs, shorter
    ("segregated_dendrites · pyramidal", "segregated_dendrites", "random",
     ("pyramidal", "sigmoid"), "digits", {"phased": True}),
    # equilibrium propagation with its spec's batch of 4: at batch 1 its learning
    # amplifies rounding about a thousandfold in 500 steps (the reference against
    # itself with the initial weights moved by one ulp: 1.2e-13 to 6.0e-13), which
    # an exact-tier cell would measure instead of the engine (1e-16 at batch 4)
    ("equilibrium_propagation · hard_sigmoid", "equilibrium_propagation", "transport",
     ("hard_sigmoid", "hard_sigmoid"), "digits", {"phased": True, "batch_size": 4}),
    ("predictive_coding · rate", "predictive_coding", "transport", ("tanh", "sigmoid"),
     "digits", {"phased": True}),
    ("weight_mirror · rate", "weight_mirror", "random", ("tanh", "sigmoid"), "digits",
     {"phased": True}),
    ("stdp (pair, all-to-all)", "stdp", "random", ("lif", "lif"), "digits", {}),
    ("stdp_nearest", "stdp_nearest", "random", ("lif", "lif"), "digits", {}),
    ("triplet_stdp", "triplet_stdp", "random", ("lif", "lif"), "digits", {"eta": 1.0}),
    # reward-modulated: the tag needs learned biases off; a digit's class is the
    # rewarded action among the 10 outputs
    ("rstdp (reward, eligibility tag)", "rstdp", "random", ("lif", "lif"), "digits",
     {"eta": 0.05, "bias": False,
      "reward": Reward(selection="epsilon_greedy", correct=1.0, wrong=-1.0)}),
    ("brainprop · rate", "brainprop", "transport", ("tanh", "sigmoid"), "digits",
     {"loss": "reward", "reward": Reward(selection="softmax", temperature=0.1)}),
]


def _phased(rule: str) -> dict:
    """The phases, dynamics and feedback rule of a phased catalog row."""
    from .phases import Equilibrium, FeedbackRule, Noise, Phase, PredictiveCoding, Settle
    if rule == "segregated_dendrites":
        return {"phases": [Phase("forward", 10, window=5),
                           Phase("target", 10, window=5, target=True, nudge=1.0,
                                 plastic=True)]}
    if rule == "equilibrium_propagation":
        return {"dynamics": Equilibrium(),
                "phases": [Phase("free", 20, settle=Settle(0.5)),
                           Phase("nudged", 4, target=True, nudge=0.5, plastic=True,
                                 settle=Settle(0.5))]}
    if rule == "predictive_coding":
        return {"dynamics": PredictiveCoding(),
                "phases": [Phase("infer", 60, target=True, nudge=1.0, plastic=True,
                                 settle=Settle(0.1))]}
    return {"feedback_rule": FeedbackRule("mirror", 0.005, builtin="weight_mirror"),
            "phases": [Phase("learn", 1, target=True, plastic=True),
                       Phase("mirror", 4, input=False, noise=Noise(1.0, ["h1"]))]}


def row_spec(label, rule, fb, models, dataset, extra=None) -> Spec:
    """The spec of one catalog row."""
    extra = extra or {}
    n_in, n_out = (64, 10) if dataset == "digits" else (2, 1)
    hid, out = models
    spiking = hid in ("lif", "burst")
    bias = extra.get("bias", True)
    layers = [Layer("input", n_in), Layer("h1", 100, Neuron(hid), bias=bias)]
    if extra.get("deep"):
        layers.append(Layer("h2", 30, Neuron(hid), bias=bias))
    layers.append(Layer("output", n_out, Neuron(out), bias=bias))
    # per example; large enough that a fixed-point engine's changes span many weight
    # LSBs within a grid run, small enough that learning stays smooth
    eta = extra.get("eta", {"lif": 0.02, "burst": 1.0}.get(hid, 0.1))
    phased = _phased(rule) if extra.get("phased") else {}
    feedback = Feedback(fb, rule=phased.get("feedback_rule"))
    steps = sum(p.steps for p in phased.get("phases", []))
    return Spec(
        label.replace(" · ", "_").replace(", ", "_").replace(" ", "_"),
        Network(layers, feedback, dynamics=phased.get("dynamics")),
        Rule(builtin=rule, eta=eta),
        Data(dataset, n_train=40, n_test=40),
        Training(epochs=1, batch_size=extra.get("batch_size", 1),
                 momentum=extra.get("momentum", 0.0), seed=0,
                 loss=extra.get("loss", "mse")),
        Simulation(dt=0.001, t_example=(0.001 * steps if phased
                                        else 0.05 if spiking else 0.02),
                   max_rate=200.0, teach=1.0 if phased else 0.5),
        phases=phased.get("phases"), reward=extra.get("reward"))


def catalog() -> list:
    """[(label, spec)] for every row."""
    return [(row[0], row_spec(*row)) for row in ROWS]
