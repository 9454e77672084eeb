"""The unit of work: one atomic batch of repository calls plus its domain events.

Both stores return a subclass of :class:`UnitOfWork` from
``store.unit_of_work()``.  The base class owns the life cycle (commit is
explicit, leaving the ``with`` block rolls back whatever is not committed)
and the recorded events (validated when recorded); the subclasses own the
transaction, and append the events to the store's event log in it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

from crmcore.errors import ValidationError
from crmcore.storage._eventcodec import EventRecord, encode_event
from crmcore.storage._protocols import RepositoryAccess

__all__ = ["EventHandler", "UnitOfWork"]

#: Called after a successful commit with the events recorded before it.
EventHandler = Callable[[tuple[Any, ...]], None]


class UnitOfWork(RepositoryAccess):
    """An atomic batch of repository calls; commit is explicit.

    Obtain one from ``store.unit_of_work()`` and use it as a context
    manager.  It exposes the same repositories as the store
    (``uow.customers``, ``uow.orders``, ...); their calls become visible to
    others only when :meth:`commit` is called.  Leaving the ``with`` block,
    normally or by an exception, rolls back everything not yet committed.
    After a commit the unit of work can be used again for a further batch.

    Domain events
        Domain functions return events instead of publishing them (for
        example ``advance(...)`` returns ``(new_entity, events)``).  Record
        them with :meth:`record`: they are appended to the store's event
        log (``store.events``) in the same transaction as the work they
        describe, when it commits, so both are stored or neither.
        :attr:`pending_events` holds what is recorded but not committed,
        :attr:`committed_events` everything committed so far, in order.
        Handlers given as ``store.unit_of_work(on_commit=handler)`` are
        called after each successful commit with that commit's events (a
        handler that raises does not undo the commit; for reliable delivery
        to other systems use ``store.outbox``).

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Consent, Customer, change_consent
    >>> from crmcore.storage import InMemoryStore
    >>> store = InMemoryStore()
    >>> at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    >>> ada = Customer(id="c1", name="Ada", created_at=at)
    >>> ada, events = change_consent(ada, Consent(channel="email", granted=True, at=at))
    >>> with store.unit_of_work() as uow:
    ...     uow.customers.add(ada)
    ...     uow.record(*events)
    ...     uow.commit()
    Customer(...)
    >>> [e.type for e in uow.committed_events]
    ['consent.changed']
    >>> store.events.query(entity="c1")[0].position
    1
    >>> with store.unit_of_work() as uow:
    ...     uow.customers.remove("c1")  # not committed: rolled back on exit
    >>> store.customers.get("c1").name
    'Ada'
    """

    def __init__(self, *, on_commit: EventHandler | Sequence[EventHandler] = ()) -> None:
        self._handlers: tuple[EventHandler, ...] = (
            (on_commit,) if callable(on_commit) else tuple(on_commit)
        )
        self._pending: list[Any] = []
        self._records: list[EventRecord] = []
        self._committed: list[Any] = []
        self._active = False

    # -------------------------------------------------------------- life cycle
    def __enter__(self) -> Self:
        if self._active:
            raise RuntimeError("this unit of work is already in use")
        self._active = True
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._active:
                self._rollback()
                self._pending.clear()
                self._records.clear()
        finally:
            self._active = False
            self._close()

    def commit(self) -> None:
        """Make every change since the last commit durable and visible.

        Raises
        ------
        ConcurrencyConflict
            (in-memory store) a record changed by someone else since this
            unit of work read it; nothing is committed.
        RuntimeError
            If called outside the ``with`` block.
        """
        self._require_active()
        self._commit(tuple(self._records))
        events = tuple(self._pending)
        self._committed.extend(events)
        self._pending.clear()
        self._records.clear()
        self._begin()
        for handler in self._handlers:
            handler(events)

    def rollback(self) -> None:
        """Discard every change (and recorded event) since the last commit."""
        if not self._active:
            return
        self._rollback()
        self._pending.clear()
        self._records.clear()
        self._begin()

    # -------------------------------------------------------------- events
    def record(self, *events: Any) -> None:
        """Record domain events; they are stored only if the work is committed.

        Each event is validated now (so an error points at the call that
        recorded it) and appended to the store's event log by :meth:`commit`,
        in the same transaction as the rest of the work.

        Parameters
        ----------
        *events : DomainEvent
            Events of registered kinds (or :class:`~crmcore.domain.GenericEvent`).

        Raises
        ------
        ValidationError
            Something that is not a storable domain event (nothing is recorded).
        """
        self._require_active()
        records = [encode_event(e) for e in events]
        ids = {r.id for r in self._records}
        for record in records:
            if record.id in ids:
                raise ValidationError(
                    f"the event id {record.id!r} is recorded twice in this unit of work",
                    field="id",
                    value=record.id,
                )
            ids.add(record.id)
        self._pending.extend(events)
        self._records.extend(records)

    @property
    def pending_events(self) -> tuple[Any, ...]:
        """Events recorded since the last commit."""
        return tuple(self._pending)

    @property
    def committed_events(self) -> tuple[Any, ...]:
        """Every event committed by this unit of work, in order."""
        return tuple(self._committed)

    # -------------------------------------------------------------- serialising
    def _hold(self, name: str) -> None:
        """Serialise with every other unit of work holding ``name``, until this batch ends.

        For reads that decide a write but are not themselves repository rows
        (the sends a journey's frequency cap counts across journeys): the
        second unit of work to hold ``name`` waits until the first commits or
        rolls back, then reads what it committed.  Held until the current
        batch ends (commit, rollback or leaving the ``with`` block); holding
        a name already held is a no-op.  Stores override it.
        """
        self._require_active()
        raise NotImplementedError(f"{type(self).__name__} cannot serialise on a name")

    # -------------------------------------------------------------- hooks
    def _require_active(self) -> None:
        if not self._active:
            raise RuntimeError("use the unit of work inside its `with` block")

    def _begin(self) -> None:
        """Reset for a fresh batch (on enter and after commit/rollback); may start lazily."""

    def _commit(self, records: tuple[EventRecord, ...]) -> None:
        """Commit the work and append ``records`` to the event log, atomically."""
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Release resources when the ``with`` block ends."""
