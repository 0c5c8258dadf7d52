"""A reward task's state during a time-stepped run (spec.reward): the decision, the
reward and the running mean of past rewards.

One object per network (:class:`neurolearn.reference.simulator.Network` holds one;
an engine that computes the reward in its output population holds its own, so both
run the same code). Per example, at its first plastic step, an action is selected
from the mean readout over the settling steps (or the step's readout when there
were none) with ``default_rng([seed, 6])``; global.reward carries r on the plastic
steps from ``reward.delay`` after the decision, global.rpe carries r - r_bar (r_bar
before this example's reward enters it).
"""

from __future__ import annotations

import numpy as np

from .signals import reward_error, reward_of, select_action


class RewardState:
    def __init__(self, reward, seed: int, teach_steps: int, dt: float, loss: str):
        self.reward = reward
        self.teach_steps = teach_steps
        self.dt = dt
        self.loss = loss
        self.rng = np.random.default_rng([seed, 6])
        self.r_bar = 0.0  # running mean of rewards (global.rpe)
        self.begin_example()

    @property
    def decision(self):
        """[action, r, rpe, steps since] of the current example (None before its
        decision)."""
        return self._decision

    def begin_example(self):
        """A new example: forget the previous one's decision."""
        self._decision = None
        self._settle_sum = None
        self._settle_n = 0

    def step(self, readout, y, err, teach: bool):
        """(global signals {"reward", "rpe"}: (n, 1) each, the error the output is
        taught with): none while settling; for loss 'reward' the selected action's
        reward prediction error, else the teacher's error."""
        no_teacher = np.zeros_like(err)
        if not teach:  # settling: the readout the decision will be made from
            self._settle_sum = readout.copy() if self._settle_sum is None else \
                self._settle_sum + readout
            self._settle_n += 1
            zero = np.zeros((len(readout), 1))
            return {"reward": zero, "rpe": zero}, no_teacher
        if self._decision is None:
            seen = readout if not self._settle_n else self._settle_sum / self._settle_n
            action = select_action(seen, self.reward, self.rng)
            r = reward_of(action, y, self.reward)
            rpe = r - self.r_bar
            keep = np.exp(-self.teach_steps * self.dt / self.reward.baseline_tau)
            self.r_bar = keep * self.r_bar + (1.0 - keep) * float(np.mean(r))
            self._decision = [action, r[:, None], rpe[:, None], 0]
        action, r, rpe, since = self._decision
        self._decision[3] += 1
        on = since * self.dt >= self.reward.delay - 1e-12
        glob = {"reward": r if on else np.zeros_like(r),
                "rpe": rpe if on else np.zeros_like(rpe)}
        if self.loss == "reward":
            return glob, reward_error(readout, action, r[:, 0]) if on else no_teacher
        return glob, err
