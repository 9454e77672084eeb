"""All-draws-at-once band kernels for the continuous-time transaction models.

Every quantity :func:`~crmcore.clv.predict_interval` offers for the BG/NBD,
MBG/NBD and Pareto/NBD models factors into

    (per-row part, broadcast over draws) × (part that depends on (x, T) only)

- P(alive): per row only;
- E[Y(t)] = P(alive) × k(x, T, t) (FHL 2005 eq. 10; FH 2005 eq. 21);
- CLV = margin × E[spend](x, m) × P(alive) × sum_i d_i [k(x, T, t_i) - k(x, T, t_{i-1})].

Rows are processed in chunks of at most ``max_cells // draws`` distinct
``(x, t_x, T)`` keys. For each chunk, the ``(x, T)`` part (hypergeometric
terms) is evaluated once per draw at the distinct ``(x, T)`` pairs of that
chunk only, and the Pareto/NBD ``log G`` at the chunk's distinct ``(x, t)``
pairs only (found with ``np.unique(..., return_inverse=True)``), so no array
is ever ``draws × customers``, even when ``T`` is continuous and every
customer has its own pair. The per-row part is one broadcast over all draws
for the chunk, and each ``draws × rows`` block is reduced to its quantiles at
once.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import special

from crmcore._types import FloatArray
from crmcore.clv._bgfamily import _k_factor as bg_k_factor
from crmcore.clv._compress import unique_rows
from crmcore.clv._pareto_core import PNBDData, log_g_value, pnbd_many, prepare_pnbd
from crmcore.clv._pareto_core import _k_factor as pnbd_k_factor

__all__ = ["continuous_bands"]

Kind = Literal["pnbd", "bg", "mbg"]


def _pair_values(
    kind: Kind, theta: FloatArray, px: FloatArray, pT: FloatArray, times: FloatArray
) -> FloatArray:
    """``k(x, T, times)`` at the distinct pairs: shape ``(pairs, len(times))``."""
    if kind == "pnbd":
        return pnbd_k_factor(theta, px[:, None], pT[:, None], times[None, :])
    s = 1 if kind == "mbg" else 0
    return bg_k_factor(theta, px[:, None], pT[:, None], times[None, :], s=s)


def _bg_alive_many(
    draws: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, s: int
) -> FloatArray:
    """BG/MBG P(alive) (Fader, Hardie & Lee 2008, eq. 2) for all draws: ``(k, rows)``."""
    r, alpha, a, b = (draws[:, j][:, None] for j in range(4))
    log_odds = np.log(alpha + T[None, :])
    log_odds -= np.log(alpha + tx[None, :])
    log_odds *= r + x[None, :]
    # BG/NBD has no dropout term at x = 0 (masked below); keep its log finite.
    xs = x if s == 1 else np.maximum(x, 1.0)
    log_odds += np.log(a) - np.log(b + xs[None, :] - 1.0 + s)
    if s == 0:
        log_odds[:, x == 0] = -np.inf
    np.negative(log_odds, out=log_odds)
    return np.asarray(special.expit(log_odds, out=log_odds), dtype=np.float64)


def _spend_many(spend_draws: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    """Gamma-Gamma posterior mean spend ``p (γ + m x) / (p x + q - 1)`` for all draws.

    The caller has dropped the draws with ``p x + q <= 1`` (no finite mean).
    """
    p, q, g = (spend_draws[:, j][:, None] for j in range(3))
    return np.asarray(p * (g + m * x) / (p * x + q - 1.0), dtype=np.float64)


def _pair_table(
    kind: Kind,
    draws: FloatArray,
    px: FloatArray,
    pT: FloatArray,
    *,
    quantity: str,
    t: float | None,
    clv_args: dict[str, float] | None,
) -> FloatArray:
    """Return the ``(x, T)`` factor of E[Y(t)] or CLV at pairs ``(px, pT)``: ``(draws, pairs)``."""
    if quantity == "expected_purchases":
        tt = np.array([float(t)])  # type: ignore[arg-type]
        part = np.stack([_pair_values(kind, th, px, pT, tt)[:, 0] for th in draws])
    else:
        assert clv_args is not None
        periods = np.arange(1, int(clv_args["horizon"]) + 1, dtype=np.float64)
        times = periods * clv_args["time_unit"]
        factors = (1.0 + clv_args["discount_rate"]) ** -periods
        part = np.stack(
            [
                np.diff(_pair_values(kind, th, px, pT, times), axis=1, prepend=0.0) @ factors
                for th in draws
            ]
        )
        part *= clv_args["margin"]
    return np.asarray(part, dtype=np.float64)


def _rows_of(d: PNBDData, ks: slice) -> PNBDData:
    """Return the rows ``ks`` of ``d``, keeping all its pairs and distinct values."""
    return PNBDData(
        d.x[ks],
        d.tx[ks],
        d.T[ks],
        d.w[ks],
        d.pair_x,
        d.pair_t,
        d.i_tx[ks],
        d.i_big_t[ks],
        d.t_u,
        d.i_tu[ks],
        d.x_u,
        d.i_xu[ks],
        d.w_x,
        d.n,
    )


def continuous_bands(
    kind: Kind,
    draws: FloatArray,
    cols: list[FloatArray],
    *,
    quantity: str,
    t: float | None,
    spend_draws: FloatArray | None,
    clv_args: dict[str, float] | None,
    chunk: int,
    q: FloatArray,
    ci_low: FloatArray,
    ci_high: FloatArray,
) -> None:
    """Fill ``ci_low``/``ci_high`` with the quantiles over draws for each distinct row.

    Rows are processed in the order of their ``(x, t_x, T)`` key, so a chunk
    of rows that differ only in monetary value (CLV) shares one evaluation of
    the purchase-process part per key.
    """
    (kx, ktx, kT), key = unique_rows(cols[0], cols[1], cols[2])
    order = np.argsort(key, kind="stable")
    key = key[order]
    n = key.size
    x_sorted = cols[0][order]
    m_sorted = cols[3][order] if quantity == "clv" else None
    # Tables over draws × distinct pairs are built once for all chunks only when
    # they fit the bound of one chunk (few pairs, e.g. T on a grid of days);
    # otherwise (continuous T: a pair per customer) per chunk, at its own pairs.
    d_all = prepare_pnbd(kx, ktx, kT, np.ones(kx.size)) if kind == "pnbd" else None
    lg_all: FloatArray | None = None
    if d_all is not None and max(d_all.pair_x.size / 2, d_all.t_u.size, d_all.x_u.size) <= chunk:
        lg_all = np.stack([log_g_value(th, d_all.pair_x, d_all.pair_t) for th in draws])
    with_pairs = quantity != "probability_alive"
    (px, pT), pair_of_key = unique_rows(kx, kT)
    table_all: FloatArray | None = None
    if with_pairs and px.size <= chunk:
        table_all = _pair_table(kind, draws, px, pT, quantity=quantity, t=t, clv_args=clv_args)
    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        k_lo, k_hi = int(key[sl][0]), int(key[sl][-1]) + 1
        ks = slice(k_lo, k_hi)  # the keys of this chunk are exactly k_lo..k_hi-1
        if d_all is not None and lg_all is not None:
            per_key = pnbd_many(draws, lg_all, _rows_of(d_all, ks), None)
        elif d_all is not None:
            # Only this chunk's (x, t) pairs, distinct T and x: every draws × …
            # array is at most draws × 2 chunk (issue 5: never draws × customers).
            d = prepare_pnbd(kx[ks], ktx[ks], kT[ks], np.ones(k_hi - k_lo))
            lg = np.stack([log_g_value(th, d.pair_x, d.pair_t) for th in draws])
            per_key = pnbd_many(draws, lg, d, None)
            del lg
        else:
            per_key = _bg_alive_many(draws, kx[ks], ktx[ks], kT[ks], 1 if kind == "mbg" else 0)
        if table_all is not None:
            per_key *= table_all[:, pair_of_key[ks]]
        elif with_pairs:
            (cx, cT), pair_of_row = unique_rows(kx[ks], kT[ks])
            table = _pair_table(kind, draws, cx, cT, quantity=quantity, t=t, clv_args=clv_args)
            per_key *= table[:, pair_of_row]
        local = key[sl] - k_lo
        block = per_key if k_hi - k_lo == local.size else per_key[:, local]
        if m_sorted is not None:
            assert spend_draws is not None
            block *= _spend_many(spend_draws, x_sorted[sl], m_sorted[sl])
        lo, hi = np.quantile(block, q, axis=0)
        ci_low[order[sl]] = lo
        ci_high[order[sl]] = hi
