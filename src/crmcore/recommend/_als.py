"""Alternating least squares for implicit feedback (Hu, Koren and Volinsky, 2008).

Hu, Y., Koren, Y. and Volinsky, C. (2008), "Collaborative Filtering for
Implicit Feedback Datasets", *Proc. IEEE ICDM*, section 4. Purchases are
not ratings: each customer ``u`` and product ``i`` have a preference
``p_ui = 1`` if ``u`` bought ``i`` (else 0) and a confidence

* ``c_ui = 1 + α r_ui`` (linear), or
* ``c_ui = 1 + α log(1 + r_ui / ε)`` (the paper's log-scaled alternative),

where ``r_ui`` counts the orders (or units). The factors minimise

    Σ_{u,i} c_ui (p_ui - x_uᵀ y_i)² + λ (Σ_u ||x_u||² + Σ_i ||y_i||²),

over *all* pairs, bought or not. With ``Y`` fixed each ``x_u`` solves

    (YᵀY + Yᵀ(Cᵘ - I)Y + λI) x_u = Yᵀ Cᵘ p(u),

and the paper's observation makes this cheap: ``YᵀY`` is shared by every
customer, and ``Cᵘ - I`` is non-zero only on the products ``u`` bought.
Items are updated symmetrically. Two solvers:

* ``"cg"``: a few conjugate-gradient steps per sweep, warm-started from the
  previous factors (Takács, Pilászy and Tikk, 2011, "Applications of the
  conjugate gradient method for implicit feedback collaborative filtering",
  *RecSys*). The matrix is never formed: ``A v = (YᵀY + λI) v + Σ_{i∈u}
  (c_ui - 1)(y_iᵀ v) y_i``, evaluated for a whole block of customers with
  one gather and one sparse product;
* ``"exact"``: the normal equations formed and solved per customer (batched
  ``numpy.linalg.solve``); ``O(nnz f² + n f³)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from crmcore.recommend._topk import row_of_entries

__all__ = ["als", "confidence_minus_one"]

Array32 = np.ndarray[tuple[int, ...], np.dtype[np.float32]]
_CG_NNZ = 1 << 20  # stored entries per CG block (the gathered factors: nnz × f)
_EXACT_CELLS = 1 << 24  # nnz × f² per exact block


def confidence_minus_one(
    counts: sp.csr_matrix, *, alpha: float, scaling: str, epsilon: float
) -> sp.csr_matrix:
    """``c_ui - 1`` on the stored entries: ``α r`` or ``α log(1 + r / ε)``."""
    out = counts.astype(np.float32)
    r = out.data.astype(np.float64)
    out.data = (alpha * (r if scaling == "linear" else np.log1p(r / epsilon))).astype(np.float32)
    return out


def _matvec(
    v: Array32,
    *,
    gram: Array32,
    sub: sp.csr_matrix,
    gathered: Array32,
    rows: np.ndarray[tuple[int], np.dtype[np.int64]],
    y: Array32,
) -> Array32:
    """Return ``A v`` for a block of rows: ``v (YᵀY + λI) + Σ_i (c_ui - 1)(y_iᵀ v) y_i``."""
    dots = np.einsum("ij,ij->i", gathered, v[rows])
    weighted = sp.csr_matrix((sub.data * dots, sub.indices, sub.indptr), shape=sub.shape)
    return np.asarray(v @ gram + weighted @ y, dtype=np.float32)


def _half_step_cg(conf: sp.csr_matrix, x: Array32, y: Array32, reg: float, steps: int) -> None:
    """Update ``x`` in place: ``steps`` CG iterations per row, warm-started."""
    f = y.shape[1]
    gram = (y.T.astype(np.float64) @ y.astype(np.float64) + reg * np.eye(f)).astype(np.float32)
    n = conf.shape[0]
    indptr = conf.indptr
    start = 0
    while start < n:
        # as many rows as fit in the block's gather budget (at least one)
        stop = int(np.searchsorted(indptr, indptr[start] + _CG_NNZ, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        sub = conf[start:stop]
        rows = row_of_entries(sub.indptr)
        g = y[sub.indices]
        ones = sp.csr_matrix(
            (sub.data + 1.0, sub.indices, sub.indptr), shape=sub.shape
        )  # c_ui on the bought products: b = Yᵀ Cᵘ p(u)
        b = np.asarray(ones @ y, dtype=np.float32)
        xb = x[start:stop]

        r = b - _matvec(xb, gram=gram, sub=sub, gathered=g, rows=rows, y=y)
        p = r.copy()
        rs = np.einsum("ij,ij->i", r, r)
        for _ in range(steps):
            ap = _matvec(p, gram=gram, sub=sub, gathered=g, rows=rows, y=y)
            denom = np.einsum("ij,ij->i", p, ap)
            alpha = np.divide(rs, denom, out=np.zeros_like(rs), where=denom > 0)
            xb += alpha[:, None] * p
            r -= alpha[:, None] * ap
            rs_new = np.einsum("ij,ij->i", r, r)
            beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 0)
            p = r + beta[:, None] * p
            rs = rs_new
        x[start:stop] = xb
        start = stop


def _half_step_exact(conf: sp.csr_matrix, x: Array32, y: Array32, reg: float) -> None:
    """Update ``x`` in place by solving each row's normal equations."""
    f = y.shape[1]
    y64 = y.astype(np.float64)
    gram = y64.T @ y64 + reg * np.eye(f)
    n = conf.shape[0]
    indptr = conf.indptr
    budget = max(1, _EXACT_CELLS // (f * f))
    start = 0
    while start < n:
        stop = int(np.searchsorted(indptr, indptr[start] + budget, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        sub = conf[start:stop]
        g = y64[sub.indices]
        w = sub.data.astype(np.float64)
        outer = np.einsum("ni,nj->nij", g * w[:, None], g)
        a = np.broadcast_to(gram, (stop - start, f, f)).copy()
        lengths = np.diff(sub.indptr)
        has = np.flatnonzero(lengths > 0)
        if has.size:
            a[has] += np.add.reduceat(outer, sub.indptr[:-1][has], axis=0)
        ones = sp.csr_matrix((w + 1.0, sub.indices, sub.indptr), shape=sub.shape)
        b = np.asarray(ones @ y64)
        x[start:stop] = np.linalg.solve(a, b[:, :, None])[:, :, 0].astype(np.float32)
        start = stop


def als(
    conf: sp.csr_matrix,
    *,
    factors: int,
    regularization: float,
    iterations: int,
    solver: str,
    cg_steps: int,
    rng: np.random.Generator,
) -> tuple[Array32, Array32]:
    """Fit customer and product factors to ``conf`` (``c - 1`` on bought pairs).

    Returns
    -------
    (ndarray, ndarray)
        Customer factors (n_customers × factors) and product factors
        (n_products × factors), float32.
    """
    n_users, n_items = conf.shape
    scale = 0.01
    x = (rng.standard_normal((n_users, factors)) * scale).astype(np.float32)
    y = (rng.standard_normal((n_items, factors)) * scale).astype(np.float32)
    conf_t = conf.T.tocsr()
    for _ in range(iterations):
        if solver == "cg":
            _half_step_cg(conf, x, y, regularization, cg_steps)
            _half_step_cg(conf_t, y, x, regularization, cg_steps)
        else:
            _half_step_exact(conf, x, y, regularization)
            _half_step_exact(conf_t, y, x, regularization)
    return x, y
