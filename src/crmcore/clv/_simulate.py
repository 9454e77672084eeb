"""Seeded, vectorised simulators of customer summaries, one per model.

BG/NBD and MBG/NBD (:func:`simulate_bgnbd`), Pareto/NBD, BG/BB, sBG and the
Gamma-Gamma spend model. No per-customer Python loop: every per-customer
quantity is drawn as one array. The dated transaction log is in
:mod:`crmcore.clv._simulate_log`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmcore._types import ArrayLike, FloatArray, IntArray, RandomState
from crmcore._validation import (
    as_count_array,
    as_float_array,
    check_nonnegative,
    check_random_state,
    check_scalar,
)
from crmcore.errors import ValidationError

__all__ = [
    "check_flag",
    "draw_bg",
    "first_order_statistics",
    "positive",
    "simulate_bgbb",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "simulate_pareto_nbd",
    "simulate_sbg",
]


def positive(name: str, value: float) -> float:
    """Check a model parameter: a number > 0."""
    return check_scalar(value, name=name, low=0, low_inclusive=False)


def check_flag(value: object, name: str) -> None:
    """Check a flag: ``True`` or ``False`` (not a truthy value)."""
    if not isinstance(value, bool | np.bool_):
        raise ValidationError(
            f"{name} must be True or False; got {value!r}", field=name, value=value
        )


def draw_bg(
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


def first_order_statistics(
    taken: IntArray, total: IntArray, rng: np.random.Generator
) -> tuple[IntArray, FloatArray]:
    """Draw the first ``taken[i]`` of ``total[i]`` uniform order statistics on (0, 1), per ``i``.

    The arrivals of a Poisson process on an interval, given their number,
    are uniform order statistics; a customer who stops after ``taken`` of
    ``total`` would-be arrivals made the first ``taken``. With ``E_j``
    standard exponentials, ``U_(j) = (E_1 + ... + E_j) / (E_1 + ... +
    E_(total+1))``; the sum beyond ``taken`` is one ``Gamma(total - taken +
    1)`` draw. All rows at once: one ragged array (``np.repeat`` of the row
    index) and a segmented cumulative sum, no loop.

    Returns
    -------
    owner : ndarray of int64
        Row of each order statistic (``taken[i]`` entries for row ``i``).
    u : ndarray
        The order statistics, increasing within a row.
    """
    n = taken.size
    owner = np.repeat(np.arange(n, dtype=np.int64), taken)
    cs = np.cumsum(rng.exponential(size=int(taken.sum())))
    ends = np.cumsum(taken)
    before = np.concatenate([[0.0], cs])[ends - taken]  # cumulative sum before each segment
    S = cs - np.repeat(before, taken)
    has = taken > 0
    S_x = np.zeros(n)
    S_x[has] = cs[ends[has] - 1] - before[has]
    tail = np.zeros(n)
    tail[has] = rng.gamma((total - taken + 1)[has].astype(np.float64))
    return owner, np.asarray(S / np.repeat(S_x + tail, taken), dtype=np.float64)


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
    r, alpha, a, b = (positive(k, v) for k, v in (("r", r), ("alpha", alpha), ("a", a), ("b", b)))
    Tarr = _times(T, n)
    check_flag(modified, "modified")
    rng = check_random_state(random_state)
    lam, p, N, x, alive = draw_bg(rng, n=n, r=r, alpha=alpha, a=a, b=b, T=Tarr, modified=modified)
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
    p, q, gamma = (positive(k, v) for k, v in (("p", p), ("q", q), ("gamma", gamma)))
    rng = check_random_state(random_state)
    nu = rng.gamma(q, 1.0 / gamma, size=x.size)
    out = np.zeros(x.size)
    has = x > 0
    out[has] = rng.gamma(p * x[has], 1.0 / (nu[has] * x[has]))
    return out


def simulate_pareto_nbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: ArrayLike,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Simulate customer summaries from the Pareto/NBD model.

    Each customer draws a purchase rate ``λ ~ Gamma(r, α)`` and a dropout
    rate ``μ ~ Gamma(s, β)`` (rate parameterisation) and an exponential
    lifetime ``τ ~ Exp(μ)``. Repeat purchases are Poisson with rate ``λ`` on
    ``(0, min(τ, T)]``; given ``x`` of them, the last is the maximum of ``x``
    uniforms, drawn directly as ``min(τ, T) · Beta(x, 1)``.

    Parameters
    ----------
    n_customers : int
        Number of customers (>= 1).
    r, alpha, s, beta : float
        Model parameters (> 0).
    T : float or array_like
        Observation length per customer (one value or ``n_customers``).
    random_state : int, Generator or None
        Seed or generator.

    Returns
    -------
    DataFrame
        Index ``customer_id`` (0..n-1): ``frequency``, ``recency``, ``T`` and
        the latent ``purchase_rate``, ``dropout_rate``, ``alive`` (1.0 if the
        lifetime exceeds ``T``).

    Examples
    --------
    >>> df = simulate_pareto_nbd(3, r=0.5, alpha=5.0, s=0.8, beta=10.0, T=30.0, random_state=0)
    >>> list(df.columns[:3])
    ['frequency', 'recency', 'T']
    """
    n = int(check_scalar(n_customers, name="n_customers", low=1, integer=True))
    r, alpha, s, beta = (
        positive(k, v) for k, v in (("r", r), ("alpha", alpha), ("s", s), ("beta", beta))
    )
    Tarr = _times(T, n)
    rng = check_random_state(random_state)
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    mu = rng.gamma(s, 1.0 / beta, size=n)
    tau = rng.exponential(1.0, size=n) / np.maximum(mu, 1e-300)
    end = np.minimum(tau, Tarr)
    x = rng.poisson(lam * end)
    recency = np.zeros(n)
    has = x > 0
    recency[has] = end[has] * rng.beta(x[has], 1.0)
    return pd.DataFrame(
        {
            "frequency": x.astype(np.int64),
            "recency": recency,
            "T": Tarr,
            "purchase_rate": lam,
            "dropout_rate": mu,
            "alive": (tau > Tarr).astype(np.float64),
        },
        index=pd.RangeIndex(n, name="customer_id"),
    )


