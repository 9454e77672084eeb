from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.churn import kaplan_meier, retention_curve
from crmcore.errors import ValidationError


def test_columns_and_index():
    km = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1])
    assert list(km.columns) == ["at_risk", "events", "survival", "ci_low", "ci_high"]
    assert km.index.name == "time"
    np.testing.assert_array_equal(km.index, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(km["survival"], [0.75, 0.75 * 2 / 3, 0.0], rtol=1e-12)


def test_censored_only_times_do_not_appear_and_no_events_gives_empty_table():
    km = kaplan_meier([1, 5, 7], [1, 0, 0])
    np.testing.assert_array_equal(km.index, [1.0])
    empty = kaplan_meier([1, 5], [0, 0])
    assert empty.empty
    assert list(empty.columns) == ["at_risk", "events", "survival", "ci_low", "ci_high"]


def test_observed_defaults_to_all_events_and_accepts_booleans():
    a = kaplan_meier([3, 1, 2])
    b = kaplan_meier([3, 1, 2], [True, True, True])
    pd.testing.assert_frame_equal(a, b)


def test_weights_equal_repeated_rows():
    w = kaplan_meier([1, 2, 3], [1, 0, 1], weights=[2, 3, 1])
    e = kaplan_meier([1, 1, 2, 2, 2, 3], [1, 1, 0, 0, 0, 1])
    pd.testing.assert_frame_equal(w, e, rtol=1e-12)


def test_wider_confidence_gives_wider_band():
    d, o = [1, 2, 3, 4, 5, 6, 7], [1, 0, 1, 1, 0, 1, 0]
    narrow = kaplan_meier(d, o, confidence=0.8)
    wide = kaplan_meier(d, o, confidence=0.99)
    live = narrow["survival"] > 0
    assert (wide["ci_low"][live] < narrow["ci_low"][live]).all()
    assert (wide["ci_high"][live] > narrow["ci_high"][live]).all()


def test_former_band_names_still_read_for_one_release():
    km = kaplan_meier([1, 2, 2, 3, 5], [1, 1, 0, 1, 0])
    with pytest.warns(DeprecationWarning, match="kaplan_meier\\(\\) column: 'lower'.*'ci_low'"):
        lower = km["lower"]
    pd.testing.assert_series_equal(lower, km["ci_low"])
    with pytest.warns(DeprecationWarning, match="'upper'.*'ci_high'"):
        pd.testing.assert_series_equal(km.round(3)["upper"], km["ci_high"].round(3))
    curve = retention_curve(_subs(), as_of="2024-04-30", by="plan")
    with pytest.warns(DeprecationWarning, match="retention_curve\\(\\) column: 'upper'"):
        pd.testing.assert_series_equal(curve["upper"], curve["ci_high"])


def test_boolean_and_zero_one_event_flags_agree():
    a = kaplan_meier([4, 1, 2, 2], [True, False, True, True])
    b = kaplan_meier([4, 1, 2, 2], np.array([1.0, 0.0, 1.0, 1.0]))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"durations": [1, -1]}, "durations"),
        ({"durations": [1, float("nan")]}, "durations"),
        ({"durations": [1, 2], "observed": [1, 2]}, "observed"),
        ({"durations": [1, 2], "observed": [1]}, "observed"),
        ({"durations": [1, 2], "confidence": 1.0}, "confidence"),
        ({"durations": [1, 2], "weights": [1, -1]}, "weights"),
        ({"durations": []}, "durations"),
        ({"durations": [1, 2], "by": ["a"]}, "by"),
        ({"durations": [1, 2], "by": ["a", None]}, "by"),
    ],
)
def test_bad_input_is_refused(kwargs, field):
    with pytest.raises(ValidationError) as info:
        kaplan_meier(**kwargs)
    assert info.value.field == field


def test_negative_duration_error_names_the_row():
    with pytest.raises(ValidationError, match="position 1"):
        kaplan_meier([1.0, -2.0])


def test_by_uses_series_name():
    km = kaplan_meier([1, 2, 3, 4], by=pd.Series(["x", "x", "y", "y"], name="plan"))
    assert km.index.names == ["plan", "time"]
    assert set(km.index.get_level_values("plan")) == {"x", "y"}


