"""Aggregate specifications: which entity a repository stores, and how.

A store is built from a tuple of :class:`AggregateSpec`.  The default tuple
(:func:`default_aggregates`) covers the fifteen domain aggregates; tests and
applications can pass their own attrs entities.  Everything else (columns,
filterable fields, conversions) is derived from the entity definition.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from crmcore import domain  # storage knows the domain; the domain never knows storage
from crmcore.storage._codec import Dialect, RowCodec
from crmcore.storage._fields import SCALAR_KINDS, FieldSpec, Kind, introspect

__all__ = ["SCHEMA_VERSION", "AggregateSpec", "default_aggregates", "layout"]

#: Version of the SQL table layout this release reads and writes.
SCHEMA_VERSION = 7

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def _check_name(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"aggregate name must be snake_case letters/digits, got {value!r}")


def _as_names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _as_references(value: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((str(field), str(target)) for field, target in value)


@attrs.frozen
class AggregateSpec:
    """How one aggregate is stored.

    Parameters
    ----------
    name : str
        Repository name, plural snake_case (``"orders"``); the SQL table is
        ``crm_<name>``.
    entity : type
        The attrs entity class; needs ``id`` and ``version`` fields.
    indexes : tuple of str, default ()
        Extra fields to index in SQL (every ``*_id`` field is indexed anyway).
    references : tuple of (field, aggregate) pairs, default ()
        Identifier fields that must name a record of another aggregate of
        the same store (``(("product_id", "products"),)``): every write
        (``add``, ``add_many``, ``update``, ``update_many``) checks them and
        raises :class:`~crmcore.errors.ValidationError` naming the field, the
        record and the missing id.  Removing the referenced record is not
        checked (retire it instead: ``Product.active=False``).

    Examples
    --------
    >>> import attrs
    >>> from crmcore.storage import AggregateSpec
    >>> @attrs.frozen
    ... class Note:
    ...     id: str
    ...     text: str
    ...     version: int = 0
    >>> AggregateSpec("notes", Note).name
    'notes'
    """

    name: str = attrs.field(validator=_check_name)
    entity: type
    indexes: tuple[str, ...] = attrs.field(default=(), converter=_as_names)
    references: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_as_references)


@attrs.frozen(eq=False)
class Layout:
    """Derived facts about one aggregate (cached per spec)."""

    spec: AggregateSpec
    fields: tuple[FieldSpec, ...]
    by_name: Mapping[str, FieldSpec]
    index_fields: tuple[str, ...]
    _codecs: dict[str, RowCodec] = attrs.field(factory=dict, init=False, repr=False)

    @property
    def name(self) -> str:
        """Repository name."""
        return self.spec.name

    @property
    def entity(self) -> type:
        """Entity class."""
        return self.spec.entity

    def codec(self, dialect: Dialect) -> RowCodec:
        """Return the row codec for a dialect (built once)."""
        codecs = self._codecs
        if dialect not in codecs:
            codecs[dialect] = RowCodec(self.entity, self.fields, dialect)
        return codecs[dialect]


@functools.cache
def layout(spec: AggregateSpec) -> Layout:
    """Introspect an aggregate spec once."""
    fields = introspect(spec.entity)
    by_name = {f.name: f for f in fields}
    for name in spec.indexes:
        if name not in by_name or by_name[name].kind not in (
            *SCALAR_KINDS,
            Kind.MONEY,
            Kind.WRAPPED,
        ):
            raise TypeError(f"{spec.name}: cannot index {name!r}: not a scalar field")
    for name, _ in spec.references:
        if name not in by_name or by_name[name].kind not in SCALAR_KINDS:
            raise TypeError(f"{spec.name}: cannot reference through {name!r}: not an id field")
    auto = [f.name for f in fields if f.name.endswith("_id") and f.kind in SCALAR_KINDS]
    indexes = tuple(dict.fromkeys([*auto, *spec.indexes]))
    return Layout(spec, fields, by_name, indexes)


#: Repository name, domain class name, extra indexed fields (where present).
_DEFAULTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("customers", "Customer", ("email", "created_at")),
    ("accounts", "Account", ("name",)),
    ("contacts", "Contact", ("email",)),
    ("leads", "Lead", ("status", "created_at")),
    ("opportunities", "Opportunity", ("stage", "expected_close_date")),
    ("activities", "Activity", ("kind", "due_at")),
    ("tickets", "Ticket", ("status", "created_at", "category")),
    ("campaigns", "Campaign", ("status",)),
    ("orders", "Order", ("placed_at",)),
    ("survey_responses", "SurveyResponse", ("kind", "answered_at")),
    ("loyalty_accounts", "LoyaltyAccount", ("tier",)),
    ("campaign_members", "CampaignMember", ()),
    ("journey_enrolments", "Enrolment", ("status", "due_at")),
    ("products", "Product", ("sku",)),
    ("order_lines", "OrderLine", ()),
)

#: Identifier fields that must name a stored record: aggregate -> ((field, target), ...).
_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "order_lines": (("order_id", "orders"), ("product_id", "products")),
}

#: The repository names every store exposes as attributes.
AGGREGATE_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _DEFAULTS)


@functools.cache
def default_aggregates() -> tuple[AggregateSpec, ...]:
    """Return the fifteen domain aggregates, in a fixed order."""
    specs = []
    for name, class_name, wanted in _DEFAULTS:
        entity = getattr(domain, class_name)
        present = {f.name for f in attrs.fields(entity)}
        indexes = tuple(i for i in wanted if i in present)
        specs.append(AggregateSpec(name, entity, indexes, _REFERENCES.get(name, ())))
    return tuple(specs)


def check_specs(specs: Sequence[AggregateSpec]) -> tuple[AggregateSpec, ...]:
    """Validate a user-given aggregate tuple (unique names, introspectable)."""
    out = tuple(specs)
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ValueError(f"aggregate names must be unique, got {names}")
    for s in out:
        if not isinstance(s, AggregateSpec):
            raise TypeError(f"expected AggregateSpec, got {s!r}")
        layout(s)
        for field, target in s.references:
            if target not in names:
                raise ValueError(
                    f"{s.name}.{field} references the aggregate {target!r}, which this store "
                    f"does not hold; aggregates: {names}"
                )
    return out
