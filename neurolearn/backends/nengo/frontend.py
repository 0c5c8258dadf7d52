"""nengo frontend objects of a lowered spec, and their registered builders.

:class:`LearningNetwork` is a ``nengo.Network`` whose own builder (registered with
``nengo.builder.Builder.register``) calls nengo's network builder and then adds the
post-factor operator; its projections learn with :class:`SumOfProducts`, a
``LearningRuleType`` with its own builder. So the network learns when handed to a
plain ``nengo.Simulator(net)``: importing this module registers both builders.
"""

from __future__ import annotations

import nengo
import numpy as np
from nengo.builder import Builder, Signal
from nengo.builder.network import build_network
from nengo.builder.neurons import build_neurons
from nengo.params import BoolParam, IntParam, Parameter

from ...reference.phased import TRAIN, example_noise, noise_columns
from ...reference.simulator import batches_of
from ...reference.stream import example_order
from .ops import (APPLY, EXAMPLE, N_BATCH, N_FLAGS, PASS, PHASE, PHASE_STEP,
                  PLASTIC, TEACH, SimFeedbackRule, SimPhasedOutput, SimPostFactors,
                  SimConvergence, SimPredictionError, SimPyramidal, SimRateSignals,
                  SimSettling, SimSumOfProducts, SimTransposedDelta)


# -- neuron types ----------------------------------------------------------------------
class Identity(nengo.neurons.NeuronType):
    """The linear rate model, f(a) = a (nengo has no stock linear neuron); also the
    input layer, which passes the stream on (nengo learns only from neural pres)."""

    def step(self, dt, J, output):
        output[...] = J


class ConstantUnit(nengo.neurons.NeuronType):
    """A unit of constant activity 1: the presynaptic side of learned biases."""

    def step(self, dt, J, output):
        output[...] = 1.0


class PhasedOutput(nengo.neurons.NeuronType):
    """A layer whose output a phase replaces with noise or the teacher nudges: nengo's
    ``base`` type computes f(J) into a signal of its own, and the network's builder
    adds :class:`~.ops.SimPhasedOutput`, which writes the layer's output from it."""
    base = Parameter("base", readonly=True)

    def __init__(self, base):
        super().__init__()
        self.base = base

    def step(self, dt, J, output):  # nengo's gain/bias bookkeeping reads the base's rates
        self.base.step(dt, J, output)


@Builder.register(PhasedOutput)
def build_phased_output(model, neuron_type, neurons, input_sig=None, output_sig=None):
    sig = Signal(np.zeros(neurons.size_in), name=f"{neurons}.base_out")
    model.sig[neurons]["base_out"] = sig
    build_neurons(model, neuron_type.base, neurons, input_sig=input_sig, output_sig=sig)


class SettlingUnit(nengo.neurons.NeuronType):
    """A layer of equilibrium dynamics: its state relaxes in
    :class:`~.ops.SimSettling` (added by the network's builder), which writes the
    output f(s); ``base`` is the nengo type of f (nengo's gain and bias bookkeeping)."""
    base = Parameter("base", readonly=True)

    def __init__(self, base):
        super().__init__()
        self.base = base

    def step(self, dt, J, output):
        self.base.step(dt, J, output)


@Builder.register(SettlingUnit)
def build_settling_unit(model, neuron_type, neurons, input_sig=None, output_sig=None):
    """No neuron operator: SimSettling sets the output."""


class Mirrored(nengo.learning_rules.LearningRuleType):
    """The top-down connection of a settling loop, W_(l+1)^T: its weights change by
    the transpose of projection l+1's change (:class:`~.ops.SimTransposedDelta`, added
    by the network's builder), so it stays W_(l+1)^T to the bit."""

    modifies = "weights"
    probeable = ("delta",)
    layer = IntParam("layer", low=1, readonly=True)

    def __init__(self, layer):
        super().__init__(0.0, size_in=0)
        self.layer = layer


@Builder.register(Mirrored)
def build_mirrored(model, rule_type, rule):
    """Nothing of its own: the delta nengo adds is set by SimTransposedDelta."""


