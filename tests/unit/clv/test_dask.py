from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
    rfm_summary,
    score_customers,
    simulate_bgbb,
    simulate_transactions,
)
from crmcore.errors import ValidationError

dask = pytest.importorskip("dask", reason="the dask extra is not installed (crmcore[dask])")
dd = pytest.importorskip("dask.dataframe", reason="dask.dataframe (crmcore[dask]) is missing")


@pytest.fixture(autouse=True)
def _synchronous() -> object:
    with dask.config.set(scheduler="synchronous"):
        yield


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


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_fit_on_dask_summary_equals_in_memory_fit(log: pd.DataFrame, model_cls: type) -> None:
    few = log[log["customer_id"].isin(log["customer_id"].unique()[:400])]
    summary = rfm_summary(few, value_col="amount")
    lazy = rfm_summary(dd.from_pandas(few, npartitions=4), value_col="amount")
    eager = model_cls().fit(summary)
    on_dask = model_cls().fit(lazy)
    # the distinct rows and their counts are exactly the in-memory compression,
    # put in the same canonical order: the optimiser sees the same input
    assert on_dask.n_customers_ == eager.n_customers_ == len(summary)
    for name, value in eager.params_.items():
        np.testing.assert_allclose(on_dask.params_[name], value, rtol=1e-12)
    np.testing.assert_allclose(on_dask.log_likelihood_, eager.log_likelihood_, rtol=1e-12)


def test_gamma_gamma_and_bgbb_fit_on_dask(log: pd.DataFrame) -> None:
    summary = rfm_summary(log, value_col="amount")
    lazy = dd.from_pandas(summary, npartitions=3)
    eager = GammaGammaModel().fit(summary)
    on_dask = GammaGammaModel().fit(lazy)
    # Gamma-Gamma is fitted on the cluster (Newton steps over partition sums), not by
    # the in-memory L-BFGS-B: the same maximum, to the optimisers' tolerance
    for name, value in eager.params_.items():
        np.testing.assert_allclose(on_dask.params_[name], value, rtol=1e-8)
    patterns = simulate_bgbb(
        2000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=6, random_state=3
    )
    bgbb = BetaGeoBetaBinomModel().fit(patterns)
    bgbb_dask = BetaGeoBetaBinomModel().fit(dd.from_pandas(patterns, npartitions=3))
    for name, value in bgbb.params_.items():
        np.testing.assert_allclose(bgbb_dask.params_[name], value, rtol=1e-10)


