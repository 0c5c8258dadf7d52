"""Run every benchmark and write docs/benchmarks.md: the speed table (each figure
side by side with its peer, measured in the same run) and the recorded accuracy and
equivalence figures of benchmarks/README.md, each with its command.

    .venv/bin/python benchmarks/run_all.py [--quick]

--quick shortens each run (fewer steps or epochs) for a smoke check; the published
page is made without it. Results JSON go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from goals import verdict  # benchmarks/goals.py: the script's folder is on sys.path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


def bench(name, args, quick_args):
    return {"name": name, "args": args, "quick": quick_args}


BENCHES = [
    bench("bench_fa_fashion_mnist.py", ["--epochs", "1", "--repeats", "5"],
          ["--epochs", "1", "--repeats", "1"]),
    bench("bench_xor_seeds.py", ["--numpy-too"],
          ["--epochs", "3", "--single-epochs", "2", "--json",
           str(RESULTS / "xor_seeds_quick.json")]),
    bench("bench_members.py", [], ["--epochs", "2", "--seeds", "0,1", "--rates", "4,6",
                                   "--repeats", "1", "--json",
                                   str(RESULTS / "members_quick.json")]),
    bench("bench_scaling.py", [], ["--sizes", "10k,100k", "--engines", "batched,reference",
                                   "--json", str(RESULTS / "scaling_quick.json")]),
    bench("bench_lava.py", ["--steps", "3000", "--warmup", "200", "--repeats", "3",
                            "--full", "--json", str(RESULTS / "lava.json")],
          ["--steps", "300", "--warmup", "50", "--repeats", "1", "--json",
           str(RESULTS / "lava.json")]),
    bench("bench_nengo.py", ["--json", str(RESULTS / "nengo.json")],
          ["--quick", "--json", str(RESULTS / "nengo.json")]),
    bench("bench_spiking_peers.py", ["--sizes", "small,large", "--repeats", "3", "--peers",
                                     "reference,reference-numpy,brian2-cython,"
                                     "brian2-cpp_standalone,nest",
                                     "--json", str(RESULTS / "spiking_peers_compiled.json")],
          ["--sizes", "small", "--steps-small", "200", "--repeats", "1"]),
]


def run(quick: bool) -> list:
    RESULTS.mkdir(exist_ok=True)
    done = []
    for b in BENCHES:
        script = HERE / b["name"]
        if not script.exists():
            done.append((b["name"], "missing", 0.0))
            continue
        cmd = [sys.executable, str(script), *(b["quick"] if quick else b["args"])]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        status = "ok" if proc.returncode == 0 else f"failed: {proc.stderr.strip()[-300:]}"
        done.append((b["name"], status, time.perf_counter() - t0))
        print(f"{b['name']}: {status} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return done


def _num(x) -> str:
    """A fitted figure, or '-' where too few points gave none."""
    return "-" if x is None else f"{x:.2f}"


def _load(d) -> str:
    """The 1-minute load average at start and end, where the run recorded it."""
    la = d.get("load_average_1_5_15min")
    return "" if not la else f"; load {la['start'][0]:.1f} -> {la['end'][0]:.1f}"


def _fa_goals(d) -> str:
    """Issue 16's two bars for the float32 epoch, as the run judged them."""
    t = d.get("targets")
    if not t:
        return ""
    return (f"; goals: <= {t['float32 s/epoch at most']:.0f} s "
            f"{verdict(t['float32 met'])}, >= "
            f"{t['pytorch float32 / ours float32 at least']:.0f}x "
            f"{verdict(t['ratio met'])}")


def _scaling_goal(r) -> str:
    """Issue 16's exponent goal for one engine (bench_scaling.judge: the slope from 10k
    to 1M, and the fitted k beside it)."""
    from bench_scaling import judge
    g = judge(r["slope_10k_1M"], r["fit_with_constant"])
    lo, hi = g["range"]
    return f"; goal slope {lo}-{hi}: {verdict(g['slope_met'])} (k: {verdict(g['k_met'])})"


