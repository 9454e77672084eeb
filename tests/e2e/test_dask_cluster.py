"""The whole Dask job on a real (in-process) LocalCluster of two workers.

Log → summary → fit → scores → partitioned Parquet, plus features, labels and
cohorts, each equal to the in-memory result. Only the compressed summary and
the small cohort table reach the client.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmcore.churn import churn_labels
from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    rfm_summary,
    score_customers,
    simulate_transactions,
)
from crmcore.segmentation import cohort_retention, customer_features

dd = pytest.importorskip(
    "dask.dataframe", reason="the dask extra is not installed (crmcore[dask])"
)
distributed = pytest.importorskip(
    "distributed", reason="dask.distributed (crmcore[dask]) is not installed"
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client() -> object:
    # threads, not processes: the same scheduler, workers and shuffles, started in a second
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_whole_job_on_a_local_cluster(client: object, tmp_path: Path) -> None:
    log = simulate_transactions(
        1500,
        r=0.6,
        alpha=30.0,
        a=0.8,
        b=2.5,
        start=pd.Timestamp("2024-01-01", tz="UTC"),
        periods=300,
        p=6.0,
        q=4.0,
        gamma=15.0,
        random_state=11,
    )
    log.to_parquet(tmp_path / "log.parquet")
    ddf = dd.read_parquet(tmp_path / "log.parquet").repartition(npartitions=4)
    as_of = pd.Timestamp("2024-09-30 23:59:59", tz="UTC")

    summary = rfm_summary(ddf, value_col="amount", as_of=as_of).persist()
    eager = rfm_summary(log, value_col="amount", as_of=as_of)
    bg = BetaGeoModel().fit(summary)
    gg = GammaGammaModel().fit(summary)
    bg_mem = BetaGeoModel().fit(eager)
    gg_mem = GammaGammaModel().fit(eager)
    for name, value in bg_mem.params_.items():
        np.testing.assert_allclose(bg.params_[name], value, rtol=1e-12)
    for name, value in gg_mem.params_.items():
        np.testing.assert_allclose(gg.params_[name], value, rtol=1e-8)

    kwargs = {"t": 30.0, "horizon": 3, "time_unit": 30.0, "discount_rate": 0.01}
    scores = score_customers(bg, summary, spend_model=gg, **kwargs)
    scores.reset_index().to_parquet(tmp_path / "scores", write_index=False)
    back = pd.read_parquet(tmp_path / "scores").set_index("customer_id").sort_index()
    want = score_customers(bg_mem, eager, spend_model=gg_mem, **kwargs).sort_index()
    pd.testing.assert_frame_equal(back, want, check_exact=False, rtol=1e-7)

    feats = customer_features(ddf, as_of=as_of, windows=["90D"]).compute().sort_index()
    pd.testing.assert_frame_equal(
        feats, customer_features(log, as_of=as_of, windows=["90D"]), check_exact=False, rtol=1e-12
    )
    labels = churn_labels(ddf, as_of="2024-06-30", horizon="60D").compute().sort_index()
    pd.testing.assert_series_equal(labels, churn_labels(log, as_of="2024-06-30", horizon="60D"))
    got = cohort_retention(ddf, as_of="2024-09-30")
    pd.testing.assert_frame_equal(got.counts, cohort_retention(log, as_of="2024-09-30").counts)
