"""Schema version 2: the event history, outbox cursors and loyalty ledgers.

Adds ``crm_events`` (the append-only event log, ``position`` its primary
key), ``crm_event_links`` (related entity ids, indexed), ``crm_event_head``
(the one row positions are allocated from, starting at 0),
``crm_consumers`` (outbox cursors) and ``crm_ledger_entries`` (loyalty
ledger entries, unique per ``(account_id, event_id)``).  Nothing existing
changes, so no data moves.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "v2"
down_revision = "v1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the version 2 tables and record version 2."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    text: Any = sa.Text() if sqlite else sa.Text(collation="C")
    instant: Any = sa.BigInteger() if sqlite else sa.DateTime(timezone=True)
    payload: Any = sa.Text() if sqlite else pg.JSON(none_as_null=True)
    position: Any = sa.Integer() if sqlite else sa.BigInteger()  # SQLite: the rowid
    op.create_table(
        "crm_events",
        sa.Column("position", position, primary_key=True, autoincrement=False),
        sa.Column("id", text, nullable=False),
        sa.Column("type", text, nullable=False),
        sa.Column("entity_type", text, nullable=False),
        sa.Column("entity_id", text, nullable=False),
        sa.Column("at", instant, nullable=False),
        sa.Column("at_tz", sa.Text(), nullable=False),
        sa.Column("actor", text, nullable=True),
        sa.Column("payload", payload, nullable=False),
        sa.Column("related_ids", sa.Text(), nullable=True),
        sa.UniqueConstraint("id", name="uq_crm_events_id"),
    )
    op.create_index(
        "ix_crm_events_entity", "crm_events", ["entity_id", "type", "entity_type", "at"]
    )
    op.create_index("ix_crm_events_kind", "crm_events", ["type", "entity_type", "at"])
    op.create_table(
        "crm_event_links",
        sa.Column("entity_id", text, primary_key=True),
        sa.Column("position", sa.BigInteger(), primary_key=True, autoincrement=False),
    )
    op.create_table(
        "crm_event_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO crm_event_head (id, position) VALUES (1, 0)")
    op.create_table(
        "crm_consumers",
        sa.Column("name", text, primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "crm_ledger_entries",
        sa.Column("account_id", text, primary_key=True),
        sa.Column("sequence", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("event_id", text, nullable=False),
        sa.Column("kind", text, nullable=False),
        sa.Column("at", instant, nullable=False),
        sa.Column("at_tz", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("order_id", text, nullable=True),
        sa.Column("spend_minor", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", instant, nullable=True),
        sa.Column("expires_at_tz", sa.Text(), nullable=True),
        sa.UniqueConstraint("account_id", "event_id", name="uq_crm_ledger_entries_event"),
    )
    op.execute("UPDATE crm_schema SET version = 2")


def downgrade() -> None:
    """Drop the version 2 tables (their data is lost) and record version 1."""
    for table in (
        "crm_ledger_entries",
        "crm_consumers",
        "crm_event_head",
        "crm_event_links",
        "crm_events",
    ):
        op.drop_table(table)
    op.execute("UPDATE crm_schema SET version = 1")