def simulate_bgbb(
    n_customers: int,
    *,
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    n_periods: int,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Simulate customer summaries from the BG/BB model.

    Each customer draws a transaction probability ``p ~ Beta(α, β)`` and a
    dropout probability ``θ ~ Beta(γ, δ)``. The number of opportunities at
    which the customer is alive is ``min(G - 1, n)``, ``G ~ Geometric(θ)``
    (death at the start of an opportunity); at each of them a transaction
    happens with probability ``p``. The opportunities are drawn as one
    ``customers × n_periods`` Boolean array.

    Parameters
    ----------
    n_customers : int
        Number of customers (>= 1).
    alpha, beta, gamma, delta : float
        Model parameters (> 0).
    n_periods : int
        Opportunities observed after the first transaction (>= 1).
    random_state : int, Generator or None
        Seed or generator.

    Returns
    -------
    DataFrame
        Index ``customer_id``: ``frequency``, ``recency``, ``n_periods`` and
        the latent ``transaction_probability``, ``dropout_probability``,
        ``alive`` (1.0 if alive at opportunity ``n_periods + 1``).

    Examples
    --------
    >>> df = simulate_bgbb(
    ...     4, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=6, random_state=0
    ... )
    >>> list(df.columns[:3])
    ['frequency', 'recency', 'n_periods']
    """
    n = int(check_scalar(n_customers, name="n_customers", low=1, integer=True))
    a, b, g, d = (
        positive(k, v)
        for k, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("delta", delta))
    )
    k = int(check_scalar(n_periods, name="n_periods", low=1, integer=True))
    rng = check_random_state(random_state)
    p = rng.beta(a, b, size=n)
    theta = np.clip(rng.beta(g, d, size=n), 1e-300, 1.0)
    # Alive opportunities: G - 1 where G ~ Geometric(θ) counts trials to the death.
    life = rng.geometric(theta) - 1
    periods = np.arange(1, k + 1)
    buys = (rng.random((n, k)) < p[:, None]) & (periods[None, :] <= life[:, None])
    x = buys.sum(axis=1)
    last = np.where(x > 0, k - np.argmax(buys[:, ::-1], axis=1), 0)
    return pd.DataFrame(
        {
            "frequency": x.astype(np.int64),
            "recency": last.astype(np.int64),
            "n_periods": np.full(n, k, dtype=np.int64),
            "transaction_probability": p,
            "dropout_probability": theta,
            "alive": (life > k).astype(np.float64),
        },
        index=pd.RangeIndex(n, name="customer_id"),
    )


def simulate_sbg(
    cohort_size: int,
    *,
    alpha: float,
    beta: float,
    n_periods: int,
    random_state: RandomState = None,
) -> IntArray:
    """Simulate a cohort's survivor counts from the shifted-beta-geometric model.

    Each customer draws a churn probability ``θ ~ Beta(α, β)`` and churns in
    period ``T ~ Geometric(θ)`` (``T >= 1``).

    Parameters
    ----------
    cohort_size : int
        Number of customers at period 0 (>= 1).
    alpha, beta : float
        Model parameters (> 0).
    n_periods : int
        Number of later periods (>= 1).
    random_state : int, Generator or None
        Seed or generator.

    Returns
    -------
    ndarray of int64
        ``survivors[t]`` for ``t = 0..n_periods`` (``survivors[0] = cohort_size``),
        the input of :meth:`ShiftedBetaGeoModel.fit`.

    Examples
    --------
    >>> simulate_sbg(1000, alpha=0.7, beta=1.2, n_periods=3, random_state=0)[0]
    np.int64(1000)
    """
    n = int(check_scalar(cohort_size, name="cohort_size", low=1, integer=True))
    a, b = positive("alpha", alpha), positive("beta", beta)
    k = int(check_scalar(n_periods, name="n_periods", low=1, integer=True))
    rng = check_random_state(random_state)
    theta = np.clip(rng.beta(a, b, size=n), 1e-300, 1.0)
    churn = rng.geometric(theta)
    counts = np.bincount(np.minimum(churn, k + 1), minlength=k + 2)
    # survivors[t] = #(T > t).
    return np.asarray(n - np.cumsum(counts)[: k + 1], dtype=np.int64)
