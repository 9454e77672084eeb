"""Text every store can hold, and the same limits on every store (issue 23, class 1).

Lone surrogates cannot be encoded as UTF-8 (SQLite, PostgreSQL and Arrow-backed
frames all refuse them); PostgreSQL cannot index a B-tree entry over about
2,700 bytes. So every text column refuses lone surrogates and NUL characters,
and every id and indexed text is at most ``MAX_KEY_LENGTH`` characters, alike
on the three stores; free text keeps any length.
"""

from __future__ import annotations

import random

import attrs
import pytest

from crmcore._text import MAX_KEY_LENGTH
from crmcore.domain import GenericEvent
from crmcore.errors import ValidationError
from crmcore.storage._aggregates import default_aggregates, layout
from crmcore.storage._fields import Kind
from tests.contract._samples import at, customer, note, one_of_each
from tests.contract.test_repository_contract import NEEDS

# a family of strings no UTF-8 encoder takes: lone high and low surrogates, alone,
# at either end, amid other scripts, and a reversed (so unpaired) pair
UNENCODABLE = ("C-\ud800", "\udfff", "a\udc80b", "\ud83d", "日本\udbff語", "\ude00\ud83d", "x\x00")

_SPECS = {spec.name: layout(spec) for spec in default_aggregates()}
_TEXT_KINDS = (Kind.STR, Kind.ID)


def _wide(n: int, seed: int = 23) -> str:
    """``n`` random four-byte characters (emoji, CJK extension B): text that does not compress."""
    rng = random.Random(seed)
    return "".join(chr(rng.choice((0x1F300, 0x20000)) + rng.randrange(0x300)) for _ in range(n))


def _forced(entity, **fields):
    """Bypass the domain's own validators to test the store's last line of defence."""
    for name, value in fields.items():
        object.__setattr__(entity, name, value)
    return entity


def _text_fields(repo: str) -> list[str]:
    lay = _SPECS[repo]
    return [
        f.name for f in lay.fields if f.compare_kind in _TEXT_KINDS and f.kind is not Kind.MONEY
    ]


def _key_fields(repo: str) -> list[str]:
    lay = _SPECS[repo]
    keys = [n for n in lay.index_fields if lay.by_name[n].kind in _TEXT_KINDS]
    return ["id", *keys] if lay.by_name["id"].kind in _TEXT_KINDS else keys


@pytest.mark.parametrize("repo", sorted(_SPECS))
def test_text_no_store_can_hold_is_refused_in_every_text_column(store, repo):
    repository = getattr(store, repo)
    sample = one_of_each()[repo]
    fields = _text_fields(repo)
    assert fields
    for name in fields:
        if getattr(sample, name) is None or isinstance(getattr(sample, name), str) is False:
            continue  # optional and empty, or a UUID: covered by the other aggregates
        for bad in UNENCODABLE:
            with pytest.raises(ValidationError) as info:
                repository.add(_forced(one_of_each()[repo], **{name: bad}))
            assert info.value.field == name, (name, bad)
    assert repository.count() == 0
    assert len(repository.to_frame()) == 0


@pytest.mark.parametrize("repo", sorted(_SPECS))
def test_ids_and_indexed_text_have_the_same_limit_on_every_store(store, repo):
    repository = getattr(store, repo)
    keys = _key_fields(repo)
    for name in keys:
        sample = one_of_each()[repo]
        if not isinstance(getattr(sample, name), str):
            continue  # a UUID id, an empty optional field
        with pytest.raises(ValidationError, match=f"at most {MAX_KEY_LENGTH} characters") as info:
            repository.add(_forced(sample, **{name: _wide(MAX_KEY_LENGTH + 1)}))
        assert info.value.field == name
    assert repository.count() == 0
    # exactly at the limit, in four-byte characters: PostgreSQL indexes it
    for needed in NEEDS.get(repo, ()):  # checked references are stored first
        getattr(store, needed).add(one_of_each()[needed])
    for i, name in enumerate(keys):
        sample = one_of_each()[repo]
        if not isinstance(getattr(sample, name), str) or (repo == "journey_enrolments"):
            continue
        longest = _wide(MAX_KEY_LENGTH, seed=i)
        if (repo, name) == ("order_lines", "product_id"):  # a product with that id
            store.products.add(_forced(one_of_each()["products"], id=longest))
        entity = _forced(sample, **{name: longest})
        repository.add(entity)
        back = repository.get(entity.id)
        assert getattr(back, name) == longest
        repository.remove(entity.id)


