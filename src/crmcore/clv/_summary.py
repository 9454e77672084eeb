"""From a transaction log to the customer-by-sufficient-statistic summary.

Dates are read once by the one clock (:mod:`crmcore._time`): int64
nanoseconds on the data's own scale, history cut at the instant ``as_of``
(``t <= as_of``), and integer period codes taken on the data's wall clock.
Compact integer ids are their own slots, other ids are factorised by
hashing; the per-customer first and last periods are scattered minima and
maxima, and only the purchases strictly between them are examined (as
integers ``customer * span + period``) for repeats of a period, by hashing
(no sort unless the keys are already in order). No transaction and no string
is sorted, rows are selected by position rather than by boolean mask, and
pandas is used only to read the input and build the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._deprecation import renamed_arguments
from crmcore._types import FloatArray, IntArray
from crmcore._validation import as_float_array, check_columns, check_non_empty, first_bad
from crmcore.clv._dask import is_dask, summary_on_dask
from crmcore.errors import ValidationError

__all__ = ["PurchasePeriods", "calibration_holdout_split", "purchase_periods", "rfm_summary"]

_FREQ_UNITS = "hDWM"  # hours, days, Monday-Sunday weeks, calendar months
_FIXED_NS = {"h": _time.NS_PER_HOUR, "D": _time.NS_PER_DAY, "W": 7 * _time.NS_PER_DAY}


def _time_scale(freq: _time.Freq, unit: object) -> float:
    """Length of one ``freq`` period in ``unit`` (1 when ``unit`` is ``None``).

    Only fixed-length periods convert: hours, days and weeks (with
    multiples); calendar months differ in length.
    """
    if unit is None:
        return 1.0
    u = _time.parse_freq(unit, name="unit", allowed="hDW")
    if freq.unit not in _FIXED_NS:
        raise ValidationError(
            f"unit={unit!r} needs a fixed-length freq ('h', 'D' or 'W', with a multiple); "
            f"calendar {freq.name}s differ in length: leave unit unset",
            field="unit",
            value=unit,
        )
    return freq.mult * _FIXED_NS[freq.unit] / (u.mult * _FIXED_NS[u.unit])


def _factorize_ids(ids: pd.Series) -> tuple[IntArray, pd.Index]:
    """Return customer codes and the distinct ids.

    Integer ids with a compact range are coded directly (ascending id order,
    no hashing); other integer ids are hashed and sorted; anything else is
    hashed (order of first appearance, never sorted).
    """
    arr = ids.to_numpy() if ids.dtype.kind in "iu" else np.empty(0)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < max(1 << 20, 4 * arr.size):
            rel = (arr - lo).astype(np.int64, copy=False)
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[rel] = True
            distinct = np.flatnonzero(present)
            if distinct.size == present.size:  # every id in the range occurs: no gaps
                return rel, pd.Index((distinct + lo).astype(arr.dtype))
            rank = np.empty(present.size, dtype=np.int64)
            rank[distinct] = np.arange(distinct.size, dtype=np.int64)
            return rank[rel], pd.Index((distinct + lo).astype(arr.dtype))
    # Integer ids are sorted (cheap); anything else keeps first-appearance order.
    codes, uniques = pd.factorize(ids, sort=ids.dtype.kind in "iu")
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


@dataclass(frozen=True)
class _Coded:
    """Customer ids as integer slots ``0 .. n - 1``, one per row.

    Compact integer ids are their own slots (``id - lo``, ascending id
    order, no hashing and no pass to find which ids occur): a slot without a
    row is dropped afterwards, from the per-customer arrays, by
    :meth:`labels`. Other ids are factorised (every slot has a row).
    """

    cust: IntArray  # slot of every row
    n: int  # number of slots
    uniques: pd.Index | None  # the id of every slot (factorised ids)
    lo: int = 0  # compact integer ids: the id of slot 0
    dtype: Any = None  # compact integer ids: their dtype

    def labels(self, rows: IntArray) -> tuple[pd.Index, IntArray | None]:
        """Return the ids of the slots with rows and those slots' positions (``None``: all)."""
        if self.uniques is not None:
            return self.uniques, None
        where = None if bool(rows.all()) else np.flatnonzero(rows)
        if where is None and self.dtype == np.int64:
            return pd.Index(np.arange(self.lo, self.lo + self.n, dtype=np.int64)), None
        slots = np.arange(self.n) if where is None else where
        return pd.Index(slots.astype(self.dtype) + self.dtype.type(self.lo)), where

    def lookup(self, ids: pd.Series, where: IntArray | None) -> IntArray:
        """Row of every id of ``ids`` among the labels (-1 for an id not among them)."""
        if self.uniques is not None:
            return np.asarray(self.uniques.get_indexer(pd.Index(ids)), dtype=np.int64)
        arr = ids.to_numpy()  # the same integer column as the coded ids
        rank = np.arange(self.n, dtype=np.int64)
        if where is not None:
            rank = np.full(self.n, -1, dtype=np.int64)
            rank[where] = np.arange(where.size, dtype=np.int64)
        inside = np.flatnonzero((arr >= self.lo) & (arr <= self.lo + self.n - 1))
        rel = (np.take(arr, inside) - self.dtype.type(self.lo)).astype(np.int64, copy=False)
        out = np.full(arr.size, -1, dtype=np.int64)
        out[inside] = np.take(rank, rel)
        return out


