"""The time rule for the sales and service operations of :mod:`crmcore.pipeline` (hypothesis).

* No leak: every answer "as of" a cut-off is the same when inputs dated after
  it are added, removed or changed (history is everything at or before
  ``as_of``; an input exactly at ``as_of`` is history). Functions that read a
  documented window after ``as_of`` (``forecast_accuracy``'s actuals, read at
  the end of the forecast period) ignore everything after that window's end.
* Instants: where the inputs are aware instants and the answer does not
  depend on a wall clock, the same instants written in another zone give the
  same answer. ``complaint_trends`` and ``forecast_accuracy`` count calendar
  periods on the wall clock of their dates (docs/time.rst), so they are held
  to the no-leak rule only; ``due_activities`` takes "today" on the due
  dates' wall clock, so only its ``due_today`` / ``upcoming`` split may move.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.errors import ValidationError
from crmcore.pipeline import (
    OPPORTUNITY_WORKFLOW,
    TICKET_WORKFLOW,
    Article,
    activity_kpis,
    complaint_trends,
    decayed_engagement,
    deflection,
    due_activities,
    forecast_accuracy,
    load_articles,
    pipeline_snapshot,
    ticket_kpis,
)
from crmcore.storage import InMemoryStore
from tests.strategies import offsets

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASE = pd.Timestamp("2026-01-01", tz="UTC")
DAY = 86_400
SPAN = 120 * DAY  # seconds of history the inputs cover
CUT = 80 * DAY  # as_of (2026-03-22 00:00 UTC), in seconds after BASE
AS_OF = BASE + pd.Timedelta(seconds=CUT)
ZONES = st.sampled_from(["Asia/Tokyo", "America/New_York", "Europe/Paris", "Asia/Kathmandu"])

past = offsets(CUT, also=(CUT, CUT - 1))
anytime = offsets(SPAN, also=(CUT, CUT - 1, CUT + 1))
after_cut = st.integers(CUT + 1, SPAN + 30 * DAY)


def outcome(call: Any) -> Any:
    """The result, or the refusal: both sides of a property must agree on either."""
    try:
        return call()
    except ValidationError as err:
        return ("refused", err.field)


def in_utc(result: Any) -> Any:
    """Datetime columns in UTC: the same instants compare equal in any zone."""
    if not isinstance(result, pd.DataFrame):
        return result
    out = result.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC")
    return out


def same(a: Any, b: Any) -> None:
    assert type(a) is type(b), (a, b)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(in_utc(a), in_utc(b), check_exact=True)
    else:
        assert a == b


def stamps(seconds: list[Any], tz: str = "UTC") -> pd.DatetimeIndex:
    """Instants ``BASE + seconds`` written in ``tz`` (``None``: NaT)."""
    gaps = [np.nan if s is None else float(s) for s in seconds]
    return pd.DatetimeIndex(BASE + pd.to_timedelta(gaps, unit="s")).tz_convert(tz)


def later(data: st.DataObject, value: Any) -> Any:
    """A value dated after the cut-off, changed: another later moment or none."""
    return data.draw(st.one_of(st.none(), after_cut)) if value is not None else value


# ---------------------------------------------------------------- decayed_engagement

ENGAGEMENTS = ("web_visit", "download", "open", "click", "bounce")


def engagement_frame(rows: list[tuple[str, str, int]], tz: str = "UTC") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([c for c, _, _ in rows], dtype=object),
            "type": pd.Series([t for _, t, _ in rows], dtype=object),
            "date": stamps([s for _, _, s in rows], tz),
        }
    )


def engagement_rows(when: st.SearchStrategy[int], size: int) -> st.SearchStrategy[Any]:
    return st.lists(
        st.tuples(st.sampled_from("abcd"), st.sampled_from(ENGAGEMENTS), when), max_size=size
    )


@FAST
@given(
    engagement_rows(past, 25),
    engagement_rows(after_cut, 10),
    engagement_rows(after_cut, 10),
    ZONES,
    st.sampled_from(["30D", "7D", dt.timedelta(hours=36)]),
    st.sampled_from([None, ["d", "a", "z"]]),
)
def test_decayed_engagement_ignores_the_future_and_the_zone(
    history, future, other, zone, half_life, customers
):
    def score(rows: list[Any], tz: str = "UTC") -> Any:
        return outcome(
            lambda: decayed_engagement(
                engagement_frame(rows, tz),
                as_of=AS_OF.tz_convert(tz),
                half_life=half_life,
                customers=customers,
            )
        )

    expected = score(history)
    same(score(history + future), expected)
    same(score(future + history + other), expected)
    same(score(history + future, zone), expected)


# ---------------------------------------------------------------- follow-ups


@st.composite
def activity_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Activities: created any time, due maybe, completed maybe (not before creation)."""
    out = []
    for i in range(draw(st.integers(0, 12))):
        created = draw(anytime)
        done = draw(st.one_of(st.none(), st.integers(created, SPAN + 10 * DAY)))
        out.append(
            {
                "id": f"a{i}",
                "owner": draw(st.sampled_from("xy")),
                "kind": draw(st.sampled_from(["call", "meeting", "email", "task"])),
                "lead_id": draw(st.sampled_from([None, "L0", "L1", "L2"])),
                "opportunity_id": draw(st.sampled_from([None, "O0", "O1"])),
                "created": created,
                "due": draw(st.one_of(st.none(), st.integers(0, SPAN + 10 * DAY))),
                "done": done,
            }
        )
    return out


