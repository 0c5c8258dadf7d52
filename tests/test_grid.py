"""The conformance grid: no cell outside tolerance unless it is listed as an expected
gap with its measured figure and reason, and every listed gap is still a gap."""

import pytest

from neurolearn import backends
from neurolearn.compare.expected import EXPECTED_GAPS
from neurolearn.compare.grid import COLUMNS, run_grid
from neurolearn.rules.catalog import ROWS

STEPS = 500  # the conformance run: 64-100-10, 500 steps


@pytest.fixture(scope="module")
def grid():
    return run_grid(steps=STEPS, quiet=True)


def test_every_cell_is_graded_or_refused_with_a_reason(grid):
    assert len(grid.rows) == len(ROWS)
    for (row, (backend, precision), check), v in grid.cells.items():
        where = f"{row} on {backend} ({precision}) {check}"
        assert v.status != "error" or (row, backend, precision, check) in EXPECTED_GAPS, \
            f"{where}: {v.note}"
        if v.status in ("not supported", "not installed"):
            assert v.note, f"{where}: {v.status} without a reason"
        if backend == "numpy" and precision == "float":
            assert v.status == "pass", where  # the reference runs every rule
        if not backends.is_installed(backend):
            assert v.status == "not installed", where


def test_no_unexplained_gap_and_listed_gaps_are_current(grid):
    unexplained = [f"{k}: {v.figures} {v.note}" for k, v, exp in grid.gaps() if exp is None]
    assert not unexplained, "\n".join(unexplained)
    for key, v, exp in grid.gaps():
        for name, value in exp["figures"].items():
            assert v.figures[name] == pytest.approx(value, abs=0.005), (key, name)
    seen = {(r, b, p, c) for (r, (b, p), c) in grid.cells}
    for key in EXPECTED_GAPS:
        row, backend, precision, check = key
        if (backend, precision) in COLUMNS and backends.is_installed(backend):
            assert key in seen, f"listed gap {key} is not a grid cell"
            v = grid.cells[(row, (backend, precision), check)]
            assert v.status in ("outside tolerance", "error"), \
                f"listed gap {key} now passes: remove it from compare/expected.py"


def test_markdown_page_lists_every_row(grid):
    md = grid.markdown()
    assert md.count("\n|") >= len(ROWS) + 1
    for row in grid.rows:
        assert f"| {row} |" in md
