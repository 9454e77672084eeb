"""Schema version 5: customers get a declared ``gender`` (issue 19, identity).

Adds the nullable text column ``crm_customers.gender`` (no index); existing
customers read back with ``gender=None``.  Nothing else changes.

It follows version 4 (journey enrolments), which follows version 3 (campaign
members and fields).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "v5"
down_revision = "v4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``crm_customers.gender`` and record version 5."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    text: Any = sa.Text() if sqlite else sa.Text(collation="C")
    op.add_column("crm_customers", sa.Column("gender", text, nullable=True))
    op.execute("UPDATE crm_schema SET version = 5")


def downgrade() -> None:
    """Drop ``crm_customers.gender`` (the declared genders are lost) and record version 4."""
    # SQLite 3.35+ drops a column in place (no table rebuild, indexes untouched),
    # which gives back exactly the layout version 4 created
    op.execute('ALTER TABLE "crm_customers" DROP COLUMN "gender"')
    op.execute("UPDATE crm_schema SET version = 4")  # down_revision's version
