"""Parametric-bootstrap intervals for per-customer predictions.

The sampling distribution of the maximum-likelihood estimate is approximated
by a multivariate normal on the log-parameter scale, ``N(log θ̂, Σ_log)``
(``covariance_log_`` of the fitted model, the inverse Hessian). Parameter
vectors are drawn from it (seeded), each prediction is evaluated at every
draw, and the interval is the pair of empirical quantiles over draws.

Memory stays bounded for any number of customers: predictions depend on a
customer only through the sufficient statistics, so they are evaluated on the
distinct rows only; the distinct rows are processed in chunks of at most
``max_cells // n_draws`` rows, each chunk's ``draws × rows`` block is reduced
to its quantiles at once, and the result is mapped back to the customers.
There is a Python loop over draws (each iteration is one vectorised call over
a chunk of rows), never over customers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from crmcore._deprecation import renamed_arguments, renamed_columns
from crmcore._types import ArrayLike, FloatArray, RandomState
from crmcore._validation import check_random_state, check_scalar
from crmcore.clv._bands import Kind, continuous_bands
from crmcore.clv._base import BaseModel
from crmcore.clv._bgbb import (
    BetaGeoBetaBinomModel,
    bgbb_conditional_expectation,
    bgbb_probability_alive,
)
from crmcore.clv._bgfamily import (
    bg_conditional_expectation,
    bg_discounted_purchases,
    bg_probability_alive,
)
from crmcore.clv._bgnbd import BetaGeoModel, ModifiedBetaGeoModel, TransactionModel
from crmcore.clv._compress import unique_rows
from crmcore.clv._data import read_summary
from crmcore.clv._gammagamma import GammaGammaModel, check_spend_defined, gg_expected_spend
from crmcore.clv._pareto import ParetoNBDModel
from crmcore.clv._pareto_core import (
    pnbd_conditional_expectation,
    pnbd_discounted_purchases,
    pnbd_probability_alive,
)
from crmcore.errors import DataWarning, ValidationError

__all__ = ["draw_parameters", "predict_interval"]

Quantity = Literal["expected_purchases", "probability_alive", "clv"]
Evaluator = Callable[[FloatArray, FloatArray | None, list[FloatArray]], FloatArray]


def draw_parameters(
    model: BaseModel, n_draws: int, *, random_state: RandomState = None
) -> FloatArray:
    """Draw parameter vectors from the estimate's approximate sampling distribution.

    Parameters
    ----------
    model : BaseModel
        A fitted model with a finite ``covariance_log_``.
    n_draws : int
        Number of draws (>= 1).
    random_state : int, Generator or None
        Seed or generator.

    Returns
    -------
    ndarray
        ``(n_draws, n_params)`` on the natural scale, columns in the order of
        ``params_``.

    Raises
    ------
    ValidationError
        If the model's covariance is undefined (non-finite).
    """
    params = model._check_fitted()
    k = int(check_scalar(n_draws, name="n_draws", low=1, integer=True))
    cov = np.asarray(model.covariance_log_.to_numpy(), dtype=np.float64)
    if not np.all(np.isfinite(cov)):
        raise ValidationError(
            f"{type(model).__name__} has no finite covariance (the Hessian was not positive "
            "definite); parameter draws are undefined",
            field="model",
        )
    rng = check_random_state(random_state)
    mean = np.log(np.array(list(params.values()), dtype=np.float64))
    # Symmetric square root (eigh) is robust to a nearly singular covariance.
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    z = rng.standard_normal((k, mean.size))
    return np.asarray(np.exp(mean + z @ root.T), dtype=np.float64)


def _finite_spend_draws(
    draws: FloatArray, spend_draws: FloatArray, x: FloatArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Drop the draw pairs whose spend parameters give some row no finite expected spend.

    The Gamma-Gamma expected spend ``p (γ + m x) / (p x + q - 1)`` needs
    ``p x + q > 1`` (``q > 1`` at ``x = 0``) and grows without bound as
    ``p x + q`` falls to 1, so such a draw stands for an unbounded spend.
    A few of them are dropped with a :class:`DataWarning` (the interval is
    then conditional on a finite mean); if their share exceeds the upper tail
    ``(1 - confidence) / 2``, the upper bound itself would be unbounded and a
    :class:`ValidationError` is raised instead.
    """
    x_min = float(x.min())
    ok = spend_draws[:, 0] * x_min + spend_draws[:, 1] - 1.0 > 0
    if ok.all():
        return draws, spend_draws
    k = ok.size
    dropped = k - int(ok.sum())
    share = dropped / k
    tail = (1.0 - confidence) / 2.0
    what = "q <= 1 (no finite mean spend)" if x_min == 0 else "p*frequency + q <= 1"
    if share > tail:
        raise ValidationError(
            f"{dropped} of {k} spend-model parameter draws ({share:.1%}) have {what}, "
            f"more than the {tail:.1%} upper tail of a {confidence:g} interval: the upper bound "
            "of CLV is unbounded; restrict to repeat buyers (frequency >= 1) or refit the "
            "spend model on more data",
            field="q",
            value=share,
        )
    warnings.warn(
        f"dropped {dropped} of {k} parameter draws ({share:.1%}) whose spend model has {what}; "
        "the CLV interval is conditional on a finite expected spend",
        DataWarning,
        stacklevel=3,
    )
    return draws[ok], spend_draws[ok]