def activity_frame(rows: list[dict[str, Any]], tz: str = "UTC") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "owner": pd.Series([r["owner"] for r in rows], dtype=object),
            "kind": pd.Series([r["kind"] for r in rows], dtype=object),
            "lead_id": pd.Series([r["lead_id"] for r in rows], dtype=object),
            "opportunity_id": pd.Series([r["opportunity_id"] for r in rows], dtype=object),
            "created_at": stamps([r["created"] for r in rows], tz),
            "due_at": stamps([r["due"] for r in rows], tz),
            "completed_at": stamps([r["done"] for r in rows], tz),
        },
        index=pd.Index([r["id"] for r in rows], dtype=object),
    )


def rewrite_activities(data: st.DataObject, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop activities created after the cut-off; move or undo completions after it;
    add activities created after it."""
    out = []
    for row in rows:
        r = row
        if r["created"] > CUT:
            if data.draw(st.booleans()):
                continue
            r = {**r, "created": data.draw(after_cut)}
            r["done"] = None if r["done"] is None else max(r["done"], r["created"])
        elif r["done"] is not None and r["done"] > CUT:
            r = {**r, "done": later(data, r["done"])}
        out.append(r)
    for i in range(data.draw(st.integers(0, 3))):
        created = data.draw(after_cut)
        out.append(
            {
                "id": f"new{i}",
                "owner": data.draw(st.sampled_from("xyz")),
                "kind": "call",
                "lead_id": data.draw(st.sampled_from([None, "L0", "L9"])),
                "opportunity_id": data.draw(st.sampled_from([None, "O0", "O9"])),
                "created": created,
                "due": data.draw(st.one_of(st.none(), anytime)),
                "done": data.draw(st.one_of(st.none(), st.just(created + 60))),
            }
        )
    return out


def merged_days(frame: Any) -> Any:
    """``due_today`` read as ``upcoming``: which day is "today" is a wall-clock choice."""
    if not isinstance(frame, pd.DataFrame):
        return frame
    out = frame.copy()
    out["status"] = out["status"].astype(str).replace({"due_today": "upcoming"})
    return out


@FAST
@given(activity_rows(), st.data(), ZONES)
def test_due_activities_ignore_the_future_and_the_zone(rows, data, zone):
    def due(rs: list[dict[str, Any]], tz: str = "UTC") -> Any:
        return outcome(lambda: due_activities(activity_frame(rs, tz), as_of=AS_OF.tz_convert(tz)))

    expected = due(rows)
    same(due(rewrite_activities(data, rows)), expected)
    same(merged_days(due(rows, zone)), merged_days(expected))


@st.composite
def crm_tables(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Leads (id, owner, created) and opportunities (id, owner, stage, closed)."""
    leads = [
        {"id": f"L{i}", "owner": draw(st.sampled_from("xy")), "created": draw(anytime)}
        for i in range(3)
    ]
    opps = []
    for i in range(2):
        stage = draw(st.sampled_from(OPPORTUNITY_WORKFLOW.stage_names))
        closed = draw(st.one_of(st.none(), anytime)) if stage.startswith("closed") else None
        opps.append({"id": f"O{i}", "owner": draw(st.sampled_from("xy")), "stage": stage})
        opps[-1]["closed"] = closed
    return leads, opps


def lead_frame(leads: list[dict[str, Any]], tz: str = "UTC") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [r["id"] for r in leads],
            "owner": [r["owner"] for r in leads],
            "created_at": stamps([r["created"] for r in leads], tz),
        }
    )


