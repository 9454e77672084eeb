"""One table of per-customer predictions, in memory or on a Dask cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crmcore._dask import is_dask
from crmcore._validation import check_scalar
from crmcore.clv._value import customer_lifetime_value
from crmcore.errors import ValidationError

if TYPE_CHECKING:
    from crmcore.clv._gammagamma import GammaGammaModel
    from crmcore.clv._transaction import PurchaseModel

__all__ = ["score_customers"]


def score_customers(
    transaction_model: PurchaseModel,
    data: Any,
    *,
    t: float,
    spend_model: GammaGammaModel | None = None,
    horizon: int | None = None,
    time_unit: float | None = None,
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> Any:
    """Every per-customer prediction in one frame: P(alive), purchases, spend, CLV.

    The frame a scoring job writes out. For a Dask summary the result is a
    lazy Dask DataFrame computed partition by partition on the cluster (one
    task per partition, each calling the in-memory functions), so it can be
    written straight to partitioned Parquet (``.to_parquet(folder)``) with
    nothing collected to the client.

    Parameters
    ----------
    transaction_model : BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel or BetaGeoBetaBinomModel
        Fitted purchase model.
    data : DataFrame or dask.dataframe.DataFrame
        Customer summary (:func:`rfm_summary`), indexed by customer.
    t : float
        Length of the prediction window for ``expected_purchases``, in the
        model's time units (> 0).
    spend_model : GammaGammaModel, optional
        Fitted spend model; adds ``expected_spend`` and, with ``horizon``
        and ``time_unit``, ``clv``.
    horizon, time_unit, discount_rate, margin
        As :func:`customer_lifetime_value` (``horizon`` and ``time_unit``
        both or neither).

    Returns
    -------
    DataFrame or dask.dataframe.DataFrame
        Indexed like ``data``: ``p_alive``, ``expected_purchases`` and, as
        asked, ``expected_spend`` and ``clv`` (float64).

    Raises
    ------
    ValidationError
        For a bad ``t``, ``horizon`` without ``time_unit`` (or the reverse),
        CLV asked without a spend model, or invalid data.

    Examples
    --------
    >>> from crmcore.clv import BetaGeoModel, score_customers, simulate_bgnbd
    >>> summary = simulate_bgnbd(500, r=0.5, alpha=10, a=0.8, b=2.5, T=52, random_state=1)
    >>> model = BetaGeoModel().fit(summary)
    >>> score_customers(model, summary, t=4.0).columns.tolist()
    ['p_alive', 'expected_purchases']
    """
    check_scalar(t, name="t", low=0.0, low_inclusive=False)
    if (horizon is None) != (time_unit is None):
        raise ValidationError(
            "give horizon and time_unit together (CLV needs both) or neither", field="horizon"
        )
    clv_args: dict[str, Any] | None = None
    if horizon is not None:
        if spend_model is None:
            raise ValidationError(
                "clv needs a spend_model (a fitted GammaGammaModel)", field="spend_model"
            )
        clv_args = {
            "spend_model": spend_model,
            "horizon": horizon,
            "time_unit": time_unit,
            "discount_rate": discount_rate,
            "margin": margin,
        }
    names = ["p_alive", "expected_purchases"]
    if spend_model is not None:
        names.append("expected_spend")
    if clv_args is not None:
        names.append("clv")

    def score(part: pd.DataFrame) -> pd.DataFrame:
        cols: dict[str, Any] = {
            "p_alive": transaction_model.probability_alive(part),
            "expected_purchases": transaction_model.expected_purchases(t, part),
        }
        if spend_model is not None:
            cols["expected_spend"] = spend_model.expected_spend(part)
        if clv_args is not None:
            cols["clv"] = customer_lifetime_value(transaction_model, data=part, **clv_args)
        return pd.DataFrame(
            {n: np.asarray(cols[n], dtype=np.float64) for n in names}, index=part.index
        )

    if is_dask(data):
        meta = pd.DataFrame({n: np.zeros(0) for n in names}, index=data._meta.index)

        def score_part(part: pd.DataFrame) -> pd.DataFrame:
            return meta if len(part) == 0 else score(part)

        return data.map_partitions(score_part, meta=meta)
    if not isinstance(data, pd.DataFrame):
        raise ValidationError(
            f"data must be a summary DataFrame (pandas or Dask); got {type(data).__name__}",
            field="data",
        )
    return score(data)
