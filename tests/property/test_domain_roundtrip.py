"""Round trips and invariants of the domain model, for every entity."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.domain import ENTITY_TYPES, Entity, Money
from crmcore.errors import ValidationError
from crmcore.testing.strategies import CURRENCIES, ENTITY_STRATEGIES, leads, money, orders

FAST = settings(max_examples=40, deadline=None)
NAMES = list(ENTITY_STRATEGIES)


def test_a_strategy_for_every_entity():
    assert set(ENTITY_STRATEGIES) == set(ENTITY_TYPES)


def check_round_trip(entity: Entity) -> None:
    text = json.dumps(entity.to_dict(), allow_nan=False)
    back = type(entity).from_dict(json.loads(text))
    assert back == entity
    assert hash(back) == hash(entity)
    assert back.to_dict() == entity.to_dict()
    for field in attrs.fields(type(entity)):
        a, b = getattr(entity, field.name), getattr(back, field.name)
        assert type(a) is type(b), field.name
        if hasattr(a, "utcoffset"):
            assert a.utcoffset() == b.utcoffset(), field.name
            assert a.tzinfo == b.tzinfo, field.name


def check_evolve_keeps_invariants(entity: Entity) -> None:
    assert attrs.evolve(entity) == entity
    bumped = attrs.evolve(entity, version=entity.version + 1)
    assert bumped.version == entity.version + 1
    for field in attrs.fields(type(entity)):
        if field.name != "version":
            assert getattr(bumped, field.name) == getattr(entity, field.name)
    bad_values: list[tuple[str, Any]] = [("version", -1), ("id", " "), ("custom", {"x": {1, 2}})]
    for field, bad in bad_values:
        with pytest.raises(ValidationError) as info:
            attrs.evolve(entity, **{field: bad})
        assert info.value.field == field


def check_naive_timestamps_refused(entity: Entity) -> None:
    stamps = [f.name for f in attrs.fields(type(entity)) if str(f.type).startswith("_dt.datetime")]
    for field in stamps:
        value = getattr(entity, field)
        if value is not None:
            with pytest.raises(ValidationError, match="timezone-aware") as info:
                attrs.evolve(entity, **{field: value.replace(tzinfo=None)})
            assert info.value.field == field


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip_evolve_and_naive_timestamps(name, data):
    entity: Entity = data.draw(ENTITY_STRATEGIES[name](), label=name)
    check_round_trip(entity)
    check_evolve_keeps_invariants(entity)
    check_naive_timestamps_refused(entity)


@FAST
@given(a=money(currency="EUR"), b=money(currency="EUR"), c=money(currency="EUR"))
def test_money_addition_is_exact_associative_and_invertible(a, b, c):
    assert (a + b) + c == a + (b + c)
    assert (a + b) - b == a
    assert a + Money.zero("EUR") == a
    assert a - a == Money.zero("EUR")


@FAST
@given(
    a=money(),
    b=money(),
)
def test_money_mixing_currencies_always_raises(a, b):
    if a.currency == b.currency:
        assert (a + b).currency == a.currency
    else:
        with pytest.raises(ValidationError):
            a + b
        with pytest.raises(ValidationError):
            _ = a < b


@FAST
@given(m=money(), factor=st.integers(-1000, 1000))
def test_money_multiplication_matches_repeated_addition(m, factor):
    expected = Money.total([m] * abs(factor), currency=m.currency)
    assert m * factor == (expected if factor >= 0 else -expected)
    assert str(m.rounded().amount) == str(m.amount)  # two places are already minor units


@FAST
@given(currency=st.sampled_from(CURRENCIES), floats=st.floats(allow_nan=False))
def test_money_never_accepts_floats(currency, floats):
    with pytest.raises(ValidationError):
        Money(amount=floats, currency=currency)


@settings(max_examples=20, deadline=None)
@given(
    order=orders(customer_id=st.just("c1"), amount=money(currency="JPY", max_value=10**6)),
    lead=leads(status=st.just("qualified"), converted_at=lambda kw: st.just(kw["created_at"])),
)
def test_strategy_overrides_pin_fields(order, lead):
    assert order.customer_id == "c1"
    assert order.amount.currency == "JPY"
    assert lead.status == "qualified"
    assert lead.converted_at == lead.created_at
