"""Evaluate a rule's sum of products for one projection, batched.

For a term c * prod(pre)(j) * prod(post)(i) * prod(syn)(ij) over a batch of n
samples: P = prod of post signals (n, n_post), Q = prod of pre signals (n, n_pre),
dW = c * (P^T Q / n) * prod(syn). A missing pre or post side counts as ones. The
bias is a synapse from a constant-1 presynaptic unit, so it takes the same terms
with Q = 1.

Signals may carry leading axes of independent networks (the time-stepped
simulator's copies): P (G, n, n_post), Q (G, n, n_pre), W (G, n_post, n_pre); each
copy's dW is computed by the same operations as a lone network's (numpy's stacked
matmul runs one BLAS call per copy), so the values are the same bit for bit.

:class:`CompiledTerm` is the time-stepped simulator's form of a term: its factors
sorted once, and, where one side is a sparse 0/1 train (events, bursts, spikes) and
each copy has one row, a change computed only for the rows (columns) that are not
zero. Every entry it writes is the entry the dense product has (with one row a
product P^T Q holds single rounded products, round(p c * q)), and the entries it
skips are zeros, so adding it to an accumulator gives the same bits.
"""

from __future__ import annotations

import numpy as np

from . import kernels

# post signals that are 0/1 trains or vanish outside them: a term with one of these
# (or a spike mask) is worth evaluating row-sparse
SPARSE_POST = frozenset({"event", "burst", "pbar_event"})
_FEW = 32  # up to this many columns, update them one by one (strided slices)


def _T(a):
    """Matrix transpose of the last two axes (a view)."""
    return a.swapaxes(-1, -2)


def _product(factors, signals, lead, width, dtype=float):
    out = None
    for fac in factors:
        v = signals[fac.signal]
        out = v if out is None else out * v
    if out is None:
        return np.ones((*lead, width), dtype=dtype)
    # a product of global (third) factors only is one value per row: every unit alike
    return out if out.shape[-1] == width else np.broadcast_to(out, (*lead, width))


def term_update(term, pre_sig, post_sig, W, n, with_bias_b=None, scale=1.0, out=None,
                syn_sig=None, pre_mask=None, post_mask=None):
    """(dW, db) of one term times ``scale``; ``pre_sig``/``post_sig`` map
    signal -> (n, width) (global signals, (n, 1), sit with the post signals: a third
    factor scales every synapse of a row alike). ``syn_sig`` maps a syn signal other
    than w (the tag) to an array of W's shape. ``pre_mask``/``post_mask`` (n, width)
    gate a spike-triggered term. ``out``: an array of W's shape to write dW into (no
    temporary the size of W; the same values). Leading copy axes are allowed on
    every array (module docstring); ``n`` is the number of rows per copy."""
    pre = [f for f in term.factors if f.kind == "pre"]
    post = [f for f in term.factors if f.kind in ("post", "global")]
    syn = [f for f in term.factors if f.kind == "syn"]
    lead = (*W.shape[:-2], n)
    P = _product(post, post_sig, lead, W.shape[-2], W.dtype)
    Q = _product(pre, pre_sig, lead, W.shape[-1], W.dtype)
    if post_mask is not None:
        P = P * post_mask
    if pre_mask is not None:
        Q = Q * pre_mask
    c = term.coeff * scale / n
    # scale the small (n, n_post) factor, not the (n_post, n_pre) product
    dW = np.matmul(_T(P) * c, Q, out=out)
    db = None
    if with_bias_b is not None:
        db = c * P.sum(axis=-2)
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
    n = next(iter(post_sig.values())).shape[-2] if post_sig else \
        next(iter(pre_sig.values())).shape[-2]
    dW, db = term_update(terms[0], pre_sig, post_sig, W, n, b, scale, out=out)
    for term in terms[1:]:
        tw, tb = term_update(term, pre_sig, post_sig, W, n, b, scale, out=work)
        dW += tw
        if db is not None:
            db += tb
    return dW, db


def error_free_part(terms, pre_sig, post_sig, W, out=None, work=None):
    """The terms without syn factors (what a learned feedback matrix mirrors);
    ``out``/``work`` as in :func:`rule_update`."""
    return rule_update([t for t in terms if not any(f.kind == "syn" for f in t.factors)],
                       pre_sig, post_sig, W, out=out, work=work)[0]


