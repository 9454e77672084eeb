"""The compiled row encoder equals the column-by-column checking encoder (issue 24 item 3).

``RowCodec.encode`` tests each value for its common shape inline and calls
the column's checking encoder otherwise; ``RowCodec.encode_checked`` always
calls it. For every aggregate, in every dialect, with any field replaced by
an awkward or invalid value, both return the same row or raise the same error.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.errors import ValidationError
from crmcore.storage._sql import SqlStore
from tests.contract._samples import eur, one_of_each


class _Str(str):
    __slots__ = ()


class _Int(int):
    pass


def _forged(obj: Any, **fields: Any) -> Any:
    """A copy of a domain value with fields set past its validators."""
    obj = copy.copy(obj)
    for name, v in fields.items():
        object.__setattr__(obj, name, v)
    return obj


_EMAIL = one_of_each()["customers"].email

_AWKWARD: list[Any] = [
    None,
    "",
    "plain",
    "naïve text",
    "nul\x00inside",
    "x" * 300,
    _Str("a str subclass"),
    0,
    -(2**63),
    2**63,
    True,
    _Int(5),
    1.5,
    math.nan,
    math.inf,
    Decimal("12.30"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC).replace(tzinfo=None),  # naive
    dt.datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Europe/Paris")),
    dt.datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Paris")),  # skipped wall time
    dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    dt.date(2026, 3, 2),
    uuid.UUID(int=7),
    eur("19.99"),
    _forged(eur("1"), amount=Decimal("NaN")),
    _forged(eur("1"), amount=1.5),
    _forged(eur("1"), currency="E\x00R"),
    _forged(eur("1"), currency="€UR"),
    _forged(eur("1"), currency=_Str("EUR")),
    _EMAIL,
    _forged(_EMAIL, value="nul\x00@example.com"),
    _forged(_EMAIL, value="x" * 300),
    _forged(_EMAIL, value=7),
    {},
    {"a": 1},
    frozenset(),
    frozenset({"vip"}),
    [],
    object(),
]

_ENTITIES = one_of_each()
_DIALECTS = ["sqlite", "memory", "postgresql"]


_LAYOUTS = SqlStore("sqlite://")._layouts  # the dialect is chosen per test


def _codec(name: str, dialect: str) -> Any:
    return _LAYOUTS[name].codec(dialect), _LAYOUTS[name]


def _outcome(fn: Any, entity: Any) -> tuple[str, Any]:
    try:
        return "row", fn(entity)
    except ValidationError as exc:
        return "error", (str(exc), exc.field, repr(exc.value))
    except Exception as exc:  # compared, not swallowed
        return "raised", (type(exc).__name__, str(exc))


def _same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] != "row":
        return a == b
    # NaN never equals itself; compare the rows' reprs with types
    return [(type(x), repr(x)) for x in a[1]] == [(type(x), repr(x)) for x in b[1]]


@pytest.mark.parametrize("dialect", _DIALECTS)
@pytest.mark.parametrize("name", sorted(_ENTITIES))
def test_sample_entities_encode_alike(name: str, dialect: str) -> None:
    codec, _ = _codec(name, dialect)
    entity = _ENTITIES[name]
    assert codec.encode(entity) == codec.encode_checked(entity)


@pytest.mark.parametrize("dialect", _DIALECTS)
def test_every_field_replaced_by_every_value_encodes_or_fails_alike(dialect: str) -> None:
    compared = 0
    for name, sample in _ENTITIES.items():
        codec, _ = _codec(name, dialect)
        for field in attrs.fields(type(sample)):
            for value in _AWKWARD:
                # bypass the domain's validators: the codec is the last line of defence
                entity = _forged(sample, **{field.name: value})
                fast, checked = (
                    _outcome(codec.encode, entity),
                    _outcome(codec.encode_checked, entity),
                )
                assert _same(fast, checked), (name, field.name, value, fast, checked)
                compared += 1
    assert compared > 5_000


@settings(max_examples=50, deadline=None)
@given(
    name=st.sampled_from(sorted(_ENTITIES)),
    dialect=st.sampled_from(_DIALECTS),
    data=st.data(),
)
def test_any_field_replaced_by_any_value_encodes_or_fails_alike(
    name: str, dialect: str, data: st.DataObject
) -> None:
    codec, _ = _codec(name, dialect)
    entity = _ENTITIES[name]
    fields = [f.name for f in attrs.fields(type(entity))]
    changed = data.draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True))
    entity = copy.copy(entity)
    for field in changed:
        # bypass the domain's validators: the codec is the last line of defence
        object.__setattr__(entity, field, data.draw(st.sampled_from(_AWKWARD)))
    assert _same(_outcome(codec.encode, entity), _outcome(codec.encode_checked, entity))


def test_a_wrong_entity_type_is_refused_alike() -> None:
    codec, _ = _codec("orders", "sqlite")
    assert _outcome(codec.encode, _ENTITIES["customers"]) == _outcome(
        codec.encode_checked, _ENTITIES["customers"]
    )
    with pytest.raises(ValidationError, match="expected a Order, got Customer"):
        codec.encode(_ENTITIES["customers"])
