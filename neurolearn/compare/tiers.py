"""Equivalence tiers, their bounds, and which tier each backend is held to.

- exact: max |dW| <= 1e-12 over every record (Lava float: its schedule reference
  copies Lava's arithmetic, so the bound met is 0).
- quantized-exact: 0 LSB between integer weights (fixed point).
- statistical: weight-change correlation >= 0.95 and windowed final error within
  1.3x the reference's (spiking or quantising backends against a rate reference).
- task: |accuracy gap| <= 2 points between the backend's training run and the
  reference's, same spec and budget.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

EXACT_TOL = 1e-12
STAT_MIN_CORR = 0.95
STAT_MAX_ERROR_RATIO = 1.3
TASK_MAX_GAP = 0.02

BOUNDS = {
    "exact": f"max |dW| <= {EXACT_TOL:g}",
    "quantized-exact": "0 LSB",
    "statistical": f"corr(dW) >= {STAT_MIN_CORR}, error ratio <= {STAT_MAX_ERROR_RATIO}",
    "task": f"|accuracy gap| <= {100 * TASK_MAX_GAP:g} points",
}


@dataclass
class Verdict:
    backend: str
    reference: str
    tier: str
    status: str  # pass | outside tolerance | error | not supported | not installed
    figures: dict = field(default_factory=dict)
    bound: str = ""
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict:
        return asdict(self)


def expected_tier(backend: str, spec, precision: str, options: dict) -> str:
    if precision == "fixed":
        return "quantized-exact"
    if backend == "nengo-loihi":
        return "statistical"  # chip/host pipelining and Loihi quantisation
    if backend == "nengo" and (options.get("spiking") or spec.network.spiking):
        return "statistical"  # spiking neurons against the rate reference
    return "exact"