# ---------------------------------------------------------------- retention


def _subs():
    return pd.DataFrame(
        {
            "plan": ["basic", "basic", "pro", "pro", "pro"],
            "start": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-11", "2024-02-01", "2024-03-01"]
            ),
            "end": pd.to_datetime(["2024-01-31", None, "2024-03-01", "2024-02-11", None]),
        }
    )


def test_retention_censors_at_as_of_and_skips_future_starts():
    curve = retention_curve(_subs(), as_of="2024-02-20")
    # tenures: 30 (event), 50 (censored), 40 (ends after as_of: censored),
    # 10 (event); the subscription starting 2024-03-01 is not yet observed.
    expected = kaplan_meier([30, 50, 40, 10], [1, 0, 0, 1])
    pd.testing.assert_frame_equal(curve, expected)


def test_retention_never_sees_cancellations_after_as_of():
    subs = _subs()
    later = subs.copy()
    later.loc[1, "end"] = pd.Timestamp("2024-02-25")  # after as_of
    pd.testing.assert_frame_equal(
        retention_curve(subs, as_of="2024-02-20"), retention_curve(later, as_of="2024-02-20")
    )


def test_retention_unit_and_groups():
    weekly = retention_curve(_subs(), as_of="2024-02-20", unit="7D")
    np.testing.assert_allclose(weekly.index, [10 / 7, 30 / 7], rtol=1e-12)
    grouped = retention_curve(_subs(), as_of="2024-04-30", by="plan")
    assert grouped.index.names == ["plan", "time"]
    assert set(grouped.index.get_level_values("plan")) == {"basic", "pro"}


def test_retention_timezone_aware_dates():
    subs = _subs()
    subs["start"] = subs["start"].dt.tz_localize("UTC")
    subs["end"] = subs["end"].dt.tz_localize("UTC")
    curve = retention_curve(subs, as_of=pd.Timestamp("2024-02-20", tz="UTC"))
    pd.testing.assert_frame_equal(
        curve, retention_curve(_subs(), as_of=pd.Timestamp("2024-02-20"))
    )
    # the same instants written in another zone give the same curve
    paris = subs.assign(
        start=subs["start"].dt.tz_convert("Europe/Paris"),
        end=subs["end"].dt.tz_convert("Asia/Seoul"),
    )
    as_of = pd.Timestamp("2024-02-20 09:00", tz="Asia/Seoul")
    pd.testing.assert_frame_equal(
        retention_curve(paris, as_of=as_of), retention_curve(subs, as_of=as_of)
    )
    with pytest.raises(ValidationError, match="naive but the dates are timezone-aware"):
        retention_curve(subs, as_of=pd.Timestamp("2024-02-20"))
    mixed = subs.assign(end=_subs()["end"])
    with pytest.raises(ValidationError, match="naive dates but start is timezone-aware"):
        retention_curve(mixed, as_of="2024-02-20")


def test_retention_date_only_as_of_ends_its_day():
    subs = _subs()
    # cancelled at 18:00 on the as_of day: an event with a date-only as_of, censored
    # (still running) at 12:00 that day
    subs.loc[1, "end"] = pd.Timestamp("2024-02-20 18:00")
    day = retention_curve(subs, as_of="2024-02-20")
    noon = retention_curve(subs, as_of=pd.Timestamp("2024-02-20 12:00"))
    assert day["events"].sum() == noon["events"].sum() + 1


def test_retention_refuses_end_before_start_and_bad_unit():
    subs = _subs()
    subs.loc[2, "end"] = pd.Timestamp("2023-12-01")
    with pytest.raises(ValidationError) as info:
        retention_curve(subs, as_of="2024-02-20")
    assert info.value.field == "end"
    assert info.value.row == 2
    with pytest.raises(ValidationError, match="fixed-length"):
        retention_curve(_subs(), as_of="2024-02-20", unit="1M")
    with pytest.raises(ValidationError, match="no subscription"):
        retention_curve(_subs(), as_of="2023-01-01")
    with pytest.raises(ValidationError, match="missing column"):
        retention_curve(_subs().drop(columns="end"), as_of="2024-02-20")
