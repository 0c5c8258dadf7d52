"""A wall-clock limit for a whole run, on every backend (``--time-limit``).

Inside ``with time_limit(seconds):`` two mechanisms stop the work:

- cooperative: :func:`check` raises :class:`TimeLimitExceeded` once the deadline
  has passed. Every training loop reports progress through
  ``neurolearn.progress.Progress``, which calls it between epochs; the Lava runner
  shortens its child's time-out to :func:`remaining`.
- a backstop for long epochs on any backend (a nengo epoch, one big NumPy step):
  in the main thread, SIGALRM fires at the deadline and raises the same error
  wherever Python is, so every ``finally`` (a Lava process group, a nengo
  Simulator, temporary folders) still runs. Where Python cannot propagate an
  exception (a weakref callback, ``__del__``, a garbage-collector callback) it
  hands it to ``sys.unraisablehook`` and carries on: the limit's hook then fires
  the alarm again a millisecond later, at the next point that can raise, so a
  swallowed alarm does not leave the rest of a long epoch unbounded.

TimeLimitExceeded is a BaseException (like KeyboardInterrupt), so no ``except
Exception`` of a backend or of ``compare`` turns it into a row of a report.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from contextlib import contextmanager

from .errors import SpecError, TimeLimitExceeded
from .rules import limits

_deadline: float | None = None
_seconds: float = 0.0


def remaining() -> float | None:
    """Seconds left, or None outside a time limit."""
    return None if _deadline is None else _deadline - time.monotonic()


def check(where: str = "") -> None:
    """Raise TimeLimitExceeded once the deadline has passed."""
    if _deadline is not None and time.monotonic() >= _deadline:
        raise TimeLimitExceeded(_seconds, where)


def validate(seconds, option: str = "--time-limit") -> float:
    """``seconds`` as a float, or a SpecError naming the option."""
    try:
        s = float(seconds)
    except (TypeError, ValueError, OverflowError):
        raise SpecError(f"must be a number of seconds, got {seconds!r}"[:120], option) from None
    if not math.isfinite(s) or s <= 0:
        raise SpecError(f"must be a positive number of seconds, got {seconds!r}"[:120],
                        option)
    if s > limits.MAX_TIME_LIMIT_S:
        raise SpecError(f"must be at most {limits.MAX_TIME_LIMIT_S:g} s (a year; limit "
                        f"MAX_TIME_LIMIT_S), got {s:g}", option)
    return s


def _alarm(signum, frame):
    raise TimeLimitExceeded(_seconds)


def _swallowed(previous):
    """An unraisablehook: a TimeLimitExceeded that Python had to drop fires again."""
    def hook(args):
        if isinstance(args.exc_value, TimeLimitExceeded) and _deadline is not None:
            signal.setitimer(signal.ITIMER_REAL, 1e-3)
            return
        previous(args)
    return hook


@contextmanager
def time_limit(seconds: float | None):
    """Bound the wall-clock time of the block (see the module docstring); None: no
    limit. Nested limits keep the earlier deadline."""
    global _deadline, _seconds
    if seconds is None:
        yield
        return
    seconds = validate(seconds)
    saved = (_deadline, _seconds)
    new = time.monotonic() + seconds
    if _deadline is None or new < _deadline:
        _deadline, _seconds = new, seconds
    main = threading.current_thread() is threading.main_thread()
    old_handler = old_hook = None
    if main:
        old_handler = signal.signal(signal.SIGALRM, _alarm)
        old_hook, sys.unraisablehook = sys.unraisablehook, _swallowed(sys.unraisablehook)
        signal.setitimer(signal.ITIMER_REAL, max(_deadline - time.monotonic(), 1e-3))
    try:
        yield
    finally:
        if main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
            sys.unraisablehook = old_hook
        _deadline, _seconds = saved
        if main and _deadline is not None:  # re-arm the outer limit's alarm
            signal.setitimer(signal.ITIMER_REAL, max(_deadline - time.monotonic(), 1e-3))
