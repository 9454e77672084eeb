"""Schema version 3: campaigns gain their audience, variants, cost and goal; campaign members.

``crm_campaigns`` gains ``audience`` (text), ``variants`` (JSON, ``[]`` for
the campaigns stored before), ``cost`` / ``cost_currency`` and ``goal``
(all empty for them).  PostgreSQL adds the columns; SQLite rebuilds the
table (the rows copied unchanged, in one statement), because it appends an
added column to the table's recorded SQL after the primary-key clause, and
an altered table would no longer be the one ``create_schema()`` builds.
``crm_campaign_members`` is new (one row per
:class:`~crmcore.domain.CampaignMember`, indexed by campaign and customer).
Nothing else changes; the engagement and membership events go to
``crm_events`` like every event.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "v3"
down_revision = "v2"
branch_labels = None
depends_on = None

# column spec: "name:type" with "?" for nullable (the tokens of v1_baseline)
_CAMPAIGNS_V2 = (
    "id:str", "version:int", "custom:json", "name:str", "channel:str", "start_date:date",
    "end_date:date?", "budget:dec?", "budget_currency:str?", "status:str", "owner:str?",
)  # fmt: skip
_CAMPAIGNS_NEW = (
    "audience:str?", "variants:json", "cost:dec?", "cost_currency:str?", "goal:str?",
)  # fmt: skip
_MEMBERS = (
    "version:int", "custom:json", "campaign_id:str", "customer_id:str", "id:str",
    "selected_at:ts", "selected_at_tz:zone", "variant:str?", "control:bool",
)  # fmt: skip
_OLD = "crm_campaigns_v2"


def _type(token: str, *, sqlite: bool) -> Any:
    """Return the column type of a token, per dialect (as version 3 maps them)."""
    if token == "str":  # noqa: S105 -- a type token, not a password
        return sa.Text() if sqlite else sa.Text(collation="C")
    if token == "zone":  # noqa: S105
        return sa.Text()
    if token == "int":  # noqa: S105
        return sa.BigInteger()
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


def _columns(specs: tuple[str, ...], *, sqlite: bool) -> list[sa.Column[Any]]:
    out = []
    for spec in specs:
        name, _, token = spec.partition(":")
        out.append(
            sa.Column(
                name,
                _type(token.rstrip("?"), sqlite=sqlite),
                primary_key=name == "id",
                nullable=token.endswith("?"),
            )
        )
    return out


def _names(specs: tuple[str, ...]) -> list[str]:
    return [spec.partition(":")[0] for spec in specs]


def upgrade() -> None:
    """Give ``crm_campaigns`` the new columns, create ``crm_campaign_members``."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _rebuild_campaigns(_CAMPAIGNS_V2 + _CAMPAIGNS_NEW, "NULL, '[]', NULL, NULL, NULL")
    else:
        for column in _columns(_CAMPAIGNS_NEW, sqlite=sqlite):
            if column.name == "variants":  # no variants: the empty list, then no default
                column = sa.Column(  # noqa: PLW2901 -- the same column, with a default
                    column.name,
                    column.type,
                    nullable=False,
                    server_default=sa.text("CAST('[]' AS JSON)"),
                )
            op.add_column("crm_campaigns", column)
        op.alter_column("crm_campaigns", "variants", server_default=None)
    op.create_table("crm_campaign_members", *_columns(_MEMBERS, sqlite=sqlite))
    for column_name in ("campaign_id", "customer_id"):
        op.create_index(
            f"ix_crm_campaign_members_{column_name}", "crm_campaign_members", [column_name]
        )
    op.execute("UPDATE crm_schema SET version = 3")


def _rebuild_campaigns(specs: tuple[str, ...], new_values: str) -> None:
    """SQLite: copy ``crm_campaigns`` into a table of columns ``specs``, in one statement.

    The columns of version 2 are copied; ``new_values`` fills the others.
    """
    op.rename_table("crm_campaigns", _OLD)
    op.drop_index("ix_crm_campaigns_status", table_name=_OLD)
    op.create_table("crm_campaigns", *_columns(specs, sqlite=True))
    old = ", ".join(_names(_CAMPAIGNS_V2))
    names = ", ".join(_names(specs))
    values = f"{old}, {new_values}" if new_values else old
    op.execute(f"INSERT INTO crm_campaigns ({names}) SELECT {values} FROM {_OLD}")  # noqa: S608 -- constant identifiers
    op.drop_table(_OLD)
    op.create_index("ix_crm_campaigns_status", "crm_campaigns", ["status"])


def downgrade() -> None:
    """Drop the members (their data is lost) and the new campaign columns; record version 2."""
    op.drop_table("crm_campaign_members")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_campaigns(_CAMPAIGNS_V2, "")
    else:
        for name in _names(_CAMPAIGNS_NEW):
            op.drop_column("crm_campaigns", name)
    op.execute("UPDATE crm_schema SET version = 2")
