"""Entering a journey, and rebuilding an enrolment from its audit events."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from crmcore.domain import EntityId
from crmcore.errors import ValidationError
from crmcore.marketing._hashing import stable_uniform
from crmcore.marketing._journey import Journey
from crmcore.marketing._journey_engine import StepResult, rule_holds
from crmcore.marketing._journey_values import (
    AuditEvent,
    Enrolment,
    GoalReached,
    JourneyEntered,
    JourneyExited,
    StepCompleted,
    enrolment_id,
    ns_of,
    to_datetime,
)

__all__ = ["enter", "replay_enrolment"]


def enter(
    journey: Journey,
    customer_id: EntityId,
    at: _dt.datetime,
    *,
    profile: Mapping[str, Any] | None = None,
    previous: Iterable[Enrolment] = (),
) -> StepResult | None:
    """Enrol a customer at ``at`` (the trigger), if the journey lets them in.

    Parameters
    ----------
    journey : Journey
    customer_id : str or uuid.UUID
    at : datetime
        The trigger's instant (the entry event, or the tick for a segment
        entry).
    profile : mapping, optional
        The customer's profile; required when the entry has a rule.
    previous : iterable of Enrolment
        The customer's earlier enrolments in this journey (for the re-entry
        policy and the enrolment number).

    Returns
    -------
    StepResult or None
        The new enrolment at the entry step (held out, for the control
        group) with its audit events; None when the customer may not enter:
        before ``starts_at``, outside the entry segment, already enrolled,
        ``re_entry="never"`` after an enrolment, within the cool-down, or a
        trigger not after the previous enrolment's end.
    """
    at_ns = ns_of(at)
    if journey.starts_at is not None and at_ns < ns_of(journey.starts_at):
        return None
    rule = journey.entry.rule
    if rule is not None and not rule_holds(rule, profile):
        return None
    mine = [e for e in previous if e.journey_id == journey.id and e.customer_id == customer_id]
    if mine:
        if any(e.is_active for e in mine):
            return None
        last = max(mine, key=lambda e: e.seq)
        if journey.re_entry == "never" or at_ns <= ns_of(last.step_at):
            return None
        if journey.cooldown is not None and at_ns < ns_of(last.enrolled_at) + int(
            journey.cooldown.value
        ):
            return None
    seq = 1 + max((e.seq for e in mine), default=-1)
    control = bool(
        journey.control_fraction > 0
        and stable_uniform(np.array([customer_id], dtype=object), journey.salt)[0]
        < journey.control_fraction
    )
    eid = enrolment_id(journey.id, customer_id, seq)
    entry = journey.entry.name
    when = to_datetime(at_ns)
    audit: list[AuditEvent] = [
        JourneyEntered(
            journey_id=journey.id,
            enrolment_id=eid,
            customer_id=customer_id,
            step=entry,
            at=when,
            seq=seq,
            control=control,
        )
    ]
    if control:
        audit.append(
            JourneyExited(
                journey_id=journey.id,
                enrolment_id=eid,
                customer_id=customer_id,
                step=entry,
                at=when,
                reason="control",
            )
        )
    enrolment = Enrolment(
        journey_id=journey.id,
        customer_id=customer_id,
        seq=seq,
        enrolled_at=when,
        step=entry,
        step_at=when,
        status="held_out" if control else "active",
        control=control,
    )
    return StepResult(enrolment, (), tuple(audit))


def replay_enrolment(events: Iterable[AuditEvent]) -> Enrolment:
    """Rebuild an enrolment from its audit events, in the order they were emitted.

    Parameters
    ----------
    events : iterable of AuditEvent
        One enrolment's events, starting with its :class:`JourneyEntered`.

    Returns
    -------
    Enrolment
        The state the live run reached.

    Raises
    ------
    ValidationError
        No events, a first event that is not ``JourneyEntered``, or events of
        several enrolments.
    """
    state: Enrolment | None = None
    for ev in events:
        if state is None:
            if not isinstance(ev, JourneyEntered):
                raise ValidationError(
                    f"an enrolment's history starts with JourneyEntered; got {ev.type!r}",
                    field="events",
                )
            state = Enrolment(
                journey_id=ev.journey_id,
                customer_id=ev.customer_id,
                seq=ev.seq,
                enrolled_at=ev.at,
                step=ev.step,
                step_at=ev.at,
                control=ev.control,
            )
            continue
        if ev.enrolment_id != state.id:
            raise ValidationError(
                f"events of enrolment {ev.enrolment_id!r} among those of {state.id!r}",
                field="events",
            )
        if isinstance(ev, StepCompleted):
            state = state.moved(ev.next_step, ev.at, due_at=ev.due_at, status=state.status)
        elif isinstance(ev, GoalReached):
            state = state.moved(ev.step, ev.at, status="converted")
        elif isinstance(ev, JourneyExited):
            status = "held_out" if ev.reason == "control" else "completed"
            state = state.moved(ev.step, ev.at, status=status)
    if state is None:
        raise ValidationError("replay_enrolment needs at least one event", field="events")
    return state
