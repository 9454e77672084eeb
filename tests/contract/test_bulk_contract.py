"""Bulk contract: ``add_frame`` stores what ``add_many`` stores and refuses what it refuses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
import pandas as pd
import pytest

from crmcore.domain import Money, Order
from crmcore.errors import ValidationError
from tests.contract._samples import at, eur, one_of_each, order
from tests.contract.test_repository_contract import AGGREGATES, NEEDS


def frame_of(entities: list[Any], *, typed: bool = False) -> pd.DataFrame:
    """One column per field of ``entities`` (a Money field as amount + currency).

    ``typed=False`` keeps every column as Python objects (the values exactly);
    ``typed=True`` lets pandas infer dtypes (UTC datetimes become datetime64).
    """
    columns: dict[str, Any] = {}
    for field in attrs.fields(type(entities[0])):
        values = [getattr(e, field.name) for e in entities]
        if any(isinstance(v, Money) for v in values):
            columns[field.name] = [None if v is None else v.amount for v in values]
            columns[f"{field.name}_currency"] = [None if v is None else v.currency for v in values]
        else:
            columns[field.name] = values
    index = pd.RangeIndex(len(entities))
    if typed:
        return pd.DataFrame(columns, index=index)
    return pd.DataFrame({k: pd.Series(v, index=index, dtype=object) for k, v in columns.items()})


def utc_orders(n: int) -> list[Order]:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [
        order(f"o{i}", amount=eur(f"{i}.{i % 100:02d}"), placed_at=start + dt.timedelta(hours=i))
        for i in range(n)
    ]


@pytest.mark.parametrize("name", AGGREGATES)
def test_every_aggregate_stores_from_a_frame_as_from_entities(store, name):
    samples = one_of_each()
    entity = samples[name]
    repo = getattr(store, name)
    if NEEDS.get(name):  # references are checked as add_many checks them
        with pytest.raises(ValidationError, match="holds no record"):
            repo.add_frame(frame_of([entity]))
    for needed in NEEDS.get(name, ()):
        getattr(store, needed).add(samples[needed])
    assert repo.add_frame(frame_of([entity])) == 1
    assert repo.get(entity.id) == entity


def test_typed_columns_give_the_entities_add_many_gives(store):
    entities = utc_orders(40)
    frame = frame_of(entities, typed=True)
    assert isinstance(frame["placed_at"].dtype, pd.DatetimeTZDtype)
    assert store.orders.add_frame(frame, batch_size=7) == 40
    assert store.orders.query(order_by="id") == sorted(entities, key=lambda o: o.id)


def test_defaults_fill_missing_columns_and_missing_values_are_none(store):
    frame = pd.DataFrame(
        {
            "id": ["a", "b"],
            "customer_id": ["c1", "c2"],
            "placed_at": pd.to_datetime(["2026-01-01 10:00", "2026-01-02 11:00"], utc=True),
            "amount": [Decimal("1.50"), "2"],
            "amount_currency": "EUR",
            "channel": ["Web", None],
        }
    )
    store.orders.add_frame(frame)
    a, b = store.orders.get("a"), store.orders.get("b")
    assert a == order("a", amount=eur("1.50"), placed_at=a.placed_at, channel="web")
    assert (a.status.value, a.version, dict(a.custom), b.channel) == ("completed", 0, {}, None)
    assert b.amount == eur(2)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("placed_at", dt.datetime(2026, 1, 1), "timezone-aware"),  # noqa: DTZ001 -- the point
        ("amount", Decimal(-1), ">= 0"),
        ("amount", 1.5, "not float"),
        ("amount_currency", "euros", "currency"),
        ("channel", "we\x00b", "NUL"),
        ("status", "lost", "status"),
        ("customer_id", " ", "blank"),
    ],
)
def test_a_bad_value_raises_the_add_many_error_naming_the_row(store, column, value, problem):
    entities = utc_orders(6)
    frame = frame_of(entities)
    frame.index = [f"r{i}" for i in range(6)]
    frame.loc["r4", column] = value
    with pytest.raises(ValidationError, match=problem) as info:
        store.orders.add_frame(frame, batch_size=2)
    err = info.value
    assert err.row == "r4"
    assert store.orders.count() == 0  # the first two batches were rolled back too

    def build() -> Order:  # the same record, as an entity for add_many
        fields = {f.name: getattr(entities[4], f.name) for f in attrs.fields(Order)}
        amount, currency = fields["amount"].amount, fields["amount"].currency
        if column == "amount":
            amount = value
        elif column == "amount_currency":
            currency = value
        else:
            fields[column] = value
        fields["amount"] = Money(amount=amount, currency=currency)
        return Order(**fields)

    with pytest.raises(ValidationError) as domain:  # the domain refuses each of them
        build()
    expected = domain.value
    assert err.message == f"{expected.message} (row 'r4')"
    assert err.value == expected.value
    assert err.field in {expected.field, column}


def test_ids_taken_or_repeated_are_refused_naming_the_row(store):
    store.orders.add(order("o3"))
    frame = frame_of(utc_orders(6))
    with pytest.raises(ValidationError, match="o3") as info:
        store.orders.add_frame(frame, batch_size=4)
    assert (info.value.field, info.value.row) == ("id", 3)
    assert store.orders.count() == 1
    twice = frame_of([order("x1"), order("x2"), order("x1")])
    with pytest.raises(ValidationError, match="x1") as info:
        store.orders.add_frame(twice)
    assert (info.value.field, info.value.row) == ("id", 2)
    assert store.orders.count() == 1


def test_the_frame_shape_is_checked_first(store):
    frame = frame_of(utc_orders(2))
    with pytest.raises(ValidationError, match=r"'colour'.*allowed: id, version") as info:
        store.orders.add_frame(frame.assign(colour="red"))
    assert info.value.field == "colour"
    with pytest.raises(ValidationError, match=r"no column 'placed_at'.*present: id") as info:
        store.orders.add_frame(frame.drop(columns="placed_at"))
    assert info.value.field == "placed_at"
    with pytest.raises(ValidationError, match="DataFrame"):
        store.orders.add_frame(utc_orders(2))
    with pytest.raises(ValidationError, match="batch_size"):
        store.orders.add_frame(frame, batch_size=0)
    assert store.orders.add_frame(frame.iloc[:0]) == 0
    assert store.orders.count() == 0


def test_add_frame_in_a_unit_of_work_commits_or_rolls_back_with_it(store):
    frame = frame_of(utc_orders(5))
    with store.unit_of_work() as uow:
        uow.orders.add_frame(frame)
        with pytest.raises(ValidationError):  # refused: the unit of work stays usable
            uow.orders.add_frame(frame_of([order("o1")]))
        uow.orders.add(order("extra", placed_at=at()))
        uow.rollback()
    assert store.orders.count() == 0
    with store.unit_of_work() as uow:
        uow.orders.add_frame(frame)
        uow.commit()
    assert store.orders.count() == 5


@pytest.mark.parametrize(
    "key",
    [
        "plain-1",
        "URN:UUID:12345678-1234-5678-1234-567812345678",  # read as a UUID
        "urn:uuid:not-a-uuid",
        "   ",
        "\x1c",  # whitespace to str.strip
        "x" * 255,
        "x" * 256,
        "café",
        "a\x00b",
    ],
)
def test_id_columns_fast_or_not_agree_with_add_many(store, key):
    """Text id columns pass through Arrow checks only when plainly valid; the rest per value."""
    rows = [order("o-a"), order("o-b")]
    frame = frame_of(rows, typed=True)
    frame["customer_id"] = pd.Series(["c-ok", key], dtype="str")
    expected: Order | ValidationError
    try:
        expected = order("o-b", customer_id=key)
        store.orders.add_many([expected])  # the store's own checks (NUL, Unicode)
        store.orders.remove("o-b")
    except ValidationError as exc:
        expected = exc
    if isinstance(expected, ValidationError):
        with pytest.raises(ValidationError) as info:
            store.orders.add_frame(frame)
        assert info.value.message == f"{expected.message} (row 1)"
        assert store.orders.count() == 0
    else:
        store.orders.add_frame(frame)
        assert store.orders.get("o-b") == expected


def test_cross_field_rules_run_for_every_distinct_combination(store):
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    frame = pd.DataFrame(
        {
            "campaign_id": "k1",
            "customer_id": [f"c{i}" for i in range(6)],
            "id": [f"m{i}" for i in range(6)],
            "selected_at": pd.Timestamp(start),
            "variant": ["A", None, "B", "A", None, "B"],
            "control": [False, True, False, True, True, False],  # row 3: control with a variant
        }
    )
    with pytest.raises(ValidationError, match="control") as info:
        store.campaign_members.add_frame(frame)
    assert info.value.row == 3
    assert store.campaign_members.count() == 0
    frame.loc[3, "variant"] = None
    assert store.campaign_members.add_frame(frame.drop(columns="id")) == 6  # ids by default
    member = store.campaign_members.query(where={"customer_id": "c1"})[0]
    assert (member.control, member.variant, member.selected_at) == (True, None, start)


def lines_frame(discounts: list[str | None]) -> pd.DataFrame:
    """Order lines of one order and product as typed columns (text, int64; gaps are None)."""
    n = len(discounts)
    return pd.DataFrame(
        {
            "id": pd.array([f"l{i}" for i in range(n)], dtype="str"),
            "order_id": pd.array(["o1"] * n, dtype="str"),
            "product_id": pd.array(["g1"] * n, dtype="str"),
            "quantity": pd.array([1 + i % 2 for i in range(n)], dtype="int64"),
            "unit_price": pd.array(["2.00", "2.0"] * (n // 2) + ["2.00"] * (n % 2), dtype="str"),
            "unit_price_currency": pd.array(["EUR"] * n, dtype="str"),
            "discount": pd.array(discounts, dtype="str"),
            "discount_currency": pd.array(
                [None if d is None else "EUR" for d in discounts], dtype="str"
            ),
        }
    )


def with_order_and_product(store: Any) -> None:
    store.orders.add(order("o1"))
    store.products.add(one_of_each()["products"])


def test_typed_columns_store_each_value_as_its_text_says(store):
    # text, int64 and boolean columns are factorised: each distinct value is checked once,
    # but "2.0" and "2.00" stay apart (Decimal("2.0") == Decimal("2.00"))
    with_order_and_product(store)
    frame = lines_frame(["0.50", None, "0.50", "1.00", None, "0.5"])
    assert store.order_lines.add_frame(frame, batch_size=4) == 6
    stored = {line.id: line for line in store.order_lines.query()}
    assert str(stored["l0"].unit_price.amount) == "2.00"
    assert str(stored["l1"].unit_price.amount) == "2.0"
    assert stored["l1"].discount is None
    assert str(stored["l5"].discount.amount) == "0.5"
    assert [stored[f"l{i}"].quantity for i in range(6)] == [1, 2, 1, 2, 1, 2]


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("discount", "-0.10", ">= 0"),
        ("discount_currency", "euros", "currency"),
        ("product_id", " ", "blank"),
    ],
)
def test_a_bad_typed_value_names_its_first_row(store, column, value, problem):
    with_order_and_product(store)
    frame = lines_frame(["0.10"] * 9)
    frame.index = [f"r{i}" for i in range(9)]
    frame.loc[["r5", "r7"], column] = value  # the same bad value twice: the first is named
    with pytest.raises(ValidationError, match=problem) as info:
        store.order_lines.add_frame(frame, batch_size=4)
    assert info.value.row == "r5"
    assert store.order_lines.count() == 0
    objects = frame.astype(object)  # the per-value path: the same error
    with pytest.raises(ValidationError) as same:
        store.order_lines.add_frame(objects, batch_size=4)
    assert (same.value.message, same.value.row) == (info.value.message, info.value.row)


def test_cross_field_rules_run_in_every_chunk_for_a_new_combination(store):
    # a combination checked in an earlier chunk is not checked again, a new one is
    with_order_and_product(store)
    discounts = ["0.50"] * 8
    discounts[6] = "2.50"  # more than 1 x 2.00 (quantity 1 on even rows)
    frame = lines_frame(discounts)
    with pytest.raises(ValidationError, match="exceeds") as info:
        store.order_lines.add_frame(frame, batch_size=3)
    assert info.value.row == 6
    assert store.order_lines.count() == 0
    frame.loc[6, "quantity"] = 2  # 2 x 2.00 - 2.50: allowed
    assert store.order_lines.add_frame(frame, batch_size=3) == 8


def test_a_shared_value_object_is_stored_in_every_row_and_refused_at_its_first(store):
    from crmcore.domain import Address

    home = Address(country="DE", city="Berlin")
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(5)],
            "name": "Ada",
            "created_at": pd.Timestamp(at()),
            "address": pd.Series([home, None, home, home, None], dtype=object),
        }
    )
    assert store.customers.add_frame(frame, batch_size=2) == 5
    stored = {c.id: c.address for c in store.customers.query()}
    assert stored == {"c0": home, "c1": None, "c2": home, "c3": home, "c4": None}
    bad = ("not", "an address")
    frame = frame.assign(id=[f"d{i}" for i in range(5)])
    frame["address"] = pd.Series([home, None, bad, home, bad], dtype=object)
    with pytest.raises(ValidationError) as info:
        store.customers.add_frame(frame)
    assert info.value.row == 2