def opportunity_frame(opps: list[dict[str, Any]], tz: str = "UTC") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [r["id"] for r in opps],
            "owner": [r["owner"] for r in opps],
            "stage": [r["stage"] for r in opps],
            "closed_at": stamps([r["closed"] for r in opps], tz),
        }
    )


@SLOW
@given(activity_rows(), crm_tables(), st.data(), ZONES, st.sampled_from([None, "30D"]))
def test_activity_kpis_ignore_the_future_and_the_zone(rows, tables, data, zone, lookback):
    leads, opps = tables

    def kpis(acts: Any, ls: Any, os_: Any, tz: str = "UTC") -> Any:
        return outcome(
            lambda: activity_kpis(
                activity_frame(acts, tz),
                as_of=AS_OF.tz_convert(tz),
                lookback=lookback,
                leads=lead_frame(ls, tz),
                opportunities=opportunity_frame(os_, tz),
            )
        )

    expected = kpis(rows, leads, opps)
    # leads created later: gone or created at another later moment; deals closed later:
    # reopened, lost or closed at another later moment
    new_leads = [
        {**r, "created": data.draw(after_cut)} if r["created"] > CUT else r
        for r in leads
        if r["created"] <= CUT or data.draw(st.booleans())
    ]
    new_opps = []
    for r in opps:
        if r["closed"] is not None and r["closed"] > CUT:
            stage = data.draw(st.sampled_from(OPPORTUNITY_WORKFLOW.stage_names))
            closed = data.draw(after_cut) if stage.startswith("closed") else None
            new_opps.append({**r, "stage": stage, "closed": closed})
        else:
            new_opps.append(r)
    same(kpis(rewrite_activities(data, rows), new_leads, new_opps), expected)
    same(kpis(rows, leads, opps, zone), expected)


# ---------------------------------------------------------------- tickets

TICKET_STAGES = TICKET_WORKFLOW.stage_names


