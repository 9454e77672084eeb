"""customer_frame: one row per customer (profile, behaviour, model outputs) for rules."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.identity._as_of import is_store, store_records
from crmcore.identity._dates import first_invalid, read_days
from crmcore.identity._prepare import check_ids, records_frame

__all__ = ["customer_frame"]

_CALENDAR = re.compile(r"^\s*(\d*)\s*(M|Q|Y)\s*$")
_DEFAULT_PROFILE = ("region", "country", "gender")


def _split_windows(windows: Sequence[Any]) -> tuple[list[Any], list[tuple[str, Any]]]:
    """Split windows into fixed ones (for customer_features) and calendar ones ("6M")."""
    fixed: list[Any] = []
    calendar: list[tuple[str, Any]] = []
    for w in (windows,) if isinstance(windows, str) else windows:
        m = _CALENDAR.match(w) if isinstance(w, str) else None
        if m is None:
            fixed.append(w)
            continue
        offset = _time.to_duration(w, name="windows", calendar=True)
        count = int(m.group(1) or 1)
        label = f"{count}{m.group(2).lower()}"
        if any(label == seen for seen, _ in calendar):
            raise ValidationError(f"window {w!r} is given twice", field="windows", value=w)
        calendar.append((label, offset))
    return fixed, calendar


def _as_of_day(as_of: Any) -> int:
    """Return the calendar day of ``as_of`` on its own wall clock (days since 1970-01-01)."""
    zone = None if _time.is_date_only(as_of) else _time.to_instant(as_of, name="as_of").tzinfo
    return _time.wall_day(_time.resolve_as_of(as_of, tz=zone).timestamp)


def _ages(customers: pd.DataFrame, birth_col: str, as_of_day: int, ids: pd.Index) -> Any:
    col = read_days(customers[birth_col], column=birth_col, formats=None)
    err = first_invalid(col, customers[birth_col], column=birth_col, ids=ids, formats=None)
    if err is not None:
        raise err
    ok = ~col.missing
    late = ok & (col.days > as_of_day)
    if late.any():
        pos = int(np.flatnonzero(late)[0])
        raise ValidationError(
            f"{birth_col} of customer {ids[pos]!r} is after as_of: "
            f"{customers[birth_col].iloc[pos]!r}",
            field=birth_col,
            row=ids[pos],
        )

    def year_and_day(days: np.ndarray[Any, Any]) -> tuple[Any, Any]:
        year, month, day = _time.ymd(days)
        return year, month * 100 + day

    by, bmd = year_and_day(np.where(ok, col.days, 0))
    ay, amd = year_and_day(np.array([as_of_day]))
    # whole years: a birthday on 29 February counts as reached on 1 March of common years
    age = ay[0] - by - (amd[0] < bmd)
    return pd.Series(np.where(ok, age, 0), dtype="Int64").where(ok).array


def _calendar_counts(
    transactions: pd.DataFrame,
    index: pd.Index,
    windows: list[tuple[str, Any]],
    *,
    as_of: Any,
    customer_col: str,
    date_col: str,
    value_col: str | None,
) -> dict[str, Any]:
    dates = _time.read_dates(transactions[date_col], name=date_col, row_name="transaction")
    cut = dates.cutoff(as_of)
    codes = index.get_indexer(pd.Index(transactions[customer_col]))
    out: dict[str, Any] = {}
    for label, offset in windows:
        start = int(_time.add_duration(cut.ns, dates.tz, offset, sign=-1))
        inside = (codes >= 0) & (dates.ns > start) & (dates.ns <= cut.ns)
        out[f"purchases_{label}"] = np.bincount(codes[inside], minlength=len(index))
        if value_col is not None:
            amounts = pd.to_numeric(transactions[value_col]).to_numpy(dtype=np.float64)
            out[f"spend_{label}"] = np.bincount(
                codes[inside], weights=amounts[inside], minlength=len(index)
            )
    return out


def customer_frame(
    customers: Any,
    transactions: pd.DataFrame | None = None,
    *,
    as_of: Any,
    id_col: str = "id",
    birth_col: str | None = "birth_date",
    created_col: str | None = "created_at",
    profile_cols: Sequence[str] | None = None,
    windows: Sequence[Any] = ("30D", "90D", "180D", "365D", "6M"),
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = "amount",
    outputs: pd.Series | pd.DataFrame | Sequence[pd.Series | pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per customer, as of a moment: profile, behaviour and model outputs.

    The frame segment rules are written against
    (:class:`crmcore.segmentation.Rule`), e.g. "women in their 30s with three
    or more purchases in the last six months"::

        gender == 'female' and age between 30 and 39 and purchases_6m >= 3

    Parameters
    ----------
    customers : DataFrame, iterable of Customer, or Store
        One row per customer with ``id_col`` and the profile columns.  A
        store (``InMemoryStore``, ``SqlStore``) gives its customers and its
        completed orders as the transactions, *identified as of*
        ``as_of``: merges applied after ``as_of`` are reverted (the merged
        customers are rows of their own again, with the purchases they had,
        their profile as the merge found it), and merges undone after
        ``as_of`` still count (see :func:`apply_merge`).  Amounts are summed
        as stored, whatever their currency.
    transactions : DataFrame, optional
        Purchases (``customer_col``, ``date_col``, ``value_col``) for the
        behaviour features of :func:`crmcore.segmentation.customer_features`.
        Not with a store.
    as_of : date-like
        The moment described (the time rule of docs/time.rst: history is at
        or before ``as_of``; a date means the end of that day).
    id_col : str, default "id"
        Customer id column (unique).
    birth_col : str or None, default "birth_date"
        Dates of birth (ISO text, dates or datetime64); gives ``age``, whole
        years at the date of ``as_of``. None: no age.
    created_col : str or None, default "created_at"
        When present, customers created after ``as_of`` are left out.
    profile_cols : sequence of str, optional
        Declared profile attributes copied as they are. Default: those of
        ``region``, ``country``, ``gender`` the customers have.
    windows : sequence, default ("30D", "90D", "180D", "365D", "6M")
        Look-back windows ``(as_of - w, as_of]`` for ``purchases_<w>`` and
        ``spend_<w>``: fixed lengths (``"180D"`` -> ``purchases_180d``) or
        calendar months, quarters, years (``"6M"`` -> ``purchases_6m``,
        counted on the dates' own wall clock).
    customer_col, date_col, value_col : str
        Transaction columns (``value_col=None``: no spend).
    outputs : Series, DataFrame or sequence of them, optional
        Model outputs indexed by customer id (churn probability, CLV...),
        joined as columns.

    Returns
    -------
    DataFrame
        Indexed by customer id (sorted): ``age`` (nullable int), the profile
        columns, then with transactions every column of ``customer_features``
        (customers without purchases: counts and spend 0, other features
        missing) and the calendar windows, then the outputs.

    Raises
    ------
    ValidationError
        Missing columns, repeated ids, unreadable birth dates or a birth date
        after ``as_of`` (naming the customer), a column name given twice,
        bad windows or ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.segmentation import Rule
    >>> customers = pd.DataFrame(
    ...     {
    ...         "id": ["a", "b", "c"],
    ...         "birth_date": ["1990-05-01", "1991-01-15", "1970-03-03"],
    ...         "gender": ["female", "female", "female"],
    ...     }
    ... )
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "a", "b", "c", "c", "c"],
    ...         "date": pd.to_datetime(
    ...             ["2024-08-01", "2024-10-01", "2024-12-01", "2024-12-05"]
    ...             + ["2024-09-01", "2024-10-01", "2024-11-01"]
    ...         ),
    ...         "amount": [10.0, 20.0, 30.0, 5.0, 1.0, 2.0, 3.0],
    ...     }
    ... )
    >>> frame = customer_frame(customers, tx, as_of="2024-12-31", windows=["6M"])
    >>> frame[["age", "gender", "n_purchases", "purchases_6m"]]
        age  gender  n_purchases  purchases_6m
    id
    a    34  female            3             3
    b    33  female            1             1
    c    54  female            3             3
    >>> rule = Rule.parse("gender == 'female' and age between 30 and 39 and purchases_6m >= 3")
    >>> rule.select(frame).index.tolist()
    ['a']
    """
    if as_of is None:
        raise ValidationError(
            "as_of is required (a date or datetime); crmcore never reads the clock",
            field="as_of",
        )
    if is_store(customers):
        if transactions is not None:
            raise ValidationError(
                "with a store, the purchases are read from store.orders; leave out "
                "transactions (or pass the customers as a frame)",
                field="transactions",
            )
        customers, transactions = store_records(customers, as_of=as_of)
        id_col, customer_col, date_col, value_col = "id", "customer_id", "date", "amount"
    frame = records_frame(customers)
    check_columns(frame, [id_col], name="customers")
    ids = check_ids(frame, id_col)
    keep = np.ones(len(frame), dtype=bool)
    if created_col is not None and created_col in frame.columns:
        created = _time.read_dates(
            frame[created_col], name=created_col, allow_missing=True, row_name="customer",
            index=ids,
        )  # fmt: skip
        cut = created.cutoff(as_of)
        keep = created.ns <= cut.ns  # a missing creation time (NaT) is kept
        keep |= created.ns == _time.NAT
    frame, ids = frame[keep].reset_index(drop=True), ids[keep]
    order = np.argsort(ids.to_numpy(), kind="stable")
    frame, ids = frame.iloc[order].reset_index(drop=True), ids[order]
    out = pd.DataFrame(index=pd.Index(ids, name=id_col))
    as_of_day = _as_of_day(as_of)
    if birth_col is not None:
        check_columns(frame, [birth_col], name="customers")
        out["age"] = _ages(frame, birth_col, as_of_day, ids)
    if profile_cols is None:
        profile = [c for c in _DEFAULT_PROFILE if c in frame.columns]
    else:
        profile = list(profile_cols)
        check_columns(frame, profile, name="customers")
    for column in profile:
        out[column] = frame[column].to_numpy()
    if transactions is not None:
        from crmcore.segmentation import customer_features  # noqa: PLC0415 -- needed only with transactions

        fixed, calendar = _split_windows(windows)
        feats = customer_features(
            transactions, as_of=as_of, windows=fixed, customer_col=customer_col,
            date_col=date_col, value_col=value_col,
        )  # fmt: skip
        feats = feats.reindex(out.index)
        counts = [c for c in feats.columns if c.startswith(("n_", "purchases_", "spend_"))]
        counts += [c for c in ("total_spend",) if c in feats.columns]
        for c in counts:
            filled = feats[c].fillna(0)
            feats[c] = filled.astype(np.int64) if c.startswith(("n_", "purchases_")) else filled
        extra = _calendar_counts(
            transactions, out.index, calendar, as_of=as_of, customer_col=customer_col,
            date_col=date_col, value_col=value_col,
        )  # fmt: skip
        out = _join(out, feats)
        out = _join(out, pd.DataFrame(extra, index=out.index))
    for item in _as_list(outputs):
        out = _join(out, item.to_frame() if isinstance(item, pd.Series) else item)
    return out


def _as_list(outputs: Any) -> list[pd.Series | pd.DataFrame]:
    if outputs is None:
        return []
    if isinstance(outputs, pd.Series | pd.DataFrame):
        return [outputs]
    if isinstance(outputs, Mapping) or not isinstance(outputs, Sequence):
        raise ValidationError(
            "outputs must be a Series, a DataFrame or a list of them (indexed by customer id)",
            field="outputs",
        )
    items = list(outputs)
    for item in items:
        if not isinstance(item, pd.Series | pd.DataFrame):
            raise ValidationError(
                f"outputs must hold Series or DataFrames; got {type(item).__name__}",
                field="outputs",
            )
    return items


def _join(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    clash = [c for c in right.columns if c in left.columns]
    if clash:
        raise ValidationError(
            f"column {clash[0]!r} would appear twice in the customer frame; rename it",
            field=str(clash[0]),
        )
    return left.join(right, how="left")
