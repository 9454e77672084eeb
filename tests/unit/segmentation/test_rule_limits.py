"""Hostile rule text: deep nesting and long input are refused by name, never a RecursionError.

And rules as store filters: a deep rule runs on a store once normalised, or is
refused with the store's documented filter limit.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.domain import Customer
from crmcore.errors import RuleSyntaxError, ValidationError
from crmcore.segmentation import Rule
from crmcore.segmentation._rule_lexer import MAX_RULE_LENGTH
from crmcore.segmentation._rule_parser import MAX_DEPTH
from crmcore.storage import InMemoryStore
from crmcore.storage._normal import MAX_FILTER_DEPTH

FRAME = pd.DataFrame({"a": [1, 2, 3]})


def _wrap(levels: list[str], core: str = "a == 1") -> str:
    """Nest ``core`` in the given levels: "not" or "()" from the outside in."""
    text = core
    for level in reversed(levels):
        text = f"not {text}" if level == "not" else f"({text})"
    return text


@settings(max_examples=25, deadline=None)
@given(levels=st.lists(st.sampled_from(["not", "()"]), min_size=0, max_size=MAX_DEPTH - 1))
def test_nesting_up_to_the_limit_parses_and_means_what_it_says(levels):
    rule = Rule.parse(_wrap(levels))
    negations = levels.count("not")
    expected = [True, False, False] if negations % 2 == 0 else [False, True, True]
    assert list(rule.mask(FRAME)) == expected


@settings(max_examples=15, deadline=None)
@given(
    levels=st.lists(
        st.sampled_from(["not", "()"]), min_size=MAX_DEPTH + 1, max_size=MAX_DEPTH + 3_000
    )
)
def test_nesting_past_the_limit_is_a_syntax_error_naming_it(levels):
    with pytest.raises(RuleSyntaxError, match=f"more than {MAX_DEPTH} levels"):
        Rule.parse(_wrap(levels))


@pytest.mark.parametrize(
    "text",
    [
        "a == 1 or " * 12_000 + "a == 1",
        "a in [" + "1," * 60_000 + "1]",
        "'" + "x" * MAX_RULE_LENGTH + "'",
        "(" * 60_000 + "a == 1" + ")" * 60_000,
    ],
    ids=["or-chain", "in-list", "string", "parentheses"],
)
def test_long_rules_are_refused_naming_the_limit(text):
    assert len(text) > MAX_RULE_LENGTH
    with pytest.raises(RuleSyntaxError, match=f"longer than {MAX_RULE_LENGTH} characters"):
        Rule.parse(text)


def test_the_longest_flat_rule_parses_and_runs_on_a_store():
    text = " or ".join(f"name=='n{i}'" for i in range(5_000))
    assert len(text) <= MAX_RULE_LENGTH
    store = InMemoryStore()
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    store.customers.add_many(
        Customer(id=f"c{i}", name=f"n{i}", created_at=at) for i in (5, 4_999, 5_000)
    )
    found = store.customers.query(Rule.parse(text).to_store_filter())
    assert sorted(c.id for c in found) == ["c4999", "c5"]


@pytest.mark.parametrize("shape", ["not", "()", "mixed"])
def test_the_deepest_rule_of_negations_and_parentheses_runs_on_a_store(shape):
    levels = {"not": ["not"] * 99, "()": ["()"] * 99, "mixed": ["not", "()"] * 49 + ["not"]}[shape]
    rule = Rule.parse(_wrap(levels, "name == 'x'"))
    store = InMemoryStore()
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    store.customers.add_many([Customer(id="c1", name="x", created_at=at)])
    frame = pd.DataFrame({"name": ["x"]})
    assert store.customers.count(rule.to_store_filter()) == int(rule.mask(frame).sum())


def test_a_rule_alternating_and_or_past_the_store_limit_is_refused_by_the_store():
    text = "".join(f"name == 'n{i}' {'or' if i % 2 else 'and'} (" for i in range(40))
    rule = Rule.parse(text + "name == 'x'" + ")" * 40)  # parses: 41 levels
    with pytest.raises(ValidationError, match=f"at most {MAX_FILTER_DEPTH} levels") as info:
        InMemoryStore().customers.count(rule.to_store_filter())
    assert info.value.field == "where"


def test_negating_a_rule_past_the_nesting_limit_is_refused():
    rule = Rule.parse("a == 1")
    for _ in range(MAX_DEPTH):
        rule = ~rule
    assert list(rule.mask(FRAME)) == [True, False, False]  # 100 negations: the rule itself
    with pytest.raises(ValidationError, match=f"limited to {MAX_DEPTH} levels") as info:
        ~rule  # noqa: B018 -- the operator is what is tested
    assert info.value.field == "rule"


def test_combining_many_rules_stays_flat():
    rules = [Rule.parse(f"a == {i}") for i in range(1, 400)]
    anyone = functools.reduce(operator.or_, rules)
    assert anyone == Rule.parse(" or ".join(f"a == {i}" for i in range(1, 400)))
    assert list(anyone.mask(FRAME)) == [True, True, True]
    everyone = functools.reduce(operator.and_, [~r for r in rules[3:]])
    assert list(everyone.mask(FRAME)) == [True, True, True]
    assert isinstance(everyone.node, type(Rule.parse("a == 1 and a == 2").node))  # one "and"
    assert len(everyone.node.operands) == len(rules) - 3


_ATOMS = [Rule.parse(t) for t in ("a == 1", "b > 2", "`c d` is null", "a in [1, 2]")]


@st.composite
def _combined_rules(draw: st.DrawFn, budget: int = 12) -> tuple[Rule, str]:
    """A rule built with & | ~ from small rules, and the text that says the same."""
    if budget <= 0 or not draw(st.booleans()):  # shrinks towards one atom
        atom = draw(st.sampled_from(_ATOMS))
        return atom, atom.text
    op = draw(st.sampled_from(["and", "or", "not"]))
    left, left_text = draw(_combined_rules(budget - 1))
    if op == "not":
        return ~left, f"not ({left_text})"
    right, right_text = draw(_combined_rules(budget - 1))
    rule = left & right if op == "and" else left | right
    return rule, f"({left_text}) {op} ({right_text})"


@settings(max_examples=60, deadline=None)
@given(_combined_rules())
def test_a_combined_rule_knows_its_depth_text_and_fields_as_a_parsed_one_does(case):
    # combining keeps depth incrementally and renders lazily (n rules combine in
    # linear time); what it knows must equal what the tree itself says
    rule, text = case
    rebuilt = Rule(rule.node)
    assert rule._depth == rebuilt._depth
    assert rule.text == rebuilt.text == str(rule)
    assert rule.fields == rebuilt.fields
    assert Rule.parse(rule.text) == rule
    frame = pd.DataFrame({"a": [1, 2, None], "b": [3, 1, 5], "c d": [None, "x", "y"]})
    assert list(rule.mask(frame)) == list(Rule.parse(text).mask(frame))


@pytest.mark.parametrize(
    "literal", ["date'9999-12-31T23:00-05:00'", "date'0001-01-01T00:00+05:00'"]
)
def test_rule_instants_past_the_utc_range_are_refused_by_the_store(literal):
    value = Rule.parse(f"created_at > {literal}").node.value
    with pytest.raises(ValidationError, match="once converted to UTC") as info:
        InMemoryStore().customers.count(("created_at", "gt", value))
    assert info.value.field == "created_at"


@pytest.mark.parametrize("literal", ["date'2300-01-01T00:00Z'", "date'1600-06-01T12:00+01:00'"])
def test_a_rule_instant_outside_the_supported_years_is_refused_as_on_frames(literal):
    # a literal with a time was passed to the store unchecked while a frame refused it
    rule = Rule.parse(f"created_at > {literal}")
    frame = pd.DataFrame({"created_at": pd.to_datetime(["2024-01-01"]).tz_localize("UTC")})
    with pytest.raises(ValidationError, match="between 1677-09-22 and 2262-04-11"):
        rule.mask(frame)
    with pytest.raises(ValidationError, match="between 1677-09-22 and 2262-04-11") as info:
        rule.to_store_filter()
    assert info.value.field == "created_at"
