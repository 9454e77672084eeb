"""Stored "not a duplicate" decisions: recorded as events, read back for matching and merging."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pandas as pd

from crmcore import _time
from crmcore.domain import NotDuplicateMarked
from crmcore.storage import Store

__all__ = ["mark_not_duplicate", "not_duplicates", "withdraw_not_duplicate"]

_COLUMNS = ("id_l", "id_r", "at", "actor", "reason")


def _record(store: Store, event: NotDuplicateMarked) -> NotDuplicateMarked:
    with store.unit_of_work() as uow:
        for customer in (event.left_id, event.right_id):
            uow.customers.get(customer)  # NotFound names an unknown customer
        uow.record(event)
        uow.commit()
    return event


def mark_not_duplicate(
    store: Store,
    left_id: Any,
    right_id: Any,
    *,
    at: _dt.datetime,
    actor: str | None = None,
    reason: str | None = None,
) -> NotDuplicateMarked:
    """Store the decision that two customers are different people.

    The decision is a :class:`~crmcore.domain.NotDuplicateMarked` event
    (so it is audited and published through the outbox).
    :func:`not_duplicates` reads the decisions in force; pass them as
    ``cannot_link`` to :func:`cluster_duplicates` and :func:`merge_plan`, and
    :func:`apply_merge` refuses a merge that would join such a pair.

    Parameters
    ----------
    store : Store
    left_id, right_id : str or uuid.UUID
        Two stored customers (the order does not matter).
    at : datetime.datetime
        When (timezone-aware).
    actor, reason : str, optional

    Returns
    -------
    NotDuplicateMarked
        The stored event.

    Raises
    ------
    NotFound
        A customer that is not stored.
    ValidationError
        The same id twice, or a naive ``at``.
    """
    event = NotDuplicateMarked(
        left_id=left_id, right_id=right_id, at=at, actor=actor, reason=reason
    )
    return _record(store, event)


def withdraw_not_duplicate(
    store: Store,
    left_id: Any,
    right_id: Any,
    *,
    at: _dt.datetime,
    actor: str | None = None,
    reason: str | None = None,
) -> NotDuplicateMarked:
    """Withdraw a "not a duplicate" decision (stores an event with ``distinct=False``).

    Parameters and errors as :func:`mark_not_duplicate`.
    """
    event = NotDuplicateMarked(
        left_id=left_id, right_id=right_id, distinct=False, at=at, actor=actor, reason=reason
    )
    return _record(store, event)


def not_duplicates(store: Store, *, as_of: Any = None, tz: Any = None) -> pd.DataFrame:
    """Return the "not a duplicate" decisions in force: the latest one on each pair.

    Parameters
    ----------
    store : Store
    as_of : date-like, optional
        Only decisions at or before it (a date means the end of that day, in
        ``tz``); default all.
    tz : str or tzinfo, optional
        Zone of a date-only ``as_of``; UTC unless given.

    Returns
    -------
    DataFrame
        Columns ``id_l``, ``id_r`` (``id_l`` sorts first as text), ``at``,
        ``actor``, ``reason``; one row per pair, in the order decided. It is
        accepted as ``cannot_link`` by :func:`cluster_duplicates` and
        :func:`merge_plan`.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Customer
    >>> from crmcore.identity import mark_not_duplicate, not_duplicates
    >>> from crmcore.storage import InMemoryStore
    >>> store = InMemoryStore()
    >>> t = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    >>> for cid in ("c1", "c2"):
    ...     _ = store.customers.add(Customer(id=cid, name="Jo Kim", created_at=t))
    >>> _ = mark_not_duplicate(store, "c2", "c1", at=t, reason="twins")
    >>> not_duplicates(store)[["id_l", "id_r", "reason"]]
      id_l id_r reason
    0   c1   c2  twins
    """
    cut = None
    if as_of is not None:
        cut = _time.cutoff_us(as_of, tz=_time.to_zone(tz) if tz is not None else _dt.UTC)
    latest: dict[tuple[str, str], tuple[int, NotDuplicateMarked]] = {}
    for stored in store.events.query(type=NotDuplicateMarked):
        event = stored.event
        if not isinstance(event, NotDuplicateMarked):
            continue  # a payload that no longer fits: not a decision crmcore can read
        micros = _time.instant_us(event.at)
        if cut is not None and micros > cut:
            continue
        a, b = sorted((event.left_id, event.right_id), key=str)
        key = (str(a), str(b))
        seen = latest.get(key)
        if seen is None or micros >= seen[0]:  # position order: the later of a tie wins
            latest[key] = (micros, event)
    rows = []
    for _micros, event in sorted(latest.values(), key=lambda item: item[0]):
        if event.distinct:
            a, b = sorted((event.left_id, event.right_id), key=str)
            rows.append((a, b, event.at, event.actor, event.reason))
    frame = pd.DataFrame(rows, columns=list(_COLUMNS), dtype=object)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame
