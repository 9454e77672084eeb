"""apply_merge / undo_merge: a planned merge carried out in a store, atomically, and undone.

Both run in one unit of work of the store: every read, re-pointed reference,
update, removal and the event describing them commit together or not at
all.  The :class:`~crmcore.domain.CustomersMerged` event holds the records
as they were, so undoing needs nothing but the event store.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Hashable
from typing import Any

import attrs

from crmcore import _time
from crmcore.domain import (
    REPOINTED,
    Customer,
    CustomersMerged,
    MergeUndone,
    RecordMove,
    encode_id,
)
from crmcore.errors import ConcurrencyConflict, NotFound, ValidationError
from crmcore.identity._decisions import not_duplicates
from crmcore.identity._links import cannot_link_pairs
from crmcore.identity._merge import MergePlan
from crmcore.storage import Store, StoredEvent, UnitOfWork

__all__ = ["apply_merge", "undo_merge"]


def _check_store(store: Any) -> Store:
    if not (hasattr(store, "unit_of_work") and hasattr(store, "events")):
        raise ValidationError(
            f"store must be a crmcore store (InMemoryStore, SqlStore); got {type(store).__name__}",
            field="store",
        )
    return store  # type: ignore[no-any-return]


def _check_plan(plan: Any) -> MergePlan:
    if not isinstance(plan, MergePlan):
        raise ValidationError(
            f"plan must be a MergePlan (from merge_plan); got {type(plan).__name__}",
            field="plan",
        )
    if plan.survivor is None:
        raise ValidationError(
            "this plan was made from a DataFrame; to merge stored customers plan from their "
            "records: merge_plan([store.customers.get(i) for i in ids], ...)",
            field="plan",
        )
    return plan


def _stored(uow: Any, ids: tuple[Hashable, ...], versions: Any) -> list[Customer]:
    """Return the cluster's customers as stored now, refusing any changed since the plan."""
    found: list[Customer] = []
    for i in ids:
        current = uow.customers.find(i)
        expected = versions.get(i)
        if current is None:
            if expected is None:
                raise NotFound("customers", i)
            raise ConcurrencyConflict(
                "customers", i, expected_version=int(expected), actual_version=None
            )
        if expected is not None and current.version != expected:
            raise ConcurrencyConflict(
                "customers", i, expected_version=int(expected), actual_version=current.version
            )
        found.append(current)
    return found


def apply_merge(
    store: Store,
    plan: MergePlan,
    *,
    at: _dt.datetime,
    actor: str | None = None,
    reason: str | None = None,
    uow: UnitOfWork | None = None,
) -> CustomersMerged:
    """Merge a cluster of stored customers into its survivor, atomically.

    In one unit of work: the survivor is updated to the planned record (its
    fields chosen by the survivorship rules, consents merged
    conservatively); every order, ticket, activity, survey response and
    loyalty account (with its ledger) of a merged customer is re-pointed to
    the survivor; the merged customers are removed; and a
    :class:`~crmcore.domain.CustomersMerged` event recording all of it is
    stored (and so published through ``store.outbox``).  Events about the
    merged customers stay as they are: their history is kept and appears in
    the survivor's :func:`~crmcore.storage.customer_timeline`.

    Parameters
    ----------
    store : Store
        ``InMemoryStore`` or ``SqlStore``.
    plan : MergePlan
        From :func:`merge_plan` over the customers' stored records.
    at : datetime.datetime
        When the merge happens (timezone-aware; crmcore never reads the clock).
    actor : str, optional
        Who merges.
    reason : str, optional
        Why (kept on the event).
    uow : UnitOfWork, optional
        An open unit of work of ``store`` to do the merge in, next to other
        work of the caller: nothing is committed then (the caller commits,
        or leaves the block to roll everything back; after an error, leave
        it: the unit of work may hold part of the merge).  By default the
        merge runs in a unit of work of its own and is committed.

    Returns
    -------
    CustomersMerged
        The stored event (``undo_merge`` takes it, or its ``id``).

    Raises
    ------
    ValidationError
        A plan made from a frame, a naive ``at``, or two customers of the
        cluster marked as not duplicates (:func:`mark_not_duplicate`).
    ConcurrencyConflict
        A customer changed or removed since it was planned: re-plan.
    NotFound
        A customer of the plan does not exist.

    Whatever is raised, nothing is changed (with ``uow``: nothing is
    committed).

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Customer, Money, Order
    >>> from crmcore.identity import apply_merge, merge_plan
    >>> from crmcore.storage import InMemoryStore
    >>> store = InMemoryStore()
    >>> t = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    >>> _ = store.customers.add(Customer(id="c1", name="Ann Lee", created_at=t))
    >>> _ = store.customers.add(
    ...     Customer(id="c2", name="Ann Lee", email="ann@example.org", created_at=t)
    ... )
    >>> _ = store.orders.add(
    ...     Order(id="o1", customer_id="c2", placed_at=t, amount=Money(amount="5", currency="EUR"))
    ... )
    >>> plan = merge_plan([store.customers.get("c1"), store.customers.get("c2")])
    >>> event = apply_merge(store, plan, at=t, actor="ops")
    >>> store.customers.get("c1").email.value, store.orders.get("o1").customer_id
    ('ann@example.org', 'c1')
    >>> store.customers.find("c2") is None
    True
    """
    store = _check_store(store)
    plan = _check_plan(plan)
    _time.require_aware(at, field="at")
    ids = (plan.survivor_id, *plan.merged_ids)
    members = set(ids)
    for a, b in cannot_link_pairs(not_duplicates(store)):
        if a in members and b in members:
            raise ValidationError(
                f"customers {a!r} and {b!r} were marked as not duplicates; the merge would "
                "join them (split the cluster, or withdraw the decision with "
                "withdraw_not_duplicate)",
                field="plan",
                row=(a, b),
            )
    if uow is None:
        with store.unit_of_work() as own:
            event = _merge(own, plan, ids, at=at, actor=actor, reason=reason)
            own.commit()
        return event
    if not isinstance(uow, UnitOfWork):
        raise ValidationError(
            f"uow must be a unit of work of the store; got {type(uow).__name__}", field="uow"
        )
    return _merge(uow, plan, ids, at=at, actor=actor, reason=reason)


