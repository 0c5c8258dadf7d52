"""Shared fixtures. Backend-specific fixtures live in their own test modules."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "examples" / "specs"


@pytest.fixture
def specs_dir():
    return SPECS
