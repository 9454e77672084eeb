"""The customer-value report on a Dask cluster (``crmcore report --scheduler``).

The report's per-transaction work runs on the workers; the client receives
per-customer tables (and smaller ones) and runs the very code of the
in-memory report on them: model fits, scores, segments, churn model, page.

How it fits into :func:`crmcore.report.analyse`:

- The input stage (:func:`cluster_input`) cuts the log at ``as_of``, shuffles
  it on the customer, applies the data-quality rules (refunds, duplicates,
  free orders) to each partition with the in-memory function, and persists
  the cleaned log on the workers. Only per-partition counts and one row per
  customer (its first position in the log, for the customer codes) come
  back.
- The analysis then holds a :class:`ClusterLog` where it would hold a pandas
  frame. The library steps it calls on the log (:func:`rfm_summary`,
  :func:`calibration_holdout_split`, :func:`churn_labels`,
  :func:`customer_features`, :func:`cohort_retention`, imported by the
  analysis from here) run the pandas function on each partition of the
  persisted log (all of a customer's rows are in one partition), so every
  customer's numbers are computed exactly as in memory; the per-customer
  results are collected, coded and ordered as the in-memory analysis orders
  them. The few frame operations the analysis applies to the log itself
  (``len``, a cut on the date, a column's min, max or sum) are what
  :class:`ClusterLog` offers.

Dask is imported only when a Dask log is given; ``import crmcore.report``
stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from crmcore._dask import check_dask_columns, check_dask_dates
from crmcore._time import Dates, read_dates
from crmcore.churn import churn_labels as _churn_labels
from crmcore.clv import calibration_holdout_split as _calibration_holdout_split
from crmcore.clv import rfm_summary as _rfm_summary
from crmcore.errors import ValidationError
from crmcore.segmentation import cohort_retention as _cohort_retention
from crmcore.segmentation import customer_features as _customer_features

__all__ = [
    "ClusterLog",
    "calibration_holdout_split",
    "churn_labels",
    "cluster_input",
    "cohort_retention",
    "customer_features",
    "read_partitioned_transactions",
    "rfm_summary",
]

#: the columns of a report's transaction log (``read_transactions``' output)
_COLUMNS = ("customer_id", "date", "amount")
#: where each row of the log was, before the shuffle (first-appearance order of customers)
_ROW = "_crmcore_row"


def _import_dask() -> Any:
    try:
        import dask  # noqa: PLC0415 -- optional extra
        import dask.dataframe  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - the dask extra is installed in CI
        raise ValidationError(
            'a report on a Dask log needs Dask: python -m pip install "crmcore[dask]"',
            field="transactions",
        ) from err
    return dask


# --------------------------------------------------------------------- reading


def _read_part(
    path: str, fields: list[str], date_format: str | None, *, empty: bool = False
) -> pd.DataFrame:
    """One Parquet file as the in-memory reader would give it (checked the same way).

    ``empty``: no row, the columns' types only (the frame's ``meta``).
    """
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # noqa: PLC0415

    from crmcore.report._inputs import _dates, _numbers, _text  # noqa: PLC0415

    if empty:
        frame = pq.read_schema(path).empty_table().select(fields).to_pandas()
    else:
        frame = pq.read_table(path, columns=fields).to_pandas()
    customer_col, date_col, value_col = fields[:3]
    try:
        out = pd.DataFrame(
            {
                "customer_id": _text(frame, customer_col).array,
                "date": _dates(frame, date_col, date_format),
                "amount": _numbers(frame, value_col, nonnegative=False),
            }
        )
    except ValidationError as err:
        raise ValidationError(f"{Path(path).name}: {err}", field=err.field) from None
    if len(fields) > 3:
        out["currency"] = frame[fields[3]].astype("string").str.strip().str.upper().array
    return out


def read_partitioned_transactions(
    path: str | Path,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str = "amount",
    date_format: str | None = None,
    currency_col: str = "currency",
) -> Any:
    """Read a Parquet file or a folder of Parquet files as a Dask transaction log.

    One partition per file, read and checked on the workers exactly as
    :func:`~crmcore.report.read_transactions` checks a file (an error names
    the file, the column and the row). Give the result to
    :func:`~crmcore.report.analyse` in a :class:`~crmcore.report.ReportData`
    and the report runs on the Dask scheduler in use (see :doc:`/dask`).

    Parameters
    ----------
    path : path-like
        A ``.parquet`` file or a folder holding ``*.parquet`` files (read in
        name order), readable by the workers.
    customer_col, date_col, value_col, date_format, currency_col
        As for :func:`~crmcore.report.read_transactions`; a currency column
        is kept as ``currency`` (checked to hold one currency by the report).

    Returns
    -------
    dask.dataframe.DataFrame
        ``customer_id`` (str), ``date`` (datetime64), ``amount`` (float)
        and, when the files have one, ``currency``.

    Raises
    ------
    ValidationError
        Not Parquet (a CSV file is read in memory: convert it first, see
        :doc:`/dask`), no such file or folder, a missing column, Dask not
        installed.
    """
    _import_dask()
    import dask.dataframe as dd  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    source = Path(path).resolve()
    files = sorted(source.glob("*.parquet")) if source.is_dir() else [source]
    if source.suffix.lower() in (".csv", ".tsv", ".txt") or (
        source.is_dir() and not files and any(source.glob("*.csv"))
    ):
        raise ValidationError(
            f"{path!s} is a CSV file: a report on a Dask scheduler reads Parquet (a file or "
            "a folder of *.parquet, one partition per file). Report on it in memory (no "
            "--scheduler), or convert it once: dask.dataframe.read_csv(...).to_parquet(DIR)",
            field="transactions",
            value=str(path),
        )
    if not source.exists() or not files:
        raise ValidationError(
            f"{path!s} is neither a Parquet file nor a folder holding *.parquet files",
            field="transactions",
            value=str(path),
        )
    present = pq.read_schema(files[0]).names
    columns = [customer_col, date_col, value_col]
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValidationError(
            f"{files[0].name} has no column {missing[0]!r}; columns present: {', '.join(present)}",
            field=missing[0],
        )
    if currency_col in present:
        columns.append(currency_col)
    meta = _read_part(files[0].as_posix(), columns, date_format, empty=True)
    return dd.from_map(  # type: ignore[no-untyped-call]
        _read_part,
        [f.as_posix() for f in files],
        fields=columns,
        date_format=date_format,
        meta=meta,
        enforce_metadata=False,
    )


# ----------------------------------------------------------------- input stage


def _dated(part: pd.DataFrame, tz: Any) -> pd.DataFrame:
    from crmcore.report._analysis import _transaction_dates  # noqa: PLC0415

    return _transaction_dates(part, tz)[0]


def _partition_dates(part: pd.DataFrame, tz: Any) -> pd.DataFrame:
    """Rows, first and last date (ns on the one scale), first refund and zone of a partition."""
    dates = read_dates(_dated(part, tz)["date"], name="date")
    rows = len(part)
    refunds = dates.ns[part["amount"].to_numpy() < 0]
    never = np.iinfo(np.int64).max
    return pd.DataFrame(
        {
            "rows": [rows],
            "first": [int(dates.ns.min()) if rows else never],
            "last": [int(dates.ns.max()) if rows else np.iinfo(np.int64).min],
            "first_refund": [int(refunds.min()) if refunds.size else never],
            "tz": [None if dates.tz is None else str(dates.tz)],
        }
    )


def _cut(part: pd.DataFrame, offset: int, tz: Any, cutoff_ns: int) -> pd.DataFrame:
    """Dates in the report's zone, rows after as_of dropped, each row's place in the log kept."""
    part = _dated(part, tz).assign(**{_ROW: np.arange(offset, offset + len(part))})
    ns = read_dates(part["date"], name="date").ns
    return part[ns <= cutoff_ns]


def _clean(part: pd.DataFrame, netted: bool) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply the in-memory data-quality rules to one partition (all its customers' rows).

    Returns the cleaned rows (each keeping its customer's first place in the
    log: a netted day has no single row) and the partition's counts.
    ``netted``: the log has refunds, so the in-memory rules re-sort all of it
    by date and customer (also partitions without a refund: their rows then
    add up in the same order).
    """
    from crmcore.report._analysis import _data_quality  # noqa: PLC0415

    # the log's own order (a shuffle need not keep it): sums then add up as in memory
    part = part.sort_values(_ROW, kind="stable")
    place = part[_ROW].groupby(part["customer_id"].to_numpy()).min()
    out, _, quality = _data_quality(part[list(_COLUMNS)])
    out = out.assign(**{_ROW: place.reindex(out["customer_id"].to_numpy()).to_numpy()})
    if netted and not quality["refund_rows"]:
        out = out.sort_values(["date", "customer_id"], kind="stable", ignore_index=True)
    refunds = part["amount"] < 0
    counts: dict[str, Any] = {
        **quality,
        "refunded": float(-part.loc[refunds, "amount"].sum()),
        "kept_rows": len(out),
        "revenue": float(out["amount"].sum()),
    }
    return out, counts