@st.composite
def service_logs(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    tickets = [
        {"id": f"T{i}", "category": draw(st.sampled_from("ab")), "created": draw(anytime)}
        for i in range(draw(st.integers(1, 5)))
    ]
    tickets[0]["created"] = draw(past)  # at least one ticket by as_of
    ids = st.sampled_from([t["id"] for t in tickets])
    moves = [
        {
            "ticket": draw(ids),
            "from": draw(st.sampled_from(TICKET_STAGES)),
            "to": draw(st.sampled_from(TICKET_STAGES)),
            "at": draw(anytime),
        }
        for _ in range(draw(st.integers(0, 10)))
    ]
    work = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(anytime)
        work.append(
            {"ticket": draw(ids), "start": start, "end": start + draw(st.integers(0, DAY))}
        )
    surveys = [
        {"ticket": draw(ids), "score": draw(st.integers(1, 5)), "at": draw(anytime)}
        for _ in range(draw(st.integers(0, 5)))
    ]
    return {"tickets": tickets, "moves": moves, "work": work, "surveys": surveys}


def ticket_frames(log: dict[str, list[dict[str, Any]]], tz: str = "UTC") -> dict[str, Any]:
    t, m, w, s = log["tickets"], log["moves"], log["work"], log["surveys"]
    return {
        "tickets": pd.DataFrame(
            {
                "id": [r["id"] for r in t],
                "category": [r["category"] for r in t],
                "channel": "chat",
                "created_at": stamps([r["created"] for r in t], tz),
            }
        ),
        "events": pd.DataFrame(
            {
                "entity_id": pd.Series([r["ticket"] for r in m], dtype=object),
                "from_stage": pd.Series([r["from"] for r in m], dtype=object),
                "to_stage": pd.Series([r["to"] for r in m], dtype=object),
                "at": stamps([r["at"] for r in m], tz),
            }
        ),
        "worklogs": pd.DataFrame(
            {
                "ticket_id": pd.Series([r["ticket"] for r in w], dtype=object),
                "started_at": stamps([r["start"] for r in w], tz),
                "ended_at": stamps([r["end"] for r in w], tz),
            }
        ),
        "surveys": pd.DataFrame(
            {
                "ticket_id": pd.Series([r["ticket"] for r in s], dtype=object),
                "score": pd.Series([r["score"] for r in s], dtype=np.int64),
                "answered_at": stamps([r["at"] for r in s], tz),
            }
        ),
    }


def rewrite_service(data: st.DataObject, log: dict[str, Any]) -> dict[str, Any]:
    """Tickets created, moves made, work started and answers given after the cut-off:
    dropped, moved or changed; work running at the cut-off ends at another later moment."""
    tickets = [
        {**t, "created": data.draw(after_cut)} if t["created"] > CUT else t
        for t in log["tickets"]
        if t["created"] <= CUT or data.draw(st.booleans())
    ]
    ids = st.sampled_from([t["id"] for t in log["tickets"]])
    moves = [m for m in log["moves"] if m["at"] <= CUT] + [
        {
            "ticket": data.draw(ids),
            "from": data.draw(st.sampled_from(TICKET_STAGES)),
            "to": data.draw(st.sampled_from(TICKET_STAGES)),
            "at": data.draw(after_cut),
        }
        for _ in range(data.draw(st.integers(0, 4)))
    ]
    work = []
    for w in log["work"]:
        if w["start"] > CUT:
            continue
        work.append({**w, "end": data.draw(after_cut)} if w["end"] > CUT else w)
    surveys = [
        {**s, "score": data.draw(st.integers(1, 5))} if s["at"] > CUT else s
        for s in log["surveys"]
    ]
    return {"tickets": tickets, "moves": moves, "work": work, "surveys": surveys}


@SLOW
@given(service_logs(), st.data(), ZONES, st.sampled_from([None, "category"]))
def test_ticket_kpis_ignore_the_future_and_the_zone(log, data, zone, by):
    def kpis(lg: dict[str, Any], tz: str = "UTC") -> Any:
        f = ticket_frames(lg, tz)
        return outcome(
            lambda: ticket_kpis(
                f["tickets"],
                f["events"],
                as_of=AS_OF.tz_convert(tz),
                by=by,
                worklogs=f["worklogs"],
                surveys=f["surveys"],
            )
        )

    expected = kpis(log)
    same(kpis(rewrite_service(data, log)), expected)
    same(kpis(log, zone), expected)


@FAST
@given(
    st.lists(st.tuples(st.sampled_from("ab"), past), min_size=1, max_size=30),
    st.lists(st.tuples(st.sampled_from("abc"), after_cut), max_size=10),
    st.lists(st.tuples(st.sampled_from("abc"), after_cut), max_size=10),
    st.sampled_from(["M", "W"]),
    st.sampled_from([None, "category"]),
)
def test_complaint_trends_ignore_the_future(history, future, other, freq, by):
    def trends(rows: list[tuple[str, int]]) -> Any:
        frame = pd.DataFrame(
            {
                "category": pd.Series([c for c, _ in rows], dtype=object),
                "created_at": stamps([s for _, s in rows]),
            }
        )
        return outcome(lambda: complaint_trends(frame, as_of=AS_OF, freq=freq, by=by))

    expected = trends(history)
    same(trends(history + future), expected)
    same(trends(other + history), expected)


# ---------------------------------------------------------------- knowledge base


@FAST
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from(["A1", "A2"]), past),
        min_size=1,
        max_size=20,
    ),
    st.lists(st.tuples(st.sampled_from("abc"), past), max_size=10),
    st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from(["A1", "A9"]), after_cut)),
    st.lists(st.tuples(st.sampled_from("abcd"), after_cut), max_size=8),
    ZONES,
    st.sampled_from(["3D", "1D"]),
    st.sampled_from([None, "article_id"]),
)
def test_deflection_ignores_the_future_and_the_zone(
    views, tickets, later_views, later_tickets, zone, window, by
):
    def rate(vs: list[Any], ts: list[Any], tz: str = "UTC") -> Any:
        v = pd.DataFrame(
            {
                "customer_id": pd.Series([c for c, _, _ in vs], dtype=object),
                "article_id": pd.Series([a for _, a, _ in vs], dtype=object),
                "date": stamps([s for _, _, s in vs], tz),
            }
        )
        t = pd.DataFrame(
            {
                "customer_id": pd.Series([c for c, _ in ts], dtype=object),
                "created_at": stamps([s for _, s in ts], tz),
            }
        )
        return outcome(lambda: deflection(v, t, as_of=AS_OF.tz_convert(tz), window=window, by=by))

    expected = rate(views, tickets)
    same(rate(views + later_views, later_tickets + tickets), expected)
    same(rate(later_views + views, tickets), expected)
    same(rate(views + later_views, tickets + later_tickets, zone), expected)


