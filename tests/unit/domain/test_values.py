from __future__ import annotations

import datetime as dt

import attrs
import pytest

from crmcore.domain import (
    CALLING_CODES,
    Address,
    Consent,
    EmailAddress,
    FrozenMapping,
    PhoneNumber,
    current_consent,
)
from crmcore.errors import ValidationError

T0 = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


class TestEmailAddress:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ("ann@example.com", "ann@example.com"),
            ("  Ann.Lee@Example.COM ", "Ann.Lee@example.com"),
            ("mailto:bo@shop.example", "bo@shop.example"),
            ("first+tag@sub.domain.co.uk", "first+tag@sub.domain.co.uk"),
            ("zoë@müller.de", "zoë@müller.de"),
        ],
    )
    def test_normalises(self, given, expected):
        assert EmailAddress(value=given).value == expected
        assert str(EmailAddress.parse(given)) == expected

    @pytest.mark.parametrize(
        "bad",
        [
            "",
            "plainaddress",
            "@example.com",
            "ann@",
            "ann@localhost",
            "ann@@example.com",
            "a b@example.com",
            "ann@exa mple.com",
            ".ann@example.com",
            "ann..lee@example.com",
            "ann@-example.com",
            "ann@example..com",
            '"ann"@example.com',
            "x" * 65 + "@example.com",
            None,
            42,
        ],
    )
    def test_refuses_invalid(self, bad):
        with pytest.raises(ValidationError) as info:
            EmailAddress(value=bad)
        assert info.value.field == "value"

    def test_domain_and_equality_after_normalisation(self):
        a = EmailAddress(value="Ann@EXAMPLE.com")
        assert a.domain == "example.com"
        assert a == EmailAddress(value="Ann@example.com")
        assert a != EmailAddress(value="ann@example.com")  # local part is case-sensitive

    def test_from_dict_accepts_string_and_mapping(self):
        assert EmailAddress.from_dict("a@b.org") == EmailAddress(value="a@b.org")
        assert EmailAddress.from_dict({"value": "a@b.org"}) == EmailAddress(value="a@b.org")


class TestPhoneNumber:
    @pytest.mark.parametrize(
        ("number", "country", "expected"),
        [
            ("020 7946 0958", "GB", "+442079460958"),
            ("020 7946 0958", "gb", "+442079460958"),
            ("(415) 555-2671", "US", "+14155552671"),
            ("1-415-555-2671", "US", "+14155552671"),
            ("030 901820", "DE", "+4930901820"),
            ("01 23 45 67 89", "FR", "+33123456789"),
            ("06 6988 1234", "IT", "+390669881234"),
            ("06 1 234 5678", "HU", "+3612345678"),
            ("8 495 123-45-67", "RU", "+74951234567"),
            ("+44 20 7946 0958", None, "+442079460958"),
            ("0044 20 7946 0958", None, "+442079460958"),
            ("+1 415 555 2671", "GB", "+14155552671"),  # international wins over country
        ],
    )
    def test_normalises_to_e164(self, number, country, expected):
        phone = PhoneNumber(number=number, country=country)
        assert phone.number == expected
        assert phone.is_e164
        assert str(phone) == expected

    def test_national_number_without_known_country_is_kept_as_digits(self):
        assert PhoneNumber(number="555 0100").number == "5550100"
        assert not PhoneNumber(number="555 0100").is_e164
        assert PhoneNumber(number="0123 456", country="ZW").number == "0123456"

    @pytest.mark.parametrize(
        ("number", "country"),
        [
            ("", None),
            ("12", None),
            ("+44 abc", None),
            ("call me", "GB"),
            ("+0 123 4567", None),
            ("+1234567890123456", None),
            ("020", "GB"),
            ("020 7946 0958 0958 0958", "GB"),
            ("555-0100 ext. 7", "US"),
        ],
    )
    def test_refuses_invalid_numbers(self, number, country):
        with pytest.raises(ValidationError) as info:
            PhoneNumber(number=number, country=country)
        assert info.value.field == "number"

    @pytest.mark.parametrize("bad", ["GBR", "G", "1A", 44])
    def test_refuses_bad_country(self, bad):
        with pytest.raises(ValidationError) as info:
            PhoneNumber(number="+442079460958", country=bad)
        assert info.value.field == "country"

    def test_refuses_non_string_number(self):
        with pytest.raises(ValidationError) as info:
            PhoneNumber(number=4420794609)  # type: ignore[arg-type]
        assert info.value.field == "number"

    def test_normalisation_is_idempotent_under_evolve(self):
        phone = PhoneNumber(number="020 7946 0958", country="GB")
        assert attrs.evolve(phone) == phone
        assert PhoneNumber.from_dict(phone.to_dict()) == phone

    def test_calling_code_table_is_well_formed(self):
        for country, (code, trunk) in CALLING_CODES.items():
            assert len(country) == 2
            assert country.isupper()
            assert code.isdigit()
            assert not code.startswith("0")
            assert trunk is None or trunk.isdigit()


