"""nps_by and nps_trend agree with nps() per group and flag small groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.loyalty import nps, nps_by, nps_trend


@pytest.fixture
def responses():
    rng = np.random.default_rng(7)
    n = 600
    return pd.DataFrame(
        {
            "region": rng.choice(["north", "south", "east"], size=n),
            "channel": rng.choice(["web", "store"], size=n),
            "score": rng.integers(0, 11, size=n),
        }
    )


def test_nps_by_matches_nps_per_group(responses):
    table = nps_by(responses, "region", "score", min_n=1)
    assert list(table["region"]) == ["east", "north", "south"]
    for _, row in table.iterrows():
        ref = nps(responses.loc[responses["region"] == row["region"], "score"])
        assert row["n"] == ref.n
        assert row["promoters"] == ref.promoters
        assert row["nps"] == pytest.approx(ref.score, rel=1e-12, abs=1e-12)
        assert row["standard_error"] == pytest.approx(ref.standard_error, rel=1e-12)
        assert row["ci_low"] == pytest.approx(ref.ci_low, rel=1e-12, abs=1e-12)
        assert row["ci_high"] == pytest.approx(ref.ci_high, rel=1e-12, abs=1e-12)


def test_nps_by_two_columns_drops_empty_combinations(responses):
    sub = responses[~((responses["region"] == "east") & (responses["channel"] == "web"))]
    table = nps_by(sub, ["region", "channel"], "score", min_n=1)
    assert len(table) == 5
    assert table["n"].sum() == len(sub)
    row = table[(table["region"] == "north") & (table["channel"] == "store")].iloc[0]
    mask = (sub["region"] == "north") & (sub["channel"] == "store")
    assert row["nps"] == pytest.approx(nps(sub.loc[mask, "score"]).score, rel=1e-12, abs=1e-12)


def _counts_by_groupby(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    score = frame["score"]
    flags = frame[cols].assign(
        promoters=(score >= 9).astype(int),
        passives=score.between(7, 8).astype(int),
        detractors=(score <= 6).astype(int),
    )
    counts = flags.groupby(cols, observed=True, sort=True).sum()
    return counts.reset_index()


def test_nps_by_many_wide_group_columns_do_not_overflow_the_combined_key():
    # Five columns of 10,000 distinct values each: 10**20 possible groups, more
    # than int64 holds; each of the 10,000 label tuples occurs twice, in
    # shuffled row order, so a wrapped-around key would merge or split groups.
    rng = np.random.default_rng(11)
    n_distinct, cols = 10_000, ["c0", "c1", "c2", "c3", "c4"]
    base = {c: rng.permutation(n_distinct) * 7 + i for i, c in enumerate(cols)}
    frame = pd.DataFrame({c: np.tile(v, 2) for c, v in base.items()})
    frame["score"] = rng.integers(0, 11, size=len(frame))
    frame = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)

    table = nps_by(frame, cols, "score", min_n=1)

    assert len(table) == n_distinct
    assert (table["n"] == 2).all()
    expected = _counts_by_groupby(frame, cols)
    pd.testing.assert_frame_equal(
        table[[*cols, "promoters", "passives", "detractors"]],
        expected[[*cols, "promoters", "passives", "detractors"]],
        check_dtype=False,
        check_names=False,
    )


def test_nps_by_wide_keys_with_mixed_types_sort_like_the_label_tuples():
    # Labels of several dtypes; "d" and "e" are categoricals with a million
    # (mostly unused) categories each, "d" in reverse order: 4 * 3000 * 3000 *
    # 10**6 * 10**6 possible keys overflow int64 at the last column, and the
    # groups must still sort by category order, not by value.
    rng = np.random.default_rng(5)
    n = 3_000
    categories = [f"k{i:07d}" for i in range(10**6)][::-1]
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 4, size=n),
            "b": pd.Series(rng.permutation(10**6)[:n]).astype(str),
            "c": rng.permutation(n).astype(np.float64) / 8,
            "d": pd.Categorical.from_codes(rng.integers(0, 10**6, size=n), categories=categories),
            "e": pd.Categorical.from_codes(
                rng.integers(0, 10**6, size=n), categories=np.arange(10**6)
            ),
            "score": rng.integers(0, 11, size=n),
        }
    )
    cols = ["a", "b", "c", "d", "e"]
    table = nps_by(frame, cols, "score", min_n=1)
    expected = _counts_by_groupby(frame, cols)
    assert table["n"].sum() == n
    pd.testing.assert_frame_equal(
        table[[*cols, "promoters", "passives", "detractors"]].reset_index(drop=True),
        expected[[*cols, "promoters", "passives", "detractors"]],
        check_dtype=False,
        check_names=False,
        check_categorical=False,
    )


def test_nps_by_flags_small_groups():
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 40, "score": [9] * 45})
    table = nps_by(df, "g", "score", min_n=30)
    assert table["below_min_n"].tolist() == [True, False]
    assert table["below_min_n"].dtype == bool
    assert table["n"].tolist() == [5, 40]


def test_nps_by_categorical_groups_keep_category_order():
    df = pd.DataFrame(
        {
            "g": pd.Categorical(["lo", "hi", "lo"], categories=["lo", "mid", "hi"]),
            "score": [10, 0, 8],
        }
    )
    table = nps_by(df, "g", "score", min_n=1)
    assert table["g"].tolist() == ["lo", "hi"]


def test_nps_by_validation():
    df = pd.DataFrame({"g": ["a", None, "b"], "score": [9, 9, 9]})
    with pytest.raises(ValidationError) as info:
        nps_by(df, "g", "score")
    assert info.value.field == "g"
    assert info.value.row == 1
    with pytest.raises(ValidationError) as info:
        nps_by(pd.DataFrame({"g": ["a", "b"], "score": [9, 10.5]}), "g", "score")
    assert info.value.row == 1
    assert info.value.value == 10.5
    with pytest.raises(ValidationError, match="missing column"):
        nps_by(pd.DataFrame({"g": ["a"]}), "g", "score")
    with pytest.raises(ValidationError, match="min_n"):
        nps_by(pd.DataFrame({"g": ["a"], "score": [9]}), "g", "score", min_n=0)
    with pytest.raises(ValidationError, match="empty"):
        nps_by(pd.DataFrame({"g": [], "score": []}), "g", "score")


def test_nps_trend_months_and_time_zone():
    at = pd.to_datetime(
        ["2026-01-31 23:30", "2026-01-05 10:00", "2026-02-01 00:30", "2026-03-15 12:00"]
    ).tz_localize("Europe/Paris")
    df = pd.DataFrame({"at": at, "score": [10, 6, 9, 9]})
    table = nps_trend(df, date_col="at", freq="M", min_n=2)
    assert [str(p) for p in table["period"]] == ["2026-01", "2026-02", "2026-03"]
    assert table["n"].tolist() == [2, 1, 1]
    assert table["nps"].tolist() == pytest.approx([0.0, 100.0, 100.0], abs=1e-12)
    assert table["below_min_n"].tolist() == [False, True, True]
    # the same instants in UTC: 23:30 Paris on 31 January is 22:30 UTC, still January;
    # 00:30 Paris on 1 February is 23:30 UTC on 31 January
    utc = nps_trend(df.assign(at=df["at"].dt.tz_convert("UTC")), date_col="at", min_n=2)
    assert utc["n"].tolist() == [3, 1]


def test_nps_trend_defaults_weeks_and_counts():
    df = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-04", "2026-01-05", "2026-01-11", "2026-01-12"]),
            "score": [10, 0, 9, 8],
        }
    )
    weekly = nps_trend(df, freq="W", min_n=1)  # Monday..Sunday: Sun 4 | Mon 5..Sun 11 | Mon 12
    assert table_periods(weekly) == [
        "2025-12-29/2026-01-04",
        "2026-01-05/2026-01-11",
        "2026-01-12/2026-01-18",
    ]
    assert weekly["n"].tolist() == [1, 2, 1]
    assert weekly["n"].dtype == np.int64
    assert weekly["promoters"].dtype == np.int64


def table_periods(table):
    return [str(p) for p in table["period"]]


def test_nps_trend_as_of_keeps_history_only():
    df = pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2026-01-05", "2026-01-31 18:00", "2026-02-01 00:00"], format="ISO8601"
            ),
            "score": [10, 0, 9],
        }
    )
    cut = nps_trend(df, as_of="2026-01-31", min_n=1)  # the end of 31 January
    assert table_periods(cut) == ["2026-01"]
    assert cut["n"].tolist() == [2]  # 18:00 on the as_of day is history
    with pytest.raises(ValidationError, match="no response"):
        nps_trend(df, as_of="2025-12-31", min_n=1)


def test_nps_trend_old_spellings_warn():
    df = pd.DataFrame({"at": pd.to_datetime(["2026-01-05", "2026-02-02"]), "score": [10, 6]})
    new = nps_trend(df, date_col="at", freq="M", min_n=1)
    positional = nps_trend(df, "at", "M", min_n=1)  # the third argument was the period
    pd.testing.assert_frame_equal(positional, new)
    with pytest.warns(DeprecationWarning, match="'freq=' instead"):
        old = nps_trend(df, date_col="at", period="M", min_n=1)
    pd.testing.assert_frame_equal(old, new)


def test_nps_by_group_cols_is_the_deprecated_name_of_by(responses):
    with pytest.warns(DeprecationWarning, match="'by=' instead"):
        old = nps_by(responses, group_cols="region", min_n=1)
    pd.testing.assert_frame_equal(old, nps_by(responses, by="region", min_n=1))


def test_nps_trend_validation():
    df = pd.DataFrame({"date": ["2026-01-01", "31/01/2026"], "score": [9, 9]})
    with pytest.raises(ValidationError, match="date_format") as info:
        nps_trend(df)
    assert info.value.row == 1
    df = pd.DataFrame({"date": pd.to_datetime(["2026-01-01", None]), "score": [9, 9]})
    with pytest.raises(ValidationError) as info:
        nps_trend(df)
    assert info.value.row == 1
    df = pd.DataFrame({"date": pd.to_datetime(["2026-01-01"]), "score": [9]})
    with pytest.raises(ValidationError, match="freq") as info:
        nps_trend(df, freq="fortnightly")
    assert info.value.field == "freq"
    with pytest.raises(ValidationError, match="2262"):
        nps_trend(pd.DataFrame({"date": ["9999-12-31"], "score": [9]}))
