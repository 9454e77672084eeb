"""Seeded, vectorised simulators for the BG/NBD family and the Gamma-Gamma model.

No per-customer Python loop: per-customer draws are whole arrays; the dated
log lays out all repeat purchases in one ragged array (``np.repeat`` of the
customer index) and obtains the purchase times from exponential spacings with
a segmented cumulative sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._deprecation import renamed_columns
from crmcore._types import ArrayLike, FloatArray, IntArray, RandomState
from crmcore._validation import (
    as_count_array,
    as_float_array,
    check_nonnegative,
    check_random_state,
    check_scalar,
)
from crmcore.errors import ValidationError

__all__ = ["simulate_bgnbd", "simulate_gamma_gamma", "simulate_transactions"]

_NS_PER_UNIT = {"D": _time.NS_PER_DAY, "W": 7 * _time.NS_PER_DAY}


def _positive(name: str, value: float) -> float:
    return check_scalar(value, name=name, low=0, low_inclusive=False)


def _check_flag(value: object, name: str) -> None:
    if not isinstance(value, bool | np.bool_):
        raise ValidationError(
            f"{name} must be True or False; got {value!r}", field=name, value=value
        )


def _draw_bg(
    rng: np.random.Generator,
    *,
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: FloatArray,
    modified: bool,
) -> tuple[FloatArray, FloatArray, IntArray, IntArray, FloatArray]:
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = np.clip(rng.beta(a, b, size=n), 1e-12, 1.0)
    N = rng.poisson(lam * T)
    # K: the number of repeat purchases after which the customer drops out.
    K = rng.geometric(p) - (1 if modified else 0)
    x = np.minimum(N, K)
    return lam, p, N, x, (N < K).astype(np.float64)


def simulate_bgnbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    modified: bool = False,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Simulate customer summaries from the BG/NBD (or MBG/NBD) model.

    Each customer draws a purchase rate ``λ ~ Gamma(r, α)`` and a dropout
    probability ``p ~ Beta(a, b)``; repeat purchases arrive as a Poisson
    process and after each one (``modified``: also at time 0) the customer
    drops out with probability ``p``. Given ``N`` would-be arrivals in
    ``(0, T]``, the last observed purchase is the ``x``-th order statistic of
    ``N`` uniforms, drawn directly as ``T · Beta(x, N - x + 1)``.

    Parameters
    ----------
    n_customers : int
        Number of customers (>= 1).
    r, alpha, a, b : float
        Model parameters (> 0).
    T : float or array_like
        Observation length per customer (one value or ``n_customers``).
    modified : bool, default False
        Simulate the MBG/NBD model.
    random_state : int, Generator or None
        Seed or generator.

    Returns
    -------
    DataFrame
        Index ``customer_id`` (0..n-1): ``frequency``, ``recency``, ``T`` and the
        latent ``purchase_rate``, ``dropout_probability``, ``alive`` (1.0 if
        still active at ``T``).

    Examples
    --------
    >>> df = simulate_bgnbd(3, r=0.5, alpha=5.0, a=1.0, b=3.0, T=30.0, random_state=0)
    >>> list(df.columns[:3])
    ['frequency', 'recency', 'T']
    """
    n = int(check_scalar(n_customers, name="n_customers", low=1, integer=True))
    r, alpha, a, b = (_positive(k, v) for k, v in (("r", r), ("alpha", alpha), ("a", a), ("b", b)))
    Tarr = _times(T, n)
    _check_flag(modified, "modified")
    rng = check_random_state(random_state)
    lam, p, N, x, alive = _draw_bg(rng, n=n, r=r, alpha=alpha, a=a, b=b, T=Tarr, modified=modified)
    has = x > 0
    recency = np.zeros(n)
    recency[has] = Tarr[has] * rng.beta(x[has], N[has] - x[has] + 1)
    return pd.DataFrame(
        {
            "frequency": x.astype(np.int64),
            "recency": recency,
            "T": Tarr,
            "purchase_rate": lam,
            "dropout_probability": p,
            "alive": alive,
        },
        index=pd.RangeIndex(n, name="customer_id"),
    )


def _times(T: ArrayLike, n: int) -> FloatArray:
    if np.ndim(T) == 0:
        return np.full(n, check_scalar(T, name="T", low=0, low_inclusive=False))
    arr = as_float_array(T, name="T")
    if arr.shape[0] != n:
        raise ValidationError(
            f"T must have one value per customer ({n}); got {arr.shape[0]}", field="T"
        )
    check_nonnegative(arr, name="T", strict=True)
    return arr


def simulate_gamma_gamma(
    frequency: ArrayLike,
    *,
    p: float,
    q: float,
    gamma: float,
    random_state: RandomState = None,
) -> FloatArray:
    """Simulate mean repeat-transaction values from the Gamma-Gamma model.

    ``ν ~ Gamma(q, rate γ)`` per customer; the mean of ``x`` values that are
    each ``Gamma(p, rate ν)`` is ``Gamma(p x, rate ν x)``.

    Parameters
    ----------
    frequency : array_like of int
        Number of repeat transactions per customer (>= 0).
    p, q, gamma : float
        Model parameters (> 0).
    random_state : int, Generator or None
        Seed or generator.

    Returns
    -------
    ndarray
        Mean transaction value per customer (0 where ``frequency`` is 0).

    Examples
    --------
    >>> simulate_gamma_gamma([0, 2], p=6.0, q=4.0, gamma=15.0, random_state=0)[0]
    np.float64(0.0)
    """
    x = as_count_array(frequency, name="frequency")
    p, q, gamma = (_positive(k, v) for k, v in (("p", p), ("q", q), ("gamma", gamma)))
    rng = check_random_state(random_state)
    nu = rng.gamma(q, 1.0 / gamma, size=x.size)
    out = np.zeros(x.size)
    has = x > 0
    out[has] = rng.gamma(p * x[has], 1.0 / (nu[has] * x[has]))
    return out


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
    r, alpha, a, b = (_positive(k, v) for k, v in (("r", r), ("alpha", alpha), ("a", a), ("b", b)))
    span = _positive("periods", periods)
    acq = (
        span / 2
        if acquisition_periods is None
        else check_scalar(
            acquisition_periods, name="acquisition_periods", low=0, high=span, high_inclusive=False
        )
    )
    if unit not in tuple(_NS_PER_UNIT):  # a tuple: an unhashable unit is refused, not a TypeError
        raise ValidationError(f"unit must be 'D' or 'W'; got {unit!r}", field="unit", value=unit)
    _check_flag(modified, "modified")
    spend = [v is not None for v in (p, q, gamma)]
    if any(spend) and not all(spend):
        raise ValidationError("give all of p, q, gamma or none of them", field="p")
    spend_params = (
        (_positive("p", p), _positive("q", q), _positive("gamma", gamma))
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
    _, _, N, x, _ = _draw_bg(rng, n=n, r=r, alpha=alpha, a=a, b=b, T=T, modified=modified)
    total = int(x.sum())
    cust_rep = np.repeat(np.arange(n, dtype=np.int64), x)
    cs = np.cumsum(rng.exponential(size=total))
    ends = np.cumsum(x)
    before = np.concatenate([[0.0], cs])[ends - x]  # cumulative sum before each segment
    S = cs - np.repeat(before, x)
    has = x > 0
    S_x = np.zeros(n)
    S_x[has] = cs[ends[has] - 1] - before[has]
    tail = np.zeros(n)
    tail[has] = rng.gamma((N - x + 1)[has].astype(np.float64))
    U = S / np.repeat(S_x + tail, x)
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
