"""Journeys: trigger-based marketing workflows with waits, branches, goals and guards.

A :class:`Journey` is immutable data, checked when built, with a JSON round
trip: an :class:`Entry` (an event and/or a segment), :class:`Wait` (a
duration, a time of day on a business calendar, or an event with a
timeout), :class:`Branch` (a profile rule, or engagement within a window),
:class:`Send` (a channel and a message), :class:`Action` (a task for the
owner, a stage change, points, a field), :class:`Goal` (conversion) and
:class:`Exit`.

The engine is pure: :func:`enter` and :func:`step` move one enrolment,
:func:`tick` moves many at once on arrays (a scheduler's run), and both
return the new state, the :class:`JourneyAction` values for the
application to carry out, and audit events from which
:func:`replay_enrolment` rebuilds the state. Ids are derived from the
enrolment, the step and the instant, so a rerun emits nothing twice. The
engine enforces consent per channel at send time, quiet hours in the
customer's zone and a :class:`FrequencyCap` across journeys.

:func:`journey_funnel` and :func:`journey_conversion` measure a journey:
per-step counts and time in step, and goal conversion against the control
group with an interval.

On a store, :func:`run_tick` keeps the enrolments in
``store.journey_enrolments`` and records each action
(:class:`JourneyActionEmitted`) and audit event
(:class:`JourneyStepRecorded`) in the event history, delivered by the
outbox, all in one transaction per tick. The user guide is "Journeys" in
the docs.
"""

from __future__ import annotations

from crmcore.marketing._journey import RE_ENTRY, Journey
from crmcore.marketing._journey_analytics import (
    FUNNEL_COLUMNS,
    JourneyConversion,
    journey_conversion,
    journey_funnel,
)
from crmcore.marketing._journey_engine import SKIP_REASONS, FrequencyCap, StepResult, step
from crmcore.marketing._journey_enter import enter, replay_enrolment
from crmcore.marketing._journey_frames import (
    ACTION_COLUMNS,
    AUDIT_COLUMNS,
    ENROLMENT_COLUMNS,
    TickResult,
    audit_values,
    enrolment_values,
    enrolments_frame,
)
from crmcore.marketing._journey_steps import (
    ACTION_KINDS,
    SENDING_CHANNELS,
    Action,
    Branch,
    Entry,
    Exit,
    Goal,
    Send,
    Wait,
)
from crmcore.marketing._journey_store import (
    JourneyActionEmitted,
    JourneyStepRecorded,
    run_tick,
    stored_sends,
)
from crmcore.marketing._journey_tick import tick
from crmcore.marketing._journey_values import (
    AUDIT_TYPES,
    STATUSES,
    AuditEvent,
    Enrolment,
    GoalReached,
    JourneyAction,
    JourneyEntered,
    JourneyExited,
    MessageSkipped,
    StepCompleted,
    audit_from_dict,
)

__all__ = [
    "ACTION_COLUMNS",
    "ACTION_KINDS",
    "AUDIT_COLUMNS",
    "AUDIT_TYPES",
    "ENROLMENT_COLUMNS",
    "FUNNEL_COLUMNS",
    "RE_ENTRY",
    "SENDING_CHANNELS",
    "SKIP_REASONS",
    "STATUSES",
    "Action",
    "AuditEvent",
    "Branch",
    "Enrolment",
    "Entry",
    "Exit",
    "FrequencyCap",
    "Goal",
    "GoalReached",
    "Journey",
    "JourneyAction",
    "JourneyActionEmitted",
    "JourneyConversion",
    "JourneyEntered",
    "JourneyExited",
    "JourneyStepRecorded",
    "MessageSkipped",
    "Send",
    "StepCompleted",
    "StepResult",
    "TickResult",
    "Wait",
    "audit_from_dict",
    "audit_values",
    "enrolment_values",
    "enrolments_frame",
    "enter",
    "journey_conversion",
    "journey_funnel",
    "replay_enrolment",
    "run_tick",
    "step",
    "stored_sends",
    "tick",
]