def neuron_type(layer):
    """The nengo neuron type of a :class:`~.lower.LayerMap`."""
    if layer.settling or layer.pyramidal:  # f is our operator's; Identity only for
        return SettlingUnit(Identity())      # nengo's gain and bias bookkeeping
    if layer.phased:
        return PhasedOutput(_stock_type(layer))
    return _stock_type(layer)


def _stock_type(layer):
    kind = layer.neuron_type
    if kind in ("identity", "linear"):
        return Identity()
    if kind == "sigmoid":
        return nengo.Sigmoid(tau_ref=1.0)  # output 1 / (1 + exp(-J))
    if kind == "tanh":
        return nengo.Tanh(tau_ref=1.0)
    if kind == "relu":
        return nengo.RectifiedLinear(amplitude=1.0)
    if kind == "lif":
        zero = nengo.dists.Choice([0.0])  # the reference starts at rest
        return nengo.LIF(**layer.neuron_args, initial_state={"voltage": zero,
                                                             "refractory_time": zero})
    raise AssertionError(kind)


# -- the stream of examples --------------------------------------------------------------
class ExampleStream(nengo.Process):
    """The shared training stream (:mod:`neurolearn.reference.stream`), one step at a
    time: ``[x | y | flags]``, flags (:mod:`.ops`) teach, n_batch, pass, apply,
    plastic, phase, phase step, example.

    x is the example's input (rate), or its spikes (regular or poisson encoding,
    carried across examples as the reference's encoder does), each 1 / (dt max_rate)
    so a unit-area filter reads activity units; ``teach`` is 1 on an example's last
    n_teach steps (teacher and plasticity on), ``n_batch`` the size of the example's
    batch, ``pass`` the pass over the training set it belongs to (0 unless
    ``decay``: the reference's ``simulate`` does not decay eta), ``apply`` 1 on the
    batch's last plastic step.
    """

    def __init__(self, x, y, program, n_examples, seed, *, decay=False):
        n = len(x)
        super().__init__(default_size_in=0, default_size_out=x.shape[1] + y.shape[1] + N_FLAGS)
        self.x, self.y = x, y
        self.program = program
        self.stream_seed = seed
        # phases: the steps of an example, and the noise generators' key (training)
        self.table = program.step_table if program.phases else []
        self.noise_key = TRAIN
        self.order = example_order(n, n_examples, seed)
        self.n_batch = np.zeros(n_examples)
        self.last = np.zeros(n_examples, bool)
        pos = 0
        for size in batches_of(n, program.batch_size, n_examples):
            self.n_batch[pos:pos + size] = size
            self.last[pos + size - 1] = True
            pos += size
        self.passes = np.arange(n_examples) // n if decay else np.zeros(n_examples, int)
        self.n_steps = n_examples * program.k

    __eq__ = object.__eq__  # a FrozenObject without parameters would equal every other
    __hash__ = object.__hash__

    def targets(self, n_steps):
        """y per step (n_steps, n_out)."""
        return self.y[np.repeat(self.order, self.program.k)[:n_steps]]

    def make_step(self, shape_in, shape_out, dt, rng, state):
        prog = self.program
        k, n_teach = (len(self.table) if prog.phases else prog.k), prog.n_teach
        n_in, n_out = self.x.shape[1], self.y.shape[1]
        out = np.zeros(shape_out)
        x_out, y_out, flags = out[:n_in], out[n_in:n_in + n_out], out[n_in + n_out:]
        sim = prog.spec.simulation
        spiking = prog.spiking
        spike = 1.0 / (sim.dt * sim.max_rate)
        phase = np.zeros(n_in)
        poisson = sim.encoding == "poisson"
        prng = np.random.default_rng([self.stream_seed, 3])
        cur = {"e": -1, "p": None, "draws": None}
        # per step of an example: (phase, step in phase, teach, plastic, input on)
        if prog.phases:  # the sweep (-1) shows the input, no teacher, no learning
            at = [(i, j, False, False, True) if i < 0 else
                  (i, j, prog.phases[i].target, prog.phases[i].plastic,
                   prog.phases[i].input) for i, j in self.table]
        else:
            at = [(0, s, s >= k - n_teach, s >= k - n_teach, True) for s in range(k)]
        # the input layer's noise per phase: (mode, first column), drawn per example
        in_noise = {i: (ph.noise.mode, c) for i, ph in enumerate(prog.phases)
                    if ph.noise is not None
                    for l, c, _ in noise_columns(prog.spec, ph) if l == 0}

        def step_stream(t):
            i = int(round(t / dt)) - 1
            e, s = divmod(i, k)
            if e >= len(self.order):
                raise RuntimeError(f"the example stream holds {self.n_steps} steps; "
                                   f"step {i + 1} asked for more")
            new = e != cur["e"]
            if new:
                cur["e"] = e
                idx = self.order[e]
                y_out[...] = self.y[idx]
                if spiking:
                    cur["p"] = np.clip(self.x[idx], 0.0, None) * sim.max_rate * sim.dt
                    if poisson:
                        cur["draws"] = prng.random((k, n_in))
                flags[N_BATCH] = self.n_batch[e]
                flags[PASS] = self.passes[e]
                flags[EXAMPLE] = e
            at_phase, j, teach, plastic, on = at[s]
            if not spiking and (new or prog.phases):  # phases switch it per step
                x_out[...] = self.x[self.order[e]] if on else 0.0
                if at_phase in in_noise:  # as the reference: x replaced, or x + noise
                    if cur.get("noise_e") != e:
                        cur["noise_e"] = e
                        cur["noise"] = example_noise(prog.spec, self.noise_key, e,
                                                     self.stream_seed)
                    mode, c = in_noise[at_phase]
                    xi = cur["noise"][prog.phases[at_phase].name][j, c:c + n_in]
                    x_out[...] = xi if mode == "replace" else x_out + xi
            if spiking:
                if poisson:
                    fire = cur["draws"][s] < cur["p"]
                else:
                    phase[...] += cur["p"]
                    fire = phase >= 1.0
                    phase[fire] -= 1.0
                x_out[...] = fire * spike
            flags[TEACH], flags[PLASTIC], flags[PHASE], flags[PHASE_STEP] = \
                teach, plastic, at_phase, j
            flags[APPLY] = s == k - 1 and self.last[e]
            return out

        return step_stream


