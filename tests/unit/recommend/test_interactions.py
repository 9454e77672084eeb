"""Reading order lines at as_of: coding, matrices, the cut-off, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.recommend import interactions


def test_codes_and_matrices(lines):
    x = interactions(lines, as_of="2024-01-31", order_col="order_id", quantity_col="quantity")
    assert list(x.customers) == ["a", "b", "c", "d"]
    assert list(x.products) == ["honey", "lemon", "tea"]  # sorted ids, only those sold
    assert x.n_orders == 4
    orders = x.matrix("orders").toarray()
    np.testing.assert_array_equal(orders, [[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 0, 1]])
    qty = x.matrix("quantity").toarray()
    np.testing.assert_array_equal(qty, [[2, 0, 1], [1, 0, 1], [0, 1, 3], [0, 0, 1]])
    assert x.baskets().shape == (4, 3)
    assert x.baskets().sum() == 7


def test_date_only_as_of_is_the_end_of_the_day(lines):
    # the purchase at 08:00 on 10 February is history for as_of="2024-02-10"
    x = interactions(lines, as_of="2024-02-10")
    assert "cake" in set(x.products)
    assert "milk" not in set(x.products)
    # an instant at midnight is an instant: the same purchase is after it
    y = interactions(lines, as_of=pd.Timestamp("2024-02-10 00:00"))
    assert "cake" not in set(y.products)


def test_lines_after_as_of_are_not_used(lines):
    x = interactions(lines, as_of="2024-01-31")
    later = pd.concat(
        [
            lines,
            pd.DataFrame(
                {
                    "order_id": [9],
                    "customer_id": ["zz"],
                    "product_id": ["caviar"],
                    "date": [pd.Timestamp("2024-03-01")],
                    "quantity": [5],
                }
            ),
        ]
    )
    y = interactions(later, as_of="2024-01-31")
    assert list(x.customers) == list(y.customers)
    assert list(x.products) == list(y.products)
    assert (x.matrix() != y.matrix()).nnz == 0


def test_without_order_column_a_basket_is_one_customer_at_one_instant(lines):
    x = interactions(lines.drop(columns="order_id"), as_of="2024-03-01")
    assert x.n_orders == 6


def test_catalogue_keeps_unsold_products_and_its_order(lines):
    x = interactions(
        lines, as_of="2024-03-01", products=["tea", "honey", "lemon", "cake", "milk", "jam"]
    )
    assert list(x.products) == ["tea", "honey", "lemon", "cake", "milk", "jam"]
    assert x.matrix().shape == (4, 6)
    assert x.matrix().toarray()[:, 5].sum() == 0


def test_unknown_product_is_named(lines):
    with pytest.raises(ValidationError, match=r"unknown product.*'lemon' for row 5") as err:
        interactions(lines, as_of="2024-03-01", products=["tea", "honey", "cake", "milk"])
    assert err.value.field == "product_id"


def test_catalogue_from_a_frame(lines):
    cat = pd.DataFrame({"product_id": ["tea", "honey", "lemon", "cake", "milk"], "price": 1.0})
    assert interactions(lines, as_of="2024-03-01", products=cat).n_products == 5
    with pytest.raises(ValidationError, match="products has no column"):
        interactions(lines, as_of="2024-03-01", products=cat.rename(columns={"product_id": "sku"}))
    with pytest.raises(ValidationError, match="appears more than once"):
        interactions(lines, as_of="2024-03-01", products=["tea", "tea"])


@pytest.mark.parametrize("bad", [-1, 0])
def test_quantities_must_be_positive(lines, bad):
    lines.loc[3, "quantity"] = bad
    with pytest.raises(
        ValidationError, match=r"quantity must be > 0 \(a negative quantity is a return"
    ) as err:
        interactions(lines, as_of="2024-03-01", quantity_col="quantity")
    assert err.value.row == 3


def test_missing_values_and_columns(lines):
    with pytest.raises(ValidationError, match="missing column"):
        interactions(lines.drop(columns="product_id"), as_of="2024-03-01")
    broken = lines.astype({"customer_id": object})
    broken.loc[2, "customer_id"] = None
    with pytest.raises(ValidationError, match="customer_id must not be missing"):
        interactions(broken, as_of="2024-03-01")


def test_an_order_of_two_customers_is_refused(lines):
    lines.loc[2, "order_id"] = 1
    with pytest.raises(ValidationError, match="order 1 belongs to two customers"):
        interactions(lines, as_of="2024-03-01", order_col="order_id")


def test_nothing_before_as_of_says_so(lines):
    with pytest.raises(ValidationError, match="no order line is dated at or before"):
        interactions(lines, as_of="2023-12-31")


def test_zones_are_never_mixed_silently(lines):
    aware = lines.assign(date=lines["date"].dt.tz_localize("Europe/Paris"))
    with pytest.raises(ValidationError, match="naive but the dates are timezone-aware"):
        interactions(aware, as_of=pd.Timestamp("2024-01-31 12:00"))
    x = interactions(aware, as_of="2024-01-31")
    assert str(x.as_of.tz) == "Europe/Paris"
    with pytest.raises(ValidationError, match="as_of is required"):
        interactions(lines, as_of=None)
