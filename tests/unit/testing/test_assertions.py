"""crmcore.testing's assertions fail on the mistakes they exist to catch, and only then."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import BetaGeoModel, rfm_summary, simulate_bgnbd
from crmcore.errors import ValidationError
from crmcore.segmentation import customer_features
from crmcore.testing import assert_frame_schema, assert_no_leak, assert_recovers_parameters

AS_OF = "2026-01-15"
END = pd.Timestamp("2026-01-15 23:59:59.999999999")


@pytest.fixture
def log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "date": pd.to_datetime(
                [
                    "2026-01-02 00:00",
                    "2026-01-15 18:00",
                    "2026-01-10 00:00",
                    "2026-02-01 00:00",
                    "2026-03-01 00:00",
                ]
            ),
            "amount": [10.0, 20.0, 5.0, 7.0, 3.0],
        }
    )


def spend_until(log: pd.DataFrame, end: pd.Timestamp, *, inclusive: bool = True) -> pd.Series:
    kept = log["date"] <= end if inclusive else log["date"] < end
    return log[kept].groupby("customer_id")["amount"].sum()


def test_a_correct_feature_passes(log):
    assert_no_leak(lambda x: spend_until(x, END), log, AS_OF)


def test_crmcore_features_pass(log):
    assert_no_leak(lambda x: rfm_summary(x, value_col="amount", as_of=AS_OF), log, AS_OF)
    assert_no_leak(lambda x: customer_features(x, as_of=AS_OF), log, AS_OF)


def test_reading_the_whole_log_is_a_leak(log):
    with pytest.raises(AssertionError, match="reads the future") as err:
        assert_no_leak(lambda x: x.groupby("customer_id")["amount"].sum(), log, AS_OF)
    assert "drop every row after as_of" in str(err.value)


def test_a_window_one_day_too_long_is_caught_at_the_edge(log):
    # `< as_of + 1 day` with a date as_of already means "<= end of day"; the mistake
    # of adding the day to a datetime cut-off reads the next day
    cutoff = "2026-01-15 12:00"
    leaky = lambda x: spend_until(x, pd.Timestamp(cutoff) + pd.Timedelta(days=1), inclusive=False)  # noqa: E731
    with pytest.raises(AssertionError, match="reads the future"):
        assert_no_leak(leaky, log, cutoff)


def test_the_edge_row_one_nanosecond_after_as_of_is_caught():
    # nothing in this log is after as_of, so only the added edge row can expose `<=` + 1ns
    log = pd.DataFrame(
        {"customer_id": ["a"], "date": pd.to_datetime(["2026-01-01"]), "amount": [1.0]}
    )
    off_by_one = lambda x: spend_until(x, END + pd.Timedelta(1, "ns"))  # noqa: E731
    with pytest.raises(AssertionError, match="one nanosecond after as_of"):
        assert_no_leak(off_by_one, log, AS_OF)


def test_values_after_as_of_are_changed(log):
    def last_amount(x: pd.DataFrame) -> float:  # reads only the latest value: a leak
        return float(x.sort_values("date")["amount"].iloc[-1])

    with pytest.raises(AssertionError):
        assert_no_leak(last_amount, log, AS_OF)


def test_aware_logs_use_their_zone_for_a_date_cut_off(log):
    aware = log.assign(date=log["date"].dt.tz_localize("Asia/Seoul"))
    end = pd.Timestamp("2026-01-15 23:59:59.999999999", tz="Asia/Seoul")
    assert_no_leak(lambda x: spend_until(x, end), aware, AS_OF)
    utc_end = pd.Timestamp("2026-01-15 23:59:59.999999999", tz="UTC")  # 9 hours too late
    with pytest.raises(AssertionError):
        assert_no_leak(lambda x: spend_until(x, utc_end), aware, AS_OF)


def test_bad_logs_are_refused(log):
    with pytest.raises(ValidationError, match="date_col"):
        assert_no_leak(len, log, AS_OF, date_col="placed_at")
    with pytest.raises(ValidationError, match="empty"):
        assert_no_leak(len, log.iloc[:0], AS_OF)


def test_frame_schema_lists_every_problem():
    frame = pd.DataFrame(
        {"frequency": [1.0, np.nan], "when": pd.to_datetime(["2026-01-01", "2026-01-02"]), "x": 1}
    ).rename_axis("customer_id")
    assert_frame_schema(frame, {"frequency": "float", "when": "datetime", "x": "integer"})
    with pytest.raises(AssertionError) as err:
        assert_frame_schema(
            frame,
            {"frequency": "integer", "when": "datetime_aware", "missing": "string"},
            nullable=False,
            index="id",
        )
    message = str(err.value)
    for part in (
        "column 'frequency' is float64, expected integer",
        "column 'when' is datetime64",
        "missing column 'missing'",
        "unexpected columns ['x']",
        "column 'frequency' has 1 null value(s)",
        "index is named 'customer_id', expected 'id'",
    ):
        assert part in message
    assert_frame_schema(frame, {"frequency": "float64"}, exact=False)
    with pytest.raises(ValidationError, match="not a kind"):
        assert_frame_schema(frame, {"frequency": "floaty"})


def test_bool_is_not_a_number():
    frame = pd.DataFrame({"flag": [True, False]})
    assert_frame_schema(frame, {"flag": "bool"})
    with pytest.raises(AssertionError):
        assert_frame_schema(frame, {"flag": "number"})


# Fader, Hardie & Lee (2005), "Counting your customers the easy way", CDNOW
# estimates: r=0.243, alpha=4.414, a=0.793, b=2.426 (weeks)
CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_a_model_recovers_the_parameters_it_was_simulated_with():
    data = simulate_bgnbd(4000, **CDNOW, T=39, random_state=7)
    fitted = assert_recovers_parameters(BetaGeoModel(), data, CDNOW, confidence=0.99)
    assert set(fitted.params_) == set(CDNOW)


def test_wrong_parameters_are_reported():
    data = simulate_bgnbd(4000, **CDNOW, T=39, random_state=7)
    wrong = {**CDNOW, "alpha": 2 * CDNOW["alpha"]}
    with pytest.raises(AssertionError, match=r"alpha = 8\.828 outside"):
        assert_recovers_parameters(BetaGeoModel(), data, wrong)
    with pytest.raises(ValidationError, match="no parameter"):
        assert_recovers_parameters(BetaGeoModel(), data, {"s": 1.0})
