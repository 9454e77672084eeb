"""Schema version 6: tickets get a declared ``category`` and ``sub_category`` (issue 21).

Adds the nullable text columns ``crm_tickets.category`` and
``crm_tickets.sub_category``, and a partial index on ``category`` (rows with a
category only, like the other optional indexed columns); existing tickets read
back with both None.  Nothing else changes.

It follows version 5 (customer gender).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "v6"
down_revision = "v5"
branch_labels = None
depends_on = None

_TABLE = "crm_tickets"
_INDEX = "ix_crm_tickets_category"


def upgrade() -> None:
    """Add ``crm_tickets.category`` / ``sub_category`` (indexed category); record version 6."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    text: Any = sa.Text() if sqlite else sa.Text(collation="C")
    op.add_column(_TABLE, sa.Column("category", text, nullable=True))
    op.add_column(_TABLE, sa.Column("sub_category", text, nullable=True))
    present = sa.column("category").is_not(None)
    op.create_index(_INDEX, _TABLE, ["category"], sqlite_where=present, postgresql_where=present)
    op.execute("UPDATE crm_schema SET version = 6")


def downgrade() -> None:
    """Drop the two ticket columns (the categories are lost) and record version 5."""
    # an indexed column cannot be dropped: the index goes first.  SQLite 3.35+
    # then drops each column in place (no table rebuild, other indexes untouched),
    # which gives back exactly the layout version 5 created
    op.drop_index(_INDEX, table_name=_TABLE)
    op.execute(f'ALTER TABLE "{_TABLE}" DROP COLUMN "sub_category"')
    op.execute(f'ALTER TABLE "{_TABLE}" DROP COLUMN "category"')
    op.execute("UPDATE crm_schema SET version = 5")  # down_revision's version
