"""Property tests for the segment rule language.

- Fuzz: random text and random token soups only ever give a ``Rule`` or a
  ``RuleSyntaxError``; parsed rules evaluate or raise ``ValidationError``.
- Safety: names only ever resolve to the frame's columns: attribute access,
  calls, imports and dunder names are rejected, and frame attributes
  (``shape``, ``T``, ``values`` ...) are not columns.
- Round trip: canonical text parses back to the same tree.
- Semantics: vectorised masks equal a row-by-row reference implementation,
  and the store filter, interpreted with crmcore.storage's documented
  missing-value rules, selects the same rows.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.errors import RuleSyntaxError, ValidationError
from crmcore.segmentation import Rule
from crmcore.segmentation._rule_ast import And, Between, Compare, In, IsNull, Not, Or

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FRAME = pd.DataFrame(
    {
        "n": [1.0, np.nan, 3.0, -2.5, 0.0],
        "k": [1, 2, 3, 4, 5],
        "s": pd.Series(["a", "b", None, "b", "zz"], dtype="str"),
        "b": [True, False, True, False, True],
        # times within the day: a date literal names the whole day
        "d": pd.to_datetime(
            ["2024-01-01 18:00", None, "2024-03-01", "2023-12-31 23:59:59", "2024-02-29 00:00:01"],
            format="ISO8601",
        ),
        "odd name": [0.5, 1.5, 2.5, 3.5, 4.5],
    }
)

SOUP = [
    "n",
    "k",
    "s",
    "b",
    "d",
    "`odd name`",
    "x",
    "os",
    "sys",
    "import",
    "lambda",
    "eval",
    "exec",
    "__class__",
    "__import__",
    "__globals__",
    "__builtins__",
    "shape",
    "T",
    "values",
    "columns",
    "_private",
    ".",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ";",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "**",
    "@",
    "!",
    "~",
    "%",
    "&",
    "|",
    "^",
    "#",
    "\\",
    '"',
    "'",
    "`",
    "and",
    "or",
    "not",
    "in",
    "between",
    "is",
    "null",
    "true",
    "false",
    "None",
    "date",
    "date'2024-01-01'",
    "date'2024-02-30'",
    "'a'",
    "'b''c'",
    "'unterminated",
    "1",
    "-1",
    "2.5",
    "1e3",
    "1e999",
    "0x10",
    "1_000",
    "nan",
    "inf",
    "\n",
    "\t",
    "\u00e9",
    "\u0000",
    "f(x)",
    "x.y",
    "n.__class__",
    "getattr",
]


def check_outcome(text: str) -> None:
    syntax: RuleSyntaxError | None = None
    try:
        rule = Rule.parse(text)
    except RuleSyntaxError as err:
        syntax = err
    if syntax is not None:
        assert 0 <= syntax.position <= len(text)
        assert syntax.text == text
        return
    assert isinstance(rule, Rule)
    for field in rule.fields:
        assert isinstance(field, str)
    semantic: ValidationError | None = None
    try:
        mask = rule.mask(FRAME)
    except ValidationError as err:
        semantic = err
    if semantic is not None:
        # semantic errors only (unknown field, type mismatch), never a syntax error
        assert not isinstance(semantic, RuleSyntaxError)
        assert semantic.field is not None
        return
    assert mask.dtype == bool
    assert mask.shape == (len(FRAME),)
    assert set(rule.fields) <= set(FRAME.columns)


@FUZZ
@given(st.text(max_size=80))
def test_random_text_gives_rule_or_syntax_error(text):
    check_outcome(text)


@FUZZ
@given(st.lists(st.sampled_from(SOUP), max_size=14), st.sampled_from([" ", ""]))
def test_token_soups_give_rule_or_syntax_error(tokens, sep):
    check_outcome(sep.join(tokens))


@pytest.mark.parametrize(
    "text",
    [
        "__class__ == 1",
        "n.__class__ == 1",
        "x.y == 1",
        "f(x) == 1",
        "n == f(1)",
        "import os",
        "__import__('os').system('true')",
        "eval('1') == 1",
        "n == n",  # no column-to-column comparison: right side must be a literal
        "n + 1 > 2",
        "n[0] == 1",
        "lambda: 1",
        "n == 1; import os",
        "n == {}",
        "n == 0x10",
        "getattr(n, 'x') == 1",
    ],
)
def test_attributes_calls_imports_and_dunders_are_rejected(text):
    with pytest.raises(RuleSyntaxError):
        Rule.parse(text)


@pytest.mark.parametrize("name", ["shape", "T", "values", "columns", "index", "eval", "query"])
def test_frame_attributes_are_not_fields(name):
    with pytest.raises(ValidationError, match="unknown field"):
        Rule.parse(f"{name} == 1").mask(FRAME)


def test_quoted_dunder_is_only_a_column_lookup():
    frame = pd.DataFrame({"__class__": [1, 2]})
    np.testing.assert_array_equal(Rule.parse("`__class__` == 2").mask(frame), [False, True])
    with pytest.raises(ValidationError, match="unknown field"):
        Rule.parse("`__class__` == 2").mask(FRAME)


# ---------------------------------------------------------------- generated trees
numbers = st.one_of(
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 2)),
)
strings = st.sampled_from(["a", "b", "zz", "", "it's"])
dates = st.dates(dt.date(2023, 12, 1), dt.date(2024, 3, 31))
FIELD_VALUES: dict[str, Any] = {
    "n": numbers,
    "k": numbers,
    "odd name": numbers,
    "s": strings,
    "b": st.booleans(),
    "d": dates,
}


@st.composite
def leaves(draw: Any) -> Any:
    field = draw(st.sampled_from(sorted(FIELD_VALUES)))
    values = FIELD_VALUES[field]
    kind = draw(st.sampled_from(["cmp", "between", "in", "null"]))
    if kind == "cmp":
        op = draw(st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge"]))
        return Compare(field, op, draw(values))
    if kind == "between":
        return Between(field, draw(values), draw(values))
    if kind == "in":
        return In(field, tuple(draw(st.lists(values, min_size=1, max_size=3))))
    return IsNull(field)


trees = st.recursive(
    leaves(),
    lambda kids: st.one_of(
        kids.map(Not),
        st.lists(kids, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(kids, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=8,
)


def _cell(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _day(value: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The day a date literal names: [its midnight, the next midnight)."""
    start = pd.Timestamp(value)
    return start, start + pd.Timedelta(days=1)


