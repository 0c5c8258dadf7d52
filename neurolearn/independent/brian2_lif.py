"""The LIF problem of :mod:`.lif` written in Brian2 (extra ``brian2``).

Brian2 runs, each step, the slots of its schedule in order: ``start``, ``groups``
(state updaters), ``thresholds``, ``synapses`` (spike propagation), ``resets``,
``end``, each with automatic ``before_``/``after_`` slots. With that default order an
input spike of step t reaches the postsynaptic variable after step t's state update, one
step later than in the reference. So the input generator and its synaptic pathway are
moved to ``before_groups``, followed by the update of the "constant over dt" current J:

    before_groups:  input spikes of step t;  I_post += g w  (the trace x_hat, summed
                    over synapses); J = threshold + gain (I + b) frozen for the step
    groups:         exact integration, J constant: v <- J + (v - J) exp(-dt/tau_rc)
                    (unless refractory); I <- I exp(-dt/tau_syn)
    thresholds:     v >= threshold;  resets: v <- 0

which is the reference's recursion x_hat <- d x_hat + g s(t), J from the new x_hat.

Refractoriness: Brian2 lets a neuron that spiked at step s integrate again at step s+k
when k >= round(refractory/dt), counting the spike's own step; the reference clamps the
n_ref steps after the spike step. So Brian2's ``refractory`` is (n_ref + 1) dt.

Brian2 stamps a spike with the start of the step in which v crossed threshold, so a
spike at t = s dt is the reference's step s.
"""

from __future__ import annotations

import numpy as np

from . import require
from .lif import LIFProblem, spike_steps

TARGETS = ("numpy", "cython")


def lif_spikes(p: LIFProblem, target: str = "numpy") -> list[np.ndarray]:
    """Spike steps of ``p`` simulated by Brian2 with code-generation ``target``."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    b2 = require("brian2")
    net, mon = build(b2, p, target)
    net.run(p.steps * p.dt * b2.second, namespace={})
    steps = np.rint(np.asarray(mon.t / b2.second) / p.dt).astype(np.int64)
    return spike_steps(steps, np.asarray(mon.i), p.n_out)


def build(b2, p: LIFProblem, target: str = "numpy"):
    """(Network, SpikeMonitor) for ``p``; nothing global is touched but the target."""
    b2.prefs.codegen.target = target
    dt = p.dt * b2.second
    n = p.neuron
    eqs = """
    dv/dt = (J - v) / tau_rc : 1 (unless refractory)
    dI/dt = -I / tau_syn : 1
    J = thr + gain * (I + b) : 1 (constant over dt)
    b : 1 (constant)
    """
    consts = dict(tau_rc=n.tau_rc * b2.second, tau_syn=p.tau_syn * b2.second,
                  thr=float(n.threshold), gain=float(p.gain), ginc=p.trace_increment)
    group = b2.NeuronGroup(p.n_out, eqs, threshold="v >= thr", reset="v = 0",
                           refractory=(p.n_ref + 1) * dt, method="exact", dt=dt,
                           namespace=consts, name="lif")
    group.b = p.b
    idx, steps = p.input_events()
    n_in = p.spikes_in.shape[1]
    gen = b2.SpikeGeneratorGroup(n_in, idx, steps * dt, dt=dt, when="before_groups",
                                 order=0, name="inputs")
    syn = b2.Synapses(gen, group, "w : 1 (constant)", on_pre="I_post += ginc * w",
                      namespace=consts, dt=dt, name="weights")
    post, pre = np.meshgrid(np.arange(p.n_out), np.arange(n_in), indexing="ij")
    syn.connect(i=pre.ravel(), j=post.ravel())
    syn.w = p.W.ravel()  # synapse k = (post k // n_in, pre k % n_in), the order of W
    syn.pre.when, syn.pre.order = "before_groups", 1
    group.subexpression_updater.when = "before_groups"
    group.subexpression_updater.order = 2
    mon = b2.SpikeMonitor(group, name="spikes")
    return b2.Network(group, gen, syn, mon), mon
