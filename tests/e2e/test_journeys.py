"""End to end: the seeds' marketing-automation scenario, driven like a scheduler would.

Whitepaper download -> seminar invitation -> no reply within 7 days -> follow-up; a
reply creates a call task for the lead's owner; a nurturing journey hands a lead to
sales (its stage advanced with crmcore.pipeline.advance) when its score crosses 70.
"""

from __future__ import annotations

import datetime as dt

import attrs
import pandas as pd
import pytest

from crmcore.domain import Activity, Lead
from crmcore.marketing.journeys import (
    Action,
    Branch,
    Entry,
    Exit,
    FrequencyCap,
    Journey,
    Send,
    Wait,
    journey_funnel,
    tick,
)
from crmcore.pipeline import LEAD_WORKFLOW, StageChanged

# the whole job on a generated company: run in CI's slow step (tests/README.md)
pytestmark = pytest.mark.slow

T = dt.datetime(2024, 9, 2, 9, tzinfo=dt.UTC)  # a Monday
DAY = dt.timedelta(days=1)

SEMINAR = Journey(
    id="seminar",
    steps=[
        Entry("whitepaper", event="download", next="invite"),
        Send("invite", channel="email", message_id="seminar-invite", next="reply"),
        Wait("reply", event="seminar_reply", timeout="7D", next="call", on_timeout="follow_up"),
        Send("follow_up", channel="email", message_id="seminar-follow-up", next="end"),
        Action(
            "call",
            kind="create_task",
            params={"subject": "Seminar: call back", "due_in": "2D", "about": "lead"},
            next="end",
        ),
        Exit("end"),
    ],
    quiet_hours=("20:00", "08:00"),
)

NURTURE = Journey(
    id="nurture",
    steps=[
        Entry("start", rule="status == 'nurturing'", next="tips"),
        Send("tips", channel="email", message_id="nurture-tips", next="week"),
        Wait("week", duration="7D", next="ready"),
        Branch("ready", rule="score >= 70", yes="handover", no="tips"),
        Action("handover", kind="advance_stage", params={"to_stage": "qualified"}, next="end"),
        Exit("end"),
    ],
)


def _leads() -> dict[str, Lead]:
    def lead(i: str, owner: str, status: str, score: float) -> Lead:
        return Lead(
            id=i,
            name=f"Lead {i}",
            source="web",
            created_at=T - 30 * DAY,
            owner=owner,
            status=status,
            score=score,
        )

    return {
        "L-1": lead("L-1", "ana", "contacted", 30),  # replies to the invitation
        "L-2": lead("L-2", "ben", "contacted", 20),  # never replies
        "L-3": lead("L-3", "ana", "contacted", 25),  # withdraws consent before the follow-up
        "L-4": lead("L-4", "ben", "nurturing", 40),  # score rises: handed to sales
        "L-5": lead("L-5", "ana", "nurturing", 10),  # stays in nurturing
    }


def _profiles(leads: dict[str, Lead]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "owner": [v.owner for v in leads.values()],
            "status": [v.status for v in leads.values()],
            "score": [float(v.score or 0) for v in leads.values()],
            "tz": ["Europe/Berlin"] * len(leads),
        },
        index=pd.Index(list(leads), name="customer_id"),
    )


def _frame(rows: list[tuple[str, str, dt.datetime]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype=object),
            "type": pd.Series([r[1] for r in rows], dtype=object),
            "date": pd.to_datetime([r[2] for r in rows], utc=True),
        }
    )


EVENTS = _frame(
    [
        ("L-1", "download", T + dt.timedelta(hours=1)),
        ("L-2", "download", T + dt.timedelta(hours=2)),
        ("L-3", "download", T + dt.timedelta(hours=12)),  # 23:00 in Berlin: quiet
        ("L-1", "seminar_reply", T + 3 * DAY),
    ]
)
CONSENTS = pd.DataFrame(
    {
        "customer_id": ["L-1", "L-2", "L-3", "L-4", "L-5", "L-3"],
        "channel": "email",
        "granted": [True, True, True, True, True, False],
        "date": pd.to_datetime([T - 60 * DAY] * 5 + [T + 5 * DAY], utc=True),
    }
)


class Application:
    """What an application does with the engine: an outbox, sends, tasks, lead updates."""

    def __init__(self) -> None:
        self.leads = _leads()
        self.outbox: dict[str, object] = {}
        self.activities: dict[str, Activity] = {}
        self.stage_changes: list[StageChanged] = []
        self.sends: list[tuple[str, dt.datetime, str]] = []
        self.state: dict[str, pd.DataFrame | None] = {"seminar": None, "nurture": None}
        self.audit: list[pd.DataFrame] = []

    def sends_frame(self) -> pd.DataFrame:
        return _frame([(c, "send", at) for c, at, _ in self.sends])[["customer_id", "date"]]

    def run(self, journey: Journey, now: dt.datetime) -> None:
        res = tick(
            journey,
            self.state[journey.id],
            EVENTS,
            now,
            profiles=_profiles(self.leads),
            consents=CONSENTS,
            sends=self.sends_frame(),
            frequency_cap=FrequencyCap(3, "7D"),
            already_emitted=set(self.outbox),
        )
        for action in res.action_values():
            assert action.id not in self.outbox
            self.outbox[action.id] = action
            if action.kind == "send":
                self.sends.append((str(action.customer_id), action.at, str(action.message_id)))
            elif action.kind == "create_task":
                activity = action.to_activity()
                self.activities[activity.id] = activity
            elif action.kind == "advance_stage":
                lead = self.leads[str(action.customer_id)]
                moved, events = action.apply(lead, workflow=LEAD_WORKFLOW)
                self.leads[lead.id] = moved
                self.stage_changes.extend(events)
        self.state[journey.id] = res.enrolments
        self.audit.append(res.audit)


