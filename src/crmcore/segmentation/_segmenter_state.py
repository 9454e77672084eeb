"""The JSON form of a fitted :class:`Segmenter`, checked field by field when read.

A file is data from outside: every field is checked before the estimator is
rebuilt, so that a hand-edited or truncated file fails with a
:class:`~crmcore.errors.ValidationError` naming the field (``fitted.scale_``)
rather than predicting nonsense later (a zero scale divides by zero, a NaN
centre labels every customer 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from crmcore._types import FloatArray
from crmcore.errors import ValidationError

__all__ = ["ALGORITHMS", "MODEL", "dump_fitted", "load_fitted"]

MODEL = "Segmenter"
ALGORITHMS = ("kmeans", "minibatch")


def _fail(field: str, problem: str, value: Any = None) -> ValidationError:
    return ValidationError(
        f"not a valid serialised Segmenter: {field} {problem}", field=field, value=value
    )


def dump_fitted(seg: Any) -> dict[str, Any]:
    """Return the fitted attributes of ``seg`` as JSON-ready values."""
    profiles = seg.profiles_
    return {
        "feature_names_in_": [str(f) for f in seg.feature_names_in_],
        "value_col_": seg.value_col_,
        "n_clusters_": int(seg.n_clusters_),
        "center_": seg.center_.tolist(),
        "scale_": seg.scale_.tolist(),
        "cluster_centers_": seg.cluster_centers_.tolist(),
        "inertia_": float(seg.inertia_),
        "n_iter_": int(seg.n_iter_),
        "algorithm_": seg.algorithm_,
        "silhouette_scores_": {str(k): v for k, v in seg.silhouette_scores_.items()},
        "profiles_": {
            "columns": [str(c) for c in profiles.columns],
            # NaN (an empty cluster's mean) is written as null: strict JSON
            "data": [
                [None if isinstance(v, float) and math.isnan(v) else v for v in row]
                for row in profiles.astype(object).to_numpy().tolist()
            ],
        },
    }


def _mapping(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(field, f"must be a JSON object; got {type(value).__name__}", value)
    return value


def _get(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise _fail(f"{where}{key}", "is missing")
    return data[key]


def _int(value: Any, field: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(field, f"must be a whole number >= {low}; got {value!r}", value)
    return value


def _finite(value: Any, field: str, shape: tuple[int, ...]) -> FloatArray:
    """Read a float array of exactly ``shape`` holding finite numbers only."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _fail(field, "must hold numbers only", value) from exc
    if arr.shape != shape:
        raise _fail(field, f"must have shape {shape}; got {arr.shape}")
    if not np.isfinite(arr).all():
        raise _fail(field, "must hold finite numbers only (no NaN or infinity)")
    return arr


def _names(value: Any, field: str) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) for v in value)
        or len(set(value)) != len(value)
    ):
        raise _fail(field, "must be a non-empty list of distinct column names", value)
    return value


def load_fitted(fitted: Any, *, n_clusters: Any) -> dict[str, Any]:
    """Check the ``fitted`` part of a serialised Segmenter; return its attributes.

    ``n_clusters`` is the hyper-parameter (an int must match ``n_clusters_``).
    """
    fit = _mapping(fitted, "fitted")
    w = "fitted."
    names = _names(_get(fit, "feature_names_in_", w), f"{w}feature_names_in_")
    n = len(names)
    value_col = _get(fit, "value_col_", w)
    if not isinstance(value_col, str):
        raise _fail(f"{w}value_col_", "must be a column name", value_col)
    k = _int(_get(fit, "n_clusters_", w), f"{w}n_clusters_", low=1)
    if isinstance(n_clusters, int) and n_clusters != k:
        raise _fail(f"{w}n_clusters_", f"is {k} but params.n_clusters is {n_clusters}", k)
    center = _finite(_get(fit, "center_", w), f"{w}center_", (n,))
    scale = _finite(_get(fit, "scale_", w), f"{w}scale_", (n,))
    if not (scale > 0).all():
        raise _fail(f"{w}scale_", "must be positive (each feature is divided by its scale)")
    centers = _finite(_get(fit, "cluster_centers_", w), f"{w}cluster_centers_", (k, n))
    inertia = float(_finite(_get(fit, "inertia_", w), f"{w}inertia_", ())[()])
    if inertia < 0:
        raise _fail(f"{w}inertia_", f"must be >= 0; got {inertia}", inertia)
    algorithm = _get(fit, "algorithm_", w)
    if algorithm not in ALGORITHMS:
        raise _fail(f"{w}algorithm_", f"must be one of {ALGORITHMS}; got {algorithm!r}", algorithm)
    raw_scores = _mapping(_get(fit, "silhouette_scores_", w), f"{w}silhouette_scores_")
    scores: dict[int, float] = {}
    for key, score in raw_scores.items():
        field = f"{w}silhouette_scores_[{key!r}]"
        if not str(key).isdigit():
            raise _fail(field, "must be keyed by a number of clusters", key)
        s = float(_finite(score, field, ())[()])
        if not -1.0 <= s <= 1.0:
            raise _fail(field, f"must lie in [-1, 1]; got {s}", s)
        scores[int(key)] = s
    out: dict[str, Any] = {
        "feature_names_in_": np.asarray(names, dtype=object),
        "n_features_in_": n,
        "value_col_": value_col,
        "n_clusters_": k,
        "center_": center,
        "scale_": scale,
        "cluster_centers_": centers,
        "inertia_": inertia,
        "algorithm_": algorithm,
        "silhouette_scores_": scores,
        "profiles_": _profiles(_get(fit, "profiles_", w), names, k),
    }
    if "n_iter_" in fit:  # absent from files written by crmcore 0.1
        out["n_iter_"] = _int(fit["n_iter_"], f"{w}n_iter_", low=0)
    return out


def _profiles(value: Any, names: list[str], k: int) -> pd.DataFrame:
    field = "fitted.profiles_"
    prof = _mapping(value, field)
    columns = ["size", "share", *names, "value_mean", "value_share"]
    if _get(prof, "columns", f"{field}.") != columns:
        raise _fail(f"{field}.columns", f"must be {columns}", prof["columns"])
    data = _get(prof, "data", f"{field}.")
    if not isinstance(data, list) or len(data) != k:
        raise _fail(f"{field}.data", f"must hold one row per cluster ({k})")
    try:
        # null (NaN) is allowed only where a cluster can have no value: its mean and share
        table = np.array(
            [[np.nan if v is None else v for v in row] for row in data], dtype=np.float64
        )
    except (TypeError, ValueError) as exc:
        raise _fail(f"{field}.data", "must hold numbers only") from exc
    if table.shape != (k, len(columns)):
        raise _fail(f"{field}.data", f"must have shape {(k, len(columns))}; got {table.shape}")
    if np.isinf(table).any() or np.isnan(table[:, :-2]).any():
        raise _fail(f"{field}.data", "must hold finite numbers (null only for value_mean/share)")
    sizes = table[:, 0]
    if (sizes < 0).any() or (sizes != np.round(sizes)).any():
        raise _fail(f"{field}.data", "size must hold whole numbers >= 0")
    frame = pd.DataFrame(table, columns=columns, index=pd.RangeIndex(k, name="cluster"))
    frame["size"] = sizes.astype(np.int64)
    return frame
