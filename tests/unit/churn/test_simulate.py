from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.churn import simulate_churn_transactions
from crmcore.errors import ValidationError


def test_log_shape_and_latent_truth():
    tx, latent = simulate_churn_transactions(
        2000, start="2023-01-01", periods=365, return_latent=True, random_state=0
    )
    assert list(tx.columns) == ["customer_id", "date", "amount"]
    assert tx["date"].is_monotonic_increasing
    assert tx["date"].min() >= pd.Timestamp("2023-01-01")
    assert tx["date"].max() <= pd.Timestamp("2024-01-01")
    assert tx["customer_id"].nunique() == 2000  # everyone buys once at least
    assert (tx["amount"] >= 0).all()
    assert latent.index.name == "customer_id"
    # a customer that dropped out did so right after its last purchase
    last = tx.groupby("customer_id")["date"].max()
    dead = latent["death"].dropna()
    np.testing.assert_array_equal(dead.to_numpy(), last.loc[dead.index].to_numpy())
    # the expected number of repeat purchases is bounded by the Poisson rate
    repeats = tx.groupby("customer_id").size() - 1
    assert repeats.mean() < (latent["purchase_rate"] * 365).mean()


def test_seeded_and_aware():
    a = simulate_churn_transactions(50, start="2024-01-01", random_state=3)
    b = simulate_churn_transactions(50, start="2024-01-01", random_state=3)
    pd.testing.assert_frame_equal(a, b)
    c = simulate_churn_transactions(
        50, start=pd.Timestamp("2024-01-01", tz="Europe/Paris"), random_state=3
    )
    assert str(c["date"].dt.tz) == "Europe/Paris"


def test_spend_signal_links_spend_to_dropout():
    tx, latent = simulate_churn_transactions(
        4000, start="2023-01-01", spend_signal=1.0, return_latent=True, random_state=1
    )
    spend = tx.groupby("customer_id")["amount"].mean()
    corr = np.corrcoef(spend.to_numpy(), latent["dropout_probability"].to_numpy())[0, 1]
    assert corr < -0.2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_customers": 0}, "n_customers"),
        ({"periods": -1}, "periods"),
        ({"acquisition_periods": 1000}, "acquisition_periods"),
        ({"r": 0}, "r"),
        ({"spend_signal": -1}, "spend_signal"),
        ({"start": None}, "start"),
    ],
)
def test_bad_parameters(kwargs, field):
    args = {"n_customers": 10, "start": "2024-01-01", **kwargs}
    with pytest.raises(ValidationError) as info:
        simulate_churn_transactions(**args)
    assert info.value.field == field