@pytest.fixture(scope="module")
def app() -> Application:
    application = Application()
    now = T
    while now <= T + 35 * DAY:  # a scheduler every six hours for five weeks
        if now == T + 14 * DAY:
            # the lead scorer raised L-4's score (buying signals)
            application.leads["L-4"] = attrs.evolve(application.leads["L-4"], score=85)
        application.run(SEMINAR, now)
        application.run(NURTURE, now)
        now += dt.timedelta(hours=6)
    return application


def _sent(app: Application, message: str) -> dict[str, dt.datetime]:
    return {c: at for c, at, m in app.sends if m == message}


def test_every_download_gets_the_invitation_outside_quiet_hours(app):
    invites = _sent(app, "seminar-invite")
    assert invites == {
        "L-1": T + dt.timedelta(hours=1),
        "L-2": T + dt.timedelta(hours=2),
        # downloaded at 23:00 Berlin time: sent at 08:00 Berlin (06:00 UTC) next day
        "L-3": dt.datetime(2024, 9, 3, 6, tzinfo=dt.UTC),
    }


def test_a_reply_creates_a_call_task_for_the_leads_owner(app):
    (task,) = app.activities.values()
    assert task.kind == "task"
    assert task.owner == "ana"
    assert task.lead_id == "L-1"
    assert task.created_at == T + 3 * DAY
    assert task.due_at == T + 5 * DAY
    assert "L-1" not in _sent(app, "seminar-follow-up")


def test_no_reply_in_seven_days_sends_the_follow_up(app):
    follow = _sent(app, "seminar-follow-up")
    assert follow == {"L-2": T + dt.timedelta(hours=2) + 7 * DAY}


def test_a_withdrawn_consent_skips_the_follow_up_and_says_why(app):
    audit = pd.concat(app.audit, ignore_index=True)
    skipped = audit[audit["type"] == "marketing.journey_message_skipped"]
    row = skipped[skipped["customer_id"] == "L-3"]
    assert list(row["step"]) == ["follow_up"]
    assert list(row["reason"]) == ["opted_out"]


def test_nurturing_hands_the_lead_to_sales_when_the_score_crosses_70(app):
    assert app.leads["L-4"].status == "qualified"
    (change,) = app.stage_changes
    assert (change.from_stage, change.to_stage) == ("nurturing", "qualified")
    assert change.actor == "journey:nurture"
    # weekly checks at T, T+7, T+14: the score rose before the third look
    assert change.at == T + 14 * DAY
    assert app.leads["L-5"].status == "nurturing"
    tips = sorted(at for c, at, m in app.sends if c == "L-5" and m == "nurture-tips")
    assert tips == [T + k * 7 * DAY for k in range(6)]


def test_each_action_once_and_a_single_late_tick_gives_the_same_actions(app):
    assert len(app.outbox) == len(set(app.outbox))
    # one tick at the end instead of every six hours: the same ids and instants ...
    late = tick(
        SEMINAR,
        None,
        EVENTS,
        T + 35 * DAY,
        profiles=_profiles(_leads()),
        consents=CONSENTS,
    )
    seminar = {k: v for k, v in app.outbox.items() if k.startswith("seminar:")}
    assert {a for a in seminar.values() if a.customer_id != "L-3"} == set(late.action_values())
    # ... except that a message not handed over before a withdrawal never goes out:
    # L-3's invitation was due on day 1, the consent withdrawn on day 5, the tick on day 35
    skipped = late.audit[late.audit["type"] == "marketing.journey_message_skipped"]
    assert skipped[["customer_id", "step", "reason"]].values.tolist() == [
        ["L-3", "invite", "opted_out"],
        ["L-3", "follow_up", "opted_out"],
    ]


def test_funnel_of_the_seminar_journey(app):
    audit = pd.concat(app.audit, ignore_index=True)
    funnel = journey_funnel(SEMINAR, audit[audit["journey_id"] == "seminar"])
    assert funnel.loc["invite", "sent"] == 3
    assert funnel.loc["reply", "event"] == 1
    assert funnel.loc["reply", "timeout"] == 2
    assert funnel.loc["follow_up", "sent"] == 1
    assert funnel.loc["follow_up", "skipped"] == 1
    assert funnel.loc["end", "exited"] == 3
