"""Identity: find and merge duplicate customers, data quality, and the customer frame.

Bad and duplicated customer data is a main reason CRM projects fail. This
subpackage finds records that describe the same person and plans their merge:

- :func:`find_duplicates` normalises fields by kind (:class:`Field`), pairs
  records by blocking (several passes, so a million records never compare
  all pairs), compares them with RapidFuzz similarities and scores each pair
  with a Fellegi–Sunter model fitted by EM without labels
  (:class:`MatchModel`);
- :func:`cluster_duplicates` groups the pairs into one cluster per person,
  with a guard against chaining and respecting "not a duplicate" decisions;
- :func:`merge_plan` assembles the surviving record field by field
  (:class:`Survivorship`; consent merged conservatively);
- :func:`apply_merge` carries a plan out in a store atomically (references
  re-pointed, a :class:`~crmcore.domain.CustomersMerged` event stored) and
  :func:`undo_merge` restores the state before it;
- :func:`mark_not_duplicate` stores a "not a duplicate" decision, which
  :func:`not_duplicates` reads back for clustering and merging;
- :class:`MatchIndex` checks a new record at entry (allow / alert / block);
- :func:`data_quality` measures completeness, validity, uniqueness and
  staleness per field;
- :func:`customer_frame` builds one row per customer (age, region, declared
  attributes, behaviour features, model outputs) for segment rules;
- :func:`make_duplicates` generates records with known duplicates.

String similarity needs RapidFuzz: ``pip install 'crmcore[identity]'``.
"""

from __future__ import annotations

from crmcore.identity._apply import apply_merge, undo_merge
from crmcore.identity._blocking import BlockingStats
from crmcore.identity._cluster import cluster_duplicates
from crmcore.identity._decisions import (
    mark_not_duplicate,
    not_duplicates,
    withdraw_not_duplicate,
)
from crmcore.identity._fields import KIND_NAMES, Field
from crmcore.identity._frame import customer_frame
from crmcore.identity._generate import NOISE_LEVELS, DuplicateSet, make_duplicates
from crmcore.identity._index import MatchIndex, MatchResult
from crmcore.identity._match import DEFAULT_THRESHOLD, find_duplicates
from crmcore.identity._merge import RULES, MergePlan, Survivorship, merge_plan
from crmcore.identity._model import MatchModel
from crmcore.identity._normalise import NICKNAMES, canonical_email, name_tokens
from crmcore.identity._prepare import customers_frame
from crmcore.identity._quality import data_quality

__all__ = [
    "DEFAULT_THRESHOLD",
    "KIND_NAMES",
    "NICKNAMES",
    "NOISE_LEVELS",
    "RULES",
    "BlockingStats",
    "DuplicateSet",
    "Field",
    "MatchIndex",
    "MatchModel",
    "MatchResult",
    "MergePlan",
    "Survivorship",
    "apply_merge",
    "canonical_email",
    "cluster_duplicates",
    "customer_frame",
    "customers_frame",
    "data_quality",
    "find_duplicates",
    "make_duplicates",
    "mark_not_duplicate",
    "merge_plan",
    "name_tokens",
    "not_duplicates",
    "undo_merge",
    "withdraw_not_duplicate",
]