def _customers_of(part: pd.DataFrame) -> pd.DataFrame:
    """One row per customer of a cleaned partition: its first date and first place."""
    grouped = part.groupby("customer_id", sort=False)
    return pd.DataFrame({"first_date": grouped["date"].min(), "row": grouped[_ROW].min()})


def cluster_input(
    transactions: Any, as_of: Any, tz: Any, say: Callable[[str], None]
) -> tuple[Any, Any, str | None, list[str], dict[str, int], Any]:
    """Run the report's input stage on the cluster (the twin of its in-memory lines).

    Returns the log (a :class:`ClusterLog`, typed ``Any``: it stands where the
    analysis holds a pandas frame), the clock, the currency, the
    data-quality notes and counts, and the customer codes, as the in-memory
    input stage of :func:`~crmcore.report.analyse` builds them.
    """
    dask = _import_dask()
    import dask.dataframe as dd  # noqa: PLC0415

    from crmcore.report._analysis import (  # noqa: PLC0415
        _clock,
        _CustomerCodes,
        _quality_notes,
        check_customers,
    )

    check_dask_columns(transactions, list(_COLUMNS))
    check_dask_dates(transactions, "date", what="a report")
    if not pd.api.types.is_numeric_dtype(transactions._meta["amount"].dtype):
        raise ValidationError(
            f"amount on a Dask log must be numeric (got {transactions._meta['amount'].dtype}); "
            "read it with crmcore.report.read_partitioned_transactions",
            field="amount",
        )
    currency = None
    if "currency" in transactions.columns:
        codes = transactions["currency"].astype("string").str.strip().str.upper()
        found = codes.drop_duplicates().compute()
        names = sorted(set(found.dropna()))
        if len(names) > 1 or found.isna().any():
            raise ValidationError(
                f"column 'currency': the amounts are in {', '.join(names[:5])}"
                + (" and missing ones" if found.isna().any() else "")
                + "; amounts in different currencies cannot be added up: convert them to one "
                "currency or report on each currency's rows separately",
                field="currency",
                value=names,
            )
        currency = names[0] if names else None
    log = transactions[list(_COLUMNS)]

    # 1. per partition: rows, first and last date -> the clock (as in cut_history)
    per_part = log.map_partitions(
        _partition_dates,
        tz,
        meta={
            "rows": np.int64,
            "first": np.int64,
            "last": np.int64,
            "first_refund": np.int64,
            "tz": object,
        },
    ).compute()
    if int(per_part["rows"].sum()) == 0:
        raise ValidationError("transactions holds no rows", field="transactions")
    zones = set(per_part.loc[per_part["rows"] > 0, "tz"])
    if len(zones) > 1:
        raise ValidationError(
            f"the partitions' dates are in different zones ({', '.join(map(str, zones))}); "
            "give tz (--tz ZONE) to read them in one",
            field="date",
        )
    zone = _zone_of(log, tz)
    dates = Dates(
        np.array([per_part["first"].min(), per_part["last"].max()], dtype=np.int64), zone
    )
    clock = _clock(dates, as_of, tz)

    netted = int(per_part["first_refund"].min()) <= clock.cutoff.ns

    # 2. cut at as_of, shuffle on the customer, the data-quality rules per partition
    say("checking the data")
    offsets = np.concatenate([[0], np.cumsum(per_part["rows"].to_numpy())[:-1]])
    cut_meta = log._meta.assign(**{_ROW: np.zeros(0, dtype=np.int64)})
    cut_meta["date"] = _dated(log._meta_nonempty.iloc[:1], tz)["date"].iloc[:0]
    parts = [
        part.map_partitions(_cut, int(offset), tz, clock.cutoff.ns, meta=cut_meta)
        for part, offset in zip(log.partitions, offsets, strict=True)
    ]
    cut = dd.concat(parts) if len(parts) > 1 else parts[0]  # type: ignore[no-untyped-call]
    # delayed from here: each cleaned partition stays on the worker that cleaned it
    pairs = dask.persist(
        *(
            dask.delayed(_clean)(part, netted)
            for part in cut.shuffle(on="customer_id").to_delayed()
        )
    )
    cleaned = [pair[0] for pair in pairs]
    per_part = dask.compute(
        *(dask.delayed(_customers_of)(part) for part in cleaned), *(pair[1] for pair in pairs)
    )
    per_customer = pd.concat(per_part[: len(pairs)])
    quality_table = pd.DataFrame(list(per_part[len(pairs) :]))
    sums = quality_table.sum()
    counts = {
        key: int(sums[key])
        for key in ("rows", "duplicate_rows", "refund_rows", "refund_days_dropped")
    }
    counts["free_rows"] = int(sums["free_rows"])
    counts["free_spend_customers"] = 0
    notes = _quality_notes(counts, float(sums["refunded"]))
    check_customers(len(per_customer))

    # 3. the customer codes, in the order the in-memory log would show the customers
    say("coding the customers")
    ids = per_customer.index
    if pd.api.types.is_string_dtype(ids.dtype):
        ids = ids.astype(str)  # the in-memory reader's text ids (Dask may hold them in Arrow)
    if ids.dtype.kind in "iu":
        order = np.argsort(ids.to_numpy(), kind="stable")
    elif counts["refund_rows"]:
        # netting re-sorts the whole log by (date, customer): first appearance follows it
        order = np.lexsort((ids.to_numpy(), per_customer["first_date"].to_numpy()))
    else:
        order = np.argsort(per_customer["row"].to_numpy(), kind="stable")
    codes = _CustomerCodes.of(pd.Series(ids[order], name="customer_id"))
    stats = {
        "rows": int(sums["kept_rows"]),
        "amount": float(sums["revenue"]),
        "date_min": per_customer["first_date"].min(),
        "date_max": None,
    }
    logged = ClusterLog(cleaned, cut_meta, codes, stats=stats)
    return logged, clock, currency, notes, counts, _ClusterCodes(codes)


