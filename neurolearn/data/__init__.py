"""Data sets: XOR, Lillicrap's linear teacher, scikit-learn digits, IDX files."""

from .datasets import Dataset, load_dataset  # noqa: F401
from .idx import find_idx_dir, load_idx  # noqa: F401