_DAY_OPS = {
    "eq": lambda x, lo, hi: lo <= x < hi,
    "lt": lambda x, lo, hi: x < lo,
    "le": lambda x, lo, hi: x < hi,
    "gt": lambda x, lo, hi: x >= hi,
    "ge": lambda x, lo, hi: x >= lo,
}


def _equal(cell: Any, value: Any) -> bool:
    if isinstance(value, dt.date):
        return _DAY_OPS["eq"](cell, *_day(value))
    return bool(cell == value)


_OPS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def reference(node: Any, row: dict[str, Any]) -> bool:
    """Row-at-a-time meaning of a rule: comparisons with a missing value are false,
    except ``!=``, which is ``not ==``; not / and / or are plain boolean logic."""
    if isinstance(node, Not):
        return not reference(node.operand, row)
    if isinstance(node, And):
        return all(reference(op, row) for op in node.operands)
    if isinstance(node, Or):
        return any(reference(op, row) for op in node.operands)
    value = _cell(row[node.field])
    if isinstance(node, IsNull):
        return value is None
    if isinstance(node, Compare) and node.op == "ne":
        return not reference(Compare(node.field, "eq", node.value), row)
    if value is None:
        return False
    if isinstance(node, Compare):
        if isinstance(node.value, dt.date):
            return bool(_DAY_OPS[node.op](value, *_day(node.value)))
        return bool(_OPS[node.op](value, node.value))
    if isinstance(node, Between):
        if isinstance(node.low, dt.date):
            return bool(_day(node.low)[0] <= value < _day(node.high)[1])
        return bool(node.low <= value <= node.high)
    return any(_equal(value, v) for v in node.values)


def store_reference(flt: tuple[Any, ...], row: dict[str, Any]) -> bool:
    """Interpret a store-filter tree with crmcore.storage's documented semantics."""
    if len(flt) == 2:
        kind, body = flt
        if kind == "not":
            return not store_reference(body, row)
        parts = [store_reference(child, row) for child in body]
        return all(parts) if kind == "and" else any(parts)
    field, op, value = flt
    cell = _cell(row[field])
    if isinstance(cell, pd.Timestamp):
        cell = cell.tz_localize("UTC")  # store datetimes are aware; the filter's days are UTC's
    if op == "is_null":
        return (cell is None) is value
    if op == "ne":
        return not store_reference((field, "eq", value), row)
    if cell is None:
        return False
    if op == "in":
        return any(cell == v for v in value)
    return bool(_OPS[op](cell, value))


ROWS = FRAME.to_dict(orient="records")


@pytest.mark.slow
@PROPS
@given(trees)
def test_render_parse_round_trip(tree):
    rule = Rule(tree)
    again = Rule.parse(str(rule))
    assert again.node == tree
    assert again.to_store_filter() == rule.to_store_filter()


@PROPS
@given(trees)
def test_mask_matches_row_by_row_reference(tree):
    mask = Rule(tree).mask(FRAME)
    expected = [reference(tree, row) for row in ROWS]
    np.testing.assert_array_equal(mask, expected)


@PROPS
@given(trees)
def test_not_is_the_complement(tree):
    yes = Rule(tree).mask(FRAME)
    no = Rule(Not(tree)).mask(FRAME)
    np.testing.assert_array_equal(no, ~yes)


@PROPS
@given(trees)
def test_store_filter_selects_the_same_rows(tree):
    rule = Rule(tree)
    flt = rule.to_store_filter(tz="UTC")
    expected = [store_reference(flt, row) for row in ROWS]
    np.testing.assert_array_equal(rule.mask(FRAME), expected)
