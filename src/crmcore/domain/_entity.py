"""The base every entity shares: identity, version, custom fields, serialisation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import attrs

from crmcore.domain._base import (
    EntityId,
    convert_id,
    valid_id,
    valid_version,
)
from crmcore.domain._codec import (
    from_dict,
    to_dict,
)
from crmcore.domain._frozen import (
    FrozenMapping,
    convert_custom,
    valid_custom,
)

__all__ = ["Entity"]


@attrs.frozen(kw_only=True)
class Entity:
    """Fields and behaviour common to every crmcore entity.

    Not instantiated directly; each entity class adds its own fields.
    Entities are frozen, slotted attrs classes built with keyword arguments
    only.  Change one with :func:`attrs.evolve` (validators run again) or
    a domain function returning a new entity.

    Parameters
    ----------
    id : str or uuid.UUID
        Identifier chosen by the caller: a non-blank string of at most 255
        characters (ERP keys fit) or a UUID.  The string form
        ``"urn:uuid:<hex>"`` is read as a UUID.
    version : int, default 0
        Optimistic-concurrency version, ``>= 0``.  Storage bumps it on each
        update; do not change it yourself.
    custom : mapping of str to JSON values, default {}
        User-defined fields: str, int, float (finite), bool, None, lists and
        dicts of those.  Stored as a deep-frozen copy
        (:class:`~crmcore.domain.FrozenMapping`, lists become tuples), so the
        entity is immutable and hashable.

    Notes
    -----
    Equality and hashing cover every field (attrs value semantics): two
    versions of the same record are different values.  Compare ``.id`` to
    ask "same record?".
    """

    id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    version: int = attrs.field(default=0, validator=valid_version)
    custom: Mapping[str, Any] = attrs.field(
        factory=FrozenMapping, converter=convert_custom, validator=valid_custom
    )

    def to_dict(self) -> dict[str, Any]:
        """Return every field as JSON-safe primitives.

        The result can be passed to :func:`json.dumps` as is and turned back
        into an equal entity by :meth:`from_dict`:

        - ``str`` ids unchanged, UUID ids as ``"urn:uuid:<hex>"``;
        - datetimes as ISO 8601 text with offset, plus ``[Zone/Key]`` when
          the time zone is a :class:`zoneinfo.ZoneInfo` (RFC 9557);
        - dates as ``YYYY-MM-DD``;
        - :class:`~crmcore.domain.Money` as ``{"amount": "12.30", "currency": "EUR"}``
          (the amount as a decimal string, never a float);
        - e-mail addresses as strings; phone numbers, addresses and consents
          as dicts; enumerations as their string values;
        - tags as a sorted list; ``custom`` as plain dicts and lists.

        Returns
        -------
        dict
            One key per field, ``None`` for unset optional fields.
        """
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build an entity from a mapping such as :meth:`to_dict` returns.

        Values may also already be Python objects (``datetime``, ``Decimal``
        amounts inside Money dicts, value objects), as a database row might
        return them.  This is the named constructor for rows: prefer it to
        ``Entity(**row)``.

        Parameters
        ----------
        data : mapping
            Field name to value.  Optional fields may be omitted.

        Returns
        -------
        Entity
            A new entity of this class.

        Raises
        ------
        ValidationError
            On an unknown key, a missing required field or an invalid value;
            ``field`` names it.
        """
        return from_dict(cls, data)
