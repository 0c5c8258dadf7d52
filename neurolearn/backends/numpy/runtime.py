"""Runs of the numpy backend: the reference itself."""

from __future__ import annotations

from .lower import lower, mode_of


def run(spec, *, precision: str = "float", epochs=None, quiet=None, profile=None,
        dataset=None, variant=None, time_limit=None, weight_headroom=None):
    """``weight_headroom``: fixed point, the weight grid's room for growth (None: the
    quantized trainer's default)."""
    lower(spec, precision, profile, variant)
    if precision == "fixed":
        from ...reference.quantized import train_quantized
        kw = {} if weight_headroom is None else {"weight_headroom": weight_headroom}
        return train_quantized(spec, profile=profile, epochs=epochs, quiet=quiet,
                               dataset=dataset, **kw)
    if mode_of(spec) == "phased":
        from ...reference.phased import train_phased
        return train_phased(spec, dataset=dataset, epochs=epochs, quiet=quiet)
    if mode_of(spec) == "batched":
        from ...reference.trainer import train
        return train(spec, dataset=dataset, epochs=epochs, quiet=quiet)
    from ...reference.simulator import run_time_stepped
    return run_time_stepped(spec, dataset=dataset, epochs=epochs, quiet=quiet)


def run_members(specs, seeds, *, precision: str = "float", epochs=None, quiet=None,
                profile=None, dataset=None, variant=None, time_limit=None,
                weight_headroom=None) -> list:
    """``run`` of each (spec, seed) member: time-stepped float specs that differ only
    in their learning rates (``rule.eta``, ``rule.eta_output``, ``training.lr_decay``,
    ``training.momentum``) and seed train as one vectorised run (one copy each, each bit-identical to its own
    run); anything else runs member by member."""
    from dataclasses import replace

    from ...reference.simulator import first_beyond_rates
    from ...reference.simulator import run_members as vectorised
    specs, seeds = list(specs), list(seeds)
    for spec in specs:
        lower(spec, precision, profile, variant)
    if precision == "float" and mode_of(specs[0]) == "time_stepped" and \
            first_beyond_rates(specs) is None:
        return vectorised(specs, seeds, dataset=dataset, epochs=epochs, quiet=quiet)
    return [run(spec.with_(training=replace(spec.training, seed=s)), precision=precision,
                epochs=epochs, quiet=quiet, profile=profile, dataset=dataset,
                variant=variant, time_limit=time_limit, weight_headroom=weight_headroom)
            for spec, s in zip(specs, seeds)]


def simulate(spec, *, steps, precision="float", seed=None, record_every=1, variant=None,
             dataset=None, time_limit=None, schedule=None):
    """The time-stepped run on the textbook schedule (or ``schedule``); a phased
    spec runs in the phased reference."""
    if mode_of(spec) == "phased":
        lower(spec, precision, None, variant)
        from ...reference.phased import simulate_phased
        return simulate_phased(spec, steps=steps, seed=seed, record_every=record_every,
                               dataset=dataset)
    from ...reference.schedule import TEXTBOOK
    from ...reference.simulator import simulate as textbook
    return textbook(spec, steps=steps, precision=precision, seed=seed,
                    record_every=record_every, dataset=dataset,
                    schedule=schedule or TEXTBOOK)
