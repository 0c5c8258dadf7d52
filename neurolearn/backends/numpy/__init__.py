"""The NumPy reference as a backend: the meaning of a spec, on the textbook schedule.

Rate networks train with the batched trainer (``training.mode = "auto"`` or
``"batched"``) or the time-stepped simulator (``"time_stepped"``); spiking networks
with the time-stepped simulator. ``precision = "fixed"`` runs the quantized
trainer (a hardware profile's integer arithmetic, neurolearn.reference.quantized).
"""

from __future__ import annotations

from ...reference.schedule import TEXTBOOK
from ..base import Backend
from .lower import lower  # noqa: F401
from .runtime import run, run_members, simulate  # noqa: F401

BACKEND = Backend(
    name="numpy", package=__name__, extra="core", requires=None, emulator=False,
    schedule=TEXTBOOK, precisions=("float", "fixed"),
    summary="the reference: batched trainer, time-stepped simulator, quantized trainer")
