"""Products, order lines and the rule between an order and its lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crmcore.domain import Money, Order, OrderLine, Product, check_order_lines, order_total
from crmcore.errors import ValidationError

T0 = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def line(n: int, quantity: int, price: str, discount: str | None = None, order: str = "O-1"):
    return OrderLine(
        id=f"{order}:{n}",
        order_id=order,
        product_id=f"P-{n}",
        quantity=quantity,
        unit_price=eur(price),
        discount=None if discount is None else eur(discount),
    )


def an_order(amount: str) -> Order:
    return Order(id="O-1", customer_id="C-1", placed_at=T0, amount=eur(amount))


def test_a_line_is_worth_quantity_times_price_less_discount():
    assert line(1, 3, "4.50", "1.50").total == eur("12.00")
    assert line(1, 3, "4.50").total == eur("13.50")
    assert line(1, 1, "4.50", "4.50").total.is_zero()  # a free item is allowed


def test_the_category_path_reads_both_ways():
    a = Product(id="P", sku="S", name="N", price=eur("1"), category=["Home", "Kitchen", "Mugs"])
    b = Product(id="P", sku="S", name="N", price=eur("1"), category="Home > Kitchen > Mugs")
    assert a == b
    assert a.category_path == "Home > Kitchen > Mugs"
    assert Product(id="P", sku="S", name="N", price=eur("1")).category_path == ""


def test_an_order_with_lines_is_worth_their_sum():
    lines = [line(1, 2, "4.50"), line(2, 1, "9.90", "0.90")]
    assert order_total(lines, currency="EUR") == eur("18.00")
    assert check_order_lines(an_order("18.00"), lines) == tuple(lines)
    assert check_order_lines(an_order("18"), lines)  # decimals compare by value


def test_a_wrong_order_total_names_both_figures():
    lines = [line(1, 2, "4.50"), line(2, 1, "9.90", "0.90")]
    with pytest.raises(ValidationError, match=r"18.01 EUR.*18.00 EUR") as info:
        check_order_lines(an_order("18.01"), lines)
    assert (info.value.field, info.value.row) == ("amount", "O-1")


def test_lines_of_another_order_or_currency_or_none_are_refused():
    with pytest.raises(ValidationError, match="belongs to order 'O-2'") as info:
        check_order_lines(an_order("9.00"), [line(1, 2, "4.50", order="O-2")])
    assert info.value.field == "order_id"
    usd = OrderLine(
        id="O-1:1",
        order_id="O-1",
        product_id="P",
        quantity=1,
        unit_price=Money(amount="9", currency="USD"),
    )
    with pytest.raises(ValidationError, match="USD") as info:
        check_order_lines(an_order("9.00"), [usd])
    assert (info.value.field, info.value.row) == ("unit_price", "O-1:1")
    with pytest.raises(ValidationError, match="no lines"):
        check_order_lines(an_order("0"), [])
    with pytest.raises(ValidationError, match="twice"):
        check_order_lines(an_order("9.00"), [line(1, 1, "4.50"), line(1, 1, "4.50")])


def test_a_negative_quantity_names_the_fix():
    with pytest.raises(ValidationError, match="refunding the order") as info:
        line(1, -2, "4.50")
    assert (info.value.field, info.value.value) == ("quantity", -2)


def test_round_trip_keeps_exact_amounts():
    original = line(1, 3, "4.505", "0.015")
    assert OrderLine.from_dict(original.to_dict()) == original
    assert original.total.amount == Decimal("13.500")
