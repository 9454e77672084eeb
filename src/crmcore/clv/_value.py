"""Customer lifetime value: model-based and the textbook closed forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crmcore._types import ArrayLike, FloatArray
from crmcore._validation import as_float_array, check_nonnegative, check_scalar
from crmcore.clv._dask import is_dask, map_scores
from crmcore.clv._data import wrap
from crmcore.clv._kernels import Discounting, fitted_params, purchase_kernels, spend_source
from crmcore.errors import ValidationError

if TYPE_CHECKING:
    from crmcore.clv._gammagamma import GammaGammaModel
    from crmcore.clv._transaction import PurchaseModel

__all__ = ["customer_lifetime_value", "retention_clv", "simple_clv"]


def customer_lifetime_value(
    transaction_model: PurchaseModel,
    spend_model: GammaGammaModel | pd.Series | ArrayLike,
    data: pd.DataFrame | ArrayLike,
    *,
    horizon: int,
    time_unit: float,
    discount_rate: float,
    margin: float = 1.0,
) -> pd.Series | FloatArray:
    """Discounted expected value of each customer's future purchases.

    ``CLV = margin × E[spend] × sum_{i=1..H} (E[Y(i u)] - E[Y((i-1) u)]) / (1 + d)^i``

    where ``E[spend]`` is the spend model's expected value of a future
    purchase (Gamma-Gamma: FHL 2005 eq. 4) or, given per customer, yours
    (a margin forecast, a contract value, a mean from another model)
    where ``u = time_unit`` is the length of one discounting period in the
    transaction model's time units, ``H = horizon`` the number of periods and
    ``d = discount_rate`` the rate per period; cash flows are discounted at the
    end of the period in which they fall (Fader, Hardie & Lee 2005, "RFM and
    CLV", discrete-time form). All periods are evaluated in one array
    operation. There is no hidden month length: a model fitted on daily data
    with monthly discounting uses ``time_unit=365.25 / 12`` (or 30, or the
    calendar of your choice), explicitly.

    Parameters
    ----------
    transaction_model : BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel or BetaGeoBetaBinomModel
        Fitted purchase-process model (BG/BB: ``time_unit`` in whole
        opportunities).
    spend_model : GammaGammaModel, Series, array_like or float
        A fitted spend model, or the expected spend per purchase of each
        customer: a Series aligned on ``data``'s index (extra customers
        ignored, a missing one refused), an array in row order, or one
        number for everyone (finite, >= 0).
    data : DataFrame, array_like or dask.dataframe.DataFrame
        ``frequency``, ``recency``, ``T`` (BG/BB: ``n_periods``) and, with a
        spend model, ``monetary_value`` per customer (array columns in that
        order); Dask input gives a lazy Dask Series (per-customer spend then
        as a Series).
    horizon : int
        Number of discounting periods (>= 1).
    time_unit : float
        Length of one period in the transaction model's time units (> 0).
    discount_rate : float
        Discount rate per period (>= 0).
    margin : float, default 1.0
        Profit margin applied to revenue (>= 0).

    Returns
    -------
    Series or ndarray
        CLV per customer, indexed like ``data``.

    Raises
    ------
    ValidationError
        For invalid arguments or data.
    NotFittedError
        If either model is not fitted.
    """
    schedule = Discounting.build(
        horizon=horizon, time_unit=time_unit, discount_rate=discount_rate, margin=margin
    )
    kernels = purchase_kernels(transaction_model, name="transaction_model")
    spend = spend_source(spend_model)
    if kernels.discrete:
        check_scalar(time_unit, name="time_unit", low=1, integer=True)
    theta = fitted_params(transaction_model)
    if is_dask(data):
        if (
            spend.kernels is None
            and np.ndim(spend_model) != 0
            and not isinstance(spend_model, pd.Series)
        ):
            raise ValidationError(
                "per-customer spend for Dask input must be a Series indexed by customer "
                "(an array has no order across partitions)",
                field="spend_model",
            )

        def score(part: pd.DataFrame) -> Any:
            return customer_lifetime_value(
                transaction_model,
                spend_model,
                part,
                horizon=horizon,
                time_unit=time_unit,
                discount_rate=discount_rate,
                margin=margin,
            )

        return map_scores(data, score, "clv")  # type: ignore[no-any-return]
    summary = kernels.read(data, spend.columns)
    x, tx, T = (summary[c] for c in kernels.columns)
    values = schedule.value(kernels.discounted(theta, x, tx, T, schedule), spend.expected(summary))
    return wrap(values, summary.index, "clv")


def simple_clv(
    annual_revenue: ArrayLike,
    margin: float,
    retention_years: ArrayLike,
    acquisition_cost: ArrayLike = 0.0,
) -> Any:
    """Undiscounted textbook CLV: ``annual_revenue × margin × retention_years - acquisition_cost``.

    The simplest lifetime-value formula of the marketing textbooks (e.g.
    Kotler & Keller, *Marketing Management*, ch. 5): yearly profit times the
    expected number of years as a customer, less the cost of acquisition.

    Parameters
    ----------
    annual_revenue : float or array_like
        Revenue per customer and year (>= 0).
    margin : float
        Profit margin as a fraction of revenue, in ``[0, 1]``.
    retention_years : float or array_like
        Expected customer lifetime in years (>= 0).
    acquisition_cost : float or array_like, default 0.0
        Cost of acquiring the customer (>= 0).

    Returns
    -------
    float or ndarray
        The lifetime value (a float for scalar input).

    Examples
    --------
    >>> simple_clv(1200.0, 0.25, 4, acquisition_cost=300.0)
    900.0
    """
    m = check_scalar(margin, name="margin", low=0, high=1)
    rev = _nonneg(annual_revenue, "annual_revenue")
    years = _nonneg(retention_years, "retention_years")
    cac = _nonneg(acquisition_cost, "acquisition_cost")
    out = rev * m * years - cac
    return float(out) if np.ndim(out) == 0 else out


def retention_clv(margin: ArrayLike, retention_rate: float, discount_rate: float) -> Any:
    """Infinite-horizon CLV with constant retention: ``m r / (1 + d - r)``.

    Gupta & Lehmann (2003, "Customers as assets", *Journal of Interactive
    Marketing* 17(1), eq. 3; 2005, *Managing Customers as Investments*):
    a margin ``m`` per period received at the end of each period the customer
    is retained, retention rate ``r`` and discount rate ``d`` per period.

    Parameters
    ----------
    margin : float or array_like
        Margin per period.
    retention_rate : float
        Per-period retention probability in ``[0, 1)``.
    discount_rate : float
        Per-period discount rate (>= 0).

    Returns
    -------
    float or ndarray
        The lifetime value.

    Examples
    --------
    >>> round(retention_clv(100.0, 0.8, 0.1), 2)
    266.67
    """
    r = check_scalar(retention_rate, name="retention_rate", low=0, high=1, high_inclusive=False)
    d = check_scalar(discount_rate, name="discount_rate", low=0)
    # checked before any conversion: margins may be negative, but must be numbers
    m: float | FloatArray = (
        check_scalar(margin, name="margin")
        if np.ndim(margin) == 0
        else as_float_array(margin, name="margin")
    )
    out = np.asarray(m) * r / (1.0 + d - r)
    return float(out) if np.ndim(out) == 0 else out


def _nonneg(value: ArrayLike, name: str) -> FloatArray | float:
    if np.ndim(value) == 0:
        return check_scalar(value, name=name, low=0)
    arr = as_float_array(value, name=name)
    check_nonnegative(arr, name=name)
    return arr
