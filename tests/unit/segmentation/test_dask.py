"""customer_features and cohort_retention on Dask DataFrames equal the pandas results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import simulate_transactions
from crmcore.errors import ValidationError
from crmcore.segmentation import cohort_retention, customer_features

dask = pytest.importorskip("dask", reason="the dask extra is not installed (crmcore[dask])")
dd = pytest.importorskip("dask.dataframe", reason="dask.dataframe (crmcore[dask]) is missing")


@pytest.fixture(autouse=True)
def _synchronous() -> object:
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    tx = simulate_transactions(
        400,
        r=0.6,
        alpha=30.0,
        a=0.8,
        b=2.5,
        start=pd.Timestamp("2024-01-01", tz="Europe/Paris"),
        periods=300,
        p=6.0,
        q=4.0,
        gamma=15.0,
        random_state=5,
    )
    # string ids, shuffled rows: nothing may depend on the input order
    tx["customer_id"] = "c" + tx["customer_id"].astype(str)
    return tx.sample(frac=1.0, random_state=1).reset_index(drop=True)


@pytest.mark.parametrize("aware", [True, False])
def test_customer_features_on_dask_equal_pandas(log: pd.DataFrame, aware: bool) -> None:
    tx = log if aware else log.assign(date=log["date"].dt.tz_localize(None))
    kwargs = {"as_of": "2024-06-30", "windows": ["30D", "90D"]}
    lazy = customer_features(dd.from_pandas(tx, npartitions=4), **kwargs)
    assert isinstance(lazy, dd.DataFrame)
    got = lazy.compute().sort_index()
    want = customer_features(tx, **kwargs)
    # Dask stores text as pyarrow strings (its "dataframe.convert-string" default),
    # so the ids come back in that dtype; the labels and every value are the same
    assert got.index.tolist() == want.index.tolist()
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, check_index_type=False)
    assert got["n_purchases"].sum() < len(tx)  # as_of cut later purchases out


def test_cohort_retention_on_dask_equals_pandas(log: pd.DataFrame) -> None:
    ddf = dd.from_pandas(log, npartitions=4)
    for freq, value_col in [("M", "amount"), ("2W", None)]:
        got = cohort_retention(ddf, freq=freq, as_of="2024-08-31", value_col=value_col)
        want = cohort_retention(log, freq=freq, as_of="2024-08-31", value_col=value_col)
        assert got.freq == want.freq
        pd.testing.assert_frame_equal(got.counts, want.counts)
        pd.testing.assert_series_equal(got.cohort_sizes, want.cohort_sizes)
        pd.testing.assert_frame_equal(got.shares, want.shares, check_exact=False, rtol=1e-12)
        if value_col is None:
            assert got.revenue is None
            assert got.revenue_retention is None
        else:
            assert got.revenue is not None
            assert want.revenue is not None
            pd.testing.assert_frame_equal(got.revenue, want.revenue, check_exact=False, rtol=1e-9)


def test_dask_segmentation_refuses_unparsed_dates_and_missing_columns(log: pd.DataFrame) -> None:
    as_text = dd.from_pandas(log.assign(date=log["date"].astype(str)), npartitions=2)
    with pytest.raises(ValidationError, match=r"needs 'date' as datetime64.*dd.to_datetime"):
        customer_features(as_text, as_of="2024-06-30")
    with pytest.raises(ValidationError, match=r"missing column.*'price'.*columns present"):
        cohort_retention(dd.from_pandas(log, npartitions=2), as_of="2024-06-30", value_col="price")
    with pytest.raises(ValidationError, match="no transaction is dated at or before"):
        cohort_retention(dd.from_pandas(log, npartitions=2), as_of="2000-01-01")
    # a bad window is refused on the client, before any task runs
    with pytest.raises(ValidationError, match="whole number of seconds"):
        customer_features(
            dd.from_pandas(log, npartitions=2), as_of="2024-06-30", windows=["1500ms"]
        )
    assert np.isfinite(log["amount"]).all()