def _code_ids(ids: pd.Series) -> _Coded:
    """Code customer ids into slots (see :class:`_Coded`)."""
    arr = ids.to_numpy() if ids.dtype.kind in "iu" else None
    if arr is not None and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < max(1 << 20, 4 * arr.size):
            rel = arr - arr.dtype.type(lo) if lo else arr  # in the ids' own type: no overflow
            cust = rel.astype(np.int64, copy=False)  # never written to
            return _Coded(cust, hi - lo + 1, None, lo, arr.dtype)
    cust, uniques = _factorize_ids(ids)
    return _Coded(cust, len(uniques), uniques)


@dataclass(frozen=True)
class _Log:
    """A validated transaction log: one entry per row, in input order."""

    ids: pd.Series  # customer ids
    dates: _time.Dates  # instants (UTC ns for aware data, wall clock for naive)
    codes: IntArray  # period codes on the data's wall clock
    values: FloatArray | None
    freq: _time.Freq

    def cut(self, as_of: Any, name: str) -> tuple[int, int]:
        """Resolve a cut-off: its nanoseconds (history is ``ns <= cut``) and period code.

        ``None`` is the last transaction: everything is history.
        """
        ns = int(self.dates.ns.max()) if as_of is None else self.dates.cutoff(as_of, name=name).ns
        wall = _time.wall_ns(np.array([ns], dtype=np.int64), self.dates.tz)
        return ns, int(_time.period_codes(wall, self.freq)[0])


def _read_log(
    transactions: pd.DataFrame,
    *,
    customer_col: str,
    date_col: str,
    value_col: str | None,
    date_format: str | None,
    freq: _time.Freq,
) -> _Log:
    """Check the columns and read every row (later rows are validated too)."""
    cols = [customer_col, date_col] + ([value_col] if value_col is not None else [])
    check_columns(transactions, cols, name="transactions")
    check_non_empty(transactions, name="transactions")
    ids = transactions[customer_col]
    if ids.dtype.kind not in "iu":  # integer ids cannot be missing
        missing = np.asarray(ids.isna())
        if missing.any():
            first_bad(
                missing,
                name=customer_col,
                problem="must not be missing",
                values=np.asarray(ids, dtype=object),
                index=transactions.index,
            )
    labels = pd.Index(ids)
    dates = _time.read_dates(
        transactions[date_col],
        name=date_col,
        date_format=date_format,
        index=labels,
        row_name="customer",
    )
    values = None
    if value_col is not None:
        raw_values = transactions[value_col].to_numpy()
        try:
            if raw_values.dtype == np.float64 and bool(np.isfinite(raw_values).all()):
                values = raw_values  # already what the check returns; never written to
            else:
                values = as_float_array(raw_values, name=value_col)
        except ValidationError:
            as_float_array(raw_values, name=value_col, index=labels, row_name="customer")
            raise
    codes = _time.period_codes(dates.wall_ns(), freq)
    return _Log(ids, dates, codes, values, freq)


def _rows_through(ns: IntArray, cut: int) -> IntArray | None:
    """Positions of the rows at or before ``cut`` (``None``: every row)."""
    return None if cut >= int(ns.max()) else np.flatnonzero(ns <= cut)


