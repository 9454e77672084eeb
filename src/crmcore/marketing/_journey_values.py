"""What the journey engine reads and writes: enrolments, actions and audit events.

All are frozen values with a JSON round trip. Ids are derived, never drawn:
an enrolment is ``"<journey>:<customer>:<n>"`` (the customer's n-th entry,
from 0), an action or audit event ``"<enrolment>:<step>:<instant in ns>"``
(audit events add their kind), so running the engine twice on the same
input gives the same ids, and a store or an outbox consumer drops the
repeat by id.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Mapping
from typing import Any, ClassVar, Final

import attrs

from crmcore import pipeline
from crmcore._time import instant_us
from crmcore.domain import (
    ENROLMENT_STATUSES,
    Activity,
    Enrolment,
    EntityId,
    FrozenMapping,
    decode_datetime,
    decode_id,
    encode_datetime,
    encode_id,
    enrolment_id,
)
from crmcore.domain._journeys import _aware, _optional_aware, _text  # one set of checks
from crmcore.errors import ValidationError

__all__ = [
    "AUDIT_TYPES",
    "STATUSES",
    "AuditEvent",
    "Enrolment",
    "GoalReached",
    "JourneyAction",
    "JourneyEntered",
    "JourneyExited",
    "MessageSkipped",
    "StepCompleted",
    "audit_from_dict",
    "enrolment_id",
    "ns_of",
    "to_datetime",
]

STATUSES: Final = ENROLMENT_STATUSES
"""Enrolment statuses: on the way; reached an exit; reached a goal; in the control group."""

_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def ns_of(value: _dt.datetime, *, name: str = "at") -> int:
    """Nanoseconds since the epoch (UTC) of an aware datetime."""
    if getattr(value, "tzinfo", None) is _dt.UTC:
        # the engine's own datetimes are UTC: plain arithmetic, no fold to respect
        d = value - _EPOCH
        return (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000
    return instant_us(value, name=name) * 1000


@functools.lru_cache(maxsize=4096)  # a run emits several values at each instant
def to_datetime(ns: int) -> _dt.datetime:
    """Return the aware UTC datetime of an instant in ns (microsecond precision)."""
    return _EPOCH + _dt.timedelta(microseconds=ns // 1000)


_NO_PARAMS: Final = FrozenMapping()


def _to_frozen(value: Any) -> FrozenMapping:
    if isinstance(value, FrozenMapping):
        return value
    return FrozenMapping(value) if value else _NO_PARAMS


@attrs.frozen(kw_only=True)
class JourneyAction:
    """Something the application is to do: send a message, create a task, move a lead...

    Parameters
    ----------
    id : str
        ``"<enrolment id>:<step>:<instant ns>"``: the idempotency key.
    kind : {"send", "create_task", "advance_stage", "add_points", "set_field"}
        What to do.
    journey_id, enrolment_id, customer_id, step
        Where it comes from.
    at : datetime
        When it is due (a send's send time, after quiet hours).
    channel, message_id : str, optional
        For a send.
    params : mapping
        The action step's parameters; a task also gets ``owner`` (from the
        profile) and ``due_at``.
    """

    id: str = attrs.field(validator=_text)
    kind: str = attrs.field(validator=_text)
    journey_id: str = attrs.field(validator=_text)
    enrolment_id: str = attrs.field(validator=_text)
    customer_id: EntityId = attrs.field()
    step: str = attrs.field(validator=_text)
    at: _dt.datetime = attrs.field(validator=_aware)
    channel: str | None = attrs.field(default=None)
    message_id: str | None = attrs.field(default=None)
    params: FrozenMapping = attrs.field(factory=FrozenMapping, converter=_to_frozen)

    def to_activity(self) -> Activity:
        """Build the :class:`~crmcore.domain.Activity` of a ``create_task`` action.

        Its id is the action's id, so creating it twice is caught by the
        activity store.

        Returns
        -------
        Activity

        Raises
        ------
        ValidationError
            The action is not a ``create_task``.
        """
        if self.kind != "create_task":
            raise ValidationError(
                f"action {self.id!r} is a {self.kind}, not a create_task", field="kind"
            )
        p = self.params
        about = p.get("about", "customer")
        due = p.get("due_at")
        related: dict[str, Any] = {f"{about}_id": self.customer_id}
        return Activity(
            id=self.id,
            kind=p.get("activity_kind", "task"),
            subject=p["subject"],
            created_at=self.at,
            due_at=None if due is None else decode_datetime(due, field="due_at"),
            owner=p.get("owner"),
            notes=p.get("notes"),
            custom={"journey_id": self.journey_id, "enrolment_id": self.enrolment_id},
            **related,
        )

    def apply(self, entity: Any, *, workflow: Any = None) -> tuple[Any, tuple[Any, ...]]:
        """Carry out an ``advance_stage`` or ``set_field`` action on an entity.

        ``advance_stage`` calls :func:`crmcore.pipeline.advance` (the
        journey is the actor); ``set_field`` sets an attribute of the
        entity, or a key of its ``custom`` fields when it has no such
        attribute.

        Parameters
        ----------
        entity : attrs entity
            The lead, opportunity, ticket or customer.
        workflow : Workflow, optional
            For ``advance_stage``; default the action's ``workflow``
            parameter (``LEAD_WORKFLOW`` for ``"lead"``).

        Returns
        -------
        (entity, events)
            The new entity and the domain events (stage changes).

        Raises
        ------
        ValidationError
            Another kind of action, or the field cannot be set.
        InvalidTransition
            The stage cannot be reached from the entity's stage.
        """
        if self.kind == "advance_stage":
            wf = workflow
            if wf is None:
                wf = {
                    "lead": pipeline.LEAD_WORKFLOW,
                    "opportunity": pipeline.OPPORTUNITY_WORKFLOW,
                    "ticket": pipeline.TICKET_WORKFLOW,
                }[self.params.get("workflow", "lead")]
            new, events = pipeline.advance(
                entity,
                self.params["to_stage"],
                at=self.at,
                workflow=wf,
                reason=self.params.get("reason"),
                actor=f"journey:{self.journey_id}",
            )
            return new, tuple(events)
        if self.kind == "set_field":
            field, value = self.params["field"], self.params["value"]
            names = {f.name for f in attrs.fields(type(entity))}
            if field in names and field not in {"id", "version", "custom"}:
                return attrs.evolve(entity, **{field: value}), ()
            if "custom" in names:
                custom = dict(entity.custom)
                custom[field] = value
                return attrs.evolve(entity, custom=custom), ()
        raise ValidationError(
            f"action {self.id!r} ({self.kind}) cannot be applied to a "
            f"{type(entity).__name__}: apply() carries out advance_stage and set_field",
            field="kind",
        )

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe data (:meth:`from_dict` reads it back).

        Returns
        -------
        dict
        """
        return {
            "id": self.id,
            "kind": self.kind,
            "journey_id": self.journey_id,
            "enrolment_id": self.enrolment_id,
            "customer_id": encode_id(self.customer_id),
            "step": self.step,
            "at": encode_datetime(self.at),
            "channel": self.channel,
            "message_id": self.message_id,
            "params": self.params.thaw(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JourneyAction:
        """Build from :meth:`to_dict`'s output.

        Parameters
        ----------
        data : mapping

        Returns
        -------
        JourneyAction
        """
        return cls(
            id=data["id"],
            kind=data["kind"],
            journey_id=data["journey_id"],
            enrolment_id=data["enrolment_id"],
            customer_id=decode_id(data["customer_id"]),
            step=data["step"],
            at=decode_datetime(data["at"], field="at"),
            channel=data.get("channel"),
            message_id=data.get("message_id"),
            params=data.get("params") or {},
        )


@attrs.frozen(kw_only=True)
class AuditEvent:
    """Base of the journey's audit events: which enrolment, which step, when.

    Parameters
    ----------
    journey_id, enrolment_id, customer_id
        The enrolment.
    step : str
        The step it concerns.
    at : datetime
        When it happened (the journey's own time: the due time of a wait,
        the instant of an event).
    """

    TYPE: ClassVar[str] = ""
    journey_id: str = attrs.field(validator=_text)
    enrolment_id: str = attrs.field(validator=_text)
    customer_id: EntityId = attrs.field()
    step: str = attrs.field(validator=_text)
    at: _dt.datetime = attrs.field(validator=_aware)

    @property
    def type(self) -> str:
        """The event type (``"marketing.journey_entered"``...)."""
        return type(self).TYPE

    @property
    def id(self) -> str:
        """``"<enrolment>:<step>:<instant ns>:<type>"``: stable across reruns."""
        short = type(self).TYPE.rsplit(".", 1)[-1]
        return f"{self.enrolment_id}:{self.step}:{ns_of(self.at)}:{short}"

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe data with a ``type`` key (:func:`audit_from_dict` reads it back).

        Returns
        -------
        dict
        """
        out: dict[str, Any] = {"type": self.type}
        for f in attrs.fields(type(self)):
            value = getattr(self, f.name)
            if isinstance(value, _dt.datetime):
                value = encode_datetime(value)
            elif f.name == "customer_id":
                value = encode_id(value)
            out[f.name] = value
        return out


@attrs.frozen(kw_only=True)
class JourneyEntered(AuditEvent):
    """A customer entered (``step`` is the entry; ``control``: held out)."""

    TYPE: ClassVar[str] = "marketing.journey_entered"
    seq: int = attrs.field(default=0)
    control: bool = attrs.field(default=False)


@attrs.frozen(kw_only=True)
class StepCompleted(AuditEvent):
    """A step was done: its ``outcome``, the step that follows and when that one is due.

    Outcomes: ``entered`` (entry), ``waited``, ``event`` / ``timeout``
    (event waits), ``yes`` / ``no`` (branches), ``sent`` / ``skipped``
    (sends), ``done`` (actions).
    """

    TYPE: ClassVar[str] = "marketing.journey_step_completed"
    outcome: str = attrs.field(validator=_text)
    next_step: str = attrs.field(validator=_text)
    due_at: _dt.datetime | None = attrs.field(default=None, validator=_optional_aware)


@attrs.frozen(kw_only=True)
class MessageSkipped(AuditEvent):
    """A send did not go out, and why (``no_consent``, ``opted_out``, ``frequency_cap``)."""

    TYPE: ClassVar[str] = "marketing.journey_message_skipped"
    channel: str = attrs.field(validator=_text)
    message_id: str = attrs.field(validator=_text)
    reason: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class GoalReached(AuditEvent):
    """The customer converted (``goal``) while at ``step``: the enrolment ends."""

    TYPE: ClassVar[str] = "marketing.journey_goal_reached"
    goal: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class JourneyExited(AuditEvent):
    """The enrolment ended at ``step``: ``reason`` is ``exit`` or ``control``."""

    TYPE: ClassVar[str] = "marketing.journey_exited"
    reason: str = attrs.field(validator=_text)


AUDIT_TYPES: Final[Mapping[str, type[AuditEvent]]] = {
    c.TYPE: c for c in (JourneyEntered, StepCompleted, MessageSkipped, GoalReached, JourneyExited)
}
"""The audit event types, by type name."""


def audit_from_dict(data: Mapping[str, Any]) -> AuditEvent:
    """Build an audit event from its ``to_dict`` output.

    Raises
    ------
    ValidationError
        An unknown type.
    """
    cls = AUDIT_TYPES.get(data.get("type", ""))
    if cls is None:
        raise ValidationError(
            f"unknown journey audit event type {data.get('type')!r}; types: "
            f"{', '.join(AUDIT_TYPES)}",
            field="type",
        )
    kwargs: dict[str, Any] = {}
    for f in attrs.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name in {"at", "due_at"} and value is not None:
            value = decode_datetime(value, field=f.name)
        elif f.name == "customer_id":
            value = decode_id(value)
        kwargs[f.name] = value
    return cls(**kwargs)
