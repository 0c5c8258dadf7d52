"""Every reproducer of issue 11 gets one clear line and exit status 2; outputs are
atomic, never over an input, checked before work; ``--time-limit`` stops every
backend. (Signals to a running Lava run: test_lava_lifecycle.py; fuzzing:
test_fuzz.py.)"""

import errno
import gzip
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "examples" / "specs"
PROFILE = ROOT / "hardware_profiles" / "loihi2.toml"
# fa_digits without its trailing [simulation] table, so a case can append tables
FA = (SPECS / "fa_digits.toml").read_text().split("\n# Time-stepped runs")[0]
GIB = 1024 ** 3


def one_error(outcome, *needles):
    """Exit 2, no traceback, exactly one stderr line naming every needle."""
    assert outcome.exc is None, repr(outcome.exc)
    assert outcome.status == 2, outcome.err
    assert "Traceback" not in outcome.err
    lines = [ln for ln in outcome.err.splitlines() if ln.strip()]
    assert len(lines) == 1, outcome.err
    assert len(lines[0]) < 600, lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def put(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def profile_with(figure, value):
    text = PROFILE.read_text()
    new = re.sub(r"(\[%s\]\nvalue = )[-0-9]+" % re.escape(figure), rf"\g<1>{value}", text)
    assert new != text
    return new


# ---- specs -----------------------------------------------------------------------------

SPEC_CASES = {
    "not UTF-8": (b'name = "caf\xe9"\n', ["not UTF-8", "0xe9"]),
    "TOML nested 500 deep": ("a = " + "[" * 500 + "]" * 500 + "\n",
                             ["not valid TOML", "MAX_NESTING"]),
    "5,000-digit integer": ("name = 1" + "0" * 5000 + "\n", ["not valid TOML", "digits"]),
    "hidden layer of 10^9": (FA.replace('name = "h1", size = 128', 'name = "h1", size = 1000000000'),
                             ["network.layers[1].size", "MAX_LAYER_SIZE", "1000000000"]),
    "init.scale 1e308": (FA + "\n[network.init]\nscale = 1e308\n",
                         ["network.init.scale", "MAX_MAGNITUDE", "1e+308"]),
    "tau_ref 1e300": (FA.replace('{model = "tanh"}', '{model = "lif", tau_ref = 1e300}', 1),
                      ["network.layers[1].neuron.tau_ref", "MAX_TIME_CONSTANT"]),
    "dt 1e-9": (FA + "\n[simulation]\ndt = 1e-9\n", ["simulation.dt", "MIN_DT", "1e-09"]),
    "learned feedback, only syn terms": (
        'name = "s"\n[network]\nlayers = [{name="i", size=64}, {name="h", size=8}, '
        '{name="o", size=10}]\nfeedback = {kind="learned"}\n[rule]\n'
        'terms = [{factors = [{kind="syn", signal="w"}]}]\n',
        ["network.feedback.kind", "'learned'", "without syn"]),
    "10 MB name": ('name = "' + "x" * 10_000_000 + '"\n', ["MAX_FILE_BYTES"]),
    "long bad layer name": (FA.replace('name = "h1"', 'name = "1' + "h" * 100_000 + '"'),
                            ["network.layers[1].name", "at most 200 characters"]),
    "unknown field of 5,000 characters": (FA + "\n" + "k" * 5000 + " = 1\n",
                                          ["unknown field", "..."]),
    "huge value echoed cut": (FA.replace('builtin = "delta"', 'builtin = "' + "d" * 5000 + '"'),
                              ["rule.builtin", "...' (5,000 characters)"]),
}


@pytest.mark.parametrize("case", list(SPEC_CASES))
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_spec_gives_one_clear_line_and_exit_2(tmp_path, case, command):
    text, needles = SPEC_CASES[case]
    spec = put(tmp_path, "bad.toml", text)
    argv = [command, spec] + (["--profile", "loihi2"] if command == "check" else ["--quiet"])
    one_error(run_cli(argv), "bad.toml", *needles)


def test_json_nested_2000_deep(tmp_path):
    spec = put(tmp_path, "deep.json", '{"name": ' + "[" * 2000 + "]" * 2000 + "}")
    one_error(run_cli(["run", spec]), "deep.json", "not valid JSON", "MAX_NESTING")


def test_memory_estimated_before_allocation(tmp_path, monkeypatch):
    monkeypatch.setattr("neurolearn.rules.limits.machine_memory", lambda: (24 * GIB, 20 * GIB))
    spec = put(tmp_path, "big.toml", FA.replace('name = "h1", size = 128',
                                                'name = "h1", size = 20000000'))
    t0 = time.monotonic()
    line = one_error(run_cli(["run", spec, "--quiet"]), "big.toml", "network.layers",
                     "this machine has 24 GiB", "GiB of memory")
    assert time.monotonic() - t0 < 5  # refused, not attempted
    need = float(re.search(r"needs at least ([0-9.]+) GiB", line).group(1))
    # W of 64x2e7, 2e7x128 and 128x10 (float64, weights + update + feedback) alone:
    assert need >= 3 * 8 * (64 * 2e7 + 2e7 * 128) / GIB


def test_shipped_unsupervised_examples_run_from_the_cli():
    for name in ("oja_pca", "bcm_selectivity"):
        out = run_cli(["run", SPECS / f"{name}.toml", "--quiet"])
        assert out.status == 0 and "loss" in out.out, out.err


def test_oja_example_from_the_cli_finds_the_first_principal_component():
    import neurolearn
    res = neurolearn.run(SPECS / "oja_pca.toml", quiet=True)
    w = res.weights[0][0]
    a = np.random.default_rng(1).standard_normal((5, 5))  # the data set's covariance
    pc1 = np.linalg.eigh(a @ a.T / 5)[1][:, -1]
    assert abs(np.linalg.norm(w) - 1) < 0.02 and abs(w @ pc1) / np.linalg.norm(w) > 0.99


def test_data_set_size_mismatch_names_the_spec_file(tmp_path):
    spec = put(tmp_path, "mine.toml", FA.replace('name = "input", size = 64',
                                                 'name = "input", size = 5'))
    one_error(run_cli(["run", spec, "--quiet"]), "mine.toml: network.layers[0].size",
              "input size of data set 'digits' (64), got 5")


# ---- profiles --------------------------------------------------------------------------

PROFILE_CASES = {
    "weights.bits = 10^6": (profile_with("weights.bits", 10 ** 6),
                            ["weights.bits.value", "MAX_VALUE_BITS"]),
    "traces.bits = 0": (profile_with("traces.bits", 0), ["traces.bits.value", "positive"]),
    "epoch_bits = 2^63-1": (profile_with("learning.epoch_bits", 2 ** 63 - 1),
                            ["learning.epoch_bits.value", "MAX_EPOCH_BITS"]),
    "accumulator_bits = 10^6": (profile_with("learning.accumulator_bits", 10 ** 6),
                                ["learning.accumulator_bits.value", "MAX_ACCUMULATOR_BITS"]),
    "rules = []": (PROFILE.read_text().replace("[chip.chips]", "rules = []\n[chip.chips]")
                   .split("\n[rules.")[0], ["rules", "must be a table"]),
    "exponent_min > exponent_max": (profile_with("learning.exponent_min", 9),
                                    ["learning.exponent_max.value", "at least"]),
}


@pytest.mark.parametrize("case", list(PROFILE_CASES))
def test_bad_profile_gives_one_clear_line_and_exit_2(tmp_path, case):
    text, needles = PROFILE_CASES[case]
    prof = put(tmp_path, "chip.toml", text)
    t0 = time.monotonic()
    one_error(run_cli(["check", SPECS / "fa_digits.toml", "--profile", prof]), "chip.toml",
              *needles)
    one_error(run_cli(["run", SPECS / "fa_linear_teacher.toml", "--precision", "fixed",
                       "--profile", prof, "--epochs", "1", "--quiet"]), "chip.toml", *needles)
    assert time.monotonic() - t0 < 10


def test_zero_compartments_is_a_real_zero_and_does_not_fit(tmp_path):
    prof = put(tmp_path, "chip.toml", profile_with("core.compartments", 0))
    out = run_cli(["check", SPECS / "fa_digits.toml", "--profile", prof])
    assert out.status == 1, out.out + out.err
    assert "core.compartments: h1: value 128, limit 0" in out.out


# ---- data folders ----------------------------------------------------------------------

def _idx(path, arr, code=0x08, gz=False):
    head = bytes([0, 0, code, arr.ndim]) + b"".join(int(n).to_bytes(4, "big")
                                                    for n in arr.shape)
    body = arr.astype({0x08: np.uint8, 0x0D: ">f4"}[code]).tobytes()
    (gzip.open if gz else open)(path, "wb").write(head + body)


def _idx_folder(folder, case):
    rng = np.random.default_rng(0)
    imgs, labs = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 10, 20)
    _idx(folder / "train-images-idx3-ubyte.gz", imgs, gz=True)
    _idx(folder / "train-labels-idx1-ubyte", labs)
    _idx(folder / "t10k-images-idx3-ubyte", imgs[:5])
    _idx(folder / "t10k-labels-idx1-ubyte", labs[:5])
    labels, test_imgs = folder / "train-labels-idx1-ubyte", folder / "t10k-images-idx3-ubyte"
    gz = folder / "train-images-idx3-ubyte.gz"
    if case == "truncated":
        test_imgs.write_bytes(test_imgs.read_bytes()[:-7])
        return test_imgs, "truncated IDX file"
    if case == "corrupt gzip":
        raw = bytearray(gz.read_bytes())
        raw[30:60] = b"\0" * 30
        gz.write_bytes(bytes(raw))
        return gz, "corrupt or truncated gzip"
    if case == "truncated gzip":
        gz.write_bytes(gz.read_bytes()[:200])
        return gz, "corrupt or truncated gzip"
    if case == "label 200":
        labs[3] = 200
        _idx(labels, labs)
        return labels, "label 200 at index 3 is outside 0..9"
    if case == "float labels":
        _idx(labels, labs.astype(float), code=0x0D)
        return labels, "labels must be integers"
    if case == "count mismatch":
        _idx(labels, labs[:15])
        return labels, "15 labels for 20 images"
    if case == "not IDX":
        labels.write_bytes(b"hello")
        return labels, "not an IDX file"
    if case == "header only":
        labels.write_bytes(bytes([0, 0, 8, 1]))
        return labels, "truncated IDX header"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["truncated", "corrupt gzip", "truncated gzip", "label 200",
                                  "float labels", "count mismatch", "not IDX", "header only"])
