"""The event kinds of identity resolution: merges, their undoing, "not a duplicate" decisions.

:func:`crmcore.identity.apply_merge` stores a :class:`CustomersMerged`
holding everything needed to undo it (the records as they were, the
survivor as it became, every reference it re-pointed);
:func:`crmcore.identity.undo_merge` stores a :class:`MergeUndone`.
:class:`NotDuplicateMarked` records a user's decision that two customers
are different people (or the withdrawal of one); matching and merging read
these decisions back from the event store.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

import attrs

from crmcore._time import instant_key
from crmcore.domain._base import (
    EntityId,
    convert_id,
    valid_aware,
    valid_bool,
    valid_id,
    valid_optional_text,
    valid_text,
)
from crmcore.domain._codec import dec_datetime, dec_tuple_of, dec_with, encode_value, meta
from crmcore.domain._events import DomainEvent, register_event
from crmcore.domain._parties import Customer
from crmcore.errors import ValidationError

__all__ = [
    "REPOINTED",
    "CustomersMerged",
    "MergeUndone",
    "NotDuplicateMarked",
    "RecordMove",
]

REPOINTED: tuple[str, ...] = (
    "orders",
    "tickets",
    "activities",
    "survey_responses",
    "loyalty_accounts",
)
"""The aggregates whose ``customer_id`` a merge re-points to the survivor.

Loyalty ledger entries belong to their loyalty account, so they follow it.
Opportunities, leads and contacts refer to accounts, not customers.
"""


def _valid_aggregate(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in REPOINTED:
        raise ValidationError(
            f"{attribute.name} must be one of {', '.join(REPOINTED)}; got {value!r}",
            field=attribute.name,
            value=value,
        )


def _convert_ids(value: Any) -> tuple[Any, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(
            f"merged_ids must be a sequence of ids; got {value!r}", field="merged_ids", value=value
        )
    return tuple(convert_id(v) for v in value)


def _customers(value: Iterable[Customer]) -> tuple[Customer, ...]:
    return tuple(value)


def _moves(value: Iterable[RecordMove]) -> tuple[RecordMove, ...]:
    return tuple(value)


def _valid_ids(_inst: Any, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    if not value:
        raise ValidationError(f"{attribute.name} must not be empty", field=attribute.name)
    for item in value:
        valid_id(_inst, attribute, item)


@attrs.frozen(kw_only=True, slots=True)
class RecordMove:
    """One reference a merge re-pointed: record ``id`` of ``aggregate`` was ``from_id``'s.

    Parameters
    ----------
    aggregate : str
        One of :data:`REPOINTED` (``"orders"``, ``"tickets"``...).
    id : str or uuid.UUID
        The record.
    from_id : str or uuid.UUID
        The customer it pointed to before the merge.
    """

    aggregate: str = attrs.field(validator=_valid_aggregate)
    id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    from_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)

    def to_dict(self) -> dict[str, Any]:
        """Return the move as JSON-safe primitives."""
        return {
            "aggregate": self.aggregate,
            "id": encode_value(self.id),
            "from_id": encode_value(self.from_id),
        }

    @classmethod
    def from_dict(cls, data: Any) -> RecordMove:
        """Build from :meth:`to_dict` output."""
        try:
            return cls(aggregate=data["aggregate"], id=data["id"], from_id=data["from_id"])
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"a record move needs aggregate, id, from_id: {exc}") from None


@register_event("identity.customers_merged")
@attrs.frozen(slots=True, kw_only=True)
class CustomersMerged(DomainEvent):
    """Duplicate customers were merged into one surviving record.

    Type ``"identity.customers_merged"``, about the survivor; the merged
    customers are its related ids, so the event appears in the timeline of
    every customer involved.  It holds what :func:`crmcore.identity.undo_merge`
    needs to restore the state before the merge.

    Attributes
    ----------
    survivor_id : str or uuid.UUID
        The customer that remains.
    merged_ids : tuple
        The customers merged into it (removed from the store).
    before : tuple of Customer
        Every record of the cluster as it was, survivor first.
    after : Customer
        The survivor as the merge stored it (with its new version).
    moves : tuple of RecordMove
        Every reference re-pointed from a merged customer to the survivor.
    at : datetime
        When (timezone-aware).
    actor : str or None
        Who merged.
    reason : str or None
        Why (a match score, a ticket...).
    """

    ENTITY_TYPE = "customer"
    ENTITY_FIELD = "survivor_id"

    survivor_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    merged_ids: tuple[EntityId, ...] = attrs.field(converter=_convert_ids, validator=_valid_ids)
    before: tuple[Customer, ...] = attrs.field(
        converter=_customers, metadata=meta(dec_tuple_of(Customer.from_dict))
    )
    after: Customer = attrs.field(metadata=meta(dec_with(Customer.from_dict)))
    moves: tuple[RecordMove, ...] = attrs.field(
        default=(), converter=_moves, metadata=meta(dec_tuple_of(RecordMove.from_dict))
    )
    at: _dt.datetime = attrs.field(
        eq=instant_key, validator=valid_aware, metadata=meta(dec_datetime)
    )
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)
    reason: str | None = attrs.field(default=None, validator=valid_optional_text)

    def __attrs_post_init__(self) -> None:
        for item in (*self.before, self.after):
            if not isinstance(item, Customer):
                raise ValidationError(
                    f"before and after must hold Customer records; got {type(item).__name__}",
                    field="before",
                )
        for change in self.moves:
            if not isinstance(change, RecordMove):
                raise ValidationError(
                    f"moves must hold RecordMove values; got {type(change).__name__}",
                    field="moves",
                )

    @property
    def related_ids(self) -> tuple[Any, ...]:
        """The merged customers' ids."""
        return self.merged_ids

    def describe(self) -> str:
        """Return e.g. ``"customers c2, c3 merged into c1 (4 records re-pointed)"``."""
        merged = ", ".join(str(i) for i in self.merged_ids)
        return (
            f"customers {merged} merged into {self.survivor_id} "
            f"({len(self.moves)} records re-pointed)"
        )


