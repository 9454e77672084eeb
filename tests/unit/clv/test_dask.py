from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    rfm_summary,
    simulate_transactions,
)
from crmcore.errors import ValidationError

dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return simulate_transactions(
        3000,
        r=0.6,
        alpha=30.0,
        a=0.8,
        b=2.5,
        start=pd.Timestamp("2024-01-01", tz="UTC"),
        periods=300,
        p=6.0,
        q=4.0,
        gamma=15.0,
        random_state=8,
    )


def test_rfm_summary_on_dask_equals_pandas(log: pd.DataFrame) -> None:
    ddf = dd.from_pandas(log, npartitions=4)
    end = pd.Timestamp("2024-10-27", tz="UTC")
    lazy = rfm_summary(ddf, value_col="amount", as_of=end)
    assert isinstance(lazy, dd.DataFrame)
    got = lazy.compute().sort_index()
    want = rfm_summary(log, value_col="amount", as_of=end).sort_index()
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    default_end = rfm_summary(ddf).compute().sort_index()
    pd.testing.assert_frame_equal(default_end, rfm_summary(log).sort_index())


def test_dask_needs_as_of_for_string_dates(log: pd.DataFrame) -> None:
    ddf = dd.from_pandas(log.assign(date=log["date"].astype(str)), npartitions=2)
    with pytest.raises(ValidationError, match="as_of is required"):
        rfm_summary(ddf)
    with pytest.raises(ValidationError, match="missing column"):
        rfm_summary(dd.from_pandas(log, npartitions=2), value_col="price")


def test_scoring_on_dask_equals_pandas(log: pd.DataFrame) -> None:
    summary = rfm_summary(log, value_col="amount")
    bg = BetaGeoModel().fit(summary)
    gg = GammaGammaModel().fit(summary)
    ddf = dd.from_pandas(summary, npartitions=3)
    for lazy, eager in [
        (bg.probability_alive(ddf), bg.probability_alive(summary)),
        (bg.expected_purchases(10.0, ddf), bg.expected_purchases(10.0, summary)),
        (gg.expected_spend(ddf), gg.expected_spend(summary)),
        (bg.probability_alive(ddf, t=20.0), bg.probability_alive(summary, t=20.0)),
        (
            customer_lifetime_value(
                bg, gg.expected_spend(summary), ddf, horizon=3, time_unit=30.0, discount_rate=0
            ),
            customer_lifetime_value(
                bg, gg.expected_spend(summary), summary, horizon=3, time_unit=30.0, discount_rate=0
            ),
        ),
        (
            customer_lifetime_value(bg, gg, ddf, horizon=3, time_unit=30.0, discount_rate=0.01),
            customer_lifetime_value(
                bg, gg, summary, horizon=3, time_unit=30.0, discount_rate=0.01
            ),
        ),
    ]:
        got = lazy.compute()
        np.testing.assert_allclose(got.loc[eager.index], eager, rtol=1e-12)
    with pytest.raises(ValidationError, match="one value"):
        bg.expected_purchases(np.ones(len(summary)), ddf)
    with pytest.raises(ValidationError, match="Series indexed by customer"):
        customer_lifetime_value(
            bg, np.ones(len(summary)), ddf, horizon=3, time_unit=30.0, discount_rate=0
        )
