"""Generators of bad (and good) inputs for the fuzz suite (test_fuzz.py), and an
in-process runner of the command line that classifies what came out.

Inputs are mutations of the shipped specs and profiles, at two levels: the parsed
tree (a field set to an extreme or wrongly typed value, removed, renamed, a list
emptied or grown) and the file itself (bytes that are not UTF-8, truncation,
nesting deeper than the parsers go, a 5,000-digit integer, random bytes).
"""

from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path

from hypothesis import strategies as st

from cli_runner import run_cli  # noqa: F401  (re-exported for the fuzz tests)

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "examples" / "specs"
PROFILES = ROOT / "hardware_profiles"

if sys.version_info >= (3, 11):  # pragma: no cover
    import tomllib
else:
    import tomli as tomllib


def _load(path):
    return tomllib.loads(path.read_text())


def _small(d):
    """A base spec that trains in well under a second: few examples, one epoch."""
    d = copy.deepcopy(d)
    d.setdefault("data", {})
    if d["data"].get("dataset", "digits") in ("digits", "linear_teacher", "pca_gaussian",
                                                "two_patterns"):
        d["data"]["n_train"] = 40
        d["data"]["n_test"] = 20
    d.setdefault("training", {})["epochs"] = 1
    if "phases" not in d:  # a phased spec's example lasts its phases' steps
        d.setdefault("simulation", {})["t_example"] = 0.01
    return d


ALL_SPECS = {p.stem: _small(_load(p)) for p in sorted(SPECS.glob("*.toml"))}
# Without the IDX data sets (reading 70,000 images takes seconds): the default suite
BASE_SPECS = {k: v for k, v in ALL_SPECS.items()
              if v.get("data", {}).get("dataset") not in ("fashion_mnist", "mnist")}
BASE_PROFILES = {p.stem: _load(p) for p in sorted(PROFILES.glob("*.toml"))}

# Values that broke or could break a field: extremes of each type, wrong types,
# long and odd strings.
INTS = [0, -1, 1, 2, 3, 7, 64, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 63 - 1, -2 ** 63,
        10 ** 6, 10 ** 9, 10 ** 18, 10 ** 400]
FLOATS = [0.0, -0.0, 1e-300, 1e-9, 1e-6, 0.5, 0.999, 1.0, 1.5, 100.0, 1e6, 1e7, 1e300,
          1e308, -1e308, math.inf, -math.inf, math.nan, -0.5]
STRINGS = ["", " ", "x", "digits", "lif", "burst", "transport", "learned", "step",
           "pre_spike", "activity", "error_drive", "w", "1abc", "ü", "a\u0000b",
           "x" * 300, "y" * 20000, "../../etc/passwd", "in"]
ODD = [True, False, [], [1, 2], {}, {"a": 1}, [{}], [[[]]], {"value": 3}]
VALUES = st.one_of(st.sampled_from(INTS), st.sampled_from(FLOATS), st.sampled_from(STRINGS),
                   st.sampled_from(ODD), st.integers(-10 ** 6, 10 ** 6),
                   st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=30))


