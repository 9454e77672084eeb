"""Labels and the ``score`` metric shared by the churn estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from crmcore._types import ArrayLike, FloatArray, IntArray
from crmcore._validation import as_binary_array
from crmcore.errors import ValidationError

__all__ = ["check_labels", "roc_auc"]


def check_labels(
    labels: ArrayLike, *, n: int, name: str = "labels", index: Any = None
) -> IntArray:
    """Return 0/1 (or boolean) churn labels, one per row, as int64.

    Raises
    ------
    ValidationError
        Labels other than booleans, 0 and 1 (naming the customer, from
        ``index`` or the Series' own), or not one per row.
    """
    y = as_binary_array(labels, name=name, meaning="1 = churned", index=index, row_name="customer")
    if y.shape[0] != n:
        raise ValidationError(
            f"{name} must have one entry per row of features ({n}); got {y.shape[0]}",
            field=name,
        )
    return y.astype(np.int64)


def roc_auc(y: IntArray, p: FloatArray, *, sample_weight: Any = None) -> float:
    """ROC AUC of churn probabilities ``p`` against 0/1 labels ``y``: the estimators' ``score``.

    Raises
    ------
    ValidationError
        When ``y`` holds a single class (the AUC is undefined).
    """
    if y.size == 0 or y.min() == y.max():
        raise ValidationError(
            "labels hold a single class; ROC AUC needs churners and stayers", field="labels"
        )
    return float(roc_auc_score(y, p, sample_weight=sample_weight))
