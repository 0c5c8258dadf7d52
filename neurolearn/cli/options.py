"""Option types that validate command-line values exactly like the spec fields
they override (same check, same limit, same message), at parse time."""

from __future__ import annotations

import argparse
import os

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


def _name_limits() -> tuple[int, int]:
    """(NAME_MAX, PATH_MAX) of the file system here; POSIX's usual 255 and 4096 where
    it does not say."""
    out = []
    for key, default in (("PC_NAME_MAX", 255), ("PC_PATH_MAX", 4096)):
        try:
            out.append(os.pathconf(".", key) or default)
        except (OSError, ValueError, AttributeError):
            out.append(default)
    return out[0], out[1]


def path(text: str) -> str:
    """An argparse ``type`` for every file or folder argument: a name the operating
    system refuses as too long (a part over NAME_MAX bytes, the whole over PATH_MAX)
    is a usage error naming the option, at parse time. Otherwise open() and stat()
    raise ENAMETOOLONG deep inside a command (even ``Path.exists()`` does, on
    Python 3.10), which read as a bug."""
    raw = os.fsencode(text)
    name_max, path_max = _name_limits()
    part = max(raw.split(b"/"), key=len)
    if len(part) > name_max:
        raise argparse.ArgumentTypeError(
            f"a file or folder name of {len(part):,} bytes in the path: longer than the "
            f"file system allows ({name_max})")
    if len(raw) >= path_max:
        raise argparse.ArgumentTypeError(
            f"a path of {len(raw):,} bytes: longer than the file system allows "
            f"({path_max - 1})")
    return text


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
