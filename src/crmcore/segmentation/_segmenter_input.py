"""What a :class:`Segmenter` accepts: its hyper-parameters and its ``X``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmcore._validation import check_random_state, check_scalar
from crmcore.errors import ValidationError

__all__ = ["Checked", "as_frame", "check_params"]


def as_frame(X: Any, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Accept a DataFrame, or a 2-D array-like whose columns are named.

    Array columns are ``names`` (the fitted features, in order) when given,
    else ``x0, x1, ...``. Sparse matrices are refused: clustering scales
    every feature by its median, which densifies them anyway.
    """
    if isinstance(X, pd.DataFrame):
        return X
    if hasattr(X, "tocsr"):  # a SciPy sparse matrix or array
        raise ValidationError(
            "sparse input is not supported by Segmenter: convert it with X.toarray()",
            field="X",
        )
    if X is None or isinstance(X, str | bytes | dict):
        raise ValidationError(
            f"X must be a DataFrame or a 2-D array; got {type(X).__name__}", field="X"
        )
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValidationError(
            f"X must be a DataFrame or a 2-D array; got an array of shape {arr.shape}. "
            "Reshape your data: X.reshape(-1, 1) for a single feature, "
            "X.reshape(1, -1) for a single customer",
            field="X",
        )
    if names is not None and arr.shape[1] != len(names):
        raise ValidationError(
            f"X has {arr.shape[1]} features, but Segmenter is expecting {len(names)} "
            f"features as input ({', '.join(names)}, in that order)",
            field="X",
        )
    columns = list(names) if names is not None else [f"x{j}" for j in range(arr.shape[1])]
    return pd.DataFrame(arr, columns=columns)


@dataclass(frozen=True)
class Checked:
    """Hyper-parameters after validation (``fit`` and ``from_dict`` share it)."""

    auto: bool
    k_lo: int
    k_hi: int
    threshold: int
    sample_size: int
    batch_size: int
    max_iter: int


def check_params(seg: Any) -> Checked:
    """Validate the hyper-parameters (never in ``__init__``: clone must work)."""
    threshold = check_scalar(
        seg.minibatch_threshold, name="minibatch_threshold", low=1, integer=True
    )
    sample_size = check_scalar(seg.sample_size, name="sample_size", low=10, integer=True)
    batch_size = check_scalar(seg.batch_size, name="batch_size", low=1, integer=True)
    max_iter = check_scalar(seg.max_iter, name="max_iter", low=1, integer=True)
    if not isinstance(seg.log_transform, bool | np.bool_):
        raise ValidationError(
            f"log_transform must be True or False; got {seg.log_transform!r}",
            field="log_transform",
            value=seg.log_transform,
        )
    given: Any = seg.features
    if given is not None and (
        isinstance(given, str)
        or not isinstance(given, Sequence)
        or not given
        or not all(isinstance(f, str) for f in given)
    ):
        raise ValidationError(
            "features must be a non-empty sequence of column names (or None)",
            field="features",
            value=given,
        )
    if seg.value_col is not None and not isinstance(seg.value_col, str):
        raise ValidationError(
            f"value_col must be a column name or None; got {seg.value_col!r}",
            field="value_col",
            value=seg.value_col,
        )
    check_random_state(seg.random_state)  # refuses what cannot seed a generator
    auto = isinstance(seg.n_clusters, str)
    if auto and seg.n_clusters != "auto":
        raise ValidationError(
            f"n_clusters must be a whole number >= 1 or 'auto'; got {seg.n_clusters!r}",
            field="n_clusters",
            value=seg.n_clusters,
        )
    if auto:
        lo_hi: Any = seg.k_range
        if isinstance(lo_hi, str) or not isinstance(lo_hi, Sequence) or len(lo_hi) != 2:
            raise ValidationError(
                f"k_range must be (min_k, max_k); got {lo_hi!r}", field="k_range", value=lo_hi
            )
        k_lo = int(check_scalar(lo_hi[0], name="k_range[0]", low=2, integer=True))
        k_hi = int(check_scalar(lo_hi[1], name="k_range[1]", low=k_lo, integer=True))
    else:
        k_lo = k_hi = int(check_scalar(seg.n_clusters, name="n_clusters", low=1, integer=True))
    return Checked(
        auto=auto,
        k_lo=k_lo,
        k_hi=k_hi,
        threshold=int(threshold),
        sample_size=int(sample_size),
        batch_size=int(batch_size),
        max_iter=int(max_iter),
    )
