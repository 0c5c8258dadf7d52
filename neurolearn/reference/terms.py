"""Evaluate a rule's sum of products for one projection, batched.

For a term c * prod(pre)(j) * prod(post)(i) * prod(syn)(ij) over a batch of n
samples: P = prod of post signals (n, n_post), Q = prod of pre signals (n, n_pre),
dW = c * (P^T Q / n) * prod(syn). A missing pre or post side counts as ones. The
bias is a synapse from a constant-1 presynaptic unit, so it takes the same terms
with Q = 1.
"""

from __future__ import annotations

import numpy as np


def _product(factors, signals, n, width):
    out = None
    for fac in factors:
        v = signals[fac.signal]
        out = v if out is None else out * v
    if out is None:
        return np.ones((n, width))
    # a product of global (third) factors only is one value per row: every unit alike
    return out if out.shape[-1] == width else np.broadcast_to(out, (n, width))


def term_update(term, pre_sig, post_sig, W, n, with_bias_b=None, scale=1.0, out=None,
                syn_sig=None, pre_mask=None, post_mask=None):
    """(dW, db) of one term times ``scale``; ``pre_sig``/``post_sig`` map
    signal -> (n, width) (global signals, (n, 1), sit with the post signals: a third
    factor scales every synapse of a row alike). ``syn_sig`` maps a syn signal other
    than w (the tag) to an array of W's shape. ``pre_mask``/``post_mask`` (n, width)
    gate a spike-triggered term. ``out``: an array of W's shape to write dW into (no
    temporary the size of W; the same values)."""
    pre = [f for f in term.factors if f.kind == "pre"]
    post = [f for f in term.factors if f.kind in ("post", "global")]
    syn = [f for f in term.factors if f.kind == "syn"]
    P = _product(post, post_sig, n, W.shape[0])
    Q = _product(pre, pre_sig, n, W.shape[1])
    if post_mask is not None:
        P = P * post_mask
    if pre_mask is not None:
        Q = Q * pre_mask
    c = term.coeff * scale / n
    # scale the small (n, n_post) factor, not the (n_post, n_pre) product
    dW = np.matmul(P.T * c, Q, out=out)
    db = None
    if with_bias_b is not None:
        db = c * P.sum(axis=0)
    for f in syn:
        if f.signal == "w":
            dW *= W
            if db is not None:
                db *= with_bias_b
        else:
            dW *= syn_sig[f.signal]
    return dW, db


def rule_update(terms, pre_sig, post_sig, W, b=None, scale=1.0, out=None, work=None):
    """Sum of all terms times ``scale`` (the learning rate): (dW, db). ``out`` and
    ``work`` (arrays of W's shape) hold dW and a further term's product, so that a
    training step allocates nothing the size of W; the values are the same."""
    n = next(iter(post_sig.values())).shape[0] if post_sig else \
        next(iter(pre_sig.values())).shape[0]
    dW, db = term_update(terms[0], pre_sig, post_sig, W, n, b, scale, out=out)
    for term in terms[1:]:
        tw, tb = term_update(term, pre_sig, post_sig, W, n, b, scale, out=work)
        dW += tw
        if db is not None:
            db += tb
    return dW, db


def error_free_part(terms, pre_sig, post_sig, W):
    """The terms without syn factors (what a learned feedback matrix mirrors)."""
    return rule_update([t for t in terms if not any(f.kind == "syn" for f in t.factors)],
                       pre_sig, post_sig, W)[0]
