"""Allocating actions under per-customer limits, offer capacities and a budget.

The problem: choose ``x_co ∈ {0, 1}`` for customers ``c`` and offers ``o``
to maximise ``Σ EV_co x_co`` subject to

* per customer: ``Σ_o x_co ≤ slots_c`` and, per channel ``h``,
  ``Σ_{o on h} x_co ≤ slots_ch`` (contact limits);
* per offer: ``Σ_c x_co ≤ capacity_o``;
* in total: ``Σ cost_o x_co ≤ budget``.

Without the last two it splits into one easy problem per customer: take the
best positive offers within the limits (the limits form a laminar matroid,
so picking greedily by value is optimal). Three solvers:

* :func:`greedy` -- what campaign tools usually do: every customer takes its
  best offers; then, in order of expected value, actions are kept while
  stock and budget last (a dropped action is not replaced);
* :func:`solve_milp` -- the exact integer programme with
  :func:`scipy.optimize.milp` (HiGHS), for problems of moderate size;
* :func:`lagrangian` -- for millions of customers: capacities and budget are
  priced out (Lagrangian relaxation, Fisher, 1981, "The Lagrangian
  relaxation method for solving integer programming problems", Management
  Science 27), so each customer again solves its own problem on
  ``EV - λ cost - μ_o``. The prices minimise the dual function, a convex
  piecewise-linear function of a few variables, by a cutting-plane method
  with a box trust region (Kelley, 1960; a bundle method) on a sample of
  customers; then every customer chooses at those prices, a repair pass
  restores exact feasibility and a fill pass uses what is left. The dual
  function at the prices, over all customers, is an upper bound on the
  optimum (weak duality), so the reported gap is certified.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import scipy.sparse as sp
from scipy.optimize import LinearConstraint, linprog, milp

from crmcore._types import BoolArray, FloatArray, IntArray

__all__ = ["Allocation", "Problem", "greedy", "lagrangian", "solve_milp"]

_ROW_BLOCK = 200_000
_EPS = 1e-9


@attrs.frozen(eq=False)
class Problem:
    """An allocation problem on a dense customers × offers grid.

    Attributes
    ----------
    ev : ndarray of float64, shape (n_customers, n_offers)
        Expected value of each action; ``-inf`` where the action is not
        allowed (not eligible, no consent, capped, or not worth it).
        Column-major (Fortran) order suits it best: it is built one offer
        at a time and read a block of customers at a time.
    cost : ndarray of float64, shape (n_offers,)
    channel : ndarray of int64, shape (n_offers,)
        Channel code of each offer.
    slots : ndarray of int64, shape (n_customers,)
        Actions each customer may still receive.
    channel_slots : ndarray of int64, shape (n_customers, n_channels)
        Actions each customer may still receive per channel.
    capacity : ndarray of float64, shape (n_offers,)
        ``inf`` where unlimited.
    budget : float
        ``inf`` where unlimited.
    """

    ev: FloatArray
    cost: FloatArray
    channel: IntArray
    slots: IntArray
    channel_slots: IntArray
    capacity: FloatArray
    budget: float

    @property
    def shape(self) -> tuple[int, int]:
        """(customers, offers)."""
        n, m = self.ev.shape
        return int(n), int(m)

    def subset(self, rows: IntArray, fraction: float) -> Problem:
        """Return the problem of some customers, capacities and budget scaled by ``fraction``."""
        return Problem(
            np.asfortranarray(self.ev[rows]),
            self.cost,
            self.channel,
            self.slots[rows],
            self.channel_slots[rows],
            self.capacity * fraction,
            self.budget * fraction,
        )


@attrs.frozen(eq=False)
class Allocation:
    """Chosen actions and how they were found.

    Attributes
    ----------
    customer, offer : ndarray of int64
        The chosen actions (positions in the problem's grid).
    objective : float
        ``Σ EV`` of the chosen actions.
    method : str
        ``"greedy"``, ``"milp"`` or ``"lagrangian"``.
    bound : float
        An upper bound on the optimum (``objective`` for an exact solve;
        ``inf`` when unknown).
    prices : ndarray of float64, shape (n_offers,)
        ``μ_o``, the shadow price of each offer's capacity (0 where it does
        not bind or is unknown).
    budget_price : float
        ``λ``, the shadow price of one unit of budget.
    """

    customer: IntArray
    offer: IntArray
    objective: float
    method: str
    bound: float
    prices: FloatArray
    budget_price: float

    @property
    def gap(self) -> float:
        """Relative distance to the bound (0: proven optimal)."""
        if not np.isfinite(self.bound):
            return float("nan")
        return max(0.0, (self.bound - self.objective) / max(abs(self.bound), _EPS))


def per_customer(
    score: FloatArray,
    slots: IntArray,
    channel_slots: IntArray,
    channel: IntArray,
    *,
    shift: FloatArray | None = None,
) -> tuple[IntArray, IntArray]:
    """Each customer's best positive actions within its own limits (exact).

    Works on ``score - shift`` (per offer), a block of customers at a time
    in one reused buffer. Picks by repeated row-wise ``argmax`` (one round
    per slot): the best remaining action is taken while the customer has a
    slot; a channel whose slots are used up is masked for that customer.
    Picking the best first is optimal because the limits form a laminar
    matroid.

    Returns
    -------
    (ndarray, ndarray)
        Customer and offer of each chosen action, sorted by customer.
    """
    n, m = score.shape
    rows_out: list[IntArray] = []
    cols_out: list[IntArray] = []
    rounds = int(slots.max()) if slots.size else 0
    buffer = np.empty((min(n, _ROW_BLOCK), m))
    for start in range(0, n, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, n)
        work = buffer[: stop - start]
        if shift is None:
            np.copyto(work, score[start:stop])
        else:
            np.subtract(score[start:stop], shift[None, :], out=work)
        chan_left = channel_slots[start:stop].copy()
        # channels without a slot left are closed from the start
        closed = chan_left[:, channel] <= 0
        if closed.any():
            work[closed] = -np.inf
        limit = slots[start:stop]
        taken = np.zeros(stop - start, dtype=np.int64)
        live = np.flatnonzero(limit > 0)
        for turn in range(rounds):
            if live.size == 0:
                break
            if turn == 0 and live.size == stop - start:
                best = np.argmax(work, axis=1)
            else:
                best = np.argmax(work[live], axis=1)
            val = work[live, best]
            ok = val > 0
            live, best = live[ok], best[ok]
            if live.size == 0:
                break
            rows_out.append(live + start)
            cols_out.append(best.astype(np.int64))
            work[live, best] = -np.inf
            h = channel[best]
            chan_left[live, h] -= 1
            shut = chan_left[live, h] <= 0
            if shut.any():
                r = live[shut]
                work[r] = np.where(channel[None, :] == h[shut][:, None], -np.inf, work[r])
            # a customer whose slots are all used leaves the rounds
            taken[live] += 1
            live = live[taken[live] < limit[live]]
    if not rows_out:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy()
    c, o = np.concatenate(rows_out), np.concatenate(cols_out)
    order = np.lexsort((o, c))
    return c[order], o[order]


def enforce_global(
    customer: IntArray,
    offer: IntArray,
    priority: FloatArray,
    *,
    cost: FloatArray,
    capacity: FloatArray,
    budget: float,
) -> BoolArray:
    """Keep actions in order of ``priority`` while capacity and budget last.

    An action that does not fit is dropped and the walk goes on (a cheaper
    action may still fit the budget). Exact, in passes: each pass accepts the
    longest prefix in which nothing overflows, drops the action that would,
    and removes every action that can no longer fit.
    """
    order = np.lexsort((offer, customer, -priority))
    accepted = np.zeros(customer.size, dtype=bool)
    cap_left = capacity.astype(np.float64).copy()
    budget_left = float(budget)
    idx = order
    limited = np.flatnonzero(np.isfinite(cap_left))
    while idx.size:
        o = offer[idx]
        fit = (cap_left[o] >= 1) & (cost[o] <= budget_left + _EPS)
        if not fit.all():
            idx, o = idx[fit], o[fit]
        if idx.size == 0:
            break
        stop = idx.size
        if np.isfinite(budget_left):
            spent = np.cumsum(cost[o])
            over = np.flatnonzero(spent > budget_left + _EPS)
            if over.size:
                stop = int(over[0])
        if limited.size:
            head = o[:stop]
            counts = np.bincount(head, minlength=cap_left.size)
            for off in limited[counts[limited] > cap_left[limited]]:
                pos = np.flatnonzero(head == off)
                stop = min(stop, int(pos[int(cap_left[off])]))
        take = idx[:stop]
        accepted[take] = True
        used = offer[take]
        cap_left -= np.bincount(used, minlength=cap_left.size)
        budget_left -= float(cost[used].sum())
        idx = idx[stop + 1 :]  # the action at `stop` overflowed: dropped
    return accepted


def _objective(problem: Problem, c: IntArray, o: IntArray) -> float:
    return float(problem.ev[c, o].sum()) if c.size else 0.0


def greedy(problem: Problem) -> Allocation:
    """Every customer's best offers, then stock and budget first come, first served."""
    c, o = per_customer(problem.ev, problem.slots, problem.channel_slots, problem.channel)
    keep = enforce_global(
        c, o, problem.ev[c, o], cost=problem.cost, capacity=problem.capacity, budget=problem.budget
    )
    c, o = c[keep], o[keep]
    zeros = np.zeros(problem.shape[1])
    return Allocation(c, o, _objective(problem, c, o), "greedy", float("inf"), zeros, 0.0)