def test_malformed_idx_folder_names_the_file(tmp_path, case):
    folder = tmp_path / "idx"
    folder.mkdir()
    bad_file, reason = _idx_folder(folder, case)
    spec = put(tmp_path, "m.toml", 'name = "m"\n[network]\nlayers = [{name="i", size=784}, '
               '{name="o", size=10}]\n[rule]\nbuiltin = "delta"\n[data]\ndataset = "mnist"\n'
               f'path = "{folder}"\n[training]\nepochs = 1\n')
    one_error(run_cli(["run", spec, "--quiet"]), str(bad_file), reason)


# ---- command-line arguments ------------------------------------------------------------

CLI_CASES = [
    (["run", "{spec}", "--seed", "-1"], ["argument --seed", "non-negative integer, got -1"]),
    (["run", "{spec}", "--seed", "4294967296", "--backend", "nengo"],
     ["argument --seed", "below 4,294,967,296"]),
    (["run", "{spec}", "--epochs", "0"], ["--epochs: 0 means", "--init-from"]),
    (["run", "{spec}", "--epochs", "-1"], ["argument --epochs", "got -1"]),
    (["run", "{spec}", "--epochs", "-1", "--backend", "nengo"], ["argument --epochs"]),
    (["run", "{spec}", "--epochs", "10000000"], ["argument --epochs", "MAX_EPOCHS"]),
    (["run", "{spec}", "--seed", "x" * 5000], ["argument --seed", "...", "characters"]),
    (["run", "{spec}", "--time-limit", "0"], ["argument --time-limit", "positive"]),
    (["run", "{spec}", "--time-limit", "nan"], ["argument --time-limit"]),
    (["run", "{spec}", "--backend", "tpu"], ["argument --backend", "invalid choice"]),
    (["compare", "{spec}", "--steps", "0"], ["argument --steps", "positive integer"]),
    (["compare", "{spec}", "--record-every", "-3"], ["argument --record-every"]),
    (["compare", "{spec}", "--task-epochs", "-1"], ["argument --task-epochs"]),
    (["compare", "{spec}", "--steps", "5", "--record-every", "10", "--backends", "numpy"],
     ["--record-every", "at most --steps"]),
    (["compare", "{spec}", "--backends", "numpy,tpu"], ["--backends", "unknown backend"]),
    (["check", "{spec}", "--profile", "nope"], ["--profile", "unknown profile 'nope'"]),
    (["check", "{spec}"], ["--profile", "required"]),
    (["run"], ["spec"]),
    (["frobnicate"], ["invalid choice"]),
]
# every file or folder argument: a name the OS refuses as too long (ENAMETOOLONG from
# open or even Path.exists) is refused at parse time, naming the option (fuzzer find:
# check --profile 111...1 was an internal error)
_LONG = "n" * 300
CLI_CASES += [(argv, [f"argument {opt}", "300 bytes", "longer than the file system allows"])
              for opt, argv in [
                  ("spec", ["run", _LONG]),
                  ("--profile", ["check", "{spec}", "--profile", _LONG]),
                  ("--init-from", ["check", "{spec}", "--profile", "loihi2", "--init-from",
                                   _LONG]),
                  ("--json", ["check", "{spec}", "--profile", "loihi2", "--json", _LONG]),
                  ("--profile", ["run", "{spec}", "--profile", "sub/" + _LONG]),
                  ("--save", ["run", "{spec}", "--save", _LONG + "/ckpt"]),
                  ("--resume", ["run", "{spec}", "--resume", _LONG]),
                  ("--init-from", ["run", "--init-from", _LONG]),
                  ("--json", ["run", "{spec}", "--json", _LONG]),
                  ("--out", ["compare", "{spec}", "--out", _LONG]),
                  ("--json", ["compare", "{spec}", "--json", _LONG]),
                  ("DIR", ["export", _LONG, "--nir", "x.nir"]),
                  ("--nir", ["export", "ckpt", "--nir", _LONG]),
                  ("FILE", ["import", _LONG, "--out", "o"]),
                  ("--out", ["import", "x.nir", "--out", _LONG]),
                  ("--spec", ["import", "x.nir", "--out", "o", "--spec", _LONG]),
                  ("--out", ["sweep", "{spec}", "--out", _LONG]),
                  ("--json", ["grid", "--json", _LONG]),
                  ("--markdown", ["grid", "--markdown", _LONG])]]
