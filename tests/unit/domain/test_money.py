from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from crmcore.domain import Money
from crmcore.errors import ValidationError


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


class TestConstruction:
    def test_keeps_decimal_exactly_with_its_exponent(self):
        m = Money(amount=Decimal("1.50"), currency="EUR")
        assert m.amount == Decimal("1.50")
        assert str(m.amount) == "1.50"

    @pytest.mark.parametrize(
        ("given", "expected"), [(3, Decimal(3)), ("12.30", Decimal("12.30")), (" 7 ", Decimal(7))]
    )
    def test_accepts_int_and_decimal_text(self, given, expected):
        m = Money(amount=given, currency="USD")
        assert isinstance(m.amount, Decimal)
        assert str(m.amount) == str(expected)

    def test_currency_is_upper_cased(self):
        assert Money(amount=1, currency=" eur ").currency == "EUR"

    def test_refuses_float_naming_the_field_and_suggesting_decimal(self):
        with pytest.raises(ValidationError, match=r"not float.*Decimal\('0.1'\)") as info:
            Money(amount=0.1, currency="EUR")
        assert info.value.field == "amount"
        assert info.value.value == 0.1

    @pytest.mark.parametrize(
        "bad", [True, None, "abc", Decimal("NaN"), Decimal("Infinity"), "-inf", [1]]
    )
    def test_refuses_non_numbers_and_non_finite(self, bad):
        with pytest.raises(ValidationError) as info:
            Money(amount=bad, currency="EUR")
        assert info.value.field == "amount"

    @pytest.mark.parametrize("bad", ["EU", "EURO", "E1R", "", None, 978, "€€€"])
    def test_refuses_bad_currency_codes(self, bad):
        with pytest.raises(ValidationError) as info:
            Money(amount=1, currency=bad)
        assert info.value.field == "currency"

    @pytest.mark.parametrize("unknown", ["XYZ", "ABC", "QQQ", "eeu"])
    def test_refuses_three_letters_that_are_not_an_iso_4217_code(self, unknown):
        with pytest.raises(ValidationError, match="ISO 4217") as info:
            Money(amount=1, currency=unknown)
        assert info.value.field == "currency"
        assert info.value.value == unknown.upper()

    @pytest.mark.parametrize("withdrawn", ["HRK", "SLL", "VEF", "DEM", "FRF", "BGN"])
    def test_refuses_withdrawn_codes(self, withdrawn):
        with pytest.raises(ValidationError) as info:
            Money(amount=1, currency=withdrawn)
        assert info.value.field == "currency"

    @pytest.mark.parametrize(
        "code", ["EUR", "USD", "CHF", "SEK", "XCG", "ZWG", "SLE", "CHE", "XAU", "XDR", "XXX"]
    )
    def test_accepts_active_codes_including_funds_and_x_codes(self, code):
        assert Money(amount=1, currency=code.lower()).currency == code

    def test_code_table_is_the_2026_list_one(self):
        from crmcore.domain._currencies import ISO_4217_CODES, ISO_4217_MINOR_UNITS

        assert len(ISO_4217_CODES) == 178
        assert set(ISO_4217_MINOR_UNITS) == ISO_4217_CODES
        assert all(len(c) == 3 and c.isascii() and c.isupper() for c in ISO_4217_CODES)

    def test_is_keyword_only_frozen_and_hashable(self):
        with pytest.raises(TypeError):
            Money(Decimal(1), "EUR")  # type: ignore[call-arg]
        m = eur("1.00")
        with pytest.raises(AttributeError):
            m.amount = Decimal(2)  # type: ignore[misc]
        assert {eur("1.0"), eur("1.00")} == {eur("1")}