def _paths(node, prefix=()):
    """Every (path, node) of a parsed tree; a path is a tuple of keys and indexes."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


@st.composite
def mutated_tree(draw, bases: dict, n_max: int = 3):
    """A base tree with 1..n_max mutations."""
    name = draw(st.sampled_from(sorted(bases)))
    tree = copy.deepcopy(bases[name])
    for _ in range(draw(st.integers(1, n_max))):
        nodes = list(_paths(tree))
        numbers = [p for p, v in nodes if isinstance(v, (int, float)) and p]
        op = draw(st.sampled_from(["number", "number", "number", "set", "set", "delete",
                                   "unknown", "grow", "empty", "wrap"]))
        if op == "number" and numbers:  # the values that break arithmetic
            path = draw(st.sampled_from(numbers))
            _get(tree, path[:-1])[path[-1]] = draw(st.one_of(
                st.sampled_from(INTS), st.sampled_from(FLOATS), st.integers(-100, 100)))
            continue
        op = "set" if op == "number" else op
        path = draw(st.sampled_from([p for p, _ in nodes]))
        if not path:
            op = "unknown" if op in ("set", "delete", "wrap") else op
        parent = _get(tree, path[:-1]) if path else None
        node = _get(tree, path)
        if op == "set":
            parent[path[-1]] = draw(VALUES)
        elif op == "delete":
            del parent[path[-1]]
        elif op == "unknown":
            target = node if isinstance(node, dict) else tree
            target[draw(st.sampled_from(["extra", "Name", "x" * 500, "layer", "size"]))] = \
                draw(VALUES)
        elif op == "grow" and isinstance(node, list) and node:
            node.extend(copy.deepcopy(node[-1:]) * draw(st.sampled_from([1, 2, 50])))
        elif op == "empty" and isinstance(node, (list, dict)):
            node.clear()
        elif op == "wrap" and parent is not None:
            parent[path[-1]] = draw(st.sampled_from([[node], {"value": node}]))
    return tree


def _dumps(tree, fmt):
    if fmt == "toml":
        import tomli_w
        try:
            return tomli_w.dumps(tree)
        except (TypeError, ValueError):
            pass
    return json.dumps(tree)


@st.composite
def mutated_file(draw, bases: dict):
    """(suffix, bytes) of a mutated spec or profile file."""
    kind = draw(st.sampled_from(["tree"] * 6 + ["bytes", "text"]))
    if kind == "tree":
        tree = draw(mutated_tree(bases))
        fmt = draw(st.sampled_from(["toml", "json"]))
        text = _dumps(tree, fmt)
        return (".toml" if fmt == "toml" and not text.startswith("{") else ".json",
                text.encode("utf-8", "surrogatepass"))
    base = _dumps(bases[draw(st.sampled_from(sorted(bases)))], "toml")
    if kind == "bytes":
        how = draw(st.sampled_from(["latin1", "truncate", "random", "nul", "bom"]))
        if how == "latin1":
            return ".toml", base.replace("=", "= \"\xe9\" #", 1).encode("latin-1", "replace")
        if how == "truncate":
            return ".toml", base.encode()[:draw(st.integers(0, len(base)))]
        if how == "nul":
            return ".toml", base.encode().replace(b"\n", b"\n\x00", 1)
        if how == "bom":
            return ".toml", b"\xff\xfe" + base.encode("utf-16-le")
        return draw(st.sampled_from([".toml", ".json"])), draw(st.binary(max_size=200))
    how = draw(st.sampled_from(["toml_nest", "json_nest", "bigint", "json_bigint", "empty",
                                "suffix", "long_line"]))
    depth = draw(st.sampled_from([50, 500, 3000]))
    if how == "toml_nest":
        return ".toml", (base + "\nnest = " + "[" * depth + "]" * depth + "\n").encode()
    if how == "json_nest":
        return ".json", ('{"name": ' + "[" * depth + "]" * depth + "}").encode()
    if how == "bigint":
        return ".toml", base.replace("name = ", "seed_x = 1" + "7" * 5000 + "\nname = ",
                                     1).encode()
    if how == "json_bigint":
        return ".json", ('{"name": "a", "x": 1' + "0" * 5000 + "}").encode()
    if how == "empty":
        return ".toml", b""
    if how == "suffix":
        return draw(st.sampled_from([".yaml", "", ".TOML", ".txt"])), base.encode()
    return ".toml", (base + "\n# " + "z" * 200000 + "\n").encode()


# ---- command-line arguments --------------------------------------------------------

ARG_VALUES = st.one_of(st.sampled_from(["-1", "0", "1", "2", "10", "4294967295", "4294967296",
                                        "1e3", "nan", "inf", "-inf", "abc", "", " ",
                                        "99999999999999999999999", "0.5", "-0", "1" * 500,
                                        "numpy", "lava", "loihi2", "cpu", "fixed",
                                        "/nonexistent/x.json", "\u00e9"]),
                       st.integers(-10 ** 12, 10 ** 12).map(str))
RUN_OPTIONS = ["--seed", "--epochs", "--backend", "--precision", "--profile",
               "--time-limit", "--json", "--bogus"]
COMPARE_OPTIONS = ["--steps", "--record-every", "--task-epochs", "--backends",
                   "--precision", "--profile", "--time-limit", "--json", "--bogus"]


@st.composite
def cli_args(draw, spec_path: str, tmp: Path):
    """A command line of run, check or compare with random option values."""
    cmd = draw(st.sampled_from(["run", "run", "check", "compare"]))
    args = [cmd]
    if draw(st.integers(0, 9)):
        args.append(spec_path)
    options = {"run": RUN_OPTIONS, "check": ["--profile", "--json", "--bogus"],
               "compare": COMPARE_OPTIONS}[cmd]
    for opt in draw(st.lists(st.sampled_from(options), max_size=4)):
        if opt == "--json":
            val = draw(st.sampled_from([str(tmp / "r.json"), str(tmp), spec_path,
                                        "/proc/version", str(tmp / "no" / "r.json")]))
        elif opt == "--backend":
            val = draw(st.sampled_from(["numpy", "nengo", "lava", "x", ""]))
        elif opt == "--backends":
            val = draw(st.sampled_from(["numpy", "numpy,x", "", ",", "numpy,numpy", "nengo",
                                        "numpy,nengo"]))
        else:
            val = draw(ARG_VALUES)
        args += [opt, val]
    if cmd == "check" and "--profile" not in args:
        args += ["--profile", draw(st.sampled_from(["loihi2", "loihi1", "cpu", "nope"]))]
    if cmd in ("run", "compare"):  # last one wins: drawn values are still checked
        args += ["--time-limit", "3"]
    if cmd == "compare":
        args.append("--quiet")
        args += (["--out", str(tmp / "plots")] if draw(st.integers(0, 3)) == 0
                 else ["--no-plots"])
        if "--backends" not in args:
            args += ["--backends", "numpy"]
        if "--steps" not in args:
            args += ["--steps", "200"]
    if cmd == "run":
        args.append("--quiet")
    return args
