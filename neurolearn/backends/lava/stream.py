"""The training stream a Lava run sees, step by step, exactly as the reference's
time-stepped runs present it (no lava import).

Examples in the order of :func:`neurolearn.reference.stream.example_order`, each
shown for k steps (inputs tiled to populations, spiking inputs encoded by the
reference's chunked encoder across the whole stream), grouped into the batches of
:func:`neurolearn.reference.simulator.batches_of`. Per step the source sends the
input, the target and four control values:

- ``teach``: 1 on the example's plastic steps (teacher and plasticity on);
- ``apply``: 1 on the last plastic step of a whole batch (its change is applied);
- ``n_batch``: the number of examples of the step's batch (eta's share per plastic
  step is 1 / (n_teach * n_batch));
- ``epoch_end``: 1 on the last step of a pass when eta decays after every pass;
- ``example_start``: 1 on an example's first step (a reward task forgets the
  previous example's decision, Network.begin_example).

The stream is built from the data set and a few integers, never stored as a whole:
a :class:`Cursor` produces step t from its own encoder state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...reference.simulator import Encoder, batches_of, tile_data
from ...reference.stream import example_order

CTRL = ("teach", "apply", "n_batch", "epoch_end", "example_start")


@dataclass
class Stream:
    x: np.ndarray            # training inputs, tiled to the input layer (n, n_in)
    y: np.ndarray            # targets, tiled to the output layer (n, n_out)
    order: np.ndarray        # example index per presented example
    batches: np.ndarray      # batch size per batch, in presentation order
    k: int                   # steps per example
    n_teach: int             # plastic steps per example
    steps: int               # steps to run
    sim: object              # the spec's Simulation node (encoding)
    seed: int
    spiking: bool
    apply_batches: bool      # schedule.apply == "batch"
    epoch_examples: int = 0  # examples per pass (0: no epoch_end flags)

    @property
    def n_ctrl(self) -> int:
        return len(CTRL)

    @property
    def n_in(self) -> int:
        return self.x.shape[1]

    @property
    def n_out(self) -> int:
        return self.y.shape[1]

    def cursor(self) -> "Cursor":
        return Cursor(self)


def training_stream(spec, dataset, steps: int, seed: int, k: int, n_teach: int,
                    k_in: int, k_out: int, apply_batches: bool,
                    epochs: int | None = None) -> Stream:
    """The stream of ``steps`` steps (``epochs`` whole passes when given: then
    eta's decay per pass is flagged)."""
    n = len(dataset.x_train)
    n_examples = -(-steps // k)
    order = example_order(n, n_examples, seed)
    batches = np.asarray(batches_of(n, spec.training.batch_size, n_examples), dtype=int)
    return Stream(tile_data(dataset.x_train, k_in), tile_data(dataset.y_train, k_out),
                  order, batches, k, n_teach, steps, spec.simulation, seed,
                  spec.network.spiking, apply_batches,
                  epoch_examples=n if epochs is not None and spec.training.lr_decay != 1.0
                  else 0)


class Cursor:
    """Step-by-step reader of a :class:`Stream` (steps must be read in order)."""

    def __init__(self, stream: Stream):
        self.s = stream
        self.t = 0
        self.enc = Encoder(stream.sim, stream.n_in, stream.seed) if stream.spiking else None
        # per presented example: its batch size, whether it ends a whole batch
        ends = np.cumsum(stream.batches)
        n_ex = len(stream.order)
        self.size = np.repeat(stream.batches, stream.batches)[:n_ex]
        last = np.zeros(n_ex, dtype=bool)
        last[ends[ends <= n_ex] - 1] = True
        # a batch is applied only when all its examples are shown in full
        whole_examples = stream.steps // stream.k
        last[whole_examples:] = False
        self.last = last

    def step(self):
        """(x, y, ctrl) of the next step: x (n_in,), y (n_out,), ctrl (5,)."""
        s, t = self.s, self.t
        self.t += 1
        e, i = divmod(t, s.k)
        idx = s.order[e]
        x = s.x[idx:idx + 1]
        if self.enc is not None:
            x = self.enc(x)
        teach = i >= s.k - s.n_teach
        apply = s.apply_batches and i == s.k - 1 and self.last[e]
        epoch_end = bool(s.epoch_examples) and i == s.k - 1 and (e + 1) % s.epoch_examples == 0
        ctrl = np.array([float(teach), float(apply), float(self.size[e]), float(epoch_end),
                         float(i == 0)])
        return x[0], s.y[idx], ctrl