def _select(log: _Log, rows: IntArray | None) -> tuple[pd.Series, IntArray, FloatArray | None]:
    """Ids, period codes and values of the rows at ``rows`` (``None``: all, no copy).

    Positions, not a boolean mask: NumPy's masked copy is several times
    slower than a take.
    """
    if rows is None:
        return log.ids, log.codes, log.values
    values = np.take(log.values, rows) if log.values is not None else None
    return log.ids.iloc[rows], np.take(log.codes, rows), values


# Odd 64-bit multipliers for Fibonacci-style hashing (2**64 / golden ratio first),
# one per round of :func:`_repeats`.
_MULTIPLIERS = tuple(
    np.uint64(m) for m in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
)


def _narrow(span: int) -> type[np.signedinteger[Any]]:
    """Return the narrowest signed integer type holding ``-1 .. span`` (offsets, sentinels)."""
    if span < 2**15:
        return np.int16
    return np.int32 if span < 2**31 else np.int64


def _pair_take(
    first: np.ndarray, last: np.ndarray, cust: IntArray
) -> tuple[np.ndarray, np.ndarray]:
    """``first[cust]`` and ``last[cust]`` by one gather of both, packed side by side.

    The two tables are interleaved into one of twice the item size (16 + 16
    or 32 + 32 bits), gathered once, and read back as two strided views.
    """
    wide = {np.dtype(np.int16): np.int32, np.dtype(np.int32): np.int64}.get(first.dtype)
    if wide is None:
        return np.take(first, cust), np.take(last, cust)
    pair = np.empty((first.size, 2), dtype=first.dtype)
    pair[:, 0] = first
    pair[:, 1] = last
    rows = np.take(pair.view(wide).reshape(first.size), cust).view(first.dtype).reshape(-1, 2)
    return rows[:, 0], rows[:, 1]


def _repeats(key: np.ndarray) -> IntArray:
    """Return the positions of the keys equal to another key, all but one per distinct key.

    Keys already in order (a log sorted by customer and date) need one
    comparison of neighbours. Otherwise each key scatters its position into
    a hash table of at least twice as many slots (multiplicative hashing): a
    key whose slot kept the position of an equal key is a repeat; a key that
    lost its slot to a *different* key (a collision; all copies of a key
    share their slot, so they lose together) goes to the next round, with
    another multiplier and a table sized for what is left. The last few
    thousand are sorted. No full sort; the result does not depend on which
    write a slot kept.
    """
    if key.size < 2:
        return np.zeros(0, dtype=np.int64)
    if bool(np.all(key[1:] >= key[:-1])):
        return np.flatnonzero(key[1:] == key[:-1]) + 1
    found: list[IntArray] = []
    where: IntArray | None = None  # positions of ``key``'s entries in the original keys
    for multiplier in _MULTIPLIERS:
        if key.size < 4096:
            break
        bits = int(2 * key.size - 1).bit_length()
        slot = key.astype(np.uint64)
        slot *= multiplier
        slot >>= np.uint64(64 - bits)
        slots = slot.view(np.int64)
        pos = np.arange(key.size, dtype=np.int32)
        table = np.empty(1 << bits, dtype=np.int32)
        table[slots] = pos  # one of the positions writing a slot stays there
        kept = np.take(table, slots)
        lost = np.flatnonzero(kept != pos)
        mine = np.take(key, lost)
        same = mine == np.take(key, np.take(kept, lost))
        repeat, left = lost[same], lost[~same]
        found.append(repeat if where is None else np.take(where, repeat))
        where = left if where is None else np.take(where, left)
        key = mine[~same]
    order = np.argsort(key, kind="stable")
    ordered = np.take(key, order)
    repeat = np.take(order, np.flatnonzero(ordered[1:] == ordered[:-1]) + 1)
    found.append(repeat if where is None else np.take(where, repeat))
    return np.concatenate(found) if len(found) > 1 else found[0]


