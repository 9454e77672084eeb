"""Ranking and calibration metrics for churn scores: gains, lift, calibration.

A churn score is used to rank customers for a retention campaign, so the
questions are "how many churners do I reach if I contact the top x %" (gains,
lift, capture) and "can I read the score as a probability" (calibration,
Brier score).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from crmcore._deprecation import renamed_columns
from crmcore._types import ArrayLike, FloatArray, IntArray
from crmcore._validation import as_binary_array, as_float_array, check_in_range, check_scalar
from crmcore.errors import ValidationError

__all__ = [
    "calibration_old_names",
    "calibration_table",
    "gains_table",
    "lift_curve",
    "plot_lift_curve",
    "score_metrics",
]


def _check_pair(y_true: ArrayLike, y_score: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Check every metric's input: 0/1 or boolean labels, finite scores, same length."""
    y = as_binary_array(y_true, name="y_true", meaning="1 = churned")
    s = as_float_array(y_score, name="y_score")
    if s.shape[0] != y.shape[0]:
        raise ValidationError(
            f"y_true and y_score must have the same length; got {y.shape[0]} and {s.shape[0]}",
            field="y_score",
        )
    if y.size == 0:
        raise ValidationError("y_true is empty; at least one customer is required", field="y_true")
    return y, s


def _check_bins(bins: Any) -> int:
    return int(check_scalar(bins, name="bins", low=1, integer=True))


