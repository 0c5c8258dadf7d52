"""The same STDP or R-STDP protocol measured on one simulator, chosen by name: the
reference, Lava, Brian2 or NEST (their harnesses import the simulator only when run).
The dispatch lives here, above the harnesses, so no harness imports another."""

from __future__ import annotations

import numpy as np

from . import brian2_stdp, nest_stdp
from .rstdp import DopaProtocol, DopaSTDP, reference_run
from .stdp import Pairing, PairSTDP, check_kind, curve_protocol, reference_weight_changes


def weight_changes(simulator: str, pairings: list[Pairing], params, kind: str = "pair",
                   dt: float = 0.001, **kw) -> np.ndarray:
    """Weight change per pairing from ``simulator``: 'reference', 'lava', 'nengo'
    (the nengo backend's lowering on nengo.Simulator), 'brian2' (the hand-written
    textbook synapse), 'brian2-backend' (the rule IR lowered by the Brian2 backend) or
    'nest';
    ``kind`` is 'pair', 'nearest' or 'triplet' (the reference runs pair and triplet)."""
    check_kind(kind, params)
    if simulator == "reference":
        return reference_weight_changes(pairings, params, dt, kind=kind, **kw)
    if simulator == "brian2-backend":  # the rule IR lowered by the Brian2 backend
        from .stdp import backend_weight_changes
        return backend_weight_changes(pairings, params, dt, kind=kind, **kw)
    if simulator == "lava":
        from .lava_stdp import weight_changes as run
    elif simulator == "nengo":
        from .nengo_stdp import weight_changes as run
    elif simulator == "brian2":
        run = brian2_stdp.weight_changes
    elif simulator == "nest":
        run = nest_stdp.weight_changes
    else:
        raise ValueError("simulator must be 'reference', 'lava', 'nengo', 'brian2', "
                         f"'brian2-backend' or 'nest', got {simulator!r}")
    return run(pairings, params, kind, dt, **kw)


def pairing_curve(simulator: str, params: PairSTDP = PairSTDP(), dt: float = 0.001,
                  span: float = 0.100, **kw):
    """(intervals in s, weight change) of single pairs from -span to +span in steps of
    dt: the classic STDP pairing curve, all-to-all pair STDP."""
    k = int(round(span / dt))
    intervals = np.arange(-k, k + 1) * dt
    return intervals, weight_changes(simulator, curve_protocol(intervals, dt,
                                                               t_post=span + 0.05),
                                     params, "pair", dt, **kw)


def rstdp_weight_changes(simulator: str, protocol: DopaProtocol,
                         params: DopaSTDP = DopaSTDP(), dt: float = 0.001, **kw) -> dict:
    """{"c", "n", "w"} per step (after it) of dopamine-modulated STDP from 'reference'
    or 'nest' (stdp_dopamine_synapse)."""
    if simulator == "reference":
        return reference_run(protocol, params, dt, **kw)
    if simulator == "nest":
        from .nest_rstdp import run
        return run(protocol, params, dt, **kw)
    raise ValueError(f"simulator must be 'reference' or 'nest', got {simulator!r}")