def _merge(
    uow: UnitOfWork,
    plan: MergePlan,
    ids: tuple[Hashable, ...],
    *,
    at: _dt.datetime,
    actor: str | None,
    reason: str | None,
) -> CustomersMerged:
    """Do the merge's work in ``uow`` and record its event (not committed)."""
    assert plan.survivor is not None  # checked by _check_plan
    before = _stored(uow, ids, plan.versions)
    survivor = before[0]
    moves: list[RecordMove] = []
    for merged in plan.merged_ids:
        for name in REPOINTED:
            repo = uow.repository(name)
            for record in repo.query(where={"customer_id": merged}, order_by="id"):
                repo.update(attrs.evolve(record, customer_id=survivor.id))
                moves.append(RecordMove(aggregate=name, id=record.id, from_id=merged))
    after = uow.customers.update(attrs.evolve(plan.survivor, version=survivor.version))
    for record in before[1:]:
        uow.customers.remove(record.id, expected_version=record.version)
    event = CustomersMerged(
        survivor_id=survivor.id,
        merged_ids=tuple(r.id for r in before[1:]),
        before=tuple(before),
        after=after,
        moves=tuple(moves),
        at=at,
        actor=actor,
        reason=reason,
    )
    uow.record(event)
    return event


def _merge_event(store: Store, merge: Any) -> CustomersMerged:
    if isinstance(merge, StoredEvent):
        merge = merge.event
    if not isinstance(merge, CustomersMerged):
        stored = store.events.find(merge)
        if stored is None:
            raise NotFound("events", merge)
        merge = stored.event
    if not isinstance(merge, CustomersMerged):
        raise ValidationError(
            f"event {getattr(merge, 'id', merge)!r} is a {merge.type}, not a "
            f"{CustomersMerged.TYPE}; give the merge's event or its id",
            field="merge",
        )
    return merge


def undo_merge(
    store: Store,
    merge: Any,
    *,
    at: _dt.datetime,
    actor: str | None = None,
    reason: str | None = None,
) -> MergeUndone:
    """Undo a merge: restore the merged customers, the survivor and every re-pointed reference.

    In one unit of work: the survivor gets back the fields it had before the
    merge, the merged customers are stored again as they were (same ids and
    versions), and each record the merge re-pointed that still points to the
    survivor is pointed back (records deleted since are skipped; records
    created for the survivor after the merge stay with it).  A
    :class:`~crmcore.domain.MergeUndone` event is stored.

    Parameters
    ----------
    store : Store
        The store the merge was applied to.
    merge : CustomersMerged, StoredEvent or event id
        The merge (as :func:`apply_merge` returned it, or read back).
    at : datetime.datetime
        When (timezone-aware, not before the merge).
    actor, reason : str, optional
        Who and why.

    Returns
    -------
    MergeUndone

    Raises
    ------
    NotFound
        No event with that id.
    ValidationError
        Not a merge, a merge already undone, ``at`` before the merge, or a
        merged customer's id taken again since.
    ConcurrencyConflict
        The survivor's fields changed (or it was merged away) since the
        merge: undo later merges first, or edit the records by hand.

    Whatever is raised, nothing is changed.
    """
    store = _check_store(store)
    event = _merge_event(store, merge)
    _time.require_aware(at, field="at")
    if _time.instant_us(at, name="at") < _time.instant_us(event.at):
        raise ValidationError(
            f"at={at.isoformat()} is before the merge ({event.at.isoformat()}); an undo "
            "follows its merge",
            field="at",
            value=at,
        )
    for stored in store.events.query(entity=event.survivor_id, type=MergeUndone):
        if isinstance(stored.event, MergeUndone) and stored.event.merge_id == encode_id(event.id):
            raise ValidationError(
                f"merge {event.id!r} was undone already (event {stored.id!r})",
                field="merge",
                value=event.id,
            )
    with store.unit_of_work() as uow:
        current = uow.customers.find(event.survivor_id)
        # changed since the merge? (compared by content: an undone later merge bumps
        # the version but leaves the record as this merge stored it)
        if current is None or attrs.evolve(current, version=0) != attrs.evolve(
            event.after, version=0
        ):
            raise ConcurrencyConflict(
                "customers",
                event.survivor_id,
                expected_version=event.after.version,
                actual_version=None if current is None else current.version,
            )
        uow.customers.update(attrs.evolve(event.before[0], version=current.version))
        for record in event.before[1:]:
            uow.customers.add(record)
        for move in event.moves:
            repo = uow.repository(move.aggregate)
            found = repo.find(move.id)
            if found is not None and found.customer_id == event.survivor_id:
                repo.update(attrs.evolve(found, customer_id=move.from_id))
        undone = MergeUndone(
            merge_id=encode_id(event.id),
            survivor_id=event.survivor_id,
            merged_ids=event.merged_ids,
            at=at,
            actor=actor,
            reason=reason,
        )
        uow.record(undone)
        uow.commit()
    return undone
