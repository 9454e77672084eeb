"""How :class:`LeadScorer` reads its features: categories as text, numbers as numbers or bins.

Categorical features (``features=``) are read as text, one value a category.
Numeric features (``numeric_features=``: visits, downloads, a decayed
engagement count, company size) are read as numbers, never as text, and:

* for naive Bayes, put into quantile bins learned at ``fit`` (at most
  ``n_bins``; cut points are the training quantiles, repeated ones merged,
  so a count that is mostly 0 gets fewer bins); missing values form their
  own bin. The bins then count like categories, and ``update`` keeps them;
* for ``method="sklearn"``, standardised with the training mean and
  standard deviation (a missing value becomes the mean, i.e. 0), so the
  classifier sees the number itself.

A score is a sum of log-odds terms. Naive Bayes: the prior plus, per
feature, the log likelihood ratio of the lead's value (Laplace-smoothed
counts, an unseen value its own slot) and the stage's. A linear classifier:
the log-odds of the average training lead plus ``Σ coef · (x - mean)`` over
each feature's design columns. The largest terms are a lead's top factors.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore.errors import ValidationError

__all__ = [
    "MISSING",
    "bin_labels",
    "bin_text",
    "linear_terms",
    "quantile_edges",
    "read_numeric",
    "stage_terms",
    "top_factors",
    "value_terms",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MISSING = "missing"
"""The bin of a missing numeric value."""


def read_numeric(col: pd.Series, name: str) -> F64:
    """Read a numeric feature (missing values kept as NaN; text and infinities refused)."""
    if col.dtype.kind in "biuf":
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        parsed = pd.to_numeric(col, errors="coerce")
        bad = parsed.isna().to_numpy() & col.notna().to_numpy()
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise ValidationError(
                f"numeric feature {name!r} holds {col.iloc[pos]!r} (row {col.index[pos]!r}), "
                "not a number; put categorical columns in features= instead",
                field=name,
                row=col.index[pos],
                value=col.iloc[pos],
            )
        values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        pos = int(np.flatnonzero(np.isinf(values))[0])
        raise ValidationError(
            f"numeric feature {name!r} must be finite; got {values[pos]} in row "
            f"{col.index[pos]!r}",
            field=name,
            row=col.index[pos],
        )
    return values


def quantile_edges(values: F64, n_bins: int) -> list[float]:
    """Interior cut points of at most ``n_bins`` quantile bins (repeated quantiles merged)."""
    known = values[~np.isnan(values)]
    if known.size == 0:
        return []
    qs = np.quantile(known, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
    # a cut at the minimum would leave the first bin empty
    return [float(q) for q in np.unique(qs) if q > known.min()]


def bin_labels(values: F64, edges: Sequence[float]) -> npt.NDArray[Any]:
    """Bin of each value as text: ``"0"`` below the first cut ... ``"k"``; ``"missing"``."""
    codes = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")
    labels = np.array([str(c) for c in range(len(edges) + 1)] + [MISSING], dtype=object)
    return labels[np.where(np.isnan(values), len(edges) + 1, codes)]


def bin_text(label: Hashable, edges: Sequence[float]) -> str:
    """Return a readable range for a bin label: ``"< 2"``, ``"[2, 5)"``, ``">= 5"``..."""
    if label == MISSING or not edges:
        return str(label) if label == MISSING else "any"
    k = int(str(label))
    if k == 0:
        return f"< {edges[0]:g}"
    if k == len(edges):
        return f">= {edges[-1]:g}"
    return f"[{edges[k - 1]:g}, {edges[k]:g})"


def value_terms(values: pd.Series, counts: dict[str, list[int]], n: I64, alpha: float) -> F64:
    """Naive-Bayes log likelihood ratio won / lost of each lead's value of one feature."""
    k = len(counts) + 1  # one slot more for values never seen
    keys = list(counts)
    c = np.array([counts[v] for v in keys], dtype=float).reshape(-1, 2)
    ll = np.log(c + alpha) - np.log(n + alpha * k)
    ratio = pd.Series(ll[:, 1] - ll[:, 0], index=pd.Index(keys, dtype=object))
    unseen = float(np.log(alpha / (n[1] + alpha * k)) - np.log(alpha / (n[0] + alpha * k)))
    vals = values.map(ratio).to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(vals), unseen, vals)


def stage_terms(reached: I64, n: I64, alpha: float) -> F64:
    """Naive-Bayes log likelihood ratio of having reached each lead's stage (lost, won counts)."""
    won = np.log(reached[:, 1] + alpha) - np.log(n[1] + 2 * alpha)
    lost = np.log(reached[:, 0] + alpha) - np.log(n[0] + 2 * alpha)
    return np.asarray(won - lost, dtype=np.float64)


def linear_terms(  # noqa: PLR0917 - a kernel: the arrays it combines
    design: F64,
    mean: F64,
    coef: F64,
    intercept: float,
    widths: Sequence[tuple[str, int]],
    index: pd.Index,
) -> pd.DataFrame:
    """Centred terms of a linear log-odds: the average lead, then each feature's columns."""
    centred = (design - mean) * coef
    parts: dict[str, Any] = {"baseline": np.full(len(index), intercept + float(mean @ coef))}
    col = 0
    for name, width in widths:
        parts[name] = centred[:, col : col + width].sum(axis=1)
        col += width
    return pd.DataFrame(parts, index=index)


def top_factors(parts: pd.DataFrame, shown: dict[str, Any], top: int) -> pd.DataFrame:
    """Return the ``top`` terms of each row by absolute size, with the values to show."""
    values = parts.to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :top]
    names = list(parts.columns)
    rows = [
        (label, rank, names[j], shown[names[j]][i], float(values[i, j]))
        for i, label in enumerate(parts.index)
        for rank, j in enumerate(order[i].tolist(), start=1)
    ]
    return pd.DataFrame(rows, columns=["lead", "rank", "feature", "value", "contribution"])
