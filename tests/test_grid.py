"""The conformance grid runs with small settings and no cell is an unexplained error."""

from neurolearn import backends
from neurolearn.compare.grid import COLUMNS, ROWS, run_grid


def test_grid_has_no_unexplained_cell():
    grid = run_grid(steps=40, quiet=True)
    assert len(grid.cells) == len(ROWS) * len(COLUMNS)
    for (row, (backend, precision)), v in grid.cells.items():
        where = f"{row} on {backend} ({precision})"
        assert v.status != "error", f"{where}: {v.note}"
        if v.status in ("not supported", "not installed"):
            assert v.note, f"{where}: {v.status} without a reason"
        if backend == "numpy" and precision == "float":
            assert v.status == "pass", where  # the reference runs every rule
        if not backends.is_installed(backend):
            assert v.status == "not installed"
    md = grid.markdown()
    assert md.count("\n|") >= len(ROWS) + 1
