"""Date fields read through the one clock, in one or several formats."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.identity import Field, find_duplicates
from crmcore.identity._dates import read_days

DAY_1990_03_04 = 7367  # (date(1990, 3, 4) - date(1970, 1, 1)).days


def test_days_constant():
    assert (dt.date(1990, 3, 4) - dt.date(1970, 1, 1)).days == DAY_1990_03_04


def test_iso_only_by_default():
    s = pd.Series(["1990-03-04", "04.03.1990", None, " ", dt.date(1990, 3, 4), "1990-3-4"])
    col = read_days(s, column="dob", formats=None)
    assert col.days[[0, 4, 5]].tolist() == [DAY_1990_03_04] * 3
    assert col.missing.tolist() == [False, False, True, True, False, False]
    assert col.invalid.tolist() == [False, True, False, False, False, False]


def test_several_formats_in_priority_order():
    s = pd.Series(["1990-03-04", "04.03.1990", "03/04/1990", "31.02.1990", "garbage"])
    col = read_days(s, column="dob", formats=["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y"])
    assert col.days[:3].tolist() == [DAY_1990_03_04] * 3
    # an impossible date and text of no format's shape are isolated, not fatal
    assert col.invalid.tolist() == [False, False, False, True, True]


def test_datetime64_and_aware_columns():
    naive = pd.Series(pd.to_datetime(["1990-03-04 23:30", None]))
    col = read_days(naive, column="d", formats=None)
    assert col.days[0] == DAY_1990_03_04
    assert col.missing.tolist() == [False, True]
    # aware values: the day on their own wall clock
    aware = pd.Series(pd.to_datetime(["1990-03-04 23:30"]).tz_localize("Asia/Seoul"))
    assert read_days(aware, column="d", formats=None).days[0] == DAY_1990_03_04


def test_unreadable_date_names_record_or_is_missing():
    records = pd.DataFrame({"id": ["a", "b"], "dob": ["1990-03-04", "04/03/1990"]})
    with pytest.raises(ValidationError, match=r"dob of record 'b' is not a date") as info:
        find_duplicates(records, fields={"dob": "date"})
    assert info.value.row == "b"
    pairs = find_duplicates(records, fields={"dob": Field("date", invalid="missing")}, threshold=0)
    assert pairs.empty  # b's date is missing: nothing to block on


def test_unsupported_directive_refused():
    with pytest.raises(ValidationError, match="directive %U"):
        read_days(pd.Series(["x"]), column="d", formats=["%U"])


def test_out_of_range_date_is_invalid():
    col = read_days(pd.Series(["9999-12-31", "1990-03-04"]), column="d", formats=None)
    assert col.invalid.tolist() == [True, False]
    assert np.issubdtype(col.days.dtype, np.integer)
