"""The nengo-loihi runtime: the PES composition of a :class:`~.lower.LoihiProgram`
built as a nengo network and run on nengo-loihi's emulator (``target`` = the
Program's variant). Global nengo defaults are never touched (no
``nengo_loihi.set_defaults``): initial voltages are set per neuron type."""

from __future__ import annotations

import time
import warnings
from dataclasses import replace

import nengo
import nengo_loihi
import numpy as np

from ...data import load_dataset
from ...errors import UnsupportedRule
from ...progress import Progress
from ...reference.params import Params, init_params
from ...reference.signals import (burst_prob_devs, error_drives, output_error,
                                  output_readout)
from ...reference.simulator import population_factors
from ...reference.trainer import BatchedTrainer
from ...result import RunResult, Trace, add_history_row, new_history
from ..nengo.frontend import ExampleStream
from ..nengo.ops import N_BATCH, N_FLAGS, PASS, PLASTIC
from .lower import (DECODE_TAU, ERROR_RANGE, LEARN_EPOCH, NAME, OUT_TAU, RELAY_GAIN,
                    balanced_scales, lower)


def _zero_start():
    return nengo.SpikingRectifiedLinear(initial_state={"voltage": nengo.dists.Choice([0.0])})


def _random_phase():
    """The host's rate code: phases drawn from the network seed, so units of equal
    activity do not spike in step (their sum is then a better rate estimate)."""
    return nengo.SpikingRectifiedLinear(initial_state={"voltage": nengo.dists.Uniform(0.0, 1.0)})


