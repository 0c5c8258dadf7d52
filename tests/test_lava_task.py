"""Task tier on Lava: the example specs trained on Lava (fused, the default of run)
and graded by the reference's evaluation reach the reference's accuracy.
Slow (minutes each): ``pytest -m slow tests/test_lava_task.py``."""

import importlib.util

import pytest

from neurolearn.backends.lava import run
from neurolearn.reference.simulator import run_time_stepped
from neurolearn.rules.io import load

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("lava") is None,
                                 reason="lava is not installed (pip install 'neurolearn[lava]')")]


def test_spiking_fa_digits_on_lava_within_2_points_of_the_reference(specs_dir):
    spec = load(specs_dir / "fa_digits_spiking.toml")
    lava = run(spec, time_limit=3000)
    ref = run_time_stepped(spec, quiet=True)
    print(f"lava {lava.test_accuracy:.4f} reference {ref.test_accuracy:.4f} "
          f"({lava.extra['ms_per_step']:.3f} ms/step on Lava)")
    assert lava.test_accuracy >= 0.90
    assert abs(lava.test_accuracy - ref.test_accuracy) <= 0.02


def test_fa_digits_on_lava_within_1_point_of_the_reference(specs_dir):
    spec = load(specs_dir / "fa_digits.toml")
    lava = run(spec, time_limit=3000)
    ref = run_time_stepped(spec, quiet=True)
    print(f"lava {lava.test_accuracy:.4f} reference {ref.test_accuracy:.4f} "
          f"({lava.extra['run_s']:.0f} s on Lava)")
    assert abs(lava.test_accuracy - ref.test_accuracy) <= 0.01
    assert lava.extra["run_s"] < 600
