"""to_dict / from_dict formats and the encode/decode helpers."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crmcore.domain import (
    Customer,
    Opportunity,
    Order,
    Ticket,
    decode_date,
    decode_datetime,
    decode_id,
    encode_date,
    encode_datetime,
    encode_id,
)
from crmcore.errors import ValidationError

PARIS = ZoneInfo("Europe/Paris")
T0 = dt.datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=PARIS)


def full_opportunity() -> Opportunity:
    return Opportunity.from_dict(
        {
            "id": "urn:uuid:12345678-1234-5678-1234-567812345678",
            "version": 4,
            "custom": {"region": "EMEA", "lines": [{"sku": "A", "qty": 2}]},
            "account_id": "ACC/0042",
            "name": "Renewal 2024",
            "amount": {"amount": "12000.50", "currency": "EUR"},
            "expected_close_date": "2024-06-30",
            "probability": 62.5,
            "created_at": "2024-03-01T09:30:15.123456+01:00[Europe/Paris]",
            "stage": "negotiation",
            "probability_is_manual": True,
            "closed_at": "2024-04-01T00:00:00+00:00",
        }
    )


class TestEntityDicts:
    def test_documented_json_formats(self):
        opp = full_opportunity()
        d = opp.to_dict()
        assert d["id"] == "urn:uuid:12345678-1234-5678-1234-567812345678"
        assert d["amount"] == {"amount": "12000.50", "currency": "EUR"}
        assert d["expected_close_date"] == "2024-06-30"
        assert d["created_at"] == "2024-03-01T09:30:15.123456+01:00[Europe/Paris]"
        assert d["closed_at"] == "2024-04-01T00:00:00+00:00"
        assert d["probability"] == 62.5
        assert d["custom"] == {"region": "EMEA", "lines": [{"sku": "A", "qty": 2}]}
        assert d["lost_reason"] is None
        assert set(d) == {
            "id", "version", "custom", "account_id", "name", "amount",
            "expected_close_date", "probability", "created_at", "stage",
            "probability_is_manual", "lost_reason", "last_open_stage", "closed_at",
            "owner", "contact_id", "campaign_id",
        }  # fmt: skip

    def test_json_round_trip_is_lossless(self):
        opp = full_opportunity()
        back = Opportunity.from_dict(json.loads(json.dumps(opp.to_dict())))
        assert back == opp
        assert back.id == uuid.UUID("12345678-1234-5678-1234-567812345678")
        assert back.created_at.tzinfo is PARIS
        assert str(back.amount.amount) == "12000.50"
        assert isinstance(back.custom["lines"], tuple)

    def test_to_dict_values_are_plain_json_types(self):
        t = Ticket(
            id="T-1", customer_id="C-1", subject="x", channel="chat", created_at=T0
        ).to_dict()
        assert type(t["channel"]) is str
        assert type(t["priority"]) is str
        assert t["priority"] == "normal"

    def test_from_dict_accepts_python_objects_as_a_database_row_would(self):
        row = {
            "id": "O-1",
            "customer_id": uuid.UUID(int=5),
            "placed_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            "amount": {"amount": Decimal("9.90"), "currency": "EUR"},
            "status": "completed",
        }
        order = Order.from_dict(row)
        assert order.amount.amount == Decimal("9.90")
        assert Order.from_dict(order.to_dict()) == order

    def test_optional_fields_may_be_omitted(self):
        c = Customer.from_dict({"id": "C-1", "name": "Ada", "created_at": "2024-01-01T00:00:00Z"})
        assert c.email is None
        assert c.created_at == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"created_at": "2024-01-01T00:00:00"}, "created_at"),  # no offset
            ({"created_at": "yesterday"}, "created_at"),
            ({"created_at": "2024-01-01T00:00:00+01:00[Mars/Olympus]"}, "created_at"),
            ({"created_at": 1704067200}, "created_at"),
            ({"birth_date": "01/02/1990"}, "birth_date"),
            ({"address": {"city": "Paris"}}, "address"),
            ({"phone": {"number": "x", "country": None}}, "phone"),
            ({"consents": [{"channel": "email", "granted": True}]}, "consents"),
            ({"email": "bad"}, "email"),
            ({"nickname": "Ada"}, "nickname"),
        ],
    )
    def test_from_dict_errors_name_the_field(self, change, field):
        data = {"id": "C-1", "name": "Ada", "created_at": "2024-01-01T00:00:00Z", **change}
        with pytest.raises(ValidationError) as info:
            Customer.from_dict(data)
        assert info.value.field == field

    def test_from_dict_missing_required_field(self):
        with pytest.raises(ValidationError, match="missing required field 'name'") as info:
            Customer.from_dict({"id": "C-1", "created_at": "2024-01-01T00:00:00Z"})
        assert info.value.field == "name"

    def test_from_dict_needs_a_mapping(self):
        with pytest.raises(ValidationError):
            Customer.from_dict([("id", "C-1")])  # type: ignore[arg-type]

    def test_money_amount_float_refused_in_from_dict(self):
        data = full_opportunity().to_dict()
        data["amount"] = {"amount": 12000.5, "currency": "EUR"}
        with pytest.raises(ValidationError) as info:
            Opportunity.from_dict(data)
        assert info.value.field == "amount"


class TestHelpers:
    def test_ids(self):
        u = uuid.uuid5(uuid.NAMESPACE_DNS, "example.org")
        assert encode_id("ERP-1") == "ERP-1"
        assert decode_id(encode_id(u)) == u
        assert decode_id(u) == u
        assert decode_id("ERP-1") == "ERP-1"
        with pytest.raises(ValidationError):
            decode_id("")

    @pytest.mark.parametrize(
        "value",
        [
            dt.datetime(2024, 7, 1, 12, tzinfo=PARIS),
            dt.datetime(2024, 10, 27, 2, 30, fold=0, tzinfo=PARIS),  # ambiguous hour
            dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS),
            dt.datetime(2024, 7, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
            dt.datetime(2024, 7, 1, 12, 0, 0, 1, tzinfo=dt.UTC),
        ],
    )
    def test_datetimes_round_trip_with_zone_offset_and_fold(self, value):
        back = decode_datetime(encode_datetime(value))
        assert back == value
        assert back.utcoffset() == value.utcoffset()
        assert back.tzinfo == value.tzinfo or back.tzinfo is value.tzinfo
        assert (back.year, back.hour, back.minute, back.microsecond) == (
            value.year,
            value.hour,
            value.minute,
            value.microsecond,
        )

    def test_ambiguous_times_keep_their_fold(self):
        first = dt.datetime(2024, 10, 27, 2, 30, fold=0, tzinfo=PARIS)
        second = first.replace(fold=1)
        assert encode_datetime(first) != encode_datetime(second)
        assert decode_datetime(encode_datetime(second)).fold == 1

    def test_naive_refused(self):
        with pytest.raises(ValidationError):
            encode_datetime(dt.datetime(2024, 1, 1))  # noqa: DTZ001
        with pytest.raises(ValidationError) as info:
            decode_datetime("2024-01-01T00:00:00", field="placed_at")
        assert info.value.field == "placed_at"

    def test_dates(self):
        assert decode_date(encode_date(dt.date(2024, 2, 29))) == dt.date(2024, 2, 29)
        with pytest.raises(ValidationError):
            decode_date(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        with pytest.raises(ValidationError):
            decode_date("2024-02-30")

    @pytest.mark.parametrize(
        "value", [dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC), "2024-01-01", None, 20240101]
    )
    def test_encode_date_refuses_non_dates_and_datetimes(self, value):
        # A datetime used to encode as '2024-01-01T12:00:00+00:00', which
        # decode_date then refused: the round trip silently broke.
        with pytest.raises(ValidationError) as info:
            encode_date(value)
        assert info.value.field == "date"


class TestEdgeCasesOfTime:
    @pytest.mark.parametrize("fold", [0, 1])
    def test_non_existent_local_time_round_trips_exactly(self, fold):
        # 02:30 on 31 March 2024 does not exist in Paris (clocks jump 02:00 -> 03:00)
        gap = dt.datetime(2024, 3, 31, 2, 30, fold=fold, tzinfo=PARIS)
        back = decode_datetime(encode_datetime(gap))
        assert (back.hour, back.minute, back.fold) == (2, 30, fold)
        assert back == gap
        assert back.utcoffset() == gap.utcoffset()

    def test_offset_that_the_zone_never_had_keeps_the_instant(self):
        text = "2024-07-01T12:00:00+05:00[Europe/Paris]"
        back = decode_datetime(text)
        assert back.tzinfo is PARIS
        assert back == dt.datetime(2024, 7, 1, 7, 0, tzinfo=dt.UTC)


def test_entities_pickle_and_deepcopy():
    import copy
    import pickle

    opp = full_opportunity()
    assert pickle.loads(pickle.dumps(opp)) == opp
    assert copy.deepcopy(opp) == opp
    assert hash(pickle.loads(pickle.dumps(opp))) == hash(opp)
