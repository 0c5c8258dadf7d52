"""Property-based fuzzing of every input: specs, hardware profiles and command-line
arguments through ``run``, ``check`` and ``compare``. The property: the command
succeeds, answers (``check``: 1 = does not fit), stops at its time limit (124), or
prints one clear error line with exit status 2; never a traceback, never an
exception out of ``main``, never status 3 (internal error).

The default suite runs a bounded number of examples (about 20 s); the slow suite
runs over 2,000 inputs (``python -m pytest -m slow tests/test_fuzz.py -s`` prints
the count). The machine's memory is reported as 2 GiB so a fuzzed size never makes
the run allocate much; the memory refusal itself is part of what is fuzzed.
"""

import os

import pytest

pytest.importorskip("hypothesis", reason="the fuzz suite needs hypothesis (pip install "
                                         "'neurolearn[test]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzz_inputs import (ALL_SPECS, BASE_PROFILES, BASE_SPECS, SPECS, _dumps, cli_args,
                         mutated_file, run_cli)
from neurolearn.deadline import time_limit

GIB = 1024 ** 3
PER_INPUT_S = 10.0  # wall-clock guard of one fuzzed check command
RUN_ALLOWED = (0, 1, 2, 124)
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
COUNT = {}


@pytest.fixture(autouse=True)
def small_machine(monkeypatch, tmp_path):
    monkeypatch.setattr("neurolearn.rules.limits.machine_memory", lambda: (2 * GIB, 2 * GIB))
    monkeypatch.chdir(tmp_path)  # compare's default --out lands here


def _write(tmp_path, name, suffix, data):
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(data)
    return path


def _cli(argv, allowed):
    COUNT["commands"] = COUNT.get("commands", 0) + 1
    if "--time-limit" in argv:  # run and compare bound themselves (their last option)
        outcome = run_cli(argv)
    else:  # check: a guard against a hang (it never allocates per neuron)
        with time_limit(PER_INPUT_S):
            outcome = run_cli(argv)
    problem = outcome.problem(allowed)
    assert problem is None, f"neurolearn {' '.join(map(str, argv))[:500]}\n{problem}"
    return outcome


def _count(kind):
    COUNT[kind] = COUNT.get(kind, 0) + 1


def spec_property(tmp_path, file):
    _count("specs")
    suffix, data = file
    path = _write(tmp_path, "spec", suffix, data)
    _cli(["check", path, "--profile", "loihi2"], (0, 1, 2))
    out = _cli(["run", path, "--quiet", "--time-limit", "3"], RUN_ALLOWED)
    if out.status == 0:
        assert "accuracy" in out.out or "loss" in out.out


def profile_property(tmp_path, file):
    _count("profiles")
    suffix, data = file
    path = _write(tmp_path, "chip", suffix, data)
    spec = SPECS / "fa_digits.toml"
    _cli(["check", spec, "--profile", path], (0, 1, 2))
    tiny = tmp_path / "tiny.toml"
    if not tiny.exists():
        tiny.write_text(_dumps(BASE_SPECS["fa_linear_teacher"], "toml"))
    _cli(["run", tiny, "--precision", "fixed", "--profile", path, "--quiet",
          "--time-limit", "3"], RUN_ALLOWED)


def cli_property(tmp_path, args):
    _count("command lines")
    _cli(args, RUN_ALLOWED)


# ---- default suite: bounded ------------------------------------------------------------

@settings(max_examples=40, **SETTINGS)
@given(file=mutated_file(BASE_SPECS))
def test_fuzzed_specs_give_a_clear_error_or_run(tmp_path_factory, file):
    spec_property(tmp_path_factory.mktemp("spec"), file)


@settings(max_examples=40, **SETTINGS)
@given(file=mutated_file(BASE_PROFILES))
def test_fuzzed_profiles_give_a_clear_error_or_an_answer(tmp_path_factory, file):
    profile_property(tmp_path_factory.mktemp("prof"), file)


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_fuzzed_command_lines_give_a_clear_error_or_run(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("cli")
    spec = tmp / "xor.toml"
    spec.write_text(_dumps(BASE_SPECS["burstprop_rate_xor"], "toml"))
    cli_property(tmp, data.draw(cli_args(str(spec), tmp)))


# ---- slow suite: >= 2,000 inputs ------------------------------------------------------

SLOW_EXAMPLES = int(os.environ.get("NEUROLEARN_FUZZ_EXAMPLES", "1200"))


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **{**SETTINGS, "derandomize": False})
@given(file=mutated_file(ALL_SPECS))
def test_slow_fuzzed_specs(tmp_path_factory, file):
    spec_property(tmp_path_factory.mktemp("spec"), file)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **{**SETTINGS, "derandomize": False})
@given(file=mutated_file(BASE_PROFILES))
def test_slow_fuzzed_profiles(tmp_path_factory, file):
    profile_property(tmp_path_factory.mktemp("prof"), file)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES // 2, **{**SETTINGS, "derandomize": False})
@given(data=st.data())
def test_slow_fuzzed_command_lines(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("cli")
    spec = tmp / "xor.toml"
    spec.write_text(_dumps(BASE_SPECS["burstprop_rate_xor"], "toml"))
    cli_property(tmp, data.draw(cli_args(str(spec), tmp)))


@pytest.mark.slow
def test_slow_fuzz_count_report():
    """Runs after the slow fuzz tests (file order): how many inputs they generated.
    Every one of them passed (a failure stops its test), so 0 tracebacks."""
    specs, profiles = COUNT.get("specs", 0), COUNT.get("profiles", 0)
    print(f"\nfuzz: {specs} specs, {profiles} profiles, {COUNT.get('command lines', 0)} "
          f"command lines; {COUNT.get('commands', 0)} commands run; 0 tracebacks")
    if specs and profiles:  # the slow fuzz tests ran in this session
        assert specs + profiles >= 2000
