"""Interval arithmetic shared by the subpackages that report rates.

One Wilson interval for the whole library (loyalty's retention and CSAT
shares, marketing's campaign rates), and the difference-of-proportions
interval built on it.

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and
statistical inference. *JASA* 22(158), 209–212 (score interval for a share).

Newcombe, R. G. (1998). Interval estimation for the difference between
independent proportions: comparison of eleven methods. *Statistics in
Medicine* 17(8), 873–890 (method 10, the hybrid score interval).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from crmcore._types import FloatArray
from crmcore._validation import check_scalar

__all__ = ["check_confidence", "newcombe_interval", "wilson_interval", "z_value"]


def check_confidence(confidence: object) -> float:
    """Validate a confidence level in the open interval (0, 1)."""
    return check_scalar(
        confidence,
        name="confidence",
        low=0,
        high=1,
        low_inclusive=False,
        high_inclusive=False,
    )


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for ``confidence``."""
    return float(special.ndtri(0.5 + confidence / 2.0))


def wilson_interval(
    successes: FloatArray, n: FloatArray, z: float
) -> tuple[FloatArray, FloatArray]:
    """Wilson (1927) score interval for binomial proportions (vectorised).

    ``n == 0`` gives the uninformative ``[0, 1]``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    # Exact at the edges: no successes -> lower bound 0, all successes -> upper 1
    # (the formula gives this up to rounding, e.g. 3e-15).
    low = np.where(successes == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(successes == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def newcombe_interval(
    successes_a: FloatArray, n_a: FloatArray, successes_b: FloatArray, n_b: FloatArray, z: float
) -> tuple[FloatArray, FloatArray]:
    """Hybrid score interval for ``p_a - p_b`` (Newcombe 1998, method 10; vectorised).

    Each proportion gets its Wilson interval ``[l, u]``; the difference
    ``d = p_a - p_b`` then has the interval
    ``[d - sqrt((p_a - l_a)^2 + (u_b - p_b)^2), d + sqrt((u_a - p_a)^2 + (p_b - l_b)^2)]``.
    Unlike the Wald interval it never leaves [-1, 1] and keeps close to
    nominal coverage with small counts or rates near 0 and 1. NaN where
    either sample is empty.
    """
    la, ua = wilson_interval(successes_a, n_a, z)
    lb, ub = wilson_interval(successes_b, n_b, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        pa = successes_a / n_a
        pb = successes_b / n_b
        d = pa - pb
        low = d - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
        high = d + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    return low, high
