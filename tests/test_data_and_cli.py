"""Data loaders and the command line."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

from neurolearn.cli import main
from neurolearn.data import load_idx
from neurolearn.data.datasets import digits, linear_teacher, xor
from neurolearn.data.idx import DataNotFound, find_idx_dir, load_idx_dataset


def write_idx(path, array, gz=True):
    codes = {np.dtype(np.uint8): 0x08}
    head = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as fh:
        fh.write(head + array.tobytes())


def make_idx_dir(folder, n=6):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    write_idx(folder / "train-images-idx3-ubyte.gz", imgs)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    write_idx(folder / "t10k-images-idx3-ubyte", imgs[:2], gz=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", labels[:2], gz=False)
    return imgs, labels


def test_idx_loader_reads_plain_and_gzip(tmp_path):
    imgs, labels = make_idx_dir(tmp_path)
    xtr, ytr, xte, yte = load_idx_dataset("mnist", str(tmp_path))
    assert np.array_equal(xtr, imgs) and np.array_equal(ytr, labels)
    assert np.array_equal(xte, imgs[:2]) and np.array_equal(yte, labels[:2])


def test_idx_loader_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(Exception, match="not an IDX file"):
        load_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", np.zeros((3, 2), np.uint8), gz=False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-2])
    with pytest.raises(Exception, match="truncated"):
        load_idx(tmp_path / "short")


def test_missing_idx_files_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.delenv("NEUROLEARN_DATA", raising=False)
    monkeypatch.setattr("neurolearn.data.idx.SEARCH_DIRS", {"fashion_mnist": []})
    with pytest.raises(DataNotFound, match="apt-get install dataset-fashion-mnist"):
        find_idx_dir("fashion_mnist")


def test_data_path_is_the_only_place_looked(tmp_path, monkeypatch):
    """data.path set but without the files: an error naming the field and the missing
    files, even where another copy exists (NEUROLEARN_DATA, Debian's folder)."""
    full = tmp_path / "full"
    full.mkdir()
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        write_idx(full / name, np.zeros((2, 2, 2), np.uint8), gz=False)
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        write_idx(full / name, np.zeros(2, np.uint8), gz=False)
    monkeypatch.setenv("NEUROLEARN_DATA", str(full))
    assert find_idx_dir("mnist") == full  # found there when data.path is unset
    (tmp_path / "typo").mkdir()
    (tmp_path / "typo" / "train-images-idx3-ubyte").write_bytes(b"")
    with pytest.raises(DataNotFound, match=r"data.path: .*typo does not hold the mnist "
                                           r"IDX files \(missing: train-labels-idx1"):
        find_idx_dir("mnist", str(tmp_path / "typo"))
    # a name the system refuses (too long) holds no file: the same error, no OSError
    with pytest.raises(DataNotFound,
                       match=r"data.path: p+\.\.\. \(300 characters\) does not hold"):
        find_idx_dir("mnist", "p" * 300)


def test_fashion_mnist_from_debian_package_when_installed():
    try:
        folder = find_idx_dir("fashion_mnist")
    except DataNotFound:
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    xtr, ytr, xte, yte = load_idx_dataset("fashion_mnist")
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28)
    assert set(np.unique(ytr)) == set(range(10)), folder


def test_builtin_datasets_are_fixed():
    d = digits()
    assert d.x_train.shape == (1347, 64) and d.x_test.shape == (450, 64)
    assert d.x_train.max() <= 1.0 and d.y_train.sum(1).tolist() == [1.0] * 1347
    a, b = linear_teacher(3), linear_teacher(3)
    assert np.array_equal(a.x_train, b.x_train) and a.x_train.shape == (2000, 30)
    assert not np.array_equal(a.y_train, linear_teacher(4).y_train)
    assert xor().y_train[:, 0].tolist() == [0, 1, 1, 0]


def test_cli_rules_lists_every_builtin(capsys):
    from neurolearn.rules import BUILTIN_RULES
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    for name in BUILTIN_RULES:
        assert any(line.startswith(name + " ") for line in out.splitlines())


def test_cli_run_writes_json_report(tmp_path, specs_dir, capsys):
    report = tmp_path / "r.json"
    assert main(["run", str(specs_dir / "fa_digits.toml"), "--epochs", "2", "--seed", "3",
                 "--json", str(report), "--quiet"]) == 0
    data = json.loads(report.read_text())
    for key in ("backend", "rule", "dataset", "seed", "epochs", "test_accuracy",
                "train_seconds", "alignment_angle_deg"):
        assert key in data
    assert data["backend"] == "numpy" and data["seed"] == 3 and data["epochs"] == 2
    assert set(data["alignment_angle_deg"]) == {"h1", "h2"}
    assert "accuracy" in capsys.readouterr().out


def test_cli_bad_spec_exits_2_with_the_field(tmp_path):
    bad = tmp_path / "fa.toml"
    bad.write_text('name = "x"\n[network]\nlayers = [{name = "i", size = 0}]\n'
                   '[rule]\nbuiltin = "delta"\n')
    proc = subprocess.run([sys.executable, "-m", "neurolearn", "run", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "fa.toml: network.layers[0].size: must be a positive integer, got 0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_backend_and_missing_extra_are_clear(monkeypatch):
    from neurolearn import backends
    from neurolearn.errors import BackendUnavailable, NeurolearnError
    with pytest.raises(NeurolearnError, match="unknown backend 'loihi9'"):
        backends.get("loihi9")
    from dataclasses import replace
    pkg = backends.package("numpy")
    monkeypatch.setattr(pkg, "BACKEND", replace(pkg.BACKEND, requires="engine_not_here",
                                                extra="someextra"))
    with pytest.raises(BackendUnavailable, match=r"pip install 'neurolearn\[someextra\]'"):
        backends.get("numpy")
