"""The import graph: no circle between modules, and the core never imports upward.

Layers, bottom up: rules, data, hardware, reference, backends, compare, viz, cli.
Nothing under rules/, reference/, hardware/ or data/ imports backends/, compare/,
viz/ or cli/; hardware/ does not import reference/. Every import counts, also the
ones inside functions (they are deferred, not absent).
"""

import ast
from pathlib import Path

import neurolearn

ROOT = Path(neurolearn.__file__).parent
CORE = ("rules", "data", "hardware", "reference")
UPPER = ("backends", "compare", "deploy", "sweep", "viz", "cli")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, modules: set) -> set:
    me = module_name(path)
    pkg = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from pkg import sub` imports the submodule; `from pkg import name`
            # imports pkg itself
            names = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem
                     for a in node.names]
        else:
            continue
        for n in names:
            # the longest known module that n names (a module, or a name inside one)
            while n and n not in modules:
                n = n.rsplit(".", 1)[0] if "." in n else ""
            if n and n != me and n.startswith("neurolearn"):
                out.add(n)
    return out


def graph() -> dict:
    files = list(ROOT.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def _cycle(g):
    color, stack = {}, []

    def visit(u):
        color[u] = 1
        stack.append(u)
        for v in g.get(u, ()):
            if color.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in color:
                c = visit(v)
                if c:
                    return c
        stack.pop()
        color[u] = 2
        return None

    for u in sorted(g):
        if u not in color:
            c = visit(u)
            if c:
                return c
    return None


def _layer(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_import_circle():
    cycle = _cycle(graph())
    assert cycle is None, " -> ".join(cycle)


def test_core_never_imports_upward():
    bad = []
    for mod, deps in graph().items():
        layer = _layer(mod)
        for d in deps:
            dl = _layer(d)
            if layer in CORE and dl in UPPER:
                bad.append(f"{mod} imports {d}")
            if layer == "hardware" and dl == "reference":
                bad.append(f"{mod} imports {d}")
            if layer == "compare" and dl in ("viz", "cli"):
                bad.append(f"{mod} imports {d}")
    assert not bad, "\n".join(bad)
