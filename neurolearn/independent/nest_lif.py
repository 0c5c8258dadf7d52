"""The LIF problem of :mod:`.lif` in NEST's ``iaf_psc_exp`` (extra ``nest``).

NEST's iaf_psc_exp (models/iaf_psc_exp.cpp, 3.x) does per step of length h, in order:

    V <- P22 V + P21 I_syn + P20 (I_e + I_0)       only if not refractory, else r -= 1
    I_syn <- P11 I_syn + (weights of the spikes arriving in this step)
    spike if V >= V_th: r <- t_ref/h, V <- V_reset; stamped with the step's *end*

with P22 = exp(-h/tau_m), P11 = exp(-h/tau_syn), P20 = tau_m/C_m (1 - P22) and
P21 = tau_m tau_syn / (C_m (tau_m - tau_syn)) (P22 - P11): the exact propagator of an
exponentially decaying current, integrated *within* the step. The reference instead
holds J over the step. On the grid both are linear recursions with the same decays, and
I_syn here plays x_hat there (one step behind: a spike read in step n drives V from step
n+1). The only difference is how much of the current enters V per step, P21 against
(1 - P22) R. So with

    E_L = V_reset = 0, V_th = threshold, C_m = tau_m (R = 1), I_e = threshold + gain b,
    t_ref = n_ref h, tau_syn_ex = tau_syn_in = tau_syn,
    weight_ij = gain W_ij g kappa,  kappa = (1 - P22) R / P21

NEST computes the reference's discrete system exactly (up to rounding). kappa is 1.051
for h = 1 ms, tau_m = 20 ms, tau_syn = 10 ms and tends to 1 as h -> 0: it is the
first-order difference between the two discretisations of the same continuous model.
``match_reference=False`` leaves kappa = 1, i.e. NEST's own exact integration of the
continuous model, for measuring how far the reference's discretisation is from it.

Grid and delays: a spike_generator spike at time T with delay D is read in step
T/h - 1 + D/h; the minimum delay is one step. The reference lets an input spike of step
t drive V in step t, which NEST reaches with T = (t + k0 - 1) h, D = h when NEST's
step n = t + k0 is the reference's step t. k0 = 2 keeps every T > 0. During NEST's first
k0 steps I_e is 0 (V stays 0); it is set before step k0. A NEST spike stamped T_out is
the reference's step T_out/h - 1 - k0.
"""

from __future__ import annotations

import numpy as np

from . import require
from .lif import LIFProblem, spike_steps

K0 = 2  # NEST steps before the reference's step 0


def kappa(tau_m: float, tau_syn: float, h: float) -> float:
    """(1 - P22) / P21 with R = 1 (all times in one unit; tau_m != tau_syn)."""
    p22, p11 = np.exp(-h / tau_m), np.exp(-h / tau_syn)
    p21 = tau_syn / (tau_m - tau_syn) * (p22 - p11)  # tau_m/C_m = 1
    return float(-np.expm1(-h / tau_m) / p21)


def lif_spikes(p: LIFProblem, match_reference: bool = True) -> list[np.ndarray]:
    """Spike steps of ``p`` simulated by NEST (one thread, resolution dt)."""
    n = p.neuron
    if abs(n.tau_rc - p.tau_syn) < 1e-9 * n.tau_rc:
        raise ValueError("tau_syn must differ from tau_rc: NEST's iaf_psc_exp propagator "
                         "is singular there")
    nest = require("nest")
    ms = 1000.0  # NEST works in ms
    h = p.dt * ms
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": h, "local_num_threads": 1, "print_time": False})
    tau_m, tau_s = n.tau_rc * ms, p.tau_syn * ms
    lif = nest.Create("iaf_psc_exp", p.n_out, params={
        "E_L": 0.0, "V_m": 0.0, "V_reset": 0.0, "V_th": float(n.threshold),
        "C_m": tau_m, "tau_m": tau_m, "tau_syn_ex": tau_s, "tau_syn_in": tau_s,
        "t_ref": p.n_ref * h, "I_e": 0.0})
    idx, steps = p.input_events()
    n_in = p.spikes_in.shape[1]
    gens = nest.Create("spike_generator", n_in)
    for j in range(n_in):
        gens[j].spike_times = ((steps[idx == j] + K0 - 1) * h).tolist()
    k = kappa(tau_m, tau_s, h) if match_reference else 1.0
    w = p.gain * p.W * p.trace_increment * k  # (n_out, n_in)
    post, pre = np.meshgrid(np.arange(p.n_out), np.arange(n_in), indexing="ij")
    src = np.asarray(gens.tolist())[pre.ravel()]
    tgt = np.asarray(lif.tolist())[post.ravel()]
    nest.Connect(src, tgt, "one_to_one", {"synapse_model": "static_synapse",
                                          "weight": w.ravel(), "delay": np.full(src.size, h)})
    rec = nest.Create("spike_recorder")
    nest.Connect(lif, rec)
    nest.Simulate(K0 * h)
    lif.I_e = (float(n.threshold) + p.gain * p.b).tolist()
    nest.Simulate(p.steps * h)
    ev = rec.events
    first = lif.tolist()[0]
    t_steps = np.rint(np.asarray(ev["times"]) / h).astype(np.int64) - 1 - K0
    return spike_steps(t_steps, np.asarray(ev["senders"]) - first, p.n_out)
