"""The phased face of the NumPy reference: rate networks trained in phases, in
batches. It is the meaning of every spec with ``[[phases]]`` (neurolearn.rules.phases).

**An example** starts from the *forward sweep* of its input (bottom-up, a_l = W_l
h_(l-1) + b_l, h_l = f(a_l); a pyramidal layer's soma at the steady state of its
basal input, its apical potential then read from the sweep; settling states at the
sweep's net inputs, clipped to their neuron's range; predictive coding's value
units at their predictions, so every error is 0). Nothing carries over from one
example to the next: the examples of a batch run side by side as rows. Then its
phases run in order, each for its ``steps`` steps of ``simulation.dt``:

- the input layer carries the example (``input``) or 0; a ``noise`` source draws
  N(0, std^2) per unit and step for its layers, replacing their activity or added
  to their net input, from ``default_rng([seed, 7, i])`` for the i-th training
  example of the run (evaluation: ``[seed, 8, i]``; probes: ``[seed, 9, i]``), drawn
  phase by phase, step by step, layer by layer in the order listed;
- with ``target`` the teacher is on: the output error exists (``error_drive`` as in
  the batched trainer, through each layer's feedback pathway) and the output is
  nudged by ``nudge`` (reference/dynamics.py);
- a step of feedforward dynamics is the forward pass above, every pyramidal soma
  integrating its dendrites over dt and every apical potential then reading its
  pathway; a step of equilibrium or predictive-coding dynamics moves every state
  by ``settle.step`` times its force (reference/dynamics.py), all layers from the
  same previous state; with ``settle.tol`` an example stops at the first step that
  moves none of its states by more than tol, and its state then holds for the
  phase's remaining steps.
- at a phase's end its snapshot (the last step's values) and its averages (means
  over the last ``window`` steps) of the signals the rule reads are recorded.

**Learning** (one meaning with the batched trainer and ``simulation.teach``): on
every step of a plastic phase the rule's sum of products is evaluated (terms.py)
with the step's signals; a rule that reads phase values is evaluated once per
plastic phase instead, after its last step. Each example contributes eta_l times
the mean of its evaluations; an update applies eta_l times the mean over the batch
through momentum (v = mu v + dW; W += v) after the batch's last example. A feedback
rule is evaluated on every step of its phase, pre = the pathway's source layer,
post = the layer, and B changes by its eta times the mean over the batch and the
phase's steps, with the same momentum. ``training.lr_decay`` scales the forward
rule's eta after every pass.

**Readout** (evaluation, the training history): the output at the end of the last
phase before the first phase with the teacher (the forward sweep if the first
phase has it): ``output_readout`` of its state and activity.

With phases equal to ``simulation.teach``'s and feedforward rate neurons this is
the batched trainer, update for update (tests/test_phased.py).
"""

from __future__ import annotations

import time
from collections import namedtuple

import numpy as np

from ..data import load_dataset
from ..errors import UnsupportedRule
from ..result import Trace
from ..rules.neurons import BurstRate, Pyramidal
from ..rules.phases import dynamics_of, feedback_rules, phases_of
from . import dynamics as D
from .signals import (error_drives, feedback_matrix, feedback_source, output_error,
                      output_readout)
from .stream import example_order
from .terms import rule_update
from .trainer import BatchedTrainer

NAME = "numpy"
TRAIN, EVAL, PROBE = 7, 8, 9  # noise generator keys: default_rng([seed, key, i])

# a factor as the sum of products sees it: its signal name is the key of the value
# it reads (signal, phase, phase_value), so one term may read a signal in two phases
_Bound = namedtuple("_Bound", "kind signal")
_BoundTerm = namedtuple("_BoundTerm", "factors coeff when")


def _key(f) -> str:
    at = "" if f.phase is None else f"@{f.phase}:{f.phase_value}"
    return f"{f.kind}.{f.signal}{at}"


def _bind(terms):
    return [_BoundTerm([_Bound(f.kind, f.signal if f.kind == "syn" else _key(f))
                        for f in t.factors], t.coeff, t.when) for t in terms]


def _reads(terms):
    """{key: factor} of the non-syn factors of ``terms``."""
    return {_key(f): f for t in terms for f in t.factors if f.kind != "syn"}


