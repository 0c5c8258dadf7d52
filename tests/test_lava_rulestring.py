"""Rule strings are checked before Lava sees them; a rule that cannot map gets an
error naming the product and the limit. (No lava import: fast.)"""

import pytest

from neurolearn.backends.lava.rulestring import check, scale_of
from neurolearn.errors import UnsupportedRule


@pytest.mark.parametrize("expr", [
    "2^-7 * u0 * x1 * y2 - 2^-7 * u0 * x1 * y3",
    "u0 * x1 * y1 + u0 * y2 * w",
    "-3 * 2^2 * x0 * y1 + 7 * 2^-7 * y0 * x1",
    "14 * u1 * (x1 + 2) * sgn(w)",  # 14 = 7 * 2^1
    "2^8 * u0 * y1",
])
def test_valid_rules_pass_unchanged(expr):
    assert check(expr) == expr


@pytest.mark.parametrize("expr,needle", [
    ("0.01 * u0 * x1 * y2", "float literal '0.01'"),
    ("1e-3 * u0 * x1 * y2", "float literal '1e-3'"),
    ("u0 * x0 * x1 * y2", "2 dependencies (u0, x0)"),
    ("x1 * y2", "0 dependencies (none)"),
    ("9 * u0 * x1 * y2", "scale 9*2^0: the mantissa must satisfy |m| <= 7"),
    ("2^-8 * u0 * x1 * y2", "scale 1*2^-8: the exponent must lie in [-7, 8]"),
    ("7 * 2^8 * 2 * u0 * y1", "scale 7*2^9: the exponent must lie in [-7, 8]"),
    ("u0 * x1 * (y2 - y3)", "sub-expression '(y2 - y3)'"),
    ("u0 * x1 / y2", "division is not expressible"),
    ("u0 * x1 * v", "unknown symbol 'v'"),
])
def test_invalid_rules_name_product_and_limit(expr, needle):
    with pytest.raises(UnsupportedRule) as err:
        check(expr, where="layer 1")
    msg = str(err.value)
    assert needle in msg
    assert msg.startswith("layer 1: learning-rule product")
    assert "cannot run on lava" in msg


def test_mixed_u_dependencies_refused():
    with pytest.raises(UnsupportedRule, match="different u dependencies"):
        check("u0 * x1 * y1 + u1 * x1 * y2")


def test_scale_normalisation():
    assert scale_of(["16", "2^-3"]) == (4, -1)  # as Lava: halve m only while |m| > 7
    assert scale_of(["6"]) == (6, 0)
