"""The report codes customers once: every number is the one the library gives on the ids."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import rfm_summary, simulate_transactions
from crmcore.errors import ValidationError
from crmcore.report import ReportData, ReportOptions, analyse
from crmcore.report._analysis import _choose_model, _churn_risk, cut_history
from crmcore.segmentation import rfm_scores, rfm_segments


@pytest.fixture(scope="module")
def shuffled():
    tx = simulate_transactions(
        200, r=0.8, alpha=30.0, a=0.6, b=3.0, start="2024-01-01", periods=540,
        p=6.0, q=4.0, gamma=15.0, random_state=4,
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            # text ids whose sorted order is not their order of appearance
            "customer_id": ("c" + (tx["customer_id"] * 7919 % 1000).astype(str)).to_numpy(),
            "date": tx["date"].dt.floor("s").to_numpy(),
            "amount": tx["amount"].round(2).to_numpy(),
        }
    )
    # rows out of date order: first appearance in the log differs from the calendar's
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


@pytest.fixture(scope="module")
def analysis(shuffled):
    return analyse(ReportData(transactions=shuffled), ReportOptions(n_draws=30))


def test_customer_table_is_the_library_on_the_ids(shuffled, analysis):
    tx, clock = cut_history(shuffled)
    summary = rfm_summary(tx, value_col="amount", as_of=clock.cutoff.timestamp, freq="D")
    scores = rfm_scores(summary)
    table = analysis.customers
    assert table.index.dtype == summary.index.dtype
    assert table.index.is_monotonic_increasing
    expected = summary.join(scores[["r_score", "f_score", "m_score"]]).sort_index()
    columns = ["frequency", "recency", "T", "monetary_value", "r_score", "f_score", "m_score"]
    pd.testing.assert_frame_equal(
        table[columns], expected[columns], check_exact=True, check_names=False
    )
    segments = rfm_segments(scores).sort_index()
    assert (table["rfm_segment"].to_numpy() == segments.to_numpy()).all()


def test_churn_risk_and_holdout_are_those_on_the_ids(shuffled, analysis):
    tx, clock = cut_history(shuffled)
    as_of = clock.cutoff.timestamp
    index = analysis.customers.index
    risk, info = _churn_risk(tx, as_of, 90.0, 0, index)
    assert info["available"]
    np.testing.assert_array_equal(analysis.customers["churn_risk"].to_numpy(), risk.to_numpy())
    # the holdout check of the chosen model, run alone on the ids
    name = analysis.summary["holdout"]["model"]
    summary = rfm_summary(tx, value_col="amount", as_of=as_of, freq="D")
    _, holdout, _, _, _ = _choose_model(tx, as_of, ReportOptions(model=name), summary)
    assert analysis.summary["holdout"]["mae"] == holdout["mae"]
    assert analysis.summary["holdout"]["n_customers"] == holdout["n_customers"]


def test_a_missing_customer_id_is_refused_naming_the_row(shuffled):
    tx = shuffled.assign(customer_id=shuffled["customer_id"].astype(object))
    tx.loc[5, "customer_id"] = None
    with pytest.raises(ValidationError, match="customer_id") as err:
        analyse(ReportData(transactions=tx))
    assert err.value.row == 5


def _read_categories(path, text):
    from crmcore.report import read_transactions

    got = read_transactions(path)
    ids = got["customer_id"]
    assert isinstance(ids.dtype, pd.CategoricalDtype)
    assert ids.dtype.categories.is_monotonic_increasing
    assert (ids.astype(str).to_numpy() == text.to_numpy()).all()
    return got


def test_read_text_ids_are_categories_and_report_the_same_numbers(tmp_path, shuffled, analysis):
    # read_transactions keeps each id once (sorted categories) and a code per row:
    # the report must be the one on the plain text ids, to the bit
    path = tmp_path / "log.csv"
    shuffled.to_csv(path, index=False)
    got = _read_categories(path, shuffled["customer_id"])
    ours = analyse(ReportData(transactions=got), ReportOptions(n_draws=30))
    pd.testing.assert_frame_equal(ours.customers, analysis.customers, check_exact=True)
    assert ours.summary == analysis.summary


@pytest.mark.slow
def test_read_integer_ids_are_text_categories_and_report_the_same_numbers(tmp_path, shuffled):
    # integer ids, as Parquet stores them, become text ids ("10" sorts before "9")
    log = shuffled.assign(customer_id=shuffled["customer_id"].str[1:].astype(np.int64))
    path = tmp_path / "log.parquet"
    log.to_parquet(path, index=False)
    text = log["customer_id"].astype(str)
    got = _read_categories(path, text)
    options = ReportOptions(n_draws=30)
    ours = analyse(ReportData(transactions=got), options)
    theirs = analyse(ReportData(transactions=got.assign(customer_id=text.to_numpy())), options)
    pd.testing.assert_frame_equal(ours.customers, theirs.customers, check_exact=True)
    assert ours.summary == theirs.summary


def test_churn_runs_first_but_its_warning_is_said_after_the_segments(shuffled):
    # churn risk (and cohorts) run before the summaries, where their temporaries cost
    # least memory; a churn model that cannot be trained is still reported where the
    # step used to run, after every step that may refuse the whole report
    events: list[tuple[str, str]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            events.append(("log", record.getMessage()))

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("crmcore.report")
    logger.addHandler(handler)
    try:
        late = pd.Timestamp(shuffled["date"].max()) + pd.Timedelta(days=400)
        result = analyse(
            ReportData(transactions=shuffled),
            ReportOptions(n_draws=30, as_of=late),
            step=lambda name: events.append(("step", name)),
        )
    finally:
        logger.removeHandler(handler)
    assert result.summary["churn"]["available"] is False  # every customer silent: one class
    steps = [name for kind, name in events if kind == "step"]
    assert (
        steps.index("churn risk")
        < steps.index("cohorts")
        < steps.index("summarising transactions")
    )
    said = [i for i, (kind, text) in enumerate(events) if text.startswith("churn risk not")]
    assert len(said) == 1
    assert events.index(("step", "segments")) < said[0]
    assert result.customers["churn_risk"].isna().all()
