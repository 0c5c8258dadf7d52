"""Option types that validate command-line values exactly like the spec fields
they override (same check, same limit, same message), at parse time."""

from __future__ import annotations

import argparse

from ..errors import SpecError, shorten
from ..rules import limits
from ..rules.schema import field_check, int_in  # noqa: F401 (field_check: the CLI's)


def _int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {shorten(text)}") from None


def checked_int(check):
    """An argparse ``type`` for an integer passing ``check`` (a schema check)."""
    def parse(text):
        value = _int(text)
        reason = check(value)
        if reason:
            raise argparse.ArgumentTypeError(reason)
        return value
    return parse


def seconds(text):
    from ..deadline import validate
    try:
        return validate(text, "--time-limit")
    except SpecError as err:
        raise argparse.ArgumentTypeError(err.reason) from None


def steps_type():
    return checked_int(int_in(1, limits.MAX_STEPS, "limit MAX_STEPS"))


def time_limit_option(p):
    p.add_argument("--time-limit", metavar="SECONDS", type=seconds, default=None,
                   help="stop after this many seconds of wall-clock time (every backend; "
                        "exit status 124, every process of the run ended)")
