"""Dask DataFrame support for the summary and scoring steps (DESIGN §8).

Dask is optional and never imported here: a Dask collection is recognised by
its type's module, and only its own methods are called. Summaries need every
transaction of a customer in one partition, so the log is first shuffled on
the customer column; scoring is embarrassingly parallel (``map_partitions``).
Fitting runs on the small compressed summary, in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from crmcore._dask import is_dask
from crmcore._types import FloatArray
from crmcore.errors import ValidationError

__all__ = ["by_customer", "compress_on_dask", "is_dask", "map_scores", "summary_on_dask"]


def compress_on_dask(
    data: Any, names: tuple[str, ...], weights: Any
) -> tuple[pd.DataFrame, FloatArray]:
    """Collapse a Dask summary to its distinct rows on the cluster and collect them.

    Customers who share the model's columns (``frequency``, ``recency``,
    ``T``...) are counted in a groupby on the workers; only the distinct rows
    travel to the client: a few hundred thousand rows even for tens of
    millions of customers. Each distinct row keeps one of its customers as its
    label, so a validation error still names a real customer.

    Returns
    -------
    rows : DataFrame
        The distinct rows (named as the model reads them), indexed by one
        customer of each.
    weights : ndarray
        How many customers each distinct row stands for.
    """
    if weights is not None:
        raise ValidationError(
            "weights cannot be given with a Dask summary: its rows are counted on the "
            "cluster; pass the summary alone (or compute it and pass both in memory)",
            field="weights",
        )
    chosen: list[str] = []
    for name in names:
        found = next((c for c in (name, f"{name}_cal") if c in data.columns), None)
        if found is None:
            present = ", ".join(map(str, data.columns)) or "none"
            raise ValidationError(
                f"data is missing column {name!r}; columns present: {present}", field=name
            )
        chosen.append(found)
    flat = data[chosen].reset_index()
    label = flat.columns[0]

    def chunk(part: pd.DataFrame) -> pd.DataFrame:
        # dropna=False: a missing value must reach validation, not vanish in the groupby
        grouped = part.groupby(chosen, dropna=False, sort=False)[label]
        return pd.DataFrame({"size": grouped.size(), "first": grouped.first()}).reset_index()

    def combine(parts: pd.DataFrame) -> pd.DataFrame:
        grouped = parts.groupby(chosen, dropna=False, sort=False)
        return pd.DataFrame(
            {"size": grouped["size"].sum(), "first": grouped["first"].first()}
        ).reset_index()

    # a tree reduction of pandas groupbys: cheaper than Dask's generic groupby-aggregate
    # (measured 3x on 1M customers), and only the combined distinct rows reach the client
    meta = chunk(flat._meta)
    table = flat.reduction(chunk, aggregate=combine, combine=combine, meta=meta).compute()
    rows = pd.DataFrame(
        {name: table[col].to_numpy() for name, col in zip(names, chosen, strict=True)},
        index=pd.Index(table["first"].to_numpy(), name=data.index.name),
    )
    return rows, table["size"].to_numpy(dtype=np.float64)


def map_scores(data: Any, score: Callable[[pd.DataFrame], Any], name: str) -> Any:
    """Apply a per-customer scoring function to every partition of ``data``."""

    def run(part: pd.DataFrame) -> pd.Series:
        if len(part) == 0:
            return pd.Series(np.zeros(0), index=part.index, name=name)
        return pd.Series(np.asarray(score(part), dtype=np.float64), index=part.index, name=name)

    meta = pd.Series(np.zeros(0), index=data._meta.index, name=name)
    return data.map_partitions(run, meta=meta)


def by_customer(frame: Any, customer_col: str) -> bool:
    """Whether each customer's rows are in one partition already.

    True for a frame indexed by the customer with known divisions (after
    ``set_index(customer_col)``, or read so: each file holding a range of
    ids that no other file holds). Such a frame needs no shuffle.
    """
    return bool(frame.index.name == customer_col and frame.known_divisions)


def summary_on_dask(
    transactions: Any,
    summarise: Callable[..., pd.DataFrame],
    *,
    customer_col: str,
    date_col: str,
    value_col: str | None,
    as_of: Any,
    kwargs: dict[str, Any],
) -> Any:
    """Per-customer :func:`rfm_summary` of a Dask log; lazy.

    A log indexed by the customer with known divisions is summarised
    partition by partition, without a shuffle; otherwise the log is first
    shuffled on the customer. Each partition is summarised by the in-memory
    :func:`rfm_summary`.
    """
    keyed = by_customer(transactions, customer_col)
    columns = set(transactions.columns) | ({customer_col} if keyed else set())
    missing = [
        c for c in (customer_col, date_col, value_col) if c is not None and c not in columns
    ]
    if missing:
        present = ", ".join(map(str, transactions.columns))
        raise ValidationError(
            f"transactions is missing column(s) {', '.join(map(repr, missing))}; "
            f"columns present: {present}",
            field=missing[0],
        )
    if as_of is None:
        # Every partition must cut at the same instant: the last date of the whole log.
        dtype = transactions._meta[date_col].dtype
        if not (isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype)):
            raise ValidationError(
                "as_of is required for a Dask log whose dates are not datetime64 "
                "(the latest date cannot be taken from unparsed strings)",
                field="as_of",
            )
        as_of = transactions[date_col].max().compute()
    with_value = value_col is not None
    cols: dict[str, Any] = {
        "frequency": np.zeros(0, dtype=np.int64),
        "recency": np.zeros(0),
        "T": np.zeros(0),
    }
    if with_value:
        cols["monetary_value"] = np.zeros(0)
    ids = transactions._meta.index if keyed else transactions._meta[customer_col]
    meta = pd.DataFrame(cols, index=pd.Index(ids[:0], name=customer_col))

    def run(part: pd.DataFrame) -> pd.DataFrame:
        if keyed:
            part = part.reset_index()
        if len(part) == 0:
            return meta.copy()
        return summarise(
            part,
            customer_col=customer_col,
            date_col=date_col,
            value_col=value_col,
            as_of=as_of,
            **kwargs,
        )

    if keyed:
        return transactions.map_partitions(run, meta=meta)
    # Shuffling rows already coded (customer, period code, value) instead of the raw
    # log was measured: 10-35 % more worker CPU on 5M rows (the coding is the same work
    # either side of the shuffle, and the frames it builds cost more than it saves).
    return transactions.shuffle(on=customer_col).map_partitions(run, meta=meta)
