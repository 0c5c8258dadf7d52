"""Spiking burst-dependent plasticity (Payeur et al. 2021): event and burst detection
from spike trains, the two-compartment neuron, the Fig. 2 mechanism, and XOR."""

from dataclasses import replace

import numpy as np
import pytest

from neurolearn.reference.burst import BurstDetector, detect
from neurolearn.reference.neurons import BurstNeuron
from neurolearn.reference.simulator import Network as SimNet, Encoder, run_time_stepped
from neurolearn.rules import load
from neurolearn.rules.ir import Data, Init, Layer, Network, Neuron, Rule, Simulation, Spec

from conftest import SPECS

DT, WINDOW = 0.001, 0.016  # 16 steps


def _train(times, n=200):
    s = np.zeros(n)
    s[list(times)] = 1.0
    return s


def test_events_and_bursts_from_a_hand_made_spike_train():
    # 10 event, 13 second spike -> burst, 15 same burst, 40 event (27 after 13),
    # 100 event, 116 burst (16 steps = burst_window), 133 event (17 > 16), 150 event
    E, B = detect(_train([10, 13, 15, 40, 100, 116, 133, 150]), DT, WINDOW)
    assert np.flatnonzero(E).tolist() == [10, 40, 100, 133, 150]
    assert np.flatnonzero(B).tolist() == [13, 116]


def test_a_long_train_within_the_window_is_one_burst():
    E, B = detect(_train(range(20, 80, 5)), DT, WINDOW)
    assert np.flatnonzero(E).tolist() == [20] and np.flatnonzero(B).tolist() == [25]


def test_detection_is_per_neuron_and_streaming_matches_offline():
    s = np.stack([_train([5, 7, 60]), _train([6, 30, 31, 32])], axis=1)
    E, B = detect(s, DT, WINDOW)
    assert np.flatnonzero(E[:, 0]).tolist() == [5, 60] and np.flatnonzero(B[:, 0]).tolist() == [7]
    assert np.flatnonzero(E[:, 1]).tolist() == [6, 30] and np.flatnonzero(B[:, 1]).tolist() == [31]


def test_moving_average_burst_probability():
    det = BurstDetector(1, DT, WINDOW, tau_avg=0.5, p_baseline=0.2)
    assert det.p_bar[0, 0] == pytest.approx(0.2)  # the prior
    # an event every 50 steps, every 4th a burst: P_bar -> 0.25
    seen = []
    for t in range(20000):
        k, r = divmod(t, 50)
        det.step(np.array([[1.0 if r == 0 or (r == 3 and k % 4 == 0) else 0.0]]))
        seen.append(det.p_bar[0, 0])
    # averaged over the last 2 s (the estimate ripples with the 200 ms burst cycle)
    assert np.mean(seen[-2000:]) == pytest.approx(0.25, abs=0.01)
    assert np.std(seen[-2000:]) < 0.05


@pytest.mark.parametrize("mode", ["regular", "random"])
def test_burst_neuron_events_do_not_depend_on_bursting_and_detector_reads_them(mode):
    n = Neuron("burst", tau_rc=0.02, tau_ref=0.002, burst_window=WINDOW)
    J = np.full((1, 50), 1.3) + np.linspace(0, 1, 50)
    counts = {}
    for p in (0.0, 0.3, 1.0):
        nrn = BurstNeuron(n, 50, DT, mode=mode)
        det = BurstDetector(50, DT, WINDOW, 1.0, 0.2)
        rng = np.random.default_rng(0)
        ev_soma, ev_det, bu_sched, bu_det = 0, 0, 0, 0
        for _ in range(5000):
            s, ev = nrn.step(J)
            E, B = det.step(s)
            assert np.array_equal(E, ev)  # events read from the train are the soma's
            bu_sched += nrn.schedule_bursts(ev, np.full_like(ev, p), rng)
            ev_soma += ev
            bu_det += B
        counts[p] = ev_soma
        # every scheduled burst but those still pending at the end is read back
        assert 0 <= (bu_sched - bu_det).max() <= 1
        frac = bu_det.sum() / ev_soma.sum()
        assert frac == pytest.approx(p, abs=0.03)
    assert np.array_equal(counts[0.0], counts[1.0]) and np.array_equal(counts[0.0], counts[0.3])


# -- Payeur et al. 2021, Fig. 2: apical drive steers plasticity -----------------------------
def _single_layer(eta=0.01, mode="regular"):
    n = Neuron("burst", beta=3.0, tau_avg=1.0, burst_draw=mode)
    return Spec(name="fig2", network=Network(layers=[Layer("i", 20), Layer("o", 20, n)],
                                             init=Init("uniform", 0.05)),
                rule=Rule(builtin="burstprop", eta=eta), data=Data("xor"),
                simulation=Simulation(max_rate=40.0, encoding="poisson"))


