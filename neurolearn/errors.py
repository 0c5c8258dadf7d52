"""Errors a user sees. Each names where the problem is and why, never a traceback."""

from __future__ import annotations

import re
import reprlib

# An error is one readable line: an offending value (a 10 MB name, a 2,000-deep
# nesting) is shown cut to this many characters, a whole message to MESSAGE_CHARS.
VALUE_CHARS = 80
MESSAGE_CHARS = 1000

_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxstring = VALUE_CHARS
_repr.maxother = VALUE_CHARS
_repr.maxlong = 40
for _name in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset", "maxdeque",
              "maxarray"):
    setattr(_repr, _name, 6)


def cut(text: str, limit: int = VALUE_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis and the full length."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def shorten(value, limit: int = VALUE_CHARS) -> str:
    """The repr of an offending value, cut to a sane length whatever its size or
    depth (reprlib never recurses past a few levels; an int is not converted to
    its 5,000 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of {value.bit_length():,} bits"
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    try:
        return cut(_repr.repr(value), limit)
    except (RecursionError, ValueError):  # pragma: no cover - reprlib guards depth
        return f"a {type(value).__name__}"


_QUOTED = re.compile(r"'([^'\n]{%d})[^'\n]+'" % VALUE_CHARS)


def cut_quoted(message: str) -> str:
    """Cut every quoted value longer than VALUE_CHARS inside ``message`` (messages
    built with ``{value!r}`` anywhere in the code stay one readable line)."""
    return _QUOTED.sub(lambda m: f"'{m.group(1)}...' ({len(m.group(0)) - 2:,} characters)",
                       message)


class NeurolearnError(Exception):
    """Base class for every error neurolearn raises on purpose."""


class TimeLimitExceeded(BaseException):
    """``--time-limit`` (or :func:`neurolearn.deadline.time_limit`) ran out.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` of a
    backend or of ``compare`` turns it into a row of a report: the whole command
    stops, and every ``finally`` (Lava's process group, temporary folders) runs."""

    def __init__(self, seconds: float, where: str = ""):
        self.seconds = seconds
        self.where = where
        msg = f"time limit of {seconds:g} s reached"
        super().__init__(msg + (f" ({where})" if where else ""))


class Terminated(BaseException):
    """SIGTERM or SIGHUP reached the command: unwind (running every ``finally``)."""

    def __init__(self, signum: int):
        import signal
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


class SpecError(NeurolearnError, ValueError):
    """Invalid input: names the file, the field path and the reason.

    ``str(err)`` reads ``fa.toml: network.layers[1].size: must be a positive
    integer, got -3``.
    """

    def __init__(self, reason: str, path: str = "", source: str | None = None,
                 node: str | None = None):
        self.reason = reason
        self.path = path
        self.source = source
        self.node = node  # the node type, for a node constructed in Python
        super().__init__(self._render())

    def with_source(self, source: str | None) -> "SpecError":
        return SpecError(self.reason, self.path, source)

    def _render(self) -> str:
        where = f"{self.node}.{self.path}" if self.node and self.path else self.path
        parts = [cut(p, 200) for p in (self.source, where) if p]
        return cut(": ".join(parts + [cut_quoted(self.reason)]), MESSAGE_CHARS)


class BackendUnavailable(NeurolearnError):
    """A backend whose optional dependencies are not installed."""

    def __init__(self, backend: str, extra: str, cause: str = ""):
        self.backend = backend
        self.extra = extra
        msg = (f"backend '{backend}' is not installed: pip install 'neurolearn[{extra}]'")
        if cause:
            msg += f" ({cause})"
        super().__init__(msg)


class UnsupportedRule(NeurolearnError):
    """A rule or network a backend cannot run, with the reason and where it can run."""

    def __init__(self, backend: str, what: str, reason: str, alternative: str = ""):
        self.backend = backend
        self.what = what
        self.reason = reason
        self.alternative = alternative
        msg = f"{what} cannot run on {backend}: {reason}"
        if alternative:
            msg += f"; run it on {alternative}"
        super().__init__(msg)