class Composition:
    """The nengo network of a Program over a stream, and what reads it back."""

    def __init__(self, program, params, x, y, n_examples, seed, *, decay):
        self.program = program
        prog, spec = program, program.spec
        L, sizes, R = prog.L, prog.sizes, prog.rate
        net_spec = spec.network
        neurons = [layer.neuron for layer in net_spec.layers]
        self.stream = ExampleStream(x, y, prog, n_examples, seed, decay=decay)
        self.state = {"sent": 0, "clipped": 0}
        self.D0, self.conns = {}, {}
        fixed_b = [params.b[l] if prog.bias[l] == "fixed" else np.zeros(sizes[l + 1])
                   for l in range(L)]
        B = {l: m.copy() for l, m in params.B.items()}
        n_in, n_out = sizes[0], sizes[-1]
        with nengo.Network(seed=seed, label=spec.name) as net:
            nengo_loihi.add_params(net)
            stream = nengo.Node(self.stream, label="stream")
            # what each pre population carries: [h+ (, h-) (, 1)]
            codes = []
            for l in range(L):
                def code(t, h, l=l):
                    parts = [np.maximum(h, 0.0)]
                    if prog.codes[l] == "signed":
                        parts.append(np.maximum(-h, 0.0))
                    if prog.bias[l] == "learned":
                        parts.append(np.full(1, prog.unit_level[l]))
                    return np.concatenate(parts)
                codes.append(code)
            layer_nodes = []
            src = nengo.Node(lambda t, v: codes[0](t, v), size_in=n_in, label="code0")
            nengo.Connection(stream[:n_in], src, synapse=None)
            for l in range(1, L + 1):
                n_pre = prog.n_pre[l - 1]
                host = nengo.Ensemble(n_pre, 1, neuron_type=_random_phase(),
                                      gain=np.full(n_pre, R), bias=np.zeros(n_pre),
                                      label=f"rate{l - 1}")
                net.config[host].on_chip = False
                chip = nengo.Ensemble(n_pre, 1, neuron_type=_zero_start(),
                                      gain=np.full(n_pre, RELAY_GAIN), bias=np.zeros(n_pre),
                                      label=f"chip{l - 1}")
                nengo.Connection(src, host.neurons, synapse=None)
                nengo.Connection(host.neurons, chip.neurons, synapse=None)
                D = self._decoders(params, l)
                self.D0[l] = D
                n = sizes[l]

                def layer_f(t, dec, l=l):
                    a = prog.s[l - 1] * dec + fixed_b[l - 1]
                    h = neurons[l].f(a)
                    return np.concatenate([a, codes[l](t, h)]) if l < L else a

                size_out = n + (prog.n_pre[l] if l < L else 0)
                node = nengo.Node(layer_f, size_in=n, size_out=size_out, label=f"layer{l}")
                learn = nengo.PES(prog.kappa[l - 1],
                                  pre_synapse=nengo.Lowpass(prog.pre_tau_steps * prog.dt)) \
                    if prog.plastic[l - 1] else None
                self.conns[l] = nengo.Connection(
                    chip, node, function=lambda v, n=n: np.zeros(n),
                    solver=nengo.solvers.NoSolver(D, weights=False), synapse=OUT_TAU,
                    learning_rule_type=learn, label=f"learn{l}")
                layer_nodes.append(node)
                if l < L:
                    src = node[n:]
            offs = np.cumsum([0] + sizes[1:])
            post = nengo.Node(self._post_factors(neurons, B, offs), size_in=offs[-1] + n_out
                              + N_FLAGS, size_out=offs[-1], label="post")
            for l in range(1, L + 1):
                nengo.Connection(layer_nodes[l - 1][:sizes[l]], post[offs[l - 1]:offs[l]],
                                 synapse=None)
            nengo.Connection(stream[n_in:], post[offs[-1]:], synapse=None)
            for l in range(1, L + 1):
                if self.conns[l].learning_rule is not None:
                    nengo.Connection(post[offs[l - 1]:offs[l]], self.conns[l].learning_rule,
                                     synapse=None)
            self.out_probe = nengo.Probe(layer_nodes[-1][:n_out], synapse=None)
        self.network = net
        self.params0 = params

    def _decoders(self, params, l):
        """D (n_pre, n_l): W^T / (R s) for on neurons, -W^T / (R s) for off ones, the
        bias / (R s) for the unit."""
        prog = self.program
        scale = prog.rate * prog.s[l - 1]
        parts = [params.W[l - 1].T / scale]
        if prog.codes[l - 1] == "signed":
            parts.append(-params.W[l - 1].T / scale)
        if prog.bias[l - 1] == "learned":
            parts.append(params.b[l - 1][None, :] / (scale * prog.unit_level[l - 1]))
        return np.vstack(parts)

    def _post_factors(self, neurons, B, offs):
        """The host Node that computes every layer's post factor and sends
        -c_l * factor (clipped to the error range) to layer l's PES."""
        prog = self.program
        spec = prog.spec
        L = prog.L
        net = spec.network
        params = Params([None] * L, [], B)
        bs = prog.batch_size
        state = self.state
        c = np.concatenate([np.full(prog.sizes[l], prog.c[l - 1]) for l in range(1, L + 1)])
        zeros = np.zeros(offs[-1])

        k, n_teach = prog.k, prog.n_teach

        def learning_steps(e):
            """Chip learning steps in example e's plastic window (1-based steps)."""
            return sum(1 for i in range(e * k + k - n_teach + 1, e * k + k + 1)
                       if i % LEARN_EPOCH == 0)

        def post_f(t, v):
            flags = v[-N_FLAGS:]
            i = int(round(t / prog.dt))
            if not flags[PLASTIC] or i % LEARN_EPOCH:
                return zeros  # the chip reads only its learning steps' errors
            m = learning_steps((i - 1) // k)
            y = v[offs[-1]:-N_FLAGS][None, :]
            a = [v[offs[l - 1]:offs[l]][None, :] for l in range(1, L + 1)]
            h = [None] + [neurons[l].f(a[l - 1]) for l in range(1, L + 1)]
            if prog.factor == "error_drive":
                fp = [neurons[l].fprime(a[l - 1], h[l]) for l in range(1, L + 1)]
                err = output_error(output_readout(a[-1], h[L], prog.loss), y)
                factors = error_drives(net, params, fp, err, prog.loss)
            else:
                factors = burst_prob_devs(net, params, h, y)
            # eta per batch and per pass: the batch's size and lr_decay^pass
            gain = ((bs / flags[N_BATCH]) * prog.lr_decay ** flags[PASS] * n_teach
                    / (LEARN_EPOCH * m))
            e = -c * gain * np.concatenate([f[0] for f in factors])
            state["sent"] += e.size
            over = np.abs(e) > ERROR_RANGE
            state["clipped"] += int(over.sum())
            return np.clip(e, -ERROR_RANGE, ERROR_RANGE)

        return post_f


# -- reading the chip ------------------------------------------------------------------
def learned_synapses(model, comp) -> dict:
    """l -> the chip Synapse holding layer l's learned decoders (nengo-loihi cannot
    probe connections, so they are read from the built model's blocks)."""
    labels = {f"learn{l}": l for l, conn in comp.conns.items()
              if conn.learning_rule is not None}
    out = {}
    for blk in model.blocks:
        for syn in blk.synapses:
            if syn.learning:
                label = getattr(blk, "label", "") or ""
                for name, l in labels.items():
                    if name in label:
                        out[l] = syn
    return out


def chip_decoders(syn, n_out) -> np.ndarray:
    """(n_pre, n_out): the on minus off decode-compartment weights of a learned synapse."""
    w = np.vstack([np.asarray(wi, float).reshape(-1) for wi in syn.weights])
    return w[:, :n_out] - w[:, n_out:2 * n_out]


class WeightReader:
    """Reads the learned W_l, b_l from the chip, calibrated once against the known
    initial decoders (one scale per synapse: the chip's weight units)."""

    def __init__(self, model, comp):
        self.comp = comp
        self.syn = learned_synapses(model, comp)
        self.scale = {}
        for l, syn in self.syn.items():
            d0 = comp.D0[l]
            c0 = chip_decoders(syn, d0.shape[1])
            self.scale[l] = float(np.vdot(c0, d0) / np.vdot(d0, d0))

    def params(self) -> Params:
        comp, prog = self.comp, self.comp.program
        W, b = [], []
        for l in range(1, prog.L + 1):
            D = comp.D0[l]
            if l in self.syn:
                D = chip_decoders(self.syn[l], D.shape[1]) / self.scale[l]
            scale = prog.rate * prog.s[l - 1]
            n = prog.sizes[l - 1]
            w = D[:n].T * scale
            if prog.codes[l - 1] == "signed":  # the mean of the on and off weights
                w = 0.5 * (w - D[n:2 * n].T * scale)
            W.append(w)
            b.append(D[-1] * scale * prog.unit_level[l - 1] if prog.bias[l - 1] == "learned"
                     else comp.params0.b[l - 1].copy())
        return Params(W, b, {k: v.copy() for k, v in comp.params0.B.items()})

    def headroom(self) -> dict:
        """max |initial chip weight| / largest learnable weight, per learned layer."""
        out = {}
        for l, syn in self.syn.items():
            cfg = syn.synapse_cfg
            limit = (2 ** (8 - cfg.shift_bits) - 1) * 2 ** (cfg.real_weight_exp + cfg.shift_bits)
            w = np.vstack([np.asarray(wi, float).reshape(-1) for wi in syn.weights])
            out[l] = float(np.abs(w).max() / limit)
        return out


def _check_built(sim, reader, caught):
    """What only the built model can answer: trace increment, split blocks, weight
    headroom. Returns the headroom and the trace increments."""
    for w in caught:
        if "Trace increment exceeds upper limit" in str(w.message):
            raise UnsupportedRule(NAME, "this learning rate", "the per-spike increment of "
                                  "the 7-bit pre trace would exceed 127 (nengo-loihi folds "
                                  "the learning rate into it); lower eta",
                                  "nengo (nengo.Simulator)")
    emu = sim.sims.get("emulator")
    for l, conn in reader.comp.conns.items():
        if conn.learning_rule is None:
            continue
        syn = reader.syn.get(l)
        if syn is None or (emu is not None and syn not in emu.synapses.pes_errors):
            sizes = reader.comp.program.sizes
            raise UnsupportedRule(
                NAME, f"the learned projection into layer {l} ({sizes[l - 1]} -> {sizes[l]})",
                "it does not fit one Loihi core, so nengo-loihi splits its block, and "
                "nengo-loihi 1.1.0 cannot learn on a split block; use smaller layers",
                "nengo (nengo.Simulator)")
    head = reader.headroom()
    for l, r in head.items():
        if r > 0.75:
            raise UnsupportedRule(
                NAME, f"initial weights of layer {l}", f"they use {100 * r:.0f}% of the "
                "learned-weight range of pes_wgt_exp (8 bits); learning would clip",
                "nengo (nengo.Simulator)")
    return head, {l: float(s.tracing_mag) for l, s in reader.syn.items()}


def skip_idle_learning(sim):
    """nengo-loihi 1.1.0's integer emulator re-rounds every learned weight at every
    learning epoch, also when the error is zero (teacher off: settling and hold steps);
    the weights then come back unchanged and only random numbers are drawn. Skipping
    those epochs saves most of 'sim''s time under the hold (5 of 7 epochs per example
    on fa_digits.toml). The weights stay exactly what a zero error gives; the rounding
    draws after it shift, so a run is another sample of the same stochastic rounding.
    Float ('simreal') updates are left alone."""
    emu = sim.sims.get("emulator")
    if emu is None or emu.synapses.dtype != np.int32:
        return
    update = emu.synapses._weight_update

    def weight_update(synapse, delta_ws, rng=None):
        if delta_ws.any():
            update(synapse, delta_ws, rng=rng)

    emu.synapses._weight_update = weight_update


class Runner:
    """One built composition on the emulator; picks the learned-weight exponent so the
    initial weights use about half the 8-bit range."""

    def __init__(self, program, params, dataset, n_examples, seed, *, decay=False):
        ds = dataset
        if float(np.min(ds.x_train)) < 0:
            raise UnsupportedRule(NAME, f"data set {ds.name!r} (inputs below 0)",
                                  "the input's rate code carries activities >= 0",
                                  "nengo (nengo.Simulator)")
        k_in, k_out = population_factors(program.spec, ds)
        if (k_in, k_out) != (1, 1):
            raise UnsupportedRule(NAME, "populations wider than the data set", "the "
                                  "composition maps one unit per data dimension", "nengo")
        exp = 4
        for attempt in range(3):
            comp = Composition(program, params, ds.x_train, ds.y_train, n_examples, seed,
                               decay=decay)
            model = nengo_loihi.builder.Model(dt=program.dt, label=program.spec.name)
            model.pes_wgt_exp = exp
            model.decode_tau = DECODE_TAU
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sim = nengo_loihi.Simulator(comp.network, dt=program.dt, seed=seed,
                                            model=model, target=program.variant,
                                            progress_bar=False)
            reader = WeightReader(sim.model, comp)
            try:
                head, trace_mag = _check_built(sim, reader, caught)
            except UnsupportedRule:
                sim.close()
                raise
            if program.variant != "sim" or attempt == 2:
                break
            # first the learned-weight exponent (initial weights at about half the 8-bit
            # range), then, at that exponent, the error scales that balance the error
            # grid and the 7-bit trace
            shift = int(np.round(np.log2(0.5 / max(head.values())))) if head else 0
            new_exp = max(exp - shift, -6) if shift > 0 and attempt == 0 else exp
            c = program.c if new_exp != exp else balanced_scales(program, trace_mag)
            if new_exp == exp and all(abs(a / b - 1) < 0.1 for a, b in zip(c, program.c)):
                break
            sim.close()
            exp = new_exp
            program = replace(program, c=c, kappa=[k * c0 / c1 for k, c0, c1 in
                                                   zip(program.kappa, program.c, c)])
        skip_idle_learning(sim)
        self.comp, self.sim, self.reader = comp, sim, reader
        self.headroom, self.trace_mag, self.wgt_exp = head, trace_mag, exp

    def figures(self) -> dict:
        st = self.comp.state
        prog = self.comp.program
        return {"variant": prog.variant, "pes_wgt_exp": self.wgt_exp,
                "weight_headroom": self.headroom, "trace_increment": self.trace_mag,
                "error_scale": prog.c, "decoded_scale": prog.s, "pes_learning_rate": prog.kappa,
                "errors_clipped_fraction": st["clipped"] / max(st["sent"], 1)}


def _quiet():
    warnings.filterwarnings("ignore", message=".*ndim > 0 to a scalar.*")
    warnings.filterwarnings("ignore", message=".*invalid value encountered in cast.*")
    warnings.filterwarnings("ignore", message=".*Received PES error.*")
    warnings.filterwarnings("ignore", message=".*Clipping.*")


def _dataset(spec, dataset):
    return dataset if dataset is not None else load_dataset(spec.data, spec.training.seed)


def simulate(spec, *, steps, precision="float", seed=None, record_every=None, variant=None,
             dataset=None, time_limit=None) -> Trace:
    """``steps`` steps of the training stream on the emulator; the learned weights are
    read from the chip after every ``record_every`` steps (default: only at the end)."""
    ds = _dataset(spec, dataset)
    program = lower(spec, precision, variant=variant, dataset=ds)
    seed = spec.training.seed if seed is None else seed
    record_every = record_every or steps
    params = init_params(spec.network, seed)
    names = [layer.name for layer in spec.network.layers]
    with warnings.catch_warnings():
        _quiet()
        t0 = time.perf_counter()
        r = Runner(program, params, ds, -(-steps // program.k), seed)
        build_s = time.perf_counter() - t0
        rec = {names[l]: [] for l in r.reader.syn}
        rec_steps, wall, done = [], 0.0, 0
        try:
            while done < steps:
                n = min(record_every, steps - done)
                t0 = time.perf_counter()
                r.sim.run_steps(n)
                wall += time.perf_counter() - t0
                done += n
                if n == record_every:
                    p = r.reader.params()
                    rec_steps.append(done - 1)
                    for l in r.reader.syn:
                        rec[names[l]].append(p.W[l - 1])
            final = r.reader.params()
            a = np.array(r.sim.data[r.comp.out_probe])
        finally:
            r.sim.close()
    L = program.L
    neuron = spec.network.layers[L].neuron
    outputs = output_readout(a, neuron.f(a), program.loss)
    Y = r.comp.stream.targets(steps)
    return Trace(backend=NAME, schedule=program.schedule.name, precision=precision,
                 steps=np.asarray(rec_steps, int),
                 weights={k: np.asarray(v) for k, v in rec.items()}, outputs=outputs,
                 errors=outputs - Y, wall_seconds=wall,
                 extra={"params": final, "build_seconds": build_s,
                        "ms_per_step": 1e3 * wall / steps, **r.figures()})


def run(spec, *, precision="float", epochs=None, quiet=None, dataset=None, variant=None,
        profile=None, time_limit=None) -> RunResult:
    """Train on the spec's data set on the emulator; the test set is graded by the
    reference's evaluation of the weights read from the chip after every pass.
    ``time_limit`` (s): stop after the pass that exceeds it."""
    t = spec.training
    ds = _dataset(spec, dataset)
    program = lower(spec, precision, profile, variant, dataset=ds)
    epochs = t.epochs if epochs is None else epochs
    n = len(ds.x_train)
    params = init_params(spec.network, t.seed)
    hist = new_history()

    def record(ep, p, seconds):
        tr = BatchedTrainer(spec, p)
        te = tr.evaluate(ds.x_test, ds.y_test, ds.classification)
        m = min(n, 512)
        trn = tr.evaluate(ds.x_train[:m], ds.y_train[:m], ds.classification)
        add_history_row(hist, ep, te, trn, seconds)
        return te

    record(0, params, 0.0)
    with warnings.catch_warnings():
        _quiet()
        t0 = time.perf_counter()
        r = Runner(program, params, ds, epochs * n, t.seed, decay=True)
        build_s = time.perf_counter() - t0
        seconds, done, p = 0.0, 0, params
        try:
            with Progress(epochs, f"{spec.name} {NAME} ({program.variant})", quiet) as bar:
                for ep in range(1, epochs + 1):
                    t1 = time.perf_counter()
                    r.sim.run_steps(n * program.k)
                    seconds += time.perf_counter() - t1
                    done = ep
                    p = r.reader.params()
                    te_loss, te_acc = record(ep, p, seconds)
                    bar.update(1, f"loss {te_loss:.4f}" + (
                        f" acc {te_acc:.3f}" if te_acc is not None else ""))
                    if time_limit is not None and seconds > time_limit:
                        break
        finally:
            r.sim.close()
    steps = done * n * program.k
    return RunResult(
        backend=NAME, rule=spec.rule.display_name, dataset=ds.name, seed=t.seed,
        epochs=done, test_accuracy=hist["test_accuracy"][-1],
        test_loss=hist["test_loss"][-1], train_seconds=seconds, history=hist,
        spec_name=spec.name, weights=[w.copy() for w in p.W],
        extra={"steps": steps, "epochs_done": done, "build_seconds": build_s,
               "ms_per_step": 1e3 * seconds / max(steps, 1),
               "schedule": program.schedule.describe(),
               "approximations": [str(a) for a in program.approximations], **r.figures()},
        state=p)
