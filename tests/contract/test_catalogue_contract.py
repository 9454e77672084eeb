"""Products and order lines: checked references, add_order, the purchase-line frame."""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
import pytest

from crmcore.domain import Money, OrderLine, Product
from crmcore.errors import ValidationError
from crmcore.storage import ORDER_LINE_COLUMNS, add_order, order_lines_frame
from tests.contract._samples import at, eur, order


def product(key: str, price: str = "2.50", **kw) -> Product:
    return Product(id=key, sku=f"SKU-{key}", name=f"Item {key}", price=eur(price), **kw)


def line(order_id: str, n: int, product_id: str, quantity: int = 1, price: str = "2.50", **kw):
    return OrderLine(
        id=f"{order_id}:{n}",
        order_id=order_id,
        product_id=product_id,
        quantity=quantity,
        unit_price=eur(price),
        **kw,
    )


@pytest.fixture
def catalogue(store):
    store.products.add_many([product("tea"), product("mug", "9.90"), product("cake", "3.20")])
    return store


def test_a_line_naming_an_unknown_product_is_refused_everywhere(catalogue):
    store = catalogue
    store.orders.add(order("o1"))
    bad = line("o1", 1, "coffee")
    for write in (store.order_lines.add, lambda e: store.order_lines.add_many([e])):
        with pytest.raises(ValidationError, match=r"product_id='coffee'.*store\.products") as info:
            write(bad)
        assert (info.value.field, info.value.row, info.value.value) == (
            "product_id",
            "o1:1",
            "coffee",
        )
    # all or nothing: a good line before the bad one is not written either
    with pytest.raises(ValidationError, match="coffee"):
        store.order_lines.add_many([line("o1", 2, "tea"), bad])
    assert store.order_lines.count() == 0
    good = store.order_lines.add(line("o1", 1, "tea"))
    for write in (store.order_lines.update, lambda e: store.order_lines.update_many([e])):
        with pytest.raises(ValidationError, match="coffee"):
            write(attrs.evolve(good, product_id="coffee"))
    assert store.order_lines.get("o1:1") == good


def test_a_line_naming_an_unknown_order_is_refused(catalogue):
    with pytest.raises(ValidationError, match=r"order_id='o9'.*store\.orders") as info:
        catalogue.order_lines.add(line("o9", 1, "tea"))
    assert info.value.field == "order_id"


def test_a_unit_of_work_sees_its_own_products_and_rolls_back_together(catalogue):
    store = catalogue
    with store.unit_of_work() as uow:
        uow.products.add(product("jam"))
        uow.orders.add(order("o1"))
        uow.order_lines.add(line("o1", 1, "jam"))
        # not committed: leaving the block rolls everything back
    assert store.products.find("jam") is None
    assert store.orders.count() == store.order_lines.count() == 0
    store.orders.add(order("o1"))
    with pytest.raises(ValidationError, match="product_id='jam'"):
        store.order_lines.add(line("o1", 1, "jam"))


def test_add_order_checks_the_total_and_writes_nothing_when_wrong(catalogue):
    store = catalogue
    lines = [line("o1", 1, "tea", 2), line("o1", 2, "mug", 1, "9.90", discount=eur("0.90"))]
    with pytest.raises(ValidationError, match=r"add up to 14\.00 EUR") as info:
        add_order(store, order("o1", amount=eur("14.01")), lines)
    assert info.value.field == "amount"
    assert store.orders.count() == store.order_lines.count() == 0
    with pytest.raises(ValidationError, match="coffee"):  # the product check, same rollback
        add_order(store, order("o1", amount=eur("2.50")), [line("o1", 1, "coffee")])
    assert store.orders.count() == store.order_lines.count() == 0
    stored = add_order(store, order("o1", amount=eur("14")), lines)
    assert stored == store.orders.get("o1")
    assert {ln.id for ln in store.order_lines.query({"order_id": "o1"})} == {"o1:1", "o1:2"}


