"""data_quality: completeness, validity, uniqueness and staleness per field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.identity._fields import Field, parse_fields
from crmcore.identity._kinds import KINDS

__all__ = ["data_quality"]


def _default_fields(frame: pd.DataFrame, skip: set[str]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for column in frame.columns:
        if column in skip:
            continue
        dtype = frame[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind == "M":
            out[str(column)] = Field("date")
        elif dtype.kind in "iuf":
            out[str(column)] = Field("numeric")
        else:
            out[str(column)] = Field("exact")
    return out


def _stale_mask(
    frame: pd.DataFrame, updated_col: str, as_of: Any, stale_after: Any
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    dates = _time.read_dates(
        frame[updated_col], name=updated_col, allow_missing=True, row_name="record"
    )
    cut = dates.cutoff(as_of)
    window = _time.to_duration(stale_after, name="stale_after", calendar=True)
    start = int(_time.add_duration(cut.ns, dates.tz, window, sign=-1))
    missing = dates.ns == _time.NAT
    # not updated within the look-back window (as_of - stale_after, as_of]; a record
    # never updated (missing) counts as stale
    return np.asarray(missing | (dates.ns <= start), dtype=bool)


def data_quality(
    frame: pd.DataFrame,
    *,
    fields: Mapping[str, Any] | None = None,
    as_of: Any = None,
    updated_col: str | None = None,
    stale_after: Any = "365D",
    id_col: str | None = "id",
) -> pd.DataFrame:
    """Measure each field's completeness, validity, uniqueness and staleness.

    Parameters
    ----------
    frame : DataFrame
        One row per record.
    fields : mapping of str to str or Field, optional
        Columns to measure and their kinds (as for :func:`find_duplicates`);
        validity is judged by kind: an e-mail must parse as
        :class:`~crmcore.domain.EmailAddress`, a phone as
        :class:`~crmcore.domain.PhoneNumber` (national numbers need
        ``country`` / ``country_col``), a date must be readable and inside
        the field's ``valid_range``, a number finite and inside
        ``valid_range``, a name must hold a letter, a postcode 2 to 10
        letters and digits. Default: every column but ``id_col`` and
        ``updated_col``, as ``"date"`` (datetime columns), ``"numeric"`` or
        ``"exact"``.
    as_of : date-like, optional
        The moment staleness is judged at (required with ``updated_col``;
        crmcore never reads the clock).
    updated_col : str, optional
        Column of each record's last update. A record is *stale* when it
        was not updated in ``(as_of - stale_after, as_of]`` (never updated:
        stale; updated after ``as_of``: not stale).
    stale_after : duration, default "365D"
        Look-back window; calendar lengths such as ``"12M"`` are accepted.
    id_col : str or None, default "id"
        Column left out of the default fields.

    Returns
    -------
    DataFrame
        Indexed by field: ``kind``; ``rows``; ``present`` (non-missing
        values) and ``completeness`` (present / rows); ``valid`` and
        ``validity`` (valid / present); ``distinct`` (distinct valid values
        after normalisation: e-mails in canonical form, phones in E.164) and
        ``uniqueness`` (distinct / valid), ``duplicated`` (valid values
        repeating an earlier one); with ``updated_col`` also ``stale``
        (present values on stale records) and ``staleness`` (stale /
        present). Ratios are NaN where their denominator is 0; counts are
        ints.

    Raises
    ------
    ValidationError
        Missing columns, an unknown kind, ``updated_col`` without ``as_of``
        (or unreadable), or a bad ``stale_after``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame(
    ...     {
    ...         "id": [1, 2, 3, 4],
    ...         "email": ["a@example.org", "A@example.org", "not an address", None],
    ...         "updated_at": pd.to_datetime(["2024-06-01", "2022-01-01", None, "2024-01-01"]),
    ...     }
    ... )
    >>> report = data_quality(
    ...     frame, fields={"email": "email"}, as_of="2024-12-31", updated_col="updated_at"
    ... )
    >>> report[["present", "completeness", "valid", "distinct", "stale"]]
           present  completeness  valid  distinct  stale
    field
    email        3          0.75      2         1      2
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(
            f"frame must be a pandas DataFrame; got {type(frame).__name__}", field="frame"
        )
    skip = {c for c in (id_col, updated_col) if c is not None}
    specs = _default_fields(frame, skip) if fields is None else parse_fields(fields)
    needed = [*specs, *(s.country_col for s in specs.values() if s.country_col)]
    check_columns(frame, [*needed, *([updated_col] if updated_col else [])], name="frame")
    stale = None
    if updated_col is not None:
        if as_of is None:
            raise ValidationError(
                "staleness needs as_of (the moment it is judged at); crmcore never reads "
                "the clock",
                field="as_of",
            )
        stale = _stale_mask(frame, updated_col, as_of, stale_after)
    rows = []
    data = frame.reset_index(drop=True)
    for column, spec in specs.items():
        kind = KINDS[spec.kind]
        lenient = attrs.evolve(spec, invalid="missing")
        present, valid = kind.validity(data, column, lenient)
        codes = kind.prepare(data, column, lenient, data.index).codes
        distinct = int(np.unique(codes[valid & (codes >= 0)]).size)
        n_present, n_valid = int(present.sum()), int(valid.sum())
        row: dict[str, Any] = {
            "field": column,
            "kind": spec.kind,
            "rows": len(data),
            "present": n_present,
            "completeness": n_present / len(data) if len(data) else np.nan,
            "valid": n_valid,
            "validity": n_valid / n_present if n_present else np.nan,
            "distinct": distinct,
            "uniqueness": distinct / n_valid if n_valid else np.nan,
            "duplicated": n_valid - distinct,
        }
        if stale is not None:
            n_stale = int((present & stale).sum())
            row["stale"] = n_stale
            row["staleness"] = n_stale / n_present if n_present else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("field")
