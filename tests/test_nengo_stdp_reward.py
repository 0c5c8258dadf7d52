"""Spike-timing and third-factor rules on the nengo backend: spike-gated terms with
the reference's spike traces, the eligibility tag, and reward tasks (action
selection, reward delay, BrainProp's reward loss) in its own learning operators.
Plumbing tier: the runtime equals its emulator (the reference network with nengo's
LIF step under nengo's schedule) exactly; the pairing protocols equal the
reference's weight changes to rounding."""

from dataclasses import replace

import numpy as np
import pytest

from neurolearn.backends.nengo import lower  # needs no nengo
from neurolearn.rules.catalog import catalog
from neurolearn.rules.ir import Reward

ROWS = dict(catalog())
STDP_ROWS = ["stdp (pair, all-to-all)", "stdp_nearest", "triplet_stdp",
             "rstdp (reward, eligibility tag)"]
EXACT = 1e-12


def test_spike_timing_rows_lower_with_their_traces_tag_and_reward():
    trip = lower(ROWS["triplet_stdp"])
    assert trip.gated == {"pre_spike", "post_spike"} and trip.reward is None
    assert {(t.kind, t.tau, t.read) for t in trip.filtered} == {
        ("pre", 0.0168, "after"), ("pre", 0.101, "before"),
        ("post", 0.0337, "after"), ("post", 0.125, "before")}
    assert trip.pre_needed == frozenset() and trip.post_raw == frozenset()
    assert {t.update for t in lower(ROWS["stdp_nearest"]).filtered} == {"set"}
    r = lower(ROWS["rstdp (reward, eligibility tag)"])
    assert r.tag_tau == 0.2 and len(r.tag_terms) == 2
    assert r.gated == {"pre_spike", "post_spike"}  # the tag's pair STDP terms
    assert r.globals_needed == {"rpe"} and r.reward.selection == "epsilon_greedy"
    assert r.schedule.forward_delay == 1  # the same one-step synapse as every lif row


nengo = pytest.importorskip("nengo")

from neurolearn import backends  # noqa: E402
from neurolearn.independent import nengo_stdp  # noqa: E402
from neurolearn.independent.stdp import (PairSTDP, TripletSTDP, curve_protocol,  # noqa: E402
                                         frequency_protocol, reference_weight_changes)

nb = backends.get("nengo")


def _runtime_is_emulator(spec, steps=300):
    a = nb.simulate(spec, steps=steps, record_every=10)
    e = nb.emulate(spec, steps=steps, record_every=10)
    for k in a.spikes:
        np.testing.assert_array_equal(a.spikes[k], e.spikes[k])
    assert max(float(np.abs(a.weights[k] - e.weights[k]).max()) for k in a.weights) <= EXACT
    pa, pe = a.extra["params"], e.extra["params"]
    assert max(float(np.abs(x - y).max()) for x, y in zip(pa.b, pe.b)) <= EXACT
    assert max(float(np.abs(w[-1] - w[0]).max()) for w in a.weights.values()) > 1e-3
    return a, e


@pytest.mark.parametrize("row", STDP_ROWS)
def test_spike_timing_rows_equal_their_emulator(row):
    """Spike-gated terms, nearest and read-before traces, the tag and the reward task
    (epsilon-greedy action, rpe): every spike and weight of the engine."""
    _runtime_is_emulator(ROWS[row])


def test_spike_gated_terms_with_a_learned_bias_equal_the_emulator():
    """The bias's constant unit: its pre traces are 1 and it counts as spiking on
    every step (a pre_spike term teaches the bias every plastic step), as in the
    reference."""
    spec = ROWS["stdp (pair, all-to-all)"]
    layers = [spec.network.layers[0]] + [replace(layer, bias=True)
                                        for layer in spec.network.layers[1:]]
    spec = spec.with_(network=replace(spec.network, layers=layers))
    a, _ = _runtime_is_emulator(spec, steps=200)
    assert np.abs(a.extra["params"].b[1]).max() > 0  # the bias learned


def test_reward_delay_softmax_and_reward_values_equal_the_emulator():
    """The reward arrives reward.delay after the decision; softmax selection draws
    from the same generator; wrong actions are punished."""
    spec = ROWS["rstdp (reward, eligibility tag)"]
    spec = spec.with_(reward=Reward(selection="softmax", temperature=0.05, correct=1.0,
                                    wrong=-0.5, delay=0.01, baseline_tau=0.5))
    _runtime_is_emulator(spec)


def test_no_reward_no_weight_change():
    """The weight rule reads the tag through the third factor only: with every action
    rewarded 0, rpe stays 0 and no weight moves (with rewards they do, above)."""
    spec = ROWS["rstdp (reward, eligibility tag)"]
    spec = spec.with_(reward=Reward(selection="argmax", correct=0.0, wrong=0.0))
    a = nb.simulate(spec, steps=200, record_every=50)
    assert all(np.array_equal(w[-1], w[0]) for w in a.weights.values())


def test_spiking_reward_loss_equals_the_emulator():
    """training.loss = 'reward' on lif neurons: the output is taught the selected
    action's value error only (BrainProp's error, carried by error drives)."""
    spec = ROWS["delta · FA · lif"]
    spec = spec.with_(training=replace(spec.training, loss="reward"),
                      reward=Reward(selection="epsilon_greedy"))
    _runtime_is_emulator(spec)


@pytest.mark.parametrize("kind", ["pair", "nearest"])
def test_pairing_curve_equals_the_reference(kind):
    """-30..+30 ms pairs (the docs' figure spans -100..+100 ms): nengo.Simulator, its
    emulator and the reference give the same weight changes."""
    dt = 0.001
    iv = np.arange(-30, 31) * dt
    prot = curve_protocol(iv, dt, t_post=0.05)
    ref = reference_weight_changes(prot, PairSTDP(), dt, kind=kind)
    rt = nengo_stdp.weight_changes(prot, PairSTDP(), kind, dt)
    em = nengo_stdp.weight_changes(prot, PairSTDP(), kind, dt, engine="emulator")
    assert np.abs(rt - em).max() <= 1e-15 and np.abs(rt - ref).max() <= 1e-15
    assert rt[iv > 0].min() > 0 and rt[iv < 0].max() < 0  # the window's two signs


def test_triplet_frequency_protocol_equals_the_reference():
    """Pfister & Gerstner's frequency dependence: depression at 1 Hz, potentiation at
    50 Hz for post-before-pre pairs (-10 ms), on nengo as on the reference."""
    dt = 0.001
    prot = [frequency_protocol(rho, -0.01, n_pairs=10, dt=dt) for rho in (1.0, 50.0)]
    ref = reference_weight_changes(prot, TripletSTDP(), dt, kind="triplet")
    rt = nengo_stdp.weight_changes(prot, TripletSTDP(), "triplet", dt)
    assert np.abs(rt - ref).max() <= 1e-15
    assert rt[0] < 0 < rt[1]


def test_nengo_learns_the_two_choice_reward_task():  # about 10 s
    """examples/specs/rstdp_two_choice.toml (docs/rstdp_task.md): only a reward says
    what is right; one pass on nengo.Simulator (the reference: 95.5 %; nengo measured
    92.1 %, its one-step synapse and LIF)."""
    from pathlib import Path

    from neurolearn.rules import load
    spec = load(Path(__file__).resolve().parent.parent / "examples/specs/rstdp_two_choice.toml")
    r = nb.run(spec, epochs=1, quiet=True)
    assert r.test_accuracy >= 0.90, r.test_accuracy
