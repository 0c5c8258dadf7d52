"""Specs of the spike-timing and third-factor checks on Lava (tests/test_lava_stdp.py):
each exercises a part of the lowering (x0/y0 products, Lava's traces, post traces,
the tag, the reward)."""

from dataclasses import replace

from neurolearn.rules.catalog import catalog
from neurolearn.rules.ir import (Data, Factor, Feedback, Init, Layer, Network, Reward, Rule,
                                 Simulation, Spec, Tag, Term, Training)
from neurolearn.rules.neurons import Neuron

ROWS = dict(catalog())
FA_LIF, FA_RATE = ROWS["delta · FA · lif"], ROWS["delta · FA · rate"]
F = Factor


def builtin(name, eta=0.02, **training):
    spec = FA_LIF.with_(rule=Rule(builtin=name, eta=eta))
    return spec.with_(training=replace(spec.training, **training)) if training else spec


def custom(base, *terms, eta=0.02, tag=None, **training):
    spec = base.with_(rule=Rule(name="custom", eta=eta, terms=list(terms), tag=tag))
    return spec.with_(training=replace(spec.training, **training)) if training else spec


def reward_spec(rule=None, hidden=True, teach=0.5, selection="epsilon_greedy", delay=0.005,
                batch_size=1):
    """64-(20)-2 LIF on digits 0 and 1, the reward task of spec.reward."""
    layers = [Layer("input", 64)]
    if hidden:
        layers.append(Layer("h1", 20, Neuron("lif"), bias=False))
    layers.append(Layer("output", 2, Neuron("lif"), bias=False))
    return Spec("reward_task", Network(layers, Feedback("random"),
                                       init=Init("uniform_positive", 0.5)),
                rule or Rule(builtin="rstdp", eta=0.05),
                Data("digits", n_train=40, n_test=40, classes=[0, 1]),
                Training(epochs=1, batch_size=batch_size, seed=0),
                Simulation(dt=0.001, t_example=0.05, max_rate=200.0, teach=teach),
                reward=Reward(selection=selection, correct=1.0, wrong=-1.0, delay=delay,
                              baseline_tau=0.5))


CASES = {
    "stdp": builtin("stdp"),
    "stdp · batch 2": builtin("stdp", batch_size=2),
    "stdp_nearest": builtin("stdp_nearest"),
    # three products: no y slot for the batch, so per-step updates (LAVA_STEP_FLOAT)
    "triplet_stdp": builtin("triplet_stdp", eta=1.0),
    "rstdp · hidden layer, reward delay, epsilon-greedy": reward_spec(),
    # a literal tag coefficient (0.75 = 3 * 2^-2), batches of two
    "rstdp · own tag, reward, batch 2": reward_spec(Rule(name="rstdp2", eta=0.05, terms=[
        Term([F("syn", "tag"), F("global", "reward")])], tag=Tag(0.1, [
            Term([F("pre", "spike_trace", 0.02)], 0.75, "post_spike"),
            Term([F("post", "spike_trace", 0.02)], -0.6, "pre_spike")])),
        hidden=False, batch_size=2),
    # a step term reading a pre trace before its spike (u0 product minus x0 * y), a post
    # factor with its own tau, a nearest post trace read before its spike at x0
    "custom · read before, post traces": custom(
        FA_LIF, Term([F("pre", "spike_trace", 0.02, read="before"), F("post", "activity", 0.03)]),
        Term([F("post", "spike_trace", 0.01, "set", "before"), F("pre", "activity")], -0.5,
             "pre_spike")),
    # a unit-area pre trace at post spikes times the error drive; w at pre spikes
    "custom · unit-area trace at y0, w at x0": custom(
        FA_LIF, Term([F("pre", "activity", 0.015), F("post", "error_drive")], 1.0, "post_spike"),
        Term([F("syn", "w")], -0.1, "pre_spike")),
    "custom · rate, post factor with tau": custom(
        FA_RATE, Term([F("pre", "activity"), F("post", "activity", 0.005),
                       F("post", "error_drive")]), eta=0.1),
    # global factors in a step and a spike-triggered term; every step plastic (the
    # decision comes from the first step's readout)
    "reward-modulated hebbian · teach 1": reward_spec(Rule(name="rhebb", eta=0.05, terms=[
        Term([F("pre", "activity"), F("post", "activity"), F("global", "rpe")]),
        Term([F("pre", "activity"), F("global", "reward")], -0.1, "post_spike")]), teach=1.0),
    # loss 'reward' on a rate network with random feedback (AGREL's error at the
    # selected action only; BrainProp's transport feedback is refused on Lava)
    "delta · FA · rate · loss reward": FA_RATE.with_(
        training=replace(FA_RATE.training, loss="reward"),
        reward=Reward(selection="softmax", temperature=0.2, delay=0.002)),
}

# fixed point: every product sign-definite (Lava clips the y traces of a neuron that
# spiked to [0, 127]), or no post spikes sent (R-STDP: a signed rpe, no post spikes)
FIXED = {
    "stdp": CASES["stdp"],
    "stdp_nearest": CASES["stdp_nearest"],
    "triplet_stdp": CASES["triplet_stdp"],
    "reward-modulated hebbian (step term)": reward_spec(Rule(name="rhebb", eta=0.2, terms=[
        Term([F("pre", "activity"), F("post", "activity"), F("global", "rpe")])])),
    # the tag in t, its post_spike term a u0 product, its decay a literal scale
    "rstdp · hidden layer, reward delay, epsilon-greedy":
        CASES["rstdp · hidden layer, reward delay, epsilon-greedy"],
    # a post_spike weight term sends the spikes back: the tag keeps its y0 product (a
    # literal) and every y one sign
    "tag and a post_spike weight term": reward_spec(Rule(name="mix", eta=0.05, terms=[
        Term([F("syn", "tag")]),
        Term([F("pre", "spike_trace", 0.02)], 0.5, "post_spike")],
        tag=Tag(0.1, [Term([F("pre", "spike_trace", 0.02)], 1.0, "post_spike"),
                      Term([F("post", "spike_trace", 0.02)], -1.0, "pre_spike")]))),
}
