"""Errors a user sees. Each names where the problem is and why, never a traceback."""

from __future__ import annotations


class NeurolearnError(Exception):
    """Base class for every error neurolearn raises on purpose."""


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
        parts = [p for p in (self.source, where) if p]
        return ": ".join(parts + [self.reason])


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
