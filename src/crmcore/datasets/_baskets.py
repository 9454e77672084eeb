"""The sample company's catalogue and baskets: what each order holds (vectorised).

The orders (who, when, how much) are drawn first by the BTYD generators of
:mod:`crmcore.datasets._customers`; this module fills each one with lines
whose totals add up to its amount exactly, with the structure real baskets
have:

* **popularity long tail**: products are drawn with Zipf weights
  ``1 / rank**ZIPF_EXPONENT`` (a few best sellers, a long tail);
* **complementary items**: every product has one complement in a partner
  category (tea and a teapot, coffee and a mug...), added after it with
  probability :data:`COMPLEMENT_RATE`;
* **repeat-purchase cycles**: each customer has two staple consumables with
  a personal cycle (the product's cycle times a log-normal factor); at each
  order a staple is bought with probability ``Φ((log elapsed − log cycle) /
  CYCLE_SPREAD)``, ``elapsed`` the time since the customer last bought it
  (a log-normal cycle: what :class:`~crmcore.recommend.RepurchaseModel`
  assumes).

Each order walks its candidates (staples due, always bought, then popularity
draws each maybe followed by its complement) and takes one when it brings
the basket's list price nearer to the order's amount (the cheapest if none
does); an order whose draws do not reach it buys
each item several times; what is still missing is made up with more units
of the cheapest line, and the overshoot (less than that line's price) is
the order's discount, spread over its lines in proportion to their value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
from scipy.special import ndtr

from crmcore.datasets._text import digits, joined, numbered, text_array

__all__ = [
    "COMPLEMENT_RATE",
    "CYCLE_SPREAD",
    "ZIPF_EXPONENT",
    "make_baskets",
    "make_catalogue",
]

#: Exponent of the Zipf popularity weights.
ZIPF_EXPONENT = 1.1
#: Probability that a drawn product is followed by its complement.
COMPLEMENT_RATE = 0.35
#: Standard deviation of log cycle lengths (the sharpness of a staple coming due).
CYCLE_SPREAD = 0.3
_DRAWS = 12  # popularity draws per order (before the amount is reached)
_STAPLES = 2  # staple consumables per customer

# department, category, median price, consumable cycle in days (0: durable), partner category
_CATEGORIES: tuple[tuple[str, str, float, float, int], ...] = (
    ("Grocery", "Tea", 6.5, 60.0, 6),
    ("Grocery", "Coffee", 11.9, 35.0, 6),
    ("Grocery", "Snacks", 4.5, 25.0, 9),
    ("Personal care", "Shampoo", 7.5, 100.0, 7),
    ("Personal care", "Toothpaste", 3.9, 80.0, 3),
    ("Home", "Cleaning", 6.0, 120.0, 7),
    ("Home", "Kitchen", 24.0, 0.0, 0),
    ("Home", "Textiles", 19.0, 0.0, 3),
    ("Books", "Fiction", 14.0, 0.0, 9),
    ("Toys", "Games", 27.0, 0.0, 2),
    ("Garden", "Tools", 22.0, 0.0, 11),
    ("Pets", "Food", 13.0, 45.0, 11),
)


def make_catalogue(n_products: int, *, currency: str, rng: np.random.Generator) -> pd.DataFrame:
    """Draw the catalogue.

    Returns
    -------
    DataFrame
        ``id, sku, name, category, price, active, consumable, cycle_days,
        popularity, complement``: ``category`` a tuple path, ``price`` the
        list price (two decimals, in ``currency``), ``popularity`` the
        normalised Zipf weight, ``complement`` the position of its complement.
    """
    n_cat = len(_CATEGORIES)
    cat = np.concatenate([np.arange(n_cat), rng.integers(0, n_cat, n_products - n_cat)])
    cat = rng.permutation(cat)  # every category has a product
    median = np.array([c[2] for c in _CATEGORIES])[cat]
    price = np.maximum(np.round(median * rng.lognormal(0.0, 0.45, n_products), 1) - 0.01, 0.49)
    cycle = np.array([c[3] for c in _CATEGORIES])[cat]
    consumable = cycle > 0
    rank = rng.permutation(n_products) + 1
    popularity = 1.0 / rank.astype(np.float64) ** ZIPF_EXPONENT
    popularity /= popularity.sum()
    partner = np.array([c[4] for c in _CATEGORIES])[cat]
    complement = np.empty(n_products, dtype=np.int64)
    for c in range(n_cat):  # one draw per partner category, by popularity within it
        pool = np.flatnonzero(cat == c)
        takers = np.flatnonzero(partner == c)
        weights = popularity[pool] / popularity[pool].sum()
        complement[takers] = rng.choice(pool, size=takers.size, p=weights)
    # a product is never its own complement: its partner category is another one
    number = np.arange(1, n_products + 1)
    ids = numbered("G", number, 5)
    names = [
        f"{_CATEGORIES[c][1]} no. {n}" for c, n in zip(cat.tolist(), number.tolist(), strict=True)
    ]
    return pd.DataFrame(
        {
            "id": ids,
            "sku": numbered("SKU-", number, 6),
            "name": names,
            "category": [(_CATEGORIES[c][0], _CATEGORIES[c][1]) for c in cat.tolist()],
            "price": price,
            "currency": currency,
            "active": rng.random(n_products) > 0.03,  # a few retired products
            "consumable": consumable,
            "cycle_days": cycle,
            "popularity": popularity,
            "complement": complement,
        }
    )


def _staples(
    customer: np.ndarray[Any, Any],
    days: np.ndarray[Any, Any],
    catalogue: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Which staple consumables each order holds (orders sorted by customer, then time).

    Returns ``(order position, product position)`` pairs.
    """
    n_customers = int(customer.max()) + 1
    consumables = np.flatnonzero(catalogue["consumable"].to_numpy())
    weights = catalogue["popularity"].to_numpy()[consumables]
    staple = rng.choice(consumables, size=(n_customers, _STAPLES), p=weights / weights.sum())
    cycle = catalogue["cycle_days"].to_numpy()[staple] * rng.lognormal(0.0, 0.15, staple.shape)
    # the k-th order of each customer, vectorised across customers (every customer has one)
    starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
    counts = np.diff(np.r_[starts, customer.size])
    rank = np.arange(customer.size) - np.repeat(starts, counts)
    # before the first order: the last purchase somewhere within the last cycle
    last = days[starts][:, None] - rng.uniform(0.0, 1.0, cycle.shape) * cycle
    orders_out: list[np.ndarray[Any, Any]] = []
    products_out: list[np.ndarray[Any, Any]] = []
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(int(counts.max()) + 1))
    for k in range(int(counts.max())):
        at = by_rank[bounds[k] : bounds[k + 1]]
        who = customer[at]
        elapsed = np.maximum(days[at][:, None] - last[who], 1e-3)
        due = ndtr((np.log(elapsed) - np.log(cycle[who])) / CYCLE_SPREAD)
        rows, which = np.nonzero(rng.random(due.shape) < due)
        orders_out.append(at[rows])
        products_out.append(staple[who[rows], which])
        last[who[rows], which] = days[at[rows]]
    if not orders_out:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(orders_out), np.concatenate(products_out)


