"""Learning in phases (issue 15): the IR's checks name the field, simulation.teach is
the two-phase case of [[phases]], the phased reference is deterministic and its
examples independent, every backend refuses what it lacks by name, and the
estimate counts phases and settling steps."""

import numpy as np
import pytest

from cli_runner import run_cli
from neurolearn import backends
from neurolearn.data import load_dataset
from neurolearn.errors import SpecError, UnsupportedRule
from neurolearn.reference.phased import PhasedTrainer, rows_equivalence, simulate_phased
from neurolearn.reference.trainer import BatchedTrainer
from neurolearn.rules import load
from neurolearn.rules.phases import phased_needs, phases_of
from neurolearn.rules.schema import from_dict, to_dict
from neurolearn.rules.ir import Spec

RULES = ["segregated_dendrites", "equilibrium_propagation", "predictive_coding",
         "weight_mirror"]


def spec_dict(specs_dir, rule):
    return to_dict(load(specs_dir / f"{rule}_digits.toml"))


def error_of(d) -> SpecError:
    with pytest.raises(SpecError) as err:
        from_dict(Spec, d)
    return err.value


# -- the IR ------------------------------------------------------------------------------
def _edit(d, path, value):
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return d


BAD = [  # (rule, edit(d), the field the error names, a word of its reason)
    ("equilibrium_propagation",
     lambda d: d["phases"].append(dict(d["phases"][0])), "phases[2].name", "duplicate"),
    ("equilibrium_propagation",
     lambda d: _edit(d, ["phases", 0, "nudge"], 0.3), "phases[0].nudge", "target"),
    ("segregated_dendrites",
     lambda d: _edit(d, ["phases", 0, "window"], 50), "phases[0].window", "at most"),
    ("equilibrium_propagation",
     lambda d: _edit(d, ["phases", 0, "name"], "relax"), "rule.builtin", "'free'"),
    ("equilibrium_propagation",
     lambda d: d["phases"].reverse(), "rule.builtin", "after the plastic phase"),
    ("segregated_dendrites",
     lambda d: _edit(d, ["phases", 0, "settle"], {"step": 0.5}), "phases[0].settle",
     "nothing to relax"),
    ("equilibrium_propagation",
     lambda d: d["phases"][1].pop("settle"), "phases[1].settle", "settle"),
    ("equilibrium_propagation",
     lambda d: _edit(d, ["network", "feedback", "kind"], "random"),
     "network.feedback.kind", "symmetric"),
    ("equilibrium_propagation",
     lambda d: d["network"].pop("dynamics"), "phases[0].settle", "nothing to relax"),
    ("equilibrium_propagation",
     lambda d: _edit(d, ["phases", 0, "settle", "step"], 1.5), "phases[0].settle.step",
     "at most 1"),
    ("predictive_coding",
     lambda d: _edit(d, ["network", "dynamics", "model"], "equilibrium"),
     "network.dynamics.model", "predictive_coding"),
    ("segregated_dendrites",
     lambda d: _edit(d, ["network", "layers", 2, "neuron"], {"model": "pyramidal"}),
     "network.layers[2].neuron.model", "output layer"),
    ("segregated_dendrites",
     lambda d: d.pop("phases"), "network.layers[1].neuron.model", "phases"),
    ("segregated_dendrites",
     lambda d: _edit(d, ["network", "layers", 1, "neuron"], {"model": "tanh"}),
     "network.layers[1].neuron.model", "pyramidal"),
    ("weight_mirror",
     lambda d: _edit(d, ["network", "feedback", "kind"], "transport"),
     "network.feedback.kind", "'random' or 'direct'"),
    ("weight_mirror",
     lambda d: _edit(d, ["network", "feedback", "rule", "phase"], "dream"),
     "network.feedback.rule.phase", "'dream'"),
    ("weight_mirror",
     lambda d: _edit(d, ["phases", 1, "noise", "layers"], ["h9"]),
     "phases[1].noise.layers[0]", "'h9'"),
    ("weight_mirror",
     lambda d: d["network"]["feedback"].pop("rule"), "network.feedback.rule",
     "feedback matrices"),
    ("weight_mirror",
     lambda d: _edit(d, ["simulation"], {"teach": 0.5}), "simulation.teach", "replace"),
    ("weight_mirror",
     lambda d: _edit(d, ["simulation"], {"t_example": 0.5}), "simulation.t_example",
     "17 steps"),
    ("equilibrium_propagation",
     lambda d: _edit(d, ["phases", 1, "plastic"], False), "phases", "nothing"),
    ("weight_mirror",
     lambda d: _edit(d, ["phases"], []), "phases", "at least one"),
    ("predictive_coding",
     lambda d: _edit(d, ["phases", 0, "nudge"], 0.0), "phases[0].nudge", "nudge is 0"),
]


