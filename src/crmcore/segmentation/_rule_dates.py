"""What a date literal of a rule means: a span of time on a column's scale.

Every date literal is read as a half-open span ``[lo, hi)`` of int64
nanoseconds on the scale of the column it is compared with (UTC instants for
a timezone-aware column, wall-clock readings for a naive one; see
:mod:`crmcore._time`):

* a **date-only** literal ``date'2024-01-31'`` names a calendar day: from
  its midnight to the next, on the column's own wall clock (for a store
  filter, in the zone given to :meth:`Rule.to_store_filter`). It is read
  like a date-only ``as_of``: ``t <= date'2024-01-31'`` includes the whole
  day, ``t > date'2024-01-31'`` starts the next one;
* a literal **with a time** is an instant ``[v, v + 1 ns)``; it must carry
  an offset (``date'2024-01-31T12:00+01:00'``) exactly when the column is
  timezone-aware: crmcore never gives a naive time a zone silently.

The comparisons are then the same for both:

=============  ====================
rule           on the span [lo, hi)
=============  ====================
``t == d``     ``lo <= t < hi``
``t < d``      ``t < lo``
``t <= d``     ``t < hi``
``t > d``      ``t >= hi``
``t >= d``     ``t >= lo``
=============  ====================

and ``t between a and b`` is ``lo(a) <= t < hi(b)``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from crmcore._time import NS_PER_DAY, parse_freq, period_codes, period_starts, to_instant
from crmcore.errors import ValidationError
from crmcore.segmentation._rule_ast import render_value

__all__ = ["Span", "is_instant", "literal_span"]

Span = tuple[int, int]
"""``[lo, hi)`` in nanoseconds on a column's scale."""

_DAY = parse_freq("D")
# the last day whose next midnight is still an int64 nanosecond (2262-04-10)
_LAST_DAY = (2**63 - 1) // NS_PER_DAY - 1


def is_instant(value: object) -> bool:
    """Whether a date literal has a time (a ``datetime``), not only a date."""
    return isinstance(value, _dt.datetime)


def _is_aware(value: _dt.datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None


def _zone(tz: Any) -> str:
    return str(tz) if tz is not None else "naive"


def literal_span(value: _dt.date, *, tz: Any, field: str, position: int = -1) -> Span:
    """Return the span ``[lo, hi)`` a date literal covers on a column in zone ``tz``.

    Parameters
    ----------
    value : date or datetime
        The literal.
    tz : tzinfo, str or None
        The column's zone; ``None`` for naive (wall-clock) data.
    field : str
        The column, for messages.
    position : int
        Offset of the literal in the rule text, for messages (-1: unknown).

    Raises
    ------
    ValidationError
        A literal with a time but no offset against aware data, one with an
        offset against naive data, or a date outside 1677..2262.
    """
    text = render_value(value)
    where = f" (at position {position})" if position >= 0 else ""
    if isinstance(value, _dt.datetime):
        if tz is not None and not _is_aware(value):
            raise ValidationError(
                f"{text}{where} has no UTC offset but field {field!r} is timezone-aware "
                f"({_zone(tz)}); crmcore never gives a naive time a zone silently: write "
                f"the offset, e.g. date'{value.isoformat()}+01:00' (or 'Z' for UTC), or a "
                f"date-only literal date'{value.date().isoformat()}' for that day in "
                f"{_zone(tz)}",
                field=field,
                value=value,
            )
        if tz is None and _is_aware(value):
            raise ValidationError(
                f"{text}{where} has a UTC offset but field {field!r} holds naive dates "
                "(wall-clock times in no stated zone): write it without the offset, or "
                "localise the column first, e.g. frame[col].dt.tz_localize('Europe/Paris')",
                field=field,
                value=value,
            )
        ns = int(to_instant(value, name=field).value)
        return ns, ns + 1
    day = int(period_codes(np.array([to_instant(value, name=field).value]), _DAY)[0])
    if day > _LAST_DAY:
        raise ValidationError(
            f"{text}{where}: dates must lie between 1677-09-22 and 2262-04-10 here (the "
            "range of nanosecond timestamps)",
            field=field,
            value=value,
        )
    try:
        lo, hi = period_starts(np.array([day, day + 1]), _DAY, tz).tolist()
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise ValidationError(
            f"{text}{where} in {_zone(tz)} lies outside the range of nanosecond timestamps "
            "(1677-09-22 to 2262-04-11)",
            field=field,
            value=value,
        ) from exc
    return int(lo), int(hi)