def _rows():
    rows = []
    f = RESULTS / "fa_fashion_mnist.json"
    if f.exists():
        d = json.loads(f.read_text())
        spe, rat = d["seconds_per_epoch"], d["peer_over_ours"]
        for dt in ("float64", "float32"):
            o, p, r = spe[f"ours {dt}"], spe[f"pytorch {dt}"], rat[dt]
            rows.append((f"batched FA, Fashion-MNIST 784-1000-10, batch 32, {dt} (s/epoch, "
                         f"median [min, max] of {d['repeats']}, {d['threads']} threads{_load(d)})",
                         f"{o['median']:.2f} [{o['min']:.2f}, {o['max']:.2f}]",
                         f"PyTorch {p['median']:.2f} [{p['min']:.2f}, {p['max']:.2f}]",
                         f"{r['median']:.1f}x faster [{r['min']:.1f}, {r['max']:.1f}]"
                         + (_fa_goals(d) if dt == "float32" else ""), d["command"]))
    f = RESULTS / "xor_seeds.json"
    if f.exists():
        d = json.loads(f.read_text())
        single = d.get("single_seed", {})
        full = d["spec_epochs"]
        per_seed = d["cpu_s_per_seed_spec_epochs"]
        how = ("" if d["epochs"] == full else
               f"; extrapolated from {d['epochs']} epochs ({d['cpu_s_per_seed']:.1f} s)")
        alone = single.get("cpu_s_per_seed_spec_epochs", 0)
        steps = "compiled neuron steps" if d.get("compiled_steps") else "numpy neuron steps"
        peer = f"one seed alone {alone:.0f} ({single.get('us_per_step_cpu', 0):.0f} us per step)"
        if "numpy_steps" in d:  # the same run with numpy neuron steps, on the other core
            n = d["numpy_steps"]
            peer = (f"numpy neuron steps beside it {n['cpu_s_per_seed']:.1f} "
                    f"({d['numpy_over_this_cpu']:.2f}x the CPU; same weights: "
                    f"{'yes' if d['same_weights_as_numpy'] else 'NO'}); " + peer)
        rows.append((f"spiking burstprop XOR, {len(d['seeds'])} seeds x {full} epochs "
                     f"in one vectorised run, {steps}, one core (CPU s per seed{_load(d)})",
                     f"{per_seed:.1f} ({d['us_per_seed_step_cpu']:.0f} us per "
                     f"seed-step; wall/CPU {d['wall_s'] / d['cpu_s']:.1f}{how})",
                     peer,
                     f"goal < {d['goal_s_per_seed']:.0f} s: "
                     f"{verdict(d['goal_met_cpu'])}"
                     + ("" if d["epochs"] == full else " (extrapolated)"), d["command"]))
    f = RESULTS / "members.json"
    if f.exists():
        d = json.loads(f.read_text())
        m = d["cpu_s_per_member_epoch"]
        rates = ", ".join(f"{r:g}" for r in d["rates_eta_output"])
        for peer, label in (("per_rate", "one vectorised run per rate (seeds together)"),
                            ("alone", "each member alone")):
            r, p = d[f"speedup_over_{peer}"], m[peer.replace("_", "-")]
            rows.append((f"spiking burstprop XOR, sweep of eta_output {rates} x "
                         f"{len(d['seeds'])} seeds as one vectorised run (CPU ms per "
                         f"member-epoch, median of {d['repeats']}, {d['epochs']} epochs"
                         f"{_load(d)})",
                         f"{m['members']['median'] * 1e3:.1f}",
                         f"{label} {p['median'] * 1e3:.1f}",
                         f"{r['median']:.2f}x faster [{r['min']:.2f}, {r['max']:.2f}]"
                         + ("; same bits" if d["same_bits_in_every_mode"] else
                            "; BITS DIFFER"), d["command"]))
    f = RESULTS / "scaling.json"
    if f.exists():
        d = json.loads(f.read_text())
        for eng, r in d["summary"].items():
            if not r["points"]:
                continue
            unit = "s/epoch" if eng == "batched" else "ms/step"
            pts = ", ".join(f"{s_ / 1e3:.0f}k {c:.3g}" for s_, c in r["points"])
            fit = r["fit_with_constant"]
            peak = max(r["peak_mb"].values()) if r["peak_mb"] else float("nan")
            rows.append((f"cost against size, {eng} ({unit}; synapses: cost{_load(d)})", pts,
                         f"peak memory up to {peak:.0f} MB",
                         f"slope 10k-1M {_num(r['slope_10k_1M'])}, top decade "
                         f"{_num(r['slope_top_decade'])}" + (
                             f", c0 + c1 S^k: k = {fit['k']:.2f}, c0 = {fit['c0']:.3g} "
                             f"{unit}" if fit else "") + _scaling_goal(r),
                         d["command"].strip()))
    f = RESULTS / "lava.json"
    if f.exists():
        d = json.loads(f.read_text())
        base = d["rows"]["numpy time-stepped"]["median"]
        for key in ("lava fused", "lava stock"):
            r = d["rows"][key]
            rows.append((f"Lava {key[5:]}, {Path(d['spec']).stem} (ms/step, median of "
                         f"{d['repeats']})", f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})",
                         f"numpy time-stepped {base:.2f}",
                         f"{r['ratio_to_reference']:.2f}x the peer's time", d["command"]))
    # the latest run: with Brian2's C++ standalone target where there is one, else the
    # run after the row/column-sparse spike terms (commits f68c273, a97ac5b);
    # spiking_peers.json was measured on the dense code before them
    # spiking_peers_compiled.json: with the compiled steps (the jit extra) beside the
    # numpy steps
    for name in ("spiking_peers_compiled.json", "spiking_peers_standalone.json",
                 "spiking_peers_after_sparse.json", "spiking_peers.json"):
        f = RESULTS / name
        if f.exists():
            break
    if f.exists():
        d = json.loads(f.read_text())
        from bench_spiking_peers import judge
        goals = judge(d["summary"])
        for size, peers in d["summary"].items():
            ref = peers.get("reference", {})
            net = "-".join(map(str, d["sizes"][size]))
            for peer, label in (("reference-numpy", "reference, numpy steps"),
                                ("brian2-cpp_standalone", "Brian2 C++ standalone"),
                                ("brian2-cython", "Brian2 cython"),
                                ("brian2-numpy", "Brian2 numpy"), ("nest", "NEST")):
                row = peers.get(peer, {})
                if "median" not in ref or "ratio_reference_to_peer" not in row:
                    continue
                r = row["ratio_reference_to_peer"]
                rows.append((f"spiking LIF {net}, pair STDP, simulated s per wall s "
                             f"(median of {d['repeats']}{_load(d)})",
                             f"reference {ref['median']:.3f}",
                             f"{label} {row['median']:.3f}",
                             f"{r['median']:.2f}x the peer's speed [{r['min']:.2f}, "
                             f"{r['max']:.2f}]" + (
                                 f"; goal >= 1x the fastest Brian2 build: "
                                 f"{verdict(goals[size]['met'])}"
                                 if goals[size]["fastest_brian2"] == peer else ""),
                             d["command"].strip()))
    f = RESULTS / "nengo.json"
    if f.exists():
        d = json.loads(f.read_text())
        for r in d.get("rows", []):
            rows.append((r["what"], r["ours"], r["peer"], r["ratio"], d.get("command", "")))
    return rows