def article_store(saves: list[tuple[str, int, int]], tz: str = "UTC") -> InMemoryStore:
    """A store holding one ``article_saved`` per (article, revision, second)."""
    store = InMemoryStore()
    zone = ZoneInfo(tz)
    for n, (article, revision, second) in enumerate(saves):
        at = (BASE + pd.Timedelta(seconds=second)).to_pydatetime().astimezone(zone)
        a = Article(
            article,
            "Refunds",
            f"body {n}",
            at,
            status="published" if revision == 1 else "draft",
            revision=revision,
        )
        store.events.append(a.saved(at=at))
    return store


def article_saves(when: st.SearchStrategy[int], size: int) -> st.SearchStrategy[Any]:
    return st.lists(
        st.tuples(st.sampled_from(["A1", "A2"]), st.integers(1, 3), when), max_size=size
    )


@FAST
@given(article_saves(past, 12), article_saves(after_cut, 6), article_saves(after_cut, 6), ZONES)
def test_load_articles_ignores_later_saves_and_the_zone(history, future, other, zone):
    cut = AS_OF.to_pydatetime()

    def loaded(saves: list[Any], tz: str = "UTC") -> list[tuple[Any, ...]]:
        # the body names the save, so a later save of a revision would show
        articles = load_articles(article_store(saves, tz).events, as_of=cut)
        return [(a.id, a.revision, a.status, a.body, a.updated_at) for a in articles]

    expected = loaded(history)
    assert loaded(history + future) == expected
    assert loaded(history + other) == expected
    assert loaded(history + future, zone) == expected


# ---------------------------------------------------------------- pipeline snapshots

END_OF_PERIOD = 90 * DAY  # 2026-04-01 00:00 UTC: the end of the month forecast at AS_OF
STAGES = OPPORTUNITY_WORKFLOW.stage_names


@st.composite
def deals(draw: st.DrawFn) -> dict[str, Any]:
    """Opportunities (created any time) and their moves, none before their creation."""
    opps, moves = [], []
    for i in range(draw(st.integers(1, 5))):
        created = draw(past if i == 0 else anytime)  # at least one deal by as_of
        opps.append(
            {
                "id": f"o{i}",
                "owner": draw(st.sampled_from("xy")),
                "created": created,
                "amount": float(draw(st.integers(1, 9)) * 10),
                "close": draw(st.integers(40, 130)),  # close date: days after BASE
            }
        )
        moves.extend(
            {
                "id": f"o{i}",
                "stage": draw(st.sampled_from(STAGES)),
                "at": draw(st.one_of(st.integers(created, SPAN), st.just(CUT))),
                "amount": draw(st.one_of(st.none(), st.integers(1, 9).map(lambda x: x * 10.0))),
                "close": draw(st.one_of(st.none(), st.integers(40, 130))),
            }
            for _ in range(draw(st.integers(0, 4)))
        )
    moves = [m for m in moves if m["at"] >= next(o["created"] for o in opps if o["id"] == m["id"])]
    return {"opps": opps, "moves": moves}