def _offsets(codes: IntArray) -> tuple[np.ndarray, int, int]:
    """Period codes as offsets from the first period, in the narrowest integer type.

    Returns the offsets (``codes`` itself when it already is that), the first
    period ``lo`` and the number of periods spanned. The caller drops its
    codes afterwards: at 10M rows they are 80 MB the summary no longer needs.
    """
    lo = int(codes.min())
    span = int(codes.max()) - lo + 1
    small = _narrow(span)
    rel: np.ndarray = codes  # offsets from the first period, never written to
    if lo or small is not np.int64:
        rel = np.subtract(codes, lo, out=np.empty(codes.size, dtype=small), casting="unsafe")
    return rel, lo, span


def _stats(
    cust: IntArray, offsets: tuple[np.ndarray, int, int], values: FloatArray | None, n_cust: int
) -> dict[str, np.ndarray]:
    """Per-customer first/last purchase period, distinct periods and value sums.

    Returns ``count`` (int64), ``first`` and ``last`` (periods since ``lo``,
    the log's first period, in the narrowest integer type; 0 for a customer
    without a row, whose count is 0), ``lo`` (a 0-d int64 array) and, with
    ``values``, ``total`` and ``first_value`` (float64).

    No transaction is sorted. The first and last periods are per-customer
    minima and maxima (``np.minimum.at``/``np.maximum.at`` on period offsets
    in the narrowest integer type, 16 bits for up to 32,767 periods), read
    back for every row by one gather of both; they are distinct periods of
    their own (one if they coincide). Only the rows strictly between a
    customer's first and last period can add further distinct periods:
    just those are packed into the key ``customer * span + period`` and
    every key equal to an earlier one is found by :func:`_repeated_keys`
    (a hash table, no sort). Values need no pairing: the repeat-purchase
    total is the customer's total minus what was spent in the first period
    (both summed in row order). Rows are selected by index, never by a
    boolean mask (NumPy's masked copy is several times slower).
    """
    rel, lo, span = offsets  # see _offsets
    if n_cust * span >= 2**62:
        raise ValidationError("the transaction log spans too many periods", field="date")
    small = _narrow(span)
    first = np.full(n_cust, span, dtype=small)
    np.minimum.at(first, cust, rel)
    last = np.full(n_cust, -1, dtype=small)
    np.maximum.at(last, cust, rel)
    first_of_row, last_of_row = _pair_take(first, last, cust)
    # the first period, the last if it differs, then whatever lies between
    count = (last >= 0).astype(np.int64)
    count += last > first
    inner = np.greater(rel, first_of_row)
    scratch = np.less(rel, last_of_row)  # reused below: no fresh pages for a second mask
    inner &= scratch
    rows = np.flatnonzero(inner)
    if rows.size:
        cust_in = np.take(cust, rows)
        key: np.ndarray  # uint32 or int64
        if n_cust * span <= 2**32:  # the largest key is n_cust * span - 1
            key = cust_in.astype(np.uint32)
            key *= np.uint32(span)
            key += np.take(rel, rows).astype(np.uint32)
        else:
            key = cust_in * span
            key += np.take(rel, rows)
        count += np.bincount(cust_in, minlength=n_cust)
        np.subtract.at(count, np.take(cust_in, _repeats(key)), 1)
    if not bool(count.all()):  # customers without a row in range: first = last = 0
        none = count == 0
        first[none] = 0
        last[none] = 0
    out: dict[str, np.ndarray] = {
        "count": count,
        "first": first,
        "last": last,
        "lo": np.array(lo, dtype=np.int64),
    }
    if values is not None:
        out["total"] = np.bincount(cust, weights=values, minlength=n_cust)
        in_first = np.flatnonzero(np.equal(rel, first_of_row, out=scratch))
        out["first_value"] = np.bincount(
            np.take(cust, in_first), weights=np.take(values, in_first), minlength=n_cust
        ).astype(np.float64, copy=False)  # no row at all: NumPy counts in integers
    return out


def _periods(to: IntArray | int, since: IntArray, scale: float) -> FloatArray:
    """Whole periods from ``since`` to ``to`` in the requested unit (``scale`` periods -> unit).

    Exact: the period codes are far below 2**53, so subtracting them as
    floats gives the integer difference.
    """
    out = np.subtract(to, since, dtype=np.float64)
    if scale != 1.0:
        out *= scale
    return out


