"""SQL expressions reading event payloads (see :mod:`crmcore.storage._engagement`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crmcore.storage._codec import Dialect

__all__ = ["json_fragment", "text_field"]


def text_field(payload: Any, key: str, dialect: Dialect) -> sa.ColumnElement[Any]:
    """Return the text of a top-level payload key (NULL when absent or null)."""
    if dialect == "sqlite":
        return sa.func.json_extract(payload, sa.literal(f'$."{key}"', sa.Text()))
    return payload[key].astext  # type: ignore[no-any-return]


def json_fragment(
    payload: Any, keys: tuple[str, ...], dialect: Dialect, *, arrow: bool
) -> sa.ColumnElement[Any]:
    """Return the JSON text at ``payload.<keys[0]>.<keys[1]>...`` (NULL when absent or null).

    The keys are validated identifiers (``payload_keys``), never user text in
    the SQL.  ``arrow``: SQLite has the ``->`` operator (3.38+); before it,
    the JSON text is rebuilt from ``json_type`` and ``json_extract``.
    """
    if dialect == "sqlite":
        path = sa.literal("$" + "".join(f'."{k}"' for k in keys), sa.Text())
        if arrow:
            return payload.op("->")(path)  # type: ignore[no-any-return]
        kind = sa.func.json_type(payload, path)
        return sa.case(
            (kind == "true", sa.literal("true")),
            (kind == "false", sa.literal("false")),
            (kind == "null", sa.null()),
            else_=sa.func.json_quote(sa.func.json_extract(payload, path)),
        )
    return sa.cast(payload[keys if len(keys) > 1 else keys[0]], sa.Text())