def _candidates(problem: Problem) -> tuple[IntArray, IntArray]:
    c, o = np.nonzero(np.isfinite(problem.ev) & (problem.ev > 0))
    return c.astype(np.int64), o.astype(np.int64)


def count_candidates(problem: Problem) -> int:
    """Count the allowed actions with a positive expected value."""
    return int((np.isfinite(problem.ev) & (problem.ev > 0)).sum())


def solve_milp(problem: Problem, *, time_limit: float = 60.0) -> Allocation | None:
    """Solve exactly by mixed-integer programming (None if HiGHS finds no solution)."""
    c, o = _candidates(problem)
    n_var = c.size
    zeros = np.zeros(problem.shape[1])
    if n_var == 0:
        return Allocation(c, o, 0.0, "milp", 0.0, zeros, 0.0)
    rows: list[sp.csr_matrix] = []
    upper: list[FloatArray] = []
    n_c = problem.shape[0]
    var = np.arange(n_var)
    rows.append(sp.csr_matrix((np.ones(n_var), (c, var)), shape=(n_c, n_var)))
    upper.append(problem.slots.astype(np.float64))
    h = problem.channel[o]
    n_h = problem.channel_slots.shape[1]
    key = c * n_h + h
    per_key = np.bincount(key, minlength=n_c * n_h)
    limit = problem.channel_slots.ravel()
    binding = np.flatnonzero((per_key > limit) & (limit < np.repeat(problem.slots, n_h)))
    if binding.size:
        pos = np.searchsorted(binding, key)
        inside = (pos < binding.size) & (binding[np.minimum(pos, binding.size - 1)] == key)
        rows.append(
            sp.csr_matrix(
                (np.ones(int(inside.sum())), (pos[inside], var[inside])),
                shape=(binding.size, n_var),
            )
        )
        upper.append(limit[binding].astype(np.float64))
    capped = np.flatnonzero(np.isfinite(problem.capacity))
    if capped.size:
        slot = np.full(problem.shape[1], -1)
        slot[capped] = np.arange(capped.size)
        inside = slot[o] >= 0
        rows.append(
            sp.csr_matrix(
                (np.ones(int(inside.sum())), (slot[o][inside], var[inside])),
                shape=(capped.size, n_var),
            )
        )
        upper.append(problem.capacity[capped])
    if np.isfinite(problem.budget):
        rows.append(sp.csr_matrix(problem.cost[o][None, :]))
        upper.append(np.array([problem.budget]))
    a = sp.vstack(rows).tocsr()
    b = np.concatenate(upper)
    ev = problem.ev[c, o]
    res = milp(
        -ev,
        integrality=np.ones(n_var),
        bounds=(0, 1),
        constraints=LinearConstraint(a, -np.inf, b),
        options={"time_limit": float(time_limit), "mip_rel_gap": 1e-6},
    )
    if res.x is None:
        return None
    pick = res.x > 0.5
    bound = -float(getattr(res, "mip_dual_bound", np.nan))
    if res.status == 0 or not np.isfinite(bound):
        bound = float(ev[pick].sum()) if res.status == 0 else float("inf")
    return Allocation(c[pick], o[pick], float(ev[pick].sum()), "milp", bound, zeros, 0.0)


