"""Loyalty: measure it (NPS, CSAT, CES, retention) and manage it (points and tiers).

Survey metrics
    :func:`nps`, :func:`csat`, :func:`ces` return frozen result objects with
    the score, its standard error and a small-sample-safe confidence
    interval; :func:`compare_nps` and :func:`compare_csat` test the
    difference of two independent samples; :func:`nps_by` and
    :func:`nps_trend` give tidy tables per group or per period, flagging
    groups that are too small to read.

Retention metrics
    :func:`retention_rate`, :func:`churn_rate` and :func:`repurchase_rate`
    from a transaction log, with an explicit ``as_of``.

Points and tiers
    A :class:`Program` (:class:`EarnRule`, :class:`Tier`, expiry, review
    cycle) drives an immutable, append-only :class:`PointsLedger` per member:
    :class:`Purchase`, :class:`Redemption` and :class:`Refund` events are
    posted idempotently; balance, lots, debt, tier and next expiry are
    derived from the entries. :func:`ledger_balances` computes the same
    figures for millions of entries at once.
"""

from __future__ import annotations

from crmcore.loyalty._batch import ledger_balances
from crmcore.loyalty._entries import LedgerEntry, LedgerSummary, Lot
from crmcore.loyalty._events import Purchase, Redemption, Refund
from crmcore.loyalty._grouped import nps_by, nps_trend
from crmcore.loyalty._ledger import PointsLedger
from crmcore.loyalty._program import EarnRule, Program, Tier
from crmcore.loyalty._results import (
    CESResult,
    ComparisonResult,
    CSATResult,
    NPSResult,
    RateResult,
)
from crmcore.loyalty._retention import churn_rate, repurchase_rate, retention_rate
from crmcore.loyalty._survey import ces, compare_csat, compare_nps, csat, nps

__all__ = [
    "CESResult",
    "CSATResult",
    "ComparisonResult",
    "EarnRule",
    "LedgerEntry",
    "LedgerSummary",
    "Lot",
    "NPSResult",
    "PointsLedger",
    "Program",
    "Purchase",
    "RateResult",
    "Redemption",
    "Refund",
    "Tier",
    "ces",
    "churn_rate",
    "compare_csat",
    "compare_nps",
    "csat",
    "ledger_balances",
    "nps",
    "nps_by",
    "nps_trend",
    "repurchase_rate",
    "retention_rate",
]
