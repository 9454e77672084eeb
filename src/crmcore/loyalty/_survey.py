"""Net Promoter Score, CSAT and CES with confidence intervals.

References
----------
Reichheld, F. F. (2003). The one number you need to grow. *Harvard Business
Review* 81(12): NPS = % promoters (9–10) − % detractors (0–6).

Rocks, B. (2016). Interval estimation for the "net promoter score". *The
American Statistician* 70(4), 365–372: the variance of the NPS is the
multinomial variance of ``p_P - p_D``, ``[p_P + p_D - (p_P - p_D)^2] / n``,
and an adjusted-Wald interval (3/4 of a pseudo-response added to promoters and
to detractors, 3 to ``n``) has coverage close to nominal even for small ``n``.

Wilson, E. B. (1927). Probable inference, the law of succession, and
statistical inference. *JASA* 22(158), 209–212 (score interval for a share).

Agresti, A. & Caffo, B. (2000). Simple and effective confidence intervals for
proportions and differences of proportions result from adding two successes
and two failures. *The American Statistician* 54(4), 280–288.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from crmcore._types import ArrayLike, FloatArray
from crmcore.errors import ValidationError
from crmcore.loyalty._results import CESResult, ComparisonResult, CSATResult, NPSResult
from crmcore.loyalty._scores import (
    as_scores,
    check_confidence,
    check_int_param,
    wilson_interval,
    z_value,
)

__all__ = ["ces", "compare_csat", "compare_nps", "csat", "nps"]

#: Pseudo-responses added to promoters and to detractors by the adjusted-Wald
#: interval (Rocks 2016); passives receive twice as much, ``n`` gets 3.
_ADJ = 0.75


def nps_counts(scores: ArrayLike, *, name: str = "scores") -> tuple[int, int, int]:
    """Validate 0–10 answers and return (promoters, passives, detractors)."""
    arr = as_scores(scores, name=name, low=0, high=10)
    counts = np.bincount(arr, minlength=11)
    return int(counts[9:].sum()), int(counts[7:9].sum()), int(counts[:7].sum())


def nps_arrays(
    promoters: FloatArray, passives: FloatArray, detractors: FloatArray, z: float
) -> dict[str, FloatArray]:
    """NPS, standard error, margin of error and adjusted-Wald interval (vectorised).

    Inputs are counts (``n = promoters + passives + detractors`` must be > 0
    for a finite score); outputs are in NPS points.
    """
    n = promoters + passives + detractors
    with np.errstate(invalid="ignore", divide="ignore"):
        p_p = promoters / n
        p_d = detractors / n
        score = p_p - p_d
        se = np.sqrt(np.maximum(p_p + p_d - score * score, 0.0) / n)
    n_adj = n + 4.0 * _ADJ
    pa_p = (promoters + _ADJ) / n_adj
    pa_d = (detractors + _ADJ) / n_adj
    adj = pa_p - pa_d
    se_adj = np.sqrt((pa_p + pa_d - adj * adj) / n_adj)
    return {
        "nps": 100.0 * score,
        "standard_error": 100.0 * se,
        "margin_of_error": 100.0 * z * se,
        "ci_low": 100.0 * np.clip(adj - z * se_adj, -1.0, 1.0),
        "ci_high": 100.0 * np.clip(adj + z * se_adj, -1.0, 1.0),
    }


def nps(scores: ArrayLike, *, confidence: float = 0.95) -> NPSResult:
    """Net Promoter Score with its standard error and a small-sample-safe interval.

    Promoters answer 9 or 10, passives 7 or 8, detractors 0 to 6; the NPS is
    ``100 * (p_P - p_D)``. Its variance is the multinomial variance of the
    difference of two shares of one sample (Rocks 2016, eq. 1)::

        Var = [p_P + p_D - (p_P - p_D) ^ 2] / n

    ``margin_of_error`` is ``z * sqrt(Var)``. The reported interval is the
    adjusted-Wald interval recommended by Rocks (2016): the same formula
    applied after adding 3/4 of a response to the promoters and to the
    detractors (3/2 to the passives, so 3 to ``n``), clipped to
    ``[-100, 100]``. It keeps close to nominal coverage for small samples
    and extreme scores, where ``score ± margin_of_error`` does not (a
    sample of 10 promoters has a Wald margin of 0). The score itself is
    always the raw NPS.

    Parameters
    ----------
    scores : array_like of int
        Likelihood-to-recommend answers, whole numbers 0–10.
    confidence : float, default 0.95
        Confidence level of the interval, in (0, 1).

    Returns
    -------
    NPSResult
        Score, counts, shares, standard error, margin of error, interval.

    Raises
    ------
    ValidationError
        If ``scores`` is empty or holds anything but whole numbers 0–10
        (the message names the first bad value and its position).

    Examples
    --------
    >>> r = nps([10, 9, 9, 8, 7, 6, 3, 10, 10, 2])
    >>> r.score, r.promoters, r.passives, r.detractors
    (20.0, 5, 2, 3)
    >>> round(r.standard_error, 2), round(r.margin_of_error, 2)
    (27.57, 54.03)
    >>> round(r.ci_low, 1), round(r.ci_high, 1)
    (-30.3, 61.1)
    >>> nps([10, 9, 11])
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: scores must lie in [0, 10]; got 11 for row at position 2
    """
    conf = check_confidence(confidence)
    prom, pas, det = nps_counts(scores)
    n = prom + pas + det
    out = nps_arrays(
        np.array([prom], dtype=np.float64),
        np.array([pas], dtype=np.float64),
        np.array([det], dtype=np.float64),
        z_value(conf),
    )
    return NPSResult(
        score=float(out["nps"][0]),
        n=n,
        promoters=prom,
        passives=pas,
        detractors=det,
        promoter_share=prom / n,
        passive_share=pas / n,
        detractor_share=det / n,
        standard_error=float(out["standard_error"][0]),
        margin_of_error=float(out["margin_of_error"][0]),
        ci_low=float(out["ci_low"][0]),
        ci_high=float(out["ci_high"][0]),
        confidence=conf,
        method="adjusted-wald",
    )


def _check_scale(scale: object, satisfied_at: object) -> tuple[int, int]:
    """Validate the scale and the satisfaction threshold; ``None`` is refused, never guessed."""
    sc = check_int_param(scale, name="scale", low=2)
    if satisfied_at is None:
        raise ValidationError(
            f"satisfied_at must be a whole number from 1 to scale={sc}; got None (give it "
            f"explicitly: satisfied_at={sc} counts only the top answer, "
            f"satisfied_at={sc - 1} the top two)",
            field="satisfied_at",
            value=None,
        )
    return sc, check_int_param(satisfied_at, name="satisfied_at", low=1, high=sc)


def csat(
    scores: ArrayLike, *, scale: int = 5, satisfied_at: int = 4, confidence: float = 0.95
) -> CSATResult:
    """Compute customer satisfaction: the share of answers >= ``satisfied_at``.

    The share's interval is the Wilson (1927) score interval, which stays
    inside [0, 100] % and keeps near-nominal coverage for small samples; the
    mean raw score is reported as well.

    Parameters
    ----------
    scores : array_like of int
        Answers, whole numbers from 1 to ``scale``.
    scale : int, default 5
        Top of the answer scale (a 1–5 scale by default).
    satisfied_at : int, default 4
        Lowest answer counted as satisfied ("top-2-box" on a 5-point scale).
        Always a whole number in ``1..scale``: ``None`` is refused rather
        than read as the top answer.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    CSATResult
        ``score`` (percent satisfied), ``share``, ``mean``, interval.

    Raises
    ------
    ValidationError
        On an empty sample, answers outside ``1..scale`` or non-integers, or
        a ``satisfied_at`` that is not a whole number in ``1..scale``.

    Examples
    --------
    >>> r = csat([5, 4, 4, 3, 2, 5, 5, 1])
    >>> r.score, r.satisfied, r.n, r.mean
    (62.5, 5, 8, 3.625)
    >>> round(r.ci_low, 1), round(r.ci_high, 1)
    (30.6, 86.3)
    """
    conf = check_confidence(confidence)
    sc, sat = _check_scale(scale, satisfied_at)
    arr = as_scores(scores, name="scores", low=1, high=sc)
    n = int(arr.size)
    satisfied = int(np.count_nonzero(arr >= sat))
    share = satisfied / n
    z = z_value(conf)
    lo, hi = wilson_interval(
        np.array([satisfied], dtype=np.float64), np.array([n], dtype=np.float64), z
    )
    se = float(np.sqrt(share * (1.0 - share) / n))
    return CSATResult(
        score=100.0 * share,
        n=n,
        satisfied=satisfied,
        share=share,
        mean=float(arr.mean()),
        standard_error=100.0 * se,
        margin_of_error=100.0 * z * se,
        ci_low=100.0 * float(lo[0]),
        ci_high=100.0 * float(hi[0]),
        confidence=conf,
        method="wilson",
        scale=sc,
        satisfied_at=sat,
    )


def ces(scores: ArrayLike, *, scale: int = 7, confidence: float = 0.95) -> CESResult:
    """Compute the customer effort score: the mean answer, with a t interval.

    Parameters
    ----------
    scores : array_like of int
        Answers, whole numbers from 1 to ``scale`` (7-point CES 2.0 scale by
        default).
    scale : int, default 7
        Top of the answer scale.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    CESResult
        Mean, standard deviation, standard error, t interval clipped to
        ``[1, scale]``.

    Raises
    ------
    ValidationError
        On fewer than two answers (no interval can be formed), answers outside
        ``1..scale`` or non-integers.

    Examples
    --------
    >>> r = ces([5, 6, 7, 4, 6])
    >>> r.score, r.n
    (5.6, 5)
    >>> round(r.ci_low, 2), round(r.ci_high, 2)
    (4.18, 7.0)
    """
    conf = check_confidence(confidence)
    sc = check_int_param(scale, name="scale", low=2)
    arr = as_scores(scores, name="scores", low=1, high=sc)
    n = int(arr.size)
    if n < 2:
        raise ValidationError(
            f"scores must hold at least 2 answers for an interval; got {n}", field="scores"
        )
    mean = float(arr.mean())
    std = float(arr.std(ddof=1))
    se = std / np.sqrt(n)
    t = float(stats.t.ppf(0.5 + conf / 2.0, n - 1))
    moe = t * se
    return CESResult(
        score=mean,
        n=n,
        std=std,
        standard_error=float(se),
        margin_of_error=float(moe),
        ci_low=float(max(1.0, mean - moe)),
        ci_high=float(min(float(sc), mean + moe)),
        confidence=conf,
        method="student-t",
        scale=sc,
    )


def _two_sided_p(z: float) -> float:
    return float(2.0 * special.ndtr(-abs(z)))


def compare_nps(a: ArrayLike, b: ArrayLike, *, confidence: float = 0.95) -> ComparisonResult:
    """Difference of two independent NPS samples, ``NPS(a) - NPS(b)``.

    The interval and the z-test use the adjusted-Wald estimates of each
    sample (3/4 of a pseudo-response added to its promoters and detractors,
    3 to its ``n``; Rocks 2016) and the sum of the two multinomial
    variances. Because interval and test share one standard error, the
    interval excludes 0 exactly when ``p_value < 1 - confidence``. The
    reported ``difference`` is the raw difference.

    Parameters
    ----------
    a, b : array_like of int
        Answers 0–10 of the two samples.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    ComparisonResult
        Difference in NPS points, interval (clipped to [−200, 200]), p-value.

    Raises
    ------
    ValidationError
        As :func:`nps`, for either sample (field ``a`` or ``b``).

    Examples
    --------
    >>> r = compare_nps([10] * 60 + [5] * 40, [10] * 40 + [5] * 60)
    >>> r.difference
    40.0
    >>> r.p_value < 0.01
    True
    """
    conf = check_confidence(confidence)
    pa, qa, da = nps_counts(a, name="a")
    pb, qb, db = nps_counts(b, name="b")
    na, nb = pa + qa + da, pb + qb + db
    raw = 100.0 * ((pa - da) / na - (pb - db) / nb)

    def adjusted(p: int, d: int, n: int) -> tuple[float, float]:
        n_adj = n + 4.0 * _ADJ
        s_p, s_d = (p + _ADJ) / n_adj, (d + _ADJ) / n_adj
        diff = s_p - s_d
        return diff, (s_p + s_d - diff * diff) / n_adj

    est_a, var_a = adjusted(pa, da, na)
    est_b, var_b = adjusted(pb, db, nb)
    diff_adj = est_a - est_b
    se = float(np.sqrt(var_a + var_b))
    z = z_value(conf)
    return ComparisonResult(
        difference=raw,
        score_a=100.0 * (pa - da) / na,
        score_b=100.0 * (pb - db) / nb,
        n_a=na,
        n_b=nb,
        standard_error=100.0 * se,
        ci_low=100.0 * max(-2.0, diff_adj - z * se),
        ci_high=100.0 * min(2.0, diff_adj + z * se),
        p_value=_two_sided_p(diff_adj / se),
        confidence=conf,
        method="adjusted-wald",
    )


def compare_csat(
    a: ArrayLike,
    b: ArrayLike,
    *,
    scale: int = 5,
    satisfied_at: int = 4,
    confidence: float = 0.95,
) -> ComparisonResult:
    """Difference of two independent CSAT shares, ``CSAT(a) - CSAT(b)``, in points.

    The interval is Agresti & Caffo's (2000): the Wald interval after adding
    one satisfied and one unsatisfied answer to each sample. The p-value is
    the classical pooled two-proportion z-test (1.0 when both samples are all
    satisfied or all unsatisfied, since no difference is observed).

    Parameters
    ----------
    a, b : array_like of int
        Answers ``1..scale`` of the two samples.
    scale, satisfied_at : int
        As in :func:`csat`.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    ComparisonResult
        Difference in percentage points, interval (clipped to [−100, 100]),
        p-value.

    Examples
    --------
    >>> r = compare_csat([5, 5, 4, 4, 2], [1, 2, 3, 4, 5])
    >>> r.difference
    40.0
    """
    conf = check_confidence(confidence)
    sc, sat = _check_scale(scale, satisfied_at)
    arr_a = as_scores(a, name="a", low=1, high=sc)
    arr_b = as_scores(b, name="b", low=1, high=sc)
    na, nb = int(arr_a.size), int(arr_b.size)
    xa, xb = int(np.count_nonzero(arr_a >= sat)), int(np.count_nonzero(arr_b >= sat))
    pa, pb = xa / na, xb / nb
    ta, tb = (xa + 1) / (na + 2), (xb + 1) / (nb + 2)
    se = float(np.sqrt(ta * (1 - ta) / (na + 2) + tb * (1 - tb) / (nb + 2)))
    z = z_value(conf)
    centre = ta - tb
    pooled = (xa + xb) / (na + nb)
    se0 = float(np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb)))
    p_value = 1.0 if se0 == 0.0 else _two_sided_p((pa - pb) / se0)
    return ComparisonResult(
        difference=100.0 * (pa - pb),
        score_a=100.0 * pa,
        score_b=100.0 * pb,
        n_a=na,
        n_b=nb,
        standard_error=100.0 * se,
        ci_low=100.0 * max(-1.0, centre - z * se),
        ci_high=100.0 * min(1.0, centre + z * se),
        p_value=p_value,
        confidence=conf,
        method="agresti-caffo / pooled z-test",
    )