class _Stack:
    """The signals of a phase's plastic steps, stacked as rows: one sum of products
    over S steps of n examples (rule_update's mean over S n rows, times S) equals
    the sum of the S steps' batch means."""

    def __init__(self):
        self.pre, self.post, self.steps, self.single = {}, {}, 0, []

    def add(self, pre, post, weight=1):
        if weight != 1:  # a converged example's step standing for the rest
            self.single.append((pre, post, weight))
            return
        for side, new in ((self.pre, pre), (self.post, post)):
            for k, v in new.items():
                side.setdefault(k, []).append(v)
        self.steps += 1

    def flush(self):
        out = list(self.single)
        if self.steps:
            cat = [{k: np.concatenate(v) for k, v in side.items()}
                   for side in (self.pre, self.post)]
            out.append((cat[0], cat[1], self.steps))
        return out


def _add(acc, upd):
    if acc is None:
        return upd
    w, b = upd
    acc[0][...] += w
    if b is not None:
        acc[1][...] += b
    return acc


class _State:
    """The network of one batch of examples: per layer 0..L the net input or state
    ``a`` and activity ``h``; pyramidal apical potentials ``A``; predictive coding's
    predictions ``mu`` and errors ``e``; the error drives of the step."""

    def __init__(self, L):
        self.a = [None] * (L + 1)
        self.h = [None] * (L + 1)
        self.A = {}
        self.mu = [None] * (L + 1)
        self.e = [None] * (L + 1)
        self.deltas = None


