"""NIR export and import (extra 'nir'): round trip of a trained fa_digits_spiking
network, the mapping's numbers, and refusals of what NIR cannot say."""

import math

import numpy as np
import pytest

import neurolearn
from neurolearn.cli import main
from neurolearn.errors import UnsupportedRule
from neurolearn.rules import load
from neurolearn.rules.schema import to_dict

from conftest import SPECS

nir = pytest.importorskip("nir", reason="NIR export needs the extra 'nir'")


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """fa_digits_spiking trained briefly (1 epoch of 300 images) and saved."""
    spec = load(SPECS / "fa_digits_spiking.toml")
    spec = spec.with_(training=type(spec.training)(**{**vars(spec.training), "epochs": 1}),
                      data=type(spec.data)(**{**vars(spec.data), "n_train": 300}))
    d = tmp_path_factory.mktemp("nir") / "ck"
    neurolearn.run(spec, quiet=True, save=d)
    return d


def test_round_trip_gives_identical_weights_and_outputs(trained_dir, tmp_path, capsys):
    path = tmp_path / "net.nir"
    assert main(["export", str(trained_dir), "--nir", str(path)]) == 0
    out = capsys.readouterr().out
    assert "with refractoriness" in out and "without" in out
    assert main(["import", str(path), "--out", str(tmp_path / "back"),
                 "--spec", str(tmp_path / "back.toml")]) == 0
    a, b = neurolearn.load(trained_dir), neurolearn.load(tmp_path / "back")
    assert all(np.array_equal(x, y) for x, y in zip(a.params.W, b.params.W))
    assert all(np.array_equal(x, y) for x, y in zip(a.params.b, b.params.b))
    assert a.params.B.keys() == b.params.B.keys()
    assert all(np.array_equal(a.params.B[k], b.params.B[k]) for k in a.params.B)
    assert to_dict(a.spec) == to_dict(b.spec) == to_dict(load(tmp_path / "back.toml"))
    from neurolearn.data import load_dataset
    ds = load_dataset(a.spec.data)
    assert np.array_equal(a.predict(ds.x_test), b.predict(ds.x_test))


def test_graph_numbers_follow_the_documented_mapping(trained_dir):
    from neurolearn.deploy.nirgraph import R_STEP, to_graph
    net = neurolearn.load(trained_dir)
    g = to_graph(net)
    assert [type(g.nodes[k]).__name__ for k in ("input", "hidden.proj", "hidden.lif",
                                               "output.proj", "output.lif", "output")] == \
        ["Input", "Affine", "CubaLIF", "Affine", "CubaLIF", "Output"]
    lif, proj = g.nodes["hidden.lif"], g.nodes["hidden.proj"]
    dt, rmax, tau_syn = 0.001, 200.0, 0.01
    assert np.all(lif.tau_mem == 0.02) and np.all(lif.tau_syn == tau_syn)
    assert np.all(lif.v_threshold == 1.0) and np.all(lif.v_leak == 0) and np.all(lif.v_reset == 0)
    assert np.all(lif.r == 0.02 / R_STEP)
    # one input spike: the continuous current jumps by w_in R W / tau_syn, which must equal
    # neurolearn's trace step (1 - exp(-dt/tau_syn)) / (dt rmax) times W (gain 1)
    jump = lif.w_in[0] * lif.r[0] / tau_syn
    assert jump == pytest.approx(-math.expm1(-dt / tau_syn) / (dt * rmax), rel=1e-12)
    # a constant input b_nir settles at R w_in b_nir = threshold + b
    assert np.allclose(lif.r * lif.w_in * proj.bias, 1.0 + net.params.b[0], rtol=1e-12)
    assert np.array_equal(proj.weight, net.params.W[0])
    m = lif.metadata
    assert m["neurolearn.feedback_kind"] == "random"
    assert np.array_equal(m["neurolearn.feedback_matrix"], net.params.B[1])
    assert proj.metadata["neurolearn.rule"] == "delta"
    assert proj.metadata["neurolearn.eta"] == net.spec.rule.eta


def test_graph_without_neurolearn_metadata_is_read_from_its_numbers(trained_dir, tmp_path):
    from neurolearn.deploy.nirgraph import read_graph, to_graph
    net = neurolearn.load(trained_dir)
    g = to_graph(net)
    g.metadata = {}
    for node in g.nodes.values():
        node.metadata = {}
    spec, params, _, _ = read_graph(g, "foreign.nir")
    assert spec.network.sizes == [64, 200, 10]
    assert [layer.neuron.tau_rc for layer in spec.network.layers[1:]] == [0.02, 0.02]
    for layer in spec.network.layers[1:]:
        assert layer.neuron.tau_syn == 0.01 and abs(layer.neuron.gain - 1.0) < 1e-12
    assert all(np.array_equal(x, y) for x, y in zip(params.W, net.params.W))
    for x, y in zip(params.b, net.params.b):
        assert np.max(np.abs(x - y)) < 1e-12


def test_rate_and_burst_networks_are_refused_by_name(tmp_path, capsys):
    spec = load(SPECS / "fa_digits.toml")
    spec = spec.with_(training=type(spec.training)(**{**vars(spec.training), "epochs": 1}))
    neurolearn.run(spec, quiet=True, save=tmp_path / "rate")
    assert main(["export", str(tmp_path / "rate"), "--nir", str(tmp_path / "r.nir")]) == 2
    err = capsys.readouterr().err
    assert "network.layers[1] (h1): rate neuron 'tanh' cannot run on NIR" in err
    assert "no static nonlinearity" in err
    from neurolearn.deploy.nirgraph import to_graph
    from neurolearn.deploy.trained import TrainedNetwork
    from neurolearn.reference.params import init_params
    burst = load(SPECS / "burstprop_xor.toml")
    with pytest.raises(UnsupportedRule, match="burst neuron cannot run on NIR: NIR has no "
                                              "two-compartment neuron"):
        to_graph(TrainedNetwork(spec=burst, params=init_params(burst.network, 0)))
    assert not (tmp_path / "r.nir").exists()


def test_import_of_a_bad_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.nir"
    bad.write_text("not hdf5")
    assert main(["import", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "not a readable NIR file" in capsys.readouterr().err
