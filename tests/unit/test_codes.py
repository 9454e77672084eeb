"""crmcore._codes.sorted_codes is pandas.factorize(sort=True), faster for integer ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore._codes import sorted_codes


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(-50, 50), min_size=1, max_size=80),
    shift=st.sampled_from([0, 10**6, -(10**15), 2**40]),
    dtype=st.sampled_from(["int64", "int32", "uint32"]),
)
def test_sorted_codes_equal_pandas_factorize(ids: list[int], shift: int, dtype: str) -> None:
    # dense, gappy, complete (0..n-1) and sparse ranges (the sparse ones hash)
    values = np.asarray(ids, dtype=np.int64) + shift
    if dtype == "uint32":
        values = values - values.min()
    if dtype != "int64" and (
        values.max() > np.iinfo(dtype).max or values.min() < np.iinfo(dtype).min
    ):
        return
    series = pd.Series(values.astype(dtype), name="customer_id")
    codes, uniques = sorted_codes(series)
    expected_codes, expected_uniques = pd.factorize(series, sort=True)
    np.testing.assert_array_equal(codes, expected_codes)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(np.asarray(uniques), np.asarray(expected_uniques))
    assert np.asarray(uniques).dtype == np.asarray(expected_uniques).dtype


def test_sorted_codes_of_text_ids_and_of_codes_zero_to_n() -> None:
    text = pd.Series(["b", "a", "c", "a"])
    codes, uniques = sorted_codes(text)
    assert codes.tolist() == [1, 0, 2, 0]
    assert list(uniques) == ["a", "b", "c"]
    complete = pd.Series(np.array([3, 0, 2, 1, 3], dtype=np.int64))
    codes, uniques = sorted_codes(complete)
    assert codes.tolist() == [3, 0, 2, 1, 3]
    assert uniques.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("ids", [[3, 0, 2, 0, 1], [4, 0, 2, 0, 4]])
def test_codes_from_zero_are_factorize_and_never_the_callers_array(ids):
    # codes carried from an earlier factorisation start at 0: read in place, never returned
    values = pd.Series(np.array(ids, dtype=np.int64))
    codes, uniques = sorted_codes(values)
    expected, expected_uniques = pd.factorize(values, sort=True)
    np.testing.assert_array_equal(codes, expected)
    np.testing.assert_array_equal(uniques, expected_uniques)
    assert not np.shares_memory(codes, values.to_numpy())
