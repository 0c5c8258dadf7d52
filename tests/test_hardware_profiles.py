"""Hardware profiles: sourced figures, unknown as None, user files validated like
specs, and the profiles shipped inside the package (also in a built wheel)."""

import dataclasses
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from neurolearn.errors import SpecError
from neurolearn.hardware.profile import Profile, builtin_names, load_profile
from neurolearn.rules.io import dumps, loads

ROOT = Path(__file__).resolve().parent.parent


def figures(profile):
    for section in ("chip", "core", "weights", "traces", "learning", "models", "energy",
                    "timing"):
        sec = getattr(profile, section)
        if sec is not None:
            for f in dataclasses.fields(sec):
                fig = getattr(sec, f.name)
                if fig is not None:
                    yield f"{section}.{f.name}", fig


def test_builtin_profiles_listed_and_load():
    assert builtin_names() == ["cpu", "loihi1", "loihi2"]
    for name in builtin_names():
        prof = load_profile(name)
        assert prof.name == name
    assert load_profile("cpu").precision == "float"
    assert load_profile("loihi2").precision == "fixed"


@pytest.mark.parametrize("name", ["loihi1", "loihi2"])
def test_every_figure_cites_a_source(name):
    prof = load_profile(name)
    figs = dict(figures(prof))
    assert len(figs) >= 25
    for path, fig in figs.items():
        assert fig.source.strip(), path
        if fig.value is None:
            assert fig.source.startswith("unknown"), (path, fig.source)
        else:
            assert not fig.source.startswith("unknown"), path
    for family, sup in prof.rules.items():
        assert sup.source and sup.reason, family


def test_figures_match_their_sources():
    """The figures a source file defines are the ones written in the profile."""
    l1, l2 = load_profile("loihi1"), load_profile("loihi2")
    nengo_loihi = pytest.importorskip("nengo_loihi.block")
    assert l1.get("core.compartments") == nengo_loihi.MAX_COMPARTMENTS
    assert l1.get("core.input_axons") == nengo_loihi.MAX_IN_AXONS
    assert l1.get("core.output_axons") == nengo_loihi.MAX_OUT_AXONS
    assert l1.get("core.synapse_memory_bits") == nengo_loihi.MAX_SYNAPSE_BITS
    from neurolearn.hardware import arith
    assert l2.get("weights.bits") == arith.W_WEIGHTS_U
    assert l2.get("traces.bits") == arith.W_TRACE
    assert l2.get("learning.accumulator_bits") == arith.W_ACCUMULATOR_U
    assert l2.get("learning.epoch_bits") == arith.W_EPOCH_TIME
    assert (l2.get("learning.exponent_min"), l2.get("learning.exponent_max")) == (-7, 8)


@pytest.mark.lava
def test_arith_constants_are_lavas():
    constants = pytest.importorskip("lava.magma.core.learning.constants")
    from neurolearn.hardware import arith
    for name in ("W_WEIGHTS_U", "W_TRACE", "W_TRACE_FRACTIONAL_PART", "W_S_MANT",
                 "W_ACCUMULATOR_U", "W_EPOCH_TIME", "W_CONST"):
        assert getattr(arith, name) == getattr(constants, name), name


def test_unknown_figures_load_as_none():
    l2 = load_profile("loihi2")
    assert l2.get("core.input_axons") is None
    assert "unknown" in l2.source("core.input_axons")
    assert load_profile("cpu").get("core.compartments") is None  # section absent


def test_profile_round_trips():
    prof = load_profile("loihi2")
    again = loads(dumps(prof), "toml", Profile)
    assert dumps(again) == dumps(prof)


def test_user_profile_file(tmp_path):
    path = tmp_path / "mychip.toml"
    path.write_text('name = "mychip"\n[chip.cores_per_chip]\nvalue = 4\nsource = "datasheet p. 3"\n')
    prof = load_profile(str(path))
    assert prof.name == "mychip" and prof.get("chip.cores_per_chip") == 4
    assert prof.get("core.compartments") is None


@pytest.mark.parametrize("text,message", [
    ('name = "x"\n[core.compartments]\nvalue = 10\n',
     "chip.toml: core.compartments.source: is required"),
    ('name = "x"\n[core.compartments]\nvalue = 10\nsource = " "\n',
     "chip.toml: core.compartments.source: must say where the figure comes from"),
    ('name = "x"\n[core.compartments]\nvalue = "many"\nsource = "s"\n',
     "chip.toml: core.compartments.value: must be an integer"),
    ('name = "x"\n[core.neurons]\nvalue = 1\nsource = "s"\n',
     "chip.toml: core.neurons: unknown field"),
    ('name = "x"\nprecision = "double"\n', "chip.toml: precision: must be one of"),
    ('name = "x"\n[rules.stdp]\nmode = "on_chip"\nreason = "r"\nsource = "s"\n',
     "chip.toml: rules.stdp: unknown rule family"),
    ('name = "x"\n[rules.delta]\nmode = "maybe"\nreason = "r"\nsource = "s"\n',
     "chip.toml: rules.delta.mode: must be one of"),
    ('name = "x"\n[learning.exponent_min]\nvalue = 1.5\nsource = "s"\n',
     "chip.toml: learning.exponent_min.value: must be an integer"),
    ('name = \n', "chip.toml: not valid TOML"),
])
def test_user_profile_errors_name_file_field_and_reason(tmp_path, text, message):
    path = tmp_path / "chip.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as err:
        load_profile(str(path))
    assert message in str(err.value)


def test_missing_or_unknown_profile():
    with pytest.raises(SpecError, match="no such profile file"):
        load_profile("nowhere/chip.toml")
    with pytest.raises(SpecError, match="unknown profile 'loihi3'.*cpu, loihi1, loihi2"):
        load_profile("loihi3")


def test_setuptools_ships_the_profiles():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"neurolearn.hardware" = ["profiles/*.toml"]' in text
    link = ROOT / "neurolearn" / "hardware" / "profiles"
    assert link.is_symlink() and link.resolve() == (ROOT / "hardware_profiles").resolve()


def test_wheel_contains_the_profiles(tmp_path):
    """A non-editable install gets the profiles: build a wheel (~5 s) and look."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", "benchmarks", "out"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(src),
                           "-w", str(tmp_path / "wh")], capture_output=True, text=True,
                          timeout=240)
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip()[-300:]}")
    (wheel,) = (tmp_path / "wh").glob("neurolearn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("cpu", "loihi1", "loihi2"):
        assert f"neurolearn/hardware/profiles/{name}.toml" in names
