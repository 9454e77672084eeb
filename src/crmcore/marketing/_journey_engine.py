"""The journey engine for one enrolment: enter, step, replay. Pure functions, no clock.

``step`` moves an enrolment as far as ``now`` allows, on the journey's own
time: a wait ends at its due instant, an event wait at the event, so the
result does not depend on when (or how often) the scheduler runs, only on
the events known by ``now``. A goal event wins over any step due at or
after it. The guards are the engine's: a send goes out only with consent
in force for its channel at its send time *and* at ``now``, outside the
quiet hours of the customer's zone, and within the frequency cap across
all journeys; otherwise it is skipped and the reason recorded.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import pandas as pd

from crmcore import _time
from crmcore.domain import Consent
from crmcore.errors import ValidationError
from crmcore.marketing._journey import Journey
from crmcore.marketing._journey_clock import next_time_of_day, quiet_shift
from crmcore.marketing._journey_steps import (
    Action,
    Branch,
    Entry,
    Exit,
    Send,
    Step,
    Wait,
    clock_seconds,
)
from crmcore.marketing._journey_values import (
    AuditEvent,
    Enrolment,
    GoalReached,
    JourneyAction,
    JourneyExited,
    MessageSkipped,
    StepCompleted,
    ns_of,
    to_datetime,
)

__all__ = [
    "SKIP_REASONS",
    "FrequencyCap",
    "StepResult",
    "action_id",
    "due_on_entering",
    "rule_holds",
    "step",
]

SKIP_REASONS: Final = ("no_consent", "opted_out", "frequency_cap")
"""Why a send was skipped: no consent recorded for the channel; withdrawn (by the send
time or by ``now``); the customer's frequency cap was reached."""

_NEVER: Final = math.inf


def _window(value: Any) -> pd.Timedelta:
    delta: pd.Timedelta = _time.to_duration(value, name="window")
    return delta


@attrs.frozen
class FrequencyCap:
    """At most ``limit`` messages per customer in any window of length ``window``.

    Counted over every journey: the engine is given the customer's recent
    sends (all channels, all journeys) and skips a send that would put
    ``limit + 1`` sends within ``window`` of one another.

    Parameters
    ----------
    limit : int
        Messages allowed per window (>= 1).
    window : str or timedelta
        The window (``"7D"``).
    """

    limit: int = attrs.field()
    window: pd.Timedelta = attrs.field(converter=_window)

    def __attrs_post_init__(self) -> None:
        limit: Any = self.limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(
                f"limit must be an int >= 1; got {self.limit!r}", field="limit", value=self.limit
            )

    @property
    def window_ns(self) -> int:
        """The window in nanoseconds."""
        return int(self.window.value)


@attrs.frozen
class StepResult:
    """What :func:`step` (or :func:`enter`) returns.

    Attributes
    ----------
    enrolment : Enrolment
        The new state.
    actions : tuple of JourneyAction
        For the application to carry out (none already in ``already_emitted``).
    audit : tuple of AuditEvent
        What happened, in order; :func:`replay_enrolment` rebuilds the state.
    """

    enrolment: Enrolment
    actions: tuple[JourneyAction, ...] = ()
    audit: tuple[AuditEvent, ...] = ()


def action_id(enrolment: str, step_name: str, at_ns: int) -> str:
    """Return the idempotency key of an action: ``"<enrolment>:<step>:<instant ns>"``."""
    return f"{enrolment}:{step_name}:{at_ns}"


# ---------------------------------------------------------------- inputs


