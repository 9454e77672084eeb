"""The time rule for crmcore.recommend: nothing after ``as_of`` reaches a model or a decision.

For random tiny shops (a handful of customers and products) and a fixed cut-off
(docs/time.rst):

* **No leak.** Order lines dated after ``as_of`` may be changed, added or
  removed (and fall anywhere in the log): the fitted model's recommendations and
  scores, the repurchase predictions and the interaction codes stay exactly the
  same. :func:`evaluate_recommenders` reads the test window ``(as_of, as_of +
  horizon]`` by design: there, nothing after ``as_of + horizon`` matters.
  :func:`next_best_action` counts contacts in ``(as_of - window, as_of]``:
  contacts after ``as_of`` never change the decision. (Its ``consent`` is an
  undated matrix "in force at ``as_of``"; the dated consents it comes from are
  held by ``crmcore.domain.current_consent``'s property.)
* **Instants.** The recommenders, the evaluation and the decision are made of
  instants and fixed durations: the same instants (lines, contacts and
  ``as_of``) written in another zone give the same answer (datetime columns
  compared in UTC). The repurchase model counts calendar days on the data's
  wall clock by design: there the same wall-clock times written in another zone
  give the same days.

Both sides of a property must agree on a refusal (a ``ValidationError`` on the
same field) as well. Every callable is registered in
``test_time_rule_coverage.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from crmcore.errors import DataWarning, ValidationError
from crmcore.recommend import (
    BoughtTogetherRecommender,
    Constraints,
    FrequencyCap,
    ImplicitALSRecommender,
    Interactions,
    ItemSimilarityRecommender,
    Offer,
    PopularityRecommender,
    RepurchaseModel,
    evaluate_recommenders,
    interactions,
    next_best_action,
    store_interactions,
)

RULE = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASE = pd.Timestamp("2024-03-01", tz="UTC")
DAY = 86_400
CUT = 20 * DAY  # as_of, in seconds after BASE
HORIZON = 10 * DAY  # evaluate_recommenders' and the repurchase model's window
SPAN = CUT + 3 * HORIZON
AS_OF = BASE + pd.Timedelta(seconds=CUT)
ZONES = st.sampled_from(["Asia/Tokyo", "America/New_York", "Europe/Paris", "Asia/Kathmandu"])

OLD_CUSTOMERS = ["c0", "c1", "c2", "c3"]
OLD_PRODUCTS = ["p0", "p1", "p2", "p3"]
# lines after as_of may bring customers and products never seen before it
NEW_CUSTOMERS = [*OLD_CUSTOMERS, "c4", "c5"]
NEW_PRODUCTS = [*OLD_PRODUCTS, "p4", "p5"]

RECOMMENDERS = {
    "popularity": PopularityRecommender(),
    "popularity 7D": PopularityRecommender(lookback="7D"),
    "item cosine": ItemSimilarityRecommender(n_neighbors=3, shrinkage=1.0),
    "item jaccard": ItemSimilarityRecommender(similarity="jaccard", n_neighbors=3),
    "together": BoughtTogetherRecommender(min_support=0.0, min_confidence=0.0, min_orders=1),
    "together lift": BoughtTogetherRecommender(
        min_support=0.0, min_confidence=0.0, min_orders=1, rank_by="lift", basis="history"
    ),
    "als": ImplicitALSRecommender(factors=2, iterations=2, regularization=1.0, random_state=3),
}
MODELS = st.sampled_from(sorted(RECOMMENDERS))


def outcome(call: Callable[[], Any]) -> Any:
    """The result, or the refusal: both sides of a property must agree on either."""
    try:
        with warnings.catch_warnings():
            # "fewer than k recommendations" and the like: advice, not the answer
            warnings.simplefilter("ignore", DataWarning)
            result = call()
    except ValidationError as err:
        event(f"refused ({err.field})")
        return ("refused", err.field)
    event("answered")
    return result


def in_utc(result: Any) -> Any:
    """Datetime columns shown in UTC: the same instants compare equal in any zone."""
    if not isinstance(result, pd.DataFrame):
        return result
    out = result.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC")
    return out


def same(a: Any, b: Any) -> None:
    a, b = in_utc(a), in_utc(b)
    assert type(a) is type(b), (a, b)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    else:
        assert a == b


# ---------------------------------------------------------------- order-line logs

Line = tuple[str, str, int, int]  # customer, product, seconds after BASE, quantity


def _lines(customers: list[str], products: list[str], lo: int, hi: int, most: int) -> Any:
    edges = [s for s in (CUT - 1, CUT, CUT + 1) if lo <= s <= hi]
    seconds = st.integers(lo, hi)
    if edges:
        seconds = st.one_of(seconds, st.sampled_from(edges))
    # whole days too, so that baskets (a customer at one instant) hold several lines
    days = st.integers(-(-lo // DAY), hi // DAY).map(lambda d: d * DAY)
    seconds = st.one_of(days, seconds)
    line = st.tuples(
        st.sampled_from(customers), st.sampled_from(products), seconds, st.integers(1, 3)
    )
    return st.lists(line, min_size=0, max_size=most)


history = _lines(OLD_CUSTOMERS, OLD_PRODUCTS, 0, CUT, 14).filter(bool)
future = _lines(NEW_CUSTOMERS, NEW_PRODUCTS, CUT + 1, SPAN, 8)


@st.composite
def placed(draw: st.DrawFn, before: list[Line], after: list[Line]) -> list[Line]:
    """``before`` in its own order, with ``after``'s lines anywhere among them."""
    keys = [float(i) for i in range(len(before))]
    keys += [draw(st.floats(-0.5, len(before) + 0.5)) for _ in after]
    rows = [*before, *after]
    return [rows[i] for i in sorted(range(len(rows)), key=lambda i: keys[i])]


