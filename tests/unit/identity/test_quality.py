"""data_quality: completeness, validity, uniqueness, staleness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.identity import Field, data_quality


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "name": ["Ann Lee", "ann  lee", "123", None, "Bo"],
            "email": ["a@example.org", "a@EXAMPLE.org", "x@", None, "bo@example.org"],
            "phone": ["020 7946 0958", "+44 20 7946 0958", "call me", None, None],
            "birth_date": ["1990-03-04", "2030-01-01", "31.02.1990", None, "1850-01-01"],
            "spend": [10.0, np.nan, -5.0, 3.0, np.inf],
            "updated_at": pd.to_datetime(
                ["2024-12-01", "2023-01-01", "2024-06-30", None, "2024-01-01"], utc=True
            ),
        }
    )


def test_measures(frame):
    fields = {
        "name": "name",
        "email": "email",
        "phone": Field("phone", country="GB"),
        "birth_date": Field("date", valid_range=("1900-01-01", "2024-12-31")),
        "spend": Field("numeric", valid_range=(0, None)),
    }
    report = data_quality(
        frame, fields=fields, as_of="2024-12-31", updated_col="updated_at", stale_after="12M"
    )
    assert report.index.tolist() == list(fields)
    assert report["rows"].tolist() == [5] * 5
    assert report["present"].tolist() == [4, 4, 3, 4, 4]
    assert report["valid"].tolist() == [3, 3, 2, 1, 2]
    np.testing.assert_allclose(report.loc["email", "validity"], 3 / 4, rtol=1e-12)
    # the two Ann Lees and the two e-mails / phones are one value each after normalising
    assert report.loc["name", "distinct"] == 2
    assert report.loc["email", "distinct"] == 2
    assert report.loc["phone", "distinct"] == 1
    assert report.loc["phone", "duplicated"] == 1
    # stale: not updated in (2023-12-31, 2024-12-31]: record 2, and 4 (never updated)
    assert report.loc["name", "stale"] == 1  # names of records 1, 2, 3, 5
    assert report.loc["spend", "stale"] == 1  # spend of records 1, 3, 4, 5
    np.testing.assert_allclose(report.loc["spend", "staleness"], 1 / 4, rtol=1e-12)
    assert report["kind"].tolist() == ["name", "email", "phone", "date", "numeric"]


def test_default_fields_and_no_staleness(frame):
    report = data_quality(frame.drop(columns=["updated_at"]))
    assert report.index.tolist() == ["name", "email", "phone", "birth_date", "spend"]
    assert report.loc["spend", "kind"] == "numeric"
    assert "stale" not in report.columns
    np.testing.assert_allclose(report.loc["name", "completeness"], 0.8, rtol=1e-12)


def test_refusals(frame):
    with pytest.raises(ValidationError, match="needs as_of"):
        data_quality(frame, fields={"name": "name"}, updated_col="updated_at")
    with pytest.raises(ValidationError, match="missing column"):
        data_quality(frame, fields={"nickname": "name"})
    with pytest.raises(ValidationError, match="stale_after"):
        data_quality(
            frame,
            fields={"name": "name"},
            as_of="2024-12-31",
            updated_col="updated_at",
            stale_after=30,
        )
    with pytest.raises(ValidationError, match="must be a pandas DataFrame"):
        data_quality([1, 2])