class CompiledTerm:
    """One term of a rule, prepared for the time-stepped simulator's every step.

    ``names`` maps a factor to the key its signal has in the step's signal dicts
    (own-trace factors carry their own names). :meth:`add_to` adds
    ``term * scale`` to an accumulator (and the bias's share to ``acc_b``) with the
    dense product's values (module docstring)."""

    def __init__(self, term, name_of):
        self.coeff, self.when = term.coeff, term.when
        self.post = tuple(name_of(f) for f in term.factors if f.kind in ("post", "global"))
        self.pre = tuple(name_of(f) for f in term.factors if f.kind == "pre")
        self.syn = tuple(f.signal for f in term.factors if f.kind == "syn")
        self.has_syn = bool(self.syn)
        self.post_signals = {f.signal for f in term.factors if f.kind == "post"}
        self.row_sparse = self.when == "post_spike" or bool(SPARSE_POST & self.post_signals)
        self.col_sparse = self.when == "pre_spike"
        # what kernels.spiked_term may do for this term, in the numpy path's order
        self._sparse_kinds = ("rows",) * self.row_sparse + ("cols",) * self.col_sparse \
            if len(self.syn) <= 1 else ()

    @staticmethod
    def _product(keys, sig, shape):
        out = None
        for k in keys:
            v = sig[k]
            out = v if out is None else out * v
        if out is None:
            return np.ones(shape)
        return out if out.shape[-1] == shape[-1] else np.broadcast_to(out, shape)

    def factors(self, sig_pre, sig_post, W, pre_mask, post_mask):
        """(P, Q) of this step: (G, n, n_post), (G, n, n_pre)."""
        G, n_post, n_pre = W.shape
        n = next(iter(sig_post.values())).shape[-2] if sig_post else \
            next(iter(sig_pre.values())).shape[-2]
        return (self._side(self.post, sig_post, (G, n, n_post), post_mask),
                self._side(self.pre, sig_pre, (G, n, n_pre), pre_mask), n)

    @classmethod
    def _side(cls, keys, sig, shape, mask):
        """One side's product times its spike mask; with no factors, the mask itself
        (1 * m is m exactly: no array of ones to multiply)."""
        if mask is None:
            return cls._product(keys, sig, shape)
        if not keys and mask.shape == shape:
            return mask
        return cls._product(keys, sig, shape) * mask

    def add_to(self, acc, sig_pre, sig_post, W, scale, *, bias=None, acc_b=None,
               syn=None, pre_mask=None, post_mask=None, work=None):
        """acc += this term * scale (and acc_b += its bias share when ``bias``).
        Returns where acc changed: ``("rows", g, i)`` (those rows of those copies),
        ``("cols", g, j)``, ``"dense"`` or None (nowhere)."""
        P, Q, n = self.factors(sig_pre, sig_post, W, pre_mask, post_mask)
        c = self.coeff * scale / n
        # copies with their own rates: scale (G, 1, 1), and cg[g] is copy g's c
        cg = c.reshape(-1) if isinstance(c, np.ndarray) else None
        if bias is not None:
            db = (c if cg is None else cg[:, None]) * P.sum(axis=-2)
            for s in self.syn:
                if s == "w":
                    db *= bias
            acc_b += db
        if n == 1 and self._sparse_kinds and kernels.active():
            # the same entries, compiled (kernels.spiked_term)
            S = None if not self.syn else W if self.syn[0] == "w" else syn[self.syn[0]]
            if kernels.fits_terms(acc) and (S is None or kernels.fits_terms(S)):
                for kind in self._sparse_kinds:
                    done = kernels.spiked_term(kind, P[:, 0], c if cg is None else cg,
                                               Q[:, 0], acc, S)
                    if done is not None:
                        return (kind, *done) if len(done[0]) else None
        if n == 1 and self.row_sparse:
            # the nonzero rows through flat indices f = g * n_post + i: a float array's
            # nonzero (and 2-d gathers) cost several times a boolean 1-d one's here
            Pf = P.reshape(-1)
            f = (Pf != 0).nonzero()[0]
            if len(f) * 4 < P.size:  # sparse enough to gather
                if not len(f):
                    return None
                g, i = np.divmod(f, P.shape[-1])
                sub = (Pf[f] * (c if cg is None else cg[g]))[:, None] * Q[:, 0].take(g, 0)
                for s in self.syn:
                    sub *= W[g, i] if s == "w" else syn[s][g, i]
                if acc.flags.c_contiguous:  # acc[g, i] as rows of a (G n_post, n_pre) view
                    acc.reshape(-1, acc.shape[-1])[f] += sub
                else:
                    acc[g, i] += sub
                return ("rows", g, i)
        if n == 1 and self.col_sparse:
            g, j = Q[:, 0, :].nonzero()
            if len(g) * 4 < Q.size:
                if not len(g):
                    return None
                sub = (P[g, 0, :] * (c if cg is None else cg[g][:, None])) * \
                    Q[g, 0, j][:, None]
                for s in self.syn:
                    sub *= W[g, :, j] if s == "w" else syn[s][g, :, j]
                if len(g) <= _FEW:  # strided columns: basic slices beat a fancy gather
                    for k, (gk, jk) in enumerate(zip(g.tolist(), j.tolist())):
                        acc[gk, :, jk] += sub[k]
                else:
                    acc[g, :, j] += sub
                return ("cols", g, j)
        dW = np.matmul(_T(P) * c, Q, out=work)
        for s in self.syn:
            dW *= W if s == "w" else syn[s]
        acc += dW
        return "dense"


def add_sparse(target, acc, touched):
    """target += acc and acc <- 0 where ``touched`` (a list of what
    :meth:`CompiledTerm.add_to` returned) says acc may be nonzero: elsewhere acc is 0
    and adding it would change nothing, so the result is the dense one's."""
    # the same sums, compiled
    if kernels.active() and kernels.fits_terms(target) and kernels.fits_terms(acc):
        for kind, g, idx in touched:
            kernels.apply_sparse(kind, target, acc, g, idx)
        return
    for where in touched:
        kind, g, idx = where
        if kind == "rows":
            target[g, idx] += acc[g, idx]
            acc[g, idx] = 0.0
        elif len(g) <= _FEW:
            for gk, jk in zip(g.tolist(), idx.tolist()):
                a = acc[gk, :, jk]
                target[gk, :, jk] += a
                a[...] = 0.0
        else:
            target[g, :, idx] += acc[g, :, idx]
            acc[g, :, idx] = 0.0
