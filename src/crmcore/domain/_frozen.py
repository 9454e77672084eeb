"""Deep-frozen JSON mappings: the storage of every entity's ``custom`` fields."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Mapping
from typing import Any, cast

import attrs

from crmcore.domain._base import _attempt, _raise_if_rejected
from crmcore.errors import ValidationError

__all__ = ["FrozenMapping", "convert_custom", "valid_custom"]


class FrozenMapping(Mapping[str, Any]):
    """An immutable, hashable mapping of JSON-compatible values.

    Entities store their ``custom`` fields in one of these: nested dicts
    become ``FrozenMapping`` and lists become tuples, so that the entity is
    really immutable and hashable.  It compares equal to a ``dict`` with the
    same items.

    Parameters
    ----------
    data : mapping, optional
        String keys to JSON-compatible values (``None``, bool, int, finite
        float, str, lists and mappings of these); positional only.

    Examples
    --------
    >>> m = FrozenMapping({"tier": "gold", "tags": ["a", "b"]})
    >>> m["tags"]
    ('a', 'b')
    >>> m == {"tier": "gold", "tags": ("a", "b")}
    True
    >>> m.thaw()
    {'tier': 'gold', 'tags': ['a', 'b']}
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, Any] | None = None, /) -> None:
        frozen = _freeze_mapping({} if data is None else data, "custom")
        self._data: dict[str, Any] = frozen
        self._hash: int | None = None

    @classmethod
    def _trusted(cls, data: dict[str, Any]) -> FrozenMapping:
        obj = cls.__new__(cls)
        obj._data = data
        obj._hash = None
        return obj

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMapping):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMapping({self._data!r})"

    def thaw(self) -> dict[str, Any]:
        """Return a plain, mutable, JSON-ready copy (dicts and lists).

        Returns
        -------
        dict
            A deep copy: nested mappings become dicts, tuples become lists.
        """
        return {k: _thaw(v) for k, v in self._data.items()}


_JSON_SCALARS = (str, int, bool, type(None))


def _freeze(value: Any, where: str) -> Hashable:
    if isinstance(value, _JSON_SCALARS):
        return cast("Hashable", value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(
                f"{where} must be a finite number (JSON has no NaN/inf); got {value!r}",
                value=value,
            )
        return value
    if isinstance(value, FrozenMapping):
        return value
    if isinstance(value, Mapping):
        return FrozenMapping._trusted(_freeze_mapping(value, where))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v, f"{where}[{i}]") for i, v in enumerate(value))
    raise ValidationError(
        f"{where} must be JSON-compatible (str, int, float, bool, None, list, dict); "
        f"got {type(value).__name__} {value!r}",
        value=value,
    )


def _freeze_mapping(data: Mapping[Any, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, val in data.items():
        if not isinstance(key, str):
            raise ValidationError(f"{where} keys must be str; got {key!r}", value=key)
        out[key] = _freeze(val, f"{where}[{key!r}]")
    return out


def _thaw(value: Any) -> Any:
    if isinstance(value, FrozenMapping):
        return value.thaw()
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _to_frozen_mapping(value: Any) -> FrozenMapping:
    if isinstance(value, FrozenMapping):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError(f"must be a mapping of str to JSON values; got {value!r}")
    return FrozenMapping._trusted(_freeze_mapping(value, "custom"))


def convert_custom(value: Any) -> FrozenMapping:
    """Freeze a custom-fields mapping (rejections reach the validator)."""
    return _attempt(_to_frozen_mapping, value)


def valid_custom(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a frozen custom-fields mapping."""
    _raise_if_rejected(attribute.name, value)
