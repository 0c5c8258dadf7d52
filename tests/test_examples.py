"""Every example runs to completion with tiny settings."""

import subprocess
import sys
from pathlib import Path

import pytest

from neurolearn import backends

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NEEDS = {"deploy_lava": ["lava"], "compare_backends": ["lava", "nengo"]}
EXPECT = {
    "custom_rule": "Oja: |w| = ",
    "digits_feedback_alignment": "fa_digits",
    "linear_teacher_alignment": "angle to backprop",
    "xor_burstprop": "burstprop_xor: ",
    "deploy_lava": "0 LSB apart",
    "compare_backends": "lava (fused)",
    "fashion_mnist": "FA: test accuracy",
}


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_runs(name, tmp_path):
    missing = [b for b in NEEDS.get(name, []) if not backends.is_installed(b)]
    if missing:
        pytest.skip(f"needs {missing}")
    if name == "fashion_mnist":
        from neurolearn.data.idx import DataNotFound, find_idx_dir
        try:
            find_idx_dir("fashion_mnist")
        except DataNotFound:
            pytest.skip("Debian's dataset-fashion-mnist is not installed")
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--tiny", "--out",
                           str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert EXPECT[name] in proc.stdout
    if name == "linear_teacher_alignment":
        assert (tmp_path / "linear_teacher_alignment.png").stat().st_size > 1000