class CurrentNoise(nengo.Process):
    """White current noise of one layer, from the reference's generator
    ``default_rng([seed, 5, layer])``, in nengo's J units."""

    def __init__(self, n, std, seed, layer):
        super().__init__(default_size_in=0, default_size_out=n)
        self.std, self.noise_seed, self.layer = std, seed, layer

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def make_step(self, shape_in, shape_out, dt, rng, state):
        gen = np.random.default_rng([self.noise_seed, 5, self.layer])
        std, n = self.std, shape_out[0]

        def step_noise(t):
            return std * gen.standard_normal((1, n))[0]

        return step_noise


class PhaseNoise(nengo.Process):
    """The noise a spec's phases add to layer ``layer``'s net input: on the steps of a
    phase whose source drives the layer in mode 'add', the reference's draw
    (:func:`neurolearn.reference.phased.example_noise` of the step's example, the
    run's ``seed``), else 0. Its clock is the stream's (k steps per example)."""

    def __init__(self, program, layer, seed, table, key):
        super().__init__(default_size_in=0, default_size_out=program.layers[layer].size)
        self.program, self.layer, self.noise_seed = program, layer, seed
        self.table, self.key = table, key  # the stream's steps of an example, its key

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def make_step(self, shape_in, shape_out, dt, rng, state):
        prog, l = self.program, self.layer
        at = self.table
        cols = {i: c for i, ph in enumerate(prog.phases)
                if ph.noise is not None and ph.noise.mode == "add"
                for m, c, _ in noise_columns(prog.spec, ph) if m == l}
        n, k = shape_out[0], len(at)
        zeros = np.zeros(n)
        cur = {"e": -1, "draws": None}

        def step_phase_noise(t):
            e, s = divmod(int(round(t / dt)) - 1, k)
            i, j = at[s]
            if i not in cols:
                return zeros
            if e != cur["e"]:
                cur["e"] = e
                cur["draws"] = example_noise(prog.spec, self.key, e, self.noise_seed)
            return cur["draws"][prog.phases[i].name][j, cols[i]:cols[i] + n]

        return step_phase_noise