class PhasedTrainer(BatchedTrainer):
    """Minibatch training of a phased spec (module docstring). Shares the batched
    trainer's parameters, learning rates, momentum and state protocol."""
    phased = True

    def __init__(self, spec, params=None):
        refuse_unsupported(spec)
        super().__init__(spec, params)
        net = self.net
        self.phases = phases_of(spec)
        self.dyn = dynamics_of(net).model
        self.pyr = [isinstance(n, Pyramidal) for n in self.neurons]
        self.src = {l: feedback_source(net, l) for l in range(1, self.L)}
        self.fb_rules = feedback_rules(spec)
        self.fb_terms = {l: _bind(r.resolved_terms()) for l, r in self.fb_rules.items()}
        self.fb_reads = {l: _reads(r.resolved_terms()) for l, r in self.fb_rules.items()}
        self.bound = _bind(self.terms)
        self.reads = _reads(self.terms)
        self.per_phase = any(f.phase is not None for f in self.reads.values())
        self.record = {}  # phase -> {(signal, phase_value)}
        for f in self.reads.values():
            if f.phase is not None and f.kind != "global":
                self.record.setdefault(f.phase, set()).add((f.signal, f.phase_value))
        self.examples = 0  # training examples seen (the noise generators' index)
        self.settled = {p.name: [0, 0] for p in self.phases}  # [steps taken, examples]
        first = next((i for i, p in enumerate(self.phases) if p.target), len(self.phases))
        self.free_phases = self.phases[:first]
        self.dt = spec.simulation.dt

    # -- the forward sweep and one step of each dynamics ---------------------------------
    def _sweep(self, x) -> _State:
        st = _State(self.L)
        p = self.params
        st.a[0] = st.h[0] = x
        for l in range(1, self.L + 1):
            a = st.h[l - 1] @ p.W[l - 1].T + p.b[l - 1]
            n = self.neurons[l]
            if self.pyr[l]:
                a = D.soma_rest(n, a)
            elif self.dyn == "equilibrium":
                a = D.bound_state(n, a)
            st.a[l], st.h[l] = a, n.f(a)
        for l in self._pyramidal():
            st.A[l] = self._apical(st, l)
        if self.dyn == "predictive_coding":
            for l in range(1, self.L + 1):
                st.mu[l] = st.a[l].copy()
                st.e[l] = np.zeros_like(st.a[l])
        return st

    def forward(self, x):
        """The forward sweep as (net inputs of layers 1..L, activities 0..L): what
        backprop differentiates (alignment)."""
        st = self._sweep(x)
        return st.a[1:], st.h

    def _pyramidal(self):
        return [l for l in range(1, self.L) if self.pyr[l]]

    def _apical(self, st, l):
        return st.h[self.src[l]] @ feedback_matrix(self.net, self.params, l).T

    def _feedforward_step(self, st, ph, x_in, y, noise, cache):
        p = self.params
        x0 = self._noisy(self._noisy(x_in, noise, 0, "replace"), noise, 0, "add")
        st.h[0] = st.a[0] = x0
        for l in range(1, self.L + 1):
            if l == 1 and "in" in cache:  # a clamped input drives layer 1 alike all phase
                net = cache["in"]
            else:
                net = st.h[l - 1] @ p.W[l - 1].T + p.b[l - 1]
                if l == 1 and 0 not in noise:
                    cache["in"] = net
            net = self._noisy(net, noise, l, "add")
            n = self.neurons[l]
            a = D.soma_step(n, st.a[l], net, st.A.get(l), self.dt) if self.pyr[l] else net
            xi = noise.get(l)
            h = xi[1] if xi is not None and xi[0] == "replace" else n.f(a)
            if l == self.L and ph.target and ph.nudge:
                h = D.nudge_activity(h, y, ph.nudge)
            st.a[l], st.h[l] = a, h
        for l in self._pyramidal():
            st.A[l] = self._apical(st, l)
        st.deltas = None
        return None

    def _noisy(self, v, noise, l, mode):
        xi = noise.get(l)
        if xi is None or xi[0] != mode:
            return v
        return xi[1] if mode == "replace" else v + xi[1]

    def _equilibrium_step(self, st, ph, y, active, cache):
        p, L, eps = self.params, self.L, ph.settle.step
        new = [None] * (L + 1)
        for l in range(1, L + 1):
            if l == 1:
                if "in" not in cache:
                    cache["in"] = st.h[0] @ p.W[0].T + p.b[0]
                drive = cache["in"]
            else:
                drive = st.h[l - 1] @ p.W[l - 1].T + p.b[l - 1]
            if l < L:
                drive = drive + st.h[l + 1] @ p.W[l]
            n = self.neurons[l]
            force = D.equilibrium_force(n, st.a[l], st.h[l], drive)
            if l == L and ph.target and ph.nudge:
                force = force + ph.nudge * D.output_delta(n, st.a[l], st.h[l], y,
                                                          self.loss_kind)
            new[l] = D.bound_state(n, st.a[l] + eps * force)
        return self._settle_update(st, new, active)

    def _coding_step(self, st, ph, y, active, cache):
        p, L, eps = self.params, self.L, ph.settle.step
        new = [None] * (L + 1)
        for l in range(1, L + 1):
            n = self.neurons[l]
            back = st.e[l + 1] @ p.W[l] if l < L else None
            force = D.value_force(n, st.a[l], st.h[l], st.e[l], back)
            if l == L and ph.target and ph.nudge:
                force = force + ph.nudge * D.output_delta(n, st.a[l], st.h[l], y,
                                                          self.loss_kind)
            new[l] = st.a[l] + eps * force
        moved = self._settle_update(st, new, active)
        for l in range(1, L + 1):
            if l == 1:
                if "in" not in cache:
                    cache["in"] = st.h[0] @ p.W[0].T + p.b[0]
                st.mu[l] = cache["in"]
            else:
                st.mu[l] = st.h[l - 1] @ p.W[l - 1].T + p.b[l - 1]
            st.e[l] = D.prediction_error(st.a[l], st.mu[l])
        return moved

    def _enter(self, st, x_in):
        """A settling phase begins: its input is clamped (and predictive coding's
        first predictions follow it)."""
        st.h[0] = st.a[0] = x_in
        if self.dyn == "predictive_coding":
            p = self.params
            st.mu[1] = x_in @ p.W[0].T + p.b[0]
            st.e[1] = D.prediction_error(st.a[1], st.mu[1])

    def _settle_update(self, st, new, active):
        """Moves the active rows to their new states; returns each row's largest move."""
        moved = np.zeros(len(active))
        for l in range(1, self.L + 1):
            d = np.abs(new[l] - st.a[l]).max(axis=1)
            moved = np.maximum(moved, d)
            if not active.all():
                new[l] = np.where(active[:, None], new[l], st.a[l])
            st.a[l] = new[l]
            st.h[l] = self.neurons[l].f(new[l])
        return np.where(active, moved, 0.0)

    # -- signals ----------------------------------------------------------------------
    def _error_drives(self, st, y):
        if st.deltas is None:
            y_hat = output_readout(st.a[self.L], st.h[self.L], self.loss_kind)
            fp = [self.neurons[l].fprime(st.a[l], st.h[l]) for l in range(1, self.L + 1)]
            st.deltas = error_drives(self.net, self.params, fp, output_error(y_hat, y),
                                     self.loss_kind)
        return st.deltas

    def _signal(self, st, signal, l, ph, y, raw=False):
        """The step's value of ``signal`` at layer l; ``raw``: what a phase average
        averages (a pyramidal plateau averages its apical potential)."""
        if signal == "activity":
            return st.h[l]
        if signal == "net_input":
            return st.a[l]
        if signal == "slope":
            return self.neurons[l].fprime(st.a[l], st.h[l])
        if signal == "plateau":
            if l in st.A:
                return st.A[l] if raw else D.plateau(st.A[l])
            return st.h[l]
        if signal == "error":
            return st.e[l]
        if signal == "error_drive":
            if not ph.target:  # no teacher, no error (as simulation.teach)
                return np.zeros_like(st.h[l])
            return self._error_drives(st, y)[l - 1]
        raise UnsupportedRule(NAME, f"signal {signal!r} in a phased spec",
                              "the phased reference does not compute it", "a spec "
                              "without phases")

    def _value(self, key, f, l, st, ph, y, records, n):
        if f.kind == "global":  # inv_nudge
            return np.full((n, 1), 1.0 / self._phase(f.phase).nudge)
        if f.phase is None:
            return self._signal(st, f.signal, l, ph, y)
        return records[f.phase][(f.signal, f.phase_value)][l]

    def _phase(self, name):
        return next(p for p in self.phases if p.name == name)

    def _sides(self, reads, lo, hi, st, ph, y, records, n):
        """(pre, post) signal dicts of the projection from layer lo to layer hi."""
        pre, post = {}, {}
        for key, f in reads.items():
            if f.kind == "pre":
                pre[key] = self._value(key, f, lo, st, ph, y, records, n)
            else:
                post[key] = self._value(key, f, hi, st, ph, y, records, n)
        return pre, post

    # -- one batch ----------------------------------------------------------------------
    def _noise(self, n, key, index0):
        """{phase name: (n, steps, units) draws} for examples index0.. (module docstring)."""
        widths = {p.name: cols[-1][1] + cols[-1][2]
                  for p in self.phases if p.noise is not None
                  for cols in [noise_columns(self.spec, p)]}
        if not widths:
            return {}
        out = {name: np.empty((n, self._phase(name).steps, w)) for name, w in widths.items()}
        for r in range(n):
            for name, draws in example_noise(self.spec, key, index0 + r).items():
                out[name][r] = draws
        return out

    def _noise_at(self, ph, draws, t):
        if ph.noise is None:
            return {}
        return {l: (ph.noise.mode, draws[ph.name][:, t, col:col + size])
                for l, col, size in noise_columns(self.spec, ph)}

    def _run(self, x, y, *, learn: bool, key: int = TRAIN, index0: int = 0):
        """Runs the phases on a batch. Learning: (dW, db, dB); else the state after
        the free phases (the readout)."""
        n, L = len(x), self.L
        st = self._sweep(x)
        draws = self._noise(n, key, index0)
        phases = self.phases if learn else self.free_phases
        records = {}
        plastic = [l for l in range(1, L + 1) if self.net.layers[l].plastic]
        acc = {l: None for l in plastic}
        fb_acc = {l: None for l in self.fb_rules}
        evals = 0
        zero = np.zeros_like(x)
        for ph in phases:
            x_in = x if ph.input else zero
            want = self.record.get(ph.name, set()) if learn else set()
            window = ph.window or ph.steps
            sums = {}
            active = np.ones(n, dtype=bool)
            cache = {}
            step_rule = learn and ph.plastic and not self.per_phase
            fb_here = [l for l, r in self.fb_rules.items() if learn and r.phase == ph.name]
            taken = np.zeros(n)
            stacks = {l: _Stack() for l in plastic} if step_rule else {}
            fb_stacks = {l: _Stack() for l in fb_here}
            if ph.settle is not None:
                self._enter(st, x_in)
            for t in range(ph.steps):
                taken += active
                if ph.settle is not None:
                    if self.dyn == "equilibrium":
                        moved = self._equilibrium_step(st, ph, y, active, cache)
                    else:
                        moved = self._coding_step(st, ph, y, active, cache)
                    if ph.settle.tol is not None:
                        active &= moved > ph.settle.tol
                else:
                    self._feedforward_step(st, ph, x_in, y, self._noise_at(ph, draws, t),
                                           cache)
                weight = 1
                if ph.settle is not None and ph.settle.tol is not None and not active.any():
                    weight = ph.steps - t  # the state holds for the remaining steps
                if t + weight > ph.steps - window:  # inside the averaging window
                    inside = min(weight, t + weight - (ph.steps - window))
                    for sig, kind in want:
                        if kind == "average":
                            for l in range(0 if sig in ("activity", "net_input") else 1,
                                           L + 1):
                                v = self._signal(st, sig, l, ph, y, raw=True) * inside
                                sums[(sig, l)] = v if (sig, l) not in sums else \
                                    sums[(sig, l)] + v
                if step_rule:  # stacked: one sum of products per phase (below)
                    for l in plastic:
                        stacks[l].add(*self._sides(self.reads, l - 1, l, st, ph, y,
                                                   records, n), weight)
                    evals += weight
                for l in fb_here:
                    fb_stacks[l].add(*self._sides(self.fb_reads[l], self.src[l], l, st,
                                                  ph, y, {}, n), weight)
                if weight > 1:
                    break
            for l, stack in stacks.items():
                for pre, post, scale in stack.flush():
                    b = self.params.b[l - 1] if self.net.layers[l].bias else None
                    w, db_ = rule_update(self.bound, pre, post, self.params.W[l - 1], b,
                                         scale=scale)
                    acc[l] = _add(acc[l], (w, db_))
            for l, stack in fb_stacks.items():
                for pre, post, scale in stack.flush():
                    w, _ = rule_update(self.fb_terms[l], pre, post, self.params.B[l],
                                       scale=scale)
                    fb_acc[l] = w if fb_acc[l] is None else fb_acc[l] + w
            if learn and key == TRAIN:
                self.settled[ph.name][0] += float(taken.sum())
                self.settled[ph.name][1] += n
            if want:
                rec = records[ph.name] = {}
                for sig, kind in want:
                    layers = range(0 if sig in ("activity", "net_input") else 1, L + 1)
                    if kind == "snapshot":
                        rec[(sig, kind)] = {l: self._signal(st, sig, l, ph, y)
                                            for l in layers}
                    else:
                        rec[(sig, kind)] = {l: self._mean(sig, l, sums[(sig, l)] / window)
                                            for l in layers}
            if learn and ph.plastic and self.per_phase:
                self._accumulate(acc, plastic, self.reads, self.bound, st, ph, y, records,
                                 n, 1)
                evals += 1
        self.last_state, self.last_records = st, records  # probes (signatures.py)
        if not learn:
            return st
        dW, db = [None] * L, [None] * L
        for l in plastic:
            if acc[l] is not None and evals:
                w, b = acc[l]
                dW[l - 1] = w * (self.eta[l - 1] / evals)
                db[l - 1] = None if b is None else b * (self.eta[l - 1] / evals)
        dB = {}
        for l, r in self.fb_rules.items():
            if fb_acc[l] is not None:
                dB[l] = fb_acc[l] * (r.eta / self._phase(r.phase).steps)
        return dW, db, dB

    def _mean(self, signal, l, mean):
        if signal == "plateau" and self.pyr[l] and l < self.L:
            return D.plateau(mean)  # the plateau of the mean apical potential
        return mean

    def _accumulate(self, acc, plastic, reads, bound, st, ph, y, records, n, weight):
        for l in plastic:
            pre, post = self._sides(reads, l - 1, l, st, ph, y, records, n)
            b = self.params.b[l - 1] if self.net.layers[l].bias else None
            acc[l] = _add(acc[l], rule_update(bound, pre, post, self.params.W[l - 1], b,
                                              scale=weight))

    # -- the batched trainer's interface --------------------------------------------------
    def compute_updates(self, x, y):
        key = PROBE if getattr(self, "_probing", False) else TRAIN
        dW, db, dB = self._run(x, y, learn=True, key=key,
                               index0=0 if key == PROBE else self.examples)
        return dW, db, dB, None

    def step(self, x, y):
        dW, db, dB, _ = self.compute_updates(x, y)
        self.apply(dW, db, dB)
        self.examples += len(x)
        self.updates += 1

    def predict(self, x):
        out = []
        for start in range(0, len(x), 1000):  # bounded memory on large test sets
            xb = x[start:start + 1000]
            st = self._run(xb, np.zeros((len(xb), self.net.sizes[-1])), learn=False,
                           key=EVAL, index0=start)
            out.append(output_readout(st.a[self.L], st.h[self.L], self.loss_kind))
        return np.concatenate(out)

    def alignment(self, x, y) -> list:
        self._probing = True
        try:
            return super().alignment(x, y)
        finally:
            self._probing = False

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["meta"]["examples"] = self.examples
        return state

    def load_state_dict(self, state: dict):
        super().load_state_dict(state)
        self.examples = int(state["meta"].get("examples", 0))

    def settle_steps(self) -> dict:
        """Mean steps each phase took per training example so far."""
        return {k: (v[0] / v[1] if v[1] else 0.0) for k, v in self.settled.items()}


