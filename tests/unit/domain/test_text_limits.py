"""Text the stores cannot hold is refused where it enters: the domain's validators.

Lone surrogates and NUL characters in any text field; more than
``MAX_KEY_LENGTH`` characters in an id, a reference or an indexed text. Free
text (names, subjects) keeps any length. (Issue 23, class 1.)
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore._text import MAX_KEY_LENGTH
from crmcore.domain import GenericEvent
from crmcore.errors import ValidationError
from tests.contract._samples import note, one_of_each
from tests.strategies import unencodable_text

# (aggregate of the samples, field): every id, reference and indexed text field
KEYS = [
    ("customers", "id"),
    ("accounts", "id"),
    ("accounts", "name"),
    ("accounts", "owner"),
    ("contacts", "account_id"),
    ("leads", "status"),
    ("leads", "owner"),
    ("opportunities", "stage"),
    ("opportunities", "account_id"),
    ("tickets", "status"),
    ("tickets", "category"),
    ("tickets", "customer_id"),
    ("orders", "customer_id"),
    ("loyalty_accounts", "program_id"),
    ("loyalty_accounts", "tier"),
    ("campaign_members", "campaign_id"),
    ("journey_enrolments", "journey_id"),
]
FREE_TEXT = [
    ("customers", "name"),
    ("contacts", "name"),
    ("leads", "name"),
    ("tickets", "subject"),
    ("tickets", "sub_category"),
    ("opportunities", "lost_reason"),
    ("activities", "subject"),
    ("campaign_members", "variant"),
]
_KEY_CHARS = st.characters(exclude_categories=("Cs", "Cc", "Z"))


def _with(repo: str, field: str, value: object) -> object:
    return attrs.evolve(one_of_each()[repo], **{field: value})


@pytest.mark.parametrize(("repo", "field"), KEYS + FREE_TEXT)
@settings(max_examples=15, deadline=None)
@given(bad=unencodable_text())
def test_lone_surrogates_are_refused_in_every_text_field(repo, field, bad):
    with pytest.raises(ValidationError, match="not valid Unicode") as info:
        _with(repo, field, "k" + bad)
    assert info.value.field == field


@pytest.mark.parametrize(("repo", "field"), KEYS + FREE_TEXT)
def test_nul_characters_are_refused_in_every_text_field(repo, field):
    with pytest.raises(ValidationError, match="NUL") as info:
        _with(repo, field, "a\x00b")
    assert info.value.field == field


@pytest.mark.parametrize(("repo", "field"), KEYS)
@settings(max_examples=10, deadline=None)
@given(extra=st.integers(1, 3 * MAX_KEY_LENGTH), char=_KEY_CHARS)
def test_keys_longer_than_the_limit_are_refused_with_field_and_limit(repo, field, extra, char):
    with pytest.raises(ValidationError, match=f"at most {MAX_KEY_LENGTH} characters") as info:
        _with(repo, field, char * (MAX_KEY_LENGTH + extra))
    assert info.value.field == field


@pytest.mark.parametrize(("repo", "field"), [k for k in KEYS if k[0] != "journey_enrolments"])
def test_keys_at_the_limit_are_taken(repo, field):
    longest = "鍵" * MAX_KEY_LENGTH
    assert getattr(_with(repo, field, longest), field) == longest


@pytest.mark.parametrize(("repo", "field"), FREE_TEXT)
def test_free_text_has_no_length_limit(repo, field):
    long = "Zoë " * 20_000
    assert getattr(_with(repo, field, long), field) == long


def test_an_enrolment_id_longer_than_the_limit_names_the_journey():
    sample = one_of_each()["journey_enrolments"]
    with pytest.raises(ValidationError, match="shorter journey_id") as info:
        attrs.evolve(sample, journey_id="j" * MAX_KEY_LENGTH, id="")
    assert info.value.field == "journey_id"


@settings(max_examples=15, deadline=None)
@given(bad=unencodable_text())
def test_events_refuse_unencodable_ids_actors_and_entity_types(bad):
    for kwargs, field in (
        ({"entity_id": "c" + bad}, "entity_id"),
        ({"actor": "a" + bad}, "actor"),
        ({"entity_type": "t" + bad}, "entity_type"),
        ({"id": "e" + bad}, "id"),  # the argument, not the private attribute
    ):
        with pytest.raises(ValidationError, match="not valid Unicode") as info:
            attrs.evolve(note(), **kwargs) if "id" not in kwargs else note(**kwargs)
        assert info.value.field == field


def test_event_entity_types_are_keys():
    with pytest.raises(ValidationError, match=f"at most {MAX_KEY_LENGTH}"):
        attrs.evolve(note(), entity_type="t" * (MAX_KEY_LENGTH + 1))
    assert isinstance(attrs.evolve(note(), entity_type="t" * MAX_KEY_LENGTH), GenericEvent)


@pytest.mark.parametrize(
    "bad", ["O-\ud800", "\udfff", "a\x00b", "鍵" * (MAX_KEY_LENGTH + 1)], ids=repr
)
def test_ledger_events_refuse_event_ids_no_store_can_index(bad):
    import datetime as dt

    from crmcore.loyalty import Redemption, Refund

    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ValidationError) as info:
        Redemption(event_id=bad, at=at, points=10)
    assert info.value.field == "event_id"
    with pytest.raises(ValidationError) as info:
        Refund(event_id="F-1", at=at, order_id=bad)
    assert info.value.field == "order_id"
