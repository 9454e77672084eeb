from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from crmcore._time import require_aware
from crmcore._validation import (
    as_binary_array,
    as_count_array,
    as_float_array,
    check_columns,
    check_in_range,
    check_monotone,
    check_non_empty,
    check_random_state,
    check_same_length,
    check_scalar,
    check_weights,
)
from crmcore.errors import ValidationError


def test_float_array_is_a_copy():
    src = np.array([1.0, 2.0])
    out = as_float_array(src, name="x")
    out[0] = 99
    assert src[0] == 1.0


@pytest.mark.parametrize(
    ("values", "pos", "bad"),
    [
        ([1.0, np.nan, 3.0], 1, "nan"),
        ([np.inf, 1.0], 0, "inf"),
        ([1, 2, -np.inf], 2, "-inf"),
    ],
)
def test_non_finite_values_are_named_with_their_position(values, pos, bad):
    with pytest.raises(
        ValidationError, match=rf"x must be finite; got {bad} for row at position {pos}"
    ) as info:
        as_float_array(values, name="x")
    assert info.value.field == "x"
    assert info.value.row == pos


def test_series_index_labels_name_the_offending_customer():
    s = pd.Series([1.0, 2.0, np.nan], index=["a", "b", "c"])
    with pytest.raises(ValidationError, match="customer 'c'") as info:
        as_float_array(s, name="recency", row_name="customer")
    assert info.value.row == "c"


def test_more_offenders_are_counted():
    with pytest.raises(ValidationError, match=r"\(2 more\)"):
        as_float_array([np.nan, np.nan, np.nan], name="x")


@pytest.mark.parametrize(
    "values",
    [
        ["1", "2"],
        np.array(["2024-01-01"], dtype="datetime64[D]"),
        [True, False],
        pd.Series(["a", "b"], dtype="category"),
    ],
)
def test_non_numeric_input_is_refused_not_coerced(values):
    with pytest.raises(ValidationError, match=r"must be numeric|must be a number"):
        as_float_array(values, name="x")


def test_object_arrays_accept_numbers_and_decimals_but_not_none_or_strings():
    out = as_float_array(np.array([1, 2.5, Decimal("3.25")], dtype=object), name="x")
    np.testing.assert_array_equal(out, [1.0, 2.5, 3.25])
    with pytest.raises(ValidationError, match="must be a number; got None for row at position 1"):
        as_float_array(np.array([1, None], dtype=object), name="x")
    with pytest.raises(ValidationError, match="got '7'"):
        as_float_array(np.array([1, "7"], dtype=object), name="x")


def test_nullable_integer_missing_value_is_refused():
    s = pd.Series([1, None, 3], dtype="Int64")
    with pytest.raises(ValidationError, match="must be a number; got <NA>"):
        as_float_array(s, name="frequency")


def test_allow_nan_still_refuses_infinity():
    out = as_float_array([1.0, np.nan], name="x", allow_nan=True)
    assert np.isnan(out[1])
    with pytest.raises(ValidationError):
        as_float_array([np.inf], name="x", allow_nan=True)


def test_ndim_is_checked():
    with pytest.raises(ValidationError, match="must be 1-dimensional"):
        as_float_array([[1.0]], name="x")
    assert as_float_array([[1.0, 2.0]], name="x", ndim=2).shape == (1, 2)


def test_counts_check_before_casting():
    # A cast first would turn NaN into INT64_MIN and 1.5 into 1.
    with pytest.raises(ValidationError, match="must be finite"):
        as_count_array([1, np.nan], name="frequency")
    with pytest.raises(ValidationError, match=r"whole number; got 1\.5"):
        as_count_array([0, 1.5], name="frequency")
    with pytest.raises(ValidationError, match=">= 0; got -1"):
        as_count_array([-1, 2], name="frequency")
    with pytest.raises(ValidationError, match="too large"):
        as_count_array([1e30], name="frequency")
    out = as_count_array(np.array([0.0, 3.0]), name="frequency")
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [0, 3])


def test_range_check_reports_bounds():
    with pytest.raises(ValidationError, match=r"must lie in \[0, 10\]; got 11"):
        check_in_range(np.array([3.0, 11.0]), name="score", low=0, high=10)
    check_in_range(np.array([0.0, 10.0]), name="score", low=0, high=10)


def test_same_length():
    assert check_same_length(a=[1], b=[2]) == 1
    assert check_same_length() == 0
    with pytest.raises(ValidationError) as info:
        check_same_length(a=[1], b=[2], c=[])
    assert info.value.field == "c"