def _type_text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _prepare_events(events: Any, now_ns: int) -> list[tuple[int, str, str | None]]:
    """(instant, type, message id) of each event at or before ``now``, by time."""
    out: list[tuple[int, str, str | None]] = []
    if isinstance(events, pd.DataFrame):
        if events.empty:
            return out
        dates = _time.read_dates(events["date"], name="date", row_name="event")
        if dates.tz is None:
            raise ValidationError(
                "events['date'] must be timezone-aware: journeys run on instants",
                field="date",
            )
        msgs = events["message_id"].tolist() if "message_id" in events else [None] * len(events)
        for raw, typ, msg in zip(dates.ns.tolist(), events["type"].tolist(), msgs, strict=True):
            ns = raw - raw % 1000  # instants at microsecond resolution, as everywhere
            if ns <= now_ns:
                out.append((ns, _type_text(typ), msg if isinstance(msg, str) else None))
    else:
        for ev in events:
            ns = ns_of(ev.at, name="event.at")
            if ns <= now_ns:
                # an EngagementEvent says what happened in `kind` (its `type` is the
                # event-store type, "marketing.engagement"); other events in `type`
                kind = getattr(ev, "kind", None)
                what = _type_text(kind if kind is not None else ev.type)
                out.append((ns, what, getattr(ev, "message_id", None)))
    out.sort(key=lambda e: e[0])
    return out


def _first(
    evs: Sequence[tuple[int, str, str | None]],
    typ: str,
    msg: str | None,
    lo: float,
    hi: float,
) -> int | None:
    """First matching event in ``(lo, hi]``."""
    for ns, t, m in evs:
        if ns > hi:
            return None
        if ns > lo and t == typ and (msg is None or m == msg):
            return ns
    return None


def _profile_get(profile: Mapping[str, Any] | None, key: str) -> Any:
    if profile is None:
        return None
    value = profile.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _tz_of(profile: Mapping[str, Any] | None, journey: Journey) -> str:
    value = _profile_get(profile, "tz")
    return journey.tz if value is None else str(value)


def rule_holds(rule: Any, profile: Mapping[str, Any] | None) -> bool:
    if profile is None:
        return False
    frame = pd.DataFrame([dict(profile)])
    return bool(rule.mask(frame)[0])


# ---------------------------------------------------------------- scheduling


def due_on_entering(step_: Step, t: int, tz: str, journey: Journey) -> int | None:
    """When the step entered at ``t`` is due (None: at once)."""
    if isinstance(step_, Wait):
        if step_.duration is not None:
            return t + int(step_.duration.value)
        if step_.timeout is not None:
            return t + int(step_.timeout.value)
        return next_time_of_day(t, clock_seconds(step_.until, name="until"), step_.calendar)
    if isinstance(step_, Send):
        return quiet_shift(t, tz, _quiet(journey))
    return None


def _quiet(journey: Journey) -> tuple[int, int] | None:
    q = journey.quiet_hours
    if q is None:
        return None
    return clock_seconds(q[0], name="quiet_hours"), clock_seconds(q[1], name="quiet_hours")


# ---------------------------------------------------------------- step


def _consent(consents: Sequence[tuple[int, str, bool]], channel: str, at_ns: int) -> int:
    """1 granted, 0 withdrawn, -1 unknown: :func:`crmcore.domain.current_consent`'s rule.

    The latest consent for the channel at or before the instant; on equal
    instants the one given last.
    """
    best = -1
    best_at = 0
    for ns, ch, granted in consents:
        if ch == channel and ns <= at_ns and (best < 0 or ns >= best_at):
            best, best_at = (1 if granted else 0), ns
    return best


