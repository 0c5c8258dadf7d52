"""The ``neurolearn`` command. Each subcommand is a module with ``register(sub)``
that adds its parser and sets ``func(args) -> exit status``.

Exit status, every command: 0 success; 1 a negative answer (``check``: does not
fit; ``compare``/``grid``: a verdict outside tolerance); 2 bad input (spec,
profile, data folder, option, output location), printed as one line naming the
file or option, the field and the reason; 3 an internal error (a bug: traceback
and a request to report it); 124 ``--time-limit`` reached; 128 + N stopped by
signal N (130 Ctrl-C, 129 SIGHUP, 143 SIGTERM). See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys

from ..errors import NeurolearnError, Terminated, TimeLimitExceeded, cut

SUBCOMMANDS = ["rules", "run", "profiles", "check", "compare", "grid", "sweep", "export",
               "import"]
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_TIME_LIMIT = 124


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``neurolearn run: error: ...``)
    with exit status 2, like every other bad input."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {cut(message, 300)} (see: {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__
    parser = Parser(
        prog="neurolearn",
        description="Describe a learning rule once; run it on NumPy, Lava and Nengo.")
    parser.add_argument("--version", action="version", version=f"neurolearn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in SUBCOMMANDS:
        try:
            mod = importlib.import_module(f".{name}_cmd", __name__)
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{name}_cmd":
                continue  # subcommand not built yet
            raise
        mod.register(sub)
    return parser


def _raise_terminated(signum, frame):
    for sig in (signal.SIGTERM, signal.SIGHUP):  # a second signal must not cut cleanup
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        print(err, file=sys.stderr)
        return EXIT_BAD_INPUT
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    prog = f"neurolearn {args.command}"
    # SIGTERM and SIGHUP unwind like Ctrl-C, so every finally runs (a Lava group is
    # killed, its shared memory and job folder removed) before the process exits
    saved = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            saved[sig] = signal.signal(sig, _raise_terminated)
        except ValueError:  # not the main thread: leave signals alone
            pass
    try:
        return int(args.func(args) or 0)
    except NeurolearnError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except TimeLimitExceeded as err:
        print(f"{prog}: error: {err}; stopped, every process of the run ended",
              file=sys.stderr)
        return EXIT_TIME_LIMIT
    except Terminated as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 128 + err.signum
    except BrokenPipeError:  # output piped into head & co.: not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"{prog}: error: out of memory (the input asks for more than this machine "
              f"has; make the network or the data set smaller)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:
        if isinstance(err, OSError) and err.errno == errno.ENAMETOOLONG:
            # a name made from the input (a folder under --out named after the spec):
            # the path options themselves are checked at parse time (options.path)
            print(f"{prog}: error: {cut(str(err.filename))}: file name too long",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        # a bug: show it, but never with the status of an answer
        import traceback
        traceback.print_exc()
        print(f"{prog}: internal error (a bug in neurolearn; please report it with the "
              f"traceback above)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