def _tie_blocks(s: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
    """Order by descending score and group equal scores into blocks.

    Returns the sort order, each sorted element's block id and the block
    start positions.
    """
    order = np.argsort(-s, kind="stable")
    sorted_s = s[order]
    new_block = np.empty(s.size, dtype=bool)
    new_block[0] = True
    new_block[1:] = sorted_s[1:] != sorted_s[:-1]
    block_id = np.cumsum(new_block) - 1
    starts = np.flatnonzero(new_block)
    return order.astype(np.int64), block_id.astype(np.int64), starts.astype(np.int64)


def _bin_of(s: FloatArray, bins: int) -> tuple[IntArray, IntArray]:
    """Bin index (0 = best scores) per customer; tied scores share a bin."""
    n = s.size
    order, block_id, starts = _tie_blocks(s)
    ends = np.append(starts[1:], n)
    mid = (starts + ends - 1) / 2.0  # midpoint position of each tie block
    block_bin = np.minimum((mid * bins / n).astype(np.int64), bins - 1)
    sorted_bin = block_bin[block_id]
    out = np.empty(n, dtype=np.int64)
    out[order] = sorted_bin
    return out, order


def gains_table(y_true: ArrayLike, y_score: ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Gains table: churners reached per score bin, best scores first.

    Customers are sorted by descending score and cut into ``bins`` groups of
    (nearly) equal size: deciles by default. Customers with *equal* scores
    always fall in the same bin, the one holding the midpoint of their run,
    so the table never depends on input order; bins can then differ in size
    and a bin that receives no customer is left out.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Observed churn (``True`` or 1 = churned).
    y_score : array_like of float
        Churn score, higher = more likely to churn (any scale).
    bins : int, default 10
        Number of bins.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``bin`` (1 = highest scores), with columns

        ``n``
            customers in the bin;
        ``positives``
            churners in the bin;
        ``rate``
            ``positives / n``;
        ``lift``
            ``rate`` over the overall churn rate;
        ``cumulative_capture``
            share of all churners found in this and the better bins;
        ``min_score``, ``max_score``
            the score range of the bin.

    Raises
    ------
    ValidationError
        On labels that are not 0/1, non-finite scores, mismatched lengths,
        empty input, no churner at all (lift is undefined) or ``bins < 1``.

    Examples
    --------
    >>> from crmcore.churn import gains_table
    >>> y = [1, 1, 0, 1, 0, 0, 0, 0, 1, 0]
    >>> score = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    >>> gains_table(y, score, bins=5)[["n", "positives", "rate", "lift", "cumulative_capture"]]
         n  positives  rate  lift  cumulative_capture
    bin
    1    2          2   1.0   2.5                0.50
    2    2          1   0.5   1.25               0.75
    3    2          0   0.0   0.0                0.75
    4    2          0   0.0   0.0                0.75
    5    2          1   0.5   1.25               1.00
    """
    k = _check_bins(bins)
    y, s = _check_pair(y_true, y_score)
    total = y.sum()
    if total == 0:
        raise ValidationError("y_true has no churner (no 1); lift is undefined", field="y_true")
    b, _ = _bin_of(s, k)
    n = np.bincount(b, minlength=k)
    pos = np.bincount(b, weights=y, minlength=k)
    lo = np.full(k, np.inf)
    hi = np.full(k, -np.inf)
    np.minimum.at(lo, b, s)
    np.maximum.at(hi, b, s)
    keep = n > 0
    n, pos, lo, hi = n[keep], pos[keep], lo[keep], hi[keep]
    rate = pos / n
    return pd.DataFrame(
        {
            "n": n.astype(np.int64),
            "positives": pos.astype(np.int64),
            "rate": rate,
            "lift": rate / (total / y.size),
            "cumulative_capture": np.cumsum(pos) / total,
            "min_score": lo,
            "max_score": hi,
        },
        index=pd.Index(np.flatnonzero(keep) + 1, name="bin"),
    )


def lift_curve(y_true: ArrayLike, y_score: ArrayLike) -> pd.DataFrame:
    """Cumulative gains and lift at every score threshold (a tidy frame).

    Targeting every customer whose score is at least a threshold reaches
    ``fraction`` of the customers and ``capture`` of the churners; the
    ``lift`` is ``capture / fraction`` (1 for a random ranking). Tied
    scores enter together, so the curve has one row per distinct score,
    highest first, plus a starting row at ``fraction = 0``.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Observed churn.
    y_score : array_like of float
        Churn score, higher = riskier.

    Returns
    -------
    pandas.DataFrame
        Columns ``threshold`` (``inf`` on the starting row), ``fraction``,
        ``capture`` and ``lift``. Lift is undefined at ``fraction = 0``; the
        starting row repeats the lift of the first step, so the frame holds
        no NaN.

    Raises
    ------
    ValidationError
        As :func:`gains_table`.

    Examples
    --------
    >>> from crmcore.churn import lift_curve
    >>> lift_curve([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1])
       threshold  fraction  capture      lift
    0        inf      0.00      0.0  2.000000
    1        0.9      0.25      0.5  2.000000
    2        0.8      0.75      1.0  1.333333
    3        0.1      1.00      1.0  1.000000
    """
    y, s = _check_pair(y_true, y_score)
    total = y.sum()
    if total == 0:
        raise ValidationError("y_true has no churner (no 1); lift is undefined", field="y_true")
    order, _, starts = _tie_blocks(s)
    ends = np.append(starts[1:], s.size)
    cum_pos = np.cumsum(y[order])[ends - 1]
    fraction = ends / s.size
    capture = cum_pos / total
    lift = capture / fraction
    return pd.DataFrame(
        {
            "threshold": np.concatenate([[np.inf], s[order][starts]]),
            "fraction": np.concatenate([[0.0], fraction]),
            "capture": np.concatenate([[0.0], capture]),
            "lift": np.concatenate([[lift[0]], lift]),
        }
    )


def plot_lift_curve(curve: pd.DataFrame, *, ax: Any = None, label: str | None = None) -> Any:
    """Draw a cumulative gains curve from :func:`lift_curve` (needs matplotlib).

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`lift_curve`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's axes when omitted.
    label : str, optional
        Legend label of the curve.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ImportError
        If matplotlib (the ``plot`` extra) is not installed.
    """
    try:
        import matplotlib.pyplot as plt  # noqa: PLC0415 - optional dependency, imported lazily
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plot_lift_curve needs matplotlib: pip install 'crmcore[plot]'") from exc
    if ax is None:
        _, ax = plt.subplots()
    ax.plot(curve["fraction"], curve["capture"], drawstyle="default", label=label)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="random")
    ax.set_xlabel("share of customers targeted")
    ax.set_ylabel("share of churners reached")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend()
    return ax


def calibration_table(y_true: ArrayLike, y_prob: ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed churn rate in equal-width probability bins.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Observed churn.
    y_prob : array_like of float in [0, 1]
        Predicted churn probabilities.
    bins : int, default 10
        Number of equal-width bins on ``[0, 1]``; empty bins are left out.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``bin`` (1 = lowest probabilities) with columns
        ``bin_low``, ``bin_high`` (the bin's edges), ``n``,
        ``mean_predicted``, ``observed_rate``. Until crmcore 0.3.0 the edges'
        former names ``lower`` and ``upper`` still read, with a
        ``DeprecationWarning`` (they are not a confidence interval).

    Raises
    ------
    ValidationError
        On bad labels, probabilities outside ``[0, 1]`` or ``bins < 1``.

    Examples
    --------
    >>> from crmcore.churn import calibration_table
    >>> calibration_table([False, False, True, True], [0.1, 0.2, 0.7, 0.9], bins=2)
         bin_low  bin_high  n  mean_predicted  observed_rate
    bin
    1        0.0       0.5  2            0.15            0.0
    2        0.5       1.0  2            0.80            1.0
    """
    k = _check_bins(bins)
    y, p = _check_pair(y_true, y_prob)
    check_in_range(p, name="y_prob", low=0.0, high=1.0)
    b = np.minimum((p * k).astype(np.int64), k - 1)
    n = np.bincount(b, minlength=k)
    keep = n > 0
    sum_p = np.bincount(b, weights=p, minlength=k)[keep]
    sum_y = np.bincount(b, weights=y, minlength=k)[keep]
    edges = np.linspace(0.0, 1.0, k + 1)
    idx = np.flatnonzero(keep)
    table = pd.DataFrame(
        {
            "bin_low": edges[idx],
            "bin_high": edges[idx + 1],
            "n": n[keep].astype(np.int64),
            "mean_predicted": sum_p / n[keep],
            "observed_rate": sum_y / n[keep],
        },
        index=pd.Index(idx + 1, name="bin"),
    )
    return calibration_old_names(table)


def calibration_old_names(table: pd.DataFrame) -> pd.DataFrame:
    """Keep the bin edges' former names readable until 0.3.0."""
    return renamed_columns(
        table, {"lower": "bin_low", "upper": "bin_high"}, where="calibration_table()"
    )


def score_metrics(
    y_true: ArrayLike, y_score: ArrayLike, *, top: float = 0.1
) -> dict[str, float | int]:
    """Ranking and probability metrics of a churn score in one dictionary.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Observed churn; both classes must occur.
    y_score : array_like of float
        Churn score; the Brier score is computed only when every score lies
        in ``[0, 1]`` (otherwise it is reported as NaN and documented so).
    top : float, default 0.1
        Share of customers for ``lift_top`` / ``capture_top`` (top decile).

    Returns
    -------
    dict
        ``roc_auc``, ``pr_auc`` (average precision), ``brier`` (mean squared
        error of the probabilities), ``lift_top`` and ``capture_top`` (churn
        rate among the ``top`` highest scores over the base rate, and the
        share of churners they hold; tied scores at the cut enter
        proportionally, so input order never matters), ``base_rate`` (floats) and
        ``n``, the number of customers (an ``int``).

    Raises
    ------
    ValidationError
        On bad input, or when ``y_true`` holds a single class.

    Examples
    --------
    >>> from crmcore.churn import score_metrics
    >>> m = score_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], top=0.25)
    >>> round(m["roc_auc"], 3), m["lift_top"], m["capture_top"]
    (0.75, 2.0, 0.5)
    """
    y, s = _check_pair(y_true, y_score)
    share = check_scalar(top, name="top", low=0, high=1, low_inclusive=False)
    total = y.sum()
    if total in (0, y.size):
        raise ValidationError(
            "y_true holds a single class; ranking metrics need churners and stayers",
            field="y_true",
        )
    in_unit = bool(((s >= 0) & (s <= 1)).all())
    brier = float(np.mean((s - y) ** 2)) if in_unit else float("nan")
    capture = _capture_at(y, s, share)
    base = total / y.size
    return {
        "roc_auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "brier": brier,
        "lift_top": float(capture / share),
        "capture_top": float(capture),
        "base_rate": float(base),
        "n": int(y.size),
    }


def _capture_at(y: FloatArray, s: FloatArray, share: float) -> float:
    """Share of positives among the top ``share`` scores, ties split evenly."""
    n = s.size
    cut = share * n
    order, _, starts = _tie_blocks(s)
    ends = np.append(starts[1:], n)
    block_pos = np.add.reduceat(y[order], starts)
    block_n = ends - starts
    taken = np.clip(cut - starts, 0, block_n)  # how many of each block are targeted
    return float(np.sum(block_pos * taken / block_n) / y.sum())
