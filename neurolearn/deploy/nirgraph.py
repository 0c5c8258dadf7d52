"""NIR export and import of trained spiking networks (NIR 1.0.8, extra ``nir``).

A neurolearn network of LIF layers is written as the chain
``Input -> Affine -> CubaLIF -> Affine -> CubaLIF ... -> Output``, one Affine
(node ``NAME.proj``: the projection into layer NAME, W and bias) and one CubaLIF
(node ``NAME.lif``) per layer.

The mapping (docs/deploy.md derives it). neurolearn's LIF layer, step dt
(neurolearn/reference/simulator.py and neurons.py):

    I <- d I + (1 - d) W s / (dt r_max),  d = exp(-dt / tau_syn)   (spikes s of the layer below)
    J = threshold + gain (I + b)
    v <- J + (v - J) exp(-dt / tau_rc);  spike when v >= threshold, then v = 0 and
    v is clamped at 0 for round(tau_ref / dt) steps.

NIR's CubaLIF (continuous time, input spikes as Dirac deltas of unit area):

    tau_syn dI/dt = -I + w_in (W_nir s + b_nir)
    tau_mem dv/dt = (v_leak - v) + R I;  spike when v > v_threshold, then v = v_reset.

These agree when tau_syn = tau_syn, tau_mem = tau_rc, v_threshold = threshold,
v_reset = 0, v_leak = 0, W_nir = W and

    R w_in = gain c / r_max,  c = tau_syn (1 - exp(-dt / tau_syn)) / dt
    b_nir = (threshold + gain b) / (R w_in)

c makes a spike's jump in I (w_in W / tau_syn) equal neurolearn's step jump
(impulse invariance: neurolearn's trace is the continuous I sampled at the end of
each step). Only the product R w_in is fixed; we write R = tau_mem / 1e-4 s (the
convention snnTorch's reader requires) and w_in from it. neurolearn is then exactly
NIR's CubaLIF integrated with I held over each step (zero-order hold, exact
exponential integration of v), except for three departures that NIR cannot say:

- the refractory period (NIR's LIF has none): dropped; ``export`` measures the
  accuracy with and without it;
- the constant drive ``threshold + gain b`` reaches v through the synaptic filter
  (NIR's only unfiltered constant is v_leak, which snnTorch's reader refuses), so
  from rest it rises with tau_syn instead of being there at once;
- spike at v >= threshold (neurolearn) against v > threshold (NIR): equal except on
  a set of measure zero.

Rate layers (sigmoid, tanh, relu, linear, burst_rate) and two-compartment burst
neurons have no NIR node and are refused by name. The learning rule, learning rates
and the feedback pathway (kind and matrix) travel in node metadata, with the spec
itself and neurolearn's exact float64 biases in the graph's metadata: NIR readers
ignore them, and ``import`` uses them only where the graph's own numbers equal what
this exporter writes from them, so a neurolearn -> NIR -> neurolearn round trip gives
bit-identical parameters while any other graph is read from its NIR numbers alone.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import NeurolearnError, SpecError, UnsupportedRule

R_STEP = 1e-4          # R = tau_mem / R_STEP (a free gauge, see the docstring)
META = "neurolearn"    # prefix of neurolearn's metadata keys
FORMAT = "neurolearn.nir"
VERSION = 1


def _nir():
    try:
        import nir
    except ImportError:
        raise NeurolearnError("NIR export and import need the extra 'nir': "
                              "pip install 'neurolearn[nir]'") from None
    return nir


def conversion(neuron, *, dt, max_rate, tau_syn, gain) -> dict:
    """The CubaLIF constants of one neurolearn LIF layer (module docstring)."""
    c = tau_syn * -math.expm1(-dt / tau_syn) / dt
    r = neuron.tau_rc / R_STEP
    w_in = gain * c / (max_rate * r)
    return {"c": c, "r": r, "w_in": w_in}


def _refuse(spec):
    net = spec.network
    for i, layer in enumerate(net.layers[1:], start=1):
        m = layer.neuron.model
        where = f"network.layers[{i}] ({layer.name})"
        if m == "burst":
            raise UnsupportedRule("NIR", f"{where}: burst neuron",
                                  "NIR has no two-compartment neuron (no apical dendrite, no "
                                  "burst mechanism); a LIF export would drop the teaching "
                                  "signal and the burst multiplexing")
        if m != "lif":
            raise UnsupportedRule("NIR", f"{where}: rate neuron {m!r}",
                                  "NIR has no static nonlinearity node (no sigmoid, tanh or "
                                  "ReLU); its LI/Integrator are dynamical, not rate functions",
                                  "a spec of lif layers (time-stepped reference)")
        if layer.neuron.noise > 0:
            raise UnsupportedRule("NIR", f"{where}: noise = {layer.neuron.noise:g}",
                                  "NIR has no noise source")


def to_graph(trained, *, include_refractory_note: bool = True):
    """The NIR graph of a trained LIF network (a TrainedNetwork)."""
    from ..rules.schema import to_dict
    nir = _nir()
    spec = trained.spec
    _refuse(spec)
    net, sim = spec.network, spec.simulation
    names = [layer.name for layer in net.layers]
    rule = spec.rule
    L = len(names) - 1
    nodes = {"input": nir.Input({"input": np.array([net.sizes[0]])})}
    edges, prev = [], "input"
    for l in range(1, L + 1):
        layer = net.layers[l]
        n = layer.neuron
        k = conversion(n, dt=sim.dt, max_rate=sim.max_rate, tau_syn=n.tau_syn, gain=n.gain)
        W = np.array(trained.params.W[l - 1], dtype=np.float64)
        b = np.array(trained.params.b[l - 1], dtype=np.float64)
        b_nir = (n.threshold + n.gain * b) / (k["r"] * k["w_in"])
        eta = rule.eta_output or rule.eta if l == L else rule.eta
        proj_meta = {f"{META}.projection": f"{names[l - 1]}->{names[l]}",
                     f"{META}.bias": b, f"{META}.plastic": bool(layer.plastic),
                     f"{META}.learnable_bias": bool(layer.bias),
                     f"{META}.rule": rule.display_name,
                     f"{META}.rule_terms": "; ".join(str(t) for t in rule.resolved_terms()),
                     f"{META}.eta": float(eta)}
        shape = np.full(layer.size, 1.0)
        lif_meta = {f"{META}.model": "lif", f"{META}.tau_ref": float(n.tau_ref),
                    f"{META}.refractory": "dropped: NIR's CubaLIF has no refractory period",
                    f"{META}.constant_drive": "threshold + gain*b enters through the "
                                              "synaptic filter (Affine bias)"}
        if l < L:
            fb = net.feedback_of(l)
            lif_meta[f"{META}.feedback_kind"] = fb.kind
            src = L if fb.kind == "direct" else l + 1
            lif_meta[f"{META}.feedback_source"] = names[src]
            if l in trained.params.B:
                lif_meta[f"{META}.feedback_matrix"] = np.array(trained.params.B[l])
        nodes[f"{names[l]}.proj"] = nir.Affine(weight=W, bias=b_nir, metadata=proj_meta)
        nodes[f"{names[l]}.lif"] = nir.CubaLIF(
            tau_syn=shape * n.tau_syn, tau_mem=shape * n.tau_rc, r=shape * k["r"],
            v_leak=shape * 0.0, v_threshold=shape * n.threshold, v_reset=shape * 0.0,
            w_in=shape * k["w_in"], metadata=lif_meta)
        edges += [(prev, f"{names[l]}.proj"), (f"{names[l]}.proj", f"{names[l]}.lif")]
        prev = f"{names[l]}.lif"
    nodes["output"] = nir.Output({"output": np.array([net.sizes[-1]])})
    edges.append((prev, "output"))
    meta = {f"{META}.format": FORMAT, f"{META}.version": VERSION,
            f"{META}.spec": json.dumps(to_dict(spec)),
            f"{META}.data": json.dumps(list(trained.data_shape) if trained.data_shape else None),
            f"{META}.epoch": int(trained.epoch),
            f"{META}.dt": float(sim.dt), f"{META}.max_rate": float(sim.max_rate),
            f"{META}.input": f"{sim.encoding} rate code: a value x in [0, 1] fires at "
                             f"x * {sim.max_rate:g} Hz",
            f"{META}.readout": "class = argmax of the output layer's spike counts over "
                               f"{sim.t_example:g} s from rest",
            f"{META}.spikes": "Dirac deltas of unit area",
            f"{META}.time_unit": "s"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def export(trained, path, *, measure: bool = True, dataset=None) -> dict:
    """Write ``trained`` (a TrainedNetwork of LIF layers) to ``path`` (.nir, HDF5),
    atomically. With ``measure``, evaluates the departure NIR forces (the refractory
    period dropped) on the test set and records it. Returns a report dict."""
    import os
    nir = _nir()
    graph = to_graph(trained)
    report = {"path": str(path), "layers": [l.name for l in trained.spec.network.layers],
              "dropped": ["refractory period (tau_ref) of every layer"]}
    if measure:
        from .trained import TrainedNetwork
        spec = trained.spec
        without = spec.with_(network=_no_refractory(spec.network))
        a = trained.evaluate(dataset)
        b = TrainedNetwork(spec=without, params=trained.params,
                           data_shape=trained.data_shape).evaluate(dataset)
        report["accuracy_with_refractory"] = a["accuracy"]
        report["accuracy_without_refractory"] = b["accuracy"]
        for key in ("accuracy_with_refractory", "accuracy_without_refractory"):
            graph.metadata[f"{META}.{key}"] = float(report[key])
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    nir.write(str(tmp), graph)
    os.replace(tmp, path)
    return report


def _no_refractory(network):
    from dataclasses import replace
    layers = [replace(layer, neuron=replace(layer.neuron, tau_ref=0.0))
              if i else layer for i, layer in enumerate(network.layers)]
    return replace(network, layers=layers)


# -- import ------------------------------------------------------------------------------
def _chain(graph, source):
    """The node names from Input to Output (a simple chain), or a clear error."""
    nir = _nir()
    succ = {}
    for a, b in graph.edges:
        if a in succ:
            raise SpecError("has a node with two successors: only chains "
                            "Input -> (Affine|Linear -> CubaLIF)... -> Output are read",
                            f"edges ({a})", source=source)
        succ[a] = b
    inputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    if len(inputs) != 1:
        raise SpecError(f"needs exactly one Input node, found {len(inputs)}", "nodes",
                        source=source)
    chain, cur = [inputs[0]], inputs[0]
    while cur in succ:
        cur = succ[cur]
        if cur in chain:
            raise SpecError("has a cycle (recurrent graphs are not read)", "edges",
                            source=source)
        chain.append(cur)
    if not isinstance(graph.nodes[chain[-1]], nir.Output):
        raise SpecError("the chain from Input does not end at an Output node", "edges",
                        source=source)
    return chain


def _uniform(a, what, source):
    a = np.asarray(a, dtype=float).ravel()
    if a.size and not np.all(a == a[0]):
        raise SpecError("varies across neurons; neurolearn's layers share one value",
                        what, source=source)
    return float(a[0])


def read_graph(graph, source: str = "graph"):
    """(spec, Params, data_shape, epoch) from a NIR graph (module docstring)."""
    from ..reference.params import Params
    from ..rules.io import parse
    from ..rules.ir import Layer, Network, Neuron, Rule, Simulation, Spec
    nir = _nir()
    chain = _chain(graph, source)
    meta = graph.metadata or {}
    ours = meta.get(f"{META}.format") == FORMAT
    body = chain[1:-1]
    if len(body) % 2 or not body:
        raise SpecError("expected pairs of (Affine or Linear, CubaLIF) between Input and "
                        f"Output, got {', '.join(type(graph.nodes[n]).__name__ for n in body)}",
                        "nodes", source=source)
    if ours:
        saved = parse(Spec, json.loads(meta[f"{META}.spec"]), f"{source}: metadata spec")
        data = json.loads(meta.get(f"{META}.data", "null"))
        dt, max_rate = float(meta[f"{META}.dt"]), float(meta[f"{META}.max_rate"])
        epoch = int(meta.get(f"{META}.epoch", 0))
    else:
        saved, data, epoch = None, None, 0
        dt, max_rate = 0.001, 200.0
    n_in = int(np.asarray(graph.nodes[chain[0]].input_type["input"]).prod())
    sizes, layers, W, b, B = [n_in], [], [], [], {}
    for j in range(0, len(body), 2):
        pname, lname = body[j], body[j + 1]
        proj, lif = graph.nodes[pname], graph.nodes[lname]
        if isinstance(lif, nir.LIF) and not isinstance(lif, nir.CubaLIF):
            raise UnsupportedRule("neurolearn import", f"node {lname!r}: NIR LIF without a "
                                  "synaptic current", "neurolearn's LIF layers read their "
                                  "input through a tau_syn synaptic trace", "a CubaLIF node")
        if not isinstance(lif, nir.CubaLIF):
            raise UnsupportedRule("neurolearn import", f"node {lname!r} "
                                  f"({type(lif).__name__})", "only CubaLIF layers map to "
                                  "neurolearn's LIF", "a graph of Affine/Linear + CubaLIF")
        if not isinstance(proj, (nir.Affine, nir.Linear)):
            raise UnsupportedRule("neurolearn import", f"node {pname!r} "
                                  f"({type(proj).__name__})", "only dense Affine/Linear "
                                  "projections are read")
        weight = np.array(proj.weight, dtype=np.float64)
        n = weight.shape[0]
        if weight.shape[1] != sizes[-1]:
            raise SpecError(f"weight has {weight.shape[1]} inputs, the layer below has "
                            f"{sizes[-1]}", f"nodes.{pname}.weight", source=source)
        if _uniform(lif.v_leak, f"nodes.{lname}.v_leak", source) != 0.0 or \
                _uniform(lif.v_reset, f"nodes.{lname}.v_reset", source) != 0.0:
            raise UnsupportedRule("neurolearn import", f"node {lname!r}: v_leak or v_reset "
                                  "other than 0", "neurolearn's LIF leaks to and resets to 0")
        tau_syn = _uniform(lif.tau_syn, f"nodes.{lname}.tau_syn", source)
        tau_mem = _uniform(lif.tau_mem, f"nodes.{lname}.tau_mem", source)
        thr = _uniform(lif.v_threshold, f"nodes.{lname}.v_threshold", source)
        rw = _uniform(lif.r, f"nodes.{lname}.r", source) * \
            _uniform(lif.w_in, f"nodes.{lname}.w_in", source)
        c = tau_syn * -math.expm1(-dt / tau_syn) / dt
        gain = rw * max_rate / c
        bias_nir = np.array(getattr(proj, "bias", np.zeros(n)), dtype=np.float64).ravel()
        bias = (bias_nir * rw - thr) / gain
        exact = (lif.metadata or {}).get(f"{META}.bias")
        exact = (proj.metadata or {}).get(f"{META}.bias", exact)
        if exact is not None and ours:
            exact = np.array(exact, dtype=np.float64)
            own = saved.network.layers[len(sizes)].neuron if saved is not None else None
            if own is not None and exact.shape == bias.shape and np.array_equal(
                    (thr + own.gain * exact) / rw, bias_nir):
                bias = exact                       # the exporter's own float64 value
        W.append(weight)
        b.append(bias)
        sizes.append(n)
        name = lname[:-4] if lname.endswith(".lif") else lname
        name = name if name.isidentifier() else f"layer{len(sizes) - 1}"
        tau_ref = float((lif.metadata or {}).get(f"{META}.tau_ref", 0.0))
        layers.append(Layer(name=name, size=n, neuron=Neuron(
            model="lif", tau_rc=tau_mem, tau_ref=tau_ref, threshold=thr, tau_syn=tau_syn,
            gain=gain)))
        fbm = (lif.metadata or {}).get(f"{META}.feedback_matrix")
        if fbm is not None:
            B[len(sizes) - 2] = np.array(fbm, dtype=np.float64)
    if saved is not None:
        spec = saved
        if spec.network.sizes != sizes:
            raise SpecError(f"the metadata spec has sizes {spec.network.sizes}, the graph "
                            f"{sizes}", f"metadata {META}.spec", source=source)
    else:
        spec = Spec(name=Path(source).stem or "imported",
                    network=Network(layers=[Layer(name="input", size=n_in)] + layers),
                    rule=Rule(builtin="delta"), simulation=Simulation(dt=dt,
                                                                     max_rate=max_rate))
    # feedback matrices the spec needs but the graph did not carry are drawn as usual
    from ..reference.params import init_params
    init = init_params(spec.network, spec.training.seed)
    for l, mat in init.B.items():
        B.setdefault(l, mat)
    return spec, Params(W, b, B), (tuple(data) if data else None), epoch


def import_file(path):
    """(TrainedNetwork, report) from a .nir file."""
    from .trained import TrainedNetwork
    nir = _nir()
    path = Path(path)
    if not path.is_file():
        raise SpecError("no such file", source=str(path))
    try:
        graph = nir.read(str(path))
    except Exception as err:  # h5py/nir raise many kinds for a bad file
        raise SpecError(f"not a readable NIR file: {err}", source=str(path)) from None
    spec, params, data, epoch = read_graph(graph, path.name)
    return TrainedNetwork(spec=spec, params=params, epoch=epoch,
                          data_shape=data, path=None)