# -- learning --------------------------------------------------------------------------
class SumOfProducts(nengo.learning_rules.LearningRuleType):
    """The spec's rule on the projection into layer ``layer`` of ``network`` (a
    :class:`LearningNetwork`), or on its bias column (``bias``). Builds a
    :class:`~.ops.SimSumOfProducts` operator."""

    modifies = "weights"
    probeable = ("delta",)
    network = Parameter("network", readonly=True)
    layer = IntParam("layer", low=1, readonly=True)
    bias = BoolParam("bias", readonly=True)

    def __init__(self, learning_rate, network, layer, bias=False):
        super().__init__(learning_rate, size_in=0)
        self.network = network
        self.layer = layer
        self.bias = bias


class LearningNetwork(nengo.Network):
    """A lowered spec as a nengo network: the example stream, one Ensemble per layer,
    the learning projections, learned biases from a constant unit; its builder adds
    the post-factor operator. ``params``: initial W, b, B (copied)."""

    def __init__(self, program, params, stream, *, seed=None, label=None):
        super().__init__(label=label or program.spec.name, seed=seed)
        self.program = program
        self.B0 = {l: B.copy() for l, B in params.B.items()}
        self.fixed_bias = {l: params.b[l - 1].copy() for l in range(1, program.L + 1)
                           if program.layers[l].bias == "fixed"}
        layers = program.layers
        L = program.L
        n_in = layers[0].size
        self.projections, self.bias_projections, self.noise_nodes = {}, {}, {}
        self.phase_noise = {}  # layer -> Node adding a phase's noise to its net input
        self.transposed = {}   # l -> the settling loop's W_l^T, from layer l to l - 1
        self.own_error = {}    # l -> predictive coding's e_l into layer l's value units
        self.apical_late, self.apical_now = {}, {}  # pyramidal l -> B_l h_src connections
        with self:
            self.stream = nengo.Node(stream, label="stream")
            self.populations = []
            for l, lm in enumerate(layers):
                fixed = params.b[l - 1] if l and lm.bias == "fixed" else 0.0
                self.populations.append(nengo.Ensemble(
                    lm.size, 1, neuron_type=neuron_type(lm), gain=np.full(lm.size, lm.gain),
                    bias=lm.offset + lm.gain * np.broadcast_to(fixed, lm.size),
                    label=lm.name))
            nengo.Connection(self.stream[:n_in], self.populations[0].neurons, synapse=None)
            coding = program.dynamics == "predictive_coding"
            # predictive coding: an error population per layer, which the projection
            # (its prediction mu = W h_below + b) drives; SimPredictionError sets it
            self.errors = {l: nengo.Ensemble(layers[l].size, 1, neuron_type=SettlingUnit(
                Identity()), gain=np.ones(layers[l].size), bias=np.zeros(layers[l].size),
                label=f"{layers[l].name}.error") for l in range(1, L + 1)} if coding else {}
            learned_bias = [l for l in range(1, L + 1) if layers[l].bias == "learned"]
            self.unit = nengo.Ensemble(1, 1, neuron_type=ConstantUnit(), gain=[1.0],
                                       bias=[0.0], label="unit") if learned_bias else None
            for l in range(1, L + 1):
                lm = layers[l]
                learns = lm.plastic or program.learns_feedback(l - 1)
                rule = SumOfProducts(program.eta[l - 1], self, l) if learns else None
                if lm.pyramidal:
                    # the apical potential B h_src: one step late into the soma (the
                    # reference reads it after the step), and in the step for the
                    # plateau the rule reads (built before the projection, whose
                    # learning operator reads it)
                    src = program.apical[l]
                    self.apical_late[l] = nengo.Connection(
                        self.populations[src].neurons, self.populations[l].neurons,
                        transform=params.B[l].copy(), synapse=nengo.Lowpass(0),
                        label=f"apical{l}")
                    sink = nengo.Node(size_in=lm.size, label=f"apical{l}.now")
                    self.apical_now[l] = nengo.Connection(
                        self.populations[src].neurons, sink, transform=params.B[l].copy(),
                        synapse=None, label=f"apical{l}.now")
                # a settling loop's connections deliver one step late (Lowpass(0) in
                # nengo's update mode): every layer relaxes from the previous step's
                # states, as the reference's; the input drives layer 1 at once
                loop = lm.settling and l > 1 and not coding
                target = self.errors[l] if coding else self.populations[l]
                self.projections[l] = nengo.Connection(
                    self.populations[l - 1].neurons, target.neurons,
                    transform=params.W[l - 1].copy(),
                    synapse=nengo.Lowpass(lm.synapse) if lm.synapse else
                    (nengo.Lowpass(0) if loop else None),
                    learning_rule_type=rule, label=f"W{l}")
                if loop or (coding and l > 1):  # down: W_l^T of the states or errors
                    self.transposed[l] = nengo.Connection(
                        target.neurons, self.populations[l - 1].neurons,
                        transform=params.W[l - 1].T.copy(), synapse=nengo.Lowpass(0),
                        learning_rule_type=Mirrored(l) if rule is not None else None,
                        label=f"W{l}^T")
                if coding:  # a layer's value units read its errors one step late
                    self.own_error[l] = nengo.Connection(
                        self.errors[l].neurons, self.populations[l].neurons,
                        synapse=nengo.Lowpass(0), label=f"e{l}")
                if l in learned_bias:
                    self.bias_projections[l] = nengo.Connection(
                        self.unit.neurons, target.neurons,
                        transform=params.b[l - 1][:, None].copy(), synapse=None,
                        learning_rule_type=SumOfProducts(program.eta[l - 1], self, l, True),
                        label=f"b{l}")
                if lm.noise:
                    node = nengo.Node(CurrentNoise(lm.size, lm.noise / lm.gain, seed or 0, l),
                                      label=f"noise{l}")
                    nengo.Connection(node, self.populations[l].neurons, synapse=None)
                    self.noise_nodes[l] = node
                if lm.add_noise:  # rate neurons: gain 1, so J gains the noise itself
                    node = nengo.Node(PhaseNoise(program, l, seed or 0, stream.table,
                                                 stream.noise_key),
                                      label=f"phase_noise{l}")
                    nengo.Connection(node, self.populations[l].neurons, synapse=None)
                    self.phase_noise[l] = node


