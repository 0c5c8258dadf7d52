"""Tiers, their bounds, and the verdict a check gets.

Three checks per backend (and variant):

- ``plumbing``: does the engine run exactly what our model of it predicts? The
  runtime against the backend's emulator (NumPy, bit-exact to the engine) on the
  same stream: tier ``exact`` (max |dW| <= 1e-12, float) or ``quantized-exact``
  (0 LSB, fixed point). A backend without an emulator whose arithmetic is the
  reference's (nengo, rate neurons) is checked against the reference run under its
  own schedule, at the exact tier.
- ``textbook``: how far does the engine's execution depart from the meaning? The
  emulator (or runtime) against the reference on the textbook schedule, tier
  ``statistical`` (corr(dW) >= 0.95 for every plastic layer), with the departure
  split into timing (the reference under the engine's schedule vs the textbook
  one) and what the engine does beyond that schedule: its neuron model and other
  declared approximations in float ("model"), or its arithmetic in fixed point
  ("precision": the fixed-point emulator vs the reference under the fixed-point
  Program's schedule), each as corr(dW) and the relative change
  ||dW_a - dW_b|| / ||dW_b||.
- ``task``: the backend trains on the data set at the compare budget and its test
  accuracy is within 1 point (rate networks) or 2 points (spiking) of the
  reference's at the same budget.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

EXACT_TOL = 1e-12
STAT_MIN_CORR = 0.95
TASK_MAX_GAP = {"rate": 0.01, "spiking": 0.02}

BOUNDS = {
    "exact": f"max |dW| <= {EXACT_TOL:g}",
    "quantized-exact": "0 LSB",
    "statistical": f"corr(dW) >= {STAT_MIN_CORR} (every plastic layer)",
    "task": "|accuracy gap| <= 1 point (rate), 2 points (spiking)",
}
STATUSES = ("pass", "outside tolerance", "error", "not supported", "not installed")


@dataclass
class Verdict:
    backend: str            # backend label, with its variant: "lava (stock)"
    check: str              # plumbing | textbook | task | reference
    against: str            # what it is graded against
    tier: str
    status: str             # one of STATUSES
    figures: dict = field(default_factory=dict)
    bound: str = ""
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict:
        return asdict(self)


def task_gap_bound(spec) -> float:
    return TASK_MAX_GAP["spiking" if spec.network.spiking else "rate"]
