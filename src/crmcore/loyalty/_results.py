"""Frozen result classes returned by the survey and retention metrics."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["CESResult", "CSATResult", "ComparisonResult", "NPSResult", "RateResult"]


def _as_dict(obj: object) -> dict[str, Any]:
    return attrs.asdict(obj)  # type: ignore[arg-type]


@attrs.frozen(kw_only=True)
class NPSResult:
    """Net Promoter Score of one sample, with its uncertainty.

    All of ``score``, ``standard_error``, ``margin_of_error``, ``ci_low`` and
    ``ci_high`` are in NPS points (−100 to 100); shares are in ``[0, 1]``.

    Attributes
    ----------
    score : float
        ``100 * (promoter_share - detractor_share)``, computed from the raw counts.
    n : int
        Number of responses.
    promoters, passives, detractors : int
        Counts of scores 9–10, 7–8 and 0–6.
    promoter_share, passive_share, detractor_share : float
        The counts divided by ``n``.
    standard_error : float
        ``100 * sqrt((p_P + p_D - (p_P - p_D) ** 2) / n)``, the square root of
        the multinomial variance of ``p_P - p_D``.
    margin_of_error : float
        ``z * standard_error`` (the classical Wald margin of error).
    ci_low, ci_high : float
        Adjusted-Wald interval (Rocks 2016): computed after adding 3/4 of a
        response to promoters and to detractors (3/2 to passives, 3 to
        ``n``), clipped to ``[-100, 100]``. Safer than ``score ±
        margin_of_error`` for small samples and extreme scores.
    confidence : float
        Confidence level of the interval.
    method : str
        Name of the interval method.
    """

    score: float
    n: int
    promoters: int
    passives: int
    detractors: int
    promoter_share: float
    passive_share: float
    detractor_share: float
    standard_error: float
    margin_of_error: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain ``dict`` (JSON-serialisable).

        Returns
        -------
        dict
            One key per field.
        """
        return _as_dict(self)


@attrs.frozen(kw_only=True)
class CSATResult:
    """Customer satisfaction (CSAT) of one sample.

    ``score``, ``standard_error``, ``margin_of_error``, ``ci_low`` and
    ``ci_high`` are in percent (0–100) of satisfied responses.

    Attributes
    ----------
    score : float
        ``100 * share``.
    n : int
        Number of responses.
    satisfied : int
        Responses at or above ``satisfied_at``.
    share : float
        ``satisfied / n``.
    mean : float
        Mean raw score, on the ``1..scale`` scale.
    standard_error : float
        ``100 * sqrt(share * (1 - share) / n)``.
    margin_of_error : float
        ``z * standard_error``.
    ci_low, ci_high : float
        Wilson score interval for the share (Wilson 1927), in percent.
    confidence : float
        Confidence level of the interval.
    method : str
        Name of the interval method.
    scale, satisfied_at : int
        The scale and threshold used.
    """

    score: float
    n: int
    satisfied: int
    share: float
    mean: float
    standard_error: float
    margin_of_error: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    scale: int
    satisfied_at: int

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain ``dict`` (JSON-serialisable).

        Returns
        -------
        dict
            One key per field.
        """
        return _as_dict(self)


@attrs.frozen(kw_only=True)
class CESResult:
    """Customer effort score (CES) of one sample: the mean score.

    ``score``, ``standard_error``, ``margin_of_error``, ``ci_low`` and
    ``ci_high`` are on the ``1..scale`` scale.

    Attributes
    ----------
    score : float
        Mean score.
    n : int
        Number of responses.
    std : float
        Sample standard deviation (``ddof=1``; 0 when ``n == 1``).
    standard_error : float
        ``std / sqrt(n)``.
    margin_of_error : float
        ``t_{n-1} * standard_error`` (``nan``-free: 0 interval width is
        reported when every score is equal; a single response gives an
        interval spanning the whole scale).
    ci_low, ci_high : float
        Student-t interval, clipped to ``[1, scale]``.
    confidence : float
        Confidence level of the interval.
    method : str
        Name of the interval method.
    scale : int
        The scale used.
    """

    score: float
    n: int
    std: float
    standard_error: float
    margin_of_error: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    scale: int

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain ``dict`` (JSON-serialisable).

        Returns
        -------
        dict
            One key per field.
        """
        return _as_dict(self)


@attrs.frozen(kw_only=True)
class ComparisonResult:
    """Difference between two independent samples (``a - b``).

    Attributes
    ----------
    difference : float
        ``score(a) - score(b)`` from the raw counts, in the metric's units
        (NPS points or CSAT percent).
    score_a, score_b : float
        The two scores.
    n_a, n_b : int
        Sample sizes.
    standard_error : float
        Standard error of the difference used for the interval and the test.
    ci_low, ci_high : float
        Confidence interval for the difference.
    p_value : float
        Two-sided p-value for "no difference".
    confidence : float
        Confidence level of the interval.
    method : str
        Name of the interval and test method.
    """

    difference: float
    score_a: float
    score_b: float
    n_a: int
    n_b: int
    standard_error: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain ``dict`` (JSON-serialisable).

        Returns
        -------
        dict
            One key per field.
        """
        return _as_dict(self)


@attrs.frozen(kw_only=True)
class RateResult:
    """A retention-style rate: ``numerator / denominator`` customers.

    Attributes
    ----------
    rate : float
        ``numerator / denominator``, in ``[0, 1]``.
    numerator, denominator : int
        Customer counts (see the function that produced the result).
    ci_low, ci_high : float
        Wilson score interval for the rate.
    confidence : float
        Confidence level of the interval.
    start, end : str
        ISO timestamps of the half-open measurement window ``[start, end)``.
    """

    rate: float
    numerator: int
    denominator: int
    ci_low: float
    ci_high: float
    confidence: float
    start: str
    end: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain ``dict`` (JSON-serialisable).

        Returns
        -------
        dict
            One key per field.
        """
        return _as_dict(self)