def _notes() -> list:
    """What the speed table leaves out: points that failed or timed out, engines not run,
    figures extrapolated from a shorter run."""
    notes = []
    f = RESULTS / "scaling.json"
    if f.exists():
        d = json.loads(f.read_text())
        for eng, r in d["summary"].items():
            for size, errs in r.get("errors", {}).items():
                notes.append(f"- cost against size, {eng} at {size}: {errs[0]}")
        left = [e for e in ("batched", "reference", "lava", "nengo") if e not in d["summary"]]
        ran = {s for v in d["sizes"].values() for s in (v if isinstance(v, dict) else [])}
        ran = ran or set(d["sizes"])
        skipped = [s for s in ("10k", "30k", "100k", "300k", "1M", "3M") if s not in ran]
        if skipped:
            notes.append(f"- cost against size: sizes {', '.join(skipped)} not run "
                         f"(`{d['command'].strip()}`)")
        if left:
            notes.append(f"- cost against size: not run for {', '.join(left)} "
                         f"(`{d['command'].strip()}`)")
    f = RESULTS / "xor_seeds.json"
    if f.exists() and json.loads(f.read_text()).get("note"):
        notes.append(f"- spiking burstprop XOR: {json.loads(f.read_text())['note']}")
    return notes


def write_page(done) -> Path:
    lines = ["# Benchmarks", "",
             "Generated by `python benchmarks/run_all.py` on "
             f"{time.strftime('%Y-%m-%d')} ({platform.machine()}, "
             f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}). "
             "Each speed figure is measured side by side with its peer in the same run; "
             "ratios, not absolute times, are the result. The machine is shared with other "
             "jobs: their load inflates the times and widens the spreads (rows give the "
             "1-minute load average at start and end where the run recorded it).", "",
             "## Speed", "", "| benchmark | neurolearn | peer | ratio | command |",
             "|---|---|---|---|---|"]
    for row in _rows():
        lines.append("| " + " | ".join(f"`{c}`" if i == 4 else str(c)
                                       for i, c in enumerate(row)) + " |")
    notes = _notes()
    if notes:
        lines += ["", "Left out or extrapolated:", *notes]
    failed = [f"- {n}: {s}" for n, s, _ in done if s != "ok"]
    if failed:
        lines += ["", "Not run this time:", *failed]
    lines += ["", "## Recorded figures (accuracy, equivalence, timing of slow checks)", "",
              "From `benchmarks/README.md`, each with the command that reproduces it.", ""]
    readme = (HERE / "README.md").read_text()
    if readme.startswith("# "):  # its title: this page has its own
        readme = readme.split("\n", 1)[1]
    lines.append(readme.replace("\n# ", "\n### ").replace("\n## ", "\n### "))
    out = ROOT / "docs" / "benchmarks.md"
    out.write_text("\n".join(lines).rstrip() + "\n")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--page-only", action="store_true",
                    help="rewrite the page from existing results without running")
    args = ap.parse_args()
    done = [] if args.page_only else run(args.quick)
    print(f"wrote {write_page(done)}")


if __name__ == "__main__":
    main()