def test_the_purchase_line_frame_joins_buyer_and_time(catalogue):
    store = catalogue
    add_order(
        store,
        order("o1", customer_id="c1", placed_at=at(1), amount=eur("14.00")),
        [line("o1", 1, "tea", 2), line("o1", 2, "mug", 1, "9.90", discount=eur("0.90"))],
    )
    add_order(
        store,
        order("o2", customer_id="c2", placed_at=at(0), amount=eur("3.20")),
        [line("o2", 1, "cake", 1, "3.20")],
    )
    add_order(
        store,
        order("o3", customer_id="c1", placed_at=at(2), amount=eur("2.50"), status="refunded"),
        [line("o3", 1, "tea")],
    )
    store.orders.add(order("o4", placed_at=at(3)))  # an order without lines: not in the frame
    frame = order_lines_frame(store)
    assert tuple(frame.columns) == ORDER_LINE_COLUMNS
    assert frame[["order_id", "customer_id", "product_id", "quantity"]].values.tolist() == [
        ["o2", "c2", "cake", 1],  # by date first
        ["o1", "c1", "tea", 2],
        ["o1", "c1", "mug", 1],
    ]
    np.testing.assert_allclose(frame["amount"], [3.20, 5.00, 9.00], rtol=1e-12)
    np.testing.assert_allclose(frame["discount"], [0.0, 0.0, 0.90], rtol=1e-12)
    assert frame["date"].tolist() == [pd.Timestamp(at(d)).tz_convert("UTC") for d in (0, 1, 1)]
    assert frame["quantity"].dtype == np.int64
    assert (frame["currency"] == "EUR").all()
    refunds = order_lines_frame(store, statuses="refunded")
    assert refunds["order_id"].tolist() == ["o3"]
    recent = order_lines_frame(store, where={"placed_at__gt": at(0.5)})
    assert recent["order_id"].unique().tolist() == ["o1"]
    with pytest.raises(ValidationError, match="allowed: pending"):
        order_lines_frame(store, statuses=["done"])


def test_a_retired_product_keeps_its_lines(catalogue):
    store = catalogue
    add_order(store, order("o1", amount=eur("2.50")), [line("o1", 1, "tea")])
    tea = store.products.get("tea")
    store.products.update(attrs.evolve(tea, active=False))
    assert [p.id for p in store.products.query({"active": False})] == ["tea"]
    assert order_lines_frame(store)["product_id"].tolist() == ["tea"]
    assert [p.id for p in store.products.query({"category__contains": "Tea"})] == []
    store.products.add(product("green", category="Grocery > Tea"))
    assert [p.id for p in store.products.query({"category__contains": "Tea"})] == ["green"]
    assert Money.total([ln.total for ln in store.order_lines.query()], currency="EUR") == eur(
        "2.50"
    )


def test_add_frame_applies_the_line_and_product_rules_naming_the_row(catalogue):
    # the rules read only price, quantity and discount: add_frame checks each distinct
    # combination once, and must still refuse the one bad row among repeated good ones
    store = catalogue
    store.orders.add(order("o1"))
    good = {
        "order_id": "o1",
        "product_id": "tea",
        "quantity": 2,
        "unit_price": "2.50",
        "unit_price_currency": "EUR",
        "discount": "1.00",
        "discount_currency": "EUR",
    }
    rows = [{**good, "id": f"o1:{i}"} for i in range(5)]
    rows[3] = {**rows[3], "discount": "5.01"}  # 2 x 2.50 = 5.00 < 5.01
    with pytest.raises(ValidationError, match=r"discount 5\.01 EUR exceeds") as info:
        store.order_lines.add_frame(pd.DataFrame(rows, index=[10, 11, 12, 13, 14]))
    assert (info.value.field, info.value.row) == ("discount", 13)
    assert store.order_lines.count() == 0
    rows[3] = {**rows[3], "discount": "5.00", "quantity": 2}
    assert store.order_lines.add_frame(pd.DataFrame(rows)) == 5
    assert store.order_lines.get("o1:3").total == eur("0.00")
    products = pd.DataFrame(
        {
            "id": ["p1", "p2"],
            "sku": ["S1", "S2"],
            "name": ["One", "Two"],
            "price": ["1.00", "-0.01"],
            "price_currency": ["EUR", "EUR"],
        }
    )
    with pytest.raises(ValidationError, match="price must be >= 0") as info:
        store.products.add_frame(products)
    assert (info.value.field, info.value.row) == ("price", 1)
