"""Fashion-MNIST accuracy bars (slow: minutes per run; needs Debian's data package)."""

import pytest

from neurolearn.data.idx import DataNotFound, find_idx_dir
from neurolearn.reference import train
from neurolearn.rules import load

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name,bar", [("fa_fashion_mnist", 0.88), ("bp_fashion_mnist", 0.89)])
def test_fashion_mnist_bars(specs_dir, name, bar):
    try:
        find_idx_dir("fashion_mnist")
    except DataNotFound as err:
        pytest.skip(str(err))
    res = train(load(specs_dir / f"{name}.toml"), quiet=True)
    assert res.test_accuracy >= bar