# -- shared signals of one built network ---------------------------------------------------
def _shared(model, net) -> dict:
    """Signals that the operators of ``net`` share, created on first use (flat keys,
    so nengo's optimizer can replace merged signals in place)."""
    return model.sig[net]


def _stream_slice(model, net, which):
    prog = net.program
    n_in, n_out = prog.layers[0].size, prog.layers[-1].size
    out = model.sig[net.stream]["out"]
    return {"y": out[n_in:n_in + n_out], "flags": out[n_in + n_out:]}[which]


def _output(model, net, l):
    return model.sig[net.populations[l].neurons]["out"]


def _activity(model, net, l):
    """Layer l's activity: its rate output, or (spiking) the tau_syn trace of its
    spikes, filtered in nengo's 'set' mode (the same step, as the reference's)."""
    prog = net.program
    if not prog.spiking:
        return _output(model, net, l)
    sig = _shared(model, net)
    if ("trace", l) not in sig:
        sig[("trace", l)] = model.build(nengo.Lowpass(prog.layers[l].trace_tau),
                                        _output(model, net, l), mode="set")
    return sig[("trace", l)]


def _bias_noise_reads(model, net, l, key):
    """The reads of layer l's learned bias ('b', what its projection from the unit
    delivers) and of a phase's noise added to its net input ('noise'), each where it
    exists, keyed ``key(name)``."""
    out = []
    if l in net.bias_projections:
        out.append((key("b"), model.sig[net.bias_projections[l]]["weighted"]))
    if l in net.phase_noise:
        out.append((key("noise"), model.sig[net.phase_noise[l]]["out"]))
    return out


