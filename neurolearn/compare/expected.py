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
    "precision: Lava's fixed-point learning engine (7-bit traces, 8-bit weights on a "
    "grid with room for 4x growth, stochastic rounding with one random number per "
    "learning epoch, changes applied every plastic step): within a grid run the changes "
    "span about one weight LSB, so rounding dominates each synapse's change; the engine "
    "equals its emulator to 0 LSB")

_NENGO_LIF = (
    "timing and neuron model: nengo's synapses deliver a spike one step later per "
    "projection than the textbook schedule (the reference under nengo's schedule alone "
    "gives most of the figure, see timing.corr_dW), and nengo.LIF places each spike at "
    "its sub-step crossing with a fractional refractory period; in a 500-step run of "
    "50-step examples both reshuffle individual spikes, so per-synapse changes "
    "decorrelate (the deeper DFA net more); the engine equals its emulator")
_NENGO_STDP = (
    "timing and neuron model: nengo's synapse delivers a spike one step late, so a "
    "presynaptic spike and the postsynaptic spike it causes fall one step apart on nengo "
    "(dt = +1) but in the same step on the textbook schedule (dt = 0): spike-timing rules "
    "weigh exactly these causal pairs, and a reward task's decisions follow the spikes "
    "(the reference under nengo's schedule alone gives timing.corr_dW; for pair and "
    "nearest STDP the figure of Lava's one-step Dense); nengo.LIF's sub-step spike times "
    "reshuffle the rest. The "
    "engine equals its emulator bit for bit, and on the pairing protocol (drivers sent "
    "one step early) it equals the reference exactly (docs/independent.md)")
_LOIHI_RATE_CODE = (
    "timing and neuron model: each example is held for the host-chip pipeline's latency "
    "(6 steps per projection) before its plastic steps, and PES learns on every 4th "
    "step from the chip's filtered pre trace; the reference under that schedule alone "
    "gives timing.corr_dW (0.91 FA, 0.82 DFA), and the rate code's spike noise, "
    "model.corr_dW (0.94 FA, 0.88 DFA), does the rest; deeper nets (DFA's h2) suffer "
    "most")
_LOIHI_BURST = (
    "neuron model: as the rate rows, and worse in the hidden layer (0.43; output 0.62): "
    "its PES error is the burst-probability deviation times the apical error, small "
    "against the error grid's step and carried on a rate-coded pre trace; timing "
    "explains a little (0.88), the model most (0.44). The declared approximations "
    "'on-chip rate code' and 'error grid' both act here; the split does not separate "
    "them further")
_LAVA_STDP_TIMING = (
    "timing: Lava's Dense delivers a spike one step late, so a presynaptic spike and the "
    "postsynaptic spike it causes fall one step apart on Lava (dt = +1: a+ e^(-dt/tau)) "
    "but in the same step on the textbook schedule (dt = 0: a+ - a-); spike-timing rules "
    "weigh exactly these causal pairs, and a reward task's decisions follow the spikes, so "
    "individual weight changes decorrelate. The whole departure is timing: the reference "
    "under Lava's schedule gives the same figure (m = 1.000), and the engine equals its "
    "emulator bit for bit")
_LAVA_STDP_FIXED = (
    "timing as in float (Lava's one-step Dense delay moves every causal pair from dt = 0 "
    "to dt = +1) and precision: 7-bit pre traces (impulse 16, stochastic decay), post "
    "traces sent as 7-bit integers, floor-shifted products and stochastic rounding of "
    "8-bit weights (a grid with room for 4x growth); the engine equals its emulator to "
    "0 LSB")

_LAVA_RSTDP_FIXED = (
    "timing and precision: as the other STDP rows in fixed point (the one-step Dense "
    "delay, 7-bit traces, floor-shifted products, stochastic rounding of 8-bit weights), "
    "and two more: the weight reads the tag before the step's update (one integer scale "
    "per y slot cannot carry the merged products, so the schedule says tag_read = "
    "'before' and t carries 1/8 of a pair per LSB), and with no y slot left the tag "
    "decays by 2^-7 per step (tau 0.127 s for 0.2 s, the declared tag_decay_scale); "
    "reward decisions follow the spikes, so weight changes decorrelate; the engine "
    "equals its emulator to 0 LSB")