@pytest.mark.parametrize("penalizer", [0.0, 0.05])
def test_gamma_gamma_cluster_fit_equals_in_memory_fit(log: pd.DataFrame, penalizer: float) -> None:
    summary = rfm_summary(log, value_col="amount")
    # an empty partition and partitions without repeat buyers are summed as zeros
    ordered = summary.sort_values("frequency")
    lazy = dd.from_pandas(ordered, npartitions=6)
    assert (ordered["frequency"].iloc[: len(ordered) // 6] == 0).all()
    eager = GammaGammaModel(penalizer=penalizer).fit(summary)
    on_dask = GammaGammaModel(penalizer=penalizer).fit(lazy)
    assert on_dask.converged_
    assert on_dask.n_customers_ == eager.n_customers_ == int((summary["frequency"] > 0).sum())
    # both stop at max |gradient| <= 1e-9 in log-parameters: the estimates agree far
    # inside rtol=1e-7 (measured 1e-10); the log-likelihood (not the penalised objective,
    # so first order in that difference when penalised: measured 2e-11)
    for name, value in eager.params_.items():
        np.testing.assert_allclose(on_dask.params_[name], value, rtol=1e-7)
    np.testing.assert_allclose(on_dask.log_likelihood_, eager.log_likelihood_, rtol=1e-9)
    # analytic Hessian (cluster) against central differences of the gradient (in memory)
    for name, value in eager.standard_errors_.items():
        np.testing.assert_allclose(on_dask.standard_errors_[name], value, rtol=1e-5)
    assert 0 < on_dask.n_iter_ <= 20  # Newton steps, each one pass over the partitions
    repeat = summary[summary["frequency"] > 0]  # penalised, q < 1: no population mean
    np.testing.assert_allclose(
        on_dask.expected_spend(lazy[lazy["frequency"] > 0]).compute().sort_index(),
        eager.expected_spend(repeat).sort_index(),
        rtol=1e-7,
    )


def test_gamma_gamma_cluster_fit_refuses_what_the_in_memory_fit_refuses(
    log: pd.DataFrame,
) -> None:
    summary = rfm_summary(log, value_col="amount")
    lazy = dd.from_pandas(summary, npartitions=3)
    with pytest.raises(ValidationError, match="weights cannot be given with a Dask summary"):
        GammaGammaModel().fit(lazy, weights=np.ones(len(summary)))
    with pytest.raises(ValidationError, match="missing column 'monetary_value'"):
        GammaGammaModel().fit(lazy[["frequency", "recency"]])
    one_time = summary.assign(frequency=0, recency=0.0, monetary_value=0.0)
    with pytest.raises(ValidationError, match="frequency is 0 for every customer"):
        GammaGammaModel().fit(dd.from_pandas(one_time, npartitions=2))
    broken = summary.copy()
    bad = broken.index[broken["frequency"] > 0][7]
    broken.loc[bad, "monetary_value"] = 0.0
    with pytest.raises(ValidationError, match=f"monetary_value.*{bad}"):
        GammaGammaModel().fit(dd.from_pandas(broken, npartitions=3))
    with pytest.raises(ValidationError, match="penalizer"):
        GammaGammaModel(penalizer=-1.0).fit(lazy)


def test_gamma_gamma_cluster_fit_reports_non_convergence(log: pd.DataFrame) -> None:
    from crmcore.errors import ConvergenceError, ConvergenceWarning

    lazy = dd.from_pandas(rfm_summary(log, value_col="amount"), npartitions=2)
    with pytest.raises(ConvergenceError, match="did not converge after 1 Newton steps") as err:
        GammaGammaModel(max_iter=1).fit(lazy)
    assert err.value.result.nit == 1
    # away from the maximum the Hessian need not be positive definite: a second warning
    with pytest.warns(ConvergenceWarning) as seen:
        model = GammaGammaModel(max_iter=1, on_failure="warn").fit(lazy)
    assert any("max_iter reached" in str(w.message) for w in seen)
    # every warning points at the line that called fit, as the in-memory fit's do
    assert {Path(w.filename).name for w in seen} == {Path(__file__).name}
    assert not model.converged_
    assert model.n_iter_ == 1
    summary = rfm_summary(log, value_col="amount")[["frequency", "monetary_value"]]
    with pytest.warns(ConvergenceWarning, match="after 1 iterations") as seen:
        GammaGammaModel(max_iter=1, on_failure="warn").fit(summary)
    assert {Path(w.filename).name for w in seen} == {Path(__file__).name}


def test_fit_on_dask_refuses_weights_and_names_missing_columns(log: pd.DataFrame) -> None:
    summary = rfm_summary(log)
    lazy = dd.from_pandas(summary, npartitions=2)
    with pytest.raises(ValidationError, match="weights cannot be given with a Dask summary"):
        BetaGeoModel().fit(lazy, weights=np.ones(len(summary)))
    with pytest.raises(ValidationError, match="missing column 'T'; columns present"):
        BetaGeoModel().fit(lazy[["frequency", "recency"]])
    broken = summary.copy()
    broken.loc[broken.index[5], "recency"] = -1.0
    # the distinct row keeps one of its customers, so the error names a real one
    with pytest.raises(ValidationError, match=str(broken.index[5])):
        BetaGeoModel().fit(dd.from_pandas(broken, npartitions=2))


def test_score_customers_on_dask_written_to_parquet(log: pd.DataFrame, tmp_path: Path) -> None:
    summary = rfm_summary(log, value_col="amount")
    bg = BetaGeoModel().fit(summary)
    gg = GammaGammaModel().fit(summary)
    kwargs = {"t": 30.0, "spend_model": gg, "horizon": 3, "time_unit": 30.0, "discount_rate": 0.01}
    eager = score_customers(bg, summary, **kwargs)
    assert eager.columns.tolist() == ["p_alive", "expected_purchases", "expected_spend", "clv"]
    np.testing.assert_allclose(eager["p_alive"], bg.probability_alive(summary), rtol=1e-12)
    np.testing.assert_allclose(
        eager["clv"],
        customer_lifetime_value(bg, gg, summary, horizon=3, time_unit=30.0, discount_rate=0.01),
        rtol=1e-12,
    )
    lazy = score_customers(
        bg, rfm_summary(dd.from_pandas(log, npartitions=3), value_col="amount"), **kwargs
    )
    assert isinstance(lazy, dd.DataFrame)
    # the customer id as a column: Dask's writer re-indexes with inplace=True,
    # which pandas 3.1 deprecates (a warning in every partition otherwise)
    lazy.reset_index().to_parquet(tmp_path / "scores", write_index=False)
    assert len(list((tmp_path / "scores").glob("*.parquet"))) == 3  # one file per partition
    back = pd.read_parquet(tmp_path / "scores").set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(
        back, eager.sort_index(), check_exact=False, rtol=1e-12, check_index_type=False
    )


def test_score_customers_checks_its_arguments(log: pd.DataFrame) -> None:
    summary = rfm_summary(log, value_col="amount")
    bg = BetaGeoModel().fit(summary)
    with pytest.raises(ValidationError, match="horizon and time_unit together"):
        score_customers(bg, summary, t=1.0, horizon=3)
    with pytest.raises(ValidationError, match="clv needs a spend_model"):
        score_customers(bg, summary, t=1.0, horizon=3, time_unit=30.0)
    with pytest.raises(ValidationError, match="t"):
        score_customers(bg, summary, t=0.0)
    assert score_customers(bg, summary, t=1.0).columns.tolist() == [
        "p_alive",
        "expected_purchases",
    ]


def _shuffles(lazy: object) -> int:
    names = [type(node).__name__ for node in lazy.expr.walk()]  # type: ignore[attr-defined]
    return sum(n in ("RearrangeByColumn", "Shuffle", "P2PShuffle") for n in names)


def test_rfm_summary_of_a_log_indexed_by_customer_needs_no_shuffle(log: pd.DataFrame) -> None:
    end = pd.Timestamp("2024-10-27", tz="UTC")
    keyed = dd.from_pandas(log.set_index("customer_id").sort_index(), npartitions=4)
    assert keyed.known_divisions
    lazy = rfm_summary(keyed, value_col="amount", as_of=end)
    assert _shuffles(lazy) == 0
    assert _shuffles(rfm_summary(dd.from_pandas(log, npartitions=4), as_of=end)) > 0
    want = rfm_summary(log, value_col="amount", as_of=end).sort_index()
    pd.testing.assert_frame_equal(lazy.compute().sort_index(), want, check_exact=False, rtol=1e-12)


def test_parquet_divisions_from_statistics(log: pd.DataFrame, tmp_path: Path) -> None:
    from crmcore._dask import parquet_divisions

    ids = log["customer_id"]
    ranges = [log[ids < 1000], log[(ids >= 1000) & (ids < 2000)], log[ids >= 2000]]
    paths = []
    for i, part in enumerate(ranges):
        paths.append((tmp_path / f"p{i}.parquet").as_posix())
        part.to_parquet(paths[-1], index=False)
    got = parquet_divisions(paths, "customer_id")
    assert got == (ranges[0]["customer_id"].min(), 1000, 2000, ranges[2]["customer_id"].max())
    assert parquet_divisions(paths[::-1], "customer_id") is None  # not increasing
    log.iloc[::2].to_parquet(tmp_path / "even.parquet", index=False)
    log.iloc[1::2].to_parquet(tmp_path / "odd.parquet", index=False)
    both = [(tmp_path / n).as_posix() for n in ("even.parquet", "odd.parquet")]
    assert parquet_divisions(both, "customer_id") is None  # overlapping ranges
    assert parquet_divisions(paths, "no_such_column") is None
