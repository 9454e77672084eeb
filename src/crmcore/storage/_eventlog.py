"""The event store and outbox API, shared by both stores over a few backend primitives.

:class:`EventLogBase` implements :class:`~crmcore.storage.EventStore` and
:class:`OutboxBase` implements :class:`~crmcore.storage.Outbox` in terms of
what each store provides: select / count / frame rows under an
:class:`~crmcore.storage._eventcodec.EventCriteria`, append encoded records,
read and move consumer cursors.  The semantics therefore cannot drift apart
between the in-memory and the SQL store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._text import MAX_KEY_LENGTH, check_storable
from crmcore._time import timestamps
from crmcore.domain import DomainEvent, StageChanged
from crmcore.errors import NotFound, ValidationError
from crmcore.storage._bulk import at_row, chunks
from crmcore.storage._engagement import ENGAGEMENT_TYPE, EngagementFrameBuilder
from crmcore.storage._eventbulk import (
    EventFrameEncoder,
    RecordColumns,
    check_event_frame,
    event_kind,
    unique_ids,
)
from crmcore.storage._eventcodec import (
    EventCriteria,
    EventRecord,
    StoredEvent,
    criteria,
    encode_event,
    encode_ids,
    payload_keys,
)
from crmcore.storage._eventframe import EventFrameBuilder, decoded, key_column
from crmcore.storage._filters import check_batch

__all__ = ["EventLogBase", "OutboxBase", "check_consumer"]

_STAGE_KEYS = ("from_stage", "to_stage", "reason", "workflow")
_STRING = pd.StringDtype(na_value=np.nan)
_MAX_CONSUMER = MAX_KEY_LENGTH


class EventLogBase:
    """Public event-store API over the backend primitives (see the module notes)."""

    # ------------------------------------------------------------ primitives
    def _append_records(self, records: Sequence[EventRecord]) -> tuple[int, ...]:
        raise NotImplementedError

    def _append_batches(self, batches: Iterable[Sequence[EventRecord]]) -> int:
        """Append batches in one transaction (all or none); return how many records."""
        raise NotImplementedError

    def _append_column_batches(self, batches: Iterable[RecordColumns], size: int = 0) -> int:
        """Append batches of record columns in one transaction (all or none).

        ``size`` is how many rows the batches hold in all (a hint for the store).
        """
        return self._append_batches(
            list(map(EventRecord._make, zip(*columns, strict=True))) for columns in batches
        )

    def _select(self, crit: EventCriteria) -> list[StoredEvent]:
        raise NotImplementedError

    def _count(self, crit: EventCriteria) -> int:
        raise NotImplementedError

    def _find_text(self, id_text: str) -> StoredEvent | None:
        raise NotImplementedError

    def _frame_chunks(
        self, crit: EventCriteria, keys: tuple[str, ...], batch_size: int
    ) -> Iterator[Sequence[Sequence[Any]]]:
        raise NotImplementedError

    def _latest_rows(self, crit: EventCriteria, keys: tuple[str, ...]) -> list[Sequence[Any]]:
        """``(entity_id, position, at_us, actor, *key fragments)`` of each entity's last event."""
        raise NotImplementedError

    def _engagement_chunks(
        self, crit: EventCriteria, properties: tuple[str, ...], batch_size: int
    ) -> Iterator[Sequence[Sequence[Any]]]:
        """``(id, at_us, *engagement text fields, *property fragments)`` in position order.

        See :mod:`crmcore.storage._engagement` for the layout.
        """
        raise NotImplementedError

    def last_position(self) -> int:
        """Return the position of the last committed event (0 when there is none)."""
        raise NotImplementedError

    # ------------------------------------------------------------ writes
    def append(self, *events: DomainEvent) -> tuple[int, ...]:
        """Append events in one transaction; return their positions (see EventStore)."""
        records = [encode_event(e) for e in events]
        _check_unique(records)
        return self._append_records(records) if records else ()

    def append_many(self, events: Iterable[DomainEvent], *, batch_size: int = 10_000) -> int:
        """Append many events atomically (all or none); return how many (see EventStore)."""
        check_batch(batch_size)
        return self._append_batches(_encoded_batches(events, batch_size))

    def append_frame(self, frame: pd.DataFrame, *, type: Any, batch_size: int = 10_000) -> int:
        """Append a table of events of one kind atomically; return how many (see EventStore)."""
        check_batch(batch_size)
        kind = event_kind(type)
        frame = check_event_frame(frame)
        encoder = EventFrameEncoder(kind)
        encoder.check_columns(frame)

        def batches() -> Iterator[RecordColumns]:
            for part in chunks(frame, batch_size):
                columns = encoder.encode_columns(part)
                unique_ids(columns.id, part.index)
                yield columns

        try:
            return self._append_column_batches(batches(), len(frame))
        except ValidationError as exc:
            if exc.row is not None or exc.field != "id" or "id" not in frame.columns:
                raise
            texts = encoder.id_texts(frame)  # a repeated or stored id: name its row
            rows = [i for i, text in enumerate(texts) if text == exc.value]
            if not rows:
                raise
            raise at_row(exc, frame.index[rows[1] if len(rows) > 1 else rows[0]]) from None

    # ------------------------------------------------------------ reads
    def get(self, id: Any) -> StoredEvent:
        """Return the event with this id; raise ``NotFound`` if there is none."""
        found = self.find(id)
        if found is None:
            raise NotFound("events", id)
        return found

    def find(self, id: Any) -> StoredEvent | None:
        """Return the event with this id, or ``None``."""
        (text,) = criteria(entity=id).entities or ()
        return self._find_text(text)

    def query(
        self,
        *,
        entity: Any = None,
        type: Any = None,
        entity_type: Any = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        limit: int | None = None,
        tz: Any = None,
    ) -> list[StoredEvent]:
        """Return the matching events in position order (see EventStore)."""
        crit = criteria(
            entity=entity,
            type=type,
            entity_type=entity_type,
            since=since,
            until=until,
            after=after,
            limit=limit,
            tz=tz,
        )
        if crit.limit == 0:
            return []
        return self._select(crit)

    def count(
        self,
        *,
        entity: Any = None,
        type: Any = None,
        entity_type: Any = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        tz: Any = None,
    ) -> int:
        """Return how many events match (see EventStore)."""
        return self._count(
            criteria(
                entity=entity,
                type=type,
                entity_type=entity_type,
                since=since,
                until=until,
                after=after,
                tz=tz,
            )
        )

    def stream(
        self,
        *,
        entity: Any = None,
        type: Any = None,
        entity_type: Any = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        tz: Any = None,
        batch_size: int = 10_000,
    ) -> Iterator[list[StoredEvent]]:
        """Yield the matching events in batches, one short read per batch (see EventStore)."""
        check_batch(batch_size)
        crit = criteria(
            entity=entity,
            type=type,
            entity_type=entity_type,
            since=since,
            until=until,
            after=after,
            limit=batch_size,
            tz=tz,
        )
        while True:
            batch = self._select(crit)
            if batch:
                yield batch
            if len(batch) < batch_size:
                return
            crit = attrs.evolve(crit, after=batch[-1].position)

    def to_frame(
        self,
        *,
        entity: Any = None,
        type: Any = None,
        entity_type: Any = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        limit: int | None = None,
        tz: Any = None,
        payload_keys: Sequence[str] | None = None,
        batch_size: int = 50_000,
    ) -> pd.DataFrame:
        """Export matching events column-wise (see EventStore)."""
        check_batch(batch_size)
        keys = _keys(payload_keys)
        crit = criteria(
            entity=entity,
            type=type,
            entity_type=entity_type,
            since=since,
            until=until,
            after=after,
            limit=limit,
            tz=tz,
        )
        builder = EventFrameBuilder(keys)
        if crit.limit != 0:
            builder.add_chunks(self._frame_chunks(crit, keys, batch_size))
        return builder.build()

    def stream_frames(
        self,
        *,
        entity: Any = None,
        type: Any = None,
        entity_type: Any = None,
        since: Any = None,
        until: Any = None,
        after: int | None = None,
        tz: Any = None,
        payload_keys: Sequence[str] | None = None,
        batch_size: int = 100_000,
    ) -> Iterator[pd.DataFrame]:
        """Yield :meth:`to_frame` in batches of at most ``batch_size`` rows (see EventStore)."""
        check_batch(batch_size)
        keys = _keys(payload_keys)
        crit = criteria(
            entity=entity,
            type=type,
            entity_type=entity_type,
            since=since,
            until=until,
            after=after,
            limit=batch_size,
            tz=tz,
        )
        while True:
            builder = EventFrameBuilder(keys)
            builder.add_chunks(self._frame_chunks(crit, keys, batch_size))
            frame = builder.build()
            if len(frame):
                yield frame
            if len(frame) < batch_size:
                return
            crit = attrs.evolve(crit, after=int(frame["position"].iloc[-1]))

    def latest(
        self,
        *,
        type: Any,
        as_of: Any,
        entity: Any = None,
        entity_type: Any = None,
        tz: Any = None,
        payload_keys: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Each entity's last event at or before ``as_of`` (see EventStore)."""
        keys = _keys(payload_keys)
        crit = criteria(entity=entity, type=type, entity_type=entity_type, until=as_of, tz=tz)
        if crit.until_us is None:
            raise ValidationError(
                "as_of is required (crmcore never reads the clock)", field="as_of", value=as_of
            )
        rows = self._latest_rows(crit, keys)
        # one row per entity: the frame is built from the columns directly
        cols: list[Sequence[Any]] = (
            list(zip(*rows, strict=True)) if rows else [() for _ in range(4 + len(keys))]
        )
        data: dict[str, Any] = {
            "position": np.array(cols[1], dtype=np.int64),
            "at": timestamps(np.array(cols[2], dtype=np.int64), "UTC", unit="us"),
            "actor": pd.array(np.array(cols[3], dtype=object), dtype=_STRING),
        }
        for j, key in enumerate(keys):
            data[key] = key_column(decoded(cols[4 + j]))
        entities = pd.array(np.array(cols[0], dtype=object), dtype=_STRING)
        return pd.DataFrame(data, index=pd.Index(entities, name="entity_id")).sort_index()

    # ------------------------------------------------------------ marketing view
    def engagement(
        self,
        *,
        campaign: Any = None,
        customer: Any = None,
        since: Any = None,
        until: Any = None,
        tz: Any = None,
        properties: Sequence[str] | str = (),
        event_ids: bool = True,
        batch_size: int = 100_000,
    ) -> pd.DataFrame:
        """Return stored engagement as the engagement frame of marketing (see EventStore)."""
        check_batch(batch_size)
        if not isinstance(event_ids, bool):
            raise ValidationError(
                f"event_ids must be True or False; got {event_ids!r}",
                field="event_ids",
                value=event_ids,
            )
        keys = payload_keys(properties)
        campaigns = None if campaign is None else set(encode_ids(campaign, "campaign"))
        people = None if customer is None else set(encode_ids(customer, "customer"))
        # the ids' index selects the events (people are the smaller set, usually); the
        # builder keeps those whose campaign or person is really one asked for
        index = people if people is not None else campaigns
        crit = criteria(
            entity=None if index is None else sorted(index),
            type=ENGAGEMENT_TYPE,
            since=since,
            until=until,
            tz=tz,
        )
        builder = EngagementFrameBuilder(
            keys,
            campaigns=campaigns,
            people=people,
            tz=tz,
            event_ids=event_ids,
        )
        builder.add_chunks(self._engagement_chunks(crit, keys, batch_size))
        return builder.build()

    # ------------------------------------------------------------ pipeline views
    def stage_history(
        self,
        *,
        workflow: Any = None,
        entity: Any = None,
        since: Any = None,
        until: Any = None,
        tz: Any = None,
    ) -> pd.DataFrame:
        """Stage changes in the shape of ``crmcore.pipeline.events_frame`` (see EventStore)."""
        frame = self.to_frame(
            type=StageChanged,
            entity_type=workflow,
            entity=entity,
            since=since,
            until=until,
            tz=tz,
            payload_keys=_STAGE_KEYS,
        )
        out = frame[["entity_id", "from_stage", "to_stage", "at", "actor", "reason", "workflow"]]
        for name in ("from_stage", "to_stage", "reason", "workflow"):
            out = out.assign(**{name: pd.array(out[name].to_numpy(dtype=object), dtype=_STRING)})
        return out.reset_index(drop=True)

    def stages_as_of(
        self,
        as_of: Any,
        *,
        workflow: Any = None,
        entity: Any = None,
        tz: Any = None,
    ) -> pd.DataFrame:
        """Each entity's stage at ``as_of``, from its stage changes (see EventStore)."""
        frame = self.latest(
            type=StageChanged,
            as_of=as_of,
            entity=entity,
            entity_type=workflow,
            tz=tz,
            payload_keys=("to_stage", "workflow"),
        )
        return pd.DataFrame(
            {
                "stage": _as_string(frame["to_stage"]),
                "entered_at": frame["at"],
                "workflow": _as_string(frame["workflow"]),
            },
            index=frame.index,
        )


def _as_string(column: pd.Series) -> Any:
    """Return the column in the frames' text dtype (no copy when it already is)."""
    if column.dtype == _STRING:
        return column.array
    return pd.array(column.to_numpy(dtype=object), dtype=_STRING)


def _keys(value: Sequence[str] | None) -> tuple[str, ...]:
    return payload_keys(value)


def _encoded_batches(events: Iterable[DomainEvent], size: int) -> Iterator[list[EventRecord]]:
    """Encode events lazily, ``size`` at a time (an export need not fit in memory)."""
    batch: list[EventRecord] = []
    for event in events:
        batch.append(encode_event(event))
        if len(batch) >= size:
            _check_unique(batch)
            yield batch
            batch = []
    if batch:
        _check_unique(batch)
        yield batch


def _check_unique(records: Sequence[EventRecord]) -> None:
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            raise ValidationError(
                f"events: the id {record.id!r} appears twice in one append",
                field="id",
                value=record.id,
            )
        seen.add(record.id)


def check_consumer(name: object) -> str:
    """Validate a consumer name (a non-blank str of at most 255 characters)."""
    if not isinstance(name, str) or not name.strip() or len(name) > _MAX_CONSUMER:
        raise ValidationError(
            f"a consumer is named by a non-blank str of at most {_MAX_CONSUMER} characters; "
            f"got {name!r}",
            field="consumer",
            value=name,
        )
    return check_storable(name, "consumer")


def _check_position(position: object, *, last: int) -> int:
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise ValidationError(
            f"position must be a non-negative integer; got {position!r}",
            field="position",
            value=position,
        )
    if position > last:
        raise ValidationError(
            f"position {position} is beyond the last stored event ({last})",
            field="position",
            value=position,
        )
    return position


class OutboxBase:
    """Public outbox API over the backend primitives (see the module notes)."""

    def __init__(self, events: EventLogBase) -> None:
        self._events = events

    # ------------------------------------------------------------ primitives
    def _read_cursor(self, consumer: str) -> int:
        raise NotImplementedError

    def _write_cursor(self, consumer: str, position: int, *, forward_only: bool) -> None:
        raise NotImplementedError

    def consumers(self) -> dict[str, int]:
        """Return every consumer's cursor."""
        raise NotImplementedError

    # ------------------------------------------------------------ API
    def cursor(self, consumer: str) -> int:
        """Return the consumer's cursor (0 for a consumer never seen)."""
        return self._read_cursor(check_consumer(consumer))

    def poll(self, consumer: str, *, limit: int = 100) -> list[StoredEvent]:
        """Return up to ``limit`` events after the consumer's cursor."""
        check_batch(limit)
        after = self.cursor(consumer)
        return self._events._select(criteria(after=after, limit=limit))

    def ack(self, consumer: str, position: int) -> None:
        """Move the cursor forward to ``position`` (a smaller one is ignored)."""
        name = check_consumer(consumer)
        _check_position(position, last=self._events.last_position())
        self._write_cursor(name, position, forward_only=True)

    def seek(self, consumer: str, position: int) -> None:
        """Set the cursor, backwards (replay) or forwards (skip)."""
        name = check_consumer(consumer)
        _check_position(position, last=self._events.last_position())
        self._write_cursor(name, position, forward_only=False)

    def deliver(
        self,
        consumer: str,
        handler: Callable[[list[StoredEvent]], object],
        *,
        batch_size: int = 100,
        max_batches: int | None = None,
    ) -> int:
        """Poll, hand each batch to ``handler``, acknowledge, until caught up (see Outbox)."""
        check_batch(batch_size)
        if max_batches is not None:
            check_batch(max_batches)
        delivered = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            batch = self.poll(consumer, limit=batch_size)
            if not batch:
                break
            handler(batch)
            self.ack(consumer, batch[-1].position)
            delivered += len(batch)
            batches += 1
            if len(batch) < batch_size:
                break
        return delivered
