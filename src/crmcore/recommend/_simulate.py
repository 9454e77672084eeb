"""A seeded order-line generator with known structure: long tail, complements, repurchase cycles.

The story, all vectorised (no loop over customers or orders):

* **Products** fall into categories and have Zipf popularity: the product of
  popularity rank ``r`` has weight ``r^(-zipf)`` (a long tail). Prices are
  log-normal around a price level per category.
* **Customers** belong to segments; each segment likes some categories more
  (a log-normal boost per category), and each customer has a favourite
  category. An order's items come from the favourite category with
  probability ``taste``, otherwise from the segment's preferences.
* **Complements**: a share of products has one complementary product in its
  category (tea → honey); when the product is in a basket its complement is
  added with probability ``complement_probability``.
* **Repurchase cycles**: a share of products are consumables with a typical
  cycle (days). Each customer adopts a few of them and rebuys each in its own
  orders, with log-normal intervals: ``log T ~ N(μ_cp, σ²)`` where the
  customer's ``μ_cp ~ N(log cycle_p, τ²)``, the model that
  :class:`~crmcore.recommend.RepurchaseModel` fits.

The truth (segments, favourite categories, complement pairs, each customer's
cycle parameters) is returned with the lines, for tests, docs and
benchmarks.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._time import NS_PER_DAY, to_instant
from crmcore._types import FloatArray, IntArray, RandomState
from crmcore._validation import check_random_state, check_scalar
from crmcore.errors import ValidationError
from crmcore.recommend._similarity import check_int

__all__ = ["SimulatedBaskets", "simulate_baskets"]


@attrs.frozen(eq=False)
class SimulatedBaskets:
    """Order lines drawn by :func:`simulate_baskets`, with the truth behind them.

    Attributes
    ----------
    lines : DataFrame
        ``order_id``, ``customer_id``, ``product_id``, ``date``, ``quantity``,
        ``unit_price``; sorted by date.
    products : DataFrame
        One row per product: ``product_id``, ``category``, ``price``,
        ``popularity`` (the Zipf weight), ``consumable`` (bool),
        ``cycle_days`` (typical repurchase interval; NaN if not consumable),
        ``active`` (bool).
    customers : DataFrame
        ``customer_id``, ``segment``, ``favourite_category``, ``first_order``.
    complements : DataFrame
        ``product_id`` → ``complement_id``: the true "bought together" pairs.
    cycles : DataFrame
        One row per (customer, consumable) adopted: ``customer_id``,
        ``product_id``, ``mu`` (mean log interval in days), ``sigma``;
        the expected interval is ``exp(mu + sigma²/2)`` days.
    """

    lines: pd.DataFrame
    products: pd.DataFrame
    customers: pd.DataFrame
    complements: pd.DataFrame
    cycles: pd.DataFrame


def _draw(cum: FloatArray, group: IntArray, rng: np.random.Generator) -> IntArray:
    """Draw one position per entry of ``group`` from stacked cumulative weights.

    ``cum`` holds, for group ``g``, ``g + (cumulative share)`` over its
    members, so one ``searchsorted`` serves every group at once.
    """
    u = group + rng.random(group.size)
    return np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1).astype(np.int64)


def _stacked(weights: FloatArray) -> FloatArray:
    """Rows of ``weights`` as cumulative shares offset by the row index, flattened."""
    share = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    share[:, -1] = 1.0
    out: FloatArray = (share + np.arange(weights.shape[0])[:, None]).ravel()
    return out


def _labels(prefix: str, n: int) -> list[str]:
    width = len(str(max(n - 1, 0)))
    return [f"{prefix}{i:0{width}d}" for i in range(n)]


def simulate_baskets(
    n_customers: int = 1_000,
    n_products: int = 200,
    *,
    start: Any = "2023-01-01",
    periods: float = 730.0,
    orders_per_customer: float = 4.0,
    basket_size: float = 2.5,
    zipf: float = 1.1,
    n_categories: int | None = None,
    n_segments: int = 4,
    taste: float = 0.6,
    complement_share: float = 0.3,
    complement_probability: float = 0.5,
    consumable_share: float = 0.1,
    consumables_per_customer: float = 1.0,
    cycle_days: tuple[float, float] = (7.0, 60.0),
    cycle_sigma: float = 0.25,
    cycle_tau: float = 0.3,
    random_state: RandomState = None,
) -> SimulatedBaskets:
    """Simulate order lines with a long tail, complements and repurchase cycles.

    Parameters
    ----------
    n_customers, n_products : int
        Sizes (>= 1; ``n_products >= 2``).
    start : date-like
        First day of the log (naive or aware; dates keep its zone).
    periods : float, default 730
        Length of the log in days.
    orders_per_customer : float, default 4
        Mean number of ordinary orders per customer (Poisson, at least one).
    basket_size : float, default 2.5
        Mean items per ordinary order before complements (1 + Poisson).
    zipf : float, default 1.1
        Exponent of the popularity long tail.
    n_categories : int, optional
        Default ``max(2, round(sqrt(n_products) / 2))``.
    n_segments : int, default 4
        Customer segments (``"s0"``, ``"s1"``, ...).
    taste : float, default 0.6
        Probability that an item comes from the customer's favourite category.
    complement_share, complement_probability : float
        Share of products with a complement; probability of adding it.
    consumable_share : float, default 0.1
        Share of products that are consumables.
    consumables_per_customer : float, default 1
        Mean consumables a customer rebuys (Poisson).
    cycle_days : (float, float), default (7, 60)
        Range of the consumables' typical cycles (log-uniform).
    cycle_sigma, cycle_tau : float
        ``σ`` (within a customer) and ``τ`` (between customers) of the log
        intervals.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    SimulatedBaskets

    Examples
    --------
    >>> sim = simulate_baskets(200, 50, random_state=1)
    >>> list(sim.lines.columns)
    ['order_id', 'customer_id', 'product_id', 'date', 'quantity', 'unit_price']
    >>> bool(sim.lines["date"].is_monotonic_increasing)
    True
    """
    n_customers = check_int(n_customers, name="n_customers", low=1)
    n_products = check_int(n_products, name="n_products", low=2)
    n_segments = check_int(n_segments, name="n_segments", low=1)
    periods = check_scalar(periods, name="periods", low=1)
    for name, value in (
        ("taste", taste),
        ("complement_share", complement_share),
        ("complement_probability", complement_probability),
        ("consumable_share", consumable_share),
    ):
        check_scalar(value, name=name, low=0, high=1)
    check_scalar(orders_per_customer, name="orders_per_customer", low=0, low_inclusive=False)
    check_scalar(basket_size, name="basket_size", low=1)
    check_scalar(zipf, name="zipf", low=0)
    lo_cycle = check_scalar(cycle_days[0], name="cycle_days", low=0, low_inclusive=False)
    hi_cycle = check_scalar(cycle_days[1], name="cycle_days", low=lo_cycle)
    check_scalar(cycle_sigma, name="cycle_sigma", low=0, low_inclusive=False)
    check_scalar(cycle_tau, name="cycle_tau", low=0)
    n_cat = (
        max(2, round(np.sqrt(n_products) / 2))
        if n_categories is None
        else check_int(n_categories, name="n_categories", low=1)
    )
    if n_cat > n_products:
        raise ValidationError(
            f"n_categories={n_cat} exceeds n_products={n_products}: every category needs a "
            "product",
            field="n_categories",
            value=n_categories,
        )
    rng = check_random_state(random_state)
    t0 = to_instant(start, name="start")
    t0_ns = int(t0.tz_convert("UTC").tz_localize(None).value if t0.tzinfo else t0.value)
    span = periods * NS_PER_DAY

    # ---- products: categories, Zipf popularity, prices
    category = rng.integers(0, n_cat, n_products)
    category[:n_cat] = np.arange(min(n_cat, n_products))  # every category has a product
    weight = 1.0 / (rng.permutation(n_products) + 1.0) ** zipf
    price = np.round(
        np.exp(rng.normal(2.5, 0.6, n_cat)[category] + rng.normal(0, 0.3, n_products)), 2
    )
    consumable = rng.random(n_products) < consumable_share
    cycle = np.where(
        consumable, np.exp(rng.uniform(np.log(lo_cycle), np.log(hi_cycle), n_products)), np.nan
    )

    # ---- segments and favourite categories
    seg_boost = np.exp(rng.normal(0.0, 1.0, (n_segments, n_cat)))
    segment = rng.integers(0, n_segments, n_customers)
    seg_weights = np.asarray(
        weight[None, :] * seg_boost[:, category], dtype=np.float64
    )  # segments × products
    cat_pref: FloatArray = np.stack(
        [np.bincount(category, weights=w, minlength=n_cat) for w in seg_weights]
    )
    favourite = _draw(_stacked(cat_pref), segment, rng)
    favourite = favourite % n_cat

    # products sorted by category, with stacked cumulative weights per category
    by_cat = np.argsort(category, kind="stable")
    cat_sizes = np.bincount(category, minlength=n_cat)
    cat_start = np.concatenate([[0], np.cumsum(cat_sizes)[:-1]])
    w_sorted = weight[by_cat]
    within = np.zeros(n_products)
    for c in range(n_cat):  # a loop over categories (tens), not customers
        s, e = cat_start[c], cat_start[c] + cat_sizes[c]
        if e > s:
            part = np.cumsum(w_sorted[s:e]) / w_sorted[s:e].sum()
            part[-1] = 1.0
            within[s:e] = part + c
    seg_cum = _stacked(seg_weights)

    # ---- ordinary orders
    acquired = rng.random(n_customers) * 0.6 * span
    n_orders = np.maximum(1, rng.poisson(orders_per_customer, n_customers))
    order_customer = np.repeat(np.arange(n_customers), n_orders)
    order_time = acquired[order_customer] + rng.random(order_customer.size) * (
        span - acquired[order_customer]
    )
    size = 1 + rng.poisson(basket_size - 1.0, order_customer.size)
    line_order = np.repeat(np.arange(order_customer.size), size)
    line_cust = order_customer[line_order]
    from_fav = rng.random(line_order.size) < taste
    product = np.empty(line_order.size, dtype=np.int64)
    fav = favourite[line_cust[from_fav]]
    product[from_fav] = by_cat[_draw(within, fav, rng)]
    rest = ~from_fav
    product[rest] = _draw(seg_cum, segment[line_cust[rest]], rng) % n_products

    # ---- complements
    has_comp = rng.random(n_products) < complement_share
    comp = np.full(n_products, -1, dtype=np.int64)
    donors = np.flatnonzero(has_comp)
    comp[donors] = by_cat[_draw(within, category[donors], rng)]
    comp[comp == np.arange(n_products)] = -1
    add = (comp[product] >= 0) & (rng.random(product.size) < complement_probability)
    line_order = np.concatenate([line_order, line_order[add]])
    product = np.concatenate([product, comp[product[add]]])

    # ---- consumables: renewal processes per adopted (customer, product)
    cons_ids = np.flatnonzero(consumable)
    cycles = pd.DataFrame({"customer_id": [], "product_id": [], "mu": [], "sigma": []}).astype(
        {"customer_id": np.int64, "product_id": np.int64}
    )
    extra_time = np.zeros(0)
    extra_cust = extra_prod = np.zeros(0, dtype=np.int64)
    if cons_ids.size:
        n_adopt = rng.poisson(consumables_per_customer, n_customers)
        pair_cust = np.repeat(np.arange(n_customers), n_adopt)
        cw = weight[cons_ids] / weight[cons_ids].sum()
        pair_prod = cons_ids[rng.choice(cons_ids.size, pair_cust.size, p=cw)]
        key = np.unique(pair_cust * n_products + pair_prod)
        pair_cust, pair_prod = key // n_products, key % n_products
        mu = np.log(cycle[pair_prod]) + cycle_tau * rng.normal(size=key.size)
        cycles = pd.DataFrame(
            {
                "customer_id": pair_cust,
                "product_id": pair_prod,
                "mu": mu,
                "sigma": np.full(key.size, float(cycle_sigma)),
            }
        )
        first = acquired[pair_cust] + rng.random(key.size) * np.exp(mu) * NS_PER_DAY
        room = np.maximum(span - first, 0) / NS_PER_DAY
        # enough draws for the interval to cover the rest of the log almost surely
        m = np.ceil(room / np.exp(mu - 2.5 * cycle_sigma)).astype(np.int64) + 1
        rep = np.repeat(np.arange(key.size), m)
        gaps = np.exp(mu[rep] + cycle_sigma * rng.normal(size=rep.size)) * NS_PER_DAY
        starts = np.concatenate([[0], np.cumsum(m)[:-1]])
        gaps[starts] = 0.0
        csum = np.cumsum(gaps)
        csum -= np.repeat(csum[starts], m)
        t = first[rep] + csum
        keep = t < span
        extra_time, extra_cust, extra_prod = t[keep], pair_cust[rep[keep]], pair_prod[rep[keep]]

    # ---- assemble: ordinary lines, then one order per consumable purchase
    n_ord = order_customer.size
    all_order = np.concatenate([line_order, n_ord + np.arange(extra_time.size)])
    all_prod = np.concatenate([product, extra_prod])
    all_cust = np.concatenate([order_customer[line_order], extra_cust])
    all_time = np.concatenate([order_time[line_order], extra_time])
    # one line per (order, product): a product drawn twice in an order is quantity 2
    key = all_order * n_products + all_prod
    uniq, first_pos, counts = np.unique(key, return_index=True, return_counts=True)
    qty = counts + rng.poisson(0.2, uniq.size)
    o_time = all_time[first_pos]
    sort = np.argsort(o_time, kind="stable")
    when = (t0_ns + o_time[sort].astype(np.int64)).astype("datetime64[ns]")
    dates = pd.DatetimeIndex(when).as_unit("us")
    if t0.tzinfo is not None:
        dates = dates.tz_localize("UTC").tz_convert(t0.tzinfo)
    prod_sorted = all_prod[first_pos][sort]
    lines = pd.DataFrame(
        {
            "order_id": (uniq // n_products)[sort],
            "customer_id": all_cust[first_pos][sort],
            "product_id": prod_sorted,
            "date": dates,
            "quantity": qty[sort].astype(np.int64),
            "unit_price": price[prod_sorted],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": np.arange(n_products),
            "category": pd.Categorical.from_codes(category, pd.Index(_labels("c", n_cat))),
            "price": price,
            "popularity": weight,
            "consumable": consumable,
            "cycle_days": cycle,
            "active": rng.random(n_products) < 0.95,
        }
    )
    first_order = pd.DatetimeIndex(
        (t0_ns + acquired.astype(np.int64)).astype("datetime64[ns]")
    ).as_unit("us")
    if t0.tzinfo is not None:
        first_order = first_order.tz_localize("UTC").tz_convert(t0.tzinfo)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(n_customers),
            "segment": pd.Categorical.from_codes(segment, pd.Index(_labels("s", n_segments))),
            "favourite_category": pd.Categorical.from_codes(
                favourite, pd.Index(_labels("c", n_cat))
            ),
            "first_order": first_order,
        }
    )
    pairs = np.flatnonzero(comp >= 0)
    complements = pd.DataFrame({"product_id": pairs, "complement_id": comp[pairs]})
    return SimulatedBaskets(lines, products, customers, complements, cycles)
