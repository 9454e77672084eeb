"""Customer segmentation: RFM scores, named segments, rules, clusters, cohorts.

Marketing acts on segments. This subpackage computes them vectorised over
millions of customers:

- :func:`customer_features` turns a transaction log into per-customer
  behavioural features (windowed purchases and spend, tenure, recency,
  order value, inter-purchase time);
- :func:`rfm_scores` and :func:`rfm_segments` score recency, frequency and
  monetary value in balanced quantile bins and name each customer's cell of
  the conventional R×F grid (:data:`DEFAULT_SEGMENTS`);
- :class:`Rule` is a small, safe language for user-written segment
  definitions (``"age between 30 and 39 and purchases_180d >= 3"``);
- :class:`Segmenter` clusters customers on chosen features;
- :func:`cohort_retention` and :func:`segment_summary` summarise.
"""

from __future__ import annotations

from collections.abc import Mapping

from crmcore.segmentation._cohorts import CohortRetention, cohort_retention, segment_summary
from crmcore.segmentation._features import customer_features
from crmcore.segmentation._rfm import rfm_scores
from crmcore.segmentation._rule import Rule
from crmcore.segmentation._segmenter import Segmenter
from crmcore.segmentation._segments import DEFAULT_SEGMENTS as _DEFAULT_SEGMENTS
from crmcore.segmentation._segments import rfm_segments, segment_grid

__all__ = [
    "DEFAULT_SEGMENTS",
    "CohortRetention",
    "Rule",
    "Segmenter",
    "cohort_retention",
    "customer_features",
    "rfm_scores",
    "rfm_segments",
    "segment_grid",
    "segment_summary",
]

# Re-bound here (not merely imported) so that the API reference, which reads
# attribute docstrings from this module's source, shows the docstring below.
DEFAULT_SEGMENTS: Mapping[str, tuple[tuple[int, int], ...]] = _DEFAULT_SEGMENTS
"""The conventional R×F segment grid over 5×5 recency / frequency scores.

A read-only mapping from segment name to the ``(r_score, f_score)`` cells
it covers, the default ``mapping`` of :func:`rfm_segments` and
:func:`segment_grid`.  Every one of the 25 cells belongs to exactly one of
the ten segments (5 is the most recent / most frequent score):

======= ================ ===================== ===================== ============ ============
r/f     1                2                     3                     4            5
======= ================ ===================== ===================== ============ ============
5       new              potential_loyalists   potential_loyalists   champions    champions
4       promising        potential_loyalists   potential_loyalists   loyal        loyal
3       about_to_sleep   about_to_sleep        need_attention        loyal        loyal
2       hibernating      hibernating           at_risk               at_risk      cant_lose
1       hibernating      hibernating           at_risk               at_risk      cant_lose
======= ================ ===================== ===================== ============ ============

Pass your own mapping of the same shape to :func:`rfm_segments` to use
other names or cells; :func:`segment_grid` shows (and validates) one.

:meta hide-value:

Examples
--------
>>> DEFAULT_SEGMENTS["champions"]
((5, 4), (5, 5))
>>> sum(len(cells) for cells in DEFAULT_SEGMENTS.values())
25
"""
