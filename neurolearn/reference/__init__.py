"""The NumPy reference (float64): the ground truth every backend is tested against."""

from .params import Params, init_params  # noqa: F401
from .trainer import BatchedTrainer, train  # noqa: F401
from . import phased  # noqa: F401,E402  (the trainer of specs with [[phases]])
