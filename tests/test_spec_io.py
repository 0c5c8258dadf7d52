"""Spec files: exact round trip for every node type, and errors that name the field."""

import json

import pytest

from neurolearn.errors import SpecError
from neurolearn.rules import (Data, Factor, Feedback, Init, Layer, Network, Neuron, Rule,
                              Simulation, Spec, Term, Training, dumps, load, loads, save)
from neurolearn.rules.io import parse
from neurolearn.rules.schema import to_dict

NODES = [
    Init("normal", 0.3),
    Feedback("learned", Init("uniform", 0.2), decay=0.01),
    Neuron("lif", tau_rc=0.05, tau_ref=0.001, threshold=0.5),
    Neuron("burst", p_baseline=0.3, beta=2.0, burst_window=0.01, tau_avg=1.5),
    Layer("h", 7, Neuron("tanh"), bias=False, plastic=False, feedback=Feedback("direct")),
    Network([Layer("i", 3), Layer("o", 2)], Feedback("transport"), Init("zeros", 0.0)),
    Factor("pre", "event_trace", 0.1),
    Factor("syn", "w"),
    Term([Factor("pre", "activity"), Factor("post", "activity")], coeff=-0.5,
         when="post_spike"),
    Rule(name="oja", terms=[Term([Factor("pre", "activity"), Factor("post", "activity")])],
         eta=0.1, eta_output=0.2, description="Oja"),
    Rule(builtin="burstprop"),
    Data("fashion_mnist", path="/tmp/x", n_train=10, n_test=5),
    Data("linear_teacher", noise=0.1),
    Training(epochs=3, batch_size=8, loss="cross_entropy", seed=4, momentum=0.5,
             mode="batched"),
    Simulation(dt=0.002, t_example=0.05, max_rate=100.0, encoding="poisson"),
]


@pytest.mark.parametrize("fmt", ["toml", "json"])
@pytest.mark.parametrize("node", NODES, ids=lambda n: type(n).__name__)
def test_every_node_round_trips(node, fmt):
    text = dumps(node, fmt)
    back = loads(text, fmt, cls=type(node))
    assert back == node
    assert dumps(back, fmt) == text


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_every_example_spec_round_trips(specs_dir, tmp_path, fmt):
    for path in sorted(specs_dir.glob("*.toml")):
        spec = load(path)
        out = save(spec, tmp_path / f"{path.stem}.{fmt}")
        assert load(out) == spec, path.name


def test_full_spec_round_trip_keeps_every_field(tmp_path):
    spec = Spec("full", Network([Layer("i", 2), Layer("h", 3, Neuron("burst_rate")),
                                 Layer("o", 1, Neuron("burst_rate"))]),
                Rule(builtin="burstprop_rate", eta=0.3), Data("xor"),
                Training(epochs=2), Simulation(dt=0.0005), "a description")
    for fmt in ("toml", "json"):
        assert load(save(spec, tmp_path / f"s.{fmt}")) == spec


