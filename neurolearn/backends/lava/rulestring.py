"""Check a Lava learning-rule string before Lava sees it (no lava import).

Lava 0.10.0 accepts a sum of products ``dw = "2^-7 * u0 * x1 * y2 - 2^-7 * u0 * x1 * y3"``
and fails on much else with cryptic errors (a float literal gives an AttributeError).
A product here is ``[sign] [scale *] factor * factor ...`` where

- exactly one factor is a dependency: ``x0`` (pre spike), ``y0`` (post spike) or
  ``uK`` (every 2^K epochs; all u products share K),
- the other factors are traces and synaptic variables ``x1 x2 y1 y2 y3 w d t``, a
  trace plus or minus an integer ``(x1 + 3)``, or ``sgn(w|d|t)``,
- integer literals and powers ``2^e`` form the scale ``m * 2^e`` with |m| <= 7 and
  e in [-7, 8] after moving factors of 2 from m into e.

Float literals, division, other functions, and sub-expressions such as ``(y2 - y3)``
are refused. ``check`` returns the string unchanged or raises UnsupportedRule naming
the product and the limit it breaks.
"""

from __future__ import annotations

import re

from ...errors import UnsupportedRule

DEPENDENCIES = re.compile(r"^(x0|y0|u[0-9])$")
FACTORS = {"x1", "x2", "y1", "y2", "y3", "w", "d", "t"}
SGN = re.compile(r"^sgn\((w|d|t)\)$")
OFFSET = re.compile(r"^\((x1|x2|y1|y2|y3|w|d|t)\s*[+-]\s*[0-9]+\)$")
POW2 = re.compile(r"^2\^\(?([+-]?[0-9]+)\)?$")
INT = re.compile(r"^[0-9]+$")
MANTISSA_MAX = 7
EXP_RANGE = (-7, 8)


def _fail(where, product, reason):
    raise UnsupportedRule("lava", f"{where}learning-rule product {product!r}", reason,
                          "numpy (the reference) or a rule within Lava's limits")


def _split_sum(expr: str):
    """Top-level products with their signs; parentheses may not span + or -."""
    out, depth, start, sign = [], 0, 0, 1
    s = expr.strip()
    i = 0
    if s.startswith("-"):
        sign, start, i = -1, 1, 1
    elif s.startswith("+"):
        start, i = 1, 1
    while i < len(s):
        c = s[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c in "+-" and depth == 0 and s[i - 1] != "^" and \
                not re.search(r"[0-9][eE]$", s[:i]):  # 1e-3 is one (float) token
            out.append((sign, s[start:i].strip()))
            sign, start = (1 if c == "+" else -1), i + 1
        i += 1
    out.append((sign, s[start:].strip()))
    return out


def scale_of(product_factors):
    """(m, e) of the product's literal factors, normalised."""
    m, e = 1, 0
    for tok in product_factors:
        if POW2.match(tok):
            e += int(POW2.match(tok).group(1))
        elif INT.match(tok):
            m *= int(tok)
    while m != 0 and m % 2 == 0 and abs(m) > MANTISSA_MAX:
        m //= 2
        e += 1
    return m, e


def check(expr: str, where: str = "") -> str:
    """Validate ``expr`` (a dw/dd/dt string); return it or raise UnsupportedRule."""
    where = f"{where}: " if where else ""
    if not expr or not expr.strip():
        raise UnsupportedRule("lava", f"{where}learning rule", "the rule string is empty")
    u_ks = set()
    for sign, product in _split_sum(expr):
        if not product:
            _fail(where, expr, "empty product (two operators in a row?)")
        if "/" in product:
            _fail(where, product, "division is not expressible; fold constants into a "
                                  "scale m*2^e or into a post factor")
        toks = [t.strip() for t in re.split(r"\*(?![^()]*\))", product)]
        deps, lits = [], []
        for tok in toks:
            if re.search(r"[0-9]\.[0-9]*|\.[0-9]|[0-9][eE][+-]?[0-9]", tok):
                _fail(where, product, f"float literal {tok!r}; Lava takes only integer "
                                      "scales m*2^e (|m| <= 7, e in [-7, 8])")
            if DEPENDENCIES.match(tok):
                deps.append(tok)
                if tok.startswith("u"):
                    u_ks.add(tok)
            elif tok in FACTORS or SGN.match(tok) or OFFSET.match(tok):
                continue
            elif POW2.match(tok) or INT.match(tok):
                lits.append(tok)
            elif tok.startswith("(") or "(" in tok:
                _fail(where, product, f"sub-expression {tok!r}; a factor may only be a "
                                      "trace plus or minus an integer, like (x1 + 2), or "
                                      "sgn(w|d|t); split it into products")
            else:
                _fail(where, product, f"unknown symbol {tok!r} (factors: "
                                      f"{', '.join(sorted(FACTORS))}; dependencies: x0, "
                                      "y0, u0..u9)")
        if len(deps) != 1:
            _fail(where, product, f"{len(deps)} dependencies ({', '.join(deps) or 'none'}); "
                                  "each product needs exactly one of x0, y0, uK")
        m, e = scale_of(lits)
        if abs(m) > MANTISSA_MAX:
            _fail(where, product, f"scale {m}*2^{e}: the mantissa must satisfy "
                                  f"|m| <= {MANTISSA_MAX}")
        if not EXP_RANGE[0] <= e <= EXP_RANGE[1]:
            _fail(where, product, f"scale {m}*2^{e}: the exponent must lie in "
                                  f"[{EXP_RANGE[0]}, {EXP_RANGE[1]}]")
    if len(u_ks) > 1:
        raise UnsupportedRule("lava", f"{where}learning rule {expr!r}",
                              f"products use different u dependencies "
                              f"({', '.join(sorted(u_ks))}); all uK products share K")
    return expr