def _dual(
    problem: Problem, lam: float, mu: FloatArray
) -> tuple[float, float, FloatArray, IntArray, IntArray]:
    """Dual function value, its subgradient (budget, capacities) and the customers' choice."""
    shift = lam * problem.cost + mu
    c, o = per_customer(
        problem.ev, problem.slots, problem.channel_slots, problem.channel, shift=shift
    )
    finite_cap = np.isfinite(problem.capacity)
    value = float((problem.ev[c, o] - shift[o]).sum()) if c.size else 0.0
    value += float((mu[finite_cap] * problem.capacity[finite_cap]).sum())
    g_budget = 0.0
    if np.isfinite(problem.budget):
        value += lam * problem.budget
        g_budget = problem.budget - float(problem.cost[o].sum())
    counts = np.bincount(o, minlength=problem.shape[1]).astype(np.float64)
    g_cap = np.where(finite_cap, problem.capacity - counts, 0.0)
    return value, g_budget, g_cap, c, o


def _prices(problem: Problem, *, iterations: int) -> tuple[float, FloatArray]:
    """Minimise the dual function over (λ, μ) >= 0 by cutting planes in a trust region."""
    m = problem.shape[1]
    free_cap = np.flatnonzero(np.isfinite(problem.capacity))
    has_budget = bool(np.isfinite(problem.budget))
    dim = free_cap.size + int(has_budget)
    if dim == 0:
        return 0.0, np.zeros(m)

    def unpack(x: FloatArray) -> tuple[float, FloatArray]:
        mu = np.zeros(m)
        mu[free_cap] = x[int(has_budget) :]
        return (float(x[0]) if has_budget else 0.0), mu

    def evaluate(x: FloatArray) -> tuple[float, FloatArray]:
        lam, mu = unpack(x)
        value, g_b, g_c, _, _ = _dual(problem, lam, mu)
        g = np.concatenate([[g_b] if has_budget else [], g_c[free_cap]])
        return value, g

    finite = problem.ev[np.isfinite(problem.ev)]
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    if has_budget:
        cost_pos = problem.cost[problem.cost > 0]
        lam_scale = scale / float(cost_pos.min()) if cost_pos.size else scale
    centre = np.zeros(dim)
    f_centre, g_centre = evaluate(centre)
    cuts_x, cuts_f, cuts_g = [centre], [f_centre], [g_centre]
    radius = np.full(dim, scale)
    if has_budget:
        radius[0] = lam_scale
    for _ in range(iterations):
        # min t  s.t.  t >= f_i + g_i (x - x_i),  x in the box around the centre, x >= 0
        g_mat = np.array(cuts_g)
        rhs = np.array([gi @ xi - fi for xi, fi, gi in zip(cuts_x, cuts_f, cuts_g, strict=True)])
        a_ub = np.hstack([g_mat, -np.ones((len(cuts_f), 1))])
        bounds = [(max(0.0, centre[i] - radius[i]), centre[i] + radius[i]) for i in range(dim)] + [
            (None, None)
        ]
        res = linprog(
            np.r_[np.zeros(dim), 1.0], A_ub=a_ub, b_ub=rhs, bounds=bounds, method="highs"
        )
        if res.status != 0:
            break
        x_new, model = res.x[:dim], float(res.x[dim])
        predicted = f_centre - model
        if predicted <= 1e-7 * max(abs(f_centre), 1.0):
            break
        f_new, g_new = evaluate(x_new)
        cuts_x.append(x_new)
        cuts_f.append(f_new)
        cuts_g.append(g_new)
        if f_centre - f_new >= 0.1 * predicted:  # a serious step: move, widen the region
            centre, f_centre = x_new, f_new
            radius *= 2.0
        else:  # a null step: keep the centre, trust the model less far
            radius *= 0.5
    return unpack(centre)


