"""A user's analytics module: features of each customer at a cut-off.

This is the example project of docs/testing.rst, "Testing with crmcore":
ordinary application code built on crmcore, tested in test_analytics.py
with crmcore's pytest plugin, strategies and assertions.
"""

from __future__ import annotations

import pandas as pd

from crmcore.clv import rfm_summary
from crmcore.storage import Store


def customer_features(log: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """Repeat purchases, recency, age and average spend of each customer at ``as_of``."""
    summary = rfm_summary(log, value_col="amount", as_of=as_of)
    summary["repeat_buyer"] = summary["frequency"] > 0
    return summary


def order_log(store: Store) -> pd.DataFrame:
    """The store's orders as a transaction log (``customer_id``, ``date``, ``amount``)."""
    orders = store.orders.to_frame(["customer_id", "placed_at", "amount"])
    return orders.rename(columns={"placed_at": "date"})
