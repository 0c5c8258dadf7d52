"""Lava Processes and ProcessModels of the neurolearn Lava backend.

Lava's ProcessModel discovery executes every ``.py`` file in the folder of a
Process's module, so this package holds only side-effect-free modules: keep it so.
Importing it imports lava: only the Lava child process does (see ../runner.py).
"""