def test_free_text_beside_an_indexed_key_keeps_any_length(store):
    huge = _wide(50_000)
    store.customers.add(customer(_wide(MAX_KEY_LENGTH), name=huge, custom={_wide(300): huge}))
    (back,) = store.customers.query()
    assert back.name == huge
    assert back.custom == {_wide(300): huge}


@pytest.mark.parametrize("bad", UNENCODABLE)
def test_custom_keys_and_values_no_store_can_hold_are_refused(store, bad):
    for custom in ({bad: 1}, {"k": bad}, {"k": [1, {"deep": bad}]}):
        with pytest.raises(ValidationError):
            store.customers.add(customer(custom=custom))
    assert store.customers.count() == 0


@pytest.mark.parametrize("bad", UNENCODABLE)
def test_events_with_text_no_store_can_hold_are_refused(store, bad):
    events = [
        _forced(note(), entity_id=bad),
        _forced(note(), entity_type=bad),
        _forced(note(), actor=bad),
        note(text=bad),  # the payload: free text, checked by the store
        GenericEvent(
            event_type="test.note_added",
            entity_type="customer",
            entity_id="c1",
            at=at(),
            payload={bad: 1},
        ),
    ]
    for event in events:
        with pytest.raises(ValidationError):
            store.events.append(event)
    assert store.events.count() == 0


def test_event_keys_have_the_same_limit_on_every_store(store):
    too_long = _wide(MAX_KEY_LENGTH + 1)
    for event, field in (
        (_forced(note(), entity_id=too_long), "entity_id"),
        (_forced(note(), entity_type=too_long), "entity_type"),
        (_forced(note(), _id=too_long), "id"),
    ):
        with pytest.raises(ValidationError, match=f"at most {MAX_KEY_LENGTH}") as info:
            store.events.append(event)
        assert info.value.field == field
    # every key at its limit at once: the composite index (entity, type, entity type, at) fits
    longest = GenericEvent(
        event_type="test." + "x" * 90,
        entity_type=_wide(MAX_KEY_LENGTH, seed=1),
        entity_id=_wide(MAX_KEY_LENGTH, seed=2),
        at=at(),
        actor=_wide(5_000, seed=3),
        payload={"text": _wide(5_000, seed=4)},
        id=_wide(MAX_KEY_LENGTH, seed=5),
        related_ids=(_wide(MAX_KEY_LENGTH, seed=6),),
    )
    store.events.append(longest)
    (back,) = (s.event for s in store.events.query())
    assert back == longest
    assert store.events.count(entity=_wide(MAX_KEY_LENGTH, seed=6)) == 1
    assert store.events.count(entity_type=_wide(MAX_KEY_LENGTH, seed=1)) == 1


@pytest.mark.parametrize("bad", UNENCODABLE[:-1])
@pytest.mark.parametrize("field", ["id", "name", "custom.k", "id__in"])
def test_filter_literals_no_store_can_hold_are_refused(store, field, bad):
    store.customers.add(customer())
    value = [bad] if field.endswith("__in") else bad
    with pytest.raises(ValidationError, match="not valid Unicode"):
        store.customers.query({field: value})


def test_a_refused_entity_is_named_before_the_store_is_touched(store):
    store.customers.add(customer("c1"))
    bad = _forced(attrs.evolve(store.customers.get("c1")), name="Ada \ud800")
    with pytest.raises(ValidationError, match="lone surrogate"):
        store.customers.update(bad)
    assert store.customers.get("c1") == customer("c1")