def test_columns_lists_what_is_there():
    df = pd.DataFrame({"frequency": [1], "T": [2]})
    with pytest.raises(
        ValidationError, match="missing column\\(s\\) 'recency'; columns present: frequency, T"
    ) as info:
        check_columns(df, ["frequency", "recency", "T"])
    assert info.value.field == "recency"
    with pytest.raises(ValidationError, match="must be a pandas DataFrame"):
        check_columns([1, 2], ["a"])


def test_non_empty():
    with pytest.raises(ValidationError, match="is empty"):
        check_non_empty(pd.DataFrame(), name="transactions")
    check_non_empty([1], name="x")


def test_monotone_numbers_and_dates():
    check_monotone([1, 1, 2], name="t")
    with pytest.raises(ValidationError, match="must be increasing"):
        check_monotone([1, 1, 2], name="t", strict=True)
    dates = pd.Series(pd.to_datetime(["2024-01-02", "2024-01-01"]), index=["x", "y"])
    with pytest.raises(ValidationError, match=r"sorted.*row 'y'"):
        check_monotone(dates, name="date")


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (1.0, {"low": 0, "high": 1, "high_inclusive": False}, r"\[0, 1\)"),
        (0.0, {"low": 0, "low_inclusive": False}, r"\(0, inf\)"),
        (float("nan"), {}, "must lie in"),
        ("0.5", {}, "must be a number"),
        (True, {}, "must be a number"),
        (2.5, {"integer": True}, "whole number"),
    ],
)
def test_scalar_checks(value, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        check_scalar(value, name="p", **kwargs)


def test_scalar_accepts_numpy_and_decimal():
    assert check_scalar(np.float32(0.5), name="p", low=0, high=1) == 0.5
    assert check_scalar(Decimal("2"), name="n", integer=True) == 2.0


def test_weights():
    np.testing.assert_array_equal(check_weights(None, 3), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(check_weights([2, 0, 1], 3), [2.0, 0.0, 1.0])
    with pytest.raises(ValidationError, match="one entry per row"):
        check_weights([1, 2], 3)
    with pytest.raises(ValidationError, match=">= 0"):
        check_weights([1, -1], 2)
    with pytest.raises(ValidationError, match="whole number"):
        check_weights([1, 0.5], 2)
    check_weights([1, 0.5], 2, integer=False)
    with pytest.raises(ValidationError, match="all zero"):
        check_weights([0, 0], 2)


def test_require_aware():
    aware = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    assert require_aware(aware, field="at") is aware
    with pytest.raises(ValidationError, match="at must be timezone-aware") as info:
        require_aware(dt.datetime(2024, 5, 1), field="at")  # noqa: DTZ001 - the point of the test
    assert info.value.field == "at"
    with pytest.raises(ValidationError, match="must be a datetime; got date"):
        require_aware(dt.date(2024, 5, 1), field="at")


def test_random_state():
    a = check_random_state(7).random(3)
    b = check_random_state(np.int64(7)).random(3)
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(1)
    assert check_random_state(gen) is gen
    assert isinstance(check_random_state(None), np.random.Generator)
    assert isinstance(check_random_state(np.random.SeedSequence(3)), np.random.Generator)
    for bad in (True, 1.5, "seed"):
        with pytest.raises(ValidationError, match="random_state"):
            check_random_state(bad)


# ---------------------------------------------------------------- binary labels


@pytest.mark.parametrize(
    "values",
    [
        [True, False, True],
        np.array([True, False, True]),
        pd.Series([True, False, True]),
        pd.Series([True, False, True], dtype="boolean"),
        [1, 0, 1],
        np.array([1.0, 0.0, 1.0]),
        pd.Series([1, 0, 1], dtype="Int64"),
    ],
)
def test_binary_labels_accept_booleans_and_zero_one(values):
    out = as_binary_array(values, name="y")
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 0.0, 1.0])


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([0, 2], "must be 0 or 1 \\(1 = churned\\); got 2.0 for customer 'b'"),
        ([0, 0.5], "must be 0 or 1"),
        ([0, float("nan")], "must be finite"),
        ([True, None], "must be a number"),
        (["1", "0"], "must be a number"),
    ],
)
def test_binary_labels_refuse_anything_else(values, match):
    s = pd.Series(values, index=["a", "b"])
    with pytest.raises(ValidationError, match=match) as info:
        as_binary_array(s, name="y", meaning="1 = churned", row_name="customer")
    assert info.value.field == "y"


def test_binary_labels_must_be_one_dimensional():
    with pytest.raises(ValidationError, match="1-dimensional"):
        as_binary_array(np.array([[True, False]]), name="y")
