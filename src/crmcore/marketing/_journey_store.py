"""Journeys on a store: enrolments kept, actions and audit events in the event history.

:func:`run_tick` is the scheduler's tick against a store: it reads the
journey's due enrolments from ``store.journey_enrolments``, runs :func:`tick`,
and in one unit of work updates the enrolments that moved (version-checked),
adds the new ones, and records every action as a
:class:`JourneyActionEmitted` event and every audit event as a
:class:`JourneyStepRecorded` event.  The events reach ``store.events`` and
so ``store.outbox`` in the same transaction as the state: a tick is stored
whole or not at all.  The event ids are the engine's derived ids, so a tick
that failed and is run again emits each action once, and a tick run twice
emits nothing the second time (the enrolments have moved on).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._time import instant_key
from crmcore.domain import (
    DomainEvent,
    Enrolment,
    EntityId,
    FrozenMapping,
    decode_id,
    encode_datetime,
    encode_id,
    register_event,
)
from crmcore.errors import ValidationError
from crmcore.marketing._journey import Journey
from crmcore.marketing._journey_engine import FrequencyCap
from crmcore.marketing._journey_frames import TickResult, audit_values, enrolment_values
from crmcore.marketing._journey_tick import tick
from crmcore.marketing._journey_values import AuditEvent, JourneyAction, audit_from_dict

if TYPE_CHECKING:
    from crmcore.storage import Store

__all__ = ["JourneyActionEmitted", "JourneyStepRecorded", "run_tick", "stored_sends"]


def _text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"{attribute.name} must be a non-empty str; got {value!r}",
            field=attribute.name,
            value=value,
        )


def _frozen(value: Any) -> FrozenMapping:
    return value if isinstance(value, FrozenMapping) else FrozenMapping(value or {})


@register_event("marketing.journey_action")
@attrs.frozen(slots=True, kw_only=True)
class JourneyActionEmitted(DomainEvent):
    """A journey handed an action to the application: the stored form of a :class:`JourneyAction`.

    Type ``"marketing.journey_action"``, about the enrolment (``entity_type``
    ``"journey_enrolment"``) and found by the customer's id too.  The event
    id is the action id, so the store refuses a second copy and an outbox
    consumer carries the action out once.  ``at`` is when the action is due
    (a send's time after quiet hours); the actor is ``"journey:<id>"``.

    Parameters
    ----------
    kind, journey_id, enrolment_id, customer_id, step, channel, message_id, params
        As on :class:`JourneyAction`.
    at : datetime
        When the action is due.
    actor : str, optional
    """

    ENTITY_TYPE: ClassVar[str] = "journey_enrolment"
    ENTITY_FIELD: ClassVar[str] = "enrolment_id"
    RELATED_FIELDS: ClassVar[tuple[str, ...]] = ("customer_id",)

    kind: str = attrs.field(validator=_text)
    journey_id: str = attrs.field(validator=_text)
    enrolment_id: str = attrs.field(validator=_text)
    customer_id: EntityId = attrs.field()
    step: str = attrs.field(validator=_text)
    channel: str | None = attrs.field(default=None)
    message_id: str | None = attrs.field(default=None)
    params: FrozenMapping = attrs.field(factory=FrozenMapping, converter=_frozen)
    at: _dt.datetime = attrs.field(eq=instant_key)
    actor: str | None = attrs.field(default=None)

    @classmethod
    def from_action(cls, action: JourneyAction) -> JourneyActionEmitted:
        """Build the event of an action (same id).

        Parameters
        ----------
        action : JourneyAction

        Returns
        -------
        JourneyActionEmitted
        """
        return cls(
            id=action.id,
            kind=action.kind,
            journey_id=action.journey_id,
            enrolment_id=action.enrolment_id,
            customer_id=action.customer_id,
            step=action.step,
            channel=action.channel,
            message_id=action.message_id,
            params=action.params,
            at=action.at,
            actor=f"journey:{action.journey_id}",
        )

    def to_action(self) -> JourneyAction:
        """Return the :class:`JourneyAction` this event carries.

        Returns
        -------
        JourneyAction
        """
        return JourneyAction(
            id=str(self.id),
            kind=self.kind,
            journey_id=self.journey_id,
            enrolment_id=self.enrolment_id,
            customer_id=self.customer_id,
            step=self.step,
            at=self.at,
            channel=self.channel,
            message_id=self.message_id,
            params=self.params,
        )

    def describe(self) -> str:
        """Return e.g. ``"journey seminar: send invite (email) at step invite"``."""
        what = self.kind
        if self.message_id is not None:
            what += f" {self.message_id} ({self.channel})"
        return f"journey {self.journey_id}: {what} at step {self.step}"


_ENVELOPE = frozenset({"type", "journey_id", "enrolment_id", "customer_id", "step", "at"})


@register_event("marketing.journey_step")
@attrs.frozen(slots=True, kw_only=True)
class JourneyStepRecorded(DomainEvent):
    """A journey audit event, stored: the enrolment entered, moved, skipped a send, ended.

    Type ``"marketing.journey_step"``, about the enrolment and found by the
    customer's id too.  ``audit_type`` is the audit event's own type
    (``"marketing.journey_entered"``...), ``details`` its other fields
    (JSON-safe); :meth:`to_audit` gives the audit event back, so
    :func:`replay_enrolment` rebuilds an enrolment from the store:
    ``replay_enrolment(journey, [e.event.to_audit() for e in
    store.events.query(entity=enrolment_id, type=JourneyStepRecorded)])``.
    The event id is the audit event's derived id.

    Parameters
    ----------
    audit_type, journey_id, enrolment_id, customer_id, step
        Which audit event, which enrolment, which step.
    details : mapping
        The audit event's other fields.
    at : datetime
    actor : str, optional
    """

    ENTITY_TYPE: ClassVar[str] = "journey_enrolment"
    ENTITY_FIELD: ClassVar[str] = "enrolment_id"
    RELATED_FIELDS: ClassVar[tuple[str, ...]] = ("customer_id",)

    audit_type: str = attrs.field(validator=_text)
    journey_id: str = attrs.field(validator=_text)
    enrolment_id: str = attrs.field(validator=_text)
    customer_id: EntityId = attrs.field()
    step: str = attrs.field(validator=_text)
    details: FrozenMapping = attrs.field(factory=FrozenMapping, converter=_frozen)
    at: _dt.datetime = attrs.field(eq=instant_key)
    actor: str | None = attrs.field(default=None)

    @classmethod
    def from_audit(cls, audit: AuditEvent) -> JourneyStepRecorded:
        """Build the stored form of an audit event (same id).

        Parameters
        ----------
        audit : AuditEvent

        Returns
        -------
        JourneyStepRecorded
        """
        data = audit.to_dict()
        return cls(
            id=audit.id,
            audit_type=audit.type,
            journey_id=audit.journey_id,
            enrolment_id=audit.enrolment_id,
            customer_id=audit.customer_id,
            step=audit.step,
            details={k: v for k, v in data.items() if k not in _ENVELOPE},
            at=audit.at,
            actor=f"journey:{audit.journey_id}",
        )

    def to_audit(self) -> AuditEvent:
        """Return the audit event this event carries.

        Returns
        -------
        AuditEvent
        """
        return audit_from_dict(
            {
                **self.details.thaw(),
                "type": self.audit_type,
                "journey_id": self.journey_id,
                "enrolment_id": self.enrolment_id,
                "customer_id": encode_id(self.customer_id),
                "step": self.step,
                "at": encode_datetime(self.at),
            }
        )

    def describe(self) -> str:
        """Return e.g. ``"journey seminar: journey_step_completed at invite"``."""
        return f"journey {self.journey_id}: {self.audit_type.rsplit('.', 1)[-1]} at {self.step}"


_STORED = (
    "id",
    "journey_id",
    "customer_id",
    "seq",
    "enrolled_at",
    "step",
    "step_at",
    "due_at",
    "status",
    "control",
    "version",
)


_IN_LIMIT = 20_000  # values of one ``in`` filter a store takes


def _read(repo: Any, where: dict[str, Any]) -> pd.DataFrame:
    frame: pd.DataFrame = repo.to_frame(list(_STORED), where=where, order_by="id")
    return frame


def _due_frame(
    repo: Any, journey: Journey, events: pd.DataFrame, customer_col: str
) -> pd.DataFrame:
    """Read the enrolments a tick can move or needs, customer ids as the entities hold them.

    The active ones (a wait, an event or a goal can move them) and, for the
    re-entry policy, the ended ones of the customers with an entry event;
    every enrolment when the entry is a segment (anyone can enter).
    """
    base: dict[str, Any] = {"journey_id": journey.id}
    entry = journey.entry.event
    if entry is None or "type" not in events or customer_col not in events:
        frame = _read(repo, base)
    else:
        parts = [_read(repo, {**base, "status": "active"})]
        hit = (events["type"] == entry).to_numpy(dtype=bool, na_value=False)
        who = pd.unique(events[customer_col].to_numpy(dtype=object)[hit])
        for start in range(0, len(who), _IN_LIMIT):
            chunk = list(who[start : start + _IN_LIMIT])
            parts.append(_read(repo, {**base, "status__ne": "active", "customer_id__in": chunk}))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        frame = frame.sort_values("id", kind="stable", ignore_index=True)
    frame = frame.rename(columns={"id": "enrolment_id"})
    ids = frame["customer_id"]
    if len(ids) and ids.astype(str).str.startswith("urn:uuid:").any():  # UUIDs as exported
        frame["customer_id"] = pd.Series([decode_id(v) for v in ids], dtype=object)
    return frame


def _ns(values: Any) -> Any:
    return pd.DatetimeIndex(values).as_unit("ns").asi8


def _changes(stored: pd.DataFrame, after: pd.DataFrame) -> tuple[list[Enrolment], list[Enrolment]]:
    """Return the enrolments the tick moved (at their stored versions) and the new ones."""
    pos = pd.Index(stored["enrolment_id"]).get_indexer(after["enrolment_id"])
    old = np.flatnonzero(pos >= 0)
    new = np.flatnonzero(pos < 0)
    before = stored.iloc[pos[old]]
    now = after.iloc[old]
    moved = (
        (before["step"].astype(str).to_numpy() != now["step"].astype(str).to_numpy())
        | (before["status"].astype(str).to_numpy() != now["status"].astype(str).to_numpy())
        | (_ns(before["step_at"]) != _ns(now["step_at"]))
        | (_ns(before["due_at"]) != _ns(now["due_at"]))
    )
    versions = before["version"].to_numpy()[moved]
    updated = [
        attrs.evolve(e, version=int(v))
        for e, v in zip(enrolment_values(now[moved]), versions, strict=True)
    ]
    return updated, list(enrolment_values(after.iloc[new]))


def stored_sends(store: Store, *, since: Any, until: Any) -> pd.DataFrame:
    """Return the sends every journey handed over in ``(since, until]``, from the store.

    What :func:`run_tick` gives the frequency cap when no ``sends`` frame
    is passed: the ``send`` actions stored as :class:`JourneyActionEmitted`
    events, at their due time.

    Parameters
    ----------
    store : Store
    since, until : datetime, Timestamp or date
        The window, as for ``store.events.query`` (:doc:`/time`).

    Returns
    -------
    DataFrame
        ``customer_id`` and ``date`` (UTC), one row per send.
    """
    frame = store.events.to_frame(
        type=JourneyActionEmitted, since=since, until=until, payload_keys=["kind", "customer_id"]
    )
    sends = frame[frame["kind"] == "send"]
    ids = sends["customer_id"]
    if len(ids) and ids.astype(str).str.startswith("urn:uuid:").any():
        ids = pd.Series([decode_id(v) for v in ids], dtype=object, index=ids.index)
    return pd.DataFrame(
        {"customer_id": ids.to_numpy(dtype=object), "date": sends["at"].to_numpy()}
    )


def _sends_since(stored: pd.DataFrame, events: pd.DataFrame, now: Any, date_col: str) -> Any:
    """Return the earliest instant a send of this tick can count back from.

    A moving enrolment moves at or after its ``step_at``, a new one at its
    trigger event, so no send of the tick happens before the earliest of
    those (or ``now``).
    """
    lows = [_time.to_instant(now, name="now")]
    active = stored["status"].astype(str) == "active"
    if active.any():
        lows.append(pd.Timestamp(stored.loc[active, "step_at"].min()))
    if len(events) and date_col in events:
        dates = _time.read_dates(events[date_col], name=date_col, allow_missing=True)
        ns = dates.ns[dates.ns != _time.NAT]
        if dates.aware and ns.size:  # naive dates are refused by the tick itself
            lows.append(pd.Timestamp(int(ns.min()), tz="UTC"))
    return min(lows)


def run_tick(
    store: Store,
    journey: Journey,
    events: pd.DataFrame,
    now: Any,
    *,
    consents: pd.DataFrame,
    profiles: pd.DataFrame | None = None,
    sends: pd.DataFrame | None = None,
    frequency_cap: FrequencyCap | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> TickResult:
    """Run a scheduler tick against a store, atomically.

    Reads the journey's due enrolments from ``store.journey_enrolments``
    (the active ones, and the ended ones of customers with an entry event,
    which the re-entry policy needs; all of them for a segment entry), runs
    :func:`tick` on them, then in one unit of work updates the enrolments that
    moved (each checked against its stored version), adds the new ones,
    and records the actions (:class:`JourneyActionEmitted`) and the audit
    events (:class:`JourneyStepRecorded`) in ``store.events``, where
    ``store.outbox`` delivers them.  A tick that fails leaves the store as
    it was; run again, it emits each action once.  Running a finished tick
    again emits nothing.

    Parameters
    ----------
    store : Store
        An :class:`~crmcore.storage.InMemoryStore` or
        :class:`~crmcore.storage.SqlStore`.
    journey : Journey
    events, now, consents, profiles, frequency_cap, customer_col, date_col
        As for :func:`tick`.
    sends : DataFrame, optional
        Recent sends of every journey, for the frequency cap; default the
        sends stored in the cap's window (:func:`stored_sends`), so a cap
        holds across every journey run on the store (sends stored since
        the earliest moment this tick can send, less the cap's window).
        Capped ticks reading the stored sends run one at a time, in any
        number of threads or processes: the second waits for the first to
        commit, then counts its sends (on SQLite the database write lock, on
        PostgreSQL an advisory lock, in memory a lock of the store).

    Returns
    -------
    TickResult
        The enrolments read (updated) and the new ones, the actions and the
        audit events, as stored.

    Raises
    ------
    ConcurrencyConflict
        Another tick of the journey moved an enrolment first; nothing is
        stored: run the tick again.
    ValidationError
        As :func:`tick`.
    """
    with store.unit_of_work() as uow:
        repo = uow.journey_enrolments
        stored = _due_frame(repo, journey, events, customer_col)
        if sends is None and frequency_cap is not None:
            # capped ticks one at a time: each counts the sends the last one committed
            uow._hold("journey-sends")
            since = _sends_since(stored, events, now, date_col) - frequency_cap.window
            sends = stored_sends(store, since=since, until=now)
        result = tick(
            journey,
            stored.drop(columns="version") if len(stored) else None,
            events,
            now,
            profiles=profiles,
            consents=consents,
            sends=sends,
            frequency_cap=frequency_cap,
            customer_col=customer_col,
            date_col=date_col,
        )
        updated, added = _changes(stored, result.enrolments)
        if updated:
            repo.update_many(updated)
        if added:
            repo.add_many(added)
        uow.record(
            *(JourneyStepRecorded.from_audit(a) for a in audit_values(result.audit)),
            *(JourneyActionEmitted.from_action(a) for a in result.action_values()),
        )
        uow.commit()
    return result
