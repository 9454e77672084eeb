"""RFM scoring: balanced quantile bins for recency, frequency and monetary value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._types import FloatArray, IntArray
from crmcore._validation import as_float_array, check_columns, check_nonnegative, check_scalar
from crmcore.errors import ValidationError

__all__ = ["LAYOUTS", "rfm_scores"]

_UNSET: Any = object()

LAYOUTS: dict[str, dict[str, str | None]] = {
    "btyd": {
        "recency_col": "recency",
        "age_col": "T",
        "frequency_col": "frequency",
        "monetary_col": "monetary_value",
    },
    "features": {
        "recency_col": "days_since_last_purchase",
        "age_col": None,
        "frequency_col": "n_purchases",
        "monetary_col": "total_spend",
    },
}
"""Default column names of the two input layouts :func:`rfm_scores` knows."""


def _tiebreak(index: pd.Index) -> IntArray:
    """Rank of each row's label in sorted label order (zeros if labels do not sort)."""
    try:
        codes, _ = pd.factorize(index, sort=True)
    except TypeError:
        return np.zeros(len(index), dtype=np.int64)
    return np.asarray(codes, dtype=np.int64)


def _bin_scores(values: FloatArray, tiebreak: IntArray, bins: int) -> IntArray:
    """Scores 1..bins by rank; equal values are ordered by ``tiebreak`` then position."""
    n = values.size
    order = np.lexsort((tiebreak, values))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n, dtype=np.int64)
    return ranks * bins // max(n, 1) + 1


def _resolve_layout(frame: pd.DataFrame, layout: str) -> dict[str, str | None]:
    if layout == "auto":
        cols = set(frame.columns)
        if {"recency", "T", "frequency"} <= cols:
            layout = "btyd"
        elif "days_since_last_purchase" in cols:
            layout = "features"
        else:
            raise ValidationError(
                "cannot tell the input layout: expected the BTYD summary columns "
                "('frequency', 'recency', 'T', 'monetary_value') or customer_features "
                "columns ('days_since_last_purchase', 'n_purchases', 'total_spend'); "
                "name the columns with recency_col=, frequency_col=, monetary_col= "
                f"(and age_col= for BTYD recency); columns present: {list(frame.columns)}",
                field="layout",
            )
    if layout not in LAYOUTS:
        raise ValidationError(
            f"layout must be 'auto', 'btyd' or 'features'; got {layout!r}",
            field="layout",
            value=layout,
        )
    return dict(LAYOUTS[layout])


