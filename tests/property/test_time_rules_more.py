"""The time rule for the functions taking ``as_of`` that had no property of their own.

For random logs and cut-offs (docs/time.rst):

* **No leak.** The answer at ``as_of`` is the same when events after it are
  added, removed or changed. For a backtest, whose labels read the window
  ``(as_of, as_of + horizon]``, the same holds for events after the window.
* **Instants.** Where the answer depends on instants only, the same instants
  written in another zone give the same answer. Calendar things (the hour of
  the week of a send-time profile, a customer's age, calendar windows such as
  ``"6M"``) follow a wall clock by design: those properties fix the clock
  (``tz=``) or leave the calendar part out, and say so.

Every public function taking ``as_of`` is named in the registry of
``test_time_rule_coverage.py`` with the test that holds it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crmcore.churn import backtest, retention_curve
from crmcore.domain import Consent, Contact, Customer, Money, Ticket, current_consent
from crmcore.errors import ValidationError
from crmcore.identity import customer_frame, data_quality
from crmcore.loyalty import EarnRule, PointsLedger, Program, Purchase, Redemption, Tier
from crmcore.marketing import send_time_backtest
from crmcore.pipeline import (
    LEAD_WORKFLOW,
    TICKET_WORKFLOW,
    BusinessCalendar,
    LeadScorer,
    SLAPolicy,
    StageChanged,
    evaluate_time_split,
    lead_outcomes,
    sla_status,
    stage_velocity,
)

RULE = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASE = pd.Timestamp("2026-01-05", tz="UTC")  # a Monday
DAY = 86_400
SPAN = 120 * DAY  # seconds of history
CUT = 80 * DAY  # as_of, in seconds after BASE
AS_OF = BASE + pd.Timedelta(seconds=CUT)
ZONES = st.sampled_from(["Asia/Tokyo", "America/New_York", "Europe/Paris", "Asia/Kathmandu"])


def outcome(call: Any) -> Any:
    """The result, or the refusal: both sides of a property must agree on either."""
    try:
        result = call()
    except ValidationError as err:
        event(f"refused ({err.field})")
        return ("refused", err.field)
    event("answered")
    return result


def same(a: Any, b: Any) -> None:
    assert type(a) is type(b), (a, b)
    if isinstance(a, tuple):
        assert a == b
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        assert a == b


def in_utc(result: Any) -> Any:
    """Datetime columns shown in UTC: the same instants compare equal, whatever zone they
    are written in."""
    if not isinstance(result, pd.DataFrame):
        return result
    out = result.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC")
    return out


def stamps(seconds: list[int], tz: str = "UTC") -> pd.DatetimeIndex:
    return pd.DatetimeIndex(BASE + pd.to_timedelta(seconds, unit="s")).tz_convert(tz)


def maybe_stamps(seconds: list[int | None], tz: str = "UTC") -> pd.DatetimeIndex:
    """Like :func:`stamps`, with ``None`` for a missing moment (NaT)."""
    gaps = [np.nan if v is None else float(v) for v in seconds]
    return pd.DatetimeIndex(BASE + pd.to_timedelta(gaps, unit="s")).tz_convert(tz)


def near_cut(lo: int = 0, hi: int = SPAN) -> st.SearchStrategy[int]:
    """Seconds in ``[lo, hi]``, often exactly at the cut-off or one second either side."""
    edges = [s for s in (CUT - 1, CUT, CUT + 1) if lo <= s <= hi]
    return st.one_of(st.integers(lo, hi), st.sampled_from(edges)) if edges else st.integers(lo, hi)


after_cut = st.integers(CUT + 1, SPAN + 30 * DAY)


# ---------------------------------------------------------------- churn.retention_curve


@st.composite
def subscriptions(draw: st.DrawFn) -> list[tuple[int, int | None]]:
    """(start, end or None) in seconds; starts and ends crowd the cut-off."""
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        start = draw(near_cut())
        end = draw(st.one_of(st.none(), near_cut(start, SPAN + 30 * DAY)))
        rows.append((start, end))
    return rows


def subscription_frame(rows: list[tuple[int, int | None]], tz: str = "UTC") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "plan": ["a" if s % 2 else "b" for s, _ in rows],  # a property of the row
            "start": stamps([s for s, _ in rows], tz),
            "end": maybe_stamps([e for _, e in rows], tz),
        }
    )


@st.composite
def unknown_after_cut(
    draw: st.DrawFn, rows: list[tuple[int, int | None]]
) -> list[tuple[int, int | None]]:
    """What happens after the cut-off redrawn: later starts and later ends."""
    out = []
    for start, end in rows:
        begin, stop = start, end
        if start > CUT:
            if draw(st.booleans()):
                continue  # removed
            begin = draw(after_cut)
        if end is not None and end > CUT:
            stop = draw(st.one_of(st.none(), st.integers(max(begin, CUT + 1), SPAN + 60 * DAY)))
        out.append((begin, stop))
    extra = draw(st.lists(after_cut, max_size=3))
    return out + [(s, None) for s in extra]


@RULE
@given(subscriptions(), st.data(), ZONES, st.sampled_from([None, "plan"]))
def test_retention_curve_ignores_the_future_and_the_zone(rows, data, zone, by):
    def curve(r: list[tuple[int, int | None]], tz: str = "UTC", as_of: Any = AS_OF) -> Any:
        return outcome(lambda: retention_curve(subscription_frame(r, tz), as_of=as_of, by=by))

    expected = curve(rows)
    same(curve(data.draw(unknown_after_cut(rows))), expected)
    # the same instants written in another zone (tenures are durations between instants)
    same(curve(rows, zone, AS_OF.tz_convert(zone)), expected)


# ---------------------------------------------------------------- pipeline: lead logs

LEAD_STAGES = list(LEAD_WORKFLOW.stage_names)


@st.composite
def lead_moves(draw: st.DrawFn) -> list[tuple[str, str, str, int]]:
    """Stage changes (entity, from, to, second) of a few leads, crowding the cut-off."""
    moves = []
    for e in range(draw(st.integers(1, 6))):
        at, stage = draw(near_cut(0, CUT)), "new"
        for _ in range(draw(st.integers(1, 4))):
            nxt = draw(st.sampled_from([s for s in LEAD_STAGES if s != stage]))
            moves.append((f"l{e}", stage, nxt, at))
            at += draw(st.sampled_from([0, 1, 3600, 5 * DAY, 30 * DAY]))
            stage = nxt
            if stage in LEAD_WORKFLOW.final:
                break
    return moves


def move_frame(moves: list[tuple[str, str, str, int]], tz: str = "UTC") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity_id": [m[0] for m in moves],
            "from_stage": [m[1] for m in moves],
            "to_stage": [m[2] for m in moves],
            "at": stamps([m[3] for m in moves], tz),
        }
    )


@st.composite
def futures(draw: st.DrawFn, moves: list[tuple[str, str, str, int]]) -> list[Any]:
    """``moves`` with the ones after the cut-off removed, moved, re-staged, or new ones added."""
    out = []
    for m in moves:
        if m[3] <= CUT:
            out.append(m)
        elif draw(st.booleans()):
            out.append((m[0], m[1], draw(st.sampled_from(LEAD_STAGES)), draw(after_cut)))
    for i in range(draw(st.integers(0, 3))):
        ent = draw(st.sampled_from([m[0] for m in moves] + [f"new{i}"]))
        pair = draw(st.permutations(LEAD_STAGES).map(lambda p: p[:2]))
        # anywhere in the log: moves at one instant keep their order (the log's), the
        # others need none
        out.insert(draw(st.integers(0, len(out))), (ent, pair[0], pair[1], draw(after_cut)))
    return out


@RULE
@given(lead_moves(), st.data(), ZONES)
def test_lead_outcomes_ignore_the_future_and_the_zone(moves, data, zone):
    expected = lead_outcomes(move_frame(moves), as_of=AS_OF).sort_index()
    changed = data.draw(futures(moves))
    got = lead_outcomes(move_frame(changed), as_of=AS_OF).sort_index()
    pd.testing.assert_frame_equal(got, expected)
    moved = lead_outcomes(move_frame(moves, zone), as_of=AS_OF.tz_convert(zone)).sort_index()
    pd.testing.assert_frame_equal(moved, expected)


@RULE
@given(lead_moves(), st.data(), ZONES, st.sampled_from(["D", "h"]))
def test_stage_velocity_ignores_the_future_and_the_zone(moves, data, zone, unit):
    def velocity(m: list[Any], tz: str = "UTC", as_of: Any = AS_OF) -> Any:
        return outcome(
            lambda: stage_velocity(
                move_frame(m, tz), workflow=LEAD_WORKFLOW, as_of=as_of, unit=unit
            )
        )

    expected = velocity(moves)
    same(velocity(data.draw(futures(moves))), expected)
    same(velocity(moves, zone, AS_OF.tz_convert(zone)), expected)


@st.composite
def closed_leads(draw: st.DrawFn) -> pd.DataFrame:
    """Closed leads around the cut-off; a won and a lost one on each side of it."""
    n = draw(st.integers(0, 20))
    created = [draw(near_cut(0, SPAN)) for _ in range(n)] + [CUT - DAY, CUT, CUT + 1, CUT + DAY]
    return pd.DataFrame(
        {
            "source": [draw(st.sampled_from(["web", "event", "referral"])) for _ in created],
            "stage": [draw(st.sampled_from(["new", "contacted", "qualified"])) for _ in created],
            "won": [draw(st.sampled_from([0, 1])) for _ in range(n)] + [0, 1, 0, 1],
            "created_at": stamps(created),
        }
    )


@RULE
@given(closed_leads(), closed_leads(), ZONES, st.sampled_from([None, "20D"]))
def test_evaluate_time_split_reads_history_and_its_window_only(leads, others, zone, horizon):
    scorer = LeadScorer()

    def auc(frame: pd.DataFrame, as_of: Any = AS_OF) -> Any:
        return outcome(lambda: evaluate_time_split(scorer, frame, as_of=as_of, horizon=horizon))

    expected = auc(leads)
    # by definition: a clone fitted on the leads created at or before as_of, scored on
    # those created in (as_of, as_of + horizon]
    end = AS_OF + pd.Timedelta(horizon or "3650D")
    train = leads[leads["created_at"] <= AS_OF]
    test = leads[(leads["created_at"] > AS_OF) & (leads["created_at"] <= end)]
    if not isinstance(expected, tuple):
        fitted = LeadScorer().fit(train)
        assert expected == float(fitted.score(test))
    # leads created after the test window change nothing
    if horizon is not None:
        later = others.assign(created_at=end + pd.to_timedelta(others.index + 1, unit="s"))
        same(auc(pd.concat([leads, later], ignore_index=True)), expected)
    # the same creation instants in another zone
    moved = leads.assign(created_at=leads["created_at"].dt.tz_convert(zone))
    same(auc(moved, AS_OF.tz_convert(zone)), expected)


# ---------------------------------------------------------------- pipeline.sla_status

SLA = SLAPolicy(
    dt.timedelta(hours=4),
    dt.timedelta(hours=24),
    BusinessCalendar({d: [("08:00", "18:00")] for d in range(5)}, tz="Europe/Paris"),
)
TICKET_STAGES = list(TICKET_WORKFLOW.stage_names)


@RULE
@given(
    st.lists(st.tuples(st.sampled_from(TICKET_STAGES), near_cut(0, SPAN)), max_size=8),
    st.lists(st.tuples(st.sampled_from(TICKET_STAGES), after_cut), max_size=4),
    ZONES,
)
def test_sla_status_ignores_moves_after_as_of_and_the_zone(moves, later, zone):
    created = BASE.to_pydatetime()
    ticket = Ticket(id="T", customer_id="C", subject="s", channel="email", created_at=created)

    def events(pairs: list[tuple[str, int]], tz: Any = dt.UTC) -> list[StageChanged]:
        out, stage = [], "new"
        for nxt, s in sorted(pairs, key=lambda p: p[1]):
            at = (created + dt.timedelta(seconds=s)).astimezone(tz)
            out.append(StageChanged("T", stage, nxt, at, workflow="ticket"))
            stage = nxt
        return out

    def status(pairs: list[tuple[str, int]], tz: Any = dt.UTC) -> Any:
        as_of = AS_OF.to_pydatetime().astimezone(tz)
        return outcome(lambda: sla_status(ticket, events(pairs, tz), SLA, as_of=as_of))

    past = [m for m in moves if m[1] <= CUT]
    expected = status(past)
    assert status(moves + later) == expected
    assert status(past, ZoneInfo(zone)) == expected


# ---------------------------------------------------------------- marketing.send_time_backtest

KINDS = ["deliver", "open", "open", "click", "send"]


@st.composite
def engagement(draw: st.DrawFn) -> list[tuple[str, str, int]]:
    """(customer, type, second): opens and clicks on both sides of the cut-off."""
    return [
        (
            draw(st.sampled_from("abcd")),
            draw(st.sampled_from(KINDS)),
            draw(near_cut(CUT - 30 * DAY, CUT + 20 * DAY)),
        )
        for _ in range(draw(st.integers(4, 40)))
    ]


def engagement_frame(rows: list[tuple[str, str, int]], tz: str = "UTC") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "type": [r[1] for r in rows],
            "date": stamps([r[2] for r in rows], tz),
        }
    )


@FEW
@given(
    engagement(),
    st.lists(st.tuples(st.sampled_from("abcde"), st.sampled_from(KINDS)), max_size=6),
    ZONES,
)
def test_send_time_backtest_reads_history_and_its_window_only(rows, extra, zone):
    horizon = pd.Timedelta("10D")
    end = CUT + 10 * DAY

    def run(r: list[tuple[str, str, int]], tz: str = "UTC") -> Any:
        return outcome(
            lambda: send_time_backtest(
                engagement_frame(r, tz),
                as_of=AS_OF.tz_convert(tz),
                horizon=horizon,
                tz="Asia/Tokyo",  # the hours of the week on one stated clock
            )
        )

    expected = run(rows)
    inside = [r for r in rows if r[2] <= end]
    after = [(c, k, end + 1 + i * 3600) for i, (c, k) in enumerate(extra)]
    same(run(inside + after), expected)
    same(run(rows, zone), expected)


# ---------------------------------------------------------------- identity


@st.composite
def people(draw: st.DrawFn) -> tuple[pd.DataFrame, list[tuple[str, int, float]]]:
    """Customers (created around the cut-off) and their purchases."""
    n = draw(st.integers(1, 6))
    ids = [f"c{i}" for i in range(n)]
    created = [draw(st.one_of(st.none(), near_cut(0, SPAN))) for _ in ids]
    customers = pd.DataFrame(
        {
            "id": ids,
            "birth_date": [
                draw(st.dates(dt.date(1950, 1, 1), dt.date(2005, 12, 31))).isoformat() for _ in ids
            ],
            "region": [draw(st.sampled_from(["north", "south"])) for _ in ids],
            "created_at": maybe_stamps(created),
        }
    )
    purchases = [
        (draw(st.sampled_from(ids)), draw(near_cut(0, SPAN)), float(draw(st.integers(1, 500))))
        for _ in range(draw(st.integers(0, 20)))
    ]
    return customers, purchases


def purchase_frame(rows: list[tuple[str, int, float]], tz: str = "UTC") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype=object),
            "date": stamps([r[1] for r in rows], tz),
            "amount": [r[2] for r in rows],
        }
    )


@FEW
@given(people(), st.data(), ZONES)
def test_customer_frame_ignores_the_future_and_the_zone(case, data, zone):
    customers, rows = case
    windows = ["7D", "30D", "3M"]

    def frame(c: pd.DataFrame, r: list[Any], tz: str = "UTC", **kw: Any) -> Any:
        kw.setdefault("as_of", AS_OF)
        kw.setdefault("windows", windows)
        return outcome(lambda: customer_frame(c, purchase_frame(r, tz), **kw))

    expected = frame(customers, rows)
    # purchases after as_of removed, moved, re-valued or added; customers created later added
    kept = [r for r in rows if r[1] <= CUT]
    moved = [(c, data.draw(after_cut), v + 1) for c, s, v in rows if s > CUT]
    late = pd.DataFrame(
        {
            "id": ["zz-late"],
            "birth_date": ["1990-01-01"],
            "region": ["north"],
            "created_at": [AS_OF + pd.Timedelta("1s")],
        }
    )
    later_customers = pd.concat([customers, late], ignore_index=True)
    same(frame(customers, kept), expected)
    same(frame(later_customers, kept + moved + [("zz-late", CUT + 5, 9.0)]), expected)
    # instants: the same purchases and creation times in another zone, fixed windows only
    # (calendar windows such as "3M" and the age follow a wall clock by design)
    fixed = frame(customers, rows, windows=["7D", "30D"], birth_col=None)
    in_zone = customers.assign(created_at=customers["created_at"].dt.tz_convert(zone))
    there = frame(
        in_zone, rows, windows=["7D", "30D"], birth_col=None, tz=zone, as_of=AS_OF.tz_convert(zone)
    )
    same(in_utc(there), fixed)


@RULE
@given(
    st.lists(st.one_of(st.none(), near_cut(0, SPAN)), min_size=1, max_size=12),
    st.data(),
    ZONES,
    st.sampled_from(["30D", "90D"]),
)
def test_data_quality_staleness_ignores_later_updates_and_the_zone(updated, data, zone, stale):
    n = len(updated)
    emails = [
        data.draw(st.sampled_from(["a@example.org", "b@example.org", "nope", None]))
        for _ in updated
    ]

    def report(seconds: list[int | None], tz: str = "UTC") -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "id": range(n),
                "email": emails,
                "updated_at": maybe_stamps(seconds, tz),
            }
        )
        return data_quality(
            frame,
            fields={"email": "email"},
            as_of=AS_OF.tz_convert(tz),
            updated_col="updated_at",
            stale_after=stale,
        )

    expected = report(updated)
    # an update after as_of, moved to any other moment after it: the same answer
    redrawn = [s if s is None or s <= CUT else data.draw(after_cut) for s in updated]
    pd.testing.assert_frame_equal(report(redrawn), expected)
    pd.testing.assert_frame_equal(report(updated, zone), expected)


# ---------------------------------------------------------------- churn.backtest


@FEW
@given(
    st.lists(
        st.tuples(st.sampled_from("abcdefgh"), near_cut(0, CUT + 20 * DAY)),
        min_size=8,
        max_size=40,
    ),
    st.data(),
)
def test_backtest_reads_the_past_and_the_label_window_only(rows, data):
    seen: list[int] = []

    def recency(past: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
        seen.append(int(pd.Timestamp(past["date"].max()).value))
        assert pd.Timestamp(past["date"].max()) <= as_of
        last = past.groupby("customer_id")["date"].max()
        return (as_of - last).dt.total_seconds()

    def run(r: list[tuple[str, int]]) -> Any:
        log = purchase_frame([(c, s, 1.0) for c, s in r])
        return outcome(
            lambda: backtest(
                log,
                as_of=[AS_OF],
                horizon="10D",
                models={"recency": recency},
                observed_until=AS_OF + pd.Timedelta("60D"),
            )
        )

    expected = run(rows)
    end = CUT + 10 * DAY
    later = data.draw(
        st.lists(
            st.tuples(st.sampled_from("abcxyz"), st.integers(end + 1, end + 40 * DAY)), max_size=8
        )
    )
    got = run([r for r in rows if r[1] <= end] + later)
    if isinstance(expected, tuple):
        assert got == expected
        return
    pd.testing.assert_frame_equal(got.metrics, expected.metrics)
    pd.testing.assert_frame_equal(got.gains, expected.gains)
    assert max(seen) <= AS_OF.value


# ---------------------------------------------------------------- domain: consent at a moment


@RULE
@given(
    st.lists(
        st.tuples(st.sampled_from(["email", "sms"]), st.booleans(), near_cut(0, SPAN)), max_size=8
    ),
    st.lists(st.tuples(st.sampled_from(["email", "sms"]), st.booleans(), after_cut), max_size=4),
    ZONES,
)
def test_consent_at_a_moment_ignores_later_consents_and_the_zone(history, later, zone):
    def consents(rows: list[tuple[str, bool, int]], tz: Any = dt.UTC) -> list[Consent]:
        return [
            Consent(
                channel=c,
                granted=g,
                at=(BASE + pd.Timedelta(seconds=s)).to_pydatetime().astimezone(tz),
            )
            for c, g, s in rows
        ]

    as_of = AS_OF.to_pydatetime()
    past = [r for r in history if r[2] <= CUT]
    for channel in ("email", "sms", "post"):
        expected = current_consent(consents(past), channel, as_of=as_of)
        assert current_consent(consents(history + later), channel, as_of=as_of) == expected
        there = current_consent(
            consents(history, ZoneInfo(zone)), channel, as_of=as_of.astimezone(ZoneInfo(zone))
        )
        assert there == expected  # consents compare their moments as instants
        # the parties' queries: a Customer and a Contact
        for party in (Customer, partial(Contact, account_id="a")):
            full = party(id="c", name="n", created_at=BASE, consents=consents(history + later))
            cut = party(id="c", name="n", created_at=BASE, consents=consents(past))
            assert full.current_consent(channel, as_of=as_of) == cut.current_consent(channel)
            assert full.has_consent(channel, as_of=as_of) == cut.has_consent(channel)


# ---------------------------------------------------------------- loyalty: ledger queries

PROGRAM = Program(
    earn_rules=[EarnRule(name="base", per_unit=1)],
    tiers=[Tier(name="member", points=0), Tier(name="gold", points=200, window=1)],
    expiry=1,
    review_every=1,
    tz="Europe/Paris",
)


@RULE
@given(
    st.lists(
        st.tuples(near_cut(0, SPAN), st.integers(100, 30_000), st.booleans()),
        min_size=1,
        max_size=12,
    ),
    ZONES,
)
def test_ledger_queries_ignore_later_entries_and_the_zone(events, zone):
    led = PointsLedger(PROGRAM, account_id="m")
    cut_ledger = None
    for i, (s, cents, redeem) in enumerate(sorted(events)):
        at = (BASE + pd.Timedelta(seconds=s)).to_pydatetime()
        if cut_ledger is None and s > CUT:
            cut_ledger = led
        if redeem and led.balance(at) > 0:
            led = led.post(Redemption(event_id=f"r{i}", at=at, points=led.balance(at)))
        else:
            amount = Money(amount=Decimal(cents) / 100, currency="EUR")
            led = led.post(Purchase(event_id=f"o{i}", at=at, amount=amount))
    cut_ledger = led if cut_ledger is None else cut_ledger
    as_of = AS_OF.to_pydatetime()
    there = as_of.astimezone(ZoneInfo(zone))

    def answers(ledger: PointsLedger, moment: Any) -> tuple[Any, ...]:
        return (
            ledger.balance(moment),
            ledger.debt(moment),
            ledger.lots(moment),
            ledger.next_expiry(moment),
            ledger.tier(moment),
            ledger.summary(moment),
        )

    expected = answers(cut_ledger, as_of)
    assert answers(led, as_of) == expected
    assert answers(led, there)[:5] == expected[:5]
