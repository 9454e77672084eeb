"""Records in, normalised columns out; comparison of pairs of records."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmcore._types import IntArray
from crmcore._validation import check_columns
from crmcore.domain import Customer
from crmcore.errors import ValidationError
from crmcore.identity._fields import Column, Field
from crmcore.identity._kinds import KINDS

__all__ = ["Prepared", "compare_pairs", "customers_frame", "prepare", "records_frame"]

CUSTOMER_COLUMNS = (
    "id", "name", "email", "phone", "birth_date", "gender", "line1", "postal_code", "city",
    "region", "country", "account_id", "created_at", "version",
)  # fmt: skip


def customers_frame(customers: Iterable[Customer]) -> pd.DataFrame:
    """One row per :class:`~crmcore.domain.Customer`, with the fields matching uses.

    Columns: ``id``, ``name``, ``email`` (the address), ``phone`` (E.164 or
    national digits), ``birth_date``, ``gender``, the address parts ``line1``,
    ``postal_code``, ``city``, ``region``, ``country``, and ``account_id``,
    ``created_at``, ``version``; missing values are None.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Customer
    >>> t = dt.datetime(2024, 1, 5, tzinfo=dt.UTC)
    >>> customers_frame([Customer(id="C-1", name="Ada", email="ada@example.org", created_at=t)])[
    ...     ["id", "name", "email"]
    ... ]
         id name            email
    0   C-1  Ada  ada@example.org
    """
    rows = []
    for c in customers:
        if not isinstance(c, Customer):
            raise ValidationError(
                f"records must be a DataFrame or Customer entities; got {type(c).__name__}",
                field="records",
                value=c,
            )
        a = c.address
        rows.append(
            (
                c.id,
                c.name,
                None if c.email is None else c.email.value,
                None if c.phone is None else c.phone.number,
                c.birth_date,
                c.gender,
                a and a.line1,
                a and a.postal_code,
                a and a.city,
                a and a.region,
                a and a.country,
                c.account_id,
                c.created_at,
                c.version,
            )
        )
    return pd.DataFrame(rows, columns=list(CUSTOMER_COLUMNS), dtype=object)


def records_frame(records: Any) -> pd.DataFrame:
    """Return a DataFrame as is, Customer entities through :func:`customers_frame`."""
    if isinstance(records, pd.DataFrame):
        return records
    if isinstance(records, Iterable) and not isinstance(records, str | bytes | Mapping):
        return customers_frame(records)
    raise ValidationError(
        f"records must be a pandas DataFrame or Customer entities; got {type(records).__name__}",
        field="records",
    )


@dataclass(slots=True)
class Prepared:
    """Records ready to compare: ids, id order, one :class:`Column` per field."""

    ids: pd.Index
    rank: IntArray
    columns: dict[str, Column]


def _rank(ids: pd.Index) -> IntArray:
    """Position of each id in sorted order (ids of mixed types sort by text)."""
    try:
        order = np.argsort(ids.to_numpy(), kind="stable")
    except TypeError:
        order = np.argsort(ids.astype(str).to_numpy(), kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def check_ids(frame: pd.DataFrame, id_col: str) -> pd.Index:
    """Return the record ids, checked: present, not missing, unique."""
    ids: pd.Index = pd.Index(frame[id_col])
    missing = ids.isna()
    if missing.any():
        pos = int(np.flatnonzero(missing)[0])
        raise ValidationError(
            f"{id_col} is missing at row {pos}; every record needs an id",
            field=id_col,
            row=pos,
        )
    if not ids.is_unique:
        dup = ids[ids.duplicated()][0]
        raise ValidationError(
            f"{id_col} must be unique; {dup!r} appears more than once", field=id_col, row=dup
        )
    return ids


def prepare(records: Any, fields: Mapping[str, Field], id_col: str) -> Prepared:
    """Check the columns and ids, and normalise every field.

    Raises
    ------
    ValidationError
        A missing column (listing those present), a missing or repeated id,
        or an unreadable value (naming column, record and value).
    """
    frame = records_frame(records)
    needed = [id_col, *fields]
    needed += [s.country_col for s in fields.values() if s.country_col is not None]
    check_columns(frame, dict.fromkeys(needed), name="records")
    ids = check_ids(frame, id_col)
    columns = {c: KINDS[spec.kind].prepare(frame, c, spec, ids) for c, spec in fields.items()}
    return Prepared(ids, _rank(ids), columns)


def compare_pairs(
    left: Prepared,
    i: IntArray,
    right: Prepared,
    j: IntArray,
    *,
    fields: Mapping[str, Field],
    n_jobs: int = 1,
) -> tuple[dict[str, np.ndarray[Any, Any]], np.ndarray[Any, np.dtype[np.int8]]]:
    """Similarities per field and the pairs × fields matrix of agreement levels."""
    sims: dict[str, np.ndarray[Any, Any]] = {}
    levels = np.empty((i.size, len(fields)), dtype=np.int8)
    for f, (column, spec) in enumerate(fields.items()):
        kind = KINDS[spec.kind]
        a = left.columns[column]
        b = a if right is left else right.columns[column]
        sims[column], levels[:, f] = kind.compare(a, i, b, j, spec=spec, n_jobs=n_jobs)
    return sims, levels


def positions_of(prep: Prepared, ids: Iterable[Hashable], *, field: str) -> IntArray:
    """Positions of record ids, refusing unknown ones."""
    wanted = pd.Index(list(ids))
    pos = prep.ids.get_indexer(wanted)
    if (pos < 0).any():
        bad = wanted[int(np.flatnonzero(pos < 0)[0])]
        raise ValidationError(
            f"{field} names record {bad!r}, which is not among the records",
            field=field,
            row=bad,
        )
    return np.asarray(pos, dtype=np.int64)
