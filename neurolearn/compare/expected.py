"""Grid cells known to be outside tolerance, each with its measured figure and the
reason, by name. tests/test_grid.py fails on a cell outside tolerance that is not
listed here, on a listed cell that is no longer outside, and on a listed figure the
grid no longer measures (to 0.005: every run is deterministic).

Key: (row, backend, precision, check); value: {"figures": {name: value}, "reason": str}.
Measured by ``neurolearn grid`` (500 steps).
"""

_LAVA_TIMING = (
    "timing: Lava's Dense delivers every spike one step late, per projection, and the "
    "error one step late per feedback projection; a spiking network amplifies the shift "
    "(spike trains diverge), so individual weight changes decorrelate. The whole "
    "departure is timing: the reference under Lava's schedule gives the same figure "
    "(m = 1.000), and the engine equals its emulator bit for bit")
_LAVA_FIXED = (
    "precision: Lava's fixed-point learning engine (7-bit traces, 8-bit weights, "
    "stochastic rounding with one random number per learning epoch, changes applied "
    "every plastic step): within a grid run the changes span a few weight LSBs, so "
    "rounding dominates each synapse's change; the engine equals its emulator to 0 LSB")

_LAVA_TAG = (
    "not lowered yet: Lava's stock lowering on this core takes the rstdp row's weight "
    "term (syn.tag * global.rpe, a step term) without its tag or reward, so the engine "
    "learns another rule (issue 14: the Lava lowering of tags and reward is in progress)")

EXPECTED_GAPS: dict = {
    ("rstdp · lif", "lava", "float", "engine"):
        {"figures": {"max_abs_dW": 0.0047}, "reason": _LAVA_TAG},
    ("rstdp · lif", "lava", "float", "textbook"):
        {"figures": {"corr_dW": 0.043}, "reason": _LAVA_TAG},
    ("rstdp · lif", "lava", "fixed", "textbook"):
        {"figures": {}, "reason": _LAVA_TAG + "; in fixed point the weights do not move "
                                              "(corr undefined)"},
    ("delta · DFA · lif", "lava", "float", "textbook"):
        {"figures": {"corr_dW": 0.766}, "reason": _LAVA_TIMING},
    ("burstprop (spiking)", "lava", "float", "textbook"):
        {"figures": {"corr_dW": 0.834}, "reason": _LAVA_TIMING},
    ("delta · FA · lif", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": 0.629}, "reason": _LAVA_FIXED},
    ("delta · DFA · lif", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": 0.542}, "reason": _LAVA_FIXED},
    ("burstprop (spiking)", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": 0.592}, "reason": _LAVA_FIXED},
}
