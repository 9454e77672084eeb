"""A journey definition: frozen steps, checked as a graph when built, with a JSON round trip."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import attrs
import pandas as pd

from crmcore import _time
from crmcore._validation import check_scalar
from crmcore.domain import decode_datetime, encode_datetime
from crmcore.errors import ValidationError
from crmcore.marketing._hashing import stable_salt
from crmcore.marketing._journey_steps import (
    Entry,
    Exit,
    Goal,
    Step,
    Wait,
    clock_seconds,
    kind_of,
    step_from_dict,
    step_to_dict,
    successors,
)

__all__ = ["RE_ENTRY", "Journey"]

RE_ENTRY: Final = ("never", "cooldown", "always")
"""Re-entry policies: once per customer, again after a cool-down, again whenever triggered."""


def _to_steps(value: Any) -> tuple[Step, ...]:
    if isinstance(value, Mapping | str) or not isinstance(value, Iterable):
        raise ValidationError(
            f"steps must be a sequence of steps; got {type(value).__name__}", field="steps"
        )
    return tuple(value)


def _to_quiet(value: Any) -> tuple[str, str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValidationError(
            f"quiet_hours must be a (start, end) pair such as ('21:00', '08:00'); got {value!r}",
            field="quiet_hours",
            value=value,
        )
    start = clock_seconds(value[0], name="quiet_hours")
    end = clock_seconds(value[1], name="quiet_hours")
    if start == end:
        raise ValidationError(
            f"quiet_hours {value!r} is empty: start and end are the same time",
            field="quiet_hours",
            value=value,
        )

    def text(s: int) -> str:
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}" + (f":{s % 60:02d}" if s % 60 else "")

    return (text(start), text(end))


def _to_optional_delta(value: Any) -> pd.Timedelta | None:
    if value is None:
        return None
    delta: pd.Timedelta = _time.to_duration(value, name="cooldown")
    return delta


def _zone_name(value: Any) -> str:
    try:
        pd.Timestamp("2000-01-01", tz=value)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationError(
            f"tz is not a time zone: {value!r}", field="tz", value=value
        ) from exc
    return str(value)


def _optional_aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _time.require_aware(value, field=attribute.name)


@attrs.frozen(kw_only=True)
class Journey:
    """A journey: entry, waits, branches, sends, actions, goals and exits.

    Immutable and checked when built: step names are unique; there is one
    entry and at least one exit; every reference names a step (not the
    entry, not a goal); every step is reachable from the entry (goals
    excepted: they listen everywhere); every cycle passes through a wait.
    Each error names the step.

    Parameters
    ----------
    id : str
        The journey's id (in enrolment and action ids, and the seed of the
        control-group hash unless ``random_state`` is given).
    steps : sequence of steps
        :class:`Entry`, :class:`Wait`, :class:`Branch`, :class:`Send`,
        :class:`Action`, :class:`Goal`, :class:`Exit`.
    re_entry : {"never", "cooldown", "always"}, default "never"
        May a customer enter again after an enrolment ended: never; after
        ``cooldown`` from the previous entry; always. A customer is never
        enrolled twice at once.
    cooldown : str or timedelta, optional
        Required with ``re_entry="cooldown"``.
    control_fraction : float, default 0.0
        Share of entrants held out (expected, from marketing's seeded hash
        of the customer id): they are enrolled, receive nothing, and
        measure what would have happened anyway.
    random_state : int or str, optional
        Seed of the control-group hash; default the journey id.
    quiet_hours : (str, str), optional
        No message goes out between these wall-clock times in the
        customer's zone (``("21:00", "08:00")`` wraps midnight); a send due
        then moves to the end of the quiet period.
    tz : str, default "UTC"
        The zone of customers whose profile has no ``tz``.
    starts_at : datetime, optional
        Events before this instant enrol nobody (the journey's launch).

    Examples
    --------
    >>> from crmcore.marketing.journeys import Entry, Exit, Journey, Send, Wait
    >>> j = Journey(
    ...     id="welcome",
    ...     steps=[
    ...         Entry("start", event="form_submit", next="hello"),
    ...         Send("hello", channel="email", message_id="welcome-1", next="pause"),
    ...         Wait("pause", duration="3D", next="end"),
    ...         Exit("end"),
    ...     ],
    ... )
    >>> Journey.from_json(j.to_json()) == j
    True
    """

    id: str = attrs.field()
    steps: tuple[Step, ...] = attrs.field(converter=_to_steps)
    re_entry: str = attrs.field(default="never")
    cooldown: pd.Timedelta | None = attrs.field(default=None, converter=_to_optional_delta)
    control_fraction: float = attrs.field(default=0.0)
    random_state: int | str | None = attrs.field(default=None)
    quiet_hours: tuple[str, str] | None = attrs.field(default=None, converter=_to_quiet)
    tz: str = attrs.field(default="UTC", converter=_zone_name)
    starts_at: _dt.datetime | None = attrs.field(default=None, validator=_optional_aware)
    _index: Mapping[str, Step] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        ident: Any = self.id
        if not isinstance(ident, str) or not ident.strip():
            raise ValidationError(
                f"a journey id must be a non-blank str; got {self.id!r}", field="id"
            )
        if self.re_entry not in RE_ENTRY:
            raise ValidationError(
                f"re_entry must be one of {', '.join(RE_ENTRY)}; got {self.re_entry!r}",
                field="re_entry",
                value=self.re_entry,
            )
        if (self.re_entry == "cooldown") != (self.cooldown is not None):
            raise ValidationError(
                "cooldown goes with re_entry='cooldown' (and that policy needs it)",
                field="cooldown",
            )
        check_scalar(
            self.control_fraction,
            name="control_fraction",
            low=0,
            high=1,
            high_inclusive=False,
        )
        stable_salt(self.id if self.random_state is None else self.random_state)
        object.__setattr__(self, "_index", _check_graph(self.steps))

    # ------------------------------------------------------------ queries
    @property
    def entry(self) -> Entry:
        """The entry step."""
        return next(s for s in self.steps if isinstance(s, Entry))

    @property
    def goals(self) -> tuple[Goal, ...]:
        """The goal steps."""
        return tuple(s for s in self.steps if isinstance(s, Goal))

    @property
    def salt(self) -> str:
        """The salt of the control-group hash."""
        return stable_salt(self.id if self.random_state is None else self.random_state, self.id)

    def __getitem__(self, name: str) -> Step:
        """Return the step called ``name``.

        Raises
        ------
        ValidationError
            No step has that name (the names are listed).
        """
        try:
            return self._index[name]
        except KeyError:
            raise ValidationError(
                f"journey {self.id!r} has no step {name!r}; steps: {', '.join(self._index)}",
                field="step",
                value=name,
            ) from None

    @property
    def step_names(self) -> tuple[str, ...]:
        """Step names in definition order."""
        return tuple(self._index)

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """Return the definition as JSON-safe data; :meth:`from_dict` reads it back.

        Returns
        -------
        dict
        """
        return {
            "id": self.id,
            "steps": [step_to_dict(s) for s in self.steps],
            "re_entry": self.re_entry,
            "cooldown": None if self.cooldown is None else self.cooldown.isoformat(),
            "control_fraction": self.control_fraction,
            "random_state": self.random_state,
            "quiet_hours": None if self.quiet_hours is None else list(self.quiet_hours),
            "tz": self.tz,
            "starts_at": None if self.starts_at is None else encode_datetime(self.starts_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Journey:
        """Build a journey from :meth:`to_dict`'s output.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict`; optional keys may be left out.

        Returns
        -------
        Journey

        Raises
        ------
        ValidationError
            A missing or unknown key, or an invalid step or graph (named).
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"Journey.from_dict needs a mapping; got {type(data).__name__}", field="journey"
            )
        allowed = {f.name for f in attrs.fields(cls) if f.init}
        unknown = sorted(set(data) - allowed)
        if unknown or "id" not in data or "steps" not in data:
            raise ValidationError(
                "Journey.from_dict: needs 'id' and 'steps'"
                + (f"; unknown key(s) {', '.join(unknown)}" if unknown else ""),
                field=unknown[0] if unknown else "steps",
            )
        kwargs = dict(data)
        kwargs["steps"] = [step_from_dict(s) for s in data["steps"]]
        if kwargs.get("starts_at") is not None:
            kwargs["starts_at"] = decode_datetime(kwargs["starts_at"], field="starts_at")
        return cls(**kwargs)

    def to_json(self) -> str:
        """Return the definition as JSON text (:meth:`from_json` reads it back).

        Returns
        -------
        str
        """
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Journey:
        """Build a journey from :meth:`to_json`'s output.

        Parameters
        ----------
        text : str
            JSON text.

        Returns
        -------
        Journey
        """
        return cls.from_dict(json.loads(text))


