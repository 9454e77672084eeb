""":class:`LeadScorer` as JSON: its hyper-parameters and fitted state, never pickle.

Layout (``"format": "crmcore.pipeline.LeadScorer"``): ``params`` (the
hyper-parameters; the classifier as :mod:`crmcore.pipeline._persist`
writes it), ``stages``, ``class_count``, then naive Bayes' ``bin_edges``,
``feature_counts`` and ``stage_counts``, or ``method="sklearn"``'s
``categories``, ``numeric_center``, ``numeric_scale``, ``design_mean`` and
``model``. Version 3 added the numeric features; files of versions 1
(crmcore 0.1) and 2 are read too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from crmcore.errors import ValidationError
from crmcore.pipeline._persist import estimator_from_dict, estimator_to_dict

__all__ = ["FORMAT", "read_saved", "saved_state"]

I64 = npt.NDArray[np.int64]

FORMAT = "crmcore.pipeline.LeadScorer"
"""Tag of the JSON layout."""

_PARAMS = frozenset(
    {
        "features",
        "numeric_features",
        "n_bins",
        "stage_col",
        "outcome_col",
        "alpha",
        "method",
        "classifier",
    }
)


def _counts(values: Any, name: str) -> I64:
    """Read saved counts as int64 (files of 0.1 wrote them as floats such as ``2.0``)."""
    arr = np.asarray(values, dtype=np.float64)
    if not (np.isfinite(arr).all() and (arr >= 0).all() and (arr == np.round(arr)).all()):
        raise ValidationError(f"{name} must hold whole counts >= 0", field=name)
    return arr.astype(np.int64)


def saved_state(scorer: Any, features: list[str], numeric: list[str]) -> dict[str, Any]:
    """Return the JSON-ready dict of a fitted scorer."""
    out: dict[str, Any] = {
        "format": FORMAT,
        "version": 3,
        "params": {
            "features": features,
            "numeric_features": numeric,
            "n_bins": int(scorer.n_bins),
            "stage_col": scorer.stage_col,
            "outcome_col": scorer.outcome_col,
            "alpha": float(scorer.alpha),
            "method": scorer.method,
            "classifier": None
            if scorer.classifier is None
            else estimator_to_dict(scorer.classifier, fitted=False),
        },
        "stages": list(scorer.stages_),
        "class_count": scorer.class_count_.tolist(),
    }
    if scorer.method == "sklearn":
        out["categories"] = {f: list(c) for f, c in scorer.categories_.items()}
        out["numeric_center"] = dict(scorer.numeric_center_)
        out["numeric_scale"] = dict(scorer.numeric_scale_)
        mean = scorer.design_mean_
        out["design_mean"] = None if mean is None else list(mean)
        out["model"] = estimator_to_dict(scorer.model_)
    else:
        out["bin_edges"] = {f: list(e) for f, e in scorer.bin_edges_.items()}
        out["feature_counts"] = scorer.feature_counts_
        out["stage_counts"] = scorer.stage_counts_.tolist()
    return out


def read_saved(data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the hyper-parameters and the fitted attributes of a saved scorer.

    Raises
    ------
    ValidationError
        ``data`` is not a saved scorer.
    """
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        raise ValidationError("not a saved LeadScorer: no 'params' object", field="params")
    params = dict(data["params"])
    unknown = sorted(set(params) - _PARAMS)
    if unknown:
        raise ValidationError(f"unknown LeadScorer parameters {unknown}", field="params")
    if params.get("classifier") is not None:
        params["classifier"] = estimator_from_dict(params["classifier"])
    state: dict[str, Any] = {}
    try:
        state["classes_"] = np.array([0, 1], dtype=np.int64)
        state["stages_"] = [str(s) for s in data["stages"]]
        state["class_count_"] = _counts(data["class_count"], "class_count").reshape(2)
        if params.get("method", "naive_bayes") == "sklearn":
            state["categories_"] = {
                str(f): [str(v) for v in c] for f, c in data["categories"].items()
            }
            state["numeric_center_"] = {
                str(f): float(v) for f, v in data.get("numeric_center", {}).items()
            }
            state["numeric_scale_"] = {
                str(f): float(v) for f, v in data.get("numeric_scale", {}).items()
            }
            mean = data.get("design_mean")  # absent in files of 0.2
            state["design_mean_"] = None if mean is None else [float(v) for v in mean]
            state["model_"] = estimator_from_dict(data["model"])
        else:
            state["bin_edges_"] = {
                str(f): [float(v) for v in e] for f, e in data.get("bin_edges", {}).items()
            }
            state["feature_counts_"] = {
                str(f): {str(k): _counts(v, f).reshape(2).tolist() for k, v in t.items()}
                for f, t in data["feature_counts"].items()
            }
            state["stage_counts_"] = _counts(data["stage_counts"], "stage_counts").reshape(-1, 2)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(f"not a saved LeadScorer: {exc!r}") from exc
    return params, state
