"""How the benchmarks word a goal's verdict (issue 16's bars), in one place: the
scripts print it and run_all.py puts it on docs/benchmarks.md."""


def verdict(met) -> str:
    """True, False or None (too little ran to judge) as the page's words."""
    return "not judged" if met is None else "met" if met else "not met"
