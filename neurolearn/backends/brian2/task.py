"""What the network is shown and told, step by step, on Brian2: the stream (examples,
plastic steps, batches) and the task (teacher, or action selection and reward).

Both are the reference's (:mod:`neurolearn.reference.simulator`): examples in the
order of :func:`~neurolearn.reference.stream.example_order`, each for k steps (the
last n_teach plastic), in batches of :func:`~neurolearn.reference.simulator.batches_of`,
spiking inputs from the reference's :class:`~neurolearn.reference.simulator.Encoder`;
the output error and the reward from :mod:`neurolearn.reference.signals`. Nothing here
imports brian2: the runtime's NetworkOperations call these objects.
"""

from __future__ import annotations

import numpy as np

from ...reference.reward import RewardState
from ...reference.simulator import Encoder, batches_of, tile_data
from ...reference.stream import example_order


class Plan:
    """The training stream of ``n_examples`` examples: per example its data index,
    its batch's size, whether it starts its batch and whether its last step ends a
    whole batch (an example cut short by the end of a run ends none)."""

    def __init__(self, spec, dataset, n_examples: int, seed: int, k: int, n_teach: int,
                 k_in: int = 1, k_out: int = 1, steps: int | None = None):
        n = len(dataset.x_train)
        self.k, self.n_teach = k, n_teach
        self.x = tile_data(dataset.x_train, k_in)
        self.y = tile_data(dataset.y_train, k_out)
        self.order = example_order(n, n_examples, seed)
        sizes = batches_of(n, spec.training.batch_size, n_examples)
        self.size = np.repeat(sizes, sizes)[:n_examples]
        ends = np.cumsum(sizes)
        starts = np.concatenate([[0], ends[:-1]])
        self.first = np.zeros(n_examples, dtype=bool)
        self.first[starts[starts < n_examples]] = True
        self.last = np.zeros(n_examples, dtype=bool)
        self.last[ends[ends <= n_examples] - 1] = True
        if steps is not None:
            self.last[steps // k:] = False
        self.encoder = Encoder(spec.simulation, self.x.shape[1], seed) \
            if spec.network.spiking else None

    def example(self, e: int):
        """(x, y) of presented example e: (1, width) arrays."""
        idx = self.order[e]
        return self.x[idx:idx + 1], self.y[idx:idx + 1]


class Task:
    """The output side of a step, as the reference forms it: without ``spec.reward``
    the teacher's error on plastic steps and none while settling; with a reward task,
    the reference's own :class:`~neurolearn.reference.reward.RewardState` (the
    decision from the settling readout, the reward, its prediction error against a
    running mean, and for loss ``reward`` the selected action's error). ``rewards``
    keeps the reward of every decision, in order."""

    def __init__(self, spec, seed: int, n_teach: int):
        self.state = RewardState(spec.reward, seed, n_teach, spec.simulation.dt,
                                 spec.training.loss) if spec.reward is not None else None
        self.rewards = []

    def begin_example(self):
        if self.state is not None:
            self.state.begin_example()

    def __call__(self, readout, y, err, teach: bool):
        """(global factors, the error the output is taught with) of this step."""
        if self.state is None:
            return {}, (err if teach else np.zeros_like(err))
        fresh = self.state.decision is None
        out = self.state.step(readout, y, err, teach)
        if fresh and self.state.decision is not None:
            self.rewards.append(float(self.state.decision[1][0, 0]))
        return out
