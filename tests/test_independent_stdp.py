"""STDP in the reference (written in its rule IR) against Brian2's textbook synapse and
NEST's stdp_synapse / stdp_nn_symm_synapse / stdp_triplet_synapse: the pairing curve
from -100 to +100 ms and Pfister & Gerstner's frequency protocol."""

import numpy as np
import pytest

from neurolearn.errors import UnsupportedRule
from neurolearn.independent import is_installed
from neurolearn.independent.measure import pairing_curve, weight_changes
from neurolearn.independent.stdp import (PairSTDP, TripletSTDP, frequency_protocol)

needs_brian2 = pytest.mark.skipif(not is_installed("brian2"),
                                  reason="brian2 not installed: pip install 'neurolearn[brian2]'")
needs_nest = pytest.mark.skipif(not is_installed("nest"),
                                reason="nest not installed: pip install 'neurolearn[nest]'")

PAIR = PairSTDP()  # Song et al. 2000: A+ = 0.005, A-/A+ = 1.05, tau 20 ms
DT = 0.001
RHOS = [1, 10, 20, 30, 40, 50]  # Hz
N_PAIRS = 60


@pytest.fixture(scope="module")
def ref_curve():
    return pairing_curve("reference", PAIR, DT)


@pytest.fixture(scope="module")
def freq_protocol():
    return [frequency_protocol(r, s * 0.010, N_PAIRS, DT) for s in (1, -1) for r in RHOS]


@pytest.fixture(scope="module")
def ref_triplet(freq_protocol):
    return weight_changes("reference", freq_protocol, TripletSTDP(), "triplet") / N_PAIRS


@pytest.fixture(scope="module")
def ref_pair(freq_protocol):
    return weight_changes("reference", freq_protocol, PAIR, "pair") / N_PAIRS


def test_reference_pairing_curve_is_the_textbook_window(ref_curve):
    intervals, dw = ref_curve
    assert len(intervals) == 201 and intervals[0] == pytest.approx(-0.1)
    np.testing.assert_allclose(dw, PAIR.window(intervals), rtol=0, atol=1e-15)
    assert dw[100] == pytest.approx(PAIR.a_plus - PAIR.a_minus)  # same-step: both terms


@needs_brian2
def test_brian2_pairing_curve_equals_the_reference(ref_curve):
    intervals, dw = ref_curve
    _, got = pairing_curve("brian2", PAIR, DT)
    assert np.abs(got - dw).max() <= 1e-9  # measured 4.8e-18


@needs_nest
def test_nest_pairing_curve_is_the_reference_shifted_by_the_dendritic_delay(ref_curve):
    # NEST pairs t_pre with t_post + d (d = one step here): nest(dt) = ref(dt + d), and
    # the pair that lands on dt + d = 0 counts neither way
    intervals, dw = ref_curve
    _, got = pairing_curve("nest", PAIR, DT)
    assert np.abs(got[:-1] - dw[1:])[intervals[:-1] != -DT].max() <= 1e-15
    assert got[intervals == -DT][0] == 0.0
    # the stated bound on the raw difference away from the two coincidences:
    # |f(dt) - f(dt + d)| <= A (1 - exp(-d/tau))
    bound = max(PAIR.a_plus, PAIR.a_minus) * -np.expm1(-DT / PAIR.tau_plus)
    away = (intervals != 0) & (intervals != -DT)
    raw = np.abs(got - dw)[away].max()
    assert 0.9 * PAIR.a_plus * -np.expm1(-DT / PAIR.tau_plus) < raw <= bound + 1e-15


@needs_nest
def test_nest_difference_shrinks_with_its_resolution_and_delay(ref_curve):
    intervals, dw = ref_curve
    d = 0.0001
    _, got = pairing_curve("nest", PAIR, DT, resolution=d)
    away = intervals != 0
    bound = max(PAIR.a_plus, PAIR.a_minus) * -np.expm1(-d / PAIR.tau_plus)
    assert np.abs(got - dw)[away].max() <= bound + 1e-15
    _, comp = pairing_curve("nest", PAIR, DT, compensate_delay=True)
    assert np.abs(comp - dw)[away].max() <= 1e-15 and comp[~away][0] == 0.0


def test_reference_triplet_reproduces_pfister_gerstner_frequency_dependence(ref_triplet,
                                                                           ref_pair):
    plus, minus = ref_triplet[:len(RHOS)], ref_triplet[len(RHOS):]
    # dt = -10 ms: depression at low pairing frequency, potentiation at high
    assert minus[0] < 0 and minus[RHOS.index(20)] < 0 and minus[-1] > 0
    # dt = +10 ms: almost nothing at 1 Hz (A2+ ~ 0), growing with frequency
    assert abs(plus[0]) < 0.01 * plus[-1] and np.all(np.diff(plus) > 0)
    # the pair rule cannot do this: at dt = -10 ms it depresses at every frequency
    assert np.all(ref_pair[len(RHOS):] < 0)


@needs_brian2
@needs_nest
@pytest.mark.parametrize("kind", ["pair", "triplet"])
def test_frequency_protocol_agrees_in_all_three(kind, freq_protocol, ref_triplet, ref_pair):
    params = TripletSTDP() if kind == "triplet" else PAIR
    ref = ref_triplet if kind == "triplet" else ref_pair
    b2 = weight_changes("brian2", freq_protocol, params, kind) / N_PAIRS
    ne = weight_changes("nest", freq_protocol, params, kind, compensate_delay=True) / N_PAIRS
    scale = np.abs(ref).max()
    assert np.abs(b2 - ref).max() <= 1e-12 * scale  # measured 2.6e-16 absolute
    assert np.abs(ne - ref).max() <= 1e-12 * scale


@needs_brian2
@needs_nest
def test_nearest_neighbour_brian2_equals_nest_and_departs_from_all_to_all(freq_protocol):
    b2 = weight_changes("brian2", freq_protocol, PAIR, "nearest")
    ne = weight_changes("nest", freq_protocol, PAIR, "nearest", compensate_delay=True)
    all2all = weight_changes("nest", freq_protocol, PAIR, "pair", compensate_delay=True)
    assert np.abs(b2 - ne).max() <= 1e-12 * np.abs(b2).max()
    n = len(RHOS)
    # at 1 Hz pairs do not overlap: the schemes agree; at 50 Hz they do not
    assert abs(b2[0] - all2all[0]) < 1e-6 * abs(all2all[0])
    assert abs(b2[n - 1] - all2all[n - 1]) > 0.2 * abs(all2all[n - 1])


@needs_brian2
def test_reference_nearest_neighbour_equals_brian2(freq_protocol):
    """Traces set (not added) at a spike: Factor.update = 'set'."""
    ref = weight_changes("reference", freq_protocol, PAIR, "nearest")
    b2 = weight_changes("brian2", freq_protocol, PAIR, "nearest")
    assert np.abs(ref - b2).max() <= 1e-12 * np.abs(b2).max()


def test_bad_arguments_name_the_problem():
    prot = [frequency_protocol(10, 0.01, 2)]
    with pytest.raises(TypeError, match="takes TripletSTDP"):
        weight_changes("reference", prot, PAIR, "triplet")
    with pytest.raises(ValueError, match="kind must be one of"):
        weight_changes("reference", prot, PAIR, "quadruplet")
    with pytest.raises(ValueError, match="simulator must be"):
        weight_changes("neuron", prot, PAIR, "pair")
