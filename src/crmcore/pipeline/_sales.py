"""Sales analytics over opportunity tables: pipeline, forecast, win rate, cycle length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore._deprecation import renamed_arguments, warn_renamed
from crmcore._time import (
    Freq,
    add_duration,
    parse_freq,
    period_codes,
    period_labels,
    read_dates,
    to_duration,
)
from crmcore._validation import as_float_array, check_columns, check_in_range
from crmcore.errors import ValidationError
from crmcore.pipeline._defaults import OPPORTUNITY_WORKFLOW
from crmcore.pipeline._tables import F64, read_us, stage_attr, stage_codes, summary, unit_us
from crmcore.pipeline._workflow import FORECAST_CATEGORIES, Workflow

__all__ = ["forecast", "sales_cycle_length", "weighted_pipeline", "win_rate"]


def _keys(frame: pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    keys = [by] if isinstance(by, str) else list(by)
    check_columns(frame, keys, name="opportunities")
    return keys


def _grouped(frame: pd.DataFrame, keys: list[str], values: dict[str, Any]) -> pd.DataFrame:
    """Sum ``values`` columns by ``keys`` (or overall, index ``"total"``)."""
    data = pd.DataFrame(values, index=frame.index)
    if not keys:
        return data.sum().to_frame("total").T
    for k in keys:
        data[k] = frame[k].to_numpy()
    return data.groupby(keys, sort=True, observed=True, dropna=False).sum()


def _amounts(frame: pd.DataFrame, col: str) -> F64:
    check_columns(frame, [col], name="opportunities")
    values = frame[col]
    if values.dtype == object:
        # Money values: amounts in one currency only (summing EUR and USD is meaningless).
        currency = values.map(lambda v: getattr(v, "currency", None))
        seen = pd.unique(currency.dropna())
        if len(seen) > 1:
            pos = int(np.flatnonzero((currency != seen[0]).to_numpy() & currency.notna())[0])
            raise ValidationError(
                f"{col} mixes currencies ({', '.join(map(str, seen))}); got "
                f"{values.iloc[pos]!r} for opportunity {frame.index[pos]!r} after "
                f"amounts in {seen[0]}: convert to one currency first",
                field=col,
                row=frame.index[pos],
                value=values.iloc[pos],
            )
        values = values.map(lambda v: getattr(v, "amount", v))
    return as_float_array(values, name=col, index=frame.index, row_name="opportunity")


@renamed_arguments(amount_col="value_col")
def weighted_pipeline(
    opportunities: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    stage_col: str = "stage",
    value_col: str = "amount",
    probability_col: str | None = "probability",
) -> pd.DataFrame:
    """Open pipeline: count, amount and probability-weighted amount.

    ``weighted_amount = Σ amount × probability / 100`` over open
    opportunities. Probabilities come from ``probability_col`` (percent,
    0–100) or, if it is ``None`` or absent, from the stage defaults.

    Parameters
    ----------
    opportunities : DataFrame
        One row per opportunity.
    by : str or list of str, optional
        Grouping columns (owner, stage, region...). Default: one ``total`` row.
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        Gives each stage its ``sequence``, default probability, forecast
        category and won / closed flags.
    stage_col : str, default "stage"
        Column of stage names.
    value_col : str, default "amount"
        Column of amounts (numbers, or :class:`~crmcore.domain.Money` in one
        currency); ``amount_col`` before 0.2 (deprecated).
    probability_col : str or None, default "probability"
        Column of win probabilities in percent; the stage defaults are used
        when ``None`` or absent.

    Returns
    -------
    DataFrame
        Columns ``count``, ``amount``, ``weighted_amount``.

    Raises
    ------
    ValidationError
        A missing column, an unknown stage, a non-finite amount, Money in
        several currencies, or a probability outside [0, 100].

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame(
    ...     {
    ...         "stage": ["proposal", "negotiation", "closed_won"],
    ...         "amount": [100.0, 50.0, 70.0],
    ...         "probability": [50, 80, 100],
    ...     }
    ... )
    >>> weighted_pipeline(opps)
           count  amount  weighted_amount
    total      2   150.0             90.0
    """
    check_columns(opportunities, [stage_col], name="opportunities")
    keys = _keys(opportunities, by)
    codes = stage_codes(opportunities[stage_col], workflow, stage_col)
    amount = _amounts(opportunities, value_col)
    if probability_col is not None and probability_col in opportunities.columns:
        prob = as_float_array(
            opportunities[probability_col], name=probability_col, row_name="opportunity"
        )
        check_in_range(prob, name=probability_col, low=0, high=100, index=opportunities.index)
    else:
        prob = stage_attr(workflow, "probability").astype(np.float64)[codes]
    is_open = ~stage_attr(workflow, "is_closed").astype(bool)[codes]
    w = is_open.astype(np.float64)
    out = _grouped(
        opportunities,
        keys,
        {"count": w, "amount": amount * w, "weighted_amount": amount * prob / 100.0 * w},
    )
    out["count"] = out["count"].astype(np.int64)
    return out


_NO_FREQ: Any = object()


def _freq_and_keys(
    opportunities: pd.DataFrame, freq: Any, by: str | Sequence[str] | None
) -> tuple[Freq, list[str]]:
    """Read ``freq`` and ``by``, accepting the old ``by="M"`` (a period) for one release."""
    if isinstance(by, str) and by not in opportunities.columns and _is_period_code(by):
        if freq is not _NO_FREQ:
            raise TypeError(
                f"forecast() got both by={by!r} (a period: deprecated) and freq={freq!r}; "
                "give freq= for the period and by= for grouping columns"
            )
        # stacklevel 5: the warning names the line that called forecast() (through
        # renamed_arguments' wrapper)
        warn_renamed("forecast()", f"by={by!r} (a period)", f"freq={by!r}", stacklevel=5)
        return parse_freq(by), []
    return parse_freq("M" if freq is _NO_FREQ else freq), _keys(opportunities, by)


def _is_period_code(value: str) -> bool:
    try:
        parse_freq(value)
    except ValidationError:
        return False
    return True


@renamed_arguments(amount_col="value_col")
def forecast(
    opportunities: pd.DataFrame,
    *,
    freq: Any = _NO_FREQ,
    by: str | Sequence[str] | None = None,
    as_of: object = None,
    horizon: object = None,
    categories: Sequence[str] = ("pipeline", "best_case", "commit", "closed"),
    cumulative: bool = False,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    date_col: str = "close_date",
    stage_col: str = "stage",
    value_col: str = "amount",
    category_col: str | None = "forecast_category",
    created_col: str = "created_at",
) -> pd.DataFrame:
    """Amounts by close period and forecast category (optionally by owner, region...).

    Parameters
    ----------
    opportunities : DataFrame
        Needs a stage, an amount and a close date (``datetime64`` naive or
        aware, ``datetime.date`` values or ISO strings); periods are taken
        on the wall clock of the close dates' own zone (a deal closing on
        31 January at 20:00 in New York is a January deal).
    freq : str, default "M"
        Calendar period: ``"D"``, ``"W"``, ``"M"``, ``"Q"``, ``"Y"``
        (optionally with a multiple, ``"2W"``). Before 0.2 this was
        ``by="M"``, still read (with a ``DeprecationWarning``) when ``by``
        names a period and no column.
    by : str or sequence of str, optional
        Grouping columns (owner, region...), as in :func:`weighted_pipeline`;
        the result is then indexed by the groups and the period.
    as_of : datetime or date-like, optional
        The forecast as it stood then: opportunities created after ``as_of``
        (``created_col``) are left out. A date means the end of that day.
    horizon : str, timedelta or DateOffset, optional
        With ``as_of``: only close dates in the future window ``(as_of,
        as_of + horizon]``; a fixed (``"90D"``) or calendar length (``"1Q"``,
        counted from the end of the ``as_of`` day).
    categories : sequence of str
        Categories to report, as columns, in this order.
    cumulative : bool, default False
        If true, each category also includes every more certain one
        (``best_case`` includes ``commit`` and ``closed``, as in the usual
        forecast roll-up); categories are ordered ``pipeline`` < ``best_case``
        < ``commit`` < ``closed``.
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        Gives each stage its default forecast category.
    date_col : str, default "close_date"
        Column of expected (or actual) close dates.
    stage_col : str, default "stage"
        Column of stage names.
    value_col : str, default "amount"
        Column of amounts (numbers, or Money in one currency); ``amount_col``
        before 0.2 (deprecated).
    category_col : str or None
        Column overriding the stage's forecast category when present.
    created_col : str, default "created_at"
        Column of creation instants, read only with ``as_of``.

    Returns
    -------
    DataFrame
        Indexed by ``period`` (a ``PeriodIndex``; with ``by``, a
        ``MultiIndex`` of the groups and the period), one column per category.

    Raises
    ------
    ValidationError
        An unknown category or ``freq``, a missing column, an unknown stage,
        a bad amount or close date, or ``horizon`` without ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame(
    ...     {
    ...         "owner": ["ann", "bob", "ann"],
    ...         "stage": ["proposal", "negotiation", "closed_won"],
    ...         "amount": [100.0, 50.0, 70.0],
    ...         "close_date": pd.to_datetime(["2026-01-15", "2026-02-03", "2026-01-05"]),
    ...         "created_at": pd.to_datetime(["2025-12-01", "2026-01-20", "2025-11-02"]),
    ...     }
    ... )
    >>> forecast(opps, freq="M", categories=["best_case", "commit", "closed"])
             best_case  commit  closed
    period
    2026-01      100.0     0.0    70.0
    2026-02        0.0    50.0     0.0

    As known at the end of 10 January, for the month after it (bob's deal
    did not exist yet; ann's won deal closed before the window):

    >>> forecast(opps, by="owner", as_of="2026-01-10", horizon="1M")[["best_case", "closed"]]
                   best_case  closed
    owner period
    ann   2026-01      100.0     0.0
    """
    step, keys = _freq_and_keys(opportunities, freq, by)
    for c in categories:
        if c not in FORECAST_CATEGORIES:
            raise ValidationError(
                f"unknown forecast category {c!r}; known: {', '.join(FORECAST_CATEGORIES)}",
                field="categories",
                value=c,
            )
    if horizon is not None and as_of is None:
        raise ValidationError(
            "horizon needs as_of: the window is (as_of, as_of + horizon]", field="horizon"
        )
    check_columns(opportunities, [stage_col, date_col], name="opportunities")
    codes = stage_codes(opportunities[stage_col], workflow, stage_col)
    amount = _amounts(opportunities, value_col)
    cats = pd.Index(FORECAST_CATEGORIES)
    if category_col is not None and category_col in opportunities.columns:
        col = opportunities[category_col]
        cat = cats.get_indexer(pd.Index(col.astype(object)))
        if (cat < 0).any():
            pos = int(np.flatnonzero(cat < 0)[0])
            raise ValidationError(
                f"{category_col} {col.iloc[pos]!r} is not a forecast category",
                field=category_col,
                row=opportunities.index[pos],
                value=col.iloc[pos],
            )
    else:
        stage_cat = cats.get_indexer(pd.Index(stage_attr(workflow, "forecast_category")))
        cat = stage_cat[codes]
    close = read_dates(opportunities[date_col], name=date_col, row_name="opportunity")
    keep = np.ones(len(opportunities), dtype=bool)
    if as_of is not None:
        check_columns(opportunities, [created_col], name="opportunities")
        created = read_dates(opportunities[created_col], name=created_col, row_name="opportunity")
        keep &= created.ns <= created.cutoff(as_of).ns
    if horizon is not None:
        start = close.cutoff(as_of).ns
        length = to_duration(horizon, name="horizon", calendar=True)
        end = int(add_duration(start + 1, close.tz, length)) - 1
        keep &= (close.ns > start) & (close.ns <= end)
    period = period_codes(close.wall_ns(), step)
    if not keep.all():
        period, cat, amount = period[keep], cat[keep], amount[keep]
    k = len(FORECAST_CATEGORIES)
    if keys:
        spread = np.zeros((period.size, k))
        spread[np.arange(period.size), cat] = amount
        groups = [opportunities[c].to_numpy()[keep] for c in keys]
        data = pd.DataFrame(spread, columns=list(FORECAST_CATEGORIES))
        grouped = data.groupby([*groups, period], sort=True, observed=True, dropna=False).sum()
        labels = [grouped.index.get_level_values(i) for i in range(len(keys))]
        index: pd.Index = pd.MultiIndex.from_arrays(
            [*labels, period_labels(np.asarray(grouped.index.get_level_values(-1)), step)],
            names=[*keys, "period"],
        )
        table = pd.DataFrame(grouped.to_numpy(), index=index, columns=list(FORECAST_CATEGORIES))
    else:
        inverse, uniques = pd.factorize(period, sort=True)
        ordinals = np.asarray(uniques, dtype=np.int64)
        sums = np.bincount(inverse * k + cat, weights=amount, minlength=ordinals.size * k).reshape(
            ordinals.size, k
        )
        index = period_labels(ordinals, step).rename("period")
        table = pd.DataFrame(sums, index=index, columns=list(FORECAST_CATEGORIES))
    table = table[list(categories)].copy()
    if cumulative:
        rank = ["closed", "commit", "best_case", "pipeline"]
        ordered = [c for c in rank if c in table.columns]
        table[ordered] = table[ordered].cumsum(axis=1)
    table.columns.name = None
    return table


@renamed_arguments(amount_col="value_col")
def win_rate(
    opportunities: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    stage_col: str = "stage",
    value_col: str | None = "amount",
) -> pd.DataFrame:
    """Won / (won + lost), by count and (if amounts are given) by amount.

    Open opportunities count in neither ``won`` nor ``lost``.

    Parameters
    ----------
    opportunities : DataFrame
        One row per opportunity, with its current stage.
    by : str or sequence of str, optional
        Column(s) to group by (owner, region...); ``None`` gives one row
        indexed ``"total"``.
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        Decides which stages are won (``is_won``) and closed (``is_closed``).
    stage_col : str, default "stage"
        Column of stage names.
    value_col : str or None, default "amount"
        Column of amounts (numbers, or :class:`~crmcore.domain.Money` in one
        currency); skipped when ``None`` or absent from the frame.
        ``amount_col`` before 0.2 (deprecated).

    Returns
    -------
    DataFrame
        Columns ``won``, ``lost``, ``win_rate`` (NaN where nothing closed)
        and, with amounts, ``won_amount``, ``lost_amount``, ``amount_win_rate``.
        One row per group (sorted), or the single row ``"total"``.

    Raises
    ------
    ValidationError
        A missing column, an unknown stage name, a non-finite amount, or
        Money amounts in more than one currency.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"stage": ["closed_won", "closed_lost", "closed_lost", "proposal"]})
    >>> win_rate(opps, value_col=None)
           won  lost  win_rate
    total    1     2  0.333333
    """
    check_columns(opportunities, [stage_col], name="opportunities")
    keys = _keys(opportunities, by)
    codes = stage_codes(opportunities[stage_col], workflow, stage_col)
    won = stage_attr(workflow, "is_won").astype(bool)[codes].astype(np.float64)
    closed = stage_attr(workflow, "is_closed").astype(bool)[codes]
    lost = (closed & (won == 0)).astype(np.float64)
    cols: dict[str, Any] = {"won": won, "lost": lost}
    if value_col is not None and value_col in opportunities.columns:
        amount = _amounts(opportunities, value_col)
        cols["won_amount"] = amount * won
        cols["lost_amount"] = amount * lost
    out = _grouped(opportunities, keys, cols)
    out["won"] = out["won"].astype(np.int64)
    out["lost"] = out["lost"].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out.insert(2, "win_rate", out["won"] / (out["won"] + out["lost"]))
        if "won_amount" in out.columns:
            out["amount_win_rate"] = out["won_amount"] / (out["won_amount"] + out["lost_amount"])
    return out


def sales_cycle_length(
    opportunities: pd.DataFrame,
    *,
    by: str | None = None,
    won_only: bool = True,
    unit: str = "D",
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    stage_col: str = "stage",
    created_col: str = "created_at",
    closed_col: str = "closed_at",
) -> pd.DataFrame:
    """Creation-to-close time of closed opportunities.

    Parameters
    ----------
    opportunities : DataFrame
        One row per opportunity, with stage, creation and close instants.
    by : str, optional
        Grouping column; default one ``total`` row.
    won_only : bool, default True
        Only won deals (the usual definition); otherwise every closed one.
    unit : {"D", "h", "W"}
        Days, hours or weeks.
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        Decides which stages are won and closed.
    stage_col, created_col, closed_col : str
        Column names (defaults ``"stage"``, ``"created_at"``,
        ``"closed_at"``).

    Returns
    -------
    DataFrame
        ``count``, ``mean``, ``median``, ``min``, ``max`` of the cycle length.

    Raises
    ------
    ValidationError
        A missing column, an unknown stage or unit, a closed opportunity
        without a close instant, or one closed before it was created.
    """
    check_columns(opportunities, [stage_col, created_col, closed_col], name="opportunities")
    keys = _keys(opportunities, by)
    codes = stage_codes(opportunities[stage_col], workflow, stage_col)
    flag = stage_attr(workflow, "is_won" if won_only else "is_closed").astype(bool)[codes]
    sub = opportunities.loc[flag]
    created = read_us(sub[created_col], created_col)
    closed = np.asarray(sub[closed_col].isna())
    if closed.any():
        pos = int(np.flatnonzero(closed)[0])
        raise ValidationError(
            f"{closed_col} is missing for closed opportunity {sub.index[pos]!r}",
            field=closed_col,
            row=sub.index[pos],
        )
    length = (read_us(sub[closed_col], closed_col) - created) / unit_us(unit)
    if (length < 0).any():
        pos = int(np.flatnonzero(length < 0)[0])
        raise ValidationError(
            f"{closed_col} is before {created_col} for opportunity {sub.index[pos]!r}",
            field=closed_col,
            row=sub.index[pos],
        )
    return summary(length, sub[keys[0]] if keys else None, "cycle_length")
