"""The steps of a journey: frozen values, each checked on its own when built.

A step names itself (``name``) and the step(s) that follow it; the
:class:`~crmcore.marketing.journeys.Journey` that holds them checks the
graph (unknown names, unreachable steps, loops without a wait, no exit).
Every step turns into JSON-safe data with :func:`step_to_dict` and back with
:func:`step_from_dict`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Mapping
from typing import Any, Final

import attrs
import pandas as pd

from crmcore import _time
from crmcore.domain import FrozenMapping
from crmcore.errors import ValidationError
from crmcore.pipeline import BusinessCalendar
from crmcore.segmentation import Rule

__all__ = [
    "ACTION_KINDS",
    "SENDING_CHANNELS",
    "Action",
    "Branch",
    "Entry",
    "Exit",
    "Goal",
    "Send",
    "Step",
    "Wait",
    "clock_seconds",
    "step_from_dict",
    "step_to_dict",
]

SENDING_CHANNELS: Final = ("email", "sms", "push")
"""Channels a send step may use (marketing's consent policy covers each)."""

ACTION_KINDS: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # kind: (required parameters, optional parameters)
    "create_task": (("subject",), ("due_in", "activity_kind", "owner_field", "about", "notes")),
    "advance_stage": (("to_stage",), ("workflow", "reason")),
    "add_points": (("points",), ("reason",)),
    "set_field": (("field", "value"), ()),
}
"""What an action step can ask the application to do, with its parameters."""

_WORKFLOWS: Final = ("lead", "opportunity", "ticket")
_ABOUT: Final = ("customer", "lead", "contact", "account")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def _where(step: str) -> str:
    return f"step {step!r}"


def _name(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"a step's {attribute.name} must be a non-blank str; got {value!r}",
            field=attribute.name,
            value=value,
        )


