"""Knowledge base: article lifecycle and revisions, search in Korean and English, deflection."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from crmcore.domain import DomainEvent, Ticket
from crmcore.errors import InvalidTransition, ValidationError
from crmcore.pipeline import (
    ARTICLE_WORKFLOW,
    Article,
    KnowledgeBase,
    advance,
    deflection,
    revise,
)

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def published(id_, title, body, **kw):
    return Article(id_, title, body, AT, status="published", **kw)


ARTICLES = [
    published(
        "en-refund",
        "How do I get a refund?",
        "Open the order and choose Refund.",
        tags=["billing"],
    ),
    published("en-parcel", "My parcel is late", "Track the parcel with the tracking number."),
    published("en-password", "Reset your password", "Use 'Forgot password' on the login page."),
    published(
        "ko-delivery",
        "배송이 늦어요",
        "주문 내역에서 배송 조회를 눌러 택배 위치를 확인하세요.",
        language="ko",
        tags=["배송"],
    ),
    published(
        "ko-refund",
        "환불은 어떻게 하나요?",
        "주문 상세에서 환불 신청 버튼을 누르세요. 카드 결제는 3일 안에 취소됩니다.",
        language="ko",
    ),
    Article("draft", "Refund policy draft", "Not public yet.", AT),
]


def test_lifecycle_runs_through_the_workflow():
    a = Article("A", "Title", "Body", AT)
    a, events = advance(a, "published", at=AT + DAY, workflow=ARTICLE_WORKFLOW, actor="ed")
    assert a.status == "published"
    assert events[0].to_stage == "published"
    a, _ = advance(a, "archived", at=AT + 2 * DAY, workflow=ARTICLE_WORKFLOW)
    with pytest.raises(InvalidTransition):
        advance(a, "published", at=AT + 3 * DAY, workflow=ARTICLE_WORKFLOW)
    with pytest.raises(ValidationError, match="archived"):
        revise(a, body="again", at=AT + 3 * DAY)


def test_revisions_and_json_round_trip():
    a = published("A", "Title", "Old", tags=["x", "x", "y"])
    assert a.tags == ("x", "y")
    b = revise(a, body="New", tags=["z"], at=AT + DAY)
    assert (b.revision, b.status, b.body, b.tags, b.title) == (2, "draft", "New", ("z",), "Title")
    assert b.updated_at == AT + DAY
    assert b.created_at == AT
    assert Article.from_dict(json.loads(json.dumps(b.to_dict()))) == b
    with pytest.raises(ValidationError, match="before the article's updated_at"):
        revise(b, body="x", at=AT)


def test_a_saved_article_is_an_event_that_rebuilds_it():
    from zoneinfo import ZoneInfo

    seoul = dt.datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Asia/Seoul"))
    a = Article("A", "배송", "본문", seoul, tags=["배송", "주문"], language="ko")
    event = a.saved(at=seoul + DAY, actor="mia")
    assert (event.type, event.entity_type, event.entity_id) == (
        "knowledge.article_saved", "article", "A",
    )  # fmt: skip
    back = DomainEvent.from_dict(json.loads(json.dumps(event.to_dict())))
    assert back == event
    rebuilt = Article.from_event(back)
    assert rebuilt == a
    assert rebuilt.created_at.tzinfo == ZoneInfo("Asia/Seoul")  # the zone, not just the offset
    with pytest.raises(ValidationError, match="before the article's updated_at"):
        a.saved(at=seoul - DAY)
    with pytest.raises(ValidationError, match="at"):
        a.saved(at=dt.datetime(2026, 3, 3))  # noqa: DTZ001 -- naive on purpose
    with pytest.raises(ValidationError, match="ArticleSaved"):
        Article.from_event(a)  # type: ignore[arg-type]


def test_search_in_english_and_korean():
    kb = KnowledgeBase(ARTICLES)
    assert len(kb) == 5  # the draft is not searchable
    assert kb.search("refund please", k=1)["id"].tolist() == ["en-refund"]
    assert kb.search("forgot my password", k=1)["id"].tolist() == ["en-password"]
    # particles glued to nouns still match: 배송이 / 배송을, 환불을 / 환불은
    assert kb.search("택배 배송을 조회하고 싶어요", k=1)["id"].tolist() == ["ko-delivery"]
    assert kb.search("환불을 받고 싶습니다", k=1)["id"].tolist() == ["ko-refund"]
    hits = kb.search("환불", k=5, language="ko")
    assert set(hits["language"]) == {"ko"}
    scores = hits["score"].to_numpy()
    assert (np.diff(scores) <= 0).all()
    assert ((scores > 0) & (scores <= 1 + 1e-9)).all()
    assert kb.search("zzzz qqqq", k=3).empty  # shares no n-gram with any article


def test_latest_published_revision_is_served_and_drafts_on_request():
    old = published("A", "Refund policy", "Thirty days.")
    new = revise(old, body="Fourteen days.", at=AT + DAY)  # a draft
    kb = KnowledgeBase([old, new])
    assert kb.articles[0].body == "Thirty days."
    agents = KnowledgeBase([old, new], statuses=("draft", "published"))
    assert agents.articles[0].body == "Fourteen days."


def test_suggest_articles_for_a_ticket():
    kb = KnowledgeBase(ARTICLES)
    ticket = Ticket(
        id="T1",
        customer_id="C1",
        subject="Parcel is late",
        description="I have no tracking number",
        channel="email",
        created_at=AT,
    )
    assert kb.suggest_articles(ticket, k=1)["id"].tolist() == ["en-parcel"]
    assert kb.suggest_articles({"subject": "배송이 안 와요"}, k=1)["id"].tolist() == [
        "ko-delivery"
    ]
    with pytest.raises(ValidationError, match="no subject or description"):
        kb.suggest_articles({"subject": " "})


def test_deflection_counts_views_not_followed_by_a_ticket():
    views = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c1", "c5"],
            "article_id": ["A", "A", "A", "B", "B", "B"],
            "date": pd.to_datetime(
                [
                    "2026-03-01 10:00",
                    "2026-03-01 10:00",
                    "2026-03-01 10:00",
                    "2026-03-02 10:00",
                    "2026-03-09 12:00",  # window ends after as_of: undecided
                    "2026-03-12 00:00",  # after as_of
                ],
                format="ISO8601",
            ),
        }
    )
    tickets = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c4", "c3"],
            "created_at": pd.to_datetime(
                [
                    "2026-03-02 09:00",  # within 3 days of c1's view of A
                    "2026-03-04 10:00:01",  # just after c2's window
                    "2026-03-02 09:00",  # before c4's view
                    "2026-03-01 09:00",  # before c3's view
                ],
                format="ISO8601",
            ),
        }
    )
    d = deflection(views, tickets, as_of="2026-03-10")
    assert d["views"].to_dict() == {"A": 3, "B": 1}
    assert d["followed_by_ticket"].to_dict() == {"A": 1, "B": 0}
    assert d["deflected"].to_dict() == {"A": 2, "B": 1}
    assert d["undecided"].to_dict() == {"A": 0, "B": 1}
    assert d.loc["A", "deflection_rate"] == pytest.approx(2 / 3, rel=1e-12)
    assert d.loc["A", "ci_low"] < 2 / 3 < d.loc["A", "ci_high"]
    total = deflection(views, tickets, as_of="2026-03-10", by=None, window="1D")
    # 1-day window: c1's ticket 23 h after the view still counts
    assert total.loc["total", "followed_by_ticket"] == 1
    assert total.loc["total", "views"] == 5


def test_bad_input_is_refused():
    with pytest.raises(ValidationError, match="status"):
        Article("A", "t", "b", AT, status="live")
    with pytest.raises(ValidationError, match="timezone-aware"):
        Article("A", "t", "b", dt.datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValidationError, match="nothing to search"):
        KnowledgeBase([Article("A", "t", "b", AT)])
    with pytest.raises(ValidationError, match="k must"):
        KnowledgeBase(ARTICLES).search("refund", k=0)
    views = pd.DataFrame(
        {"customer_id": ["c"], "article_id": ["A"], "date": [pd.Timestamp("2026-03-01", tz="UTC")]}
    )
    tickets = pd.DataFrame({"customer_id": ["c"], "created_at": [pd.Timestamp("2026-03-01")]})
    with pytest.raises(ValidationError, match="both be naive"):
        deflection(views, tickets, as_of="2026-03-10")
