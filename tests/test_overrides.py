"""``--set PATH=VALUE``: paths, TOML values, and errors that read like a bad spec field."""

import subprocess
import sys

import pytest

from neurolearn.errors import SpecError
from neurolearn.rules import load
from neurolearn.rules.overrides import apply, parse_assignment, single_values


@pytest.fixture
def xor(specs_dir):
    return load(specs_dir / "burstprop_xor.toml")


def test_paths_reach_nested_and_indexed_fields(xor):
    s = apply(xor, {"rule.eta": 0.01, "network.layers[1].size": 100,
                    "network.layers[1].neuron.tau_rc": 0.03, "data.dataset": "xor"})
    assert s.rule.eta == 0.01 and s.network.layers[1].size == 100
    assert s.network.layers[1].neuron.tau_rc == 0.03
    # nothing else moved
    assert s.network.layers[2] == xor.network.layers[2]
    assert s.rule.eta_output == xor.rule.eta_output and s.training == xor.training


def test_values_follow_toml_rules():
    assert parse_assignment("rule.eta=0.01,2e-2, 3") == ("rule.eta", [0.01, 0.02, 3])
    assert parse_assignment("network.feedback.kind=random") == \
        ("network.feedback.kind", ["random"])
    assert parse_assignment('network.layers[1].neuron={model="lif", tau_rc=0.01},'
                            '{model="lif"}')[1] == [{"model": "lif", "tau_rc": 0.01},
                                                    {"model": "lif"}]
    assert parse_assignment("network.layers[0].bias=true")[1] == [True]


@pytest.mark.parametrize("text,message", [
    ("rule.etaa=1", "--set: rule.etaa: unknown field (expected one of"),
    ("rule.eta=-1", "--set: rule.eta: must be a positive number, got -1.0"),
    ("rule.eta=fast", "--set: rule.eta: must be a number, got 'fast'"),
    ("network.layers[1].size=1.5", "--set: network.layers[1].size: must be an integer"),
    ("network.layers[7].size=3", "--set: network.layers[7]: index out of range (the list "
                                 "has 3 items)"),
    ("rule..eta=1", "--set: rule..eta: not a field path"),
    ("rule.eta=", "--set: rule.eta: empty value"),
    ("rule.eta", "--set: expected PATH=VALUE"),
])
def test_bad_path_or_value_is_one_spec_error(xor, text, message):
    with pytest.raises(SpecError) as err:
        path, values = parse_assignment(text)
        apply(xor, {path: values[0]})
    assert str(err.value).startswith(message)


def test_run_and_compare_take_one_value():
    with pytest.raises(SpecError, match="takes one value in 'run'"):
        single_values(["rule.eta=0.1,0.2"], "run")
    with pytest.raises(SpecError, match="rule.eta: set twice"):
        single_values(["rule.eta=0.1", "rule.eta=0.2"], "compare")


def test_cli_run_with_set_changes_the_run_and_rejects_bad_values(specs_dir, tmp_path):
    spec = specs_dir / "burstprop_xor.toml"
    cmd = [sys.executable, "-m", "neurolearn", "run", str(spec), "--quiet"]
    bad = subprocess.run(cmd + ["--set", "network.layers[1].size=0"], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("neurolearn run: error: --set: network.layers[1].size: "
                                  "must be a positive integer, got 0")
    ok = subprocess.run(cmd + ["--set", "training.epochs=1", "--set", "rule.eta=0.05",
                               "--json", str(tmp_path / "r.json")],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "(seed 0, 1 epochs)" in ok.stdout
