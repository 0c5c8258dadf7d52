"""Compare backends against the reference, grade by tier, and the conformance grid."""

from .run import Report, compare  # noqa: F401
from .tiers import BOUNDS, Verdict, expected_tier  # noqa: F401