class _Run:
    """The state of one call to :func:`step`."""

    def __init__(  # noqa: PLR0917 -- one private call site, every argument named there
        self,
        journey: Journey,
        enrolment: Enrolment,
        now_ns: int,
        profile: Mapping[str, Any] | None,
        consents: Sequence[tuple[int, str, bool]],
        sends: list[int],
        cap: FrequencyCap | None,
        already: Any,
    ) -> None:
        self.journey = journey
        self.enrolment = enrolment
        self.eid = enrolment.id
        self.now = now_ns
        self.profile = profile
        self.consents = consents
        self.sends = sends
        self.cap = cap
        self.already = already
        self.actions: list[JourneyAction] = []
        self.audit: list[AuditEvent] = []

    def _base(self, step_name: str, at: int) -> dict[str, Any]:
        return {
            "journey_id": self.journey.id,
            "enrolment_id": self.eid,
            "customer_id": self.enrolment.customer_id,
            "step": step_name,
            "at": to_datetime(at),
        }

    def _emit(self, act: JourneyAction) -> None:
        if act.id not in self.already:
            self.actions.append(act)

    def send(self, s: Send, when: int) -> str:
        channel = str(s.channel)
        reason = None
        at_send = _consent(self.consents, channel, when)
        if at_send < 0:
            reason = "no_consent"
        elif at_send == 0 or _consent(self.consents, channel, self.now) != 1:
            reason = "opted_out"
        elif self.cap is not None:
            w = self.cap.window_ns
            lo = bisect.bisect_right(self.sends, when - w)
            hi = bisect.bisect_left(self.sends, when + w)
            if hi - lo >= self.cap.limit:
                reason = "frequency_cap"
        if reason is not None:
            self.audit.append(
                MessageSkipped(
                    **self._base(s.name, when),
                    channel=channel,
                    message_id=str(s.message_id),
                    reason=reason,
                )
            )
            return "skipped"
        bisect.insort(self.sends, when)
        self._emit(
            JourneyAction(
                id=action_id(self.eid, s.name, when),
                kind="send",
                journey_id=self.journey.id,
                enrolment_id=self.eid,
                customer_id=self.enrolment.customer_id,
                step=s.name,
                at=to_datetime(when),
                channel=channel,
                message_id=s.message_id,
            )
        )
        return "sent"

    def act(self, s: Action, when: int) -> None:
        params = dict(s.params)
        if s.kind == "create_task":
            params["owner"] = _profile_get(self.profile, params.get("owner_field", "owner"))
            due_in = params.pop("due_in", None)
            if due_in is not None:
                due = when + int(pd.Timedelta(due_in).value)
                params["due_at"] = to_datetime(due).isoformat()
        self._emit(
            JourneyAction(
                id=action_id(self.eid, s.name, when),
                kind=s.kind,
                journey_id=self.journey.id,
                enrolment_id=self.eid,
                customer_id=self.enrolment.customer_id,
                step=s.name,
                at=to_datetime(when),
                params=params,
            )
        )


def _goal(
    journey: Journey, evs: Sequence[tuple[int, str, str | None]], enrolled: int
) -> tuple[float, str]:
    best: float = _NEVER
    name = ""
    if not evs:
        return best, name
    for g in journey.goals:
        found = _first(evs, g.event, g.message_id, enrolled, _NEVER)
        if found is not None and found < best:
            best, name = found, g.name
    return best, name


