"""What the numpy backend runs: every rule in float; precision 'fixed' through the
quantized (batched) trainer of a hardware profile."""

from __future__ import annotations

from ...errors import UnsupportedRule
from ...reference.schedule import TEXTBOOK
from ..base import Program, require_float64

NAME = "numpy"


def mode_of(spec) -> str:
    from ...rules.phases import is_phased
    if is_phased(spec):
        return "phased"  # the phased reference (neurolearn.reference.phased)
    mode = spec.training.mode
    if mode == "auto":
        mode = "time_stepped" if spec.network.spiking else "batched"
    return mode


def lower(spec, precision: str = "float", profile=None, variant=None) -> Program:
    if precision not in ("float", "fixed"):
        raise UnsupportedRule(NAME, f"precision {precision!r}", "use float or fixed")
    if mode_of(spec) == "phased":
        from ...reference.phased import refuse_unsupported
        refuse_unsupported(spec, NAME)
        if precision == "fixed":
            raise UnsupportedRule(
                NAME, f"precision 'fixed' for phased spec {spec.name!r}", "the quantized "
                "reference is the batched trainer; phases, settling and compartments have "
                "no integer arithmetic yet", "numpy --precision float")
        return Program(NAME, precision, TEXTBOOK, variant)
    if mode_of(spec) != "batched":
        require_float64(spec, "numpy time-stepped simulator")
    if precision == "fixed":
        if spec.network.spiking or mode_of(spec) != "batched":
            raise UnsupportedRule(
                NAME, f"precision 'fixed' for {'spiking' if spec.network.spiking else 'time-stepped'} "
                f"spec {spec.name!r}", "the quantized reference is the batched trainer "
                "under a profile's integer arithmetic", "lava --precision fixed (spiking) "
                "or numpy --precision fixed with a rate network in batched mode")
        from ...reference.quantized import check_quantizable
        check_quantizable(spec)
    return Program(NAME, precision, TEXTBOOK, variant)