def _optional_text(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(
            f"{_where(inst.name)}: {attribute.name} must be a non-blank str or None; "
            f"got {value!r}",
            field=attribute.name,
            value=value,
        )


def _to_rule(value: Any) -> Rule | None:
    if value is None or isinstance(value, Rule):
        return value
    if isinstance(value, str):
        return Rule.parse(value)
    raise ValidationError(
        f"a rule must be a Rule or its text; got {type(value).__name__}", field="rule", value=value
    )


def _to_delta(value: Any) -> pd.Timedelta | None:
    if value is None:
        return None
    delta: pd.Timedelta = _time.to_duration(value, name="duration")
    return delta


@functools.lru_cache(maxsize=512)
def clock_seconds(value: Any, *, name: str) -> int:
    """Read a wall-clock time of day (``"HH:MM"``, ``"HH:MM:SS"`` or ``datetime.time``).

    Returns
    -------
    int
        Seconds after midnight, in ``[0, 86400)``.
    """
    if isinstance(value, _dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second
    m = _CLOCK.match(value) if isinstance(value, str) else None
    if m is not None:
        h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if h < 24 and mi < 60 and s < 60:
            return h * 3600 + mi * 60 + s
    raise ValidationError(
        f"{name} must be a time of day such as '09:00' (00:00 to 23:59:59); got {value!r}",
        field=name,
        value=value,
    )


def _clock_text(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _to_clock(value: Any) -> str | None:
    return None if value is None else _clock_text(clock_seconds(value, name="until"))


@attrs.frozen
class Entry:
    """How customers enter: an event of a type, a segment, or an event by a segment member.

    Parameters
    ----------
    name : str
        The step's name.
    event : str, optional
        The event type that enrols (``"download"``, or any type of the
        events frame, e.g. ``"order"``); the enrolment starts at the event.
    rule : Rule or str, optional
        A segment on the customer profile: alone, customers enter when they
        match it at a tick; with ``event``, the customer must match it too.
    next : str
        The first step.
    """

    name: str = attrs.field(validator=_name)
    event: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    rule: Rule | None = attrs.field(default=None, kw_only=True, converter=_to_rule)
    next: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)

    def __attrs_post_init__(self) -> None:
        if self.event is None and self.rule is None:
            raise ValidationError(
                f"{_where(self.name)}: an entry needs an event type, a segment rule, or both",
                field="event",
            )


@attrs.frozen
class Wait:
    """Wait for a duration, until a time of day, or for an event (with a timeout).

    Exactly one of ``duration``, ``until`` and ``event`` is given.

    Parameters
    ----------
    name : str
        The step's name.
    duration : str or timedelta, optional
        A fixed length (``"7D"``, ``"12h"``).
    until : str or datetime.time, optional
        A time of day (``"09:00"``): the next such instant strictly after
        the step is entered, on a working day of ``calendar`` (a weekday
        with working hours that is not a holiday) in the calendar's zone.
    calendar : BusinessCalendar, optional
        For ``until``; default: every day, UTC.
    event : str, optional
        An event type to wait for; the customer moves on to ``next`` at the
        first such event after entering the step, or to ``on_timeout``
        after ``timeout``.
    message_id : str, optional
        With ``event``: only events about this message count.
    timeout : str or timedelta, optional
        With ``event`` (required): how long to wait.
    on_timeout : str, optional
        With ``event`` (required): the step after a timeout.
    next : str
        The step after the wait (after the event, for ``event``).
    """

    name: str = attrs.field(validator=_name)
    duration: pd.Timedelta | None = attrs.field(default=None, kw_only=True, converter=_to_delta)
    until: str | None = attrs.field(default=None, kw_only=True, converter=_to_clock)
    calendar: BusinessCalendar | None = attrs.field(default=None, kw_only=True)
    event: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    message_id: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    timeout: pd.Timedelta | None = attrs.field(default=None, kw_only=True, converter=_to_delta)
    on_timeout: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    next: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)

    def __attrs_post_init__(self) -> None:
        modes = [k for k in ("duration", "until", "event") if getattr(self, k) is not None]
        if len(modes) != 1:
            raise ValidationError(
                f"{_where(self.name)}: a wait takes exactly one of duration, until and event; "
                f"got {', '.join(modes) or 'none'}",
                field="duration",
            )
        if self.calendar is not None and not isinstance(self.calendar, BusinessCalendar):
            raise ValidationError(
                f"{_where(self.name)}: calendar must be a crmcore.pipeline.BusinessCalendar; "
                f"got {type(self.calendar).__name__}",
                field="calendar",
            )
        if self.calendar is not None and self.until is None:
            raise ValidationError(
                f"{_where(self.name)}: calendar goes with until (a time of day)", field="calendar"
            )
        if self.event is not None:
            if self.timeout is None or self.on_timeout is None:
                raise ValidationError(
                    f"{_where(self.name)}: waiting for an event needs timeout= and on_timeout= "
                    "(where to go when the event does not come)",
                    field="timeout",
                )
        elif self.timeout is not None or self.on_timeout is not None or self.message_id:
            raise ValidationError(
                f"{_where(self.name)}: timeout, on_timeout and message_id go with event=",
                field="timeout",
            )

    @property
    def until_seconds(self) -> int | None:
        """``until`` in seconds after midnight (None for other waits)."""
        return None if self.until is None else clock_seconds(self.until, name="until")


@attrs.frozen
class Branch:
    """Go one way or the other: a rule on the profile, or engagement within a window.

    Exactly one of ``rule`` and ``event`` is given.

    Parameters
    ----------
    name : str
        The step's name.
    rule : Rule or str, optional
        Evaluated on the customer's profile row; a customer without a
        profile row goes to ``no``.
    event : str, optional
        "Engaged": an event of this type in ``(t - within, t]``, ``t`` the
        moment the branch is reached.
    message_id : str, optional
        With ``event``: only events about this message count.
    within : str or timedelta, optional
        With ``event`` (required): the look-back.
    yes, no : str
        The steps taken when the condition holds, and when not.
    """

    name: str = attrs.field(validator=_name)
    rule: Rule | None = attrs.field(default=None, kw_only=True, converter=_to_rule)
    event: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    message_id: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    within: pd.Timedelta | None = attrs.field(default=None, kw_only=True, converter=_to_delta)
    yes: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    no: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)

    def __attrs_post_init__(self) -> None:
        if (self.rule is None) == (self.event is None):
            raise ValidationError(
                f"{_where(self.name)}: a branch takes exactly one of rule= and event=",
                field="rule",
            )
        if self.event is not None and self.within is None:
            raise ValidationError(
                f"{_where(self.name)}: an engagement branch needs within= (the look-back)",
                field="within",
            )
        if self.event is None and (self.within is not None or self.message_id is not None):
            raise ValidationError(
                f"{_where(self.name)}: within and message_id go with event=", field="within"
            )


@attrs.frozen
class Send:
    """Send a message on a channel (checked for consent, quiet hours and caps when due).

    Parameters
    ----------
    name : str
        The step's name.
    channel : {"email", "sms", "push"}
        The sending channel (required).
    message_id : str
        The message (the content the application sends).
    next : str
        The step after the send (also after a skipped send).
    """

    name: str = attrs.field(validator=_name)
    channel: str | None = attrs.field(default=None, kw_only=True)
    message_id: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    next: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)

    def __attrs_post_init__(self) -> None:
        channel: Any = self.channel
        if channel is None:
            raise ValidationError(
                f"{_where(self.name)}: a send step needs a channel "
                f"({', '.join(SENDING_CHANNELS)})",
                field="channel",
            )
        wanted = channel.strip().lower() if isinstance(channel, str) else channel
        if wanted not in SENDING_CHANNELS:
            raise ValidationError(
                f"{_where(self.name)}: channel must be one of {', '.join(SENDING_CHANNELS)}; "
                f"got {channel!r}",
                field="channel",
                value=channel,
            )
        object.__setattr__(self, "channel", wanted)
        if self.message_id is None:
            raise ValidationError(
                f"{_where(self.name)}: a send step needs a message_id", field="message_id"
            )


