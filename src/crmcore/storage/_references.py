"""Checked references between aggregates (an order line's product and order).

An :class:`~crmcore.storage.AggregateSpec` may declare identifier fields that
must name a record of another aggregate of the same store
(``references=(("product_id", "products"),)``).  Both stores check them on
every write, inside the write's transaction (or unit of work, so a product
added earlier in the same unit of work counts), and refuse a write naming a
missing record with a :class:`~crmcore.errors.ValidationError` that names
the field, the record and the missing id.  Nothing is written then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from crmcore.errors import ValidationError
from crmcore.storage._aggregates import Layout

if TYPE_CHECKING:  # the in-memory store needs no SQLAlchemy (the sql extra is optional)
    import sqlalchemy as sa

__all__ = ["Reference", "memory_check", "missing_error", "references_of", "sql_check"]

_CHUNK = 5_000  # ids per IN (...) lookup: well under every driver's parameter limit


@attrs.frozen
class Reference:
    """One checked field: its position in an encoded row, and the aggregate it names."""

    field: str
    target: str
    position: int


def references_of(layout: Layout, columns: Sequence[str]) -> tuple[Reference, ...]:
    """Return the references of an aggregate, located in its codec's ``columns``."""
    return tuple(
        Reference(field, target, list(columns).index(field))
        for field, target in layout.spec.references
    )


def missing_error(name: str, ref: Reference, record_id: Any, value: Any) -> ValidationError:
    """Return the error for a record whose ``ref`` field names no stored record."""
    return ValidationError(
        f"{name}: record {record_id!r} has {ref.field}={value!r}, but {ref.target} holds no "
        f"record with that id; add it to store.{ref.target} first",
        field=ref.field,
        row=record_id,
        value=value,
    )


def memory_check(
    name: str,
    refs: Sequence[Reference],
    entities: Iterable[Any],
    exists: Callable[[str, Any], bool],
) -> None:
    """Refuse the first entity whose reference ``exists(target, id)`` denies."""
    if not refs:
        return
    for entity in entities:
        for ref in refs:
            value = getattr(entity, ref.field)
            if not exists(ref.target, value):
                raise missing_error(name, ref, entity.id, value)


def sql_check(  # noqa: PLR0917 -- one internal call site, each argument named there
    conn: sa.Connection,
    name: str,
    refs: Sequence[Reference],
    rows: Sequence[Sequence[Any]],
    tables: Mapping[str, sa.Table],
    id_of: Callable[[Sequence[Any]], Any],
) -> None:
    """Refuse the first encoded row whose reference names no row of its target table.

    One ``SELECT id ... WHERE id IN (...)`` per target and chunk of distinct
    ids, on the caller's connection (inside its transaction).
    """
    import sqlalchemy as sa  # noqa: PLC0415 -- the sql extra is optional

    for ref in refs:
        wanted = list(dict.fromkeys(row[ref.position] for row in rows))
        table = tables[ref.target]
        found: set[Any] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            found.update(
                conn.execute(sa.select(table.c.id).where(table.c.id.in_(chunk))).scalars()
            )
        if len(found) == len(wanted):
            continue
        for row in rows:
            if row[ref.position] not in found:
                raise missing_error(name, ref, id_of(row), row[ref.position])
