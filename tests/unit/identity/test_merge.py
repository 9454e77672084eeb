"""merge_plan: survivorship rules, consent merged conservatively, refusals."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crmcore.domain import Address, Consent, Customer
from crmcore.errors import ValidationError
from crmcore.identity import Survivorship, merge_plan


@pytest.fixture
def cluster():
    return pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "name": ["Ann Lee", "Ann M. Lee", "ANN LEE"],
            "email": ["ann@example.org", None, "ann.lee@example.com"],
            "phone": [None, "+441234567899", "+441234567890"],
            "source": ["web", "erp", "store"],
            "created_at": pd.to_datetime(["2020-01-01", "2023-05-01", "2021-06-01"]),
            "updated_at": pd.to_datetime(["2021-01-01", "2024-02-01", "2024-03-01"]),
            "email_opt_in": pd.array([True, None, True], dtype="boolean"),
            "sms_opt_in": pd.array([True, False, None], dtype="boolean"),
        }
    )


def test_defaults(cluster):
    plan = merge_plan(cluster, Survivorship(consent_cols=["email_opt_in", "sms_opt_in"]))
    assert plan.survivor_id == "a"  # the oldest record
    assert plan.merged_ids == ("b", "c")
    # most recent non-missing value per field (c updated last, then b)
    assert plan.record["name"] == "ANN LEE"
    assert plan.record["email"] == "ann.lee@example.com"
    assert plan.sources["email"] == "c"
    assert plan.record["email_opt_in"] is True
    assert plan.record["sms_opt_in"] is False  # an opt-out anywhere wins
    assert plan.rules["sms_opt_in"] == "consent"
    assert plan.versions == {}


def test_per_field_rules(cluster):
    rules = Survivorship(
        default="source_priority",
        source_priority=("erp", "store"),
        rules={"name": "longest", "email": "oldest", "phone": lambda s: s.iloc[-1]},
        survivor="most_recent",
    )
    plan = merge_plan(cluster, rules)
    assert plan.survivor_id == "c"
    assert plan.record["name"] == "Ann M. Lee"
    assert plan.record["email"] == "ann@example.org"
    assert plan.record["source"] == "erp"
    assert plan.record["updated_at"] == pd.Timestamp("2024-02-01")  # from the erp record
    assert plan.rules["phone"] == "<lambda>"
    assert merge_plan(cluster, Survivorship(survivor="b")).survivor_id == "b"
    complete = merge_plan(cluster, Survivorship(survivor="most_complete"))
    assert complete.survivor_id == "a"  # a and c fill 8 fields, b 7: a tie goes to row order
    complete = merge_plan(cluster.iloc[[2, 1, 0]], Survivorship(survivor="most_complete"))
    assert complete.survivor_id == "c"


def test_most_frequent_union_min_max():
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "city": ["Paris", "Lyon", "Paris"],
            "tags": [("a",), ("b", "a"), ()],
            "score": [3.0, 1.0, 2.0],
            "updated_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "created_at": pd.to_datetime(["2020-01-01"] * 3),
        }
    )
    rules = Survivorship(rules={"city": "most_frequent", "tags": "union", "score": "min"})
    plan = merge_plan(frame, rules)
    assert plan.record["city"] == "Paris"
    assert plan.record["tags"] == ("a", "b")
    assert plan.record["score"] == 1.0
    assert plan.survivor_id == 1  # ties on created_at: the smallest id


def test_customers_consent_opt_out_anywhere_wins():
    t = lambda y: dt.datetime(y, 1, 1, tzinfo=dt.UTC)  # noqa: E731
    a = Customer(
        id="a",
        name="Ann Lee",
        email="ann@example.org",
        created_at=t(2020),
        consents=[Consent(channel="email", granted=False, at=t(2021))],
        tags={"vip"},
        custom={"k": 1},
        version=4,
    )
    b = Customer(
        id="b",
        name="Ann M. Lee",
        phone="+441234567890",
        address=Address(country="GB", city="Leeds"),
        created_at=t(2022),
        consents=[
            Consent(channel="email", granted=True, at=t(2023)),
            Consent(channel="sms", granted=True, at=t(2023)),
        ],
        tags={"web"},
        custom={"j": 2},
        version=1,
    )
    plan = merge_plan([b, a])
    merged = plan.survivor
    assert merged is not None
    assert plan.survivor_id == "a"
    assert merged.id == "a"
    assert merged.version == 4  # the survivor's version: storage checks it on update
    assert plan.versions == {"b": 1, "a": 4}
    assert merged.created_at == t(2020)
    assert merged.name == "Ann M. Lee"  # most recently created record's value
    assert merged.email.value == "ann@example.org"
    assert merged.address.city == "Leeds"
    assert merged.tags == frozenset({"vip", "web"})
    assert dict(merged.custom) == {"j": 2, "k": 1}
    # b opted in to e-mail after a opted out: the opt-out still wins
    assert not merged.has_consent("email")
    assert merged.has_consent("sms")
    assert merged.consents[-1].source == "merge: opt-out of record a kept"
    assert len(merged.consents) == 4  # the whole history is kept, plus the kept opt-out


def test_refusals(cluster):
    with pytest.raises(ValidationError, match="'a' and 'c' were marked as not duplicates"):
        merge_plan(cluster, cannot_link=[("a", "c")])
    with pytest.raises(ValidationError, match="at least two records"):
        merge_plan(cluster.head(1))
    with pytest.raises(ValidationError, match="given twice"):
        merge_plan(cluster.assign(id=["a", "a", "c"]))
    with pytest.raises(ValidationError, match="unknown survivorship rule 'newest'"):
        Survivorship(rules={"name": "newest"})
    with pytest.raises(ValidationError, match="needs column 'updated_at'"):
        merge_plan(cluster.drop(columns="updated_at"))
    with pytest.raises(ValidationError, match="survivor must be one of"):
        merge_plan(cluster, Survivorship(survivor="zz"))
    with pytest.raises(ValidationError, match="missing column 'key'"):
        merge_plan(cluster, id_col="key")


def test_recency_and_age_read_dates_by_the_one_clock():
    plus_one = dt.timezone(dt.timedelta(hours=1))
    frame = pd.DataFrame(
        {
            "id": ["a", "b"],
            "name": ["Ann", "Anne"],
            # b: 00:30+01:00 is 23:30Z the day before, so b is the older record
            "created_at": [
                dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                dt.datetime(2020, 1, 1, 0, 30, tzinfo=plus_one),
            ],
            "updated_at": ["2024-01-01T00:00Z", "2024-01-01T00:30+01:00"],  # ISO text is read
        }
    )
    plan = merge_plan(frame, Survivorship())
    assert plan.survivor_id == "b"
    assert plan.record["name"] == "Ann"  # a was updated last, by instant
    naive = dt.datetime(2024, 1, 1)  # noqa: DTZ001 - naive on purpose
    mixed = frame.assign(updated_at=[naive, dt.datetime(2024, 1, 2, tzinfo=dt.UTC)])
    with pytest.raises(ValidationError, match="mixes naive and timezone-aware") as info:
        merge_plan(mixed, Survivorship())
    assert info.value.field == "updated_at"
    with pytest.raises(ValidationError, match=r"not a date crmcore can read.*record 1"):
        merge_plan(frame.assign(updated_at=["2024-01-01", "soon"]), Survivorship())
