"""customer_frame: ages, profile, behaviour, outputs, and the seeds' segment rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.identity import customer_frame
from crmcore.segmentation import Rule

SEEDS_RULE = "gender == 'female' and age between 30 and 39 and purchases_6m >= 3"


@pytest.fixture
def customers():
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "birth_date": [
                "1990-05-01",
                "1985-01-01",
                "1994-12-31",
                None,
                "1996-02-29",
                "1990-01-01",
            ],
            "gender": ["female", "female", "male", "female", "female", "female"],
            "region": ["north", "south", "north", "east", "west", "north"],
            "created_at": pd.to_datetime(
                [
                    "2020-01-01",
                    "2020-01-01",
                    "2020-01-01",
                    "2020-01-01",
                    "2020-01-01",
                    "2025-06-01",
                ]
            ),
        }
    )


@pytest.fixture
def tx():
    rows = [
        ("a", "2024-07-15"), ("a", "2024-09-01"), ("a", "2024-12-30"),  # 3 in six months
        ("b", "2024-07-01"), ("b", "2024-08-01"), ("b", "2024-12-01"),  # 2024-07-01: outside
        ("c", "2024-10-01"), ("c", "2024-11-01"), ("c", "2024-12-01"),
        ("e", "2024-08-01"), ("e", "2024-09-01"), ("e", "2024-10-01"), ("e", "2025-01-02"),
    ]  # fmt: skip
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows]),
            "amount": np.arange(1.0, len(rows) + 1),
        }
    )


def test_profile_behaviour_and_rule(customers, tx):
    frame = customer_frame(customers, tx, as_of="2024-12-31")
    assert frame.index.tolist() == ["a", "b", "c", "d", "e"]  # f created after as_of
    assert frame["age"].tolist() == [34, 39, 30, pd.NA, 28]
    assert frame["region"].tolist() == ["north", "south", "north", "east", "west"]
    # six calendar months back from the end of 2024-12-31: after 2024-06-30 23:59:59...
    assert frame["purchases_6m"].tolist() == [3, 3, 3, 0, 3]
    # 180 days is not six months: b's purchase of 2024-07-01 falls outside it
    assert frame["purchases_180d"].tolist() == [3, 2, 3, 0, 3]
    assert frame.loc["d", "n_purchases"] == 0
    assert frame.loc["e", "n_purchases"] == 3  # the purchase after as_of is not history
    np.testing.assert_allclose(frame.loc["a", "spend_6m"], 1 + 2 + 3, rtol=1e-12)
    selected = Rule.parse(SEEDS_RULE).select(frame)
    assert selected.index.tolist() == ["a", "b"]


def test_leap_day_birthday(customers):
    ages = customer_frame(customers, as_of="2025-02-28")["age"]
    assert ages["e"] == 28  # born 1996-02-29: 29 only on 2025-03-01
    assert customer_frame(customers, as_of="2025-03-01")["age"]["e"] == 29
    assert customer_frame(customers, as_of="2024-02-29")["age"]["e"] == 28


def test_outputs_joined(customers, tx):
    churn = pd.Series([0.1, 0.9], index=["a", "c"], name="churn_probability")
    clv = pd.DataFrame({"clv": [100.0, 50.0]}, index=["b", "a"])
    frame = customer_frame(customers, tx, as_of="2024-12-31", outputs=[churn, clv])
    assert frame.loc["a", "churn_probability"] == pytest.approx(0.1, rel=1e-12)
    assert np.isnan(frame.loc["b", "churn_probability"])
    assert frame.loc["a", "clv"] == pytest.approx(50.0, rel=1e-12)
    with pytest.raises(ValidationError, match="'age' would appear twice"):
        customer_frame(customers, as_of="2024-12-31", outputs=pd.Series([1], name="age"))


def test_refusals(customers, tx):
    with pytest.raises(ValidationError, match="as_of is required"):
        customer_frame(customers, tx, as_of=None)
    late = customers.assign(birth_date=customers["birth_date"].replace("1990-05-01", "2026-01-01"))
    with pytest.raises(ValidationError, match="birth_date of customer 'a' is after as_of"):
        customer_frame(late, as_of="2024-12-31")
    bad = customers.assign(birth_date=customers["birth_date"].replace("1990-05-01", "01/05/1990"))
    with pytest.raises(ValidationError, match="birth_date of record 'a' is not a date"):
        customer_frame(bad, as_of="2024-12-31")
    with pytest.raises(ValidationError, match="missing column"):
        customer_frame(customers, as_of="2024-12-31", profile_cols=["income"])
    with pytest.raises(ValidationError, match="given twice"):
        customer_frame(customers, tx, as_of="2024-12-31", windows=["6M", "6M"])
