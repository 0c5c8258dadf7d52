"""Run a lowered Program on a given input raster instead of a data set's stream (no
lava import here): spike-timing protocols, where the input spikes are the
experiment.

The raster is one example whose every step is plastic; its change is applied after
its last step (a batch of one), as the reference's protocol harnesses apply the
summed change at the end. ``engine="runtime"`` runs the stock (or fused) lowering on
Lava in a child process (:mod:`.runner`), ``"emulator"`` its NumPy model
(:mod:`.emulator`); both return the same records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stream import CTRL


@dataclass
class RasterStream:
    """A Lava stream (:mod:`.stream`'s interface) reading spikes from ``x``."""
    x: np.ndarray            # (steps, n_in) input spikes
    n_out: int
    spiking: bool = True

    @property
    def n_in(self) -> int:
        return self.x.shape[1]

    @property
    def n_ctrl(self) -> int:
        return len(CTRL)

    @property
    def steps(self) -> int:
        return len(self.x)

    def cursor(self) -> "RasterCursor":
        return RasterCursor(self)


class RasterCursor:
    def __init__(self, stream: RasterStream):
        self.s, self.t = stream, 0

    def step(self):
        """(x, y, ctrl): plastic on every step, applied after the last, one example."""
        t, s = self.t, self.s
        self.t += 1
        ctrl = np.array([1.0, float(t == s.steps - 1), 1.0, 0.0, float(t == 0)])
        return s.x[t], np.zeros(s.n_out), ctrl


def run_raster(program, x, engine: str = "runtime", time_limit: float | None = 300.0) -> dict:
    """Records of ``program`` run on the raster ``x`` (steps, n_in): ``W_<l>`` and
    ``b_<l>`` after the last step (one record each, engine units), ``spk_<l>`` every
    step (l = 0 the input)."""
    stream = RasterStream(np.asarray(x, dtype=float), program.sizes[-1])
    at = [stream.steps - 1]
    if engine == "emulator":
        from .emulator import run_stream
        return run_stream(program, stream, at, spike_steps=stream.steps)
    if engine != "runtime":
        raise ValueError(f"engine must be 'runtime' or 'emulator', got {engine!r}")
    from .runner import run_job
    info = run_job({"program": program, "stream": stream, "record_steps": at,
                    "spike_steps": stream.steps}, time_limit)
    return info["arrays"]
