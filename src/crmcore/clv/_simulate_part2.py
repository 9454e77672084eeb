"""Seeded, vectorised simulators for the Pareto/NBD, BG/BB and sBG models.

No per-customer Python loop: every per-customer quantity is drawn as one array.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmcore._types import ArrayLike, IntArray, RandomState
from crmcore._validation import as_float_array, check_nonnegative, check_random_state, check_scalar
from crmcore.errors import ValidationError

__all__ = ["simulate_bgbb", "simulate_pareto_nbd", "simulate_sbg"]


def _positive(name: str, value: float) -> float:
    return check_scalar(value, name=name, low=0, low_inclusive=False)


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
        _positive(k, v) for k, v in (("r", r), ("alpha", alpha), ("s", s), ("beta", beta))
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
        _positive(k, v)
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
    a, b = _positive("alpha", alpha), _positive("beta", beta)
    k = int(check_scalar(n_periods, name="n_periods", low=1, integer=True))
    rng = check_random_state(random_state)
    theta = np.clip(rng.beta(a, b, size=n), 1e-300, 1.0)
    churn = rng.geometric(theta)
    counts = np.bincount(np.minimum(churn, k + 1), minlength=k + 2)
    # survivors[t] = #(T > t).
    return np.asarray(n - np.cumsum(counts)[: k + 1], dtype=np.int64)


def _times(T: ArrayLike, n: int) -> np.ndarray:
    if np.ndim(T) == 0:
        return np.full(n, check_scalar(T, name="T", low=0, low_inclusive=False))
    arr = as_float_array(T, name="T")
    if arr.shape[0] != n:
        raise ValidationError(
            f"T must have one value per customer ({n}); got {arr.shape[0]}", field="T"
        )
    check_nonnegative(arr, name="T", strict=True)
    return arr