def rfm_scores(
    data: pd.DataFrame,
    *,
    bins: int = 5,
    layout: str = "auto",
    recency_col: str = _UNSET,
    age_col: str | None = _UNSET,
    frequency_col: str = _UNSET,
    monetary_col: str | None = _UNSET,
) -> pd.DataFrame:
    """Score recency, frequency and monetary value in balanced quantile bins.

    Each measure is ranked across customers and cut into ``bins`` equal-count
    bins, scored ``1`` (worst) to ``bins`` (best): the most *recent*
    customers, the most *frequent* and the highest *spending* get the top
    score. Ranking (rather than cutting at value quantiles) keeps the bins
    balanced, sizes differing by at most one, even when many customers share
    a value (say a frequency of 0); the price is that equal values may land
    in adjacent bins. Ties are broken deterministically: by the index label
    (sorted order; earlier labels rank lower), then by row position when the
    labels cannot be sorted or repeat. Scores therefore do not depend on the
    order of the rows.

    Parameters
    ----------
    data : DataFrame
        One row per customer: a BTYD summary (``crmcore.clv.rfm_summary``:
        ``frequency``, ``recency``, ``T``, ``monetary_value``) or the output of
        :func:`customer_features`, or any frame with the columns named below.
    bins : int, default 5
        Number of score levels, from 2 to 9.
    layout : {"auto", "btyd", "features"}, default "auto"
        Which default column names to use (see the table below); ``"auto"``
        picks ``"btyd"`` when ``frequency``, ``recency`` and ``T`` are all
        present, else ``"features"`` when ``days_since_last_purchase`` is.
    recency_col : str
        Column measuring recency. Without ``age_col`` it is read as *time
        since the last purchase* (smaller is more recent); with ``age_col``
        it is BTYD recency, *time from first to last purchase*, and time
        since the last purchase is ``data[age_col] - data[recency_col]``.
    age_col : str or None
        Column with the customer's age (BTYD ``T``), or ``None``.
    frequency_col : str
        Column counting purchases (BTYD: repeat purchases).
    monetary_col : str or None
        Column of spend; ``None`` scores recency and frequency only (no
        ``m_score``).

    Returns
    -------
    DataFrame
        Same index as ``data``, int64 columns ``r_score``, ``f_score``,
        ``m_score`` (unless ``monetary_col=None``) and ``rfm_score``, the
        cell code ``100*r + 10*f + m`` (``10*r + f`` without ``m_score``).

    Raises
    ------
    ValidationError
        A missing column (the message lists those present), non-finite or
        negative recency / frequency, non-finite monetary values, a BTYD
        recency larger than ``T``, or ``bins`` outside 2..9.

    Notes
    -----
    Default columns by layout:

    ============  ============================  =======  ===============  ==================
    layout        recency_col                   age_col  frequency_col    monetary_col
    ============  ============================  =======  ===============  ==================
    ``btyd``      ``recency``                   ``T``    ``frequency``    ``monetary_value``
    ``features``  ``days_since_last_purchase``  None     ``n_purchases``  ``total_spend``
    ============  ============================  =======  ===============  ==================

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame(
    ...     {
    ...         "frequency": [0, 2, 5, 1],
    ...         "recency": [0.0, 30.0, 80.0, 10.0],
    ...         "T": [90.0, 90.0, 90.0, 60.0],
    ...         "monetary_value": [0.0, 25.0, 40.0, 10.0],
    ...     },
    ...     index=["a", "b", "c", "d"],
    ... )
    >>> rfm_scores(summary, bins=4)
       r_score  f_score  m_score  rfm_score
    a        1        1        1        111
    b        2        3        3        233
    c        4        4        4        444
    d        3        2        2        322
    """
    check_columns(data, [], name="data")
    nbins = int(check_scalar(bins, name="bins", low=2, high=9, integer=True))
    cols = _resolve_layout(data, layout)
    given = {
        "recency_col": recency_col,
        "age_col": age_col,
        "frequency_col": frequency_col,
        "monetary_col": monetary_col,
    }
    for key, value in given.items():
        if value is not _UNSET:
            cols[key] = value
    r_col, a_col = cols["recency_col"], cols["age_col"]
    f_col, m_col = cols["frequency_col"], cols["monetary_col"]
    if r_col is None or f_col is None:
        raise ValidationError("recency_col and frequency_col must name columns", field="data")
    needed = [c for c in (r_col, a_col, f_col, m_col) if c is not None]
    try:
        check_columns(data, needed, name="data")
    except ValidationError as exc:
        hint = " (pass monetary_col=None to score R and F only)" if exc.field == m_col else ""
        raise ValidationError(exc.message + hint, field=exc.field) from None
    index = data.index
    kw: dict[str, Any] = {"index": index, "row_name": "customer"}
    recency = as_float_array(data[r_col], name=r_col, **kw)
    check_nonnegative(recency, name=r_col, **kw)
    if a_col is not None:
        age = as_float_array(data[a_col], name=a_col, **kw)
        since = age - recency
        check_nonnegative(since, name=f"{a_col} - {r_col} (time since last purchase)", **kw)
    else:
        since = recency
    frequency = as_float_array(data[f_col], name=f_col, **kw)
    check_nonnegative(frequency, name=f_col, **kw)
    tie = _tiebreak(index)
    r = _bin_scores(-since, tie, nbins)
    f = _bin_scores(frequency, tie, nbins)
    out: dict[str, IntArray] = {"r_score": r, "f_score": f}
    if m_col is not None:
        m = _bin_scores(as_float_array(data[m_col], name=m_col, **kw), tie, nbins)
        out["m_score"] = m
        out["rfm_score"] = 100 * r + 10 * f + m
    else:
        out["rfm_score"] = 10 * r + f
    return pd.DataFrame(out, index=index)
