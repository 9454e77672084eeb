"""Bad input is refused with a ValidationError naming the field, record or value."""

from __future__ import annotations

import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.identity import Field, MatchModel, _deps, find_duplicates
from crmcore.identity._deps import rapidfuzz

RECORDS = pd.DataFrame(
    {
        "id": ["a", "b", "c"],
        "name": ["Ann Lee", "Ann Lee", "Bo"],
        "phone": ["+44 20 7946 0958", "020 7946 0958", "ask at desk"],
        "country": ["GB", "GB", "GB"],
    }
)


def test_missing_column_lists_those_present():
    with pytest.raises(ValidationError, match=r"missing column\(s\) 'email'.*id, name") as info:
        find_duplicates(RECORDS, fields={"email": "email"})
    assert info.value.field == "email"


def test_unknown_kind_names_column():
    with pytest.raises(ValidationError, match=r"fields\['name'\]: unknown comparison kind") as e:
        find_duplicates(RECORDS, fields={"name": "surname"})
    assert e.value.field == "name"
    with pytest.raises(ValidationError, match="must be a non-empty mapping"):
        find_duplicates(RECORDS, fields={})
    with pytest.raises(ValidationError, match="kind name or a Field"):
        find_duplicates(RECORDS, fields={"name": 3})


def test_ids_missing_or_repeated():
    twice = RECORDS.assign(id=["a", "a", "c"])
    with pytest.raises(ValidationError, match="'a' appears more than once"):
        find_duplicates(twice, fields={"name": "name"})
    with pytest.raises(ValidationError, match="id is missing at row 1"):
        find_duplicates(RECORDS.assign(id=["a", None, "c"]), fields={"name": "name"})


def test_unreadable_phone_names_record():
    with pytest.raises(ValidationError, match=r"phone of record 'c' is not a phone number") as e:
        find_duplicates(RECORDS, fields={"phone": "phone"})
    assert (e.value.field, e.value.row, e.value.value) == ("phone", "c", "ask at desk")
    lenient = {"phone": Field("phone", country="GB", invalid="missing")}
    pairs = find_duplicates(RECORDS, fields=lenient, threshold=0)
    assert pairs[["id_l", "id_r", "phone_level"]].to_numpy().tolist() == [["a", "b", 2]]
    # without a country the national number keeps its digits: only the last 8 agree
    no_country = {"phone": Field("phone", invalid="missing")}
    pairs = find_duplicates(RECORDS, fields=no_country, threshold=0)
    assert pairs[["id_l", "id_r", "phone_level"]].to_numpy().tolist() == [["a", "b", 1]]


def test_bad_blocking_keys():
    with pytest.raises(ValidationError, match="names column 'email', which is not in fields"):
        find_duplicates(RECORDS, fields={"name": "name"}, blocking=["email"])
    with pytest.raises(ValidationError, match="a name field has the keys prefix, initials"):
        find_duplicates(RECORDS, fields={"name": "name"}, blocking=["name:soundex"])
    with pytest.raises(ValidationError, match="non-empty list of passes"):
        find_duplicates(RECORDS, fields={"name": "name"}, blocking="name")


def test_field_options_checked():
    with pytest.raises(ValidationError, match="levels must increase"):
        Field("name", levels=(0.9, 0.8))
    with pytest.raises(ValidationError, match="tolerance"):
        Field("numeric", tolerance=-1)
    with pytest.raises(ValidationError, match="invalid must be"):
        Field("date", invalid="ignore")


def test_labels_naming_unknown_records():
    labels = pd.DataFrame({"id_l": ["a"], "id_r": ["zz"], "match": [True]})
    with pytest.raises(ValidationError, match="names record 'zz'"):
        MatchModel({"name": "name"}).fit(RECORDS, labels=labels)
    with pytest.raises(ValidationError, match="True or False"):
        MatchModel({"name": "name"}).fit(RECORDS, labels=labels.assign(id_r="b", match=[None]))


def test_missing_rapidfuzz_names_the_extra(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *args, **kwargs):
        if name.startswith("rapidfuzz"):
            raise ModuleNotFoundError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", fake)
    monkeypatch.setattr(_deps, "_loaded", [])
    with pytest.raises(ImportError, match=r"pip install 'crmcore\[identity\]'"):
        rapidfuzz()
