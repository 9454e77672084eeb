"""churn_labels against a per-customer reading of its definition."""

from __future__ import annotations

import warnings

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.churn import churn_labels
from crmcore.errors import DataWarning

AS_OF = pd.Timestamp("2024-03-01")
HORIZON = pd.Timedelta("30D")
LOOKBACK = pd.Timedelta("60D")

logs = st.lists(
    st.tuples(st.sampled_from("abcdefg"), st.integers(-120, 60)), min_size=1, max_size=40
).filter(lambda rows: any(day > 0 for _, day in rows))


@settings(max_examples=80, deadline=None)
@given(logs, st.booleans())
def test_labels_follow_the_definition(rows, use_lookback):
    tx = pd.DataFrame(
        {
            "customer_id": [c for c, _ in rows],
            "date": [AS_OF + pd.Timedelta(days=d) for _, d in rows],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # short logs are the point here
        y = churn_labels(
            tx, as_of=AS_OF, horizon=HORIZON, lookback=LOOKBACK if use_lookback else None
        )
    expected = {}
    for customer, dates in tx.groupby("customer_id")["date"]:
        lo = AS_OF - LOOKBACK if use_lookback else pd.Timestamp.min
        if not ((dates > lo) & (dates <= AS_OF)).any():
            continue  # not active: excluded
        bought = ((dates > AS_OF) & (dates <= AS_OF + HORIZON)).any()
        expected[customer] = 0 if bought else 1
    assert y.to_dict() == expected
    assert list(y.index) == sorted(y.index)
