"""Run the ``neurolearn`` command line inside the test process and classify what
came out: success, an answer, or one clear error line (never a traceback)."""

from __future__ import annotations

import contextlib
import io


class Outcome:
    def __init__(self, status, out, err, exc=None):
        self.status, self.out, self.err, self.exc = status, out, err, exc

    def problem(self, allowed=(0, 1, 2)) -> str | None:
        """Why this outcome is not "success or one clear error", or None."""
        if self.exc is not None:
            return f"exception escaped: {self.exc!r}"
        if "Traceback" in self.err:
            return "traceback:\n" + self.err[-3000:]
        if self.status not in allowed:
            return f"exit status {self.status}:\n{self.err[-3000:]}"
        if self.status == 2:
            lines = [ln for ln in self.err.splitlines() if ln.strip()]
            errs = [ln for ln in lines if ln.startswith("neurolearn")]
            if len(errs) != 1:
                return f"not one error line:\n{self.err[-3000:]}"
            if len(errs[0]) > 2500:
                return f"error line of {len(errs[0])} characters"
        return None


def run_cli(argv) -> Outcome:
    """``neurolearn ARGV`` in this process; stdout and stderr captured."""
    from neurolearn.cli import main
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([str(a) for a in argv])
    except SystemExit as e:  # argparse --help/--version
        return Outcome(e.code, out.getvalue(), err.getvalue())
    except BaseException as e:  # noqa: BLE001 - anything escaping main is a failure
        return Outcome(None, out.getvalue(), err.getvalue(), e)
    return Outcome(status, out.getvalue(), err.getvalue())


