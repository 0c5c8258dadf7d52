"""Hardware profiles, design-rule checks and the quantized reference.

Never imports lava or nengo. ``arith`` holds the integer primitives of Lava's
fixed-point learning engine; ``engine`` one whole fixed-point LearningDense built
from them, step by step; ``profile`` the profile schema and loader; ``check``
the design-rule and rule-mapping checks; ``quantized`` the reference trainer under
a profile's integer arithmetic.
"""

from .check import Report, Violation, check, format_report  # noqa: E402,F401
from .profile import Profile, builtin_names, load_profile  # noqa: E402,F401