def write(tmp_path, text, name="fa.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = '''
name = "x"
[network]
layers = [{name = "input", size = 64}, {name = "h", size = 10}, {name = "out", size = 10}]
[rule]
builtin = "delta"
'''


def test_issue_example_message(tmp_path):
    bad = GOOD.replace('{name = "h", size = 10}', '{name = "h", size = -3}')
    with pytest.raises(SpecError) as err:
        load(write(tmp_path, bad))
    assert str(err.value) == ("fa.toml: network.layers[1].size: must be a positive "
                              "integer, got -3")


@pytest.mark.parametrize("old,new,message", [
    ('size = 10}, {name = "out"', 'size = "ten"}, {name = "out"',
     "network.layers[1].size: must be an integer, got 'ten'"),
    ('builtin = "delta"', 'builtin = "nope"', "rule.builtin: unknown built-in rule 'nope'"),
    ('builtin = "delta"', 'builtin = "delta"\neta = -1', "rule.eta: must be a positive number"),
    ('builtin = "delta"', '', "rule: give either builtin = NAME or terms = [...]"),
    ('name = "x"', 'name = "x"\nepochs = 3', "fa.toml: epochs: unknown field"),
    ('{name = "h", size = 10}', '{name = "h", size = 10, neuron = {model = "izh"}}',
     "network.layers[1].neuron.model: must be one of"),
    ('{name = "h", size = 10}', '{name = "input", size = 10}',
     "network.layers[1].name: duplicate layer name 'input'"),
    ('builtin = "delta"', 'builtin = "burstprop_rate"',
     "network.layers[1].neuron.model: rule 'burstprop_rate' uses post signal "
     "'burst_prob_dev', which needs neuron model 'burst_rate', got 'sigmoid'"),
    ('builtin = "delta"', 'terms = [{factors = [{kind = "post", signal = "voltage"}]}]',
     "rule.terms[0].factors[0].signal: unknown post signal 'voltage'"),
    ('builtin = "delta"', 'terms = [{factors = []}]',
     "rule.terms[0].factors: a term needs at least one factor"),
    ('[network]', 'version = 3\n[network]', "version: must be 2, got 3"),
])
def test_bad_input_names_file_field_and_reason(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(SpecError) as err:
        load(write(tmp_path, GOOD.replace(old, new)))
    assert str(err.value).startswith("fa.toml: ")
    assert message in str(err.value)


def test_spec_built_in_python_is_validated_like_the_file_form(tmp_path):
    """The same bad size fails with the same error class and reason in both forms;
    the Python form names the node type, since a node is checked where it is built."""
    with pytest.raises(SpecError) as from_file:
        load(write(tmp_path, GOOD.replace('{name = "h", size = 10}',
                                          '{name = "h", size = -3}')))
    with pytest.raises(SpecError) as in_python:
        Spec("x", Network([Layer("input", 64), Layer("h", -3), Layer("out", 10)]),
             Rule(builtin="delta"))
    assert in_python.value.reason == from_file.value.reason == \
        "must be a positive integer, got -3"
    assert str(in_python.value) == "Layer.size: must be a positive integer, got -3"
    assert str(from_file.value) == \
        "fa.toml: network.layers[1].size: must be a positive integer, got -3"
    # cross-field checks run at construction too
    with pytest.raises(SpecError, match="duplicate layer name 'input'"):
        Network([Layer("input", 2), Layer("input", 3)])
    with pytest.raises(SpecError, match="needs neuron model 'burst_rate'"):
        Spec("x", Network([Layer("i", 2), Layer("o", 1)]), Rule(builtin="burstprop_rate"))


def test_neuron_models_are_typed_and_take_only_their_parameters(tmp_path):
    from neurolearn.rules.neurons import LIF, Burst
    assert isinstance(Neuron("burst"), LIF) and isinstance(Neuron("burst"), Burst)
    with pytest.raises(SpecError, match=r"LIF.tau_rc: must be a positive number"):
        Neuron("lif", tau_rc=-1.0)
    with pytest.raises(TypeError):
        Neuron("lif", p_baseline=0.3)  # a burst parameter
    bad = GOOD.replace('{name = "h", size = 10}',
                       '{name = "h", size = 10, neuron = {model = "lif", beta = 2.0}}')
    with pytest.raises(SpecError, match=r"network.layers\[1\].neuron.beta: unknown field"):
        load(write(tmp_path, bad))


def test_version_1_specs_are_refused_with_the_migration(tmp_path):
    with pytest.raises(SpecError) as err:
        load(write(tmp_path, 'version = 1\n' + GOOD))
    msg = str(err.value)
    assert msg.startswith("fa.toml: version: format version 1 is no longer read")
    assert "eta is per example" in msg and "From version 1" in msg


def test_invalid_toml_and_json_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"^fa.toml: not valid TOML"):
        load(write(tmp_path, "name = "))
    with pytest.raises(SpecError, match=r"^fa.json: not valid JSON"):
        load(write(tmp_path, "{", "fa.json"))
    with pytest.raises(SpecError, match="cannot read"):
        load(tmp_path / "absent.toml")
    with pytest.raises(SpecError, match="unknown spec format 'yaml'"):
        load(write(tmp_path, "", "fa.yaml"))


def test_data_that_does_not_fit_the_network_names_the_layer(tmp_path):
    import neurolearn
    spec = load(write(tmp_path, GOOD.replace('size = 64', 'size = 63')))
    with pytest.raises(SpecError, match=r"network.layers\[0\].size: must equal the input "
                                        r"size of data set 'digits' \(64\), got 63"):
        neurolearn.run(spec, epochs=1, quiet=True)


def test_failed_save_keeps_existing_file(tmp_path):
    spec = load(write(tmp_path, GOOD))
    target = save(spec, tmp_path / "keep.json")
    before = target.read_text()
    bad = Spec("bad", spec.network, Rule(builtin="delta"))
    object.__setattr__(bad.rule, "description", object())  # not serialisable
    with pytest.raises(TypeError):
        save(bad, target)
    assert target.read_text() == before
    assert json.loads(before)["name"] == "x"


def test_parse_accepts_plain_dicts():
    spec = parse(Spec, to_dict(load_spec_text()))
    assert spec.rule.builtin == "delta"


def load_spec_text():
    return loads(GOOD)


def test_format_reference_matches_the_code():
    from pathlib import Path
    from neurolearn.rules.docs import render
    doc = Path(__file__).resolve().parent.parent / "docs" / "format.md"
    assert doc.read_text() == render(), "regenerate: python -m neurolearn.rules.docs > docs/format.md"
