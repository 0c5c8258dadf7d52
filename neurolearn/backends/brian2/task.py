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

from ...reference.signals import reward_error, reward_of, select_action
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
    """The output side of a step, as the reference forms it (its ``_reward_step``):
    without ``spec.reward`` the teacher's error on plastic steps and none while
    settling; with a reward task, an action selected at the first plastic step from
    the readout averaged over the settling steps (``default_rng([seed, 6])``), the
    reward, its prediction error against a running mean, and for loss ``reward`` the
    selected action's error (BrainProp)."""

    def __init__(self, spec, seed: int, n_teach: int):
        self.reward = spec.reward
        self.loss = spec.training.loss
        self.dt = spec.simulation.dt
        self.n_teach = n_teach
        self.rng = np.random.default_rng([seed, 6])
        self.r_bar = 0.0
        self.rewards = []   # the reward of every decision, in order
        self.begin_example()

    def begin_example(self):
        self.decision = None
        self.settle_sum = None
        self.settle_n = 0

    def __call__(self, readout, y, err, teach: bool):
        """(global factors, the error the output is taught with) of this step."""
        no_teacher = np.zeros_like(err)
        if self.reward is None:
            return {}, (err if teach else no_teacher)
        if not teach:
            self.settle_sum = readout.copy() if self.settle_sum is None else \
                self.settle_sum + readout
            self.settle_n += 1
            zero = np.zeros((len(readout), 1))
            return {"reward": zero, "rpe": zero}, no_teacher
        if self.decision is None:
            seen = readout if not self.settle_n else self.settle_sum / self.settle_n
            action = select_action(seen, self.reward, self.rng)
            r = reward_of(action, y, self.reward)
            rpe = r - self.r_bar
            keep = np.exp(-self.n_teach * self.dt / self.reward.baseline_tau)
            self.r_bar = keep * self.r_bar + (1.0 - keep) * float(np.mean(r))
            self.decision = [action, r[:, None], rpe[:, None], 0]
            self.rewards.append(float(r[0]))
        action, r, rpe, since = self.decision
        self.decision[3] += 1
        on = since * self.dt >= self.reward.delay - 1e-12
        glob = {"reward": r if on else np.zeros_like(r),
                "rpe": rpe if on else np.zeros_like(rpe)}
        if self.loss == "reward":
            return glob, reward_error(readout, action, r[:, 0]) if on else no_teacher
        return glob, err
