"""Schema version 5: customers get a declared ``gender`` (issue 19, identity).

Adds the nullable text column ``crm_customers.gender`` (no index); existing
customers read back with ``gender=None``.  Nothing else changes.

Chaining: versions 3 and 4 are taken by work developed alongside this one
(marketing, journeys); on a branch without them this revision follows
``v2``, and ``down_revision`` is set to the latest of them when they meet.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "v5"
down_revision = "v2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``crm_customers.gender`` and record version 5."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    text: Any = sa.Text() if sqlite else sa.Text(collation="C")
    op.add_column("crm_customers", sa.Column("gender", text, nullable=True))
    op.execute("UPDATE crm_schema SET version = 5")


def downgrade() -> None:
    """Drop ``crm_customers.gender`` (the declared genders are lost) and record version 2."""
    with op.batch_alter_table("crm_customers") as batch:  # SQLite rebuilds the table
        batch.drop_column("gender")
    op.execute("UPDATE crm_schema SET version = 2")  # down_revision's version