@pytest.mark.parametrize("rule,edit,path,word", BAD,
                         ids=[f"{b[0]}:{b[2]}:{b[3]}" for b in BAD])
def test_bad_phased_specs_name_the_field(specs_dir, rule, edit, path, word):
    d = spec_dict(specs_dir, rule)
    edit(d)
    err = error_of(d)
    assert err.path == path, str(err)
    assert word in err.reason, str(err)


def test_factor_checks_name_the_field(specs_dir):
    d = spec_dict(specs_dir, "predictive_coding")
    d["rule"] = {"terms": [{"factors": [{"kind": "global", "signal": "inv_nudge"}]}]}
    assert error_of(d).path == "rule.terms[0].factors[0].phase"
    d["rule"] = {"terms": [{"factors": [{"kind": "post", "signal": "activity",
                                         "phase_value": "average"}]}]}
    assert error_of(d).path == "rule.terms[0].factors[0].phase_value"
    d["rule"] = {"terms": [{"factors": [{"kind": "post", "signal": "error",
                                         "phase": "later"}]}]}
    err = error_of(d)
    assert err.path == "rule.terms[0].factors[0].phase" and "'later'" in err.reason
    d["rule"] = {"terms": [{"factors": [{"kind": "syn", "signal": "w", "phase": "infer"}]}]}
    assert error_of(d).path == "rule.terms[0].factors[0].phase"


def test_a_phase_factor_needs_phases(specs_dir):
    d = to_dict(load(specs_dir / "fa_digits.toml"))
    d["rule"] = {"terms": [{"factors": [{"kind": "post", "signal": "slope"}]}]}
    err = error_of(d)
    assert err.path == "rule.terms[0].factors[0]" and "phases" in err.reason


def test_bad_phased_spec_on_the_command_line_is_one_error_with_status_2(specs_dir,
                                                                          tmp_path):
    text = (specs_dir / "equilibrium_propagation_digits.toml").read_text()
    bad = tmp_path / "ep_bad.toml"
    bad.write_text(text.replace('kind = "transport"', 'kind = "random"'))
    out = run_cli(["run", str(bad), "--epochs", "1", "--quiet"])
    assert out.problem() is None and out.status == 2
    assert "ep_bad.toml: network.feedback.kind: " in out.err


def test_phased_specs_round_trip(specs_dir, tmp_path):
    from neurolearn.rules import save
    for rule in RULES:
        spec = load(specs_dir / f"{rule}_digits.toml")
        for fmt in ("toml", "json"):
            assert load(save(spec, tmp_path / f"{rule}.{fmt}")) == spec


