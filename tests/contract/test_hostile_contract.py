"""Hostile input: rejected or stored verbatim, never executed, never corrupting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

from crmcore.domain import Consent, StageChanged
from crmcore.errors import ValidationError
from tests.contract._samples import customer, order


def _forced(entity, **fields):
    """Bypass the domain's own validators to test the store's last line of defence."""
    for name, value in fields.items():
        object.__setattr__(entity, name, value)
    return entity


def test_huge_strings_are_stored_verbatim(store):
    huge = "ü" * 2_000_000 + "'; DROP TABLE crm_customers; --"
    store.customers.add(customer("c1", name=huge, custom={"blob": huge}))
    loaded = store.customers.get("c1")
    assert loaded.name == huge
    assert loaded.custom["blob"] == huge
    assert store.customers.count({"name__contains": "DROP TABLE"}) == 1


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_amounts_are_refused(store, amount):
    bad = _forced(order(), amount=attrs.evolve(order().amount))
    object.__setattr__(bad.amount, "amount", amount)
    with pytest.raises(ValidationError, match="NaN and infinite"):
        store.orders.add(bad)
    assert store.orders.count() == 0


def test_nan_floats_are_refused(store):
    lead_like = customer(custom={"x": 1.0})
    bad = _forced(lead_like, custom={"x": float("nan")})
    with pytest.raises(ValidationError):
        store.customers.add(bad)
    assert store.customers.count() == 0


def test_naive_datetimes_are_refused(store):
    bad = _forced(customer(), created_at=dt.datetime(2026, 1, 1, 12))  # noqa: DTZ001
    with pytest.raises(ValidationError, match="naive") as info:
        store.customers.add(bad)
    assert info.value.field == "created_at"
    assert store.customers.count() == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "nul\x00byte"},
        {"custom": {"k": "nul\x00byte"}},
        {"name": "lone \ud800 surrogate"},
    ],
)
def test_text_that_cannot_be_stored_faithfully_is_refused(store, fields):
    bad = _forced(customer(), **fields)
    with pytest.raises(ValidationError):
        store.customers.add(bad)
    assert store.customers.count() == 0


def test_huge_integers_are_refused(store):
    bad = _forced(customer(), custom={"n": 2**70})
    with pytest.raises(ValidationError, match="64 bits"):
        store.customers.add(bad)


def test_a_refused_update_leaves_the_record_alone(store):
    store.customers.add(customer())
    bad = _forced(attrs.evolve(store.customers.get("c1")), created_at=dt.datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValidationError):
        store.customers.update(bad)
    assert store.customers.get("c1") == customer()


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"amount": None}, "required"),
        ({"amount": "12.00 EUR"}, "expected a Money"),
        ({"placed_at": None}, "required"),
        ({"placed_at": "2026-01-01T00:00:00+00:00"}, "expected a datetime"),
        ({"customer_id": 42}, "identifier"),
        ({"version": "0"}, "integer"),
    ],
)
def test_values_of_the_wrong_type_are_refused(store, fields, match):
    bad = _forced(order(), **fields)
    with pytest.raises(ValidationError, match=match):
        store.orders.add(bad)
    assert store.orders.count() == 0


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ({"name": "nul\x00byte"}, "NUL"),
        ({"name__contains": "\x00"}, "NUL"),
        ({"id__in": ["c1", "c\x002"]}, "NUL"),
        ({"custom.k": "nul\x00byte"}, "NUL"),
        ({"name": "lone \ud800 surrogate"}, "Unicode"),
        ({"custom.k": 2**63}, "64 bits"),
        ({"custom.k__lt": -(2**63) - 1}, "64 bits"),
        ({"version__gt": 2**64}, "64 bits"),
    ],
)
def test_filter_values_no_store_can_hold_are_refused(store, where, match):
    # They used to match nothing in memory and on SQLite (or raise OverflowError
    # there) but make PostgreSQL raise a driver DataError.
    store.customers.add(customer())
    with pytest.raises(ValidationError, match=match):
        store.customers.query(where)
    assert store.customers.count({"custom.k": 2**63 - 1}) == 0


# 02:30 on 29 March 2026 does not exist in Paris: the clocks go from 02:00 to 03:00.
_GAP = dt.datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.mark.parametrize("fold", [0, 1])
def test_wall_times_in_a_dst_gap_are_refused_by_every_store(store, fold):
    # Python gives the skipped wall time an offset, but its instant reads back as
    # 03:30 (fold 0) or 01:30 (fold 1): no store could return what it was given
    gap = _GAP.replace(fold=fold)
    bad = _forced(customer(), created_at=gap)
    with pytest.raises(ValidationError, match="does not exist in Europe/Paris") as info:
        store.customers.add(bad)
    assert info.value.field == "created_at"
    with pytest.raises(ValidationError, match="daylight-saving"):
        store.events.append(StageChanged("o1", "new", "won", gap, workflow="opportunity"))
    with pytest.raises(ValidationError, match="does not exist"):
        store.customers.add(_forced(customer("c2"), consents=(_forced_consent(gap),)))
    assert store.customers.count() == 0
    assert store.events.count() == 0


def _forced_consent(at):
    consent = Consent(channel="email", granted=True, at=_GAP.replace(hour=4))
    object.__setattr__(consent, "at", at)
    return consent


def test_times_around_a_dst_gap_round_trip_on_every_store(store):
    before = _GAP.replace(hour=1, minute=59)
    after = _GAP.replace(hour=3)
    store.customers.add(customer("c1", created_at=before))
    store.customers.add(customer("c2", created_at=after))
    store.events.append(StageChanged("o1", "new", "won", after, workflow="opportunity"))
    assert store.customers.get("c1").created_at == before
    back = store.customers.get("c2").created_at
    assert (back, back.utcoffset()) == (after, dt.timedelta(hours=2))
    assert store.events.query()[0].event.at == after
