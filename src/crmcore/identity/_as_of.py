"""Who was one customer as of a moment: a store's customers and purchases with merges replayed.

A store holds the present: every merge applied (merged customers removed,
their records re-pointed), every undone merge reverted.  To describe the
customers as of an earlier moment, the identity events after it are
reverted, newest first: a merge after ``as_of`` brings its merged customers
back (as they were before it) with the purchases it re-pointed; an undo
after ``as_of`` folds its customers back into the survivor.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmcore.domain import Customer, CustomersMerged, MergeUndone, encode_id
from crmcore.errors import ValidationError
from crmcore.storage import Store

__all__ = ["is_store", "store_records"]

_ORDER_COLUMNS = ["id", "customer_id", "placed_at", "amount", "status"]


def is_store(value: Any) -> bool:
    """Return True for a crmcore store (what ``customer_frame`` reads with merges replayed)."""
    return hasattr(value, "unit_of_work") and hasattr(value, "events")


def store_records(store: Store, *, as_of: Any, tz: Any = None) -> tuple[list[Customer], Any]:
    """Return the customers and completed purchases as they were identified at ``as_of``.

    Parameters
    ----------
    store : Store
    as_of : date-like
        The moment (a date means the end of that day, in ``tz``).
    tz : str or tzinfo, optional
        Zone of a date-only ``as_of``; UTC unless given.

    Returns
    -------
    customers : list of Customer
        Customers existing at ``as_of`` as identities then (creation dates
        are filtered by the caller).
    transactions : DataFrame
        Completed orders: ``customer_id`` (the customer they belonged to at
        ``as_of``), ``date`` (``placed_at``), ``amount``.
    """
    if as_of is None:
        raise ValidationError(
            "as_of is required (a date or datetime); crmcore never reads the clock",
            field="as_of",
        )
    customers = {encode_id(c.id): c for c in store.customers.query()}
    orders = store.orders.to_frame(_ORDER_COLUMNS)
    owner = dict(zip(orders["id"], orders["customer_id"], strict=True))
    later = store.events.query(type=[CustomersMerged, MergeUndone], since=as_of, tz=tz)
    for stored in reversed(later):
        event = stored.event
        if isinstance(event, CustomersMerged):
            survivor = encode_id(event.survivor_id)
            for record in event.before[1:]:
                customers[encode_id(record.id)] = record
            for move in event.moves:
                key = encode_id(move.id)
                if move.aggregate == "orders" and owner.get(key) == survivor:
                    owner[key] = encode_id(move.from_id)
        elif isinstance(event, MergeUndone):
            survivor = encode_id(event.survivor_id)
            folded = {encode_id(m) for m in event.merged_ids}
            for key in folded:
                customers.pop(key, None)
            for key, who in owner.items():
                if who in folded:
                    owner[key] = survivor
    ids = {key: c.id for key, c in customers.items()}
    completed = orders[orders["status"] == "completed"]
    transactions = pd.DataFrame(
        {
            "customer_id": [ids.get(owner[o], owner[o]) for o in completed["id"]],
            "date": completed["placed_at"].reset_index(drop=True),
            "amount": completed["amount"].reset_index(drop=True),
        }
    )
    return list(customers.values()), transactions
