"""Task: spiking feedback alignment trained on Lava (float, fused lowering) reaches
>= 90 % test accuracy on digits with rate-coded input, within 1 point of the
reference under Lava's schedule. Slow (about 3 x 150 s of Lava steps plus the
reference): ``pytest -m slow tests/test_lava_task.py``."""

import pytest

from neurolearn.backends import lava as backend
from neurolearn.data import load_dataset
from neurolearn.reference.schedules import lava as sched
from neurolearn.rules.io import loads

SPEC_TEXT = '''
name = "fa_lif_digits_lava"
description = "spiking FA 64-100-10 LIF on digits, regular rate-coded input"
[network]
layers = [{name="in", size=64},
          {name="hid", size=100, neuron={model="lif", tau_rc=0.01}},
          {name="out", size=10, neuron={model="lif", tau_rc=0.01}}]
init = {dist="uniform", scale=0.3}
feedback = {kind="random"}
[rule]
terms = [{factors=[{kind="pre", signal="activity", tau=0.01},
                   {kind="post", signal="error_drive"}]}]
eta = 0.001
[training]
epochs = 3
[simulation]
t_example = 0.1
max_rate = 200.0
'''


def spec():
    return loads(SPEC_TEXT)


@pytest.mark.slow
def test_spiking_fa_on_lava_reaches_90_percent_and_matches_reference():
    s = spec()
    ds = load_dataset(s.data)
    result = backend.run(s, lowering="fused", timeout=1200)
    # the reference under Lava's schedule, same stream, same gate
    x, y, g, n_train = sched.train_test_stream(s, ds, s.training.epochs, s.training.seed)
    _, rec, _ = sched.run_stream(s, x, y, g, record_every=len(x), spike_steps=0)
    ref_acc = sched.accuracy_from_outputs(rec.outputs[n_train:], ds.y_test,
                                          sched.steps_per_example(s.simulation), 2)
    print(f"lava {result.test_accuracy:.4f} reference {ref_acc:.4f}")
    assert result.test_accuracy >= 0.90
    assert abs(result.test_accuracy - ref_acc) <= 0.01
