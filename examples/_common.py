"""Shared bits of the examples: paths and the --tiny switch the tests use."""

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPECS = HERE / "specs"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--tiny", action="store_true",
                   help="tiny settings (seconds): what the test suite runs")
    p.add_argument("--out", default=str(Path.cwd() / "example_out"),
                   help="folder for plots and reports")
    return p
