"""The reference under each backend's timing: one module per schedule.

A schedule module exposes ``simulate(spec, *, steps, precision="float", seed=None,
record_every=1, **options) -> Trace``: the NumPy reference run with that backend's
order of operations (delays, trace-then-learn, epoch sampling), so a backend can be
checked for exact equivalence. ``neurolearn.reference.simulator`` is the textbook
schedule.
"""
