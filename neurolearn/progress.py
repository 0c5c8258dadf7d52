"""A dependency-free progress bar: drawn only on a terminal and when not quiet."""

from __future__ import annotations

import sys
import time

from . import deadline


class Progress:
    def __init__(self, total: int, label: str = "", quiet: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        if quiet is None:
            quiet = not getattr(self.stream, "isatty", lambda: False)()
        self.quiet = quiet
        self.total = max(int(total), 1)
        self.label = label
        self.n = 0
        self.t0 = time.perf_counter()
        self.info = ""
        deadline.check(label)

    def update(self, n: int = 1, info: str = ""):
        deadline.check(self.label)  # --time-limit, checked between epochs
        self.n += n
        if info:
            self.info = info
        if self.quiet:
            return
        frac = min(self.n / self.total, 1.0)
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        dt = time.perf_counter() - self.t0
        self.stream.write(f"\r{self.label} [{bar}] {self.n}/{self.total} {dt:6.1f}s "
                          f"{self.info}")
        self.stream.flush()

    def close(self):
        if not self.quiet:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