def frame(rows: list[Line], tz: str = "UTC") -> pd.DataFrame:
    seconds = [r[2] for r in rows]
    dates = pd.DatetimeIndex(BASE + pd.to_timedelta(seconds, unit="s")).tz_convert(tz)
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype=object),
            "product_id": pd.Series([r[1] for r in rows], dtype=object),
            "date": dates,
            "quantity": np.array([r[3] for r in rows], dtype=np.int64),
        }
    )


@st.composite
def two_logs(draw: st.DrawFn, after_from: int = CUT + 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same history, with two unrelated futures (changed, added or removed lines)."""
    before = draw(history)
    futures = _lines(NEW_CUSTOMERS, NEW_PRODUCTS, after_from, SPAN + HORIZON, 8)
    one = draw(placed(before, draw(futures)))
    two = draw(placed(before, draw(futures)))
    return frame(one), frame(two)


def at(tz: str) -> pd.Timestamp:
    return AS_OF.tz_convert(tz)


def in_zone(lines: pd.DataFrame, tz: str) -> pd.DataFrame:
    return lines.assign(date=lines["date"].dt.tz_convert(tz))


# ---------------------------------------------------------------- recommenders


def _recommendations(name: str, lines: pd.DataFrame, as_of: Any, **fit: Any) -> Any:
    def run() -> Any:
        model = clone(RECOMMENDERS[name]).fit(lines, as_of=as_of, quantity_col="quantity", **fit)
        who = [*OLD_CUSTOMERS, "c9"]  # c9 never bought: the cold-start answer
        k = min(3, len(model.products_))
        recs = model.recommend(who, k=k)
        everything = model.recommend(who, k=k, exclude_purchased=False)
        return pd.concat([recs, everything], keys=["new", "all"])

    return outcome(run)


@RULE
@given(logs=two_logs(), name=MODELS, tz=ZONES)
def test_every_recommender_fit_ignores_lines_after_as_of_and_the_zone(logs, name, tz):
    # PopularityRecommender.fit, ItemSimilarityRecommender.fit,
    # BoughtTogetherRecommender.fit, ImplicitALSRecommender.fit
    one, two = logs
    expected = _recommendations(name, one, AS_OF)
    same(_recommendations(name, two, AS_OF), expected)
    same(_recommendations(name, in_zone(one, tz), at(tz)), expected)


@FEW
@given(logs=two_logs(), name=MODELS, tz=ZONES)
def test_a_fit_on_interactions_is_the_fit_on_the_lines(logs, name, tz):
    # interactions() then fit: the same answer as fitting the lines, whatever the future
    one, two = logs
    expected = _recommendations(name, one, AS_OF)
    coded = outcome(lambda: interactions(in_zone(two, tz), as_of=at(tz), quantity_col="quantity"))
    if isinstance(coded, tuple):  # a refusal
        same(coded, expected)
        return
    same(_recommendations(name, coded, None), expected)


def _coded(lines: pd.DataFrame, as_of: Any) -> Any:
    result = outcome(lambda: interactions(lines, as_of=as_of, quantity_col="quantity"))
    if not isinstance(result, Interactions):
        return result
    table = pd.DataFrame(
        {
            "customer": result.customers[result.customer],
            "product": result.products[result.product],
            "order": result.order,
            "times": result.times,
            "quantity": result.quantity,
        }
    )
    return table, list(result.customers), list(result.products), result.cutoff.ns


@RULE
@given(logs=two_logs(), tz=ZONES)
def test_interactions_ignore_lines_after_as_of_and_the_zone(logs, tz):
    one, two = logs
    expected = _coded(one, AS_OF)
    for got in (_coded(two, AS_OF), _coded(in_zone(one, tz), at(tz))):
        if isinstance(expected[0], str):  # a refusal
            assert got == expected
            continue
        same(got[0], expected[0])
        assert got[1:] == expected[1:]


# ---------------------------------------------------------------- repurchase model


def _repurchase(lines: pd.DataFrame, fit_lines: pd.DataFrame, as_of: Any) -> Any:
    def run() -> Any:
        model = RepurchaseModel(min_customers=2, quadrature=6, max_iter=15).fit(
            fit_lines, as_of=as_of, quantity_col="quantity"
        )
        nxt = model.next_purchases(lines, as_of=as_of, horizon="10D", quantity_col="quantity")
        due = model.due_for_repurchase(
            lines, as_of=as_of, horizon="10D", min_probability=0.0, quantity_col="quantity"
        )
        return pd.concat([nxt, due], keys=["next", "due"])

    return outcome(run)


@st.composite
def repeat_logs(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two futures over a history in which two customers bought a product on two days."""
    one, two = draw(two_logs())
    p = draw(st.sampled_from(OLD_PRODUCTS))
    rows = []
    for c in draw(st.lists(st.sampled_from(OLD_CUSTOMERS), min_size=2, max_size=3, unique=True)):
        first = draw(st.integers(0, CUT // DAY - 1))
        gap = draw(st.integers(1, CUT // DAY - first))
        rows += [(c, p, first * DAY, 1), (c, p, (first + gap) * DAY, 1)]
    repeat = frame(rows)
    return pd.concat([repeat, one], ignore_index=True), pd.concat([repeat, two], ignore_index=True)


def on_the_wall(result: Any) -> Any:
    """Datetime columns as wall-clock days (the repurchase model's days are calendar days)."""
    if not isinstance(result, pd.DataFrame):
        return result
    out = result.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_localize(None)
    return out


def same_wall(lines: pd.DataFrame, tz: str) -> pd.DataFrame:
    """The same wall-clock times, written in ``tz`` (a zone without daylight saving)."""
    return lines.assign(date=lines["date"].dt.tz_localize(None).dt.tz_localize(tz))


@pytest.mark.slow
@RULE
@given(logs=repeat_logs(), tz=st.sampled_from(["Asia/Tokyo", "Asia/Kathmandu", "UTC"]))
def test_repurchase_fit_and_predictions_ignore_lines_after_as_of_and_the_zone(logs, tz):
    # RepurchaseModel.fit, .next_purchases and .due_for_repurchase: the model fitted on
    # either future, asked about either future, gives the same answer. Its purchase days
    # are calendar days on the data's wall clock (docs/time.rst): the zone part
    # writes the same wall-clock times in another zone and compares the days.
    one, two = logs
    expected = _repurchase(one, one, AS_OF)
    same(_repurchase(two, two, AS_OF), expected)
    same(_repurchase(one, two, AS_OF), expected)
    same(_repurchase(two, one, AS_OF), expected)
    wall = AS_OF.tz_localize(None).tz_localize(tz)
    same(
        on_the_wall(_repurchase(same_wall(one, tz), same_wall(two, tz), wall)),
        on_the_wall(expected),
    )


# ---------------------------------------------------------------- evaluate_recommenders


@st.composite
def evaluation_logs(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History and a test window shared; two unrelated logs after ``as_of + horizon``."""
    before = draw(history)
    window = draw(_lines(OLD_CUSTOMERS, NEW_PRODUCTS, CUT + 1, CUT + HORIZON, 6))
    edge = draw(st.sampled_from([[], [("c0", "p1", CUT + HORIZON, 1)]]))  # on the window's end
    shared = [*before, *window, *edge]
    later = _lines(NEW_CUSTOMERS, NEW_PRODUCTS, CUT + HORIZON + 1, SPAN + HORIZON, 8)
    return frame(draw(placed(shared, draw(later)))), frame(draw(placed(shared, draw(later))))


def _evaluation(lines: pd.DataFrame, as_of: Any, names: list[str]) -> Any:
    models = {n: RECOMMENDERS[n] for n in names}
    return outcome(
        lambda: evaluate_recommenders(
            lines, models, as_of=as_of, horizon="10D", k=2, quantity_col="quantity"
        )
    )


@FEW
@given(
    logs=evaluation_logs(),
    names=st.lists(MODELS, min_size=1, max_size=2, unique=True),
    tz=ZONES,
)
def test_evaluation_reads_nothing_after_the_test_window_and_ignores_the_zone(logs, names, tz):
    one, two = logs
    expected = _evaluation(one, AS_OF, names)
    same(_evaluation(two, AS_OF, names), expected)
    same(_evaluation(in_zone(one, tz), at(tz), names), expected)


# ---------------------------------------------------------------- next_best_action

IDS = pd.Index(OLD_CUSTOMERS, name="customer_id")
OFFERS = [
    Offer("mail", channel="email", cost=1.0, value=30.0),
    Offer("text", channel="sms", rule="tier == 'gold'", cost=2.0, value="clv"),
    Offer("call", channel="phone", cost=5.0, value=80.0),
]
CAPS = Constraints(
    max_actions=2,
    frequency_caps=(
        FrequencyCap(2, "7D"),
        FrequencyCap(1, "3D", channel="sms"),
        FrequencyCap(1, "36h", channel="phone"),
    ),
)

Contact = tuple[str, str, int]


def _contacts(lo: int, hi: int, most: int) -> Any:
    edges = [s for s in (CUT - 7 * DAY, CUT - 3 * DAY, CUT - 1, CUT, CUT + 1) if lo <= s <= hi]
    seconds = st.one_of(st.integers(lo, hi), st.sampled_from(edges))
    who = st.sampled_from([*OLD_CUSTOMERS, "c7"])  # c7: a contact of no customer given
    contact = st.tuples(who, st.sampled_from(["email", "sms", "phone"]), seconds)
    return st.lists(contact, max_size=most)


def contact_frame(rows: list[Contact], tz: str = "UTC") -> pd.DataFrame:
    dates = pd.DatetimeIndex(BASE + pd.to_timedelta([r[2] for r in rows], unit="s"))
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype=object),
            "channel": pd.Series([r[1] for r in rows], dtype=object),
            "date": dates.tz_convert(tz),
        }
    )


@st.composite
def decisions(draw: st.DrawFn) -> dict[str, Any]:
    past = draw(_contacts(CUT - 10 * DAY, CUT, 10))
    one = draw(placed(past, draw(_contacts(CUT + 1, CUT + 10 * DAY, 6))))
    two = draw(placed(past, draw(_contacts(CUT + 1, CUT + 10 * DAY, 6))))
    probability = st.floats(0.0, 1.0, allow_nan=False).map(lambda p: round(p, 2))
    response = pd.DataFrame({o.id: [draw(probability) for _ in IDS] for o in OFFERS}, index=IDS)
    consent = pd.DataFrame(
        {ch: [draw(st.booleans()) for _ in IDS] for ch in ("email", "sms", "phone")}, index=IDS
    )
    customers = pd.DataFrame(
        {
            "customer_id": IDS,
            "tier": [draw(st.sampled_from(["gold", "silver"])) for _ in IDS],
            "clv": [float(draw(st.integers(0, 200))) for _ in IDS],
        }
    )
    method = draw(st.sampled_from(["greedy", "milp", "auto"]))
    return {
        "one": one,
        "two": two,
        "customers": customers,
        "response": response,
        "consent": consent,
        "method": method,
    }


def _decision(case: dict[str, Any], contacts: pd.DataFrame, as_of: Any) -> Any:
    def run() -> Any:
        result = next_best_action(
            case["customers"],
            OFFERS,
            response_model=case["response"],
            consent=case["consent"],
            constraints=CAPS,
            contacts=contacts,
            as_of=as_of,
            method=case["method"],
        )
        return result.actions, result.explain(list(IDS)), result.summary

    return outcome(run)


@FEW
@given(case=decisions(), tz=ZONES)
def test_next_best_action_ignores_contacts_after_as_of_and_the_zone(case, tz):
    expected = _decision(case, contact_frame(case["one"]), AS_OF)
    for got in (
        _decision(case, contact_frame(case["two"]), AS_OF),
        _decision(case, contact_frame(case["one"], tz), at(tz)),
    ):
        if isinstance(expected[0], str):  # a refusal
            assert got == expected
            continue
        for a, b in zip(got, expected, strict=True):
            same(a, b)


_ORDERS = st.lists(
    st.tuples(
        st.sampled_from(NEW_CUSTOMERS),
        st.integers(0, SPAN),  # seconds after BASE: before and after as_of
        st.lists(
            st.tuples(st.sampled_from(NEW_PRODUCTS), st.integers(1, 3)), min_size=1, max_size=3
        ),
    ),
    min_size=1,
    max_size=12,
)


def _shop(orders: dict[int, tuple[str, int, list[tuple[str, int]]]]) -> Any:
    """A store holding the whole catalogue and the given orders (by number) with their lines."""
    from crmcore.domain import Money, Order, OrderLine, Product
    from crmcore.storage import InMemoryStore, add_order

    store = InMemoryStore()
    price = Money(amount=Decimal("2.50"), currency="EUR")
    for p in NEW_PRODUCTS:
        store.products.add(Product(id=p, sku=p.upper(), name=p, category=("Shop",), price=price))
    for i, (customer, second, lines) in orders.items():
        items = [
            OrderLine(id=f"o{i}-{j}", order_id=f"o{i}", product_id=p, quantity=q, unit_price=price)
            for j, (p, q) in enumerate(lines)
        ]
        total = Money(amount=sum(q for _, q in lines) * price.amount, currency="EUR")
        placed = (BASE + pd.Timedelta(seconds=second)).to_pydatetime()
        add_order(
            store, Order(id=f"o{i}", customer_id=customer, placed_at=placed, amount=total), items
        )
    return store


@FEW
@given(orders=_ORDERS)
def test_store_interactions_ignore_orders_after_as_of(orders):
    # the same shop with its orders after as_of removed reads the same interactions
    # (each order keeps its number, so its id, in both shops)
    everything = dict(enumerate(orders))
    before = {i: o for i, o in everything.items() if o[1] <= CUT}
    event(f"{len(orders) - len(before)} orders after as_of")
    if not before:  # nothing at or before as_of: both refuse, on the same field
        for kept in (everything, before):
            with pytest.raises(ValidationError) as refused:
                store_interactions(_shop(kept), as_of=AS_OF)
            assert refused.value.field == "as_of"
        return
    got = store_interactions(_shop(everything), as_of=AS_OF)
    expected = store_interactions(_shop(before), as_of=AS_OF)
    assert list(got.customers) == list(expected.customers)
    assert list(got.products) == list(expected.products) == sorted(NEW_PRODUCTS)
    for name in ("customer", "product", "order", "times", "quantity"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
