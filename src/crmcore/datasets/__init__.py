"""A synthetic sample company, to try crmcore without data of your own.

:func:`make_company` generates a reproducible company: customers with
demographics and marketing consent; two and a half years of orders drawn from
the BG/NBD purchase model and the Gamma-Gamma spend model of
:mod:`crmcore.clv` (with seasonality); NPS answers; a points programme with
tiers; B2B leads and opportunities and support tickets moved through the
default workflows of :mod:`crmcore.pipeline`, their history kept as the
events those moves returned; CSAT answers after resolved tickets.
:func:`write_company` stores it in any store (``SqlStore("sqlite:///crm.db")``
is the embedded default), the events in the store's event log
(``store.events.stage_history(workflow=...)`` reads the stage changes back).
:func:`history_frame` and ``HISTORY_KEY`` (the ``custom["stage_history"]``
of earlier releases) are deprecated.

This is what ``crmcore demo`` runs.
"""

from __future__ import annotations

import warnings
from typing import Any

from crmcore._deprecation import REMOVED_IN
from crmcore.datasets._company import (
    DEFAULT_AS_OF,
    LOYALTY_PROGRAM,
    SampleCompany,
    make_company,
    write_company,
)
from crmcore.datasets._customers import BTYD_PARAMS, SPEND_PARAMS
from crmcore.datasets._workflows import LEGACY_HISTORY_KEY, history_frame

__all__ = [
    "BTYD_PARAMS",
    "DEFAULT_AS_OF",
    "LOYALTY_PROGRAM",
    "SPEND_PARAMS",
    "SampleCompany",
    "history_frame",
    "make_company",
    "write_company",
]


def __getattr__(name: str) -> Any:
    if name == "HISTORY_KEY":  # entities no longer carry their stage history in custom
        warnings.warn(
            f"crmcore.datasets.HISTORY_KEY is deprecated and will be removed in crmcore "
            f"{REMOVED_IN}; the sample company stores its stage changes as events: read them "
            "with store.events.stage_history(workflow=...)",
            DeprecationWarning,
            stacklevel=2,
        )
        return LEGACY_HISTORY_KEY
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
