"""Ports of the event history: the event store, the outbox, the loyalty ledger.

Both stores implement them (``store.events``, ``store.outbox``,
``store.loyalty_ledger``); the contract tests check that they behave alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from crmcore.domain import DomainEvent
from crmcore.storage._eventcodec import StoredEvent

if TYPE_CHECKING:
    from crmcore.loyalty import LedgerEntry, PointsLedger, Program

__all__ = ["EventStore", "LedgerRepository", "Outbox"]

#: What ``type=`` takes: a type name, an event class, or a list of them.
Types = Any
#: What ``entity=`` takes: one id (str or UUID) or a collection of ids.
Entities = Any


class EventStore(Protocol):
    """The append-only history of domain events, in one total order per store.

    Every event gets a ``position`` (1, 2, 3...) when it is committed;
    positions grow in commit order, also under concurrent writers, so a
    reader that has seen position ``p`` never later finds a new event below
    it (see the outbox notes in :mod:`crmcore.storage`).

    Queries take the same filters: ``entity`` (an id or ids: the entity an
    event is about, or one of its related ids), ``type`` (type names or
    event classes), ``entity_type``, ``since`` / ``until`` (``since < at <=
    until``; a date-only bound is the end of that day, in ``tz``, UTC
    unless given), ``after`` (positions above), and ``limit``.  Results come
    in position order.
    """

    def append(self, *events: DomainEvent) -> tuple[int, ...]:
        """Append events in one transaction; return their positions.

        Inside a unit of work use ``uow.record(*events)`` instead: the events
        are then appended in the unit of work's transaction when it commits.
        Raises ``ValidationError`` for an event that cannot be stored or an
        id already stored (nothing is appended then).
        """
        ...

    def append_many(self, events: Iterable[DomainEvent], *, batch_size: int = 10_000) -> int:
        """Append many events atomically (all or none), in batches; return how many."""
        ...

    def append_frame(self, frame: pd.DataFrame, *, type: Any, batch_size: int = 10_000) -> int:
        """Append a table of events of one kind atomically (all or none); return how many.

        The column-wise twin of :meth:`append_many`: no event object is built
        per row, and each value is converted, validated and encoded once per
        distinct value, so a table of a few stages, channels or campaigns
        costs little more than the database's own writes.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per event and one column per field of the kind, named as
            the kind's constructor names them (``entity_id``, ``from_stage``,
            ``to_stage``, ``at``, ``actor``, ``reason``, ``workflow`` for a
            :class:`~crmcore.domain.StageChanged`); fields with a default may
            be left out, and an ``id`` column is optional (ids are generated
            where it is absent or missing).  ``at`` is best an aware
            ``datetime64`` column (UTC is encoded with NumPy; other zones
            keep their zone, as on the events).
        type : type or str
            The registered event kind, as a class or its type name
            (``StageChanged`` or ``"pipeline.stage_changed"``).  Kinds whose
            entity id, entity type and related ids are plain fields (or the
            kind's class constants) are supported, and stage changes and
            engagement events; a kind that computes them otherwise (a
            merge's related ids) is refused: use :meth:`append_many`.
        batch_size : int, default 10000
            Rows encoded and inserted per batch (one transaction for all).

        Returns
        -------
        int
            How many events were appended; positions follow the frame's row
            order.

        Raises
        ------
        ValidationError
            An unknown column, a missing required one, or a value the kind
            or the store refuses: the error :meth:`append_many` raises for
            the same event, with ``row`` set to the frame's index label.  An
            id repeated in the frame or stored already names its row too.
            Nothing is appended then.

        Notes
        -----
        The stored rows are exactly those :meth:`append_many` stores for the
        same events (ids, instants and zones, payload JSON text, related ids).
        """
        ...

    def get(self, id: Any) -> StoredEvent:
        """Return the event with this id; ``NotFound`` if there is none."""
        ...

    def find(self, id: Any) -> StoredEvent | None:
        """Return the event with this id, or ``None``."""
        ...

    def query(
        self,
        *,
        entity: Entities = None,
        type: Types = None,
        entity_type: Types = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        limit: int | None = None,
        tz: Any = None,
    ) -> list[StoredEvent]:
        """Return the matching events in position order."""
        ...

    def count(
        self,
        *,
        entity: Entities = None,
        type: Types = None,
        entity_type: Types = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        tz: Any = None,
    ) -> int:
        """Return how many events match."""
        ...

    def stream(
        self,
        *,
        entity: Entities = None,
        type: Types = None,
        entity_type: Types = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        tz: Any = None,
        batch_size: int = 10_000,
    ) -> Iterator[list[StoredEvent]]:
        """Yield the matching events in batches (keyset pages by position).

        Each batch is read in its own short transaction, so an export larger
        than memory never holds a long-running snapshot or every event.
        """
        ...

    def to_frame(
        self,
        *,
        entity: Entities = None,
        type: Types = None,
        entity_type: Types = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        limit: int | None = None,
        tz: Any = None,
        payload_keys: Sequence[str] | None = None,
        batch_size: int = 50_000,
    ) -> pd.DataFrame:
        """Export matching events column-wise (no event objects built).

        Columns ``position, id, type, entity_type, entity_id, at, actor,
        payload`` (the JSON text), plus one column per payload key asked for.
        """
        ...

    def stream_frames(
        self,
        *,
        entity: Entities = None,
        type: Types = None,
        entity_type: Types = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        tz: Any = None,
        payload_keys: Sequence[str] | None = None,
        batch_size: int = 100_000,
    ) -> Iterator[pd.DataFrame]:
        """Yield :meth:`to_frame` in batches of at most ``batch_size`` rows."""
        ...

    def latest(
        self,
        *,
        type: Types,
        as_of: Any,
        entity: Entities = None,
        entity_type: Types = None,
        tz: Any = None,
        payload_keys: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Each entity's last event (by ``at``, then position) at or before ``as_of``.

        One row per ``entity_id`` (the frame's index), with ``position``,
        ``at``, ``actor`` and the payload keys asked for.
        """
        ...

    def engagement(
        self,
        *,
        campaign: Entities = None,
        customer: Entities = None,
        since: Any = None,
        until: Any = None,
        tz: Any = None,
        properties: Sequence[str] | str = (),
        event_ids: bool = True,
        batch_size: int = 100_000,
    ) -> pd.DataFrame:
        """Return stored engagement events as the engagement frame of :mod:`crmcore.marketing`.

        The frame :func:`crmcore.marketing.engagement_frame` builds from
        :class:`~crmcore.domain.EngagementEvent` values, ready for
        ``campaign_kpis``, ``attribute``, ``send_time_profile`` and
        ``engagement_features``: ``event_id`` (unless ``event_ids=False``),
        ``customer_id``, ``contact_id``, ``campaign_id``, ``message_id``,
        ``variant`` (identifiers as stored text, as in every store frame, so
        they join ``store.campaign_members.to_frame()``: a UUID reads
        ``"urn:uuid:..."``; ``None`` when missing),
        ``channel`` and ``type`` (the events' ``kind``; categoricals),
        ``date`` (``datetime64[us]`` in ``tz``, UTC unless given) and one
        column per property asked for (its JSON value: str, number, bool,
        list, dict; ``None`` when absent); in position order.

        ``campaign`` and ``customer`` (an id or ids; ``customer`` matches
        customers and contacts) select through the store's index of related
        ids; ``since < at <= until`` as everywhere.  The payload's fields
        are read by the database and the identifiers kept as integer codes
        while reading, so millions of events take little more memory than
        the frame itself.
        """
        ...

    def stage_history(
        self,
        *,
        workflow: Types = None,
        entity: Entities = None,
        since: Any = None,
        until: Any = None,
        tz: Any = None,
    ) -> pd.DataFrame:
        """Stage changes as the pipeline analytics take them.

        Columns ``entity_id, from_stage, to_stage, at, actor, reason,
        workflow`` (those of :func:`crmcore.pipeline.events_frame`), in
        position order; ``workflow`` filters by workflow name(s).
        """
        ...

    def stages_as_of(
        self,
        as_of: Any,
        *,
        workflow: Types = None,
        entity: Entities = None,
        tz: Any = None,
    ) -> pd.DataFrame:
        """Each entity's stage at ``as_of``, from its stage changes.

        Indexed by ``entity_id``: ``stage`` (the ``to_stage`` of the last move
        at or before ``as_of``), ``entered_at`` and ``workflow``.  Entities
        that had not moved yet are absent (they are in their initial stage).
        """
        ...

    def last_position(self) -> int:
        """Return the position of the last committed event (0 when there is none)."""
        ...


class Outbox(Protocol):
    """Reliable delivery of the event history to other systems.

    A consumer is a name (``"erp-sync"``) with a cursor: the last position
    it has processed.  It polls the events after its cursor, processes
    them, then acknowledges the last one.  Delivery is at least once: a
    consumer that fails before acknowledging sees the batch again, so it
    must be idempotent, keyed on each event's ``id`` (unique in the store).
    No event is ever skipped, also when writers commit out of the order in
    which they started (see the notes in :mod:`crmcore.storage`).
    """

    def poll(self, consumer: str, *, limit: int = 100) -> list[StoredEvent]:
        """Return up to ``limit`` events after the consumer's cursor."""
        ...

    def ack(self, consumer: str, position: int) -> None:
        """Record that the consumer processed every event up to ``position``.

        The cursor never moves back (a late, smaller acknowledgement is
        ignored); use :meth:`seek` to replay.
        """
        ...

    def cursor(self, consumer: str) -> int:
        """Return the consumer's cursor (0 for a consumer never seen)."""
        ...

    def seek(self, consumer: str, position: int) -> None:
        """Set the cursor, backwards (replay) or forwards (skip)."""
        ...

    def consumers(self) -> dict[str, int]:
        """Return every consumer's cursor."""
        ...

    def deliver(
        self,
        consumer: str,
        handler: Callable[[list[StoredEvent]], object],
        *,
        batch_size: int = 100,
        max_batches: int | None = None,
    ) -> int:
        """Poll, hand each batch to ``handler``, acknowledge; until caught up.

        Returns how many events were handed over.  An exception from the
        handler propagates and leaves the cursor after the last batch that
        succeeded (that batch is delivered again next time).
        """
        ...


class LedgerRepository(Protocol):
    """Loyalty ledgers: the entries of :class:`crmcore.loyalty.PointsLedger`, stored.

    Each entry is stored with its ledger (``account_id``, the loyalty
    account) and keyed on ``(account_id, event_id)``, the ledger's
    idempotency key, which the database enforces (a unique constraint);
    ``(account_id, sequence)`` is unique too.  Appending an entry that is
    stored already, identically, does nothing (at-least-once producers are
    safe); a different entry under a stored key is refused.  Every new
    entry is also recorded in the event store as a
    :class:`~crmcore.domain.LedgerEntryPosted`, in the same transaction.
    """

    def append(
        self, account_id: Any, entries: Iterable[LedgerEntry], *, actor: str | None = None
    ) -> int:
        """Store a ledger's entries (all or none); return how many were new."""
        ...

    def entries(self, account_id: Any) -> tuple[LedgerEntry, ...]:
        """Return a ledger's entries in sequence order."""
        ...

    def count(self, account_id: Any = None) -> int:
        """Return how many entries are stored (for one ledger, or in all)."""
        ...

    def to_frame(self, *, account_id: Any = None) -> pd.DataFrame:
        """Export entries in the format :func:`crmcore.loyalty.ledger_balances` takes.

        Columns ``account_id, sequence, event_id, kind, at, points, order_id,
        spend_minor, expires_at``; ordered by account and sequence.
        """
        ...

    def balances(
        self, *, as_of: Any, program: Program | None = None, account_id: Any = None
    ) -> pd.DataFrame:
        """:func:`crmcore.loyalty.ledger_balances` over the stored entries."""
        ...

    def ledger(self, account_id: Any, program: Program) -> PointsLedger:
        """Rebuild one member's :class:`~crmcore.loyalty.PointsLedger` from its entries."""
        ...
