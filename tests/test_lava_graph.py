"""The Lava process graph API (neurolearn.backends.lava.processes): the lowered
processes built in a user's own interpreter, run there with the returned run
configuration, learn the same weights as the backend's runtime. Lava is never
imported into the pytest process (it sets multiprocessing's start method and a
session that never calls stop() hangs at exit): the graph runs in a subprocess."""

import importlib.util
import json
import textwrap

import numpy as np
import pytest

from neurolearn.backends.lava import lower, simulate
from neurolearn.rules.catalog import catalog
from script_runner import run_script

pytestmark = pytest.mark.skipif(importlib.util.find_spec("lava") is None,
                                reason="lava is not installed (pip install 'neurolearn[lava]')")

ROW = "delta · DFA · lif"
STEPS = 60

SCRIPT = textwrap.dedent('''
    import json, os, sys
    import numpy as np
    from lava.magma.core.process.neuron import LearningNeuronProcess
    from lava.magma.core.run_conditions import RunSteps
    from neurolearn.backends import lava as nl_lava
    from neurolearn.rules.catalog import catalog

    spec = dict(catalog())[sys.argv[1]]
    g = nl_lava.processes(spec, steps=int(sys.argv[2]))
    pops = [g.layers[n]["population"] for n in g.layers]
    info = {"learning_neuron": all(isinstance(p, LearningNeuronProcess) for p in pops),
            "num_steps": g.num_steps, "layers": list(g.layers),
            "feedback": sorted(n for n in g.layers if "feedback" in g.layers[n])}
    g.source.run(condition=RunSteps(num_steps=g.num_steps), run_cfg=g.run_cfg)
    W, b = g.weights(), g.biases()
    info["activity_var"] = [float(v) for v in pops[-1].activity.get()]
    g.source.stop()
    np.savez(sys.argv[3], **{f"W_{k}": v for k, v in W.items()},
             **{f"b_{k}": v for k, v in b.items()})
    print(json.dumps(info))
    sys.stdout.flush()
    os._exit(0)
''')


def test_graph_built_and_run_by_the_user_learns_what_the_runtime_learns(tmp_path):
    script = tmp_path / "graph.py"
    script.write_text(SCRIPT)
    out = tmp_path / "weights.npz"
    rc, text = run_script(script, ROW, STEPS, out)
    assert rc == 0, text[-3000:]
    info = json.loads(text.strip().splitlines()[-1])
    assert info["learning_neuron"] and info["num_steps"] == STEPS
    assert info["layers"] == ["h1", "h2", "output"] and info["feedback"] == ["h1", "h2"]
    got = np.load(out)
    ref = simulate(dict(catalog())[ROW], steps=STEPS, record_every=STEPS, variant="stock",
                   time_limit=240)
    W0 = lower(dict(catalog())[ROW]).params.W
    for (name, w), w0 in zip(ref.weights.items(), W0):
        assert np.abs(w[-1] - w0).max() > 0  # it learned
        assert np.array_equal(got[f"W_{name}"], w[-1]), name
    for name, b in zip(ref.weights, ref.extra["params"].b):
        assert np.array_equal(got[f"b_{name}"], b), name
    # the population's Vars carry its state: the output's activity trace is the readout
    assert np.array_equal(np.array(info["activity_var"]), ref.outputs[-1])