EXPECTED_GAPS: dict = {
    ("delta · DFA · lif", "lava", "float", "textbook"):
        {"figures": {"corr_dW": 0.766}, "reason": _LAVA_TIMING},
    ("burstprop (spiking)", "lava", "float", "textbook"):
        {"figures": {"corr_dW": 0.834}, "reason": _LAVA_TIMING},
    ("delta · FA · lif", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": 0.564}, "reason": _LAVA_FIXED},
    ("delta · DFA · lif", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": 0.143}, "reason": _LAVA_FIXED},
    ("burstprop (spiking)", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": -0.038}, "reason": _LAVA_FIXED},
    ("delta · FA · lif", "nengo", "float", "textbook"):
        {"figures": {"corr_dW": 0.930, "timing.corr_dW": 0.930}, "reason": _NENGO_LIF},
    ("delta · DFA · lif", "nengo", "float", "textbook"):
        {"figures": {"corr_dW": 0.698, "timing.corr_dW": 0.759}, "reason": _NENGO_LIF},
    ("stdp (pair, all-to-all)", "nengo", "float", "textbook"):
        {"figures": {"corr_dW": 0.354, "timing.corr_dW": 0.204}, "reason": _NENGO_STDP},
    ("stdp_nearest", "nengo", "float", "textbook"):
        {"figures": {"corr_dW": 0.331, "timing.corr_dW": 0.259}, "reason": _NENGO_STDP},
    ("triplet_stdp", "nengo", "float", "textbook"):
        {"figures": {"corr_dW": 0.608, "timing.corr_dW": 0.642}, "reason": _NENGO_STDP},
    ("rstdp (reward, eligibility tag)", "nengo", "float", "textbook"):
        {"figures": {"corr_dW": 0.335, "timing.corr_dW": 0.319}, "reason": _NENGO_STDP},
    ("delta · FA · rate", "nengo-loihi", "float", "textbook"):
        {"figures": {"corr_dW": 0.850, "timing.corr_dW": 0.909},
         "reason": _LOIHI_RATE_CODE},
    ("delta · DFA · rate", "nengo-loihi", "float", "textbook"):
        {"figures": {"corr_dW": 0.753, "timing.corr_dW": 0.821},
         "reason": _LOIHI_RATE_CODE},
    ("burstprop_rate", "nengo-loihi", "float", "textbook"):
        {"figures": {"corr_dW": 0.428, "timing.corr_dW": 0.882}, "reason": _LOIHI_BURST},
    ("stdp (pair, all-to-all)", "lava", "float", "textbook"):
        {"figures": {"corr_dW": 0.204}, "reason": _LAVA_STDP_TIMING},
    ("stdp_nearest", "lava", "float", "textbook"):
        {"figures": {"corr_dW": 0.259}, "reason": _LAVA_STDP_TIMING},
    ("triplet_stdp", "lava", "float", "textbook"):
        {"figures": {"corr_dW": 0.328}, "reason": _LAVA_STDP_TIMING},
    ("rstdp (reward, eligibility tag)", "lava", "float", "textbook"):
        {"figures": {"corr_dW": 0.063}, "reason": _LAVA_STDP_TIMING},
    ("stdp (pair, all-to-all)", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": 0.009}, "reason": _LAVA_STDP_FIXED},
    ("stdp_nearest", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": 0.339}, "reason": _LAVA_STDP_FIXED},
    ("triplet_stdp", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": 0.047}, "reason": _LAVA_STDP_FIXED},
    ("rstdp (reward, eligibility tag)", "lava", "fixed", "textbook"):
        {"figures": {"corr_dW": 0.069}, "reason": _LAVA_RSTDP_FIXED},
}