def noise_columns(spec, phase) -> list:
    """[(layer index, first column, size)] of ``phase``'s noise draws: its layers in
    the order the source lists them, side by side."""
    names = [layer.name for layer in spec.network.layers]
    out, col = [], 0
    for name in phase.noise.layers:
        l = names.index(name)
        out.append((l, col, spec.network.layers[l].size))
        col += spec.network.layers[l].size
    return out


def example_noise(spec, key: int, index: int, seed: int | None = None) -> dict:
    """{phase name: (steps, units) draws} of one example: ``default_rng([seed, key,
    index])`` (key TRAIN, EVAL or PROBE; index the example's place in the run), phase
    by phase, step by step, the phase's layers side by side (:func:`noise_columns`),
    times the source's std (``seed``: the run's, default the spec's). Every engine
    that draws a phase's noise draws this."""
    rng = np.random.default_rng([spec.training.seed if seed is None else seed, key,
                                 index])
    out = {}
    for p in phases_of(spec):
        if p.noise is not None:
            width = sum(size for _, _, size in noise_columns(spec, p))
            out[p.name] = p.noise.std * rng.standard_normal((p.steps, width))
    return out


def refuse_unsupported(spec, backend: str = NAME) -> None:
    """What the phased reference cannot run, refused by name (numpy's lower calls it)."""
    from ..rules.phases import is_phased
    if not is_phased(spec):
        return
    net, rule = spec.network, spec.rule
    alt = "a spec without phases, or a rate network"

    def no(what, why, alternative=alt):
        raise UnsupportedRule(backend, what, why, alternative)
    if net.spiking:
        no("phases in a spiking network", "the phased reference runs rate networks; "
           "spiking neurons learn in simulation.teach's two phases (the time-stepped "
           "simulator)", "a rate network with phases, or simulation.teach")
    for l, layer in enumerate(net.layers[1:], start=1):
        if isinstance(layer.neuron, BurstRate):
            no(f"neuron model {layer.neuron.model!r} in a phased spec "
               f"(network.layers[{l}])", "burst probabilities are computed in "
               "simulation.teach's plastic window, not per phase")
        if l < len(net.layers) - 1 and net.feedback_of(l).kind == "learned":
            no(f"feedback kind 'learned' (Kolen-Pollack) in a phased spec (layer "
               f"{layer.name!r})", "its mirrored update is the batched trainer's; a "
               "phased spec learns B with network.feedback.rule")
    if spec.reward is not None or spec.training.loss == "reward":
        no("a reward task in a phased spec", "actions and rewards are drawn in "
           "simulation.teach's plastic window, not per phase")
    if rule.resolved_tag() is not None:
        no(f"rule {rule.display_name!r} (an eligibility tag) in a phased spec",
           "tags decay in time-stepped runs without phases")
    for f in rule.all_factors():
        if f.tau is not None or f.signal in ("activity_sq_avg", "event_trace",
                                             "burst_prob_dev"):
            no(f"rule {rule.display_name!r} factor {f} in a phased spec", "filtered "
               "and moving-average factors are not modelled per phase")
    if spec.training.mode == "time_stepped":
        no("training.mode = 'time_stepped' with phases", "the time-stepped simulator "
           "has one plastic window (simulation.teach); a phased spec runs in the "
           "phased reference, itself stepped in time", "training.mode = 'auto'")
    if spec.training.dtype != "float64":
        no(f"training.dtype = {spec.training.dtype!r} with phases", "the phased "
           "reference computes in float64", "training.dtype = 'float64'")


