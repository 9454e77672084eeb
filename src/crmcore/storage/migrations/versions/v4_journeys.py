"""Schema version 4: journey enrolments.

``crm_journey_enrolments`` is new: one row per
:class:`~crmcore.domain.Enrolment` (a customer's way through a marketing
journey), indexed by journey, customer, status and due time.  Nothing
existing changes, so no data moves; the journeys' actions and audit events
go to ``crm_events`` like every event.

It follows version 3 (campaign members and fields).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "v4"
down_revision = "v3"
branch_labels = None
depends_on = None

_TABLE = "crm_journey_enrolments"
# column spec: "name:type" with "?" for nullable (the tokens of v1_baseline)
_COLUMNS = (
    "journey_id:str", "customer_id:str", "seq:int", "enrolled_at:ts", "enrolled_at_tz:zone",
    "step:str", "step_at:ts", "step_at_tz:zone", "due_at:ts?", "due_at_tz:zone?",
    "status:str", "control:bool", "id:str", "version:int",
)  # fmt: skip
# index columns; True: partial (only rows where the column is set)
_INDEXES = (("journey_id", False), ("customer_id", False), ("status", False), ("due_at", True))


def _type(token: str, *, sqlite: bool) -> Any:
    """Return the column type of a token, per dialect (as version 4 maps them)."""
    if token == "str":  # noqa: S105 -- a type token, not a password
        return sa.Text() if sqlite else sa.Text(collation="C")
    if token == "zone":  # noqa: S105
        return sa.Text()
    if token == "int":  # noqa: S105
        return sa.BigInteger()
    if token == "bool":  # noqa: S105
        return sa.Boolean(create_constraint=False)
    assert token == "ts"  # noqa: S105
    return sa.BigInteger() if sqlite else sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``crm_journey_enrolments`` and its indexes, and record version 4."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    columns = []
    for spec in _COLUMNS:
        name, _, token = spec.partition(":")
        columns.append(
            sa.Column(
                name,
                _type(token.rstrip("?"), sqlite=sqlite),
                primary_key=name == "id",
                nullable=token.endswith("?"),
            )
        )
    op.create_table(_TABLE, *columns)
    for column, partial in _INDEXES:
        where = sa.column(column).is_not(None) if partial else None
        op.create_index(
            f"ix_{_TABLE}_{column}", _TABLE, [column], sqlite_where=where, postgresql_where=where
        )
    op.execute("UPDATE crm_schema SET version = 4")


def downgrade() -> None:
    """Drop ``crm_journey_enrolments`` (its rows are lost) and record version 2."""
    op.drop_table(_TABLE)
    op.execute("UPDATE crm_schema SET version = 3")
