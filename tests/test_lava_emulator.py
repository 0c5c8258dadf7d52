"""The emulator of the stock lowering (what Lava computes, in NumPy) against the
reference run under Lava's schedule: where the Program declares no approximation,
max |dW| <= 1e-12 after 500 steps, and the run learned. This is the check that
Lava's Schedule is Lava's timing and that the populations compute the reference's
meaning (no lava import)."""

from dataclasses import replace

import numpy as np
import pytest

from neurolearn.backends.lava import emulate, lower
from neurolearn.backends.lava.emulator import run_stream
from neurolearn.backends.lava.stream import training_stream
from neurolearn.data import load_dataset
from neurolearn.reference.simulator import Network, batches_of, present, simulate, Encoder
from neurolearn.reference.stream import example_order
from neurolearn.rules.catalog import catalog
from neurolearn.rules.ir import Data, Factor, Rule, Simulation, Term

ROWS = dict(catalog())
STEPS = 500
TOL = 1e-12


def _net(spec, **changes):
    return spec.with_(network=replace(spec.network, **changes))


def _layers(spec, i, **changes):
    layers = list(spec.network.layers)
    layers[i] = replace(layers[i], **changes)
    return _net(spec, layers=layers)


FA_RATE, FA_LIF = ROWS["delta · FA · rate"], ROWS["delta · FA · lif"]
EXTRA = {
    # Kolen-Pollack's decay with random feedback, batches of 4: two products + g
    "kolen_pollack random · batch 4": FA_RATE.with_(
        rule=Rule(builtin="kolen_pollack", eta=0.1),
        training=replace(FA_RATE.training, batch_size=4)),
    # one plastic step per example, batch 1: the increment goes straight to w (one
    # layer: with one plastic step a hidden layer's drive is the previous step's,
    # from a step without teacher, under Lava's delays)
    "delta · rate · one layer · direct": _net(FA_RATE, layers=[
        FA_RATE.network.layers[0], FA_RATE.network.layers[2]]).with_(
        simulation=Simulation(dt=0.001, t_example=0.005, teach=0.2)),
    "delta · FA · lif · batch 2, momentum 0.5": FA_LIF.with_(
        training=replace(FA_LIF.training, batch_size=2, momentum=0.5)),
    # a post-only term and Oja's decay, y^2 w: three products, batch 1 with momentum 0
    "custom (hebb, post-only, oja decay)": FA_RATE.with_(rule=Rule(name="custom", eta=0.05, terms=[
        Term([Factor("pre", "activity"), Factor("post", "activity")]),
        Term([Factor("post", "error_drive")], coeff=0.5),
        Term([Factor("post", "activity"), Factor("post", "activity"), Factor("syn", "w")],
             coeff=-1.0)]),
        simulation=Simulation(dt=0.001, t_example=0.005, teach=0.2)),
    # offsets: a fixed one (bias = false) and learned biases from bias_init
    "delta · FA · lif · offsets": _layers(_layers(FA_LIF, 1, bias=False, bias_init=0.3), 2,
                                          bias_init=-0.2),
    "delta · FA · rate · offsets": _layers(FA_RATE, 1, bias_init=0.25),
    "burstprop (spiking) · random draws, offsets": _layers(_layers(
        ROWS["burstprop (spiking)"], 1,
        neuron=replace(ROWS["burstprop (spiking)"].network.layers[1].neuron,
                       burst_draw="random")), 2, bias=False, bias_init=0.2),
    "delta · FA · lif · cross-entropy, two pre traces": FA_LIF.with_(
        rule=Rule(name="custom", eta=0.002, terms=[
            Term([Factor("pre", "activity"), Factor("post", "error_drive")]),
            Term([Factor("pre", "activity", 0.05), Factor("post", "error_drive")],
                 coeff=0.5)]),
        training=replace(FA_LIF.training, loss="cross_entropy")),
}
# transport and learned feedback (BP, KP, BrainProp) and phased rules are refused by
# the Lava lowering (tests/test_grid.py holds every refusal to its reason)
LOWERING_ROWS = [r for r, s in ROWS.items()
                 if r not in ("delta · BP · rate", "kolen_pollack · rate", "brainprop · rate")
                 and not s.phases]