@pytest.mark.parametrize("mode", ["regular", "random"])
def test_fig2_apical_drive_above_baseline_potentiates_below_depresses(mode):
    spec = _single_layer(mode=mode)
    net = SimNet(spec)
    net.params.W[0][:] += 0.1  # the input drives the soma
    enc = Encoder(spec.simulation, 20, 0)
    y = np.zeros((1, 20))
    zero = np.zeros((1, 20))

    def phase(steps, u):
        xs = enc(np.full((steps, 20), 0.7))
        w0 = net.params.W[0].copy()
        pbar0 = net.averages[1].p_bar.copy()
        for t in range(steps):
            net.step(xs[t:t + 1], y, apical={1: u})
        net.apply()  # the phase's accumulated change
        return net.params.W[0] - w0, pbar0

    counts = {}  # phase -> [events, bursts], read from the post signals the rule sees

    def counted_phase(steps, u, key):
        orig = net._learn

        def spy(pre, post, *a, **k):
            c = counts.setdefault(key, [0.0, 0.0])
            c[0] += post[0]["event"].sum()
            c[1] += post[0]["burst"].sum()
            return orig(pre, post, *a, **k)
        net._learn = spy
        try:
            return phase(steps, u)
        finally:
            net._learn = orig

    _, _ = counted_phase(3000, zero, "rest")          # settle: P_bar -> p_baseline
    dw_rest, _ = counted_phase(2000, zero, "rest2")
    dw_up, pbar_up = counted_phase(2000, zero + 1.0, "up")
    counted_phase(3000, zero, "rest3")
    dw_down, pbar_down = counted_phase(2000, zero - 1.0, "down")

    p_up = counts["up"][1] / counts["up"][0]
    p_down = counts["down"][1] / counts["down"][0]
    assert p_up > pbar_up.mean() + 0.2  # burst probability rises above P_bar
    assert p_down < pbar_down.mean() - 0.1
    assert dw_up.mean() > 0 and (dw_up > 0).mean() > 0.95  # potentiation
    assert dw_down.mean() < 0 and (dw_down < 0).mean() > 0.95  # depression
    # at baseline drive the weights hardly move compared with a teaching signal
    assert abs(dw_rest.mean()) < 0.1 * min(dw_up.mean(), -dw_down.mean())


# -- XOR ---------------------------------------------------------------------------------
def _xor(specs_dir, seed):
    spec = load(specs_dir / "burstprop_xor.toml")
    return spec.with_(training=replace(spec.training, seed=seed))


def test_burstprop_xor_output_event_rates_move_towards_the_classes(specs_dir):
    """Fast check (seed 0, 40 epochs): the output event rate of the true patterns
    rises above that of the false ones, from no separation before learning."""
    r = run_time_stepped(_xor(specs_dir, 0), epochs=40, quiet=True)
    # history has no readout per epoch; compare the final readout with the margin
    readout = np.asarray(r.extra["test_readout"])[:, 0]
    margin = readout[[1, 2]].mean() - readout[[0, 3]].mean()
    assert r.history["test_loss"][-1] < r.history["test_loss"][0]
    assert margin > 0.1, readout


# The bar (issue 13): all four patterns, every true pattern at least 0.1 above
# every false one, on at least 19 of seeds 0-19. The spec's settings were chosen by
# sweeps (benchmarks/README.md, "Spiking burstprop XOR over seeds 0-19"); measured
# 2026-11-30: 19 of 20 (seed 5 reads 0.493 on (0, 1), under the 0.5 threshold). The 20
# seeds run as copies of one vectorised run (run_seeds: each bit-identical to its own
# run; tests/test_simulator_copies.py), 15-30 minutes on one core.
@pytest.mark.slow
def test_burstprop_learns_xor_on_19_of_seeds_0_to_19(specs_dir):
    from neurolearn.reference.simulator import run_seeds
    from neurolearn.sweep.task import margin
    spec = _xor(specs_dir, 0)
    good = []
    for seed, result in zip(range(20), run_seeds(spec, list(range(20)), quiet=True)):
        m = margin(_xor(specs_dir, seed), result)
        if result.test_accuracy == 1.0 and m >= 0.1:
            good.append(seed)
    assert len(good) >= 19, f"4/4 with margins >= 0.1 on seeds {good}"


def test_the_networks_events_and_bursts_are_what_a_detector_reads_from_its_trains():
    """The Network takes events and bursts from its BurstNeurons (the somatic spikes,
    and the rest of the train) instead of running a detector: every step of bursty
    training, with noise, over 3 copies, they equal BurstDetector's reading of the
    spike trains, bit for bit; and an evaluation's events (infer_events, the soma
    alone) equal a full step's."""
    spec = load(SPECS / "burstprop_xor.toml")
    net = SimNet(spec, seeds=[0, 1, 2])
    sim, sizes = spec.simulation, spec.network.sizes
    dets = {l: BurstDetector(sizes[l], sim.dt, spec.network.layers[l].neuron.burst_window,
                             1.0, 0.5, (3, 1)) for l in (1, 2)}
    x = np.stack([Encoder(sim, sizes[0], s)(np.full((1500, sizes[0]), v))
                  for s, v in zip((0, 1, 2), (1.0, 0.6, 0.3))], axis=1)[:, :, None]
    y = np.ones((3, 1, sizes[-1]))
    totals = {l: np.zeros(2) for l in dets}
    for t in range(1500):
        _, _, spikes = net.step(x[t], y, teach=t % 500 >= 250)
        for l, det in dets.items():
            E, B, _ = net.last_bursts[l]
            want_E, want_B = det.detect(spikes[l] > 0)
            assert np.array_equal(E, want_E) and np.array_equal(B, want_B), (t, l)
            totals[l] += E.sum(), B.sum()
    for l in dets:  # the check saw both
        assert totals[l][0] > 50 and totals[l][1] > 10, totals

    full, infer = SimNet(spec, seeds=[0, 1, 2]), SimNet(spec, seeds=[0, 1, 2])
    for t in range(300):
        _, _, spikes = full.step(x[t], y, learn=False)
        assert np.array_equal(infer.infer_events(x[t]), spikes[-1]), t