def _zone_of(log: Any, tz: Any) -> Any:
    """Return the zone of the dates after the report's ``tz`` (the in-memory ``Dates.tz``)."""
    sample = _dated(log._meta_nonempty.iloc[:1], tz)
    return read_dates(sample["date"], name="date").tz


class _ClusterCodes:
    """The customer codes of a :class:`ClusterLog` (the in-memory ``_CustomerCodes`` API)."""

    def __init__(self, codes: Any) -> None:
        self._codes = codes
        self.ids: pd.Index = codes.ids

    def sorted_index(self, first: pd.Index) -> pd.Index:
        """Return the ``sorted`` codes of the ``first`` codes in ``first``."""
        out: pd.Index = self._codes.sorted_index(first)
        return out

    def frame(self, tx: ClusterLog, *, order: Literal["first", "sorted"]) -> ClusterLog:
        """Return the log whose per-customer results are coded (and ordered) by ``order``."""
        return tx.coded(order)


# ----------------------------------------------------------------- the log


class _Column:
    """A column of a :class:`ClusterLog`: its min, max and sum, and a cut on the date."""

    def __init__(self, log: ClusterLog, name: str) -> None:
        self._log = log
        self._name = name

    def _reduce(self, how: str) -> Any:
        return self._log.reduce(self._name, how)

    def min(self) -> Any:
        return self._reduce("min")

    def max(self) -> Any:
        return self._reduce("max")

    def sum(self) -> Any:
        return self._reduce("sum")

    def __le__(self, other: Any) -> _Cut:
        if self._name != "date":
            raise TypeError(f"a ClusterLog is cut on its date only, not on {self._name!r}")
        return _Cut(pd.Timestamp(other))