def _to_params(value: Any) -> FrozenMapping:
    if isinstance(value, FrozenMapping):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"params must be a mapping; got {type(value).__name__}", field="params", value=value
        )
    clean = dict(value)
    if "due_in" in clean and clean["due_in"] is not None:
        clean["due_in"] = _duration_text(_time.to_duration(clean["due_in"], name="due_in"))
    return FrozenMapping(clean)


def _duration_text(delta: pd.Timedelta) -> str:
    return str(delta.isoformat())


@attrs.frozen
class Action:
    """Ask the application to do something: a task, a stage change, points, a field.

    The engine emits the action as data
    (:class:`~crmcore.marketing.journeys.JourneyAction`); crmcore builds the
    domain value where it can (the task's
    :class:`~crmcore.domain.Activity`, the lead moved by
    :func:`crmcore.pipeline.advance`).

    Parameters
    ----------
    name : str
        The step's name.
    kind : {"create_task", "advance_stage", "add_points", "set_field"}
        What to do.
    params : mapping
        ``create_task``: ``subject`` (required), ``due_in`` (a duration),
        ``activity_kind`` (default ``"task"``), ``owner_field`` (the profile
        column holding the owner, default ``"owner"``), ``about``
        (``"customer"``, ``"lead"``, ``"contact"`` or ``"account"``: which
        id the enrolled id is, default ``"customer"``), ``notes``.
        ``advance_stage``: ``to_stage`` (required), ``workflow``
        (``"lead"``, ``"opportunity"`` or ``"ticket"``; default ``"lead"``),
        ``reason``. ``add_points``: ``points`` (a non-zero int), ``reason``.
        ``set_field``: ``field``, ``value`` (JSON).
    next : str
        The step after.
    """

    name: str = attrs.field(validator=_name)
    kind: str = attrs.field(kw_only=True)
    params: FrozenMapping = attrs.field(factory=FrozenMapping, kw_only=True, converter=_to_params)
    next: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)

    def __attrs_post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValidationError(
                f"{_where(self.name)}: kind must be one of {', '.join(ACTION_KINDS)}; "
                f"got {self.kind!r}",
                field="kind",
                value=self.kind,
            )
        required, optional = ACTION_KINDS[self.kind]
        missing = [k for k in required if k not in self.params]
        unknown = sorted(set(self.params) - set(required) - set(optional))
        if missing or unknown:
            raise ValidationError(
                f"{_where(self.name)}: a {self.kind} action takes {', '.join(required)} "
                f"(required) and {', '.join(optional) or 'nothing else'}; "
                + (f"missing {', '.join(missing)}" if missing else f"unknown {unknown}"),
                field="params",
            )
        self._check_values()

    def _check_values(self) -> None:
        p = self.params
        bad: tuple[str, Any, str] | None = None
        if self.kind == "create_task":
            if not isinstance(p["subject"], str) or not p["subject"].strip():
                bad = ("subject", p["subject"], "a non-blank str")
            elif p.get("about", "customer") not in _ABOUT:
                bad = ("about", p.get("about"), f"one of {', '.join(_ABOUT)}")
        elif self.kind == "advance_stage":
            if not isinstance(p["to_stage"], str) or not p["to_stage"].strip():
                bad = ("to_stage", p["to_stage"], "a stage name")
            elif p.get("workflow", "lead") not in _WORKFLOWS:
                bad = ("workflow", p.get("workflow"), f"one of {', '.join(_WORKFLOWS)}")
        elif self.kind == "add_points":
            pts = p["points"]
            if isinstance(pts, bool) or not isinstance(pts, int) or pts == 0:
                bad = ("points", pts, "a non-zero int")
        elif not isinstance(p["field"], str) or not p["field"].strip():
            bad = ("field", p["field"], "a field name")
        if bad is not None:
            raise ValidationError(
                f"{_where(self.name)}: {bad[0]} must be {bad[2]}; got {bad[1]!r}",
                field=bad[0],
                value=bad[1],
            )


