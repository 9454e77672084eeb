"""NPS by group and over time, vectorised with ``np.bincount`` over group codes."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore._deprecation import renamed_arguments
from crmcore._time import parse_freq, period_codes, period_labels, read_dates
from crmcore._types import IntArray
from crmcore._validation import check_columns, first_bad
from crmcore.errors import ValidationError
from crmcore.loyalty._scores import as_scores, check_confidence, check_int_param, z_value
from crmcore.loyalty._survey import nps_arrays

__all__ = ["nps_by", "nps_trend"]

#: Answer 0..10 -> 0 detractor, 1 passive, 2 promoter.
_CATEGORY = np.array([0] * 7 + [1, 1] + [2, 2], dtype=np.int64)

_STAT_COLUMNS = [
    "n",
    "promoters",
    "passives",
    "detractors",
    "nps",
    "standard_error",
    "margin_of_error",
    "ci_low",
    "ci_high",
    "below_min_n",
]


def _factorize(column: pd.Series, name: str) -> tuple[IntArray, pd.Index]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = np.asarray(column.cat.codes, dtype=np.int64)
        uniques: pd.Index = pd.Index(column.cat.categories)
    else:
        raw_codes, raw_uniques = pd.factorize(column, sort=True)
        codes = np.asarray(raw_codes, dtype=np.int64)
        uniques = pd.Index(raw_uniques)
    missing = codes < 0
    if missing.any():
        first_bad(
            missing,
            name=name,
            problem="must not be missing (a response must belong to a group)",
            values=column.to_numpy(dtype=object),
            index=column.index,
        )
    return codes, uniques


#: Largest combined group key: keys must stay exact in int64.
_MAX_KEY = np.iinfo(np.int64).max


def _combine(parts: Sequence[tuple[IntArray, pd.Index]], n_rows: int) -> tuple[IntArray, int]:
    """One group code per row for several factorised columns, in sorted order.

    The codes are combined as mixed-radix digits, left column most
    significant, so the combined key sorts like the tuple of labels.  When
    the number of possible keys would overflow int64 (five columns with
    10,000 values each already make 10**20), the partial key is first
    re-factorised to its distinct values, which are at most ``n_rows`` and
    keep their order.

    Returns
    -------
    group_of_row : ndarray of int64
        The group code of every row, in ``[0, n_groups)``; some codes may
        have no row (when the key range is small enough to count densely).
    n_groups : int
        Size of the code range.
    """
    combined = np.zeros(n_rows, dtype=np.int64)
    span = 1  # number of possible values of ``combined``; a Python int, so exact
    for codes, uniques in parts:
        size = max(len(uniques), 1)
        if span * size > _MAX_KEY:
            distinct, inverse = np.unique(combined, return_inverse=True)
            combined = inverse.astype(np.int64).reshape(n_rows)
            span = len(distinct)
        combined = combined * size + codes
        span *= size
    if span <= max(4 * n_rows, 1_000_000):
        return combined, span  # dense: count over the whole key range
    distinct, inverse = np.unique(combined, return_inverse=True)
    return inverse.astype(np.int64).reshape(n_rows), len(distinct)


def _stats_table(
    codes: IntArray, scores: IntArray, n_groups: int, confidence: float, min_n: int
) -> dict[str, Any]:
    flat = np.bincount(codes * 3 + _CATEGORY[scores], minlength=3 * n_groups)
    counts = flat.reshape(n_groups, 3)
    det, pas, prom = (counts[:, i] for i in range(3))
    n = det + pas + prom
    out: dict[str, Any] = {
        "n": n,
        "promoters": prom,
        "passives": pas,
        "detractors": det,
    }
    out.update(
        nps_arrays(
            prom.astype(np.float64),
            pas.astype(np.float64),
            det.astype(np.float64),
            z_value(confidence),
        )
    )
    out["below_min_n"] = n < min_n
    return out


def _check_common(
    frame: pd.DataFrame, columns: list[str], min_n: object, confidence: object
) -> tuple[int, float]:
    check_columns(frame, columns, name="frame")
    if len(frame) == 0:
        raise ValidationError("frame is empty; at least one response is required", field="frame")
    return check_int_param(min_n, name="min_n", low=1), check_confidence(confidence)


@renamed_arguments(group_cols="by")
def nps_by(
    frame: pd.DataFrame,
    by: str | Sequence[str],
    score_col: str = "score",
    *,
    min_n: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """NPS with intervals for every group of a response table.

    Responses are counted per group in one pass (``np.bincount`` over
    combined group codes), so a million groups cost little more than one.
    Groups with fewer than ``min_n`` responses are *flagged* in the boolean
    column ``below_min_n`` (their interval is still reported, and is wide):
    filter on it rather than reading small groups as precise.

    Parameters
    ----------
    frame : DataFrame
        One row per response.
    by : str or sequence of str
        Column(s) defining the groups (``group_cols`` before 0.2, deprecated).
        Missing group values are refused.
    score_col : str, default "score"
        Column of 0–10 answers.
    min_n : int, default 30
        Minimum responses for a group not to be flagged.
    confidence : float, default 0.95
        Confidence level of the adjusted-Wald intervals (see :func:`nps`).

    Returns
    -------
    DataFrame
        One row per non-empty group, sorted by the group columns, with the
        group columns followed by ``n``, ``promoters``, ``passives``,
        ``detractors``, ``nps``, ``standard_error``, ``margin_of_error``,
        ``ci_low``, ``ci_high``, ``below_min_n``.

    Raises
    ------
    ValidationError
        On missing columns, an empty frame, a missing group value, or an
        answer that is not a whole number 0–10 (first offending row named).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"region": ["N", "N", "S", "S", "S"], "score": [10, 3, 9, 9, 8]})
    >>> out = nps_by(df, "region", min_n=3)
    >>> out[["region", "n", "nps", "below_min_n"]]
      region  n    nps  below_min_n
    0      N  2   0.0         True
    1      S  3  66.666667        False
    """
    cols = [by] if isinstance(by, str) else list(by)
    if not cols:
        raise ValidationError("by must name at least one column", field="by")
    min_n_i, conf = _check_common(frame, [*cols, score_col], min_n, confidence)
    scores = as_scores(frame[score_col], name=score_col, low=0, high=10)
    parts = [_factorize(frame[c], c) for c in cols]
    if len(parts) == 1:
        codes, uniques = parts[0]
        n_groups = len(uniques)
        stats = _stats_table(codes, scores, n_groups, conf, min_n_i)
        keep = stats["n"] > 0
        labels: dict[Hashable, Any] = {cols[0]: uniques.to_numpy()[keep]}
    else:
        group_of_row, n_groups = _combine(parts, len(frame))
        stats = _stats_table(group_of_row, scores, n_groups, conf, min_n_i)
        keep = stats["n"] > 0
        # Any row of a group carries that group's labels: take one per group.
        row_of_group = np.zeros(n_groups, dtype=np.int64)
        row_of_group[group_of_row] = np.arange(len(frame), dtype=np.int64)
        rows = row_of_group[keep]
        labels = {c: u.to_numpy()[codes[rows]] for c, (codes, u) in zip(cols, parts, strict=True)}
    data: dict[Hashable, Any] = dict(labels)
    for key in _STAT_COLUMNS:
        data[key] = stats[key][keep]
    return pd.DataFrame(data)


@renamed_arguments(period="freq")
def nps_trend(
    frame: pd.DataFrame,
    date_col: str = "date",
    freq: str = "M",
    *,
    as_of: object = None,
    score_col: str = "score",
    min_n: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """NPS with intervals per calendar period (month, week, quarter...).

    Periods are taken on the wall clock of the dates' own zone (a response
    at 23:30 on 31 January in ``Europe/Paris`` counts for January). Only
    periods with at least one response appear; periods with fewer than
    ``min_n`` are flagged in ``below_min_n``.

    Parameters
    ----------
    frame : DataFrame
        One row per response.
    date_col : str, default "date"
        Column of response dates: ``datetime64`` of any unit (naive or
        aware), ``datetime.date`` values or ISO strings.
    freq : str, default "M"
        Calendar period: ``"h"``, ``"D"``, ``"W"`` (Monday to Sunday),
        ``"M"``, ``"Q"``, ``"Y"``, with an optional multiple (``"2W"``). Named
        ``period`` before 0.2 (deprecated).
    as_of : date-like, optional
        Only responses at or before it count (a date means the end of that
        day); the last period may then be partial. Default: every response.
    score_col : str, default "score"
        Column of 0–10 answers.
    min_n : int, default 30
        Minimum responses for a period not to be flagged.
    confidence : float, default 0.95
        Confidence level of the adjusted-Wald intervals.

    Returns
    -------
    DataFrame
        One row per non-empty period in time order: ``period`` (pandas
        ``Period``; for a multiple, the first period of the block) and the
        statistics columns of :func:`nps_by`.

    Raises
    ------
    ValidationError
        On missing columns, an unreadable or missing date, an unknown
        ``freq``, an answer that is not a whole number 0–10, or no response
        at or before ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(
    ...     {
    ...         "date": pd.to_datetime(["2026-01-05", "2026-01-20", "2026-02-02"]),
    ...         "score": [10, 6, 9],
    ...     }
    ... )
    >>> nps_trend(df, freq="M", min_n=1)[["period", "n", "nps"]]
        period  n    nps
    0  2026-01  2    0.0
    1  2026-02  1  100.0
    """
    min_n_i, conf = _check_common(frame, [date_col, score_col], min_n, confidence)
    step = parse_freq(freq)
    dates = read_dates(frame[date_col], name=date_col)
    scores = as_scores(frame[score_col], name=score_col, low=0, high=10)
    wall = dates.wall_ns()
    if as_of is not None:
        keep = dates.ns <= dates.cutoff(as_of).ns
        if not keep.any():
            raise ValidationError(
                f"no response at or before as_of={as_of!r}", field="as_of", value=as_of
            )
        wall, scores = wall[keep], scores[keep]
    inverse, uniques = pd.factorize(period_codes(wall, step), sort=True)
    stats = _stats_table(np.asarray(inverse, dtype=np.int64), scores, len(uniques), conf, min_n_i)
    data: dict[Hashable, Any] = {"period": period_labels(np.asarray(uniques, np.int64), step)}
    for key in _STAT_COLUMNS:
        data[key] = stats[key]
    return pd.DataFrame(data)
