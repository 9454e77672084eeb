"""The per-customer statistics behind rfm_summary, against a sort of every row.

``_stats`` finds first and last periods by scattered minima/maxima and sorts
only the purchases strictly between them. The reference below is the
previous implementation (one sort of the packed key ``customer * span +
period`` over every row); both must give bit-identical arrays on awkward
logs: ties, one-purchase customers, several purchases in one period,
customers without a row, negative period codes, keys beyond 32 bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore import _time
from crmcore.clv import calibration_holdout_split, rfm_summary
from crmcore.clv._summary import _offsets, _repeats
from crmcore.clv._summary import _stats as _stats_of_offsets


def _stats(cust, codes, values, n_cust):
    return _stats_of_offsets(cust, _offsets(codes), values, n_cust)


def _stats_by_sort(
    cust: np.ndarray, codes: np.ndarray, values: np.ndarray | None, n_cust: int
) -> dict[str, np.ndarray]:
    """Reference: sort every (customer, period) key, count the distinct ones."""
    lo = int(codes.min())
    span = int(codes.max()) - lo + 1
    rel = codes - lo
    key = np.sort(cust * span + rel)
    rows = np.bincount(cust, minlength=n_cust)
    ends = np.cumsum(rows)
    starts = ends - rows
    repeat = key[1:] == key[:-1]
    count = rows - np.bincount(key[1:][repeat] // span, minlength=n_cust)
    has = rows > 0
    first = np.zeros(n_cust, dtype=np.int64)
    last = np.zeros(n_cust, dtype=np.int64)
    who = np.flatnonzero(has)
    first[has] = key[starts[has]] - who * span
    last[has] = key[ends[has] - 1] - who * span
    out = {
        "count": count.astype(np.float64),
        "first": (first + lo).astype(np.float64),
        "last": (last + lo).astype(np.float64),
    }
    if values is not None:
        in_first = rel == first[cust]
        out["total"] = np.bincount(cust, weights=values, minlength=n_cust)
        out["first_value"] = np.bincount(
            cust[in_first], weights=values[in_first], minlength=n_cust
        )
    return out


def _assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    got = dict(got)
    lo = int(got.pop("lo"))  # first and last count periods from the log's first, lo
    assert got["first"].dtype.kind == got["last"].dtype.kind == "i"
    got["first"], got["last"] = got["first"] + np.int64(lo), got["last"] + np.int64(lo)
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        # counts and period codes are integers, the sums floats
        assert got[name].dtype == (np.float64 if name in ("total", "first_value") else np.int64)
        np.testing.assert_array_equal(got[name], value, err_msg=name)  # bit for bit


@st.composite
def _logs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    n_cust = draw(st.integers(1, 8))
    extra = draw(st.integers(0, 3))  # customers without any row (a holdout)
    lo = draw(st.integers(-50, 50))
    width = draw(st.sampled_from([1, 2, 5, 40]))  # few periods: many ties and repeats
    n = draw(st.integers(1, 40))
    cust = np.array(draw(st.lists(st.integers(0, n_cust - 1), min_size=n, max_size=n)))
    codes = np.array(draw(st.lists(st.integers(lo, lo + width), min_size=n, max_size=n)))
    cents = draw(st.lists(st.integers(-500, 10_000), min_size=n, max_size=n))
    return cust.astype(np.int64), codes.astype(np.int64), np.array(cents) / 100.0, n_cust + extra


@settings(max_examples=60, deadline=None)
@given(_logs())
def test_stats_equal_a_sort_of_every_row(
    log: tuple[np.ndarray, np.ndarray, np.ndarray, int],
) -> None:
    cust, codes, values, n_cust = log
    _assert_same(_stats(cust, codes, values, n_cust), _stats_by_sort(cust, codes, values, n_cust))
    _assert_same(_stats(cust, codes, None, n_cust), _stats_by_sort(cust, codes, None, n_cust))


def test_stats_on_hand_made_cases() -> None:
    # customer 0: one purchase; 1: three in one period; 2: first and last only;
    # 3: repeats strictly inside (periods 1, 3, 3, 4, 4, 9); 4: no row at all
    cust = np.array([3, 1, 0, 3, 2, 1, 3, 3, 1, 2, 3, 3])
    codes = np.array([3, 5, 7, 1, 2, 5, 9, 4, 5, 6, 3, 4])
    values = np.arange(12, dtype=np.float64) + 0.25
    got = _stats(cust, codes, values, 5)
    np.testing.assert_array_equal(got["count"], [1, 1, 2, 4, 0])
    assert int(got["lo"]) == 1  # first and last count from the log's first period
    np.testing.assert_array_equal(got["first"], [6, 4, 1, 0, 0])  # no row: 0
    np.testing.assert_array_equal(got["last"], [6, 4, 5, 8, 0])
    _assert_same(got, _stats_by_sort(cust, codes, values, 5))


def test_stats_with_a_key_beyond_32_bits() -> None:
    # 70,000 customers over 70,000 periods: the packed key needs 64 bits
    rng = np.random.default_rng(4)
    cust = rng.integers(0, 70_000, 5_000)
    codes = rng.integers(0, 7, 5_000) * 10_000
    codes[0], codes[1] = 0, 69_999
    values = rng.random(5_000)
    assert 70_000 * 70_000 > 2**32
    _assert_same(_stats(cust, codes, values, 70_000), _stats_by_sort(cust, codes, values, 70_000))


def test_rfm_summary_of_same_period_purchases_and_ties() -> None:
    log = pd.DataFrame(
        {
            "customer_id": [7, 7, 7, 8, 9, 9, 9, 9],
            "date": pd.to_datetime(
                [
                    "2024-01-05 10:00",
                    "2024-01-05 11:00",  # same day as the row before: one period
                    "2024-01-09 00:00",
                    "2024-01-02 00:00",  # one-time buyer
                    "2024-01-01 00:00",
                    "2024-01-03 00:00",
                    "2024-01-03 20:00",
                    "2024-01-10 00:00",
                ]
            ),
            "amount": [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
        }
    )
    s = rfm_summary(log, value_col="amount", as_of="2024-01-10")
    assert s.loc[7].tolist() == [1, 4.0, 5.0, 4.0]
    assert s.loc[8].tolist() == [0, 0.0, 8.0, 0.0]
    assert s.loc[9].tolist() == [2, 9.0, 9.0, pytest.approx((96.0 + 128.0) / 2, rel=1e-15)]


# --------------------------------------------------------------- whole summaries
# rfm_summary and calibration_holdout_split against the same full-sort
# reference, built the previous way (ids factorised by pandas, every row
# sorted, float arithmetic on the statistics): bit-identical frames for
# sorted, date-ordered and shuffled logs, same-period purchases, compact,
# gapped and sparse integer ids, text and categorical ids, "D" and "W".


def _reference_frame(
    ids: pd.Series, codes: np.ndarray, values: np.ndarray | None, end: int
) -> pd.DataFrame:
    cust, uniques = pd.factorize(ids, sort=ids.dtype.kind in "iu")
    st_ = _stats_by_sort(cust.astype(np.int64), codes, values, len(uniques))
    freq = st_["count"] - 1
    data = {
        "frequency": freq.astype(np.int64),
        "recency": st_["last"] - st_["first"],
        "T": end - st_["first"],
    }
    if values is not None:
        repeat = st_["total"] - st_["first_value"]
        data["monetary_value"] = np.divide(repeat, freq, out=np.zeros_like(repeat), where=freq > 0)
    return pd.DataFrame(data, index=pd.Index(uniques, name="customer_id"))


def _read(log: pd.DataFrame, freq: str) -> tuple[np.ndarray, np.ndarray]:
    ns = _time.read_dates(log["date"], name="date").ns  # naive: wall clock = ns
    return ns, _time.period_codes(ns, _time.parse_freq(freq))


def _end(ns: int, freq: str) -> int:
    return int(_time.period_codes(np.array([ns], dtype=np.int64), _time.parse_freq(freq))[0])


@st.composite
def _frames(draw: st.DrawFn) -> tuple[pd.DataFrame, str, bool]:
    n_cust = draw(st.integers(1, 7))
    n = draw(st.integers(1, 40))
    who = np.array(draw(st.lists(st.integers(0, n_cust - 1), min_size=n, max_size=n)))
    hours = np.array(draw(st.lists(st.integers(0, 24 * 40), min_size=n, max_size=n)))
    kind = draw(st.sampled_from(["compact", "offset", "sparse", "text", "category", "int32"]))
    ids: Any
    if kind == "compact":
        ids = who.astype(np.int64)
    elif kind == "offset":
        ids = (who * 3 + 10**12).astype(np.int64)  # gaps in a compact range
    elif kind == "sparse":
        ids = (who * 10**9).astype(np.int64)  # too spread for slots: factorised
    elif kind == "int32":
        ids = (who * 2 + 5).astype(np.int32)
    elif kind == "text":
        ids = np.array([f"c{w}" for w in who], dtype=object)
    else:
        ids = pd.Categorical([f"c{w}" for w in who], categories=[f"c{k}" for k in range(9)])
    log = pd.DataFrame(
        {
            "customer_id": ids,
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(hours, unit="h"),
            "amount": np.array(draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n)))
            / 100.0,
        }
    )
    order = draw(st.sampled_from(["as drawn", "by date", "by customer and date"]))
    if order == "by date":
        log = log.sort_values("date", kind="stable", ignore_index=True)
    elif order == "by customer and date":
        log = log.iloc[np.lexsort((hours, who))].reset_index(drop=True)
    return log, draw(st.sampled_from(["D", "W"])), draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(_frames(), st.integers(0, 40))
def test_rfm_summary_equals_the_full_sort_reference(
    drawn: tuple[pd.DataFrame, str, bool], cut_day: int
) -> None:
    log, freq, with_value = drawn
    as_of = pd.Timestamp("2024-01-01") + pd.Timedelta(days=cut_day, hours=12)
    ns, codes = _read(log, freq)
    cut = int(as_of.as_unit("ns").value)
    keep = ns <= cut
    if not keep.any():
        return
    value_col = "amount" if with_value else None
    got = rfm_summary(log, value_col=value_col, as_of=as_of, freq=freq)
    values = log["amount"].to_numpy()[keep] if with_value else None
    want = _reference_frame(log["customer_id"][keep], codes[keep], values, _end(cut, freq))
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@settings(max_examples=30, deadline=None)
@given(_frames(), st.integers(0, 30))
def test_calibration_holdout_split_equals_the_full_sort_reference(
    drawn: tuple[pd.DataFrame, str, bool], cut_day: int
) -> None:
    log, freq, with_value = drawn
    as_of = pd.Timestamp("2024-01-01") + pd.Timedelta(days=cut_day, hours=12)
    ns, codes = _read(log, freq)
    cut, hold = int(as_of.as_unit("ns").value), int(ns.max())
    if not (ns <= cut).any() or _end(hold, freq) <= _end(cut, freq):
        return
    value_col = "amount" if with_value else None
    got = calibration_holdout_split(
        log, as_of=as_of, holdout_end=None, value_col=value_col, freq=freq
    )
    cal = ns <= cut
    values = log["amount"].to_numpy()
    want = _reference_frame(
        log["customer_id"][cal], codes[cal], values[cal] if with_value else None, _end(cut, freq)
    )
    want.columns = [f"{c}_cal" for c in want.columns]
    later = ns > cut
    cust = want.index.get_indexer(pd.Index(log["customer_id"][later]))
    known = cust >= 0
    hold_st = (
        _stats_by_sort(
            cust[known].astype(np.int64),
            codes[later][known],
            values[later][known],
            len(want),
        )
        if known.any()
        else {"count": np.zeros(len(want)), "total": np.zeros(len(want))}
    )
    want["frequency_holdout"] = hold_st["count"].astype(np.int64)
    want["duration_holdout"] = float(_end(hold, freq) - _end(cut, freq))
    if with_value:
        want["monetary_value_holdout"] = np.divide(
            hold_st["total"], hold_st["count"], out=np.zeros(len(want)), where=hold_st["count"] > 0
        )
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize("order", ["shuffled", "sorted"])
def test_repeats_of_many_keys(order: str) -> None:
    # enough keys for several hashing rounds (the first collides on ~20 % of them)
    rng = np.random.default_rng(7)
    key = rng.integers(0, 30_000, 60_000).astype(np.uint32) * np.uint32(97)
    if order == "sorted":
        key.sort()
    pos = _repeats(key)
    assert pos.size == np.unique(pos).size  # each position once
    kept = np.ones(key.size, dtype=bool)
    kept[pos] = False
    # exactly one entry of every distinct key is left, the others are repeats
    np.testing.assert_array_equal(np.sort(key[kept]), np.unique(key))


def test_split_with_gaps_in_compact_integer_ids() -> None:
    # ids 10, 16, 22, 28: slots 0, 6, 12, 18 of a compact range; 22 buys only in
    # the holdout (not a customer), 28 only in the calibration
    log = pd.DataFrame(
        {
            "customer_id": np.array([16, 10, 22, 16, 28, 10, 16], dtype=np.int64),
            "date": pd.to_datetime(
                [
                    "2024-01-02",
                    "2024-01-03",
                    "2024-01-12",
                    "2024-01-04",
                    "2024-01-05",
                    "2024-01-15",
                    "2024-01-20",
                ]
            ),
            "amount": [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
        }
    )
    split = calibration_holdout_split(
        log, as_of="2024-01-10", holdout_end="2024-01-31", value_col="amount"
    )
    assert split.index.tolist() == [10, 16, 28]
    assert split["frequency_cal"].tolist() == [0, 1, 0]
    assert split["frequency_holdout"].tolist() == [1, 1, 0]
    assert split["monetary_value_holdout"].tolist() == [32.0, 64.0, 0.0]
    assert split["duration_holdout"].tolist() == [21.0] * 3
