"""Rule.to_store_filter with date literals: the time rule, in a real store too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from crmcore.domain import Money, Order
from crmcore.errors import ValidationError
from crmcore.segmentation import Rule
from crmcore.storage import InMemoryStore

PARIS = ZoneInfo("Europe/Paris")
JAN1_UTC = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
JAN2_UTC = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)


def flt(text: str, **kw):
    return Rule.parse(text).to_store_filter(**kw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t >= date'2024-01-01'", ("t", "ge", JAN1_UTC)),
        ("t < date'2024-01-01'", ("t", "lt", JAN1_UTC)),
        ("t <= date'2024-01-01'", ("t", "lt", JAN2_UTC)),  # the whole day
        ("t > date'2024-01-01'", ("t", "ge", JAN2_UTC)),  # from the next day
        ("t == date'2024-01-01'", ("and", (("t", "ge", JAN1_UTC), ("t", "lt", JAN2_UTC)))),
        (
            "t != date'2024-01-01'",
            ("not", ("and", (("t", "ge", JAN1_UTC), ("t", "lt", JAN2_UTC)))),
        ),
        (
            "t between date'2023-12-31' and date'2024-01-01'",
            ("and", (("t", "ge", JAN1_UTC - dt.timedelta(days=1)), ("t", "lt", JAN2_UTC))),
        ),
        (
            "t between date'2024-01-01' and date'2024-01-01T12:00Z'",
            ("and", (("t", "ge", JAN1_UTC), ("t", "le", JAN1_UTC + dt.timedelta(hours=12)))),
        ),
        (
            "t in [date'2024-01-01', date'2024-01-01T12:00Z']",
            (
                "or",
                (
                    ("and", (("t", "ge", JAN1_UTC), ("t", "lt", JAN2_UTC))),
                    ("t", "eq", JAN1_UTC + dt.timedelta(hours=12)),
                ),
            ),
        ),
        ("t in [date'2024-01-01T00:00Z']", ("t", "in", (JAN1_UTC,))),
        ("t >= date'2024-01-01T01:00+01:00'", ("t", "ge", JAN1_UTC)),
        ("n != 3", ("n", "ne", 3)),
    ],
)
def test_date_literals_become_aware_bounds_in_utc_by_default(text, expected):
    # (a naive datetime never equals an aware one: the bounds are aware)
    assert flt(text) == expected


def test_date_only_literals_are_days_in_the_given_zone():
    got = flt("t == date'2024-07-14'", tz="Europe/Paris")
    assert got == (
        "and",
        (
            ("t", "ge", dt.datetime(2024, 7, 14, tzinfo=PARIS)),
            ("t", "lt", dt.datetime(2024, 7, 15, tzinfo=PARIS)),
        ),
    )
    start = got[1][0][2]
    assert start.isoformat() == "2024-07-14T00:00:00+02:00"  # summer time
    assert flt("t >= date'2024-01-01'", tz=PARIS) == flt(
        "t >= date'2024-01-01'", tz="Europe/Paris"
    )


def test_date_fields_keep_calendar_dates():
    got = flt(
        "birth_date < date'2000-01-01' and created_at >= date'2024-01-01'",
        date_fields=["birth_date"],
    )
    assert got == (
        "and",
        (("birth_date", "lt", dt.date(2000, 1, 1)), ("created_at", "ge", JAN1_UTC)),
    )
    assert flt("d == date'2000-01-01'", date_fields="d") == ("d", "eq", dt.date(2000, 1, 1))
    with pytest.raises(ValidationError, match="date_fields") as info:
        flt("d == date'2000-01-01T10:00Z'", date_fields=["d"])
    assert info.value.field == "d"


def test_a_time_without_offset_is_refused():
    with pytest.raises(ValidationError, match="no UTC offset") as info:
        flt("t >= date'2024-01-01 12:00'")
    assert info.value.field == "t"
    assert "date'2024-01-01T12:00:00+01:00'" in str(info.value)


@pytest.mark.parametrize("tz", ["Not/AZone", None, 5])
def test_bad_tz_is_refused(tz):
    with pytest.raises(ValidationError) as info:
        flt("n > 1", tz=tz)
    assert info.value.field == "tz"


def test_a_field_called_and_is_not_mistaken_for_a_combination():
    assert flt("`and` in [1, 2]") == ("and", "in", (1, 2))


def _orders(store):
    # instants around the Paris and UTC midnights of 1 January 2024
    times = {
        "o1": dt.datetime(2023, 12, 31, 22, 30, tzinfo=dt.UTC),  # 23:30 Paris, 31 Dec
        "o2": dt.datetime(2023, 12, 31, 23, 30, tzinfo=dt.UTC),  # 00:30 Paris, 1 Jan
        "o3": dt.datetime(2024, 1, 1, 12, 0, tzinfo=PARIS),
        "o4": dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.UTC),  # 00:30 Paris, 2 Jan
        "o5": dt.datetime(2024, 1, 2, 9, 0, tzinfo=dt.UTC),
    }
    store.orders.add_many(
        [
            Order(
                id=oid,
                customer_id="c1",
                placed_at=at,
                amount=Money(amount=Decimal("1"), currency="EUR"),
            )
            for oid, at in times.items()
        ]
    )
    return store


RULES = [
    "placed_at >= date'2024-01-01'",
    "placed_at <= date'2024-01-01'",
    "placed_at == date'2024-01-01'",
    "placed_at != date'2024-01-01'",
    "placed_at > date'2023-12-31'",
    "placed_at between date'2024-01-01' and date'2024-01-02'",
    "placed_at in [date'2023-12-31', date'2024-01-02']",
    "placed_at < date'2024-01-01T12:00+01:00'",
]


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        yield _orders(InMemoryStore())
        return
    from crmcore.storage import SqlStore

    sql = SqlStore(f"sqlite:///{tmp_path / 'crm.db'}")
    sql.create_schema()
    yield _orders(sql)
    sql.close()


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
@pytest.mark.parametrize("text", RULES)
def test_store_selects_what_mask_selects_on_the_same_zone(store, text, zone):
    rule = Rule.parse(text)
    picked = sorted(o.id for o in store.orders.query(rule.to_store_filter(tz=zone)))
    frame = store.orders.to_frame()
    frame["placed_at"] = frame["placed_at"].dt.tz_convert(zone)
    expected = sorted(frame["id"][rule.mask(frame)].tolist())
    assert picked == expected


def test_documented_example_days_follow_the_zone(store):
    rule = Rule.parse("placed_at == date'2024-01-01'")
    utc = sorted(o.id for o in store.orders.query(rule.to_store_filter()))
    paris = sorted(o.id for o in store.orders.query(rule.to_store_filter(tz="Europe/Paris")))
    assert utc == ["o3", "o4"]
    assert paris == ["o2", "o3"]
    np.testing.assert_array_equal(
        rule.mask(store.orders.to_frame().sort_values("id")), [False, False, True, True, False]
    )
