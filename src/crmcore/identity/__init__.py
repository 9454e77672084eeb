"""Identity: duplicate detection, clusters, merge plans, data quality, the customer frame."""

from __future__ import annotations

from crmcore.identity._blocking import BlockingStats
from crmcore.identity._fields import KIND_NAMES, Field
from crmcore.identity._match import DEFAULT_THRESHOLD, find_duplicates
from crmcore.identity._model import MatchModel
from crmcore.identity._normalise import NICKNAMES
from crmcore.identity._prepare import customers_frame

__all__ = [
    "DEFAULT_THRESHOLD",
    "KIND_NAMES",
    "NICKNAMES",
    "BlockingStats",
    "Field",
    "MatchModel",
    "customers_frame",
    "find_duplicates",
]