CASES = {**{r: ROWS[r] for r in LOWERING_ROWS}, **EXTRA}


@pytest.mark.parametrize("label", list(CASES))
def test_emulator_is_the_reference_under_lavas_schedule(label):
    spec = CASES[label]
    prog = lower(spec)
    assert prog.approximations == []
    em = emulate(spec, steps=STEPS, record_every=100)
    ref = simulate(spec, steps=STEPS, record_every=100, schedule=prog.schedule)
    assert list(em.steps) == list(ref.steps) == [99, 199, 299, 399, 499]
    W0 = prog.params.W
    for l, name in enumerate(ref.weights, start=1):
        learned = np.abs(ref.weights[name][-1] - W0[l - 1]).max()
        assert learned > 1e-6, f"{name} did not learn ({learned:.2e})"
        assert np.abs(em.weights[name] - ref.weights[name]).max() <= TOL, name
    for b_em, b_ref in zip(em.extra["params"].b, ref.extra["params"].b):
        assert np.abs(b_em - b_ref).max() <= TOL
    assert np.abs(em.outputs - ref.outputs).max() <= TOL
    assert np.abs(em.errors - ref.errors).max() <= TOL
    for name, s in ref.spikes.items():
        assert np.array_equal(em.spikes[name], s), name
    if spec.network.spiking:
        assert ref.spikes[list(ref.spikes)[-1]].sum() > 0, "the output never spiked"


def test_schedule_departs_from_the_textbook():
    # the check above is not vacuous: Lava's timing changes what is learned
    spec = FA_RATE
    em = emulate(spec, steps=STEPS, record_every=STEPS)
    textbook = simulate(spec, steps=STEPS, record_every=STEPS)
    assert np.abs(em.weights["h1"] - textbook.weights["h1"]).max() > 1e-3


def test_passes_with_eta_decay_follow_the_reference_run():
    """run()'s stream (passes, short last batches, eta decayed after each pass)
    against the loop of reference.simulator.run_time_stepped under Lava's schedule."""
    spec = FA_LIF.with_(data=Data("digits", n_train=6, n_test=6),
                        training=replace(FA_LIF.training, batch_size=4, lr_decay=0.5,
                                         epochs=3))
    prog = lower(spec)
    ds = load_dataset(spec.data, 0)
    n, k, epochs = 6, prog.k, 3
    stream = training_stream(spec, ds, epochs * n * k, 0, k, prog.n_teach, 1, 1,
                             True, epochs=epochs)
    rec = run_stream(prog, stream, [epochs * n * k - 1])
    # the reference's run loop (run_time_stepped) with Lava's schedule
    net = Network(spec, seed=0, schedule=prog.schedule)
    order = example_order(n, epochs * n, 0)
    enc = Encoder(spec.simulation, 64, 0)
    pos = 0
    for _ in range(epochs):
        for size in batches_of(n, 4, n):
            net.begin_batch(size)
            for idx in order[pos:pos + size]:
                present(net, ds.x_train[idx:idx + 1], ds.y_train[idx:idx + 1], k, enc)
            pos += size
            net.apply()
        net.eta = [e * 0.5 for e in net.eta]
    for l in (1, 2):
        assert np.abs(rec[f"W_{l}"][-1] - net.params.W[l - 1]).max() <= TOL
        assert np.abs(rec[f"b_{l}"][-1] - net.params.b[l - 1]).max() <= TOL
    assert np.abs(rec["W_1"][-1] - prog.params.W[0]).max() > 1e-5


def test_fixed_point_emulator_learns_on_the_integer_grid():
    spec = FA_LIF
    prog = lower(spec, "fixed")
    fx = emulate(spec, steps=STEPS, record_every=STEPS, precision="fixed")
    for l, name in enumerate(fx.weights, start=1):
        lp = prog.layers[l - 1]
        W_int = fx.weights[name][-1] * 2.0 ** lp.w_frac
        assert np.array_equal(W_int, np.rint(W_int)) and -256 <= W_int.min() <= W_int.max() <= 255
        assert np.abs(W_int - lp.W0).max() >= 2  # learned at least 2 LSB somewhere
