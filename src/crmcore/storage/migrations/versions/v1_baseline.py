"""Schema version 1: the eleven aggregate tables, as the first release created them.

Frozen: the tables, column types and indexes that ``SqlStore.create_schema()``
of schema version 1 emitted, written out so that this revision builds that
schema whatever the entity classes look like today.  Databases created by
that release have no Alembic version table; ``upgrade_schema()`` stamps them
with this revision before upgrading.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "v1"
down_revision = None
branch_labels = None
depends_on = None

# column spec: "name:type" with "?" for nullable; types as version 1 mapped them
_TABLES: dict[str, tuple[str, ...]] = {
    "crm_customers": (
        "id:str", "version:int", "custom:json", "name:str", "created_at:ts", "created_at_tz:zone",
        "email:str?", "phone:json?", "address:json?", "account_id:str?", "birth_date:date?",
        "consents:json", "tags:json",
    ),
    "crm_accounts": (
        "id:str", "version:int", "custom:json", "name:str", "created_at:ts", "created_at_tz:zone",
        "industry:str?", "website:str?", "owner:str?", "parent_id:str?", "phone:json?",
        "address:json?", "tags:json",
    ),
    "crm_contacts": (
        "id:str", "version:int", "custom:json", "account_id:str", "name:str", "created_at:ts",
        "created_at_tz:zone", "title:str?", "email:str?", "phone:json?", "consents:json",
    ),
    "crm_leads": (
        "id:str", "version:int", "custom:json", "name:str", "source:str", "created_at:ts",
        "created_at_tz:zone", "company:str?", "email:str?", "phone:json?", "campaign_id:str?",
        "status:str", "owner:str?", "score:float?", "converted_at:ts?", "converted_at_tz:zone?",
        "converted_account_id:str?", "converted_contact_id:str?", "converted_opportunity_id:str?",
    ),
    "crm_opportunities": (
        "id:str", "version:int", "custom:json", "account_id:str", "name:str", "amount:dec",
        "amount_currency:str", "expected_close_date:date", "probability:float", "created_at:ts",
        "created_at_tz:zone", "stage:str", "probability_is_manual:bool", "lost_reason:str?",
        "last_open_stage:str?", "closed_at:ts?", "closed_at_tz:zone?", "owner:str?",
        "contact_id:str?", "campaign_id:str?",
    ),
    "crm_activities": (
        "id:str", "version:int", "custom:json", "kind:str", "subject:str", "created_at:ts",
        "created_at_tz:zone", "due_at:ts?", "due_at_tz:zone?", "completed_at:ts?",
        "completed_at_tz:zone?", "owner:str?", "customer_id:str?", "account_id:str?",
        "contact_id:str?", "lead_id:str?", "opportunity_id:str?", "ticket_id:str?", "notes:str?",
    ),
    "crm_tickets": (
        "id:str", "version:int", "custom:json", "customer_id:str", "subject:str", "channel:str",
        "created_at:ts", "created_at_tz:zone", "priority:str", "status:str",
        "first_response_at:ts?", "first_response_at_tz:zone?", "resolved_at:ts?",
        "resolved_at_tz:zone?", "owner:str?", "contact_id:str?", "description:str?",
    ),
    "crm_campaigns": (
        "id:str", "version:int", "custom:json", "name:str", "channel:str", "start_date:date",
        "end_date:date?", "budget:dec?", "budget_currency:str?", "status:str", "owner:str?",
    ),
    "crm_orders": (
        "id:str", "version:int", "custom:json", "customer_id:str", "placed_at:ts",
        "placed_at_tz:zone", "amount:dec", "amount_currency:str", "status:str",
        "campaign_id:str?", "channel:str?",
    ),
    "crm_survey_responses": (
        "id:str", "version:int", "custom:json", "customer_id:str", "kind:str", "score:int",
        "answered_at:ts", "answered_at_tz:zone", "scale:int", "comment:str?", "ticket_id:str?",
    ),
    "crm_loyalty_accounts": (
        "id:str", "version:int", "custom:json", "customer_id:str", "program_id:str",
        "opened_at:ts", "opened_at_tz:zone", "tier:str?", "closed_at:ts?", "closed_at_tz:zone?",
    ),
}  # fmt: skip

# index columns; True: partial (only rows where the column is set)
_INDEXES: dict[str, tuple[tuple[str, bool], ...]] = {
    "crm_customers": (("account_id", True), ("email", True), ("created_at", False)),
    "crm_accounts": (("parent_id", True), ("name", False)),
    "crm_contacts": (("account_id", False), ("email", True)),
    "crm_leads": (
        ("campaign_id", True), ("converted_account_id", True), ("converted_contact_id", True),
        ("converted_opportunity_id", True), ("status", False), ("created_at", False),
    ),
    "crm_opportunities": (
        ("account_id", False), ("contact_id", True), ("campaign_id", True), ("stage", False),
        ("expected_close_date", False),
    ),
    "crm_activities": (
        ("customer_id", True), ("account_id", True), ("contact_id", True), ("lead_id", True),
        ("opportunity_id", True), ("ticket_id", True), ("kind", False), ("due_at", True),
    ),
    "crm_tickets": (
        ("customer_id", False), ("contact_id", True), ("status", False), ("created_at", False),
    ),
    "crm_campaigns": (("status", False),),
    "crm_orders": (("customer_id", False), ("campaign_id", True), ("placed_at", False)),
    "crm_survey_responses": (
        ("customer_id", False), ("ticket_id", True), ("kind", False), ("answered_at", False),
    ),
    "crm_loyalty_accounts": (("customer_id", False), ("program_id", False), ("tier", True)),
}  # fmt: skip


def _type(token: str, sqlite: bool) -> Any:
    """Return the column type version 1 used for a token, per dialect."""
    if token == "str":  # noqa: S105 -- a type token, not a password
        return sa.Text() if sqlite else sa.Text(collation="C")
    if token == "zone":  # noqa: S105
        return sa.Text()
    if token == "int":  # noqa: S105
        return sa.BigInteger()
    if token == "float":  # noqa: S105
        return sa.Double()
    if token == "bool":  # noqa: S105
        return sa.Boolean(create_constraint=False)
    if token == "dec":  # noqa: S105
        return sa.Text() if sqlite else sa.Numeric(asdecimal=True)
    if token == "ts":  # noqa: S105
        return sa.BigInteger() if sqlite else sa.DateTime(timezone=True)
    if token == "date":  # noqa: S105
        return sa.Text() if sqlite else sa.Date()
    assert token == "json"  # noqa: S105
    return sa.Text() if sqlite else pg.JSON(none_as_null=True)


def upgrade() -> None:
    """Create the version 1 tables, their indexes, and ``crm_schema``."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, specs in _TABLES.items():
        columns = []
        for spec in specs:
            name, _, token = spec.partition(":")
            nullable = token.endswith("?")
            columns.append(
                sa.Column(
                    name,
                    _type(token.rstrip("?"), sqlite),
                    primary_key=name == "id",
                    nullable=nullable,
                )
            )
        op.create_table(table, *columns)
        for column, partial in _INDEXES[table]:
            where = sa.column(column).is_not(None) if partial else None
            op.create_index(
                f"ix_{table}_{column}",
                table,
                [column],
                sqlite_where=where,
                postgresql_where=where,
            )
    op.create_table("crm_schema", sa.Column("version", sa.Integer(), nullable=False))
    op.execute("INSERT INTO crm_schema (version) VALUES (1)")


def downgrade() -> None:
    """Drop everything version 1 created."""
    op.drop_table("crm_schema")
    for table in reversed(list(_TABLES)):
        op.drop_table(table)