# -- one meaning ---------------------------------------------------------------------------
def test_teach_is_the_two_phase_case(specs_dir):
    """simulation.teach = 0.5 over 10 steps reads as a 5-step phase without teacher and
    5 plastic steps with it; given explicitly, those phases train exactly as the
    batched trainer does (update for update)."""
    spec = load(specs_dir / "fa_digits.toml")
    phases = phases_of(spec)
    assert [(p.name, p.steps, p.target, p.plastic) for p in phases] == \
        [("settle", 5, False, False), ("teach", 5, True, True)]
    from dataclasses import replace
    phased = spec.with_(phases=phases, simulation=replace(spec.simulation, teach=1.0),
                        training=replace(spec.training, momentum=0.9))
    plain = spec.with_(training=replace(spec.training, momentum=0.9))
    ds = load_dataset(spec.data, 0)
    a, b = BatchedTrainer(plain), BatchedTrainer(phased)
    assert isinstance(b, PhasedTrainer) and not isinstance(a, PhasedTrainer)
    for i in range(30):
        idx = np.arange(4 * i, 4 * i + 4)
        a.step(ds.x_train[idx], ds.y_train[idx])
        b.step(ds.x_train[idx], ds.y_train[idx])
    for wa, wb in zip(a.params.W, b.params.W):
        assert np.abs(wa - wb).max() <= 1e-12
    assert a.evaluate(ds.x_test, ds.y_test) == b.evaluate(ds.x_test, ds.y_test)


def test_the_time_stepped_simulator_refuses_phases(specs_dir):
    from neurolearn.reference.simulator import simulate
    with pytest.raises(UnsupportedRule, match="phased reference"):
        simulate(load(specs_dir / "weight_mirror_digits.toml"), steps=10)


@pytest.mark.parametrize("rule", RULES)
def test_examples_run_side_by_side_as_one_at_a_time(specs_dir, rule):
    """Noise is drawn per example and settling stops per example, so a batch's rows
    never interact (the grid's numpy 'batched' cell)."""
    from neurolearn.rules.catalog import ROWS, row_spec
    row = next(r for r in ROWS if r[1] == rule)
    spec = row_spec(*row)
    if rule == "equilibrium_propagation":  # examples converge at different steps
        from dataclasses import replace
        spec = spec.with_(phases=[replace(p, settle=replace(p.settle, tol=1e-4))
                                  for p in spec.phases],
                          training=replace(spec.training, batch_size=4))
    assert rows_equivalence(spec, 200) <= 1e-12


def test_phased_runs_are_deterministic_and_noise_is_the_seeds(specs_dir):
    spec = load(specs_dir / "weight_mirror_digits.toml")
    a, b = (simulate_phased(spec, steps=17 * 40) for _ in range(2))
    assert all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
    pa, pb = a.extra["params"], b.extra["params"]
    assert np.array_equal(pa.B[1], pb.B[1])
    from dataclasses import replace
    other = simulate_phased(spec.with_(training=replace(spec.training, seed=1)),
                            steps=17 * 40)
    assert not np.array_equal(other.extra["params"].B[1], pa.B[1])


def test_settling_with_a_tolerance_stops_early_and_counts_its_steps(specs_dir):
    from dataclasses import replace
    spec = load(specs_dir / "equilibrium_propagation_digits.toml")
    tight = spec.with_(phases=[replace(p, steps=200, settle=replace(p.settle, tol=1e-6))
                               for p in spec.phases])
    ds = load_dataset(spec.data, 0)
    tr = PhasedTrainer(tight)
    tr.compute_updates(ds.x_train[:8], ds.y_train[:8])
    taken = tr.settle_steps()
    assert 1 <= taken["free"] < 200 and 1 <= taken["nudged"] < 200
    # converged: more steps change nothing beyond the tolerance's scale
    st = tr.last_state
    tr2 = PhasedTrainer(spec.with_(phases=[replace(p, steps=400) for p in spec.phases]))
    tr2.compute_updates(ds.x_train[:8], ds.y_train[:8])
    assert np.abs(st.a[1] - tr2.last_state.a[1]).max() < 1e-4


