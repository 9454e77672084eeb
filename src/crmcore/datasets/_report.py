"""The report's inputs of a sample company just written, from its frames (``crmcore demo``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore.datasets._company import LOYALTY_PROGRAM, SampleCompany
from crmcore.domain._service import _DEFAULT_SCALE

__all__ = ["report_data", "written_frames"]


def written_frames(company: SampleCompany) -> dict[str, pd.DataFrame]:
    """Return what a store holding ``company`` gives for a report's large reads.

    The keys and frames :func:`crmcore.report._inputs.store_report_data`
    takes as ``written``: the orders (all of them purchases: the sample
    company's orders are completed), the NPS and CSAT answers, the loyalty
    accounts, the campaign members (in the order they were written) and the
    engagement events, with the store's column types (text, UTC instants
    in microseconds, amounts as the float of their exact cents).
    """
    orders = company.orders
    cents = np.round(orders["amount"].to_numpy(np.float64) * 100).astype(np.int64)
    surveys = company.surveys
    surveys = surveys[surveys["kind"].isin(["nps", "csat"])]
    # SQLite answers ``kind IN (...)`` from the kind index: by kind, then as written
    surveys = surveys.sort_values("kind", kind="stable")
    scales = {kind.value: scale for kind, scale in _DEFAULT_SCALE.items()}
    loyalty = company.loyalty_accounts
    members = company.campaign_members
    return {
        "orders": pd.DataFrame(
            {
                "id": _text(orders["id"]),
                "customer_id": _text(orders["customer_id"]),
                "placed_at": _utc(orders["placed_at"]),
                "amount": cents / 100.0,  # the exact decimal's nearest float, as read back
                "amount_currency": pd.Series(company.currency, index=orders.index, dtype="str"),
            }
        ).reset_index(drop=True),
        "survey_responses": pd.DataFrame(
            {
                "customer_id": _text(surveys["customer_id"]),
                "kind": _text(surveys["kind"]),
                "score": surveys["score"].to_numpy(np.int64),
                "answered_at": _utc(surveys["answered_at"]),
                "scale": surveys["kind"].map(scales).to_numpy(np.int64),
            }
        ).reset_index(drop=True),
        "loyalty_accounts": pd.DataFrame(
            {
                "customer_id": _text(loyalty["customer_id"]),
                "program_id": pd.Series(LOYALTY_PROGRAM, index=loyalty.index, dtype="str"),
                "tier": _text(loyalty["tier"]),
            }
        ).reset_index(drop=True),
        "campaign_members": pd.DataFrame(
            {
                "campaign_id": _text(members["campaign_id"]),
                "customer_id": _text(members["customer_id"]),
                "variant": _text(members["variant"]),
                "control": members["control"].to_numpy(bool),
                "selected_at": _utc(members["selected_at"]),
            }
        ).reset_index(drop=True),
        "engagement": company.engagement.reset_index(drop=True),
    }


def _text(values: pd.Series) -> Any:
    return values.astype("str")


def _utc(values: pd.Series) -> Any:
    return pd.to_datetime(values, utc=True).astype("datetime64[us, UTC]")


def report_data(company: SampleCompany, store: Any) -> Any:
    """Return :func:`crmcore.report.read_store` of ``store``, just written with ``company``.

    The large tables come from :func:`written_frames` (not read back); the
    workflows (opportunities, tickets and their stage changes) and the
    campaigns are read from the store.
    """
    from crmcore.report._inputs import store_report_data  # noqa: PLC0415 -- report loads lazily

    return store_report_data(store, written_frames(company))