@register_event("identity.merge_undone")
@attrs.frozen(slots=True, kw_only=True)
class MergeUndone(DomainEvent):
    """A merge was undone: the merged customers and their references restored.

    Type ``"identity.merge_undone"``, about the survivor of the merge; the
    restored customers are its related ids.

    Attributes
    ----------
    merge_id : str
        The id of the :class:`CustomersMerged` event undone.
    survivor_id : str or uuid.UUID
    merged_ids : tuple
    at : datetime
    actor, reason : str or None
    """

    ENTITY_TYPE = "customer"
    ENTITY_FIELD = "survivor_id"

    merge_id: str = attrs.field(validator=valid_text)
    survivor_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    merged_ids: tuple[EntityId, ...] = attrs.field(converter=_convert_ids, validator=_valid_ids)
    at: _dt.datetime = attrs.field(
        eq=instant_key, validator=valid_aware, metadata=meta(dec_datetime)
    )
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)
    reason: str | None = attrs.field(default=None, validator=valid_optional_text)

    @property
    def related_ids(self) -> tuple[Any, ...]:
        """The restored customers' ids."""
        return self.merged_ids

    def describe(self) -> str:
        """Return e.g. ``"merge of c2 into c1 undone"``."""
        merged = ", ".join(str(i) for i in self.merged_ids)
        return f"merge of {merged} into {self.survivor_id} undone"


@register_event("identity.not_duplicate")
@attrs.frozen(slots=True, kw_only=True)
class NotDuplicateMarked(DomainEvent):
    """A user decided that two customers are different people (or withdrew that).

    Type ``"identity.not_duplicate"``, about ``left_id``; ``right_id`` is
    its related id.  The latest decision on a pair is the one in force.

    Attributes
    ----------
    left_id, right_id : str or uuid.UUID
        The two customers.
    distinct : bool, default True
        True: not a duplicate; False: the decision is withdrawn.
    at : datetime
    actor, reason : str or None
    """

    ENTITY_TYPE = "customer"
    ENTITY_FIELD = "left_id"
    RELATED_FIELDS = ("right_id",)

    left_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    right_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    distinct: bool = attrs.field(default=True, validator=valid_bool)
    at: _dt.datetime = attrs.field(
        eq=instant_key, validator=valid_aware, metadata=meta(dec_datetime)
    )
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)
    reason: str | None = attrs.field(default=None, validator=valid_optional_text)

    def __attrs_post_init__(self) -> None:
        if self.left_id == self.right_id:
            raise ValidationError(
                f"a customer is always the same person as itself: {self.left_id!r}",
                field="right_id",
                value=self.right_id,
            )

    def describe(self) -> str:
        """Return e.g. ``"c1 and c2 marked as not duplicates"``."""
        what = "marked as not duplicates" if self.distinct else "no longer marked as distinct"
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.left_id} and {self.right_id} {what}{why}"