def _post_factor(model, net, l, name):
    sig = _shared(model, net)
    if ("pf", l, name) not in sig:
        sig[("pf", l, name)] = Signal(np.zeros(net.program.layers[l].size),
                                      name=f"{net.program.layers[l].name}.{name}")
    return sig[("pf", l, name)]


def _feedback(model, net, l):
    """Hidden layer l's feedback matrix B (writable when it learns)."""
    sig = _shared(model, net)
    if ("B", l) not in sig:
        learned = net.program.learns_feedback(l) or l in net.program.feedback
        sig[("B", l)] = Signal(net.B0[l].copy(), name=f"B{l}", readonly=not learned)
    return sig[("B", l)]


def _global(model, net, name):
    """A global signal (reward, rpe): one value, set by the post-factor operator."""
    sig = _shared(model, net)
    if ("glob", name) not in sig:
        sig[("glob", name)] = Signal(np.zeros(1), name=f"global.{name}")
    return sig[("glob", name)]


def _post_signals(model, net, l):
    out = []
    for name in sorted(net.program.post_raw):
        if name == "activity":
            s = _activity(model, net, l)
        elif name == "error" and l in net.errors:  # predictive coding's error population
            s = model.sig[net.errors[l].neurons]["out"]
        elif name == "plateau":  # a pyramidal layer's apical potential (raw), else h
            s = model.sig[net.apical_now[l]]["weighted"] if l in net.apical_now else \
                _activity(model, net, l)
        else:
            s = _post_factor(model, net, l, name)
        out.append((("post", name), s))
    for name in sorted(net.program.globals_needed):
        out.append((("post", name), _global(model, net, name)))
    return out


@Builder.register(SumOfProducts)
def build_sum_of_products(model, rule_type, rule):
    net, l, bias = rule_type.network, rule_type.layer, rule_type.bias
    prog = net.program
    conn = rule.connection
    W = model.sig[conn]["weights"]
    reads = [(("flags",), _stream_slice(model, net, "flags")), (("W",), W)]
    if not bias:
        for name in sorted(prog.pre_needed):
            # rate: event_trace is the activity itself; spiking: it needs burst neurons;
            # net_input: the input's own value, else the layer's (SimRateSignals,
            # SimPyramidal, SimSettling)
            sig = _post_factor(model, net, l - 1, name) if name == "net_input" and l > 1 \
                else _activity(model, net, l - 1)
            reads.append((("pre", name), sig))
    reads += _post_signals(model, net, l)
    kinds = {tr.kind for tr in prog.filtered}
    if ("pre" in kinds or "pre_spike" in prog.gated) and not bias:
        reads.append((("raw_pre",), _output(model, net, l - 1)))
    if "post" in kinds or "post_spike" in prog.gated:
        reads.append((("raw_post",), _output(model, net, l)))
    n_post = prog.layers[l].size
    updates = [(("delta",), model.sig[rule]["delta"]),
               (("acc",), Signal(np.zeros(W.shape), name=f"{conn}.acc"))]
    if prog.momentum:
        updates.append((("vel",), Signal(np.zeros(W.shape), name=f"{conn}.vel")))
    for i, tr in enumerate(prog.filtered):
        width = prog.layers[l - 1].size if tr.kind == "pre" else n_post
        updates.append((("trace", i), Signal(np.zeros(1 if bias and tr.kind == "pre" else width),
                                             name=f"{conn}.trace{i}")))
    if prog.filtered:
        updates.append((("trace_started",), Signal(np.zeros(1), name=f"{conn}.started")))
    if prog.tag_terms and not bias and prog.layers[l].plastic:
        # the eligibility tag: a second state per synapse (the bias has none)
        updates.append((("tag",), Signal(np.zeros(W.shape), name=f"{conn}.tag")))
    if not bias and prog.learns_feedback(l - 1):
        B = _feedback(model, net, l - 1)
        updates += [(("B",), B), (("accB",), Signal(np.zeros(B.shape), name=f"B{l - 1}.acc"))]
        if prog.momentum:
            updates.append((("velB",), Signal(np.zeros(B.shape), name=f"B{l - 1}.vel")))
    model.add_op(SimSumOfProducts(prog, l, bias, reads, updates,
                                  tag=f"SumOfProducts[{'b' if bias else 'W'}{l}]"))