def _evaluator(
    model: BaseModel,
    quantity: str,
    t: float | None,
    clv_args: dict[str, float] | None,
) -> tuple[tuple[str, ...], Evaluator]:
    """Columns read from ``data`` and ``f(theta, theta_spend, columns) -> values``."""
    if isinstance(model, BetaGeoBetaBinomModel):
        cols: tuple[str, ...] = ("frequency", "recency", "n_periods")
        if quantity == "probability_alive":
            return cols, lambda th, _, c: bgbb_probability_alive(th, c[0], c[1], c[2])
        if quantity == "expected_purchases":
            m = float(t)  # type: ignore[arg-type]
            return cols, lambda th, _, c: bgbb_conditional_expectation(
                th, c[0], c[1], c[2], np.full(c[0].shape, m)
            )
        raise ValidationError(
            "quantity 'clv' needs a continuous-time transaction model "
            "(BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel)",
            field="quantity",
        )
    alive: Callable[..., FloatArray]
    expect: Callable[..., FloatArray]
    if isinstance(model, ParetoNBDModel):
        alive = pnbd_probability_alive
        expect = pnbd_conditional_expectation

        def disc(th: FloatArray, c: list[FloatArray], times: FloatArray, f: FloatArray) -> Any:
            return pnbd_discounted_purchases(th, c[0], c[1], c[2], times=times, factors=f)

    elif isinstance(model, BetaGeoModel | ModifiedBetaGeoModel):
        shift = 1 if isinstance(model, ModifiedBetaGeoModel) else 0

        def bg_alive(th: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
            return bg_probability_alive(th, x, tx, T, s=shift)

        def bg_expect(
            th: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, tt: FloatArray
        ) -> FloatArray:
            return bg_conditional_expectation(th, x, tx, T, tt, s=shift)

        alive, expect = bg_alive, bg_expect

        def disc(th: FloatArray, c: list[FloatArray], times: FloatArray, f: FloatArray) -> Any:
            return bg_discounted_purchases(th, c[0], c[1], c[2], times=times, factors=f, s=shift)

    else:
        raise ValidationError(
            "predict_interval supports BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel and "
            f"BetaGeoBetaBinomModel; got {type(model).__name__}",
            field="model",
        )
    cols = ("frequency", "recency", "T")
    if quantity == "probability_alive":
        return cols, lambda th, _, c: alive(th, c[0], c[1], c[2])
    if quantity == "expected_purchases":
        tt = float(t)  # type: ignore[arg-type]
        return cols, lambda th, _, c: expect(th, c[0], c[1], c[2], np.full(c[0].shape, tt))
    assert clv_args is not None
    periods = np.arange(1, int(clv_args["horizon"]) + 1, dtype=np.float64)
    times = periods * clv_args["time_unit"]
    factors = (1.0 + clv_args["discount_rate"]) ** -periods
    margin = clv_args["margin"]

    def clv(th: FloatArray, th_spend: FloatArray | None, c: list[FloatArray]) -> FloatArray:
        assert th_spend is not None
        spend = gg_expected_spend(th_spend, c[0], c[3])
        return np.asarray(margin * spend * disc(th, c, times, factors), dtype=np.float64)

    return (*cols, "monetary_value"), clv


_OLD_COLUMNS = {"lower": "ci_low", "upper": "ci_high"}


@renamed_arguments(level="confidence")
def predict_interval(
    model: BaseModel,
    quantity: Quantity,
    data: pd.DataFrame | ArrayLike,
    *,
    t: float | None = None,
    spend_model: GammaGammaModel | None = None,
    horizon: int | None = None,
    time_unit: float | None = None,
    discount_rate: float = 0.0,
    margin: float = 1.0,
    n_draws: int = 500,
    confidence: float = 0.95,
    random_state: RandomState = None,
    max_cells: int = 4_000_000,
) -> pd.DataFrame:
    """Per-customer prediction with a parametric-bootstrap confidence interval.

    Parameter vectors are drawn from ``N(log θ̂, covariance_log_)`` (see
    :func:`draw_parameters`); the prediction is evaluated at every draw and
    the interval is given by the ``(1 - confidence)/2`` and
    ``(1 + confidence)/2`` quantiles over draws. It reflects estimation uncertainty in the
    parameters, not the randomness of the customer's future behaviour.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel or BetaGeoBetaBinomModel
        Fitted transaction model.
    quantity : {"expected_purchases", "probability_alive", "clv"}
        What to predict. ``"expected_purchases"`` needs ``t`` (time units
        of the data; for BG/BB the number of future opportunities);
        ``"clv"`` (continuous-time models) needs ``spend_model``,
        ``horizon`` and ``time_unit`` and is computed as in
        :func:`~crmcore.clv.customer_lifetime_value` with both models' parameters drawn
        independently.
    data : DataFrame or array_like
        Customer summary (``frequency``, ``recency``, ``T`` or
        ``n_periods``; ``monetary_value`` for CLV).
    t : float, optional
        Horizon for ``expected_purchases``.
    spend_model : GammaGammaModel, optional
        Fitted spend model for ``clv``.
    horizon : int, optional
        Number of discounting periods for ``clv``.
    time_unit : float, optional
        Length of one period in the data's time units, for ``clv``.
    discount_rate : float, default 0.0
        Discount rate per period, for ``clv``.
    margin : float, default 1.0
        Margin on revenue, for ``clv``.
    n_draws : int, default 500
        Number of parameter draws.
    confidence : float, default 0.95
        Confidence level, in ``(0, 1)`` (formerly ``level``, deprecated).
    random_state : int, Generator or None
        Seed or generator (the result is reproducible for a fixed seed).
    max_cells : int, default 4_000_000
        Upper bound on ``draws × rows`` held in memory at once.

    Returns
    -------
    DataFrame
        Indexed like ``data`` (or 0..n-1 for arrays): ``estimate`` (at the
        fitted parameters), ``ci_low``, ``ci_high``. (The bounds were called
        ``lower`` and ``upper``; those names still work, with a
        ``DeprecationWarning``, until crmcore 0.3.0.)

    Raises
    ------
    ValidationError
        For an unsupported model or quantity, missing arguments, or a model
        without a finite covariance. For ``clv``: if the fitted spend model
        gives some customer no finite expected spend (``q <= 1`` with a
        customer of frequency 0, or ``p x + q <= 1``; ``field="q"``), or if
        more than the upper tail ``(1 - confidence) / 2`` of the spend-model draws
        do.

    Warns
    -----
    DataWarning
        For ``clv``, when some (at most ``(1 - confidence) / 2``) of the
        spend-model draws give a customer no finite expected spend: those
        draws are dropped, with the share stated; the interval is then
        conditional on a finite mean.

    Examples
    --------
    >>> from crmcore.clv import BetaGeoModel, predict_interval, simulate_bgnbd
    >>> data = simulate_bgnbd(2000, r=0.5, alpha=10.0, a=0.8, b=2.5, T=52.0, random_state=1)
    >>> model = BetaGeoModel().fit(data)
    >>> band = predict_interval(model, "probability_alive", data.head(3), random_state=0)
    >>> list(band.columns)
    ['estimate', 'ci_low', 'ci_high']
    >>> bool(((band.ci_low <= band.estimate) & (band.estimate <= band.ci_high)).all())
    True
    """
    if quantity not in ("expected_purchases", "probability_alive", "clv"):
        raise ValidationError(
            "quantity must be 'expected_purchases', 'probability_alive' or 'clv'; "
            f"got {quantity!r}",
            field="quantity",
            value=quantity,
        )
    lvl = check_scalar(
        confidence, name="confidence", low=0, high=1, low_inclusive=False, high_inclusive=False
    )
    cells = int(check_scalar(max_cells, name="max_cells", low=1, integer=True))
    k = int(check_scalar(n_draws, name="n_draws", low=1, integer=True))
    if quantity == "expected_purchases":
        if t is None:
            raise ValidationError("quantity 'expected_purchases' needs t", field="t")
        # BG/BB counts future opportunities: a whole number, as in its expected_purchases
        t = check_scalar(t, name="t", low=0, integer=isinstance(model, BetaGeoBetaBinomModel))
    clv_args: dict[str, float] | None = None
    if quantity == "clv":
        if not isinstance(spend_model, GammaGammaModel):
            raise ValidationError(
                "quantity 'clv' needs a fitted GammaGammaModel as spend_model",
                field="spend_model",
            )
        if horizon is None or time_unit is None:
            raise ValidationError("quantity 'clv' needs horizon and time_unit", field="horizon")
        clv_args = {
            "horizon": check_scalar(horizon, name="horizon", low=1, integer=True),
            "time_unit": check_scalar(time_unit, name="time_unit", low=0, low_inclusive=False),
            "discount_rate": check_scalar(discount_rate, name="discount_rate", low=0),
            "margin": check_scalar(margin, name="margin", low=0),
        }
    if not isinstance(model, TransactionModel | BetaGeoBetaBinomModel):
        raise ValidationError(
            f"predict_interval needs a transaction model; got {type(model).__name__}",
            field="model",
        )
    params = model._check_fitted()
    names, fn = _evaluator(model, quantity, t, clv_args)
    if isinstance(model, BetaGeoBetaBinomModel):
        summary = model._read(data)
    else:
        summary = read_summary(data, names)
    spend_hat: FloatArray | None = None
    if spend_model is not None and quantity == "clv":
        spend_hat = np.array(list(spend_model._check_fitted().values()), dtype=np.float64)
        check_spend_defined(spend_hat, summary["frequency"], summary.index)
    uniq, inv = unique_rows(*(summary[c] for c in names))
    cols = [np.asarray(u, dtype=np.float64) for u in uniq]
    rng = check_random_state(random_state)
    draws = draw_parameters(model, k, random_state=rng)
    theta_hat = np.array(list(params.values()), dtype=np.float64)
    spend_draws: FloatArray | None = None
    if spend_model is not None and quantity == "clv":
        spend_draws = draw_parameters(spend_model, k, random_state=rng)
        draws, spend_draws = _finite_spend_draws(draws, spend_draws, cols[0], lvl)
        k = draws.shape[0]
    n_u = cols[0].size
    estimate = fn(theta_hat, spend_hat, cols)
    ci_low = np.empty(n_u)
    ci_high = np.empty(n_u)
    q = np.array([(1.0 - lvl) / 2.0, (1.0 + lvl) / 2.0])
    chunk = max(1, cells // k)
    if isinstance(model, ParetoNBDModel | BetaGeoModel | ModifiedBetaGeoModel):
        kind: Kind = (
            "pnbd"
            if isinstance(model, ParetoNBDModel)
            else "mbg"
            if isinstance(model, ModifiedBetaGeoModel)
            else "bg"
        )
        continuous_bands(
            kind,
            draws,
            cols,
            quantity=quantity,
            t=t,
            spend_draws=spend_draws,
            clv_args=clv_args,
            chunk=chunk,
            q=q,
            ci_low=ci_low,
            ci_high=ci_high,
        )
        return _band(estimate[inv], ci_low[inv], ci_high[inv], summary.index)
    block = np.empty((k, min(chunk, n_u)))
    for start in range(0, n_u, chunk):
        stop = min(start + chunk, n_u)
        part = [c[start:stop] for c in cols]
        view = block[:, : stop - start]
        for i in range(k):
            view[i] = fn(draws[i], None if spend_draws is None else spend_draws[i], part)
        ci_low[start:stop], ci_high[start:stop] = np.quantile(view, q, axis=0)
    return _band(estimate[inv], ci_low[inv], ci_high[inv], summary.index)


def _band(
    estimate: FloatArray, low: FloatArray, high: FloatArray, index: pd.Index | None
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"estimate": estimate, "ci_low": low, "ci_high": high},
        index=index if index is not None else pd.RangeIndex(estimate.size),
    )
    return renamed_columns(frame, _OLD_COLUMNS, where="crmcore.clv.predict_interval()")
