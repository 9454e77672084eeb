"""Out-of-sample check of a transaction model on a calibration/holdout split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmcore._validation import as_count_array, as_float_array, check_columns
from crmcore.clv._kernels import purchase_kernels
from crmcore.clv._transaction import TransactionModel
from crmcore.errors import ValidationError

__all__ = ["HoldoutEvaluation", "evaluate_holdout"]


@dataclass(frozen=True)
class HoldoutEvaluation:
    """Predicted versus actual holdout purchases.

    Attributes
    ----------
    per_customer : DataFrame
        Indexed by customer: ``frequency_cal``, ``actual`` (int: holdout
        purchase periods), ``predicted``, ``error`` (predicted - actual).
    by_frequency : DataFrame
        Indexed by calibration frequency: ``n_customers``, ``actual`` and
        ``predicted`` (mean holdout purchases per customer).
    mae, rmse, bias : float
        Mean absolute error, root mean squared error and mean error
        (predicted - actual) per customer.
    actual_total : int
        Total holdout purchases observed (a count).
    predicted_total : float
        Total holdout purchases predicted.
    """

    per_customer: pd.DataFrame
    by_frequency: pd.DataFrame
    mae: float
    rmse: float
    bias: float
    actual_total: int
    predicted_total: float


def evaluate_holdout(model: TransactionModel, split: pd.DataFrame) -> HoldoutEvaluation:
    """Compare a fitted model's holdout predictions with what happened.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted on the calibration columns of ``split``.
    split : DataFrame
        Output of :func:`~crmcore.clv.calibration_holdout_split`.

    Returns
    -------
    HoldoutEvaluation
        Per-customer table, per-frequency table and aggregate errors.

    Raises
    ------
    ValidationError
        If ``split`` lacks the calibration or holdout columns.
    NotFittedError
        If ``model`` is not fitted.
    """
    if purchase_kernels(model).discrete:
        raise ValidationError(
            "model must be a continuous-time model (BetaGeoModel, ModifiedBetaGeoModel or "
            f"ParetoNBDModel): the split counts time, not opportunities; got "
            f"{type(model).__name__}",
            field="model",
        )
    check_columns(
        split,
        ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"],
        name="split",
    )
    actual = as_count_array(
        split["frequency_holdout"], name="frequency_holdout", row_name="customer"
    ).astype(np.int64)
    duration = as_float_array(
        split["duration_holdout"], name="duration_holdout", row_name="customer"
    )
    predicted = np.asarray(model.expected_purchases(duration, split), dtype=np.float64)
    err = predicted - actual
    freq = split["frequency_cal"].to_numpy()
    per = pd.DataFrame(
        {"frequency_cal": freq, "actual": actual, "predicted": predicted, "error": err},
        index=split.index,
    )
    grouped = per.groupby("frequency_cal")
    by_freq = pd.DataFrame(
        {
            "n_customers": grouped.size(),
            "actual": grouped["actual"].mean(),
            "predicted": grouped["predicted"].mean(),
        }
    )
    return HoldoutEvaluation(
        per_customer=per,
        by_frequency=by_freq,
        mae=float(np.mean(np.abs(err))),
        rmse=float(np.sqrt(np.mean(err**2))),
        bias=float(np.mean(err)),
        actual_total=int(actual.sum()),
        predicted_total=float(predicted.sum()),
    )
