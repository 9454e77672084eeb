"""MatchIndex.match_new: the save-time check agrees with batch matching."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crmcore.domain import Customer
from crmcore.errors import NotFittedError, ValidationError
from crmcore.identity import Field, MatchIndex, MatchModel, find_duplicates, make_duplicates

FIELDS = {
    "name": "name",
    "email": "email",
    "phone": Field("phone", country_col="country"),
    "birth_date": "date",
    "postcode": "postcode",
}


@pytest.fixture(scope="module")
def setup():
    data = make_duplicates(1000, noise="medium", random_state=21)
    model = MatchModel(FIELDS).fit(data.records)
    return data, model, MatchIndex.build(data.records, model, alert=0.3, block=0.9)


def test_decisions(setup):
    data, _model, index = setup
    assert len(index) == len(data.records)
    row = data.records.iloc[5].to_dict()
    same = dict(row, id=None, name=row["name"].lower())
    result = index.match_new(same)
    assert result.decision == "block"
    assert result.candidates["id"].iloc[0] == row["id"]
    assert result.candidates["score"].is_monotonic_decreasing
    stranger = {
        "name": "Zebedee Quux",
        "email": "zq@nowhere.example",
        "phone": "+15555550100",
        "country": "US",
        "birth_date": "1901-01-01",
        "postcode": "99999",
    }
    result = index.match_new(stranger)
    assert result.decision == "allow"
    assert result.candidates.empty
    # only the name and birth date, both right: less evidence than a full match
    partial = index.match_new({"name": row["name"], "birth_date": row["birth_date"]})
    assert partial.decision in ("alert", "block")
    assert row["id"] in partial.candidates["id"].tolist()


def test_scores_agree_with_find_duplicates(setup):
    data, model, index = setup
    pairs = find_duplicates(data.records, model=model)
    top = pairs.iloc[:20]
    by_id = data.records.set_index("id")
    for left, right, score in zip(top["id_l"], top["id_r"], top["score"], strict=True):
        query = by_id.loc[left].to_dict()
        result = index.match_new(query)
        found = result.candidates.set_index("id")["score"]
        np.testing.assert_allclose(found[right], score, rtol=1e-9)


def test_customer_and_series_records(setup):
    data, _model, _index = setup
    customers_model = MatchModel({"name": "name", "email": "email"}).fit(data.records)
    index = MatchIndex.build(data.records, customers_model)
    row = data.records.iloc[0]
    if pd.isna(row["email"]):
        row = data.records.dropna(subset=["email"]).iloc[0]
    customer = Customer(
        id="new", name=row["name"], email=row["email"], created_at=dt.datetime.now(dt.UTC)
    )
    assert index.match_new(customer).candidates["id"].iloc[0] == row["id"]
    assert index.match_new(row).candidates["id"].iloc[0] == row["id"]


def test_bad_input(setup):
    data, model, index = setup
    with pytest.raises(ValidationError, match=r"alert .* must not exceed block"):
        MatchIndex.build(data.records, model, alert=0.9, block=0.5)
    with pytest.raises(NotFittedError):
        MatchIndex.build(data.records, MatchModel(FIELDS))
    with pytest.raises(ValidationError, match="record must be a mapping"):
        index.match_new(["Ann"])
    with pytest.raises(ValidationError, match="is not a phone number"):
        index.match_new({"name": "Ann", "phone": "call me"})
