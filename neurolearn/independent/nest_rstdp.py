"""The R-STDP protocol of :mod:`.rstdp` in NEST (extra ``nest``): NEST's own
``stdp_dopamine_synapse`` and ``volume_transmitter``.

Wiring (NEST's idiom for imposed spike times, as in :mod:`.nest_stdp`): spike
generators drive parrot neurons; plastic synapse k connects pre parrot k to port 1 of
post parrot k (which carries tau_minus); a dopamine parrot drives the volume
transmitter, whose ``deliver_interval`` is one step so that every synapse is brought
up to date (c, n and w propagated to the step's end) after every step. NEST is
simulated one step at a time and c, n, w are read after each.

Conventions (read from NEST's sources, checked by the tests):

- the plastic synapse's delay d is dendritic; as in :mod:`.nest_stdp` post spikes are
  sent d earlier (so the synapse sees the protocol's times);
- the volume transmitter stores a dopamine spike at the end of the step it is
  delivered in, i.e. one step after its parrot fired: the dopamine generator fires
  one step early, so that n jumps at the protocol's step;
- NEST's clock starts 100 time constants before the protocol (as in .nest_stdp);
- NEST's times are in ms, so its n (m / tau_n per spike) and b are per ms: n_NEST =
  n / 1000 and b_NEST = b / 1000 for n, b in 1/s; the product n dt, hence w, is the
  same.
"""

from __future__ import annotations

import numpy as np

from . import require
from .rstdp import DopaProtocol, DopaSTDP


def run(protocol: DopaProtocol, params: DopaSTDP, dt: float = 0.001,
        resolution: float | None = None, every: int = 1) -> dict:
    """{"c": (steps, n), "n": (steps,), "w": (steps, n)} read at the end of every
    ``every``-th step of the protocol (NEST time lead + (t + 1) dt; rows not read are
    NaN)."""
    nest = require("nest")
    ms = 1000.0
    h = (resolution or dt) * ms
    ratio = dt * ms / h
    if abs(ratio - round(ratio)) > 1e-9:
        raise ValueError("dt must be a multiple of NEST's resolution")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": h, "local_num_threads": 1, "print_time": False})
    n = protocol.n
    lead = round(100.0 * max(params.tau_plus, params.tau_minus) * ms / h) * h
    step = dt * ms
    pre = nest.Create("parrot_neuron", n)
    post = nest.Create("parrot_neuron", n, params={"tau_minus": params.tau_minus * ms})
    dopa = nest.Create("parrot_neuron")
    vt = nest.Create("volume_transmitter", params={"deliver_interval": 1})
    gen_pre = nest.Create("spike_generator", n)
    gen_post = nest.Create("spike_generator", n)
    gen_dopa = nest.Create("spike_generator")
    d = h  # the plastic synapse's (dendritic) delay
    for k in range(n):
        gen_pre[k].spike_times = (lead + protocol.pre[k] * step - h).tolist()
        gen_post[k].spike_times = (lead + protocol.post[k] * step - d - h).tolist()
    if len(protocol.dopa):
        gen_dopa.set(spike_times=(lead + protocol.dopa * step - 2 * h).tolist(),
                     spike_multiplicities=[int(m) for m in protocol.multiplicity],
                     allow_offgrid_times=False)
    nest.Connect(gen_pre, pre, "one_to_one", {"delay": h})
    nest.Connect(gen_post, post, "one_to_one", {"delay": h})
    nest.Connect(gen_dopa, dopa, syn_spec={"delay": h})
    nest.Connect(dopa, vt, syn_spec={"delay": h})
    nest.CopyModel("stdp_dopamine_synapse", "nl_dopa",
                   {"volume_transmitter": vt, "A_plus": params.a_plus,
                    "A_minus": params.a_minus, "tau_plus": params.tau_plus * ms,
                    "tau_c": params.tau_c * ms, "tau_n": params.tau_n * ms, "b": params.b / ms,
                    "Wmin": params.w_min, "Wmax": params.w_max})
    nest.Connect(pre, post, "one_to_one",
                 {"synapse_model": "nl_dopa", "receptor_type": 1, "delay": d,
                  "weight": protocol.w0})
    conns = nest.GetConnections(pre, post, synapse_model="nl_dopa")
    order = np.argsort(np.asarray(conns.source) - pre.tolist()[0])
    nest.Simulate(lead)
    out = {k: np.full((protocol.steps, n), np.nan) for k in ("c", "n", "w")}
    for t in range(every - 1, protocol.steps, every):
        nest.Simulate(step * every)
        st = conns.get(["c", "n", "weight"])
        out["c"][t] = np.asarray(st["c"], dtype=float)[order]
        out["n"][t] = np.asarray(st["n"], dtype=float)[order]
        out["w"][t] = np.asarray(st["weight"], dtype=float)[order]
    out["n"] = out["n"][:, 0] * ms  # NEST's n is per ms
    return out