class TestAddress:
    def test_country_upper_cased_and_optional_parts(self):
        a = Address(country="fr", city="Lyon")
        assert a.country == "FR"
        assert a.line1 is None

    @pytest.mark.parametrize(
        ("field", "bad"),
        [
            ("country", "France"),
            ("country", None),
            ("line1", ""),
            ("line2", "   "),
            ("city", 7),
            ("postal_code", ""),
            ("region", b"x"),
        ],
    )
    def test_refuses_invalid_fields(self, field, bad):
        kwargs = {"country": "FR", field: bad}
        with pytest.raises(ValidationError) as info:
            Address(**kwargs)
        assert info.value.field == field

    def test_round_trip(self):
        a = Address(country="JP", line1="1-1 Chiyoda", city="東京", postal_code="100-0001")
        assert Address.from_dict(a.to_dict()) == a


class TestConsent:
    def test_channel_lower_cased(self):
        assert Consent(channel=" SMS ", granted=True, at=T0).channel == "sms"

    @pytest.mark.parametrize(
        ("field", "bad"),
        [
            ("channel", ""),
            ("channel", "e mail"),
            ("channel", None),
            ("granted", 1),
            ("granted", "yes"),
            ("at", dt.datetime(2024, 1, 1)),  # noqa: DTZ001 - naive on purpose
            ("at", dt.date(2024, 1, 1)),
            ("source", ""),
        ],
    )
    def test_refuses_invalid_fields(self, field, bad):
        kwargs = {"channel": "email", "granted": True, "at": T0, field: bad}
        with pytest.raises(ValidationError) as info:
            Consent(**kwargs)
        assert info.value.field == field

    def test_round_trip(self):
        c = Consent(channel="email", granted=False, at=T0, source="web form")
        assert Consent.from_dict(c.to_dict()) == c


class TestCurrentConsent:
    history = (
        Consent(channel="email", granted=True, at=T0),
        Consent(channel="sms", granted=True, at=T0),
        Consent(channel="email", granted=False, at=T0 + dt.timedelta(days=10)),
        Consent(channel="email", granted=True, at=T0 + dt.timedelta(days=5)),
    )

    def test_latest_by_timestamp_not_by_position(self):
        found = current_consent(self.history, "EMAIL")
        assert found is not None
        assert found.granted is False
        assert found.at == T0 + dt.timedelta(days=10)

    def test_as_of_ignores_later_consents(self):
        found = current_consent(self.history, "email", as_of=T0 + dt.timedelta(days=7))
        assert found is not None
        assert found.granted is True

    def test_unknown_channel_and_before_first(self):
        assert current_consent(self.history, "post") is None
        assert current_consent(self.history, "email", as_of=T0 - dt.timedelta(seconds=1)) is None

    def test_ties_go_to_the_one_recorded_last(self):
        tie = (
            Consent(channel="email", granted=True, at=T0),
            Consent(channel="email", granted=False, at=T0),
        )
        found = current_consent(tie, "email")
        assert found is not None
        assert found.granted is False

    def test_naive_as_of_refused(self):
        with pytest.raises(ValidationError) as info:
            current_consent(self.history, "email", as_of=dt.datetime(2024, 1, 1))  # noqa: DTZ001
        assert info.value.field == "as_of"


class TestFrozenMapping:
    def test_deep_freezes_and_thaws(self):
        inner: list[object] = [1, {"b": [True, None]}]
        source = {"a": inner, "c": 1.5}
        m = FrozenMapping(source)
        assert m["a"] == (1, FrozenMapping({"b": (True, None)}))
        assert m.thaw() == source
        inner.append(2)
        assert m["a"] == (1, FrozenMapping({"b": (True, None)}))  # a copy, not a view

    def test_immutable_and_hashable(self):
        m = FrozenMapping({"a": [1]})
        with pytest.raises(TypeError):
            m["a"] = 2  # type: ignore[index]
        assert hash(m) == hash(FrozenMapping({"a": (1,)}))
        assert m == {"a": (1,)}
        assert m != {"a": (2,)}
        assert m != 3

    @pytest.mark.parametrize(
        "bad",
        [
            {"a": float("nan")},
            {"a": float("inf")},
            {"a": {1, 2}},
            {"a": dt.date(2024, 1, 1)},
            {1: "x"},
            {"a": {"b": object()}},
        ],
    )
    def test_refuses_non_json_values(self, bad):
        with pytest.raises(ValidationError):
            FrozenMapping(bad)


def test_current_consent_compares_instants_across_a_dst_fall_back():
    # Europe/Paris falls back at 03:00 CEST -> 02:00 CET on 2026-10-25.
    from zoneinfo import ZoneInfo

    from crmcore.domain import Consent, current_consent

    paris = ZoneInfo("Europe/Paris")
    granted = Consent(
        channel="email", granted=True, at=dt.datetime(2026, 10, 25, 2, 45, tzinfo=paris)
    )
    # 02:15 after the change (fold=1) is 01:15Z, thirty minutes *after* 02:45 CEST (00:45Z)
    revoked = Consent(
        channel="email", granted=False, at=dt.datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=paris)
    )
    assert current_consent([revoked, granted], "email") is revoked
    between = dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC)
    assert current_consent([revoked, granted], "email", as_of=between) is granted