@renamed_arguments(observation_end="as_of")
def rfm_summary(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = None,
    as_of: Any = None,
    freq: str = "D",
    unit: str | None = None,
    date_format: str | None = None,
    include_first_transaction: bool = False,
) -> pd.DataFrame:
    """Summarise a transaction log into frequency, recency, T (and monetary value).

    Conventional buy-till-you-die semantics, the same numbers as ``lifetimes``'
    ``summary_data_from_transaction_data`` for date-only data and the same
    arguments: the history is every transaction at or before ``as_of``
    (:doc:`/time`); purchases in the same period collapse into one;
    ``frequency`` is the number of periods with a repeat purchase;
    ``recency`` the number of periods from the first to the last purchase;
    ``T`` from the first purchase to the period of ``as_of``;
    ``monetary_value`` the mean value of the repeat purchase periods (0 for
    one-time buyers).

    Parameters
    ----------
    transactions : DataFrame or dask.dataframe.DataFrame
        One row per transaction, in any order. A Dask DataFrame is shuffled on
        the customer column and summarised partition by partition; the result
        is then a lazy Dask DataFrame (call ``.compute()``), indexed by
        customer, in partition order.
    customer_col, date_col : str
        Customer id and transaction date columns. Dates may be ``datetime64``
        of any unit (naive or timezone-aware), ``datetime``/``date`` objects,
        ISO strings, or strings or integers read with ``date_format``.
    value_col : str, optional
        Transaction value column; adds ``monetary_value``.
    as_of : date-like, optional
        The cut-off: a transaction at or before this instant is history, a
        later one is ignored. A date-only value (``"2024-03-31"``, a
        ``datetime.date``, ``pd.Period("2024-03-31", "D")``) means the end of
        that day, so a purchase at 18:00 that day counts; a ``Timestamp`` is an
        instant. Default: the last transaction. Naive data need a naive or
        date-only ``as_of``, aware data an aware or date-only one.
        (Formerly ``observation_end``, deprecated.)
    freq : str, default "D"
        The grain: ``"h"`` (hours), ``"D"`` (days), ``"W"`` (Monday–Sunday
        weeks) or ``"M"`` (calendar months), optionally multiplied (``"2W"``:
        consecutive two-week blocks counted from the epoch), taken on the wall
        clock of the data's zone. Purchases in one period count once;
        ``recency`` and ``T`` are whole periods (unless ``unit`` is given).
    unit : str, optional
        The time unit of ``recency`` and ``T`` when it differs from the
        grain: ``"h"``, ``"D"`` or ``"W"`` (with a multiple), for a
        fixed-length ``freq``. ``freq="h", unit="D"`` counts purchases per
        hour and measures in days (multiples of 1/24): the model's rate
        parameters are then per day. Default: ``freq`` itself. (Rescaling
        afterwards, ``summary[["recency", "T"]] / 7``, is the same thing;
        every model's fit and predictions are invariant to it.)
    date_format : str, optional
        ``strptime`` format for string (or integer, e.g. ``19970101``) dates.
    include_first_transaction : bool, default False
        Count the first purchase period too (``lifetimes``' option of the
        same name): ``frequency`` is then the number of purchase periods
        (at least 1), ``monetary_value`` the mean value of *all* purchase
        periods; ``recency`` and ``T`` are unchanged (from the first
        purchase). For RFM scoring and reports: the purchase models need
        repeat purchases and refuse such a summary (it is marked in
        ``attrs["include_first_transaction"]``).

    Returns
    -------
    DataFrame
        Indexed by customer id (ascending for integer ids, otherwise in order
        of first appearance in the history) with ``frequency`` (int),
        ``recency``, ``T`` (float) and ``monetary_value``.

    Raises
    ------
    ValidationError
        Missing columns, empty input, missing customer ids, unparseable or
        missing dates, non-finite values, an ``as_of`` naive where the dates
        are aware (or the other way round), or nothing at or before ``as_of``.

    Notes
    -----
    Checked side by side against ``lifetimes`` 0.11.3 (``benchmarks/clv.py``):
    identical results for ``freq="D"`` and ``"W"`` with a date-only cut-off
    at the end of a period. ``lifetimes`` keeps every purchase of the period
    of its cut-off (with ``freq="W"`` and a Wednesday cut-off, the purchases
    of the following Thursday to Sunday); this function keeps only those at
    or before ``as_of``, so the summary never sees the future. For ``"M"``
    this function counts calendar months (integers); ``lifetimes`` divided
    day differences by an average month of 30.44 days and no longer runs on
    pandas 3. Multiples (``"2W"``) group consecutive periods; ``lifetimes``
    has no equivalent (its ``freq_multiplier`` divides the times instead:
    divide ``recency`` and ``T`` of a ``"D"`` summary by 7 to get its
    fractional weeks).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "b", "a"],
    ...         "date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02", "2024-01-03"]),
    ...         "amount": [10.0, 5.0, 7.0, 15.0],
    ...     }
    ... )
    >>> rfm_summary(log, value_col="amount", as_of="2024-01-10")
                 frequency  recency    T  monetary_value
    customer_id
    a                    1      2.0  9.0            20.0
    b                    0      0.0  8.0             0.0
    """
    fq = _time.parse_freq(freq, allowed=_FREQ_UNITS)
    scale = _time_scale(fq, unit)
    if not isinstance(include_first_transaction, bool | np.bool_):
        raise ValidationError(
            f"include_first_transaction must be True or False; got {include_first_transaction!r}",
            field="include_first_transaction",
            value=include_first_transaction,
        )
    if is_dask(transactions):
        return summary_on_dask(  # type: ignore[no-any-return]
            transactions,
            rfm_summary,
            customer_col=customer_col,
            date_col=date_col,
            value_col=value_col,
            as_of=as_of,
            kwargs={
                "freq": freq,
                "unit": unit,
                "date_format": date_format,
                "include_first_transaction": include_first_transaction,
            },
        )
    log = _read_log(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
        date_format=date_format,
        freq=fq,
    )
    cut_ns, end = log.cut(as_of, "as_of")
    frame, _, _ = _summary_frame(
        log,
        _rows_through(log.dates.ns, cut_ns),
        end,
        value_col is not None,
        as_of,
        scale=scale,
        include_first=bool(include_first_transaction),
    )
    frame.index.name = customer_col
    return frame


