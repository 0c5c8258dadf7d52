"""The ``neurolearn`` command. Each subcommand is a module with ``register(sub)``
that adds its parser and sets ``func(args) -> exit status``."""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import NeurolearnError

SUBCOMMANDS = ["rules", "run", "profiles", "check", "compare", "grid", "sweep", "export",
               "import"]


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__
    parser = argparse.ArgumentParser(
        prog="neurolearn",
        description="Describe a learning rule once; run it on NumPy, Lava and Nengo.")
    parser.add_argument("--version", action="version", version=f"neurolearn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            mod = importlib.import_module(f".{name}_cmd", __name__)
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{name}_cmd":
                continue  # subcommand not built yet
            raise
        mod.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NeurolearnError as err:
        print(f"neurolearn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.: not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"neurolearn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