def deal_frames(d: dict[str, Any], tz: str = "UTC") -> tuple[pd.DataFrame, pd.DataFrame]:
    o, m = d["opps"], d["moves"]
    day = pd.Timestamp("2026-01-01")
    opps = pd.DataFrame(
        {
            "id": [r["id"] for r in o],
            "owner": [r["owner"] for r in o],
            "created_at": stamps([r["created"] for r in o], tz),
            "amount": [r["amount"] for r in o],
            "close_date": pd.DatetimeIndex([day + pd.Timedelta(days=r["close"]) for r in o]),
        }
    )
    events = pd.DataFrame(
        {
            "entity_id": pd.Series([r["id"] for r in m], dtype=object),
            "to_stage": pd.Series([r["stage"] for r in m], dtype=object),
            "at": stamps([r["at"] for r in m], tz),
            "amount": pd.Series([np.nan if r["amount"] is None else r["amount"] for r in m]),
            "close_date": pd.DatetimeIndex(
                [pd.NaT if r["close"] is None else day + pd.Timedelta(days=r["close"]) for r in m]
            ),
        }
    )
    return events, opps


def rewrite_deals(data: st.DataObject, d: dict[str, Any], end: int) -> dict[str, Any]:
    """Opportunities created after ``end`` (and their moves) dropped; moves after it
    dropped, changed or added."""
    opps = [o for o in d["opps"] if o["created"] <= end or data.draw(st.booleans())]
    kept = {o["id"]: o["created"] for o in opps}
    moves = [m for m in d["moves"] if m["id"] in kept and m["at"] <= end]
    moves.extend(
        {**m, "stage": data.draw(st.sampled_from(STAGES)), "amount": 5.0}
        for m in d["moves"]
        if m["id"] in kept and m["at"] > end and data.draw(st.booleans())
    )
    if data.draw(st.booleans()):
        owner = data.draw(st.sampled_from("xyz"))
        created = data.draw(st.integers(end + 1, SPAN))
        opps.append({"id": "late", "owner": owner, "created": created, "amount": 7.0, "close": 95})
        moves.append(
            {"id": "late", "stage": "closed_won", "at": created, "amount": None, "close": None}
        )
    return {"opps": opps, "moves": moves}


@FAST
@given(deals(), st.data(), ZONES)
def test_pipeline_snapshot_ignores_the_future_and_the_zone(d, data, zone):
    def snap(dd: dict[str, Any], tz: str = "UTC") -> Any:
        events, opps = deal_frames(dd, tz)
        return outcome(lambda: pipeline_snapshot(events, opps, as_of=AS_OF.tz_convert(tz)))

    expected = snap(d)
    same(snap(rewrite_deals(data, d, CUT)), expected)
    same(snap(d, zone), expected)


FORECAST = ["closed", "commit", "best_case", "pipeline"]


@pytest.mark.slow
@FAST
@given(deals(), st.data(), st.sampled_from([None, "owner"]))
def test_forecast_accuracy_forecasts_at_as_of_and_actuals_at_the_period_end(d, data, by):
    """The forecasts read nothing after ``as_of``; the actuals, read at the end of the
    period forecast, nothing after that end."""
    cuts = [AS_OF - pd.Timedelta(days=31), AS_OF]  # forecast February's rest and March's

    def acc(dd: dict[str, Any], as_of: Any = cuts) -> Any:
        events, opps = deal_frames(dd)
        return outcome(lambda: forecast_accuracy(events, opps, as_of=as_of, freq="M", by=by))

    expected = acc(d)
    got = acc(rewrite_deals(data, d, END_OF_PERIOD - 1))
    assert type(got) is type(expected)
    if isinstance(expected, tuple):
        assert got == expected
    else:
        pd.testing.assert_frame_equal(got.detail, expected.detail, check_exact=True)
        pd.testing.assert_frame_equal(got.summary, expected.summary, check_exact=True)

    # moves after as_of change the actual, never the forecast made at as_of
    moved = {
        "opps": d["opps"],
        "moves": [m for m in d["moves"] if m["at"] <= CUT]
        + [
            {**m, "stage": data.draw(st.sampled_from(STAGES)), "amount": 3.0, "close": 85}
            for m in d["moves"]
            if m["at"] > CUT
        ],
    }
    before, after = acc(d, [AS_OF]), acc(moved, [AS_OF])
    assert type(before) is type(after)
    if not isinstance(before, tuple):
        pd.testing.assert_frame_equal(
            after.detail[FORECAST], before.detail[FORECAST], check_exact=True
        )