def _check_graph(steps: tuple[Step, ...]) -> dict[str, Step]:
    index: dict[str, Step] = {}
    for s in steps:
        if kind_of_safe(s) is None:
            raise ValidationError(
                f"steps must be journey steps (Entry, Wait, Branch, Send, Action, Goal, Exit); "
                f"got {type(s).__name__}",
                field="steps",
            )
        if s.name in index:
            raise ValidationError(
                f"step {s.name!r} is defined twice; step names must be unique",
                field="steps",
                value=s.name,
            )
        index[s.name] = s
    entries = [s.name for s in steps if isinstance(s, Entry)]
    if len(entries) != 1:
        raise ValidationError(
            f"a journey needs exactly one entry step; got {len(entries)}"
            + (f" ({', '.join(entries)})" if entries else ""),
            field="steps",
        )
    if not any(isinstance(s, Exit) for s in steps):
        raise ValidationError(
            "a journey needs an exit step (Exit): every path must be able to end",
            field="steps",
        )
    for s in steps:
        for attr, target in successors(s):
            if target is None:
                raise ValidationError(
                    f"step {s.name!r}: {attr} is not set (name the step that follows)",
                    field=attr,
                )
            if target not in index:
                raise ValidationError(
                    f"step {s.name!r}: {attr}={target!r} names no step; steps: {', '.join(index)}",
                    field=attr,
                    value=target,
                )
            if isinstance(index[target], Entry | Goal):
                raise ValidationError(
                    f"step {s.name!r}: {attr}={target!r} leads to the "
                    f"{kind_of(index[target])}, which no step may lead to",
                    field=attr,
                    value=target,
                )
    seen = {entries[0]}
    stack = [entries[0]]
    while stack:
        for _, target in successors(index[stack.pop()]):
            if target is not None and target not in seen:
                seen.add(target)
                stack.append(target)
    unreachable = [s.name for s in steps if s.name not in seen and not isinstance(s, Goal)]
    if unreachable:
        raise ValidationError(
            f"step {unreachable[0]!r} cannot be reached from the entry"
            + (f" (nor can {', '.join(map(repr, unreachable[1:]))})" if unreachable[1:] else ""),
            field="steps",
            value=unreachable[0],
        )
    cycle = _cycle_without_wait(index)
    if cycle:
        raise ValidationError(
            f"step {cycle[0]!r} is on a loop without a wait ({' -> '.join(cycle)}): a "
            "customer would go round it forever at one instant; put a Wait on the loop",
            field="steps",
            value=cycle[0],
        )
    return index


def kind_of_safe(step: Any) -> str | None:
    try:
        return kind_of(step)
    except KeyError:
        return None


def _cycle_without_wait(index: Mapping[str, Step]) -> list[str]:
    """Find a cycle through no wait (edges out of waits removed); empty if none."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(index, white)
    parent: dict[str, str] = {}
    for root in index:
        if colour[root] != white:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(_instant_next(index[root])))]
        colour[root] = grey
        while stack:
            node, it = stack[-1]
            target = next(it, None)
            if target is None:
                colour[node] = black
                stack.pop()
                continue
            if colour[target] == grey:
                path = [target]
                cur = node
                while cur != target:
                    path.append(cur)
                    cur = parent[cur]
                path.append(target)
                return [path[0], *reversed(path[1:-1]), path[-1]]
            if colour[target] == white:
                colour[target] = grey
                parent[target] = node
                stack.append((target, iter(_instant_next(index[target]))))
    return []


def _instant_next(step: Step) -> list[str]:
    if isinstance(step, Wait):
        return []
    return [t for _, t in successors(step) if t is not None]