CLI_CASES.append((["run", "{spec}", "--json", "/".join(["ab"] * 2100)],
                  ["argument --json", "a path of 6,299 bytes", "longer than the file system"]))


@pytest.mark.parametrize("argv,needles", CLI_CASES, ids=lambda v: " ".join(v)[:40]
                         if isinstance(v, list) else None)
def test_bad_command_line_gives_one_clear_line_and_exit_2(argv, needles):
    t0 = time.monotonic()
    argv = [a.replace("{spec}", str(SPECS / "fa_digits.toml")) for a in argv]
    one_error(run_cli(argv), *needles)
    assert time.monotonic() - t0 < 5  # refused before any training


def test_a_too_long_name_made_inside_a_command_is_bad_input(monkeypatch, capsys):
    """A name the command builds from its input (a folder under --out named after the
    spec) that the OS refuses: exit 2 naming the file, not an internal error."""
    from neurolearn import cli
    from neurolearn.cli import rules_cmd

    def too_long(args):
        raise OSError(errno.ENAMETOOLONG, "File name too long", "out/" + "s" * 400)
    monkeypatch.setattr(rules_cmd, "main", too_long)
    assert cli.main(["rules"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neurolearn rules: error: out/sss")
    assert err[0].endswith("file name too long") and "characters" in err[0]
    # any other OSError is still a bug: status 3 with its traceback
    monkeypatch.setattr(rules_cmd, "main", lambda args: open("/nonexistent/x"))
    assert cli.main(["rules"]) == 3
    assert "internal error" in capsys.readouterr().err


def test_load_profile_with_a_too_long_name_is_unknown_not_a_crash():
    from neurolearn.errors import SpecError
    from neurolearn.hardware.profile import load_profile
    with pytest.raises(SpecError, match="unknown profile"):
        load_profile("1" * 300)
    with pytest.raises(SpecError, match="no such profile file"):
        load_profile("sub/" + "1" * 300 + ".toml")


def test_reproducers_in_a_real_process(tmp_path):
    """The same clear line and status from the installed command, not only in-process."""
    bad = put(tmp_path, "bad.toml", b'name = "\xff"\n')
    for argv, needle in ((["run", str(bad)], "not UTF-8"),
                         (["run", str(SPECS / "fa_digits.toml"), "--seed", "-1"], "--seed")):
        p = subprocess.run([sys.executable, "-m", "neurolearn", *argv], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


# ---- outputs ---------------------------------------------------------------------------

@pytest.fixture
def xor_spec(tmp_path):
    return put(tmp_path, "xor.toml", (SPECS / "burstprop_rate_xor.toml").read_text()
               .replace("epochs = ", "epochs = 1 #"))


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    from neurolearn import outputs
    target = tmp_path / "report.json"
    target.write_text('{"previous": true}\n')
    real_write = outputs.os.write
    calls = []

    def disk_full(fd, data):
        if calls:  # the first chunk gets through, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        calls.append(1)
        return real_write(fd, bytes(data)[:10])

    monkeypatch.setattr(outputs.os, "write", disk_full)
    with pytest.raises(outputs.OutputError, match="No space left on device.*unchanged"):
        outputs.write_atomic(target, json.dumps({"new": list(range(1000))}), option="--json")
    assert target.read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp file


def test_interrupted_write_keeps_the_previous_file(tmp_path, monkeypatch):
    from neurolearn import outputs
    target = tmp_path / "spec.toml"
    target.write_text("old\n")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        outputs.write_atomic(target, "new\n")
    assert target.read_text() == "old\n" and len(list(tmp_path.iterdir())) == 1


def test_rules_save_and_report_writes_are_atomic(tmp_path, monkeypatch):
    """rules.save and RunResult.write_json go through write_atomic."""
    from neurolearn import outputs
    from neurolearn.result import RunResult
    from neurolearn.rules import load, save
    spec = load(SPECS / "fa_digits.toml")
    seen = []
    real = outputs.write_atomic
    monkeypatch.setattr(outputs, "write_atomic",
                        lambda path, data, **kw: seen.append(Path(path).name) or
                        real(path, data, **kw))
    save(spec, tmp_path / "s.toml")
    RunResult("numpy", "delta", "digits", 0, 1).write_json(tmp_path / "r.json")
    assert seen == ["s.toml", "r.json"]
    assert load(tmp_path / "s.toml") == spec


@pytest.mark.parametrize("command", ["run", "check", "compare"])
def test_json_over_an_input_is_refused_and_the_input_kept(tmp_path, xor_spec, command):
    before = xor_spec.read_bytes()
    extra = {"run": ["--quiet"], "check": ["--profile", "loihi2"],
             "compare": ["--backends", "numpy", "--no-plots"]}[command]
    # the same file reached through another path still counts
    other = tmp_path / "sub" / ".." / "xor.toml"
    (tmp_path / "sub").mkdir()
    out = run_cli([command, xor_spec, "--json", other, *extra])
    one_error(out, "--json", "is an input of this command", "refusing to write over it")
    assert xor_spec.read_bytes() == before
    assert "spec " not in out.out  # refused before training


def test_json_over_the_profile_is_refused(tmp_path):
    prof = put(tmp_path, "chip.toml", PROFILE.read_text())
    out = run_cli(["check", SPECS / "fa_digits.toml", "--profile", prof, "--json", prof])
    one_error(out, "--json", "is an input")
    assert prof.read_text() == PROFILE.read_text()


@pytest.mark.parametrize("where,reason", [("{tmp}", "is a folder"),
                                          ("/proc/neurolearn/r.json", "cannot create folder"),
                                          ("/proc/r.json", "cannot write in /proc")])
def test_unwritable_json_fails_before_training(tmp_path, xor_spec, where, reason):
    t0 = time.monotonic()
    out = run_cli(["run", xor_spec, "--epochs", "1000000", "--quiet",
                   "--json", where.replace("{tmp}", str(tmp_path))])
    one_error(out, "--json", reason)
    assert time.monotonic() - t0 < 5  # a million epochs would take minutes


def test_a_device_is_written_in_place_never_replaced(tmp_path):
    """Renaming over /dev/full (we may run as root) would replace the device."""
    import stat
    out = run_cli(["check", SPECS / "fa_digits.toml", "--profile", "loihi2",
                   "--json", "/dev/full"])
    one_error(out, "--json /dev/full", "No space left on device")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_symlinked_report_keeps_its_link(tmp_path):
    (tmp_path / "real.json").write_text("{}")
    (tmp_path / "link.json").symlink_to("real.json")
    out = run_cli(["check", SPECS / "fa_digits.toml", "--profile", "loihi2",
                   "--json", tmp_path / "link.json"])
    assert out.status in (0, 1), out.err
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "real.json").read_text())["profile"] == "loihi2"


def test_json_folders_are_created(tmp_path, xor_spec):
    target = tmp_path / "a" / "b" / "r.json"
    out = run_cli(["run", xor_spec, "--quiet", "--json", target])
    assert out.status == 0, out.err
    assert json.loads(target.read_text())["backend"] == "numpy"


nengo_only = pytest.mark.skipif(importlib.util.find_spec("nengo") is None,
                                reason="needs nengo (pip install 'neurolearn[nengo]')")


@nengo_only
def test_compare_prints_its_table_when_plots_cannot_be_written(tmp_path, xor_spec,
                                                               monkeypatch):
    from neurolearn.outputs import OutputError

    def full(path, data, **kw):
        raise OutputError(path, "cannot write: No space left on device", "--out")

    pytest.importorskip("matplotlib")
    monkeypatch.setattr("neurolearn.outputs.write_atomic", full)
    out = run_cli(["compare", xor_spec, "--backends", "nengo", "--steps", "300", "--quiet",
                   "--out", tmp_path / "plots"])
    assert out.status == 2, out.err
    assert "verdict" in out.out and "nengo" in out.out  # the table came out
    assert "plots not written" in out.err and "No space left" in out.err
    assert list((tmp_path / "plots").iterdir()) == []  # no half-made run folder


@nengo_only
def test_two_compare_runs_into_one_out_keep_their_own_folders(tmp_path, xor_spec):
    pytest.importorskip("matplotlib")
    for _ in range(2):
        out = run_cli(["compare", xor_spec, "--backends", "nengo", "--steps", "300",
                       "--quiet", "--out", tmp_path / "plots"])
        assert out.status == 0, out.err
    runs = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert runs == ["burstprop_rate_xor-1", "burstprop_rate_xor-2"]
    for r in runs:
        assert (tmp_path / "plots" / r / "learning_curves.png").stat().st_size > 1000


@pytest.mark.parametrize("where,reason", [("/proc/nl_plots", "cannot create folder"),
                                          ("{file}", "exists and is not a folder")])
def test_compare_out_that_cannot_be_made_fails_before_any_backend(tmp_path, xor_spec, where,
                                                                  reason):
    existing = put(tmp_path, "plots.png", b"an earlier file")
    where = where.replace("{file}", str(existing))
    out = run_cli(["compare", xor_spec, "--backends", "nengo", "--out", where])
    one_error(out, f"--out {where}", reason)
    assert "verdict" not in out.out  # no backend ran
    assert existing.read_bytes() == b"an earlier file"


# ---- --time-limit, every backend -------------------------------------------------------

SLOW_SPIKING = '''
name = "slow"
[network]
layers = [{name="in", size=64}, {name="h", size=20, neuron={model="lif"}},
          {name="out", size=10, neuron={model="lif"}}]
[rule]
builtin = "delta"
[data]
n_train = 100
[training]
epochs = 50
'''
# fa_digits at 500 epochs: minutes on any backend, whatever the shipped spec's budget
SLOW_RATE, _n = re.subn(r"(?m)^epochs = \d+$", "epochs = 500", FA)
assert _n == 1, "fa_digits.toml has no 'epochs = N' line to lengthen"


@pytest.mark.parametrize("backend,spec", [
    ("numpy", SLOW_SPIKING), ("numpy", SLOW_RATE), ("nengo", SLOW_SPIKING),
    ("nengo-loihi", SLOW_RATE), ("lava", SLOW_SPIKING)])
def test_time_limit_stops_every_backend(tmp_path, backend, spec):
    from neurolearn import backends
    if not backends.is_installed(backend):
        pytest.skip(f"{backend} is not installed")
    path = put(tmp_path, "slow.toml", spec)
    t0 = time.monotonic()
    out = run_cli(["run", path, "--backend", backend, "--time-limit", "2", "--quiet"])
    took = time.monotonic() - t0
    assert out.status == 124, out.err
    assert out.err.strip() == ("neurolearn run: error: time limit of 2 s reached; stopped, "
                               "every process of the run ended")
    assert took < 2 + 8  # loading and imports come before the limit starts
    # nothing of the run outlives it (Lava's child group included)
    me = str(os.getpid())
    assert [d for d in os.listdir("/proc") if d.isdigit() and _ppid(d) == me] == []


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return f[1] if f[0] not in "ZX" else None
    except OSError:
        return None


def test_an_alarm_python_swallowed_fires_again():
    """The alarm fires inside a weakref callback, where Python drops exceptions (it
    reports them to sys.unraisablehook): the limit still stops the block at once,
    not at its end; outside the limit the previous hook is back."""
    import weakref

    from neurolearn.deadline import time_limit
    from neurolearn.errors import TimeLimitExceeded

    class Thing:
        pass

    def callback(ref):  # the deadline passes in here
        t = time.monotonic()
        while time.monotonic() - t < 0.6:
            pass

    before = sys.unraisablehook
    t0 = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        with time_limit(0.2):
            thing = Thing()
            ref = weakref.ref(thing, callback)
            del thing  # runs the callback, which swallows the alarm's exception
            while time.monotonic() - t0 < 5.0:
                pass
    assert time.monotonic() - t0 < 2.0 and ref() is None
    assert sys.unraisablehook is before


def test_time_limit_on_compare(tmp_path):
    if importlib.util.find_spec("nengo") is None:
        pytest.skip("needs nengo")
    path = put(tmp_path, "slow.toml", SLOW_SPIKING)
    out = run_cli(["compare", path, "--backends", "nengo", "--steps", "100000", "--quiet",
                   "--no-plots", "--time-limit", "2"])
    assert out.status == 124 and "time limit of 2 s reached" in out.err, out.err
