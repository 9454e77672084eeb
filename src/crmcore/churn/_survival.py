r"""Kaplan–Meier survival curves with Greenwood variance and a log(−log) band.

The product-limit estimator (Kaplan and Meier, 1958) at the distinct event
times :math:`t_1 < t_2 < \dots` is

.. math:: \hat S(t) = \prod_{t_j \le t} \left(1 - \frac{d_j}{n_j}\right),

with :math:`d_j` events among the :math:`n_j` subjects at risk just before
:math:`t_j`. Greenwood's (1926) formula estimates its variance,

.. math:: \widehat{\operatorname{Var}}\,\hat S(t) = \hat S(t)^2
   \sum_{t_j \le t} \frac{d_j}{n_j (n_j - d_j)},

and the confidence band is built on the log(−log) scale (Kalbfleisch and
Prentice, 1980), which keeps it inside ``[0, 1]``:

.. math:: \hat S(t)^{\exp(\pm z\, \sigma(t))}, \qquad
   \sigma(t) = \frac{\sqrt{\sum_{t_j \le t} d_j / (n_j (n_j - d_j))}}
   {\lvert \log \hat S(t) \rvert}.

Everything is vectorised: one sort, ``np.unique`` and ``np.bincount`` for the
counts, cumulative sums for the risk sets and the products.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from crmcore._deprecation import renamed_columns
from crmcore._types import ArrayLike, FloatArray
from crmcore._validation import (
    as_binary_array,
    as_float_array,
    check_nonnegative,
    check_scalar,
    check_weights,
    first_bad,
)
from crmcore.errors import ValidationError

__all__ = ["KM_COLUMNS", "kaplan_meier", "with_old_band_names"]

KM_COLUMNS = ("at_risk", "events", "survival", "ci_low", "ci_high")
_OLD_NAMES = {"lower": "ci_low", "upper": "ci_high"}  # renamed in 0.2.0, readable until 0.3.0


def _as_observed(observed: ArrayLike, n: int) -> FloatArray:
    """Validate an event indicator: booleans or 0/1 numbers."""
    out = as_binary_array(observed, name="observed", meaning="1 = event seen, 0 = censored")
    if out.shape[0] != n:
        raise ValidationError(
            f"observed must have one entry per duration ({n}); got shape {out.shape}",
            field="observed",
        )
    return out


def _km_arrays(
    durations: FloatArray, events: FloatArray, weights: FloatArray, z: float
) -> dict[str, FloatArray]:
    """Compute the table for one group (inputs already validated)."""
    times, inverse = np.unique(durations, return_inverse=True)
    w_all = np.bincount(inverse, weights=weights, minlength=times.size)
    w_evt = np.bincount(inverse, weights=weights * events, minlength=times.size)
    # at risk just before t_j: everyone with duration >= t_j
    at_risk = np.cumsum(w_all[::-1])[::-1]
    keep = w_evt > 0
    n = at_risk[keep]
    d = w_evt[keep]
    factor = 1.0 - d / n
    survival = np.cumprod(factor)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n > d, d / (n * (n - d)), np.inf)
        greenwood = np.cumsum(term)
        log_s = np.log(survival)
        sigma = np.sqrt(greenwood) / np.abs(log_s)
        ci_low = survival ** np.exp(z * sigma)
        ci_high = survival ** np.exp(-z * sigma)
    # Once the curve reaches 0 the band collapses onto it (nobody is left to
    # estimate a spread from); S is never 1 at an event time.
    dead = survival <= 0.0
    ci_low[dead] = 0.0
    ci_high[dead] = 0.0
    return {
        "time": times[keep],
        "at_risk": n,
        "events": d,
        "survival": survival,
        "ci_low": ci_low,
        "ci_high": ci_high,
    }


def kaplan_meier(
    durations: ArrayLike,
    observed: ArrayLike | None = None,
    *,
    confidence: float = 0.95,
    by: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> pd.DataFrame:
    r"""Kaplan–Meier estimate of the survival function with a Greenwood band.

    Parameters
    ----------
    durations : array_like of float
        Time from the start of each subject's follow-up to its event or
        censoring, ``>= 0``, in any unit (days, weeks, months).
    observed : array_like of bool or 0/1, optional
        1 (``True``) where the event was seen, 0 where the subject was
        censored (still alive at its duration). ``None``: every event seen.
    confidence : float, default 0.95
        Two-sided level of the pointwise confidence band, in ``(0, 1)``.
    by : array_like, optional
        One group label per subject; a separate curve is estimated for each
        group and the result is indexed by ``(group, time)``.
    weights : array_like, optional
        Whole-number count of identical subjects each row stands for
        (collapsed data); ``None`` means one each. A row with weight *k*
        gives the same table as *k* copies of it.

    Returns
    -------
    pandas.DataFrame
        One row per distinct time with at least one event (per group when
        ``by`` is given), indexed by ``time`` (or ``(group, time)``), with
        columns

        ``at_risk``
            subjects (summed weights) whose duration is ``>= time``;
        ``events``
            events at ``time``;
        ``survival``
            :math:`\hat S(t)`, the estimated probability of surviving
            *beyond* ``time``;
        ``ci_low``, ``ci_high``
            the pointwise ``confidence`` band, Greenwood's variance on the
            log(−log) scale (Kalbfleisch and Prentice, 1980). Where the
            curve has dropped to 0 the band is ``[0, 0]``.

        A group without events has no rows. Censored-only times do not
        appear: the curve is flat between event times. Until crmcore 0.3.0
        the band's former names ``lower`` and ``upper`` still read
        (``km["lower"]``) with a ``DeprecationWarning``.

    Raises
    ------
    ValidationError
        On negative, non-finite or mismatched durations, an ``observed`` that
        is not 0/1, a confidence outside ``(0, 1)``, bad weights, or empty
        input.

    Notes
    -----
    Greenwood's formula (Greenwood, 1926) is the standard variance estimate
    of the product-limit estimator (Kaplan and Meier, 1958). The log(−log)
    transformed band is preferred to the plain ``S ± z·se`` band, which
    leaves ``[0, 1]`` in the tails and covers poorly in small samples
    (Collett, *Modelling Survival Data in Medical Research*, 3rd ed., 2015,
    §2.2.3); it is the default of Stata's ``sts`` and SAS's ``LIFETEST``.
    R's ``survfit`` defaults to a log band instead, so its limits differ.

    References
    ----------
    Kaplan, E. L. and Meier, P. (1958). Nonparametric estimation from
    incomplete observations. *JASA* 53, 457–481.

    Greenwood, M. (1926). The natural duration of cancer. *Reports on Public
    Health and Medical Subjects* 33, 1–26.

    Kalbfleisch, J. D. and Prentice, R. L. (1980). *The Statistical Analysis
    of Failure Time Data*. Wiley.

    Examples
    --------
    Remission times (weeks) of the 6-MP arm of Freireich et al. (1963);
    0 marks patients still in remission:

    >>> from crmcore.churn import kaplan_meier
    >>> weeks = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    >>> relapse = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    >>> km = kaplan_meier(weeks, relapse)
    >>> km.round(3).head(3)
          at_risk  events  survival  ci_low  ci_high
    time
    6.0      21.0     3.0     0.857   0.620    0.952
    7.0      17.0     1.0     0.807   0.563    0.923
    10.0     15.0     1.0     0.753   0.503    0.889
    """
    conf = check_scalar(
        confidence,
        name="confidence",
        low=0,
        high=1,
        low_inclusive=False,
        high_inclusive=False,
    )
    z = float(stats.norm.ppf(0.5 + conf / 2.0))
    t = as_float_array(durations, name="durations")
    check_nonnegative(t, name="durations")
    n = t.shape[0]
    if n == 0:
        raise ValidationError(
            "durations is empty; at least one subject is required", field="durations"
        )
    e = np.ones(n) if observed is None else _as_observed(observed, n)
    w = check_weights(weights, n)

    if by is None:
        table = _km_arrays(t, e, w, z)
        return with_old_band_names(
            pd.DataFrame(
                {c: table[c] for c in KM_COLUMNS}, index=pd.Index(table["time"], name="time")
            )
        )

    groups = pd.Series(np.asarray(by, dtype=object)) if not isinstance(by, pd.Series) else by
    if len(groups) != n:
        raise ValidationError(
            f"by must have one label per duration ({n}); got {len(groups)}", field="by"
        )
    codes, uniques = pd.factorize(groups, sort=True, use_na_sentinel=True)
    first_bad(
        codes < 0,
        name="by",
        problem="must not be missing",
        values=np.asarray(groups, dtype=object),
    )
    parts: list[pd.DataFrame] = []
    for g, label in enumerate(uniques):
        mask = codes == g
        table = _km_arrays(t[mask], e[mask], w[mask], z)
        part = pd.DataFrame({c: table[c] for c in KM_COLUMNS})
        part.index = pd.MultiIndex.from_arrays(
            [np.repeat(np.asarray([label], dtype=object), table["time"].size), table["time"]],
            names=[_group_name(by), "time"],
        )
        parts.append(part)
    return with_old_band_names(pd.concat(parts) if parts else _empty_grouped(by))


def with_old_band_names(table: pd.DataFrame, where: str = "kaplan_meier()") -> pd.DataFrame:
    """Keep the band's former column names readable until 0.3.0."""
    return renamed_columns(table, _OLD_NAMES, where=where)


def _group_name(by: Any) -> str:
    name = getattr(by, "name", None)
    return str(name) if name is not None else "group"


def _empty_grouped(by: Any) -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([[], []], names=[_group_name(by), "time"])
    return pd.DataFrame({c: np.empty(0) for c in KM_COLUMNS}, index=index)