def lagrangian(
    problem: Problem,
    *,
    sample: int,
    iterations: int,
    rng: np.random.Generator,
) -> Allocation:
    """Prices from a sample, every customer's choice at those prices, repair, fill."""
    n_c = problem.shape[0]
    if n_c > sample:
        rows = np.sort(rng.choice(n_c, size=sample, replace=False))
        lam, mu = _prices(problem.subset(rows, sample / n_c), iterations=iterations)
    else:
        lam, mu = _prices(problem, iterations=iterations)
    bound, _, _, c, o = _dual(problem, lam, mu)
    adjusted = problem.ev[c, o] - lam * problem.cost[o] - mu[o]
    keep = enforce_global(
        c, o, adjusted, cost=problem.cost, capacity=problem.capacity, budget=problem.budget
    )
    c, o = c[keep], o[keep]
    c, o = fill(problem, c, o)
    return Allocation(c, o, _objective(problem, c, o), "lagrangian", bound, mu, lam)


def fill(problem: Problem, c: IntArray, o: IntArray) -> tuple[IntArray, IntArray]:
    """Use leftover slots, stock and budget greedily; return all chosen actions."""
    n_c, n_o = problem.shape
    slots = problem.slots - np.bincount(c, minlength=n_c)
    chan = problem.channel_slots.copy()
    np.subtract.at(chan, (c, problem.channel[o]), 1)
    cap = problem.capacity - np.bincount(o, minlength=n_o)
    budget = problem.budget - float(problem.cost[o].sum())
    open_rows = np.flatnonzero(slots > 0)
    if open_rows.size == 0:
        return c, o
    ev = problem.ev[open_rows].copy()
    taken = np.isin(open_rows, c)
    if taken.any():
        sel = np.flatnonzero(np.isin(c, open_rows))
        ev[np.searchsorted(open_rows, c[sel]), o[sel]] = -np.inf
    ev[:, cap < 1] = -np.inf
    ev[:, problem.cost > budget + _EPS] = -np.inf
    fc, fo = per_customer(ev, slots[open_rows], chan[open_rows], problem.channel)
    fc = open_rows[fc]
    keep = enforce_global(
        fc, fo, problem.ev[fc, fo], cost=problem.cost, capacity=cap, budget=budget
    )
    c2, o2 = np.concatenate([c, fc[keep]]), np.concatenate([o, fo[keep]])
    order = np.lexsort((o2, c2))
    return c2[order], o2[order]


def describe(allocation: Allocation) -> dict[str, Any]:
    """Summary numbers of an allocation."""
    return {
        "method": allocation.method,
        "objective": allocation.objective,
        "bound": allocation.bound,
        "gap": allocation.gap,
    }