class _Cut:
    """``log["date"] <= moment``: the rows dated at or before ``moment``."""

    def __init__(self, moment: pd.Timestamp) -> None:
        self.moment = moment


class ClusterLog:
    """A cleaned transaction log persisted on a Dask cluster, partitioned by customer.

    Stands where the in-memory analysis holds its pandas log: ``len(log)``,
    ``log["date"] <= t`` and ``log[...]`` (a cut), ``log[col].min()`` /
    ``.max()`` / ``.sum()``; the library steps of this module run on it.
    """

    def __init__(
        self,
        parts: list[Any],
        meta: pd.DataFrame,
        codes: Any,
        *,
        stats: dict[str, Any] | None = None,
        cuts: tuple[pd.Timestamp, ...] = (),
        order: Literal["first", "sorted"] = "first",
    ) -> None:
        self.parts = parts  # dask.delayed, one per partition, persisted
        self.meta = meta
        self.codes = codes
        self.cuts = cuts
        self.order: Literal["first", "sorted"] = order
        self._stats = stats or {}

    def coded(self, order: Literal["first", "sorted"]) -> ClusterLog:
        """Return the same log, its per-customer results coded by ``order``."""
        return ClusterLog(
            self.parts, self.meta, self.codes, stats=self._stats, cuts=self.cuts, order=order
        )

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, _Cut):
            cuts = (*self.cuts, key.moment)
            return ClusterLog(self.parts, self.meta, self.codes, cuts=cuts, order=self.order)
        if key not in self.meta.columns:
            raise KeyError(key)
        return _Column(self, str(key))

    def __len__(self) -> int:
        if not self.cuts and "rows" in self._stats:
            return int(self._stats["rows"])
        return int(self._run(len, combine=sum))

    def reduce(self, column: str, how: str) -> Any:
        """Min, max or sum of a column over the (cut) log."""
        if not self.cuts and column == "amount" and how == "sum" and "amount" in self._stats:
            return self._stats["amount"]
        values = [v for v in self._run(lambda p: getattr(p[column], how)() if len(p) else None)
                  if v is not None]  # fmt: skip
        if how == "sum":
            return sum(values)
        return min(values) if how == "min" else max(values)

    def _rows(self, part: pd.DataFrame) -> pd.DataFrame:
        for moment in self.cuts:
            part = part[part["date"] <= moment]
        return part

    def _run(
        self, fn: Callable[[pd.DataFrame], Any], combine: Callable[[list[Any]], Any] = list
    ) -> Any:
        """``fn`` of each (cut) partition, computed on the cluster; the list of results."""
        dask = _import_dask()
        rows = self._rows
        tasks = [dask.delayed(lambda p: fn(rows(p)))(part) for part in self.parts]
        return combine(list(dask.compute(*tasks)))

    def per_customer(
        self, fn: Callable[..., Any], *, skip_after: Any = None, **kwargs: Any
    ) -> Any:
        """``fn(partition, **kwargs)`` per partition; the per-customer results, coded and ordered.

        ``skip_after``: a partition without a row at or before it is left out
        (its customers have no history there; the library refuses such a log
        as a whole, not each part of a log).
        """
        bound = None if skip_after is None else pd.Timestamp(skip_after)

        def run(part: pd.DataFrame) -> Any:
            if len(part) == 0 or (bound is not None and not (part["date"] <= bound).any()):
                return None
            return fn(part, **kwargs)

        results = [r for r in self._run(run) if r is not None]
        if not results:  # the library's own error for a log with nothing to summarise
            return fn(self.meta, **kwargs)
        out = pd.concat(results)
        return self._order(out)

    def _order(self, out: Any) -> Any:
        """Replace the customer ids by the analysis' integer codes; rows in code order."""
        first = self.codes.ids.get_indexer(out.index)
        code = first if self.order == "first" else self.codes.sorted_of_first[first]
        name = out.index.name
        out.index = pd.Index(code, name=name)
        return out.sort_index(kind="stable")

    def dask_frame(self) -> Any:
        """Return the (cut) log as a Dask DataFrame (for the library's own Dask paths)."""
        import dask.dataframe as dd  # noqa: PLC0415

        return dd.from_delayed(
            [_import_dask().delayed(self._rows)(part) for part in self.parts],
            meta=self.meta,
            verify_meta=False,
        )


