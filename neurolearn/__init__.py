"""neurolearn: describe a biologically plausible learning rule once, run it on a NumPy
reference, Lava and Nengo, and measure where they depart."""

from .version import __version__  # noqa: E402,F401

from .api import load, run, run_members, run_seeds  # noqa: E402,F401
from .errors import NeurolearnError, SpecError  # noqa: E402,F401
from .rules import save  # noqa: E402,F401
