"""``customer_timeline``: everything about one customer, in time order, in one frame.

Built from a store's public API only, with indexed look-ups: the
customer's orders, tickets, activities, survey responses and loyalty
accounts by ``customer_id`` (indexed in SQL), then every event about the
customer, its tickets or its loyalty accounts (or naming one of them among
its related ids) through the event store's entity index.  Event kinds
added later (marketing engagement, merges) appear without a change here:
each row's text comes from the event's own ``describe()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from crmcore._time import EPOCH_UTC, timestamps
from crmcore.domain import ConsentChanged, Customer, CustomersMerged, EntityId, MergeUndone
from crmcore.storage._eventcodec import EventCriteria, StoredEvent, criteria, encode_ids, to_micros
from crmcore.storage._filters import MAX_IN
from crmcore.storage._protocols import Store

__all__ = ["TIMELINE_COLUMNS", "customer_timeline"]

TIMELINE_COLUMNS = ("at", "kind", "entity", "entity_id", "summary", "position", "payload")
_STRING = pd.StringDtype(na_value=np.nan)

Row = tuple[int, int, str, str, str, str, Any, dict[str, Any]]
# (at in µs, tie-break, kind, entity, entity_id, summary, position or None, payload)


def _inside(micros: int, crit: EventCriteria) -> bool:
    if crit.since_us is not None and micros <= crit.since_us:
        return False
    return crit.until_us is None or micros <= crit.until_us


def _when(micros: int) -> dt.datetime:
    return EPOCH_UTC + dt.timedelta(microseconds=micros)


def _id_text(value: Any) -> str:
    return encode_ids(value)[0]


def _time_filter(field: str, crit: EventCriteria) -> dict[str, Any]:
    where: dict[str, Any] = {}
    if crit.since_us is not None:
        where[f"{field}__gt"] = _when(crit.since_us)
    if crit.until_us is not None:
        where[f"{field}__le"] = _when(crit.until_us)
    return where


def _money(value: Any) -> str:
    return f"{value.amount} {value.currency}"


def _events(store: Store, ids: list[EntityId], crit: EventCriteria) -> list[StoredEvent]:
    out: dict[int, StoredEvent] = {}
    for start in range(0, len(ids), MAX_IN):
        for stored in store.events.query(
            entity=ids[start : start + MAX_IN],
            since=None if crit.since_us is None else _when(crit.since_us),
            until=None if crit.until_us is None else _when(crit.until_us),
        ):
            out[stored.position] = stored
    return [out[p] for p in sorted(out)]


def customer_timeline(
    store: Store,
    customer_id: EntityId,
    *,
    since: Any = None,
    until: Any = None,
    tz: Any = None,
) -> pd.DataFrame:
    """Everything about one customer, oldest first: the single customer view's history.

    Rows come from the customer's orders (``kind="order"``, at
    ``placed_at``), tickets (``"ticket"``, when opened), activities
    (``"activity"``, at ``completed_at``, else ``due_at``, else
    ``created_at``), survey responses (``"survey_response"``), consent
    history (``"consent.changed"``), and every stored event about the
    customer, its tickets or its loyalty accounts (``kind`` is the event
    type: ticket stage changes, loyalty ledger entries, consent changes,
    and any kind registered later).  A consent both on the customer record
    and in the event store appears once (the event's row).  After a merge
    (:func:`crmcore.identity.apply_merge`) the survivor's timeline holds
    the merged customers' history too: their re-pointed records, the events
    about them, and the merge itself; undone merges are left out again.

    Parameters
    ----------
    store : Store
        Any store (``InMemoryStore``, ``SqlStore``).
    customer_id : str or uuid.UUID
        The customer.
    since, until : date-like, optional
        Keep rows with ``since < at <= until`` (a date-only bound is the end
        of that day, in ``tz``; see the docs page "Time, cut-offs and
        units").
    tz : str or tzinfo, optional
        Zone of date-only bounds; UTC unless given.

    Returns
    -------
    DataFrame
        Columns ``at`` (``datetime64[us, UTC]``), ``kind``, ``entity``,
        ``entity_id``, ``summary`` (one line of text), ``position`` (the
        event position, ``<NA>`` for rows read from records) and ``payload``
        (the record's or event's fields as JSON-safe dicts), ordered by
        ``at`` (ties: records, then events by position).  Empty, with these
        columns, for a customer with no history.

    Raises
    ------
    ValidationError
        An invalid id or bound.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Customer, Money, Order
    >>> from crmcore.storage import InMemoryStore, customer_timeline
    >>> store = InMemoryStore()
    >>> at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    >>> _ = store.customers.add(Customer(id="c1", name="Ada", created_at=at))
    >>> _ = store.orders.add(
    ...     Order(
    ...         id="o1", customer_id="c1", placed_at=at, amount=Money(amount="20", currency="EUR")
    ...     )
    ... )
    >>> customer_timeline(store, "c1")[["kind", "entity_id", "summary"]]
        kind entity_id                         summary
    0  order        o1  order o1: 20 EUR (completed)
    """
    crit = criteria(since=since, until=until, tz=tz)
    cid = _id_text(customer_id)
    rows: list[Row] = []

    def add(micros: int, kind: str, entity: str, eid: Any, text: str, payload: Any) -> None:  # noqa: PLR0917 -- a row, field by field
        if _inside(micros, crit):
            rows.append((micros, 0, kind, entity, _id_text(eid), text, None, payload))

    for order in store.orders.query(
        where={"customer_id": customer_id, **_time_filter("placed_at", crit)}
    ):
        add(
            to_micros(order.placed_at),
            "order",
            "order",
            order.id,
            f"order {order.id}: {_money(order.amount)} ({order.status.value})",
            order.to_dict(),
        )
    tickets = store.tickets.query(where={"customer_id": customer_id})
    for ticket in tickets:
        add(
            to_micros(ticket.created_at),
            "ticket",
            "ticket",
            ticket.id,
            f"ticket {ticket.id} opened: {ticket.subject}",
            ticket.to_dict(),
        )
    for activity in store.activities.query(where={"customer_id": customer_id}):
        when = activity.completed_at or activity.due_at or activity.created_at
        add(
            to_micros(when),
            "activity",
            "activity",
            activity.id,
            f"{activity.kind.value} {activity.id}: {activity.subject}",
            activity.to_dict(),
        )
    for answer in store.survey_responses.query(
        where={"customer_id": customer_id, **_time_filter("answered_at", crit)}
    ):
        add(
            to_micros(answer.answered_at),
            "survey_response",
            "survey_response",
            answer.id,
            f"{answer.kind.value.upper()} {answer.score} of {answer.scale}",
            answer.to_dict(),
        )
    accounts = store.loyalty_accounts.query(where={"customer_id": customer_id})
    merged = _merged_into(store, customer_id)
    related: list[EntityId] = [
        customer_id,
        *merged,
        *(t.id for t in tickets),
        *(a.id for a in accounts),
    ]
    events = _events(store, related, crit)
    people = {cid, *(_id_text(m) for m in merged)}
    seen_consents = {
        (e.event.channel, e.event.granted, to_micros(e.event.at))
        for e in events
        if isinstance(e.event, ConsentChanged) and _id_text(e.event.entity_id) in people
    }
    customer = store.customers.find(customer_id)
    for consent in _consents(customer):
        micros = to_micros(consent.at)
        if (consent.channel, consent.granted, micros) in seen_consents:
            continue
        what = "given" if consent.granted else "withdrawn"
        where = f" ({consent.source})" if consent.source else ""
        add(
            micros,
            ConsentChanged.TYPE,
            "customer",
            customer_id,
            f"{consent.channel} consent {what}{where}",
            consent.to_dict(),
        )
    for stored in events:
        event = stored.event
        micros = to_micros(event.at)
        rows.append(
            (
                micros,
                1,
                event.type,
                event.entity_type,
                _id_text(event.entity_id),
                event.describe(),
                stored.position,
                dict(event.to_dict()["payload"]),
            )
        )
    return _frame(rows)


def _merged_into(store: Store, customer_id: EntityId) -> list[EntityId]:
    """Return the customers merged into this one (also through earlier merges), not undone."""
    found: dict[str, EntityId] = {}
    queue = [customer_id]
    while queue:
        survivor = queue.pop()
        text = _id_text(survivor)
        absorbed: dict[str, EntityId] = {}
        for stored in store.events.query(entity=survivor, type=[CustomersMerged, MergeUndone]):
            event = stored.event
            if not isinstance(event, CustomersMerged | MergeUndone):
                continue
            if _id_text(event.survivor_id) != text:
                continue  # survivor is one of the merged here: not ours to follow
            for mid in event.merged_ids:
                if isinstance(event, CustomersMerged):
                    absorbed[_id_text(mid)] = mid
                else:
                    absorbed.pop(_id_text(mid), None)
        for key, mid in absorbed.items():
            if key not in found and key != _id_text(customer_id):
                found[key] = mid
                queue.append(mid)
    return list(found.values())


def _consents(customer: Customer | None) -> Iterable[Any]:
    return () if customer is None else customer.consents


def _frame(rows: list[Row]) -> pd.DataFrame:
    rows.sort(key=lambda r: (r[0], r[1], -1 if r[6] is None else r[6], r[2], r[4]))
    micros = np.array([r[0] for r in rows], dtype=np.int64)
    positions = pd.array([r[6] for r in rows], dtype="Int64")
    payloads = np.empty(len(rows), dtype=object)
    payloads[:] = [r[7] for r in rows]

    def text(i: int) -> Any:
        return pd.array(np.array([r[i] for r in rows], dtype=object), dtype=_STRING)

    return pd.DataFrame(
        {
            "at": timestamps(micros, "UTC", unit="us"),
            "kind": text(2),
            "entity": text(3),
            "entity_id": text(4),
            "summary": text(5),
            "position": positions,
            "payload": payloads,
        }
    )
