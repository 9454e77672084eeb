"""A synthetic sample company, to try crmcore without data of your own.

:func:`make_company` generates a reproducible company: customers with
demographics and marketing consent; two and a half years of orders drawn from
the BG/NBD purchase model and the Gamma-Gamma spend model of
:mod:`crmcore.clv` (with seasonality); NPS answers; a points programme with
tiers; B2B leads and opportunities and support tickets moved through the
default workflows of :mod:`crmcore.pipeline` (each with its stage history);
CSAT answers after resolved tickets. :func:`write_company` stores it in any
store (``SqlStore("sqlite:///crm.db")`` is the embedded default), and
:func:`history_frame` turns stored stage histories back into an event log.

This is what ``crmcore demo`` runs.
"""

from __future__ import annotations

from crmcore.datasets._company import (
    DEFAULT_AS_OF,
    LOYALTY_PROGRAM,
    SampleCompany,
    make_company,
    write_company,
)
from crmcore.datasets._customers import BTYD_PARAMS, SPEND_PARAMS
from crmcore.datasets._workflows import HISTORY_KEY, history_frame

__all__ = [
    "BTYD_PARAMS",
    "DEFAULT_AS_OF",
    "HISTORY_KEY",
    "LOYALTY_PROGRAM",
    "SPEND_PARAMS",
    "SampleCompany",
    "history_frame",
    "make_company",
    "write_company",
]
