"""churn_labels on a Dask DataFrame equals the pandas result."""

from __future__ import annotations

import pandas as pd
import pytest

from crmcore.churn import churn_labels
from crmcore.clv import simulate_transactions
from crmcore.errors import DataWarning, ValidationError

dask = pytest.importorskip("dask", reason="the dask extra is not installed (crmcore[dask])")
dd = pytest.importorskip("dask.dataframe", reason="dask.dataframe (crmcore[dask]) is missing")


@pytest.fixture(autouse=True)
def _synchronous() -> object:
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return simulate_transactions(
        400,
        r=0.6,
        alpha=30.0,
        a=0.8,
        b=2.5,
        start=pd.Timestamp("2024-01-01", tz="UTC"),
        periods=300,
        random_state=6,
    )


@pytest.mark.parametrize("lookback", [None, "60D"])
def test_churn_labels_on_dask_equal_pandas(log: pd.DataFrame, lookback: str | None) -> None:
    ddf = dd.from_pandas(log, npartitions=4)
    kwargs = {"as_of": "2024-06-30", "horizon": "90D", "lookback": lookback}
    lazy = churn_labels(ddf, **kwargs)
    assert isinstance(lazy, dd.Series)
    got = lazy.compute().sort_index()
    want = churn_labels(log, **kwargs)
    pd.testing.assert_series_equal(got, want)
    assert 0 < want.sum() < len(want)  # both labels occur: the comparison can fail


def test_dask_labels_check_coverage_like_pandas(log: pd.DataFrame) -> None:
    ddf = dd.from_pandas(log, npartitions=3)
    with pytest.raises(ValidationError, match="ends after observed_until"):
        churn_labels(ddf, as_of="2024-06-30", horizon="90D", observed_until="2024-07-31")
    with pytest.warns(DataWarning, match="before the end of the label window"):
        churn_labels(ddf, as_of="2024-10-01", horizon="90D")
    with pytest.raises(ValidationError, match="no purchase after as_of"):
        churn_labels(ddf, as_of="2025-06-30", horizon="90D")
