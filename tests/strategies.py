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

    kind = draw(overrides.get("type", st.sampled_from(sorted(CHANNEL_TYPES))))
    channel = draw(overrides.get("channel", st.sampled_from(sorted(CHANNEL_TYPES[kind]))))
    who = draw(st.sampled_from(["customer", "contact", "both"]))
    return EngagementEvent(
        id=draw(overrides.get("id", ids())),
        type=kind,
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
