"""Grade backends against the one meaning of a spec, and the conformance grid."""

from .run import DEFAULT_STEPS, DEFAULT_TASK_EPOCHS, Report, compare  # noqa: F401
from .tiers import BOUNDS, Verdict  # noqa: F401