# -- refusals --------------------------------------------------------------------------
@pytest.mark.parametrize("mode,layers,what,capability", [
    ("add", ["h1"], "the noise source of phase 'mirror' (mode 'add')",
     "noise added to a layer's net input"),
    ("replace", ["input", "h1"], "the noise source of phase 'mirror' on the input layer",
     "noise on the input layer"),
])
def test_lava_refuses_a_capability_its_phased_lowering_lacks(specs_dir, mode, layers,
                                                             what, capability):
    """Lava lowers every phased built-in (tests/test_lava_phases.py); what it does not
    build is refused by its capability, on both variants."""
    from dataclasses import replace
    lava = backends.package("lava")
    spec = load(specs_dir / "weight_mirror_digits.toml")
    spec = spec.with_(phases=[replace(p, noise=replace(p.noise, mode=mode, layers=layers))
                              if p.noise else p for p in spec.phases])
    for variant in ("stock", "fused"):
        with pytest.raises(UnsupportedRule) as err:
            lava.lower(spec, variant=variant)
        assert err.value.backend == "lava"
        assert what in str(err.value) and capability in str(err.value)
        assert "numpy (the phased reference)" in str(err.value)


def test_every_phased_need_is_named():
    """A phased spec that needs nothing but phases: its one need is named. Lava steps
    simulation.teach's phases as the phased reference does (FA: the delta rule, the
    error passed down through B after each plastic step's forward pass) and refuses
    backprop's transported pathway by name."""
    from dataclasses import replace
    from neurolearn.rules.catalog import ROWS, row_spec
    rows = {r[0]: r for r in ROWS}
    spec = row_spec(*rows["delta · FA · rate"])
    plain = spec.with_(phases=phases_of(spec),
                       simulation=replace(spec.simulation, teach=1.0))
    needs = phased_needs(plain)
    assert len(needs) == 1 and needs[0].what == "phases settle, teach"
    lava = backends.package("lava")
    emu = lava.emulate(plain, steps=20 * 12, record_every=20 * 4)
    ref = simulate_phased(plain, steps=20 * 12, record_every=20 * 4)
    for k, w in ref.weights.items():
        assert np.abs(emu.weights[k] - w).max() <= 1e-12
        assert np.abs(w[-1] - w[0]).max() > 1e-4
    bp = row_spec(*ROWS[0])
    bp = bp.with_(phases=phases_of(bp), simulation=replace(bp.simulation, teach=1.0))
    with pytest.raises(UnsupportedRule, match="feedback kind 'transport' into layer "
                                              "'h1' in phases"):
        lava.lower(bp)


def test_nengo_lowers_every_phased_builtin(specs_dir):
    """Each lowers (tests/test_nengo_phases.py grades them); a spiking network in phases
    is refused by the phased reference's own capability."""
    from dataclasses import replace
    nengo = backends.package("nengo")
    for rule in RULES:
        assert nengo.lower(load(specs_dir / f"{rule}_digits.toml")).phases
    fa = load(specs_dir / "fa_digits_spiking.toml")
    spiking = fa.with_(phases=phases_of(fa), simulation=replace(fa.simulation, teach=1.0))
    with pytest.raises(UnsupportedRule, match="phases in a spiking network cannot run on "
                                              "nengo"):
        nengo.lower(spiking)


def test_numpy_refuses_what_the_phased_reference_cannot_run(specs_dir):
    from dataclasses import replace
    numpy_backend = backends.package("numpy")
    spec = load(specs_dir / "predictive_coding_digits.toml")
    assert numpy_backend.lower(spec).backend == "numpy"
    with pytest.raises(UnsupportedRule, match="precision 'fixed' for phased spec"):
        numpy_backend.lower(spec, precision="fixed")
    with pytest.raises(UnsupportedRule, match="training.mode = 'time_stepped' with phases"):
        numpy_backend.lower(spec.with_(training=replace(spec.training,
                                                        mode="time_stepped")))
    with pytest.raises(UnsupportedRule, match="training.dtype"):
        numpy_backend.lower(spec.with_(training=replace(spec.training, dtype="float32")))
    fa = load(specs_dir / "fa_digits_spiking.toml")
    spiking = fa.with_(phases=phases_of(fa),
                       simulation=replace(fa.simulation, teach=1.0))
    with pytest.raises(UnsupportedRule, match="phases in a spiking network"):
        numpy_backend.lower(spiking)


