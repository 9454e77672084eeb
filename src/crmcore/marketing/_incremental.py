"""Incrementality: treated against control members, with intervals.

Intention-to-treat: every member of an arm counts, sent or not, and a
control member who was sent something anyway stays in the control arm.

- Difference of conversion rates: Newcombe's (1998) hybrid score interval
  (:func:`crmcore._stats.newcombe_interval`).
- Difference of mean revenue (and margin) per member: Welch's interval, a t
  quantile with Welch–Satterthwaite degrees of freedom.

Totals ("incremental conversions", "incremental revenue") are the
differences times the number of treated members, with the interval scaled
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from crmcore._stats import newcombe_interval, z_value
from crmcore._types import BoolArray, FloatArray, IntArray

__all__ = ["ArmStats", "arm_stats", "incremental_columns", "welch_interval"]


@dataclass(frozen=True, slots=True)
class ArmStats:
    """Per-key sufficient statistics of one arm."""

    n: FloatArray
    converters: FloatArray
    revenue_mean: FloatArray
    revenue_var: FloatArray
    margin_mean: FloatArray
    margin_var: FloatArray

    def take(self, index: IntArray) -> ArmStats:
        """Return the statistics at ``index`` (-1: an empty arm)."""
        ok = index >= 0
        safe = np.where(ok, index, 0)

        def pick(a: FloatArray, empty: float) -> FloatArray:
            return np.where(ok, a[safe], empty)

        return ArmStats(
            pick(self.n, 0.0),
            pick(self.converters, 0.0),
            pick(self.revenue_mean, np.nan),
            pick(self.revenue_var, np.nan),
            pick(self.margin_mean, np.nan),
            pick(self.margin_var, np.nan),
        )


def _mean_var(
    key: IntArray, n_keys: int, values: FloatArray, n: FloatArray
) -> tuple[FloatArray, FloatArray]:
    s1 = np.bincount(key, weights=values, minlength=n_keys)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s1 / n, np.nan)
    # second pass around the mean: no cancellation from a sum of squares
    dev = values - mean[key]
    s2 = np.bincount(key, weights=dev * dev, minlength=n_keys)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, s2 / (n - 1), np.nan)
    return mean, var


def arm_stats(  # noqa: PLR0917 - one array per member column
    key: IntArray,
    n_keys: int,
    arm: BoolArray,
    converted: BoolArray,
    revenue: FloatArray,
    margin: FloatArray,
) -> ArmStats:
    """Statistics of the members in ``arm``, per key."""
    k = key[arm]
    n = np.bincount(k, minlength=n_keys).astype(np.float64)
    conv = np.bincount(k[converted[arm]], minlength=n_keys).astype(np.float64)
    rev_mean, rev_var = _mean_var(k, n_keys, revenue[arm], n)
    mar_mean, mar_var = _mean_var(k, n_keys, margin[arm], n)
    return ArmStats(n, conv, rev_mean, rev_var, mar_mean, mar_var)


def welch_interval(  # noqa: PLR0917 - the two samples' statistics, in order
    mean_a: FloatArray,
    var_a: FloatArray,
    n_a: FloatArray,
    mean_b: FloatArray,
    var_b: FloatArray,
    n_b: FloatArray,
    confidence: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Welch's difference ``a - b``: (difference, low, high, two-sided p-value).

    NaN where an arm has fewer than two members.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        va, vb = var_a / n_a, var_b / n_b
        se = np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
        diff = mean_a - mean_b
        valid = np.isfinite(df) & (df > 0) & (se > 0)
        dfv = np.where(valid, df, 1.0)
        q = stats.t.ppf(0.5 + confidence / 2.0, dfv)
        half = np.where(valid, q * se, np.where(se == 0, 0.0, np.nan))
        p = np.where(valid, 2.0 * stats.t.sf(np.abs(diff) / np.where(valid, se, 1.0), dfv), np.nan)
        p = np.where(se == 0, np.where(diff == 0, 1.0, 0.0), p)
    ok = (n_a > 1) & (n_b > 1)
    nan = np.full(diff.shape, np.nan)
    return (
        np.where(ok, diff, nan),
        np.where(ok, diff - half, nan),
        np.where(ok, diff + half, nan),
        np.where(ok, p, nan),
    )


def incremental_columns(
    t: ArmStats, c: ArmStats, cost: FloatArray, confidence: float
) -> dict[str, FloatArray]:
    """Compute the incrementality columns of :func:`campaign_kpis`, one value per row."""
    z = z_value(confidence)
    ok = (t.n > 0) & (c.n > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_t = np.where(t.n > 0, t.converters / t.n, np.nan)
        p_c = np.where(c.n > 0, c.converters / c.n, np.nan)
        low, high = newcombe_interval(t.converters, t.n, c.converters, c.n, z)
    diff = np.where(ok, p_t - p_c, np.nan)
    low, high = np.where(ok, low, np.nan), np.where(ok, high, np.nan)
    out: dict[str, FloatArray] = {
        "treatment_conversion_rate": p_t,
        "control_conversion_rate": p_c,
        "incremental_conversion_rate": diff,
        "incremental_conversion_rate_ci_low": low,
        "incremental_conversion_rate_ci_high": high,
        "incremental_conversions": diff * t.n,
        "incremental_conversions_ci_low": low * t.n,
        "incremental_conversions_ci_high": high * t.n,
        "treatment_revenue_per_member": t.revenue_mean,
        "control_revenue_per_member": c.revenue_mean,
    }
    for name, (mt, vt, mc, vc) in {
        "revenue": (t.revenue_mean, t.revenue_var, c.revenue_mean, c.revenue_var),
        "margin": (t.margin_mean, t.margin_var, c.margin_mean, c.margin_var),
    }.items():
        d, lo, hi, _ = welch_interval(mt, vt, t.n, mc, vc, c.n, confidence)
        out[f"incremental_{name}"] = d * t.n
        out[f"incremental_{name}_ci_low"] = lo * t.n
        out[f"incremental_{name}_ci_high"] = hi * t.n
    with np.errstate(invalid="ignore", divide="ignore"):
        out["incremental_romi"] = np.where(
            cost > 0, (out["incremental_margin"] - cost) / np.where(cost > 0, cost, 1), np.nan
        )
    return out