def train_phased(spec, dataset=None, epochs=None, quiet=None, params=None,
                 record_every=None, resume=None, on_epoch=None):
    """Train a phased spec (the batched trainer's loop with the phased trainer)."""
    from .trainer import train
    result = train(spec, dataset=dataset, epochs=epochs, quiet=quiet, params=params,
                   trainer_cls=PhasedTrainer, record_every=record_every, resume=resume,
                   on_epoch=on_epoch)
    result.extra["settle_steps"] = result.state.settle_steps()
    result.extra["mode"] = "phased"
    return result


def steps_per_example(spec) -> int:
    return sum(p.steps for p in phases_of(spec))


def simulate_phased(spec, *, steps: int, seed=None, record_every: int = 1, dataset=None,
                    params=None) -> Trace:
    """Learning on the training stream for the examples that fit in ``steps`` steps
    (whole examples; a batch cut short is applied). Records the plastic layers'
    weights after every update whose last step reaches a multiple of
    ``record_every``; ``extra["params"]`` holds the final parameters."""
    from .simulator import batches_of
    if seed is not None and seed != spec.training.seed:
        from dataclasses import replace
        spec = spec.with_(training=replace(spec.training, seed=seed))
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    k = steps_per_example(spec)
    n_examples = max(1, steps // k)
    order = example_order(len(ds.x_train), n_examples, spec.training.seed)
    tr = PhasedTrainer(spec, params)
    names = [layer.name for layer in spec.network.layers]
    plastic = [l for l in range(1, tr.L + 1) if spec.network.layers[l].plastic]
    rec_steps, rec_w = [], {names[l]: [] for l in plastic}
    t0 = time.perf_counter()
    pos = 0
    for size in batches_of(len(ds.x_train), spec.training.batch_size, n_examples):
        idx = order[pos:pos + size]
        tr.step(ds.x_train[idx], ds.y_train[idx])
        end = (pos + size) * k
        if end // record_every > pos * k // record_every or pos + size == n_examples:
            rec_steps.append(end - 1)
            for l in plastic:
                rec_w[names[l]].append(tr.params.W[l - 1].copy())
        pos += size
    return Trace(backend=NAME, schedule="phased", steps=np.asarray(rec_steps, dtype=int),
                 weights={k_: np.asarray(v) for k_, v in rec_w.items()},
                 wall_seconds=time.perf_counter() - t0,
                 extra={"params": tr.params, "settle_steps": tr.settle_steps()})


def rows_equivalence(spec, steps: int, dataset=None) -> float:
    """The largest |W| difference between the phased reference on the stream's
    batches (examples side by side as rows) and the same batches one example at a
    time (each update the mean of per-example updates): the examples of a batch do
    not interact (settling tolerances and noise are per example)."""
    from .simulator import batches_of
    ds = dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)
    n_examples = max(1, steps // steps_per_example(spec))
    order = example_order(len(ds.x_train), n_examples, spec.training.seed)
    rows, single = PhasedTrainer(spec), PhasedTrainer(spec)
    pos = 0
    for size in batches_of(len(ds.x_train), spec.training.batch_size, n_examples):
        idx = order[pos:pos + size]
        rows.step(ds.x_train[idx], ds.y_train[idx])
        parts = [single._run(ds.x_train[i:i + 1], ds.y_train[i:i + 1], learn=True,
                             index0=single.examples + j) for j, i in enumerate(idx)]
        mean = [[None if p[k][l] is None else p[k][l] for p in parts] for k in range(2)
                for l in range(single.L)]
        dW = [None if m[0] is None else sum(m) / size for m in mean[:single.L]]
        db = [None if m[0] is None else sum(m) / size for m in mean[single.L:]]
        dB = {l: sum(p[2][l] for p in parts) / size for l in parts[0][2]}
        single.apply(dW, db, dB)
        single.examples += size
        single.updates += 1
        pos += size
    diffs = [np.abs(a - b).max() for a, b in zip(rows.params.W, single.params.W)]
    diffs += [np.abs(rows.params.B[k] - single.params.B[k]).max() for k in rows.params.B]
    return float(max(diffs))