def step(
    journey: Journey,
    enrolment: Enrolment,
    events: Any = (),
    now: _dt.datetime | None = None,
    *,
    profile: Mapping[str, Any] | None = None,
    consents: Iterable[Consent] = (),
    sends: Iterable[_dt.datetime] = (),
    frequency_cap: FrequencyCap | None = None,
    already_emitted: Any = frozenset(),
) -> StepResult:
    """Move one enrolment as far as ``now`` allows.

    Parameters
    ----------
    journey : Journey
    enrolment : Enrolment
        Its current state (an ended enrolment is returned unchanged).
    events : iterable of EngagementEvent (or anything with ``type``, ``at``,
        ``message_id``), or DataFrame
        The customer's events (``type``, ``date``, optional ``message_id``
        for a frame); those after ``now`` are not seen.
    now : datetime
        The tick's instant (timezone-aware). Required.
    profile : mapping, optional
        The customer's profile: fields of branch rules, ``tz`` (quiet
        hours), the owner of a task.
    consents : iterable of Consent
        The customer's consent history; none means no consent (no message).
    sends : iterable of datetime
        The customer's sends in *every* journey (for the frequency cap).
    frequency_cap : FrequencyCap, optional
    already_emitted : container of str
        Ids of actions already handed over (the outbox's keys): not emitted again.

    Returns
    -------
    StepResult
        The new enrolment, the actions and the audit events.

    Raises
    ------
    ValidationError
        ``now`` missing or naive, or the enrolment belongs to another
        journey or names an unknown step.

    Notes
    -----
    The same inputs give the same output: ids are derived from the
    enrolment, the step and the instant, so a rerun emits actions with the
    ids it emitted before, and ``already_emitted`` drops them.
    """
    if now is None:
        raise ValidationError("now is required (the tick's instant)", field="now")
    now_ns = ns_of(now, name="now")
    if enrolment.journey_id != journey.id:
        raise ValidationError(
            f"enrolment {enrolment.id!r} belongs to journey {enrolment.journey_id!r}, not "
            f"{journey.id!r}",
            field="journey_id",
        )
    if not enrolment.is_active:
        return StepResult(enrolment)
    evs = _prepare_events(events, now_ns)
    goal_at, goal_name = _goal(journey, evs, ns_of(enrolment.enrolled_at))
    if goal_at > now_ns:
        goal_at = _NEVER
    cur = enrolment.step
    t = ns_of(enrolment.step_at)
    due = None if enrolment.due_at is None else ns_of(enrolment.due_at)
    here = journey[cur]
    if (
        goal_at is _NEVER
        and due is not None
        and due > now_ns
        and (isinstance(here, Send) or (isinstance(here, Wait) and here.event is None))
    ):
        return StepResult(enrolment)  # a scheduler's most common call: nothing is due
    run = _Run(
        journey,
        enrolment,
        now_ns,
        profile,
        [(ns_of(c.at, name="consent.at"), c.channel, c.granted) for c in consents],
        sorted(ns_of(s, name="sends") for s in sends),
        frequency_cap,
        already_emitted,
    )
    tz = _tz_of(profile, journey)
    status = "active"
    while True:
        s = journey[cur]
        when: int | None = None
        nxt = ""
        outcome = ""
        if isinstance(s, Wait):
            assert due is not None  # set on entering every wait
            if s.event is not None:
                found = _first(evs, s.event, s.message_id, t, min(due, now_ns))
                if found is not None:
                    when, outcome, nxt = found, "event", str(s.next)
                elif due <= now_ns:
                    when, outcome, nxt = due, "timeout", str(s.on_timeout)
            elif due <= now_ns:
                when, outcome, nxt = due, "waited", str(s.next)
        elif isinstance(s, Send):
            assert due is not None
            if due <= now_ns:
                when, nxt = due, str(s.next)
        else:
            when = t
        if when is None or when >= goal_at:
            break
        if isinstance(s, Exit):
            run.audit.append(JourneyExited(**run._base(s.name, when), reason="exit"))
            status, t, due = "completed", when, None
            break
        if isinstance(s, Entry):
            outcome, nxt = "entered", str(s.next)
        elif isinstance(s, Branch):
            if s.rule is not None:
                holds = rule_holds(s.rule, profile)
            else:
                assert s.within is not None
                assert s.event is not None
                holds = (
                    _first(evs, s.event, s.message_id, when - int(s.within.value), when)
                    is not None
                )
            outcome, nxt = ("yes", str(s.yes)) if holds else ("no", str(s.no))
        elif isinstance(s, Send):
            outcome = run.send(s, when)
        elif isinstance(s, Action):
            run.act(s, when)
            outcome, nxt = "done", str(s.next)
        next_due = due_on_entering(journey[nxt], when, tz, journey)
        run.audit.append(
            StepCompleted(
                **run._base(s.name, when),
                outcome=outcome,
                next_step=nxt,
                due_at=None if next_due is None else to_datetime(next_due),
            )
        )
        cur, t, due = nxt, when, next_due
    if status == "active" and goal_at is not _NEVER:
        g = int(goal_at)
        run.audit.append(GoalReached(**run._base(cur, g), goal=goal_name))
        status, t, due = "converted", g, None
    new = enrolment.moved(
        cur, to_datetime(t), due_at=None if due is None else to_datetime(due), status=status
    )
    return StepResult(new, tuple(run.actions), tuple(run.audit))
