"""Hypothesis strategies internal to crmcore's own tests.

The strategies users get too (entities, values, purchase logs, workflows,
events) live in :mod:`crmcore.testing.strategies` and are imported from
there; this file keeps the ones that only make sense for this suite. Add a
section by *appending* it at the end of the file.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from crmcore.testing.strategies import aware_datetimes, custom_fields, ids, labels, optional

# ============================================================== clv: transaction logs

LOG_START = dt.datetime(2024, 1, 1)  # noqa: DTZ001 - logs are built naive, then localised
"""Day 0 of the logs drawn by :func:`log_rows` (a Monday)."""


def log_rows(
    *,
    first_minute: int = 0,
    last_minute: int = 120 * 1440,
    day_window: tuple[int, int] = (0, 1439),
    customers: str = "abcdef",
    min_size: int = 0,
    max_size: int = 25,
) -> st.SearchStrategy[list[tuple[str, int, float]]]:
    """Transaction rows ``(customer_id, minutes after LOG_START, amount)``.

    Minutes lie in ``[first_minute, last_minute]`` and, within each day, in
    ``day_window`` (minutes after midnight: ``(360, 1320)`` keeps every row
    between 06:00 and 22:00, away from any daylight-saving change); amounts
    have two decimals. Customer ids are one-letter strings, so the order of
    first appearance matters to the summaries built from them.
    """
    lo_day, hi_day = first_minute // 1440, last_minute // 1440

    def minute(day: int, clock: int) -> int:
        return min(max(day * 1440 + clock, first_minute), last_minute)

    minutes = st.builds(
        minute, st.integers(lo_day, hi_day), st.integers(day_window[0], day_window[1])
    ).filter(lambda m: day_window[0] <= m % 1440 <= day_window[1])
    row = st.tuples(
        st.sampled_from(customers), minutes, st.integers(1, 100_000).map(lambda c: c / 100)
    )
    return st.lists(row, min_size=min_size, max_size=max_size)


# ============================================================== marketing


@st.composite
def engagement_events(draw: st.DrawFn, /, **overrides: Any) -> Any:
    """Engagement events: any type on a channel it can happen on, customer and/or contact."""
    from crmcore.marketing import CHANNEL_TYPES, EngagementEvent

    kind = draw(overrides.get("kind", st.sampled_from(sorted(CHANNEL_TYPES))))
    channel = draw(overrides.get("channel", st.sampled_from(sorted(CHANNEL_TYPES[kind]))))
    who = draw(st.sampled_from(["customer", "contact", "both"]))
    return EngagementEvent(
        id=draw(overrides.get("id", ids())),
        kind=kind,
        channel=channel,
        at=draw(overrides.get("at", aware_datetimes())),
        customer_id=draw(ids()) if who != "contact" else None,
        contact_id=draw(ids()) if who != "customer" else None,
        campaign_id=draw(optional(ids())),
        message_id=draw(optional(labels())),
        variant=draw(optional(labels())),
        properties=draw(overrides.get("properties", custom_fields())),
    )


# ============================================================================
# Time-rule section (loyalty + pipeline): moments around a cut-off and a DST fold.
# ============================================================================

#: Europe/Paris falls back on 2026-10-25 at 01:00 UTC (03:00 CEST -> 02:00 CET):
#: the wall-clock hour 02:00-03:00 happens twice, 00:00-02:00 UTC.
PARIS_FALL_BACK_UTC = dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC)


def offsets(max_seconds: int, *, also: tuple[int, ...] = ()) -> st.SearchStrategy[int]:
    """Whole seconds in ``[0, max_seconds]``, drawing the values in ``also`` often
    (a cut-off and the instants exactly at it)."""
    base = st.integers(0, max_seconds)
    return st.one_of(base, st.sampled_from(also)) if also else base


@st.composite
def fold_moments(draw: st.DrawFn, count: int) -> list[dt.datetime]:
    """``count`` increasing instants within 90 minutes of the Paris fall-back, written
    on the Paris wall clock (so ``fold`` is set in the repeated hour)."""
    paris = ZoneInfo("Europe/Paris")
    secs = sorted(draw(st.lists(st.integers(-5400, 5400), min_size=count, max_size=count)))
    return [(PARIS_FALL_BACK_UTC + dt.timedelta(seconds=s)).astimezone(paris) for s in secs]


# ============================================================== journeys

JOURNEY_T0 = dt.datetime(2024, 3, 20, tzinfo=dt.UTC)  # ten days before Europe's spring DST
JOURNEY_ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", None]


@st.composite
def journey_definitions(draw: st.DrawFn, /) -> Any:
    """Journeys of two shapes (invitation with reply wait; nurturing loop), parameters drawn."""
    from crmcore.marketing.journeys import Action, Branch, Entry, Exit, Goal, Journey, Send, Wait
    from crmcore.pipeline import BusinessCalendar

    hours = st.integers(1, 72).map(lambda h: f"{h}h")
    quiet = draw(st.sampled_from([None, ("21:00", "08:00"), ("12:00", "13:30")]))
    policy = draw(st.sampled_from(["never", "cooldown", "always"]))
    common = {
        "quiet_hours": quiet,
        "re_entry": policy,
        "cooldown": draw(hours) if policy == "cooldown" else None,
        "control_fraction": draw(st.sampled_from([0.0, 0.3])),
        "tz": draw(st.sampled_from(["UTC", "Europe/Paris"])),
    }
    if draw(st.booleans()):
        steps = [
            Entry("start", event="download", next="invite"),
            Send("invite", channel="email", message_id="inv", next="await"),
            Wait(
                "await",
                event="reply",
                message_id=draw(st.sampled_from([None, "inv"])),
                timeout=draw(hours),
                on_timeout="follow",
                next="engaged",
            ),
            Branch("engaged", event="open", within=draw(hours), yes="task", no="end"),
            Action(
                "task",
                kind="create_task",
                params={"subject": "Call", "due_in": "1D"},
                next="end",
            ),
            Send(
                "follow",
                channel=draw(st.sampled_from(["email", "sms"])),
                message_id="f1",
                next="end",
            ),
            Goal("bought", event="purchase"),
            Exit("end"),
        ]
        return Journey(id="invite", steps=steps, **common)
    calendar = BusinessCalendar(tz=draw(st.sampled_from(["UTC", "Europe/Berlin"])))
    wait = draw(
        st.sampled_from(
            [
                Wait("pause", duration=draw(hours), next="ready"),
                Wait(
                    "pause",
                    until=draw(st.sampled_from(["09:00", "02:30"])),
                    calendar=calendar,
                    next="ready",
                ),
            ]
        )
    )
    steps = [
        Entry(
            "start",
            event=draw(st.sampled_from([None, "signup"])),
            rule="score >= 10",
            next="nurture",
        ),
        Send("nurture", channel="email", message_id="n1", next="pause"),
        wait,
        Branch("ready", rule="score >= 60", yes="handover", no="nurture"),
        Action("handover", kind="advance_stage", params={"to_stage": "qualified"}, next="end"),
        Exit("end"),
    ]
    return Journey(id="nurture", steps=steps, **common)


@st.composite
def journey_worlds(draw: st.DrawFn, /, journey: Any) -> dict[str, Any]:
    """Customers, profiles, events, consents, past sends and tick instants for a journey."""
    import pandas as pd

    people = ["a", "b", "c", "d", "e"][: draw(st.integers(1, 5))]
    minutes = st.integers(0, 20 * 24 * 60)

    def at(m: int) -> dt.datetime:
        return JOURNEY_T0 + dt.timedelta(minutes=m)

    types = ["download", "reply", "open", "purchase", "signup", "reply", "download"]
    # each person's events cluster within four days of their own start
    base = {p: draw(st.integers(0, 16 * 24 * 60)) for p in people}
    ev = [
        (p, kind, base[p] + offset, msg)
        for p, kind, offset, msg in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(people),
                    st.sampled_from(types),
                    st.integers(0, 3 * 24 * 60),
                    st.sampled_from([None, "inv", "other"]),
                ),
                min_size=len(people) * 2,
                max_size=30,
            )
        )
    ]
    # most people opted in before the start; some change their mind later
    cons = [
        (p, ch, True, -24 * 60)
        for p in people
        for ch in ("email", "sms")
        if draw(st.integers(0, 9)) < 8
    ]
    cons += draw(
        st.lists(
            st.tuples(
                st.sampled_from(people),
                st.sampled_from(["email", "sms"]),
                st.booleans(),
                st.integers(-5 * 24 * 60, 20 * 24 * 60),
            ),
            max_size=6,
        )
    )
    sends = draw(st.lists(st.tuples(st.sampled_from(people), minutes), max_size=8))
    profiles = pd.DataFrame(
        {
            "score": [draw(st.integers(0, 100)) for _ in people],
            "owner": [draw(st.sampled_from(["u1", "u2", None])) for _ in people],
            "tz": [draw(st.sampled_from(JOURNEY_ZONES)) for _ in people],
        },
        index=pd.Index(people, name="customer_id"),
    )
    ticks = sorted(draw(st.lists(minutes, min_size=1, max_size=4, unique=True)))
    return {
        "events": pd.DataFrame(
            {
                "customer_id": pd.Series([e[0] for e in ev], dtype=object),
                "type": pd.Series([e[1] for e in ev], dtype=object),
                "date": pd.to_datetime([at(e[2]) for e in ev], utc=True),
                "message_id": pd.Series([e[3] for e in ev], dtype=object),
            }
        ),
        "consents": pd.DataFrame(
            {
                "customer_id": pd.Series([c[0] for c in cons], dtype=object),
                "channel": pd.Series([c[1] for c in cons], dtype=object),
                "granted": pd.Series([c[2] for c in cons], dtype=bool),
                "date": pd.to_datetime([at(c[3]) for c in cons], utc=True),
            }
        ),
        "sends": pd.DataFrame(
            {
                "customer_id": pd.Series([s[0] for s in sends], dtype=object),
                "date": pd.to_datetime([at(s[1]) for s in sends], utc=True),
            }
        ),
        "profiles": profiles,
        "ticks": [at(m) for m in ticks],
    }


def unencodable_text() -> st.SearchStrategy[str]:
    """Text holding at least one lone surrogate (no UTF-8 encoding exists for it)."""
    around = st.text(st.characters(exclude_characters="\x00"), max_size=6)
    return st.tuples(around, st.characters(categories=("Cs",)), around).map("".join)
