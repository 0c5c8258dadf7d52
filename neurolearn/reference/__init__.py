"""The NumPy reference (float64): the ground truth every backend is tested against."""

from .params import Params, init_params  # noqa: F401
from .trainer import BatchedTrainer, train  # noqa: F401
