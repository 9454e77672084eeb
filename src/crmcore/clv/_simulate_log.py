"""A seeded, vectorised simulator of a dated transaction log (BG/NBD family + Gamma-Gamma).

No per-customer Python loop: the log lays out all repeat purchases in one
ragged array (``np.repeat`` of the customer index) and obtains the purchase
times from exponential spacings with a segmented cumulative sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._deprecation import renamed_columns
from crmcore._types import RandomState
from crmcore._validation import check_random_state, check_scalar
from crmcore.clv._simulate import check_flag, draw_bg, first_order_statistics, positive
from crmcore.errors import ValidationError

__all__ = ["simulate_transactions"]

_NS_PER_UNIT = {"D": _time.NS_PER_DAY, "W": 7 * _time.NS_PER_DAY}


def simulate_transactions(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    start: Any,
    periods: float,
    acquisition_periods: float | None = None,
    unit: str = "D",
    modified: bool = False,
    p: float | None = None,
    q: float | None = None,
    gamma: float | None = None,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Simulate a dated transaction log from the BG/NBD (or MBG/NBD) model.

    Customers make their first purchase uniformly within the first
    ``acquisition_periods`` and are observed until ``start + periods``.
    Purchase times are continuous: to recover the parameters, summarise at a
    grain fine against the heaviest buyers' rate and keep the unit of
    ``alpha``, e.g. ``rfm_summary(log, freq="h", unit="D")`` (a daily grain
    merges same-day purchases, and biases ``alpha`` up when some customers
    buy several times a day).
    Repeat purchase times are the first ``x`` of ``N`` uniform order
    statistics, built from exponential spacings over one ragged array.
    With ``p``, ``q``, ``gamma`` each transaction gets a value drawn from the
    Gamma-Gamma model (``Gamma(p, rate ν)``, ``ν ~ Gamma(q, rate γ)``).

    Parameters
    ----------
    n_customers : int
        Number of customers.
    r, alpha, a, b : float
        BG/NBD parameters, with ``alpha`` in ``unit`` time.
    start : str, datetime, date, numpy.datetime64, Period or Timestamp
        Start of the observation window (naive or timezone-aware; the dates
        keep its time zone; a date means its midnight). Numbers and missing
        values are refused.
    periods : float
        Length of the window in ``unit``.
    acquisition_periods : float, optional
        Window of first purchases (default: half of ``periods``).
    unit : {"D", "W"}, default "D"
        Time unit of ``alpha`` and ``periods``.
    modified : bool, default False
        Simulate the MBG/NBD model.
    p, q, gamma : float, optional
        Gamma-Gamma spend parameters; adds an ``amount`` column.
    random_state : int, Generator or None
        Seed or generator.

    Returns
    -------
    DataFrame
        ``customer_id`` (int), ``date`` and (with spend parameters) ``amount``,
        sorted by date: the columns every crmcore function reads by default.
        (``amount`` was called ``value``; ``log["value"]`` still works, with a
        ``DeprecationWarning``, until crmcore 0.3.0.)

    Raises
    ------
    ValidationError
        For a bad parameter, e.g. a ``start`` that is not a date (``None``,
        NaT, a number), or a window that ends after the last representable
        date.

    Examples
    --------
    >>> log = simulate_transactions(
    ...     100,
    ...     r=0.5,
    ...     alpha=20.0,
    ...     a=0.8,
    ...     b=2.5,
    ...     start="2024-01-01",
    ...     periods=365,
    ...     random_state=0,
    ... )
    >>> list(log.columns)
    ['customer_id', 'date']
    """
    n = int(check_scalar(n_customers, name="n_customers", low=1, integer=True))
    r, alpha, a, b = (positive(k, v) for k, v in (("r", r), ("alpha", alpha), ("a", a), ("b", b)))
    span = positive("periods", periods)
    acq = (
        span / 2
        if acquisition_periods is None
        else check_scalar(
            acquisition_periods, name="acquisition_periods", low=0, high=span, high_inclusive=False
        )
    )
    if unit not in tuple(_NS_PER_UNIT):  # a tuple: an unhashable unit is refused, not a TypeError
        raise ValidationError(f"unit must be 'D' or 'W'; got {unit!r}", field="unit", value=unit)
    check_flag(modified, "modified")
    spend = [v is not None for v in (p, q, gamma)]
    if any(spend) and not all(spend):
        raise ValidationError("give all of p, q, gamma or none of them", field="p")
    spend_params = (
        (positive("p", p), positive("q", q), positive("gamma", gamma))
        if p is not None and q is not None and gamma is not None
        else None
    )
    t0 = _time.to_instant(start, name="start")
    base_ns = int(t0.value)  # UTC nanoseconds for an aware start, wall clock for a naive one
    per_unit = _NS_PER_UNIT[unit]
    if float(base_ns) + span * per_unit >= 2.0**63:
        raise ValidationError(
            f"start + periods lies beyond {pd.Timestamp.max} (the last representable date)",
            field="periods",
            value=periods,
        )
    rng = check_random_state(random_state)
    birth = rng.uniform(0.0, acq, size=n)
    T = span - birth
    _, _, N, x, _ = draw_bg(rng, n=n, r=r, alpha=alpha, a=a, b=b, T=T, modified=modified)
    cust_rep, U = first_order_statistics(x, N, rng)
    times = np.concatenate([birth, birth[cust_rep] + U * T[cust_rep]])
    ids = np.concatenate([np.arange(n, dtype=np.int64), cust_rep])
    order = np.argsort(times, kind="stable")
    offsets = (times[order] * per_unit).astype(np.int64)
    dates = _time.timestamps(base_ns + offsets, t0.tzinfo)
    out = pd.DataFrame({"customer_id": ids[order], "date": dates})
    if spend_params is None:
        return out
    pp, qq, gg = spend_params
    nu = rng.gamma(qq, 1.0 / gg, size=n)
    out["amount"] = rng.gamma(pp, 1.0 / nu[ids[order]])
    return renamed_columns(out, {"value": "amount"}, where="crmcore.clv.simulate_transactions()")
