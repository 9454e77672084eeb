"""Next-best-action: each customer's best offers by expected value, under every constraint."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._validation import check_random_state, first_bad
from crmcore.errors import ValidationError
from crmcore.recommend._allocation import (
    Allocation,
    Problem,
    count_candidates,
    greedy,
    lagrangian,
    solve_milp,
)
from crmcore.recommend._interactions import plain
from crmcore.recommend._nba_inputs import (
    Spec,
    consent_matrix,
    contact_counts,
    customer_ids,
    offer_list,
)
from crmcore.recommend._offers import Constraints, Offer

__all__ = ["STATUSES", "NextBestActions", "next_best_action"]

STATUSES: tuple[str, ...] = (
    "chosen",
    "not_eligible",
    "no_consent",
    "frequency_cap",
    "not_worth",
    "max_actions",
    "channel_cap",
    "capacity",
    "budget",
    "not_selected",
)
"""Why each (customer, offer) pair was or was not chosen, in the order checked.

``not_eligible``: the offer's rule is false; ``no_consent``: no consent on
the offer's channel at ``as_of``; ``frequency_cap``: the customer's contacts
in the cap's window already reach it; ``not_worth``: expected value not above
``min_expected_value``; ``max_actions`` / ``channel_cap``: the customer's
slots (or channel slots) went to better actions; ``capacity``: the offer ran
out; ``budget``: its cost no longer fits the budget; ``not_selected``: the
optimiser preferred other actions although this one would still fit.
"""
_CODE = {name: i for i, name in enumerate(STATUSES)}
METHODS = ("auto", "lagrangian", "milp", "greedy")


@attrs.frozen(eq=False)
class NextBestActions:
    """The result of :func:`next_best_action`.

    Attributes
    ----------
    actions : DataFrame
        One row per chosen action: ``customer_id``, ``rank`` (1 = highest
        expected value), ``offer_id``, ``channel``, ``p_response``,
        ``value``, ``cost``, ``expected_value`` (``p_response × value −
        cost``), ``shadow_cost`` (what the scarce budget and stock charged
        it: ``λ cost + μ_offer``), and ``binding``: what kept the customer
        from more (``"max_actions"``, ``"channel_cap:email"``,
        ``"capacity:<offer>"``, ``"budget"``) or ``""``.
    summary : Series
        Customers, customers with an action, actions, total expected value
        and cost, the greedy allocation's expected value, the upper bound
        on the optimum and the relative gap, and how many (customer, offer)
        pairs each :data:`STATUSES` reason covers.
    method : str
        The allocation used (``"milp"``, ``"lagrangian"`` or ``"greedy"``).
    prices : Series
        Shadow price of each offer's capacity (``μ``).
    budget_price : float
        Shadow price of one unit of budget (``λ``).
    """

    actions: pd.DataFrame
    summary: pd.Series
    method: str
    prices: pd.Series
    budget_price: float
    _ids: pd.Index = attrs.field(repr=False)
    _offers: list[Offer] = attrs.field(repr=False)
    _response: Spec = attrs.field(repr=False)
    _value: Spec = attrs.field(repr=False)
    _status: np.ndarray[Any, np.dtype[np.int8]] = attrs.field(repr=False)

    def explain(self, customer_ids: Any) -> pd.DataFrame:
        """Return every offer considered for the given customers, with its terms and status.

        Returns
        -------
        DataFrame
            ``customer_id``, ``offer_id``, ``channel``, ``p_response``,
            ``value``, ``cost``, ``expected_value``, ``status`` (one of
            :data:`STATUSES`), one row per customer and offer.

        Raises
        ------
        ValidationError
            A customer that was not in ``customers``.
        """
        if isinstance(customer_ids, str | int | np.integer):
            customer_ids = [customer_ids]
        want = pd.Index(customer_ids)
        pos = np.asarray(self._ids.get_indexer(want), dtype=np.int64)
        if (pos < 0).any():
            bad = plain(want[pos < 0][0])
            raise ValidationError(
                f"customer {bad!r} was not among the customers", field="customer_ids", row=bad
            )
        n_o = len(self._offers)
        p = np.column_stack([self._response.column(o, pos) for o in self._offers]).ravel()
        v = np.column_stack([self._value.column(o, pos) for o in self._offers]).ravel()
        rows = np.repeat(pos, n_o)
        cols = np.tile(np.arange(n_o), pos.size)
        cost = np.array([o.cost for o in self._offers])[cols]
        return pd.DataFrame(
            {
                str(self._ids.name): self._ids.take(rows),
                "offer_id": np.array([o.id for o in self._offers], dtype=object)[cols],
                "channel": np.array([o.channel for o in self._offers], dtype=object)[cols],
                "p_response": p,
                "value": v,
                "cost": cost,
                "expected_value": p * v - cost,
                "status": pd.Categorical.from_codes(
                    self._status[rows, cols].astype(np.int64), categories=pd.Index(STATUSES)
                ),
            }
        )


def next_best_action(
    customers: pd.DataFrame,
    offers: Sequence[Offer],
    *,
    response_model: Any,
    consent: pd.DataFrame,
    value: Any = None,
    constraints: Constraints | None = None,
    contacts: pd.DataFrame | None = None,
    as_of: Any = None,
    method: str = "auto",
    customer_col: str = "customer_id",
    channel_col: str = "channel",
    date_col: str = "date",
    tolerance: float = 0.01,
    milp_max_candidates: int = 20_000,
    time_limit: float = 60.0,
    sample: int = 50_000,
    random_state: Any = 0,
) -> NextBestActions:
    """Choose at most ``max_actions`` offers per customer by expected value, under constraints.

    For customer ``c`` and offer ``o``: ``EV = P(response) × value − cost``.
    An action is possible only where the offer's rule holds, the customer
    has consent on its channel, the frequency caps leave room, and
    ``EV > min_expected_value``. Among possible actions the allocation
    maximises the total expected value within each customer's limits, every
    offer's capacity and the budget. ``method="auto"`` prices capacity and
    budget by Lagrangian relaxation, which scales to millions of customers
    and reports a certified gap to the optimum (the dual bound); when that
    gap exceeds ``tolerance`` and there are at most ``milp_max_candidates``
    possible actions, the exact mixed-integer programme is solved instead
    (:func:`scipy.optimize.milp`). The greedy allocation (every customer's
    best, then first come first served on stock and budget) is always
    computed too, reported in ``summary``, and returned if it is better.

    Parameters
    ----------
    customers : DataFrame
        One row per customer (id in ``customer_col`` or the index), with the
        columns the offers' rules and value columns read.
    offers : sequence of Offer
    response_model : DataFrame, mapping, callable or float
        ``P(response)`` per customer and offer: a frame (customers × offer
        ids, indexed by customer id), a mapping offer id → number, column
        name or callable, a callable ``f(customers, offer) -> probabilities``,
        or one number for all. Callables are applied to rows of
        ``customers`` (all of them, or the customers being explained) and
        must give each row its own value.
    consent : DataFrame
        One boolean column per channel, indexed by customer id (or with
        ``customer_col``): ``True`` where consent is in force at ``as_of``.
        Missing values and missing customers mean no consent. A channel
        without a column is an error.
    value : DataFrame, mapping, str, callable or float, optional
        Value of a response, overriding each offer's ``value``: a frame
        (customers × offers), a mapping offer id → spec, a customer column
        (``"clv"``), ``f(customers)``, or a number.
    constraints : Constraints, optional
        Limits (default: one action per customer, nothing else).
    contacts : DataFrame, optional
        Past contacts (``customer_col``, ``channel_col``, ``date_col``), for
        the frequency caps.
    as_of : date-like, optional
        The moment of the decision (needed with frequency caps): contacts in
        ``(as_of - window, as_of]`` count.
    method : {"auto", "lagrangian", "milp", "greedy"}, default "auto"
        Allocation (``"milp"``: always the exact programme, for moderate
        sizes; HiGHS may need the whole ``time_limit`` when the budget
        binds).
    customer_col, channel_col, date_col : str
        Column names.
    tolerance : float, default 0.01
        Relative gap above which ``"auto"`` tries the exact programme.
    milp_max_candidates : int, default 20000
        Largest number of possible actions ``"auto"`` hands to the MILP.
    time_limit : float, default 60
        Seconds allowed to the MILP solver.
    sample : int, default 50000
        Customers sampled to find the prices of the Lagrangian method.
    random_state : int, Generator or None, default 0
        Seed of that sample.

    Returns
    -------
    NextBestActions

    Raises
    ------
    ValidationError
        Bad customers, offers, probabilities outside ``[0, 1]``, non-finite
        values, a rule that reads a missing column (naming the offer), a
        channel without a consent column, frequency caps without contacts or
        ``as_of``, or an unknown ``method``.
    """
    if method not in METHODS:
        raise ValidationError(
            f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}",
            field="method",
            value=method,
        )
    constraints = Constraints() if constraints is None else constraints
    if not isinstance(constraints, Constraints):
        raise ValidationError("constraints must be a Constraints", field="constraints")
    ids = customer_ids(customers, customer_col)
    offers_ = offer_list(offers)
    unknown = sorted(map(str, set(constraints.capacity) - {o.id for o in offers_}))
    if unknown:
        raise ValidationError(
            f"capacity names unknown offer(s) {', '.join(unknown)}", field="capacity"
        )
    channels = sorted({o.channel for o in offers_})
    users: dict[str, list[Hashable]] = {ch: [] for ch in channels}
    for o in offers_:
        users[o.channel].append(o.id)
    ch_of = np.array([channels.index(o.channel) for o in offers_], dtype=np.int64)
    n_c, n_o = len(ids), len(offers_)
    consented = consent_matrix(consent, ids, channels, customer_col, users)
    response = Spec(
        response_model, customers, ids, name="response_model", customer_col=customer_col
    )
    values = Spec(
        value, customers, ids, name="value", customer_col=customer_col, fallback=lambda o: o.value
    )

    slots = np.full(n_c, constraints.max_actions, dtype=np.int64)
    chan_slots = np.full((n_c, len(channels)), constraints.max_actions, dtype=np.int64)
    if constraints.frequency_caps:
        counts = contact_counts(
            contacts,
            ids,
            constraints,
            as_of=as_of,
            customer_col=customer_col,
            channel_col=channel_col,
            date_col=date_col,
        )
        for cap, used in zip(constraints.frequency_caps, counts, strict=True):
            left = np.maximum(cap.max_contacts - used, 0)
            if cap.channel is None:
                slots = np.minimum(slots, left)
            elif cap.channel in channels:
                j = channels.index(cap.channel)
                chan_slots[:, j] = np.minimum(chan_slots[:, j], left)

    # One offer (column) at a time: no customers × offers matrix of inputs is held,
    # only the expected values of allowed actions and a status code per pair.
    grid = np.empty((n_c, n_o), order="F")
    status = np.empty((n_c, n_o), dtype=np.int8, order="F")
    cost = np.array([o.cost for o in offers_])
    floor = constraints.min_expected_value
    for j, offer in enumerate(offers_):
        eligible = offer.eligible(customers)
        p = response.column(offer)
        first_bad(
            (p < 0) | (p > 1),
            name=f"response_model[{offer.id!r}]",
            problem="must be a probability in [0, 1]",
            values=p,
            index=ids,
            row_name="customer",
        )
        ev = p * values.column(offer) - cost[j]
        code = np.zeros(n_c, dtype=np.int8)
        code[ev <= floor] = _CODE["not_worth"]  # the first reason that applies is kept
        code[(slots == 0) | (chan_slots[:, ch_of[j]] == 0)] = _CODE["frequency_cap"]
        code[~consented[:, ch_of[j]]] = _CODE["no_consent"]
        code[~eligible] = _CODE["not_eligible"]
        status[:, j] = code
        grid[:, j] = np.where(code == 0, ev, -np.inf)
    capacity = np.array(
        [float(constraints.capacity.get(o.id, np.inf)) for o in offers_], dtype=np.float64
    )
    budget = np.inf if constraints.budget is None else float(constraints.budget)
    problem = Problem(grid, cost, ch_of, slots, chan_slots, capacity, budget)
    best, base = _allocate(
        problem,
        method,
        tolerance=tolerance,
        milp_max_candidates=milp_max_candidates,
        time_limit=time_limit,
        sample=sample,
        random_state=random_state,
    )
    return _result(
        problem,
        best,
        base=base,
        ids=ids,
        offers=offers_,
        response=response,
        values=values,
        status=status,
        constraints=constraints,
    )


def _allocate(
    problem: Problem,
    method: str,
    *,
    tolerance: float,
    milp_max_candidates: int,
    time_limit: float,
    sample: int,
    random_state: Any,
) -> tuple[Allocation, Allocation]:
    """Return the allocation to use, and the greedy one it is compared with."""
    base = greedy(problem)
    if method == "greedy":
        return base, base
    rng = check_random_state(random_state)
    found: Allocation | None = None
    if method != "milp":
        found = lagrangian(problem, sample=int(sample), iterations=200, rng=rng)
    small = count_candidates(problem) <= milp_max_candidates
    if method == "milp" or (
        method == "auto" and found is not None and found.gap > tolerance and small
    ):
        exact = solve_milp(problem, time_limit=time_limit)
        if exact is not None and (found is None or exact.objective >= found.objective):
            found = exact
    if found is None:  # the MILP found nothing within its time limit
        found = lagrangian(problem, sample=int(sample), iterations=200, rng=rng)
    if found.objective >= base.objective - 1e-9:
        return found, base
    # greedy happened to be better: keep its actions with the optimiser's prices and bound
    return attrs.evolve(
        base, bound=found.bound, prices=found.prices, budget_price=found.budget_price
    ), base


def _result(
    problem: Problem,
    best: Allocation,
    *,
    base: Allocation,
    ids: pd.Index,
    offers: list[Offer],
    response: Spec,
    values: Spec,
    status: np.ndarray[Any, np.dtype[np.int8]],
    constraints: Constraints,
) -> NextBestActions:
    n_c, n_o = problem.shape
    c, o = best.customer, best.offer
    status[c, o] = -1  # chosen; 0 now marks the possible actions not taken
    # why each remaining possible action was not taken, given the final allocation
    cust_full = np.bincount(c, minlength=n_c) >= problem.slots
    chan_used = np.zeros_like(problem.channel_slots)
    np.add.at(chan_used, (c, problem.channel[o]), 1)
    chan_full = chan_used >= problem.channel_slots
    offer_full = np.bincount(o, minlength=n_o) >= problem.capacity
    budget_left = problem.budget - float(problem.cost[o].sum())
    best_ev = np.full(n_c, -np.inf)
    best_code = np.zeros(n_c, dtype=np.int64)
    best_offer = np.zeros(n_c, dtype=np.int64)
    for j in range(n_o):
        col = status[:, j]
        open_ = col == 0
        if not open_.any():
            continue
        reason = np.select(
            [cust_full, chan_full[:, problem.channel[j]]],
            [_CODE["max_actions"], _CODE["channel_cap"]],
            default=_CODE["capacity"]
            if offer_full[j]
            else _CODE["budget"]
            if problem.cost[j] > budget_left + 1e-9
            else _CODE["not_selected"],
        ).astype(np.int8)
        col[open_] = reason[open_]
        ev = np.where(open_, problem.ev[:, j], -np.inf)
        better = ev > best_ev
        best_ev[better] = ev[better]
        best_code[better] = reason[better]
        best_offer[better] = j
    status[c, o] = _CODE["chosen"]
    table = np.array([[name] * n_o for name in STATUSES], dtype=object)
    table[_CODE["capacity"]] = [f"capacity:{of.id}" for of in offers]
    table[_CODE["channel_cap"]] = [f"channel_cap:{of.channel}" for of in offers]
    binding = np.where(np.isfinite(best_ev), table[best_code, best_offer], "")

    lam, mu = best.budget_price, best.prices
    order = np.lexsort((o, -problem.ev[c, o], c))
    c, o = c[order], o[order]
    p = np.empty(c.size)
    v = np.empty(c.size)
    for j, offer in enumerate(offers):  # the terms of the chosen actions, offer by offer
        at = np.flatnonzero(o == j)
        if at.size:
            p[at] = response.column(offer, c[at])
            v[at] = values.column(offer, c[at])
    ev_co = p * v - problem.cost[o]
    new = np.ones(c.size, dtype=bool)
    new[1:] = c[1:] != c[:-1]
    starts = np.flatnonzero(new)
    rank = np.arange(c.size) - np.repeat(starts, np.diff(np.append(starts, c.size))) + 1
    actions = pd.DataFrame(
        {
            str(ids.name): ids.take(c),
            "rank": rank.astype(np.int64),
            "offer_id": np.array([of.id for of in offers], dtype=object)[o],
            "channel": np.array([of.channel for of in offers], dtype=object)[o],
            "p_response": p,
            "value": v,
            "cost": problem.cost[o],
            "expected_value": ev_co,
            "shadow_cost": lam * problem.cost[o] + mu[o],
            "binding": binding[c],
        }
    )
    counts = np.bincount(status.ravel(), minlength=len(STATUSES))
    summary = pd.Series(
        {
            "customers": n_c,
            "customers_with_action": int((np.bincount(c, minlength=n_c) > 0).sum()),
            "actions": int(c.size),
            "expected_value": float(ev_co.sum()),
            "cost": float(problem.cost[o].sum()),
            "budget": constraints.budget if constraints.budget is not None else np.nan,
            "greedy_expected_value": base.objective,
            "upper_bound": best.bound,
            "gap": best.gap,
            **{f"pairs_{name}": int(counts[i]) for i, name in enumerate(STATUSES)},
        },
        name="next_best_action",
        dtype=object,
    )
    prices = pd.Series(
        mu, index=pd.Index([of.id for of in offers], name="offer_id"), name="capacity_price"
    )
    return NextBestActions(
        actions, summary, best.method, prices, float(lam), ids, offers, response, values, status
    )