# -- hardware: what the phases cost -------------------------------------------------------
def test_estimate_counts_phases_and_settling(specs_dir):
    from dataclasses import replace
    from neurolearn.reference.counts import count
    spec = load(specs_dir / "equilibrium_propagation_digits.toml")
    c = count(spec, samples=4)
    assert c.steps_per_sample == 24 and c.inference_steps == 20
    assert c.phase_steps == {"free": 20, "nudged": 4}
    assert c.spikes["h1"] == 128 * 24  # one graded message per neuron and step
    # a tolerance makes the count the steps the examples actually took
    tol = spec.with_(phases=[replace(p, steps=500, settle=replace(p.settle, tol=1e-6))
                             for p in spec.phases])
    ct = count(tol, samples=4)
    assert 24 < ct.steps_per_sample < 1000
    assert ct.phase_steps["free"] == ct.inference_steps
    # a rule that reads phases learns once per example; pyramidal somata are 3
    sd = count(load(specs_dir / "segregated_dendrites_digits.toml"), samples=2)
    h1 = sd.per_layer["h1"]
    assert h1["synaptic_update"] == 128 * 65
    assert h1["neuron_update"] == 128 * 3 * 40


def test_check_estimate_prints_the_steps_per_phase(specs_dir):
    out = run_cli(["check", str(specs_dir / "weight_mirror_digits.toml"), "--profile",
                   "loihi2", "--estimate", "--samples", "3"])
    assert out.problem() is None, out.problem()
    assert "steps per training sample by phase: learn 1, mirror 16; per inference 1" \
        in out.out


def test_the_grid_grades_every_phased_cell():
    from neurolearn.compare.grid import run_grid
    from neurolearn.rules.catalog import ROWS
    rows = [r[0] for r in ROWS if r[5].get("phased")]
    assert len(rows) == 4
    cols = [("numpy", "float"), ("numpy", "fixed"), ("lava", "float")]
    g = run_grid(steps=200, rows=rows, columns=cols, quiet=True)
    for row in rows:
        assert g.cells[(row, ("numpy", "float"), "deterministic")].status == "pass"
        assert g.cells[(row, ("numpy", "float"), "batched")].status == "pass"
        v = g.cells[(row, ("numpy", "fixed"), "deterministic")]
        assert v.status == "not supported" and "phased spec" in v.note
        for check in ("engine", "textbook"):
            v = g.cells[(row, ("lava", "float"), check)]
            if v.status == "not installed":  # no lava: the cell names the extra
                assert "neurolearn[lava]" in v.note
                continue
            # tests/test_lava_phases.py holds Lava to its emulator and the emulator to
            # the phased reference; here the grid grades both cells
            assert v.status == "pass", (check, v)
            if check == "engine":
                assert v.figures["max_abs_dW"] == 0.0
            else:
                assert v.figures["corr_dW"] > 0.999999


# -- checkpoints -------------------------------------------------------------------------
def test_a_phased_run_resumes_bit_identically(specs_dir, tmp_path):
    import neurolearn
    from dataclasses import replace
    spec = load(specs_dir / "weight_mirror_digits.toml")
    spec = spec.with_(data=replace(spec.data, n_train=60, n_test=30))
    whole = neurolearn.run(spec, epochs=2, quiet=True)
    neurolearn.run(spec, epochs=1, quiet=True, save=tmp_path / "ck")
    resumed = neurolearn.run(resume=tmp_path / "ck", epochs=2, quiet=True)
    for a, b in zip(whole.weights, resumed.weights):
        assert np.array_equal(a, b)
    assert whole.test_accuracy == resumed.test_accuracy
