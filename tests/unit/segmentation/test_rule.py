"""Rule language: valid rules with expected masks, invalid rules with positions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import RuleSyntaxError, ValidationError
from crmcore.segmentation import Rule


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [25.0, 34.0, 38.0, np.nan, 51.0],
            "purchases": [0, 3, 5, 2, 8],
            "tier": pd.Series(["gold", "silver", "gold", None, "bronze"], dtype="str"),
            "city": pd.Categorical(["Oslo", "Paris", None, "Oslo", "Rome"]),
            "vip": [True, False, False, True, False],
            "joined": pd.to_datetime(
                ["2023-12-31", "2024-01-31", "2024-02-01 09:00", None, "2024-06-30"],
                format="ISO8601",
            ),
            "order count": [1, 2, 3, 4, 5],
            "and": [1, 0, 1, 0, 1],
        }
    )


VALID = [
    ("age > 30", [0, 1, 1, 0, 1]),
    ("age >= 34 and age <= 38", [0, 1, 1, 0, 0]),
    ("age between 30 and 39", [0, 1, 1, 0, 0]),
    ("age not between 30 and 39", [1, 0, 0, 1, 1]),
    ("purchases in [0, 8]", [1, 0, 0, 0, 1]),
    ("purchases not in [0, 8]", [0, 1, 1, 1, 0]),
    ("tier == 'gold'", [1, 0, 1, 0, 0]),
    ("tier != 'gold'", [0, 1, 0, 1, 1]),
    ("tier != 'gold' and tier is not null", [0, 1, 0, 0, 1]),
    ("tier < 'h'", [1, 0, 1, 0, 1]),
    ("tier in ['gold', 'bronze']", [1, 0, 1, 0, 1]),
    ("tier is null", [0, 0, 0, 1, 0]),
    ("tier is not null", [1, 1, 1, 0, 1]),
    ("city == 'Oslo'", [1, 0, 0, 1, 0]),
    ("city in ['Paris', 'Rome']", [0, 1, 0, 0, 1]),
    ("city is null", [0, 0, 1, 0, 0]),
    ("city != 'Oslo'", [0, 1, 1, 0, 1]),
    ("city not in ['Oslo']", [0, 1, 1, 0, 1]),
    ("vip == true", [1, 0, 0, 1, 0]),
    ("vip != TRUE", [0, 1, 1, 0, 1]),
    ("joined >= date'2024-01-31'", [0, 1, 1, 0, 1]),
    ("joined < date'2024-02-01 09:00'", [1, 1, 0, 0, 0]),
    ("joined between date'2024-01-01' and date'2024-03-01'", [0, 1, 1, 0, 0]),
    ("`order count` >= 4", [0, 0, 0, 1, 1]),
    ("`and` == 1 and purchases > 0", [0, 0, 1, 0, 1]),
    # precedence: not > and > or
    ("age < 30 or purchases > 4 and vip == false", [1, 0, 1, 0, 1]),
    ("(age < 30 or purchases > 4) and vip == false", [0, 0, 1, 0, 1]),
    ("not vip == true and purchases > 2", [0, 1, 1, 0, 1]),
    ("not (vip == true and purchases > 1)", [1, 1, 1, 0, 1]),
    ("NOT not vip == true", [1, 0, 0, 1, 0]),
    # missing values: every comparison is false except !=, which is exactly not ==;
    # not / and / or are plain boolean operations (row 3 has a missing age)
    ("not age > 30", [1, 0, 0, 1, 0]),
    ("age > 30 or age <= 30", [1, 1, 1, 0, 1]),
    ("age > 30 or age is null", [0, 1, 1, 1, 1]),
    ("age != 25", [0, 1, 1, 1, 1]),
    ("not age == 25", [0, 1, 1, 1, 1]),
    ("age in [25]", [1, 0, 0, 0, 0]),
    ("age not in [25]", [0, 1, 1, 1, 1]),
    ("not (age > 100 and vip == true)", [1, 1, 1, 1, 1]),
    ("purchases > -1.5e0", [1, 1, 1, 1, 1]),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_rules(frame, text, expected):
    mask = Rule.parse(text).mask(frame)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, np.array(expected, dtype=bool))


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_canonical_text_round_trips(frame, text, expected):
    rule = Rule.parse(text)
    again = Rule.parse(str(rule))
    assert again == rule
    np.testing.assert_array_equal(again.mask(frame), np.array(expected, dtype=bool))


INVALID = [
    # text, position, an expected item (or None)
    ("", 0, "field name"),
    ("age >", 5, "number"),
    ("age > 30 and", 12, "field name"),
    ("age = 30", 4, "=="),
    ("age 30", 4, "=="),
    ("age > 30 age < 40", 9, "and"),
    ("(age > 30", 9, "')'"),
    ("age > 30)", 8, "end of rule"),
    ("age between 30 or 40", 15, "and"),
    ("age between 30", 14, "and"),
    ("age in 1, 2", 7, "'['"),
    ("age in [1, 2", 12, "']'"),
    ("age in []", 8, "number"),
    ("age is 3", 7, "null"),
    ("age is not 3", 11, "null"),
    ("age == null", 7, "number"),
    ("age not > 3", 8, "between"),
    ('tier == "gold"', 8, "'string'"),
    ("tier == 'gold", 8, "closing '"),
    ("`tier == 1", 0, "closing `"),
    ("`` == 1", 0, "a field name"),
    ("joined > date'2024-13-01'", 9, "date'YYYY-MM-DD'"),
    ("joined > date'2024-01-01+01:00'", 9, "date'YYYY-MM-DD'"),
    ("x.y == 1", 1, None),
    ("f(x) == 1", 1, "=="),
    ("import os", 7, "=="),
    ("__import__('os')", 0, "a field name"),
    ("__class__ == 1", 0, "a field name"),
    ("age > 1.2.3", 9, None),
    ("age > 12abc", 8, None),
    ("age > 1e999", 6, None),
    ("age; drop", 3, None),
    ("a == 1 and and b == 2", 11, "field name"),
    ("not", 3, "field name"),
    ("1 == age", 0, "field name"),
]


@pytest.mark.parametrize(("text", "position", "expected"), INVALID)
def test_invalid_rules_report_position(text, position, expected):
    with pytest.raises(RuleSyntaxError) as info:
        Rule.parse(text)
    err = info.value
    assert err.position == position, str(err)
    assert err.text == text
    if expected is not None:
        assert expected in err.expected, err.expected
    assert isinstance(err, ValidationError)
    assert f"position {position}" in str(err)


def test_nesting_limit_is_a_syntax_error():
    deep = "(" * 500 + "a == 1" + ")" * 500
    with pytest.raises(RuleSyntaxError, match="nested"):
        Rule.parse(deep)
    assert Rule.parse("(" * 50 + "a == 1" + ")" * 50) == Rule.parse("a == 1")
    with pytest.raises(RuleSyntaxError, match="nested"):
        Rule.parse("not " * 500 + "a == 1")


def test_non_string_rule_is_refused():
    with pytest.raises(ValidationError, match="string"):
        Rule.parse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("age == 'old'", "age"),
        ("tier > 3", "tier"),
        ("vip == 1", "vip"),
        ("purchases == true", "purchases"),
        ("joined > '2024-01-01'", "joined"),
        ("joined > 20240101", "joined"),
        ("age > date'2024-01-01'", "age"),
        ("city in ['Oslo', 3]", "city"),
        ("age between 1 and 'z'", "age"),
    ],
)
def test_type_mismatch_is_validation_error(frame, text, field):
    rule = Rule.parse(text)
    with pytest.raises(ValidationError) as info:
        rule.mask(frame)
    assert not isinstance(info.value, RuleSyntaxError)
    assert info.value.field == field


def test_unknown_field_lists_known_columns(frame):
    with pytest.raises(ValidationError) as info:
        Rule.parse("AGE > 3").mask(frame)
    assert info.value.field == "AGE"
    assert "'age'" in str(info.value)
    assert "'purchases'" in str(info.value)


def test_object_column_with_mixed_values_is_refused():
    frame = pd.DataFrame({"x": pd.Series(["a", 3, None], dtype=object)})
    with pytest.raises(ValidationError, match="cannot be compared"):
        Rule.parse("x < 'b'").mask(frame)
    np.testing.assert_array_equal(Rule.parse("x == 'a'").mask(frame), [True, False, False])


def test_nullable_and_integer_columns():
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "b": pd.array([True, None, False], dtype="boolean"),
            "big": np.array([2**62, 5, 2**62 + 1], dtype=np.int64),
        }
    )
    np.testing.assert_array_equal(Rule.parse("n >= 1").mask(frame), [True, False, True])
    np.testing.assert_array_equal(Rule.parse("not n >= 2").mask(frame), [True, True, False])
    np.testing.assert_array_equal(Rule.parse("n != 1").mask(frame), [False, True, True])
    np.testing.assert_array_equal(Rule.parse("b == false").mask(frame), [False, False, True])
    np.testing.assert_array_equal(Rule.parse("b is null").mask(frame), [False, True, False])
    # large int64 ids compare exactly
    np.testing.assert_array_equal(
        Rule.parse(f"big == {2**62 + 1}").mask(frame), [False, False, True]
    )


def test_timezone_aware_column_reads_a_date_as_that_day_in_its_zone():
    stamps = pd.to_datetime(["2024-03-01 00:30", "2024-02-29 23:30"]).tz_localize("Europe/Oslo")
    frame = pd.DataFrame({"t": stamps})
    # date'2024-03-01' is the day from midnight Oslo time, so only the first row is in it
    np.testing.assert_array_equal(Rule.parse("t >= date'2024-03-01'").mask(frame), [True, False])
    np.testing.assert_array_equal(Rule.parse("t == date'2024-02-29'").mask(frame), [False, True])
    # the same instants in UTC: both rows are on 29 February there
    utc = frame.assign(t=frame["t"].dt.tz_convert("UTC"))
    np.testing.assert_array_equal(Rule.parse("t == date'2024-02-29'").mask(utc), [True, True])


# row times: 2023-12-31, 2024-01-31, 2024-02-01 09:00, NaT, 2024-06-30
DATE_DAYS = [
    ("joined == date'2024-02-01'", [0, 0, 1, 0, 0]),  # any time that day
    ("joined != date'2024-02-01'", [1, 1, 0, 1, 1]),
    ("joined <= date'2024-02-01'", [1, 1, 1, 0, 0]),  # up to the end of that day
    ("joined < date'2024-02-01'", [1, 1, 0, 0, 0]),
    ("joined > date'2024-01-31'", [0, 0, 1, 0, 1]),  # from the next day on
    ("joined >= date'2024-02-01'", [0, 0, 1, 0, 1]),
    ("joined between date'2024-01-31' and date'2024-02-01'", [0, 1, 1, 0, 0]),
    ("joined not between date'2024-01-31' and date'2024-02-01'", [1, 0, 0, 1, 1]),
    ("joined in [date'2023-12-31', date'2024-02-01']", [1, 0, 1, 0, 0]),
    ("joined in [date'2024-02-01 09:00']", [0, 0, 1, 0, 0]),  # an instant: exact
    ("joined == date'2024-02-01 09:00:00'", [0, 0, 1, 0, 0]),
    ("joined > date'2024-02-01 08:59'", [0, 0, 1, 0, 1]),
    ("joined between date'2024-01-31' and date'2024-02-01 08:00'", [0, 1, 0, 0, 0]),
]


@pytest.mark.parametrize(("text", "expected"), DATE_DAYS)
def test_a_date_literal_names_a_whole_day(frame, text, expected):
    np.testing.assert_array_equal(Rule.parse(text).mask(frame), np.array(expected, dtype=bool))


def test_date_literals_on_aware_and_naive_columns_of_any_unit(frame):
    aware = frame["joined"].dt.tz_localize("Europe/Oslo")
    for unit in ("s", "ms", "us", "ns"):
        for col in (frame["joined"], aware):
            f = pd.DataFrame({"joined": col.astype(str(col.dtype).replace("us", unit))})
            np.testing.assert_array_equal(
                Rule.parse("joined <= date'2024-02-01'").mask(f), [1, 1, 1, 0, 0]
            )


def test_an_instant_with_an_offset_compares_as_an_instant():
    # the two 02:30 of the Oslo fall-back, 30 minutes apart... an hour apart in UTC
    first = pd.Timestamp("2024-10-27 00:30", tz="UTC")  # 02:30+02:00
    second = pd.Timestamp("2024-10-27 01:30", tz="UTC")  # 02:30+01:00
    frame = pd.DataFrame({"t": pd.DatetimeIndex([first, second]).tz_convert("Europe/Oslo")})
    mask = Rule.parse("t == date'2024-10-27T02:30+01:00'").mask(frame)
    np.testing.assert_array_equal(mask, [False, True])
    mask = Rule.parse("t < date'2024-10-27T01:00Z'").mask(frame)
    np.testing.assert_array_equal(mask, [True, False])


@pytest.mark.parametrize("wall", ["2024-03-31 02:30", "2024-10-27 02:30", "2024-01-01 12:00"])
def test_a_time_without_offset_is_refused_on_an_aware_column(wall):
    stamps = pd.to_datetime(["2024-03-01 00:30"]).tz_localize("Europe/Oslo")
    frame = pd.DataFrame({"t": stamps})
    with pytest.raises(ValidationError, match="no UTC offset") as info:
        Rule.parse(f"t >= date'{wall}'").mask(frame)
    assert info.value.field == "t"
    assert "+01:00" in str(info.value)  # the fix, spelled out
    assert f"date'{wall[:10]}'" in str(info.value)


def test_a_time_with_offset_is_refused_on_a_naive_column(frame):
    with pytest.raises(ValidationError, match="naive") as info:
        Rule.parse("joined >= date'2024-01-01T00:00+01:00'").mask(frame)
    assert info.value.field == "joined"
    assert "tz_localize" in str(info.value)


def test_dates_out_of_range_are_refused(frame):
    for text in ("joined > date'9999-12-31'", "joined > date'1600-01-01'"):
        with pytest.raises(ValidationError, match="1677") as info:
            Rule.parse(text).mask(frame)
        assert info.value.field == "joined"


def test_mixed_zone_object_column_is_read_as_instants():
    paris = dt.timezone(dt.timedelta(hours=1))
    frame = pd.DataFrame(
        {
            "t": pd.Series(
                [
                    dt.datetime(2024, 1, 1, 0, 30, tzinfo=paris),  # 2023-12-31 23:30 UTC
                    dt.datetime(2024, 1, 1, 0, 30, tzinfo=dt.UTC),
                    None,
                ],
                dtype=object,
            )
        }
    )
    np.testing.assert_array_equal(
        Rule.parse("t >= date'2024-01-01T00:00Z'").mask(frame), [False, True, False]
    )
    naive_too = frame.assign(t=[frame["t"][0], dt.datetime(2024, 1, 1), None])  # noqa: DTZ001
    with pytest.raises(ValidationError, match="mixes naive"):
        Rule.parse("t >= date'2024-01-01T00:00Z'").mask(naive_too)


def test_unsupported_dtype_is_refused():
    frame = pd.DataFrame({"d": pd.to_timedelta([1, 2], unit="D")})
    with pytest.raises(ValidationError, match="cannot test"):
        Rule.parse("d > 1").mask(frame)


def test_mask_needs_a_dataframe():
    with pytest.raises(ValidationError, match="DataFrame"):
        Rule.parse("a == 1").mask({"a": [1]})  # type: ignore[arg-type]


def test_fields_in_order_of_first_use():
    rule = Rule.parse("b == 1 and (a in [1] or `c d` is null) and not b > 2")
    assert rule.fields == ("b", "a", "c d")


def test_literals_are_parsed_exactly():
    rule = Rule.parse(
        "a == 'O''Brien' or b == -0.25 or c == 12 or d == date'2024-01-31 12:05' "
        "or e == date'2024-01-31T12:05+01:00' or f == date'2024-01-31T12:05Z' "
        "or g == date'2024-01-31'"
    )
    values = [op.value for op in rule.node.operands]
    naive = dt.datetime(2024, 1, 31, 12, 5)  # noqa: DTZ001 - a wall time in no zone
    plus_one = dt.datetime(2024, 1, 31, 12, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    utc = dt.datetime(2024, 1, 31, 12, 5, tzinfo=dt.UTC)
    assert values == ["O'Brien", -0.25, 12, naive, plus_one, utc, dt.date(2024, 1, 31)]
    assert isinstance(values[2], int)
    assert values[4].utcoffset() == dt.timedelta(hours=1)
    assert Rule.parse(str(rule)) == rule


def test_date_is_a_field_name_unless_a_quote_follows():
    frame = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    rule = Rule.parse("date >= date'2024-01-15'")
    assert rule.fields == ("date",)
    np.testing.assert_array_equal(rule.mask(frame), [False, True])
    assert Rule.parse(str(rule)) == rule


def test_keywords_are_case_insensitive_and_reserved():
    assert Rule.parse("a BETWEEN 1 AND 2 Or b Is NoT nUlL") == Rule.parse(
        "a between 1 and 2 or b is not null"
    )
    with pytest.raises(RuleSyntaxError):
        Rule.parse("between == 1")
    assert Rule.parse("`between` == 1").fields == ("between",)


def test_to_store_filter_format():
    rule = Rule.parse(
        "age between 30 and 39 and (tier in ['gold', 'silver'] or vip == true) "
        "and email is not null and not city == 'Oslo' and phone is null"
    )
    assert rule.to_store_filter() == (
        "and",
        (
            ("and", (("age", "ge", 30), ("age", "le", 39))),
            ("or", (("tier", "in", ("gold", "silver")), ("vip", "eq", True))),
            ("email", "is_null", False),
            ("not", ("city", "eq", "Oslo")),
            ("phone", "is_null", True),
        ),
    )
    ops = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
    for symbol, name in ops.items():
        assert Rule.parse(f"x {symbol} 1").to_store_filter() == ("x", name, 1)


def test_rule_equality_ignores_spacing_and_repr():
    a = Rule.parse("a==1 and b<2")
    b = Rule.parse("a  ==  1   AND b < 2")
    assert a == b
    assert hash(a) == hash(b)
    assert repr(a) == "Rule.parse('a==1 and b<2')"
    assert str(a) == "a == 1 and b < 2"


def test_select_returns_matching_rows(frame):
    picked = Rule.parse("vip == true").select(frame)
    assert picked.index.tolist() == [0, 3]


def test_empty_frame_gives_empty_mask():
    frame = pd.DataFrame({"a": pd.Series([], dtype=float)})
    assert Rule.parse("a > 1 or a is null").mask(frame).shape == (0,)


def test_object_columns_of_numbers_booleans_and_dates():
    from decimal import Decimal

    frame = pd.DataFrame(
        {
            "money": pd.Series([Decimal("10.50"), None, Decimal("3")], dtype=object),
            "flag": pd.Series([True, None, False], dtype=object),
            "day": pd.Series([dt.date(2024, 1, 1), dt.date(2024, 2, 1), None], dtype=object),
        }
    )
    np.testing.assert_array_equal(Rule.parse("money > 5").mask(frame), [True, False, False])
    np.testing.assert_array_equal(Rule.parse("flag == false").mask(frame), [False, False, True])
    np.testing.assert_array_equal(
        Rule.parse("day >= date'2024-01-15'").mask(frame), [False, True, False]
    )
    with pytest.raises(ValidationError):
        Rule.parse("money == 'x'").mask(frame)


def test_all_missing_categorical():
    frame = pd.DataFrame({"c": pd.Categorical([None, None])})
    np.testing.assert_array_equal(Rule.parse("c == 'a'").mask(frame), [False, False])
    np.testing.assert_array_equal(Rule.parse("c != 'a'").mask(frame), [True, True])
    np.testing.assert_array_equal(Rule.parse("c is null").mask(frame), [True, True])


def test_rules_combine_with_operators(frame):
    a = Rule.parse("age > 30")
    b = Rule.parse("vip == true")
    np.testing.assert_array_equal((a & b).mask(frame), a.mask(frame) & b.mask(frame))
    np.testing.assert_array_equal((a | b).mask(frame), a.mask(frame) | b.mask(frame))
    np.testing.assert_array_equal((~a).mask(frame), ~a.mask(frame))
    assert (a & b) == Rule.parse("age > 30 and vip == true")
    assert (a & b).fields == ("age", "vip")
    with pytest.raises(TypeError):
        a & "vip == true"  # type: ignore[operator]