class TestArithmetic:
    def test_add_and_subtract_within_one_currency(self):
        assert eur("0.10") + eur("0.20") == eur("0.30")
        assert (eur("0.10") + eur("0.20")).amount == Decimal("0.30")
        assert eur("5.00") - eur("7.25") == eur("-2.25")

    @pytest.mark.parametrize(
        "op",
        [
            lambda a, b: a + b,
            lambda a, b: a - b,
            lambda a, b: a < b,
            lambda a, b: a <= b,
            lambda a, b: a > b,
            lambda a, b: a >= b,
        ],
    )
    def test_mixing_currencies_raises(self, op):
        with pytest.raises(ValidationError, match="EUR and USD") as info:
            op(eur("1"), Money(amount=1, currency="USD"))
        assert info.value.field == "currency"

    def test_adding_a_plain_number_raises(self):
        with pytest.raises(ValidationError):
            eur("1") + 1  # type: ignore[operator]

    def test_different_currencies_are_unequal_not_an_error(self):
        assert eur("1") != Money(amount=1, currency="USD")

    def test_multiply_and_divide_by_int_or_decimal(self):
        assert eur("19.99") * 3 == eur("59.97")
        assert 2 * eur("1.25") == eur("2.50")
        assert eur("10") / 4 == eur("2.5")
        assert eur("10") * Decimal("0.5") == eur("5")

    @pytest.mark.parametrize("factor", [0.5, True, "2", None])
    def test_multiply_refuses_floats_and_others(self, factor):
        with pytest.raises(ValidationError):
            eur("1") * factor

    def test_division_by_zero_raises_validation_error(self):
        with pytest.raises(ValidationError, match="zero"):
            eur("1") / 0

    def test_negation_abs_and_sign_queries(self):
        m = -eur("3.10")
        assert m.is_negative()
        assert abs(m) == eur("3.10")
        assert +m is m
        assert Money.zero("EUR").is_zero()

    def test_ordering_within_currency(self):
        assert eur("1.00") < eur("1.01") <= eur("1.01") < eur("2")
        assert max([eur("3"), eur("10"), eur("2")]) == eur("10")

    def test_total_sums_and_checks_currency(self):
        assert Money.total([eur("1.10"), eur("2.20")], currency="EUR") == eur("3.30")
        assert Money.total([], currency="GBP") == Money.zero("GBP")
        with pytest.raises(ValidationError):
            Money.total([eur("1")], currency="USD")


class TestRounding:
    def test_rounds_to_minor_units_half_even(self):
        assert eur("10.005").rounded().amount == Decimal("10.00")
        assert eur("10.015").rounded().amount == Decimal("10.02")
        assert eur("10.005").rounded(ROUND_HALF_UP).amount == Decimal("10.01")

    @pytest.mark.parametrize(
        ("currency", "units"),
        [("EUR", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4), ("UYW", 4), ("XOF", 0), ("ISK", 0)],
    )
    def test_minor_units(self, currency, units):
        assert Money(amount=1, currency=currency).minor_units == units
        rounded = Money(amount="1.123456", currency=currency).rounded()
        assert rounded.amount.as_tuple().exponent == -units

    @pytest.mark.parametrize("currency", ["XAU", "XAG", "XDR", "XXX"])
    def test_codes_without_a_minor_unit_refuse_to_round(self, currency):
        gold = Money(amount="1.2345", currency=currency)
        with pytest.raises(ValidationError, match="no minor unit") as info:
            gold.rounded()
        assert info.value.field == "currency"


class TestSerialisation:
    def test_round_trips_through_json_exactly(self):
        m = eur("1234567890.123456789")
        text = json.dumps(m.to_dict())
        back = Money.from_dict(json.loads(text))
        assert back == m
        assert str(back.amount) == "1234567890.123456789"

    def test_from_dict_names_bad_and_unknown_fields(self):
        with pytest.raises(ValidationError) as info:
            Money.from_dict({"amount": "x", "currency": "EUR"})
        assert info.value.field == "amount"
        with pytest.raises(ValidationError) as info:
            Money.from_dict({"amount": "1", "currency": "EUR", "rate": 1})
        assert info.value.field == "rate"
        with pytest.raises(ValidationError) as info:
            Money.from_dict({"amount": "1"})
        assert info.value.field == "currency"

    def test_str(self):
        assert str(eur("-4.20")) == "-4.20 EUR"