def _summary_frame(
    log: _Log,
    rows: IntArray | None,
    end: int,
    with_value: bool,
    as_of: Any,
    *,
    scale: float,
    include_first: bool = False,
) -> tuple[pd.DataFrame, _Coded, IntArray | None]:
    """Summarise the rows at ``rows`` (``None``: all), whose cut-off falls in period ``end``.

    ``recency`` and ``T`` are whole periods times ``scale`` (periods -> unit).
    ``include_first``: count (and average) every purchase period, the first too.
    Also returns the customers' coding and the coded slots kept (``None``:
    all), to look further rows of the same customers up (:meth:`_Coded.lookup`).
    """
    if rows is not None and not rows.size:
        raise ValidationError(
            f"no transaction at or before as_of={as_of!r}", field="as_of", value=as_of
        )
    ids, codes, values = _select(log, rows)
    del rows  # the positions (a copy's worth of memory) are not needed any more
    offsets = _offsets(codes)
    del codes
    coded = _code_ids(ids)
    del ids  # what is still needed of them is coded.cust
    st = _stats(coded.cust, offsets, values if with_value else None, coded.n)
    del offsets
    customers, where = coded.labels(st["count"])
    if where is not None:  # compact integer ids with gaps: drop the slots without a row
        st = {
            name: column if name == "lo" else np.take(column, where) for name, column in st.items()
        }
    count, first = st["count"], st["first"]
    freq = count if include_first else count - 1
    data: dict[str, Any] = {
        "frequency": freq,
        "recency": _periods(st["last"], first, scale),
        "T": _periods(end - int(st["lo"]), first, scale),
    }
    if with_value:
        if not bool(np.isfinite(st["total"]).all()):
            who = customers[int(np.flatnonzero(~np.isfinite(st["total"]))[0])]
            raise ValidationError(
                f"the amounts of customer {who!r} sum beyond the float range (about 1.8e308); "
                "rescale the value column (e.g. to thousands) before summarising",
                field="value_col",
                value=who,
            )
        repeat = st["total"]
        if not include_first:  # in place: the first-period sums are not needed any more
            repeat = np.subtract(repeat, st["first_value"], out=st["first_value"])
        # a customer without a repeat period spent all in the first: repeat is exactly 0
        data["monetary_value"] = np.divide(repeat, np.maximum(freq, 1), out=repeat)
    frame = pd.DataFrame(data, index=customers, copy=False)
    if include_first:
        frame.attrs["include_first_transaction"] = True  # the models refuse it (read_summary)
    return frame, coded, where


