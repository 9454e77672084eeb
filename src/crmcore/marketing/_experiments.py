"""A/B tests: difference of conversion rates or mean revenue, and sample sizes.

Tests used
----------
- **Conversion rates** (``metric="proportion"``): the difference
  ``p_variant - p_control`` with Newcombe's (1998) hybrid score interval
  (method 10), and the two-sided p-value of the pooled two-proportion z-test
  (the same as Pearson's chi-square test of the 2 x 2 table without a
  continuity correction).
- **Means** (``metric="mean"``, e.g. revenue per member): Welch's t-test,
  unequal variances, Welch–Satterthwaite degrees of freedom, with the t
  interval for the difference.

Sample sizes
------------
- proportions, ``method="pooled"``: the normal-approximation formula of
  Fleiss, Levin and Paik, *Statistical Methods for Rates and Proportions*
  (3rd ed., 2003, eq. 4.14, without continuity correction), for unequal
  group sizes ``n_variant = ratio * n_control``;
- proportions, ``method="arcsine"``: Cohen's effect size
  ``h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1))`` and
  ``n = (z_a + z_b)^2 (1 + 1/ratio) / h^2`` (Cohen, *Statistical Power
  Analysis for the Behavioral Sciences*, 2nd ed., 1988, ch. 6);
- means: the smallest ``n`` whose power, computed exactly from the
  noncentral t distribution of the two-sample t-test, reaches ``power``
  (Cohen 1988, ch. 2).
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import pandas as pd
from scipy import stats

from crmcore._deprecation import renamed_arguments, warn_renamed
from crmcore._stats import check_confidence, newcombe_interval, z_value
from crmcore._validation import check_columns, check_scalar, first_bad
from crmcore.errors import ValidationError
from crmcore.marketing._incremental import welch_interval

__all__ = ["SampleSize", "ab_test", "sample_size"]


def _group_labels(values: pd.Series, control: Any) -> tuple[np.ndarray[Any, Any], pd.Index]:
    """Codes with the control group as 0, the variants (sorted) after it."""
    missing = values.isna().to_numpy(dtype=bool)
    if control is None:
        if not missing.any():
            raise ValidationError(
                "control=None takes the rows without a group as the control group, but "
                "every row has one: name the control group, e.g. control='A'",
                field="control",
            )
        is_control = missing
    else:
        is_control = (values == control).to_numpy(dtype=bool) & ~missing
        if not is_control.any():
            seen = ", ".join(map(repr, pd.unique(values.dropna())[:10]))
            raise ValidationError(
                f"no row has the control group {control!r}; groups: {seen}",
                field="control",
                value=control,
            )
    rest = ~is_control & ~missing
    codes, variants = pd.factorize(values[rest], sort=True)
    out = np.full(values.size, -1, dtype=np.int64)
    out[is_control] = 0
    out[rest] = np.asarray(codes) + 1
    return out, pd.Index(variants)


@renamed_arguments(group_col="variant_col")
def ab_test(
    outcomes: pd.DataFrame,
    *,
    variant_col: str = "variant",
    value_col: str = "converted",
    control: Any = None,
    metric: str = "proportion",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare each variant with the control group: difference, interval, p-value.

    Parameters
    ----------
    outcomes : DataFrame
        One row per experimental unit (member): its group and its outcome.
    variant_col : str, default "variant"
        The column naming each unit's variant, as in :func:`campaign_kpis`
        (``group_col`` before 0.2, deprecated).
    value_col : str, default "converted"
        The outcome: 0/1 or bool for ``"proportion"``, a number for ``"mean"``.
    control : optional
        The control group's label. ``None``: the rows whose group is missing
        (campaign members without a variant are the control group).
    metric : {"proportion", "mean"}, default "proportion"
        Conversion rate or mean value.
    confidence : float, default 0.95
        Level of the intervals.

    Returns
    -------
    DataFrame
        One row per variant (index: the variant label): ``n``, ``control_n``,
        ``value`` (rate or mean), ``control_value``, ``difference`` (variant
        minus control), ``ci_low``, ``ci_high``, ``relative_lift``
        (difference / control value), ``p_value`` (two-sided) and ``test``.

    Notes
    -----
    Proportions: Newcombe's hybrid score interval and the pooled z-test;
    means: Welch's t-test (the module docstring gives the references). The
    p-values are not adjusted for several variants.

    Raises
    ------
    ValidationError
        A missing column or control group, an outcome that is not 0/1 for a
        proportion or not finite for a mean, an unknown metric.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame(
    ...     {
    ...         "variant": ["A"] * 200 + ["B"] * 200,
    ...         "converted": [1] * 20 + [0] * 180 + [1] * 36 + [0] * 164,
    ...     }
    ... )
    >>> r = ab_test(data, control="A")
    >>> r[["n", "value", "control_value", "difference"]]
             n  value  control_value  difference
    variant
    B      200   0.18            0.1        0.08
    >>> round(float(r["p_value"].iloc[0]), 4)
    0.0211
    """
    if metric not in ("proportion", "mean"):
        raise ValidationError(
            f"metric must be 'proportion' or 'mean'; got {metric!r}", field="metric"
        )
    conf = check_confidence(confidence)
    check_columns(outcomes, [variant_col, value_col], name="outcomes")
    raw = outcomes[value_col]
    values = raw.to_numpy()
    if values.dtype == bool:
        y = values.astype(np.float64)
    else:
        if not (values.dtype.kind in "iuf" or values.dtype == object):
            raise ValidationError(
                f"{value_col} must be numeric; got {values.dtype}", field=value_col
            )
        y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        first_bad(
            ~np.isfinite(y),
            name=value_col,
            problem="must be a finite number",
            values=np.asarray(values, dtype=object),
            index=outcomes.index,
        )
    if metric == "proportion":
        first_bad(
            (y != 0) & (y != 1),
            name=value_col,
            problem="must be 0 or 1 (converted or not) for metric='proportion'",
            values=np.asarray(values, dtype=object),
            index=outcomes.index,
        )
    codes, variants = _group_labels(outcomes[variant_col], control)
    k = len(variants) + 1
    used = codes >= 0
    n = np.bincount(codes[used], minlength=k).astype(np.float64)
    s1 = np.bincount(codes[used], weights=y[used], minlength=k).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
    n_t, n_c = n[1:], np.full(k - 1, n[0])
    m_t, m_c = mean[1:], np.full(k - 1, mean[0])
    if metric == "proportion":
        low, high = newcombe_interval(s1[1:], n_t, np.full(k - 1, s1[0]), n_c, z_value(conf))
        pooled = (s1[1:] + s1[0]) / (n_t + n_c)
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
            zstat = (m_t - m_c) / se
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(zstat)), np.where(m_t == m_c, 1.0, 0.0))
        diff = m_t - m_c
        test = "Newcombe hybrid score interval; pooled two-proportion z-test"
    else:
        dev = y[used] - mean[codes[used]]
        s2 = np.bincount(codes[used], weights=dev * dev, minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(n > 1, s2 / (n - 1), np.nan)
        diff, low, high, p = welch_interval(
            m_t, var[1:], n_t, m_c, np.full(k - 1, var[0]), n_c, conf
        )
        test = "Welch t-test (unequal variances)"
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = np.where(m_c != 0, diff / m_c, np.nan)
    return pd.DataFrame(
        {
            "n": n_t.astype(np.int64),
            "control_n": n_c.astype(np.int64),
            "value": m_t,
            "control_value": m_c,
            "difference": diff,
            "ci_low": low,
            "ci_high": high,
            "relative_lift": lift,
            "p_value": p,
            "test": test,
        },
        index=pd.Index(variants, name=variant_col),
    )


@attrs.frozen(kw_only=True)
class SampleSize:
    """The result of :func:`sample_size`.

    Attributes
    ----------
    n_control, n_variant : int
        Units needed in the control group and in each variant (rounded up).
    total : int
        ``n_control + n_variant``.
    n_exact : float
        The control size before rounding up.
    method : str
        The formula used.
    """

    n_control: int
    n_variant: int
    total: int
    n_exact: float
    method: str


def sample_size(
    baseline: float,
    mde: float,
    *,
    metric: str = "proportion",
    relative: bool = False,
    sd: float | None = None,
    confidence: float = 0.95,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: str = "two-sided",
    method: str = "pooled",
    alpha: float | None = None,
) -> SampleSize:
    """Units per group to detect a minimum effect with a two-group test.

    Parameters
    ----------
    baseline : float
        The control conversion rate (in (0, 1)) or the control mean.
    mde : float
        Minimum detectable effect: an absolute difference (``0.01`` = one
        percentage point), or relative to ``baseline`` with
        ``relative=True`` (``0.1`` = +10 %).
    metric : {"proportion", "mean"}, default "proportion"
        Conversion rates or means.
    relative : bool, default False
        Read ``mde`` as a share of ``baseline``.
    sd : float, optional
        Standard deviation of the outcome in each group (required for means).
    confidence : float, default 0.95
        The test's confidence level, as in :func:`ab_test`: its significance
        level is ``1 - confidence``.
    power : float, default 0.8
        Probability of detecting the effect.
    ratio : float, default 1.0
        ``n_variant / n_control``.
    alternative : {"two-sided", "one-sided"}, default "two-sided"
        The test's alternative.
    method : {"pooled", "arcsine"}, default "pooled"
        Proportions only: Fleiss' formula or Cohen's arcsine effect size.
    alpha : float, optional
        Deprecated: the significance level; give ``confidence=1 - alpha``
        instead (``alpha=0.05`` is ``confidence=0.95``).

    Returns
    -------
    SampleSize

    Notes
    -----
    Formulas and references are in the module docstring. For means the
    answer is exact for the equal-variance t-test (Cohen 1988, Table 2.4.1:
    64 per group for ``d = 0.5``, 26 for ``d = 0.8`` at alpha 0.05 two-sided
    and power 0.8).

    Raises
    ------
    ValidationError
        Out-of-range arguments (a rate outside (0, 1), a zero effect, a
        variant rate outside (0, 1), no ``sd`` for means).

    Examples
    --------
    >>> sample_size(0.10, 0.02).n_control  # 10 % -> 12 %, two-sided 5 %, power 80 %
    3841
    >>> sample_size(100.0, 5.0, metric="mean", sd=10.0).n_control  # d = 0.5
    64
    """
    if metric not in ("proportion", "mean"):
        raise ValidationError(
            f"metric must be 'proportion' or 'mean'; got {metric!r}", field="metric"
        )
    if alternative not in ("two-sided", "one-sided"):
        raise ValidationError(
            f"alternative must be 'two-sided' or 'one-sided'; got {alternative!r}",
            field="alternative",
        )
    if alpha is not None:
        warn_renamed("sample_size()", "alpha=", "confidence=1 - alpha")
        alpha = check_scalar(
            alpha, name="alpha", low=0, high=1, low_inclusive=False, high_inclusive=False
        )
        confidence = 1.0 - alpha
    a = 1.0 - check_confidence(confidence)
    b = check_scalar(power, name="power", low=0, high=1, low_inclusive=False, high_inclusive=False)
    k = check_scalar(ratio, name="ratio", low=0, low_inclusive=False)
    base = check_scalar(baseline, name="baseline")
    effect = check_scalar(mde, name="mde")
    if relative:
        effect *= base
    if effect == 0:
        raise ValidationError("mde must not be zero", field="mde", value=mde)
    tail = a / 2 if alternative == "two-sided" else a
    z_a, z_b = float(stats.norm.isf(tail)), float(stats.norm.ppf(b))
    if metric == "mean":
        if sd is None:
            raise ValidationError("sd is required for metric='mean'", field="sd")
        s = check_scalar(sd, name="sd", low=0, low_inclusive=False)
        n_exact = _t_test_size(abs(effect) / s, tail, b, k, two_sided=alternative == "two-sided")
        used = "exact two-sample t-test power (noncentral t)"
    else:
        p1 = check_scalar(
            base, name="baseline", low=0, high=1, low_inclusive=False, high_inclusive=False
        )
        p2 = p1 + effect
        if not 0 < p2 < 1:
            raise ValidationError(
                f"baseline + mde = {p2:g} must lie in (0, 1)", field="mde", value=mde
            )
        if method == "pooled":
            pbar = (p1 + k * p2) / (1 + k)
            n_exact = (
                z_a * math.sqrt(pbar * (1 - pbar) * (1 + 1 / k))
                + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k)
            ) ** 2 / effect**2
            used = "pooled normal approximation (Fleiss, Levin & Paik 2003, eq. 4.14)"
        elif method == "arcsine":
            h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
            n_exact = (z_a + z_b) ** 2 * (1 + 1 / k) / h**2
            used = "arcsine effect size h (Cohen 1988, ch. 6)"
        else:
            raise ValidationError(
                f"method must be 'pooled' or 'arcsine'; got {method!r}", field="method"
            )
    n_c = math.ceil(n_exact - 1e-9)
    n_v = math.ceil(k * n_exact - 1e-9)
    return SampleSize(n_control=n_c, n_variant=n_v, total=n_c + n_v, n_exact=n_exact, method=used)


def _t_test_size(d: float, tail: float, power: float, ratio: float, *, two_sided: bool) -> float:
    """Smallest control size whose exact t-test power reaches ``power`` (whole units)."""

    def achieved(n_c: int) -> float:
        n_v = ratio * n_c
        df = n_c + n_v - 2
        nc = d / math.sqrt(1 / n_c + 1 / n_v)
        crit = stats.t.isf(tail, df)
        lower = float(stats.nct.cdf(-crit, df, nc)) if two_sided else 0.0
        return float(stats.nct.sf(crit, df, nc)) + lower

    z = stats.norm.isf(tail) + stats.norm.ppf(power)
    n = max(2, math.floor(z**2 * (1 + 1 / ratio) / d**2))
    while n > 2 and achieved(n - 1) >= power:
        n -= 1
    while achieved(n) < power:
        n += 1
    return float(n)
