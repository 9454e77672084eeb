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

from crmcore.segmentation._cohorts import CohortRetention, cohort_retention, segment_summary
from crmcore.segmentation._features import customer_features
from crmcore.segmentation._rfm import rfm_scores
from crmcore.segmentation._rule import Rule
from crmcore.segmentation._segmenter import Segmenter
from crmcore.segmentation._segments import DEFAULT_SEGMENTS, rfm_segments, segment_grid

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
