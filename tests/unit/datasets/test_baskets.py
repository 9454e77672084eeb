"""The sample company's catalogue and baskets: exact totals and realistic structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.datasets import make_company, write_company
from crmcore.domain import Money, Order, OrderLine, check_order_lines
from crmcore.errors import ValidationError
from crmcore.storage import InMemoryStore, SqlStore, order_lines_frame


@pytest.fixture(scope="module")
def company():
    return make_company(1500, random_state=4)


def cents(values) -> np.ndarray:
    return np.round(np.asarray(values, dtype=float) * 100).astype(np.int64)


def test_every_order_is_worth_exactly_its_lines(company):
    lines = company.order_lines
    value = lines["quantity"].to_numpy() * cents(lines["unit_price"])
    discount = cents(lines["discount"])
    assert (lines["quantity"] >= 1).all()
    assert ((discount >= 0) & (discount <= value)).all()
    per_order = pd.Series(value - discount).groupby(lines["order_id"].to_numpy()).sum()
    orders = pd.Series(cents(company.orders["amount"]), index=company.orders["id"])
    assert set(per_order.index) == set(orders.index)  # every order has lines
    assert (per_order == orders[per_order.index]).all()
    assert lines["id"].is_unique
    assert set(lines["product_id"]) <= set(company.products["id"])
    # discounts stay promotions, not give-aways
    assert discount.sum() / value.sum() < 0.25


def test_the_domain_rule_holds_for_the_entities(company):
    by_order = company.order_lines.groupby("order_id")
    for row in company.orders.head(50).itertuples():
        order = Order(
            id=row.id,
            customer_id=row.customer_id,
            placed_at=row.placed_at.to_pydatetime(),
            amount=Money(amount=f"{row.amount:.2f}", currency="EUR"),
        )
        lines = [
            OrderLine(
                id=ln.id,
                order_id=ln.order_id,
                product_id=ln.product_id,
                quantity=int(ln.quantity),
                unit_price=Money(amount=f"{ln.unit_price:.2f}", currency="EUR"),
                discount=Money(amount=f"{ln.discount:.2f}", currency="EUR"),
            )
            for ln in by_order.get_group(row.id).itertuples()
        ]
        assert len(check_order_lines(order, lines)) == len(lines)


def test_popularity_has_a_long_tail(company):
    sales = company.order_lines["product_id"].value_counts()
    n = len(company.products)
    top = sales.iloc[: n // 10].sum() / sales.sum()
    bottom = sales.iloc[n // 2 :].sum() / sales.sum()
    assert top > 0.4, top  # the best tenth sells well over its share
    assert bottom < 0.15, bottom
    # Zipf-like: log sales fall roughly linearly in log rank over the head of the catalogue
    head = sales.iloc[: n // 4].to_numpy(dtype=float)
    slope = np.polyfit(np.log(np.arange(1, head.size + 1)), np.log(head), 1)[0]
    assert -1.8 < slope < -0.5, slope


def test_complements_are_bought_together(company):
    lines = company.order_lines
    products = company.products
    n_orders = lines["order_id"].nunique()
    baskets = lines.groupby("order_id")["product_id"].agg(frozenset)
    share = (
        lines.drop_duplicates(["order_id", "product_id"])["product_id"].value_counts() / n_orders
    )

    def lift(a: str, b: str) -> float:
        both = sum(1 for basket in baskets if a in basket and b in basket) / n_orders
        return float(both / (share[a] * share[b]))

    known = set(share[share * n_orders >= 30].index)
    complements = products["id"].to_numpy()[products["complement"]]
    pairs = [
        (pid, comp)
        for pid, comp in zip(products["id"], complements, strict=True)
        if pid in known and comp in share.index
    ]
    rng = np.random.default_rng(0)
    others = rng.choice(sorted(known), size=(len(pairs), 2))
    assert len(pairs) >= 10
    with_complement = np.median([lift(a, b) for a, b in pairs])
    at_random = np.median([lift(a, b) for a, b in others if a != b])
    assert with_complement > 1.5, with_complement
    assert with_complement > 2 * at_random, (with_complement, at_random)


def test_consumables_are_rebought_on_their_cycle(company):
    lines = company.purchase_lines
    catalogue = company.products.set_index("id")
    consumable = lines[lines["product_id"].isin(catalogue.index[catalogue["consumable"]])].copy()
    consumable["day"] = consumable["date"].dt.floor("D")
    consumable = consumable.drop_duplicates(["customer_id", "product_id", "day"])
    consumable = consumable.sort_values(["customer_id", "product_id", "day"])
    gaps = consumable.groupby(["customer_id", "product_id"])["day"].diff().dt.days
    per_product = gaps.groupby(consumable["product_id"]).agg(["median", "size"])
    per_product = per_product[per_product["size"] >= 30]
    assert len(per_product) >= 8
    cycle = catalogue.loc[per_product.index, "cycle_days"]
    rho = per_product["median"].corr(cycle, method="spearman")
    assert rho > 0.6, rho  # longer cycles, longer gaps between purchases


def test_the_store_gives_back_the_purchase_lines(company):
    small = make_company(120, random_state=9)
    store = InMemoryStore()
    counts = write_company(small, store)
    assert counts["products"] == len(small.products) == store.products.count()
    assert counts["order_lines"] == len(small.order_lines) == store.order_lines.count()
    stored = order_lines_frame(store)
    expected = small.purchase_lines
    pd.testing.assert_frame_equal(
        stored.drop(columns=["date"]), expected.drop(columns=["date"]), check_dtype=False
    )
    assert (stored["date"] == expected["date"]).all()


def test_sqlite_holds_the_lines_and_products_the_entities_would_give():
    # write_company hands products and lines to add_frame as exact text amounts; a line
    # without a discount keeps none (not a zero amount), as OrderLine(discount=None)
    small = make_company(60, random_state=11)
    store = SqlStore("sqlite://")
    store.create_schema()
    write_company(small, store)
    frame = small.order_lines
    assert (cents(frame["discount"]) == 0).any()  # the case below occurs in this company
    lines = {line.id: line for line in store.order_lines.query()}
    assert len(lines) == len(frame)
    for row in frame.itertuples(index=False):
        price = Money(amount=f"{cents([row.unit_price])[0] / 100:.2f}", currency="EUR")
        off = cents([row.discount])[0]
        expected = OrderLine(
            id=row.id,
            order_id=row.order_id,
            product_id=row.product_id,
            quantity=int(row.quantity),
            unit_price=price,
            discount=Money(amount=f"{off / 100:.2f}", currency="EUR") if off else None,
        )
        assert lines[row.id] == expected
    products = {p.id: p for p in store.products.query()}
    for row in small.products.itertuples(index=False):
        stored = products[row.id]
        assert (stored.sku, stored.name, stored.category, stored.active) == (
            row.sku,
            row.name,
            row.category,
            bool(row.active),
        )
        assert stored.price == Money(amount=f"{row.price:.2f}", currency="EUR")


def test_the_catalogue_leaves_the_rest_of_the_company_alone():
    a = make_company(300, random_state=2)
    b = make_company(300, random_state=2, n_products=500)
    pd.testing.assert_frame_equal(a.orders, b.orders)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    assert len(b.products) == 500
    assert len(a.products) == 60
    with pytest.raises(ValidationError, match="n_products"):
        make_company(10, n_products=5)