@Builder.register(LearningNetwork)
def build_learning_network(model, net, progress=None):
    """nengo's own network builder, then the phased outputs, the feedback rules and
    the post-factor operator."""
    build_network(model, net, progress=progress)
    prog = net.program
    L = prog.L
    flags = _stream_slice(model, net, "flags")
    need_net = "net_input" in prog.pre_needed  # pre.net_input: set by each layer's op
    # settle.tol: the example's convergence flag, and each settling layer's move
    tol = any(p.settle is not None and p.settle.tol is not None for p in prog.phases)
    active = Signal(np.ones(1), name="active") if tol else None
    moves = {}
    for l, lm in enumerate(prog.layers):
        if lm.settling:
            neurons = net.populations[l].neurons
            reads = [(("ff",), model.sig[net.projections[l]]["weighted"]),
                     (("flags",), flags), (("y",), _stream_slice(model, net, "y"))]
            if l + 1 in net.transposed:
                reads.append((("fb",), model.sig[net.transposed[l + 1]]["weighted"]))
            bias = _bias_noise_reads(model, net, l, lambda name: (name,))
            sets = [(("out",), model.sig[neurons]["out"])]
            if l in net.own_error:
                reads.append((("e",), model.sig[net.own_error[l]]["weighted"]))
                x = Signal(np.zeros(lm.size), name=f"x{l}")
                sets.append((("x",), x))
                errors = net.errors[l].neurons
                model.add_op(SimPredictionError(
                    net.fixed_bias.get(l), sets=[(("out",), model.sig[errors]["out"])],
                    reads=[(("x",), x), (("mu",), model.sig[net.projections[l]]["weighted"])]
                    + bias, tag=f"PredictionError[{l}]"))
            if need_net and l < L:
                sets.append((("net_input",), _post_factor(model, net, l, "net_input")))
            if tol:
                reads.append((("active",), active))
                moves[l] = Signal(np.zeros(1), name=f"moved{l}")
                sets.append((("moved",), moves[l]))
            model.add_op(SimSettling(
                prog, l, net.fixed_bias.get(l), sets=sets, reads=reads + bias,
                updates=[(("s",), Signal(np.zeros(lm.size), name=f"s{l}"))]))
    if tol:
        model.add_op(SimConvergence(prog, [(("flags",), flags)] + [
            (("moved", l), m) for l, m in moves.items()], [(("active",), active)]))
    need_slope = "slope" in prog.post_raw
    for l, lm in enumerate(prog.layers):
        if lm.pyramidal:
            neurons = net.populations[l].neurons
            reads = [(("ff",), model.sig[net.projections[l]]["weighted"]),
                     (("A",), model.sig[net.apical_late[l]]["weighted"]),
                     (("flags",), flags)] + _bias_noise_reads(model, net, l, lambda n: (n,))
            model.add_op(SimPyramidal(
                prog, l, net.fixed_bias.get(l),
                sets=[(("out",), model.sig[neurons]["out"]),
                      (("slope",), _post_factor(model, net, l, "slope"))] +
                ([(("net_input",), _post_factor(model, net, l, "net_input"))]
                 if need_net and l < L else []),
                reads=reads, updates=[(("C",), Signal(np.zeros(lm.size), name=f"C{l}"))]))
        elif l and not lm.settling and (need_slope or (need_net and l < L)):
            reads = [(("I",), model.sig[net.projections[l]]["weighted"]),
                     (("h",), _activity(model, net, l))] + \
                _bias_noise_reads(model, net, l, lambda n: (n,))
            sets = [((name,), _post_factor(model, net, l, name))
                    for name, on in (("slope", need_slope), ("net_input", need_net and l < L))
                    if on]
            model.add_op(SimRateSignals(lm.neuron, net.fixed_bias.get(l), sets=sets,
                                        reads=reads, tag=f"RateSignals[{l}]"))
    for l, conn in net.transposed.items():
        if conn.learning_rule is not None:
            model.add_op(SimTransposedDelta(
                model.sig[net.projections[l].learning_rule]["delta"],
                model.sig[conn.learning_rule]["delta"], tag=f"TransposedDelta[W{l}]"))
    for l, lm in enumerate(prog.layers):
        if lm.phased:
            neurons = net.populations[l].neurons
            model.add_op(SimPhasedOutput(
                prog, l, net.seed or 0, net.stream.output.noise_key,
                sets=[(("out",), model.sig[neurons]["out"])],
                reads=[(("base",), model.sig[neurons]["base_out"]), (("flags",), flags),
                       (("y",), _stream_slice(model, net, "y"))]))
    for l, fb in prog.feedback.items():
        reads = [(("flags",), flags)]
        for side, layer in (("pre", fb.source), ("post", l)):
            reads += [((side, "I"), model.sig[net.projections[layer]]["weighted"]),
                      ((side, "h"), _activity(model, net, layer))]
            reads += _bias_noise_reads(model, net, layer, lambda n, side=side: (side, n))
        B = _feedback(model, net, l)
        updates = [(("B",), B), (("acc",), Signal(np.zeros(B.shape), name=f"B{l}.acc"))]
        if prog.momentum:
            updates.append((("vel",), Signal(np.zeros(B.shape), name=f"B{l}.vel")))
        model.add_op(SimFeedbackRule(prog, l, reads, updates,
                                     fixed_bias={k: net.fixed_bias.get(k)
                                                 for k in (fb.source, l)}))
    need = prog.post_needed & {"error_drive", "burst_prob_dev", "activity_sq_avg"}
    if not need and prog.reward is None:
        return
    sets = [(("pf", l, name), _post_factor(model, net, l, name))
            for l in range(1, L + 1) for name in sorted(need)]
    if prog.reward is not None:
        sets += [(("glob", name), _global(model, net, name)) for name in ("reward", "rpe")]
    reads = [(("flags",), _stream_slice(model, net, "flags")),
             (("y",), _stream_slice(model, net, "y"))]
    for l in range(1, L + 1):
        # the net input a = I + b as the reference forms it: what the projection delivers
        # (after its synapse) plus the bias (learned: its projection's; else fixed)
        reads.append((("I", l), model.sig[net.projections[l]]["weighted"]))
        reads += _bias_noise_reads(model, net, l, lambda n, l=l: (n, l))
        reads.append((("h", l), _activity(model, net, l)))
    net_spec = prog.spec.network
    for l in range(1, L):
        if net_spec.feedback_of(l).kind == "transport":
            reads.append((("W", l + 1), model.sig[net.projections[l + 1]]["weights"]))
        else:
            reads.append((("B", l), _feedback(model, net, l)))
    updates = []
    if "activity_sq_avg" in need:
        updates = [(("sq", l), Signal(np.zeros(prog.layers[l].size), name=f"sq{l}"))
                   for l in range(1, L + 1)]
        updates.append((("sq_started",), Signal(np.zeros(1), name="sq_started")))
    model.add_op(SimPostFactors(prog, sets, reads, updates, fixed_bias=net.fixed_bias,
                                seed=net.seed or 0))
