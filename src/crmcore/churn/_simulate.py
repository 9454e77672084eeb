"""A seeded BG/NBD purchase log whose spend may carry churn signal."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._time import NS_PER_DAY, to_instant
from crmcore._types import RandomState
from crmcore._validation import check_random_state, check_scalar

__all__ = ["simulate_churn_transactions"]


def simulate_churn_transactions(
    n_customers: int,
    *,
    start: Any,
    periods: float = 730.0,
    acquisition_periods: float | None = None,
    r: float = 1.0,
    alpha: float = 20.0,
    a: float = 1.0,
    b: float = 4.0,
    mean_spend: float = 50.0,
    spend_signal: float = 0.0,
    return_latent: bool = False,
    random_state: RandomState = None,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate a dated purchase log with known churn, for studies and benchmarks.

    Purchases follow the BG/NBD story (Fader, Hardie and Lee, 2005): each
    customer has a purchase rate ``λ ~ Gamma(r, rate α)`` per day and a
    dropout probability ``p ~ Beta(a, b)``; it buys first at a uniform time
    in the first ``acquisition_periods`` days, then as a Poisson process,
    and after each repeat purchase leaves for good with probability ``p``.
    Each purchase has an ``amount ~ Gamma(4, mean m)`` where the customer's
    mean spend is ``m = mean_spend · exp(−spend_signal · z)`` and ``z`` is
    its standardised ``logit(p)``.

    With ``spend_signal = 0`` spend is independent of churn: recency and
    frequency hold all the information, and the BG/NBD P(alive) is the right
    baseline. With ``spend_signal > 0`` customers who are about to leave
    spend less, a behavioural signal that recency and frequency miss.

    Parameters
    ----------
    n_customers : int
        Number of customers (>= 1).
    start : date-like
        Start of the log (naive or aware; the dates keep its time zone).
    periods : float, default 730
        Length of the log in days.
    acquisition_periods : float, optional
        Window of first purchases in days (default ``periods / 2``).
    r, alpha, a, b : float
        BG/NBD parameters (``alpha`` in days).
    mean_spend : float, default 50
        Population mean of the amounts.
    spend_signal : float, default 0
        Strength of the link between spend and dropout (``>= 0``).
    return_latent : bool, default False
        Also return, per customer, ``purchase_rate``, ``dropout_probability``
        and ``death`` (the time of dropout, ``NaT`` if still active at the
        end of the log).
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, pandas.DataFrame)
        ``customer_id`` (int), ``date``, ``amount``, sorted by date; and the
        latent frame indexed by ``customer_id`` when ``return_latent``.

    Examples
    --------
    >>> from crmcore.churn import simulate_churn_transactions
    >>> tx = simulate_churn_transactions(100, start="2024-01-01", random_state=0)
    >>> list(tx.columns)
    ['customer_id', 'date', 'amount']
    """
    n = int(check_scalar(n_customers, name="n_customers", low=1, integer=True))
    t_end = check_scalar(periods, name="periods", low=0, low_inclusive=False)
    acq = t_end / 2 if acquisition_periods is None else acquisition_periods
    acq = check_scalar(acq, name="acquisition_periods", low=0, high=t_end, low_inclusive=False)
    r_, alpha_, a_, b_, m_ = (
        check_scalar(v, name=k, low=0, low_inclusive=False)
        for k, v in (("r", r), ("alpha", alpha), ("a", a), ("b", b), ("mean_spend", mean_spend))
    )
    sig = check_scalar(spend_signal, name="spend_signal", low=0)
    origin = to_instant(start, name="start")
    rng = check_random_state(random_state)

    lam = rng.gamma(r_, 1.0 / alpha_, size=n)
    p = rng.beta(a_, b_, size=n)
    t0 = rng.uniform(0.0, acq, size=n)
    span = t_end - t0
    arrivals = rng.poisson(lam * span)  # repeat purchases a live customer would make
    deaths = rng.geometric(p)  # repeat purchase after which the customer leaves
    x = np.minimum(arrivals, deaths)
    # the first x of `arrivals` uniform order statistics, from exponential spacings
    owner = np.repeat(np.arange(n), x)
    spacing = rng.exponential(size=owner.size)
    csum = np.cumsum(spacing)
    offsets = np.concatenate([[0.0], csum])[np.cumsum(x) - x]
    partial = csum - np.repeat(offsets, x)
    last = np.zeros(n)
    has = x > 0
    ends = np.cumsum(x)[has] - 1
    last[has] = partial[ends]
    rest = rng.gamma(np.maximum(arrivals - x + 1, 1).astype(np.float64))
    total = last + rest
    repeat_t = t0[owner] + partial / total[owner] * span[owner]

    customer = np.concatenate([np.arange(n), owner])
    t = np.concatenate([t0, repeat_t])
    logit = np.log(p) - np.log1p(-p)
    z = np.clip((logit - logit.mean()) / (logit.std() or 1.0), -3.0, 3.0)
    mean_i = m_ * np.exp(-sig * z)
    mean_i *= m_ / mean_i.mean()
    amount = rng.gamma(4.0, mean_i[customer] / 4.0)

    order = np.argsort(t, kind="stable")
    dates = origin + pd.to_timedelta(np.round(t[order] * NS_PER_DAY).astype(np.int64), "ns")
    tx = pd.DataFrame(
        {"customer_id": customer[order], "date": dates, "amount": np.round(amount[order], 2)}
    )
    if not return_latent:
        return tx
    died = deaths <= arrivals
    death_t = np.full(n, np.nan)
    death_t[died & has] = t0[died & has] + (partial[ends] / total[has] * span[has])[died[has]]
    death = pd.Series(
        origin + pd.to_timedelta(np.round(death_t * NS_PER_DAY), "ns"),
        index=pd.RangeIndex(n, name="customer_id"),
    )
    latent = pd.DataFrame(
        {"purchase_rate": lam, "dropout_probability": p, "death": death},
        index=pd.RangeIndex(n, name="customer_id"),
    )
    return tx, latent