# --------------------------------------------------- the library steps, on either log


def rfm_summary(transactions: Any, **kwargs: Any) -> pd.DataFrame:
    """:func:`crmcore.clv.rfm_summary`, per partition for a :class:`ClusterLog`."""
    if isinstance(transactions, ClusterLog):
        return transactions.per_customer(_rfm_summary, skip_after=kwargs.get("as_of"), **kwargs)  # type: ignore[no-any-return]
    return _rfm_summary(transactions, **kwargs)


def calibration_holdout_split(transactions: Any, **kwargs: Any) -> pd.DataFrame:
    """:func:`crmcore.clv.calibration_holdout_split`, per partition for a :class:`ClusterLog`."""
    if isinstance(transactions, ClusterLog):
        return transactions.per_customer(  # type: ignore[no-any-return]
            _calibration_holdout_split, skip_after=kwargs.get("as_of"), **kwargs
        )
    return _calibration_holdout_split(transactions, **kwargs)


def churn_labels(transactions: Any, **kwargs: Any) -> pd.Series:
    """:func:`crmcore.churn.churn_labels`, per partition for a :class:`ClusterLog`."""
    if isinstance(transactions, ClusterLog):
        return transactions.per_customer(_churn_labels, skip_after=kwargs.get("as_of"), **kwargs)  # type: ignore[no-any-return]
    return _churn_labels(transactions, **kwargs)


def customer_features(transactions: Any, **kwargs: Any) -> pd.DataFrame:
    """:func:`crmcore.segmentation.customer_features`, per partition for a :class:`ClusterLog`."""
    if isinstance(transactions, ClusterLog):
        return transactions.per_customer(  # type: ignore[no-any-return]
            _customer_features, skip_after=kwargs.get("as_of"), **kwargs
        )
    return _customer_features(transactions, **kwargs)


def cohort_retention(transactions: Any, **kwargs: Any) -> Any:
    """:func:`crmcore.segmentation.cohort_retention`; its Dask path for a :class:`ClusterLog`."""
    if isinstance(transactions, ClusterLog):
        return _cohort_retention(transactions.dask_frame(), **kwargs)
    return _cohort_retention(transactions, **kwargs)