@renamed_arguments(calibration_end="as_of", observation_end="holdout_end")
def calibration_holdout_split(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    holdout_end: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = None,
    freq: str = "D",
    unit: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Summaries for a calibration period and the purchases in the holdout after it.

    The calibration is every transaction at or before ``as_of``; the holdout
    every transaction in ``(as_of, holdout_end]`` (:doc:`/time`). Customers
    are those with a purchase in the calibration; their calibration summary
    is :func:`rfm_summary` at ``as_of``. A date-only ``as_of`` means the end
    of that day: a purchase at 18:00 on the ``as_of`` day is calibration
    data; with ``as_of=pd.Timestamp("2024-01-10 12:00")`` it is holdout data.
    Lengths are whole ``freq`` periods (expressed in ``unit`` if given):
    ``duration_holdout`` is the number of periods from the period of
    ``as_of`` to that of ``holdout_end``.

    Compared with ``lifetimes``' ``calibration_and_holdout_data``: the
    calibration columns, ``frequency_holdout`` and ``duration_holdout`` are
    the same when ``lifetimes`` is given the end of the ``as_of`` day as its
    cut-off (it cuts at the instant it is given, midnight for a date); its
    ``monetary_value_holdout`` averages individual transactions where this
    function averages purchase periods, consistently with
    ``frequency_holdout`` and ``monetary_value_cal``.

    Parameters
    ----------
    transactions : DataFrame
        Transaction log (see :func:`rfm_summary`).
    as_of : date-like
        End of the calibration period, as for :func:`rfm_summary`
        (formerly ``calibration_end``, deprecated).
    holdout_end : date-like, optional
        End of the holdout, included (default: the last transaction;
        formerly ``observation_end``, deprecated).
    customer_col, date_col, value_col, freq, unit, date_format
        As for :func:`rfm_summary`.

    Returns
    -------
    DataFrame
        Indexed by customer: ``frequency_cal``, ``recency_cal``, ``T_cal``
        (+ ``monetary_value_cal``), ``frequency_holdout`` (int: periods with a
        purchase in the holdout), ``duration_holdout`` (holdout length in
        ``freq`` periods, or in ``unit``) (+ ``monetary_value_holdout``, the
        mean value of the holdout purchase periods, 0 if none). Models accept this frame
        directly (they read the ``_cal`` columns).

    Raises
    ------
    ValidationError
        As :func:`rfm_summary`, and when ``holdout_end`` does not fall in a
        later period than ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame(
    ...     {
    ...         "customer_id": [1, 1, 2, 1],
    ...         "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02", "2024-01-20"]),
    ...     }
    ... )
    >>> split = calibration_holdout_split(log, as_of="2024-01-10", holdout_end="2024-01-31")
    >>> split[["frequency_cal", "T_cal", "frequency_holdout", "duration_holdout"]]
                 frequency_cal  T_cal  frequency_holdout  duration_holdout
    customer_id
    1                        1    9.0                  1              21.0
    2                        0    8.0                  0              21.0
    """
    fq = _time.parse_freq(freq, allowed=_FREQ_UNITS)
    scale = _time_scale(fq, unit)
    log = _read_log(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
        date_format=date_format,
        freq=fq,
    )
    cal_ns, cal_end = log.cut(as_of, "as_of")
    hold_ns, hold_end = log.cut(holdout_end, "holdout_end")
    if hold_ns <= cal_ns or hold_end <= cal_end:
        raise ValidationError(
            f"holdout_end ({holdout_end!r}) must fall in a later {fq.name} than as_of "
            f"({as_of!r}): the holdout is (as_of, holdout_end], at least one whole period",
            field="holdout_end",
            value=holdout_end,
        )
    with_value = value_col is not None
    ns = log.dates.ns
    cal, coded, where = _summary_frame(
        log, _rows_through(ns, cal_ns), cal_end, with_value, as_of, scale=scale
    )
    cal.columns = [f"{c}_cal" for c in cal.columns]
    cal.index.name = customer_col
    n_cust = len(cal)
    freq_h = np.zeros(n_cust, dtype=np.int64)
    value_h = np.zeros(n_cust)
    in_holdout = ns > cal_ns
    in_holdout &= ns <= hold_ns
    holdout = np.flatnonzero(in_holdout)
    if holdout.size:
        ids, codes, values = _select(log, holdout)
        cust = coded.lookup(ids, where)
        known = np.flatnonzero(cust >= 0)  # -1: a customer whose first purchase is later
        if known.size < cust.size:
            cust, codes = np.take(cust, known), np.take(codes, known)
            values = np.take(values, known) if values is not None else None
        if cust.size:
            offsets = _offsets(codes)
            del codes
            st = _stats(cust, offsets, values if with_value else None, n_cust)
            freq_h = st["count"]
            if with_value:  # no holdout purchase: a total of exactly 0
                value_h = st["total"] / np.maximum(freq_h, 1)
    cal["frequency_holdout"] = freq_h
    cal["duration_holdout"] = float(hold_end - cal_end) * scale
    if with_value:
        cal["monetary_value_holdout"] = value_h
    return cal


@dataclass(frozen=True)
class PurchasePeriods:
    """The purchase periods of a cohort, as integer period codes.

    Attributes
    ----------
    first : ndarray of int64
        Period of each cohort customer's first purchase.
    repeats : ndarray of int64
        Period of every repeat purchase period of a cohort customer (one
        entry per customer and period after the first, purchases at or
        before the end; in no particular order).
    cut : int
        Period of ``as_of`` (the cohort is who bought at or before it).
    end : int
        Period of the end of the window.
    freq : Freq
        The periods' unit.
    scale : float
        Length of one period in the requested time unit.
    """

    first: IntArray
    repeats: IntArray
    cut: int
    end: int
    freq: _time.Freq
    scale: float


def purchase_periods(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    end: Any,
    customer_col: str,
    date_col: str,
    freq: str,
    unit: str | None,
    date_format: str | None,
) -> PurchasePeriods:
    """Read a log into the purchase periods of the customers who bought by ``as_of``.

    Purchases are read by the same rules as :func:`rfm_summary` (periods on
    the data's wall clock, one per customer and period); the cohort is every
    customer whose first purchase is at or before ``as_of``, and their
    purchases at or before ``end`` are kept. ``None`` means the last
    transaction for either.

    Raises
    ------
    ValidationError
        As :func:`rfm_summary`, and when ``end`` falls before ``as_of``.
    """
    fq = _time.parse_freq(freq, allowed=_FREQ_UNITS)
    scale = _time_scale(fq, unit)
    log = _read_log(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        value_col=None,
        date_format=date_format,
        freq=fq,
    )
    cut_ns, cut = log.cut(as_of, "as_of")
    end_ns, end_code = log.cut(end, "end")
    if end_ns < cut_ns:
        raise ValidationError(
            f"the window must end at or after as_of; got end={end!r} before as_of={as_of!r}",
            field="end",
            value=end,
        )
    ids, codes, _ = _select(log, _rows_through(log.dates.ns, end_ns))
    cust, _customers = _factorize_ids(ids)
    n_cust = int(cust.max()) + 1 if cust.size else 0
    first = np.full(n_cust, np.iinfo(np.int64).max)
    np.minimum.at(first, cust, codes)
    cohort = first <= cut
    if not cohort.any():
        raise ValidationError(
            f"no customer bought at or before as_of={as_of!r}", field="as_of", value=as_of
        )
    # One entry per (customer, period) after the first: repeats of packed keys dropped.
    lo = int(codes.min())
    span = int(codes.max()) - lo + 1
    if n_cust * span >= 2**62:
        raise ValidationError("the transaction log spans too many periods", field=date_col)
    mine = np.take(cohort, cust)
    mine &= codes > np.take(first, cust)
    rows = np.flatnonzero(mine)
    key = np.take(cust, rows) * span
    key += np.take(codes, rows) - lo
    repeats = np.take(codes, rows)  # one entry per (customer, period): drop the repeats
    keep = np.ones(rows.size, dtype=bool)
    keep[_repeats(key)] = False
    return PurchasePeriods(
        first=first[cohort],
        repeats=repeats[keep],
        cut=cut,
        end=end_code,
        freq=fq,
        scale=scale,
    )
