"""The per-customer statistics behind rfm_summary, against a sort of every row.

``_stats`` finds first and last periods by scattered minima/maxima and sorts
only the purchases strictly between them. The reference below is the
previous implementation (one sort of the packed key ``customer * span +
period`` over every row); both must give bit-identical arrays on awkward
logs: ties, one-purchase customers, several purchases in one period,
customers without a row, negative period codes, keys beyond 32 bits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.clv import rfm_summary
from crmcore.clv._summary import _stats


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
    np.testing.assert_array_equal(got["first"], [7, 5, 2, 1, 1])  # no row: the log's first
    np.testing.assert_array_equal(got["last"], [7, 5, 6, 9, 1])
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
