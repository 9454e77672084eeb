"""The report's time rules: naive stays naive, aware stays aware, a zone only when given."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import simulate_transactions
from crmcore.errors import ValidationError
from crmcore.report import ReportData, ReportOptions, analyse, read_transactions
from crmcore.report._analysis import cut_history


@pytest.fixture(scope="module")
def naive():
    tx = simulate_transactions(
        120, r=0.8, alpha=30.0, a=0.6, b=3.0, start="2024-01-01", periods=540,
        p=6.0, q=4.0, gamma=15.0, random_state=4,
    )  # fmt: skip
    return pd.DataFrame(
        {
            "customer_id": tx["customer_id"].astype(str),
            "date": tx["date"].dt.floor("s"),
            "amount": tx["amount"],
        }
    )


def _in_paris(dates):
    return dates.dt.tz_localize("Europe/Paris", ambiguous=True, nonexistent="shift_forward")


def _quiet_analyse(data, options):
    # as_of after the last purchase used to make churn_labels warn that the
    # log may end early; the report says it is observed up to as_of
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return analyse(data, options)


def test_cut_history_keeps_naive_dates_naive(naive):
    history, clock = cut_history(naive, "2025-01-31")
    assert history["date"].dt.tz is None
    assert clock.cutoff.timestamp == pd.Timestamp("2025-01-31 23:59:59.999999999")
    kept = naive["date"] <= pd.Timestamp("2025-01-31 23:59:59.999999999")
    assert len(history) == int(kept.sum())
    assert clock.rules["zone"] is None


def test_cut_history_localises_only_when_a_zone_is_given(naive):
    history, clock = cut_history(naive, "2025-01-31", tz="Asia/Tokyo")
    assert str(history["date"].dt.tz) == "Asia/Tokyo"
    # the wall-clock readings are unchanged: only a zone was added
    np.testing.assert_array_equal(
        history["date"].dt.tz_localize(None).to_numpy(),
        naive.loc[history.index, "date"].to_numpy().astype("datetime64[ns]"),
    )
    assert clock.cutoff.timestamp == pd.Timestamp("2025-01-31 23:59:59.999999999", tz="Asia/Tokyo")
    assert clock.rules["zone"] == "Asia/Tokyo"


def test_aware_dates_stay_instants_and_keep_their_zone(naive):
    paris = naive.assign(date=_in_paris(naive["date"]))
    _, clock = cut_history(paris, "2025-01-31")
    assert clock.cutoff.timestamp.isoformat() == "2025-01-31T23:59:59.999999999+01:00"
    # the same instants written in UTC: the same history, a cut-off at the same instant
    utc = paris.assign(date=paris["date"].dt.tz_convert("UTC"))
    hist_p, clock_p = cut_history(paris, pd.Timestamp("2025-01-31 12:00", tz="Europe/Paris"))
    hist_u, clock_u = cut_history(utc, pd.Timestamp("2025-01-31 11:00", tz="UTC"))
    assert clock_p.cutoff.ns == clock_u.cutoff.ns
    assert hist_p.index.equals(hist_u.index)


@pytest.mark.slow
def test_the_same_instants_in_another_zone_give_the_same_report(naive):
    paris = naive.assign(date=_in_paris(naive["date"]))
    utc = paris.assign(date=paris["date"].dt.tz_convert("UTC"))
    as_of = dt.datetime(2025, 2, 15, 12, tzinfo=dt.UTC)
    a = _quiet_analyse(ReportData(transactions=paris), ReportOptions(as_of=as_of, n_draws=30))
    b = _quiet_analyse(ReportData(transactions=utc), ReportOptions(as_of=as_of, n_draws=30))
    assert a.summary["n_transactions"] == b.summary["n_transactions"]
    assert pd.Timestamp(a.summary["as_of"]) == pd.Timestamp(b.summary["as_of"])
    assert a.summary["as_of"].endswith("+01:00")  # said in the data's own zone
    assert b.summary["as_of"].endswith("+00:00")
    # churn risk uses instants and fixed windows: the zone changes nothing
    pd.testing.assert_series_equal(a.customers["churn_risk"], b.customers["churn_risk"])
    # RFM periods are calendar days on the data's wall clock (docs/time.rst): a
    # purchase at 00:30 in Paris is on the day before in UTC, so the BTYD
    # summaries, and the models fitted to them, may differ between the two zones


def test_naive_data_with_an_aware_as_of_is_refused_naming_the_fix(naive):
    with pytest.raises(ValidationError, match="tz_localize"):
        cut_history(naive, dt.datetime(2025, 1, 31, tzinfo=dt.UTC))


@pytest.mark.parametrize("as_of", ["9999-12-31", "2262-05-01", "soon", "01.02.2025"])
def test_unusable_as_of_is_a_validation_error(naive, as_of):
    with pytest.raises(ValidationError) as info:
        cut_history(naive, as_of)
    assert info.value.field == "as_of"


def test_as_of_before_the_first_purchase(naive):
    with pytest.raises(ValidationError, match="before the first transaction"):
        cut_history(naive, "2023-12-31")


def test_surveys_must_share_the_transactions_awareness(naive):
    surveys = pd.DataFrame(
        {
            "customer_id": ["0", "1"],
            "kind": "nps",
            "score": [9, 3],
            "date": pd.to_datetime(["2024-06-01", "2024-07-01"]).tz_localize("UTC"),
            "scale": 10,
        }
    )
    data = ReportData(transactions=naive, surveys=surveys)
    with pytest.raises(ValidationError, match="survey dates are timezone-aware"):
        _quiet_analyse(data, ReportOptions(n_draws=30))
    # with a zone for the naive transactions both are on one clock
    result = _quiet_analyse(data, ReportOptions(n_draws=30, tz="UTC"))
    assert result.summary["surveys"]["nps"]["n"] == 2
    assert set(result.summary["surveys"]["nps"]) >= {"ci_low", "ci_high"}


def test_report_options_level_is_the_deprecated_name_of_confidence():
    with pytest.warns(DeprecationWarning, match="'confidence='"):
        options = ReportOptions(level=0.8)
    assert options.confidence == 0.8
    with pytest.warns(DeprecationWarning, match="'confidence'"):
        assert options.level == 0.8
    with pytest.raises(TypeError, match="both"):
        ReportOptions(level=0.8, confidence=0.9)


def test_read_transactions_amount_col_is_the_deprecated_name_of_value_col(tmp_path):
    path = tmp_path / "tx.csv"
    pd.DataFrame(
        {"customer_id": ["a", "b"], "date": ["2024-01-01", "2024-01-02 10:00"], "total": [1, 2]}
    ).to_csv(path, index=False)
    new = read_transactions(path, value_col="total")
    with pytest.warns(DeprecationWarning, match="'value_col='"):
        old = read_transactions(path, amount_col="total")
    pd.testing.assert_frame_equal(new, old)
    assert new.columns.tolist() == ["customer_id", "date", "amount"]
    assert new["date"].dt.tz is None  # naive in the file: naive here


def test_read_transactions_keeps_offsets_as_instants(tmp_path):
    path = tmp_path / "tx.csv"
    pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "date": ["2024-01-01T10:00:00+01:00", "2024-07-01T10:00:00+02:00"],
            "amount": [1.0, 2.0],
        }
    ).to_csv(path, index=False)
    tx = read_transactions(path)
    # two offsets: instants, shown in UTC
    assert tx["date"].tolist() == [
        pd.Timestamp("2024-01-01 09:00", tz="UTC"),
        pd.Timestamp("2024-07-01 08:00", tz="UTC"),
    ]


def test_bad_date_names_column_row_and_format(tmp_path):
    path = tmp_path / "tx.csv"
    pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "day": ["31.01.2024", "01.02.2024", "2024-02-30"],
         "amount": [1, 2, 3]}
    ).to_csv(path, index=False)  # fmt: skip
    with pytest.raises(ValidationError, match=r"day .*'2024-02-30' for row 3") as info:
        read_transactions(path, date_col="day", date_format="%d.%m.%Y")
    assert info.value.field == "day"
    assert info.value.row == 3
