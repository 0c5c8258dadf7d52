"""The NumPy reference as a backend: batched trainer for rate networks, the
time-stepped simulator for spiking ones."""

from __future__ import annotations

from ...errors import UnsupportedRule

NAME = "numpy"
REFERENCE_SCHEDULE = None  # it is the reference (textbook schedule)


def capabilities() -> dict:
    return {
        "rules": "all (the reference defines their semantics)",
        "neuron_models": ["sigmoid", "tanh", "relu", "linear", "burst_rate", "lif", "burst"],
        "precisions": ["float", "fixed (with a hardware profile)"],
    }


def run(spec, *, precision: str = "float", epochs=None, quiet=None, profile=None,
        dataset=None, **options):
    mode = spec.training.mode
    if mode == "auto":
        mode = "time_stepped" if spec.network.spiking else "batched"
    if precision == "fixed":
        from ...hardware.quantized import train_quantized
        return train_quantized(spec, profile=profile, epochs=epochs, quiet=quiet,
                               dataset=dataset, **options)
    if precision != "float":
        raise UnsupportedRule(NAME, f"precision {precision!r}", "use float or fixed")
    if mode == "batched":
        from ...reference.trainer import train
        return train(spec, dataset=dataset, epochs=epochs, quiet=quiet, **options)
    from ...reference.simulator import run_time_stepped
    return run_time_stepped(spec, dataset=dataset, epochs=epochs, quiet=quiet, **options)


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, **options):
    """The textbook-schedule time-stepped run (neurolearn.reference.simulator)."""
    from ...reference.simulator import simulate as textbook
    return textbook(spec, steps=steps, precision=precision, seed=seed,
                    record_every=record_every, **options)