def make_baskets(
    orders: pd.DataFrame,
    catalogue: pd.DataFrame,
    *,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Fill every order with lines whose totals add up to its amount.

    Parameters
    ----------
    orders : DataFrame
        ``id, customer_id, placed_at, amount`` (amounts with two decimals).
    catalogue : DataFrame
        From :func:`make_catalogue`.

    Returns
    -------
    DataFrame
        ``id, order_id, product_id, quantity, unit_price, discount``, one row
        per line, ordered by order; per order,
        ``sum(quantity * unit_price - discount) == amount`` in cents.
    """
    n_orders = len(orders)
    cents = np.round(orders["amount"].to_numpy() * 100).astype(np.int64)
    price = np.round(catalogue["price"].to_numpy() * 100).astype(np.int64)
    popularity = catalogue["popularity"].to_numpy()
    complement = catalogue["complement"].to_numpy()
    # staples due, on orders sorted by customer and time
    codes, _ = pd.factorize(orders["customer_id"], sort=True)
    days = (orders["placed_at"] - orders["placed_at"].min()).dt.total_seconds().to_numpy() / 86400
    order_of = np.lexsort((days, codes))
    s_order, s_product = _staples(codes[order_of], days[order_of], catalogue, rng)
    s_order = order_of[s_order]
    # one candidate row per order: the staples due (always bought), then the popularity
    # draws, each maybe followed by its complement (-1: no candidate)
    seq = np.full((n_orders, _STAPLES + 2 * _DRAWS), -1, dtype=np.int64)
    by_order = np.argsort(s_order, kind="stable")
    sorted_orders = s_order[by_order]  # at most _STAPLES per order
    slot = np.arange(s_order.size) - np.searchsorted(sorted_orders, sorted_orders)
    seq[sorted_orders, slot] = s_product[by_order]
    drawn = rng.choice(len(catalogue), size=(n_orders, _DRAWS), p=popularity)
    with_complement = rng.random((n_orders, _DRAWS)) < COMPLEMENT_RATE
    seq[:, _STAPLES::2] = drawn
    seq[:, _STAPLES + 1 :: 2] = np.where(with_complement, complement[drawn], -1)
    # walk the candidates: take one when it brings the basket nearer to the amount
    keep = np.zeros(seq.shape, dtype=bool)
    running = np.zeros(n_orders, dtype=np.int64)
    for j in range(seq.shape[1]):
        p = np.where(seq[:, j] >= 0, price[np.maximum(seq[:, j], 0)], 0)
        take = (seq[:, j] >= 0) & ((j < _STAPLES) | (2 * running + p < 2 * cents))
        keep[:, j] = take
        running += np.where(take, p, 0)
    empty = ~keep.any(axis=1)  # every candidate dearer than twice the amount: the cheapest
    candidate_price = np.where(seq >= 0, price[np.maximum(seq, 0)], np.iinfo(np.int64).max)
    keep[np.flatnonzero(empty), np.argmin(candidate_price[empty], axis=1)] = True
    item_order, column = np.nonzero(keep)
    item_product = seq[item_order, column]
    # the same product twice in an order is one line with a larger quantity
    line_key = item_order * len(catalogue) + item_product
    first_seen, quantity = np.unique(line_key, return_counts=True)
    l_order = first_seen // len(catalogue)
    l_product = first_seen % len(catalogue)
    l_price = price[l_product]
    gross = np.bincount(l_order, weights=quantity * l_price, minlength=n_orders).astype(np.int64)
    # orders the draws do not reach buy every item several times
    times = np.maximum(1, np.rint(cents / gross).astype(np.int64))
    quantity = quantity * times[l_order]
    gross = gross * times
    # what is still missing: more units of the order's cheapest line
    cheapest = _first_min_per_group(l_order, l_price, n_orders)
    extra = np.maximum(0, -(-(cents - gross) // l_price[cheapest]))
    quantity[cheapest] += extra
    gross = gross + extra * l_price[cheapest]
    line_value = quantity * l_price
    overshoot = gross - cents  # >= 0: the order's discount, spread by line value
    share = (overshoot[l_order] * line_value) // gross[l_order]
    rest = overshoot - np.bincount(l_order, weights=share, minlength=n_orders).astype(np.int64)
    # the cents lost to rounding down, one each to the first lines: share < line value
    # (overshoot < gross), so share + 1 <= line value
    number = np.arange(l_order.size) - np.searchsorted(l_order, l_order)
    share += number < rest[l_order]
    order_ids = pa.array(orders["id"].array, type=pa.string()).take(l_order)
    product_ids = pa.array(catalogue["id"].array, type=pa.string()).take(l_product)
    return pd.DataFrame(
        {
            "id": text_array(joined(order_ids, digits(number + 1), sep="-")),
            "order_id": text_array(order_ids),
            "product_id": text_array(product_ids),
            "quantity": quantity.astype(np.int64),
            "unit_price": l_price / 100.0,
            "discount": share / 100.0,
        }
    )


def _first_min_per_group(
    group: np.ndarray[Any, Any], value: np.ndarray[Any, Any], n_groups: int
) -> np.ndarray[Any, Any]:
    """Position of the smallest ``value`` of each group (``group`` sorted, every group present)."""
    order = np.lexsort((value, group))
    out: np.ndarray[Any, Any] = order[np.searchsorted(group[order], np.arange(n_groups))]
    return out
