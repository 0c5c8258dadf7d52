"""Deploy trained networks: checkpoints (save, resume, load), evaluation of a trained
network, NIR export and import. See docs/deploy.md."""

from .checkpoint import FORMAT, VERSION, is_checkpoint  # noqa: F401
from .trained import TrainedNetwork, load  # noqa: F401