@attrs.frozen
class Goal:
    """A conversion: the customer leaves the journey, converted, at the event.

    Goals are not on the path: whatever step a customer is at, the first
    event of the type after enrolment ends the enrolment as converted.
    ``within`` is the conversion window of the analytics
    (:func:`~crmcore.marketing.journeys.journey_conversion`).

    Parameters
    ----------
    name : str
        The goal's name.
    event : str
        The event type that counts as the conversion.
    message_id : str, optional
        Only events about this message count.
    within : str or timedelta, default "30D"
        Conversion window after enrolment, for treatment and control alike.
    """

    name: str = attrs.field(validator=_name)
    event: str = attrs.field(kw_only=True, validator=_optional_text)
    message_id: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    within: pd.Timedelta = attrs.field(
        default=pd.Timedelta(days=30), kw_only=True, converter=_to_delta
    )


@attrs.frozen
class Exit:
    """The end of a path: the enrolment completes here.

    Parameters
    ----------
    name : str
        The step's name.
    """

    name: str = attrs.field(validator=_name)


Step = Entry | Wait | Branch | Send | Action | Goal | Exit
"""Any step of a journey."""

_KIND_OF: Final[dict[type, str]] = {
    Entry: "entry",
    Wait: "wait",
    Branch: "branch",
    Send: "send",
    Action: "action",
    Goal: "goal",
    Exit: "exit",
}
_CLASS_OF: Final = {v: k for k, v in _KIND_OF.items()}


def kind_of(step: Step) -> str:
    """Return the kind name of a step (``"entry"``, ``"wait"``...)."""
    return _KIND_OF[type(step)]


def successors(step: Step) -> tuple[tuple[str, str | None], ...]:
    """Return the step's outgoing references as (attribute, target) pairs."""
    if isinstance(step, Branch):
        return (("yes", step.yes), ("no", step.no))
    if isinstance(step, Wait) and step.event is not None:
        return (("next", step.next), ("on_timeout", step.on_timeout))
    if isinstance(step, Goal | Exit):
        return ()
    return (("next", step.next),)


def _end_text(seconds: int) -> str:
    # an overnight shift's end is stored past midnight; 24:00 is the end of the day
    return "24:00" if seconds == 86_400 else _clock_text(seconds % 86_400)


def _calendar_to_dict(cal: BusinessCalendar) -> dict[str, Any]:
    return {
        "working_hours": {
            str(day): [[_clock_text(a), _end_text(b)] for a, b in spans]
            for day, spans in enumerate(cal.working_hours)
        },
        "holidays": sorted(d.isoformat() for d in cal.holidays),
        "tz": str(cal.tz.key),
    }


def _calendar_from_dict(data: Mapping[str, Any]) -> BusinessCalendar:
    hours = {int(k): [tuple(p) for p in v] for k, v in data["working_hours"].items()}
    return BusinessCalendar(
        hours,
        holidays=[_dt.date.fromisoformat(d) for d in data.get("holidays", ())],
        tz=data.get("tz", "UTC"),
    )


def step_to_dict(step: Step) -> dict[str, Any]:
    """Return a step as JSON-safe data (``type`` plus its fields, unset ones left out)."""
    out: dict[str, Any] = {"type": kind_of(step)}
    for field in attrs.fields(type(step)):
        value = getattr(step, field.name)
        if value is None:
            continue
        if isinstance(value, Rule):
            value = str(value)
        elif isinstance(value, pd.Timedelta):
            value = _duration_text(value)
        elif isinstance(value, BusinessCalendar):
            value = _calendar_to_dict(value)
        elif isinstance(value, FrozenMapping):
            value = value.thaw()
        out[field.name] = value
    return out


def step_from_dict(data: Any) -> Step:
    """Build a step from :func:`step_to_dict`'s output.

    Raises
    ------
    ValidationError
        An unknown kind or field, or an invalid value (the step is named).
    """
    if not isinstance(data, Mapping) or "type" not in data or "name" not in data:
        raise ValidationError(
            f"a step must be a mapping with 'type' and 'name'; got {data!r}", field="steps"
        )
    cls = _CLASS_OF.get(data["type"])
    if cls is None:
        raise ValidationError(
            f"step {data['name']!r}: unknown type {data['type']!r}; types: {', '.join(_CLASS_OF)}",
            field="type",
            value=data["type"],
        )
    names = {f.name for f in attrs.fields(cls)}
    kwargs = {k: v for k, v in data.items() if k != "type"}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise ValidationError(
            f"step {data['name']!r}: unknown field(s) {', '.join(unknown)} for a "
            f"{data['type']} step; fields: {', '.join(sorted(names))}",
            field=unknown[0],
        )
    if isinstance(kwargs.get("calendar"), Mapping):
        kwargs["calendar"] = _calendar_from_dict(kwargs["calendar"])
    name = kwargs.pop("name")
    step: Step = cls(name, **kwargs)
    return step
