"""Schema version 7: products and order lines (issue 20, recommendations).

Two new tables: ``crm_products`` (one row per
:class:`~crmcore.domain.Product`, indexed by ``sku``) and
``crm_order_lines`` (one row per :class:`~crmcore.domain.OrderLine`,
indexed by ``order_id`` and ``product_id``).  Nothing existing changes, so no
data moves: orders stored before keep their amounts and simply have no lines.
The stores check that a line names a stored product and order (no database
foreign key: the check names the missing record, and products are retired,
not removed).

It follows version 6 (ticket categories).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "v7"
down_revision = "v6"
branch_labels = None
depends_on = None

# column spec: "name:type" with "?" for nullable (the tokens of v1_baseline)
_TABLES = {
    "crm_products": (
        "id:str", "version:int", "custom:json", "sku:str", "name:str", "price:dec",
        "price_currency:str", "category:json", "active:bool",
    ),
    "crm_order_lines": (
        "id:str", "version:int", "custom:json", "order_id:str", "product_id:str",
        "quantity:int", "unit_price:dec", "unit_price_currency:str", "discount:dec?",
        "discount_currency:str?",
    ),
}  # fmt: skip
_INDEXES = (
    ("crm_products", "sku"),
    ("crm_order_lines", "order_id"),
    ("crm_order_lines", "product_id"),
)


def _type(token: str, *, sqlite: bool) -> Any:
    """Return the column type of a token, per dialect (as version 7 maps them)."""
    if token == "str":  # noqa: S105 -- a type token, not a password
        return sa.Text() if sqlite else sa.Text(collation="C")
    if token == "int":  # noqa: S105
        return sa.BigInteger()
    if token == "bool":  # noqa: S105
        return sa.Boolean(create_constraint=False)
    if token == "dec":  # noqa: S105
        return sa.Text() if sqlite else sa.Numeric(asdecimal=True)
    assert token == "json"  # noqa: S105
    return sa.Text() if sqlite else pg.JSON(none_as_null=True)


def upgrade() -> None:
    """Create ``crm_products`` and ``crm_order_lines`` with their indexes; record version 7."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, spec in _TABLES.items():
        columns = []
        for item in spec:
            name, _, token = item.partition(":")
            columns.append(
                sa.Column(
                    name,
                    _type(token.rstrip("?"), sqlite=sqlite),
                    primary_key=name == "id",
                    nullable=token.endswith("?"),
                )
            )
        op.create_table(table, *columns)
    for table, column in _INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])
    op.execute("UPDATE crm_schema SET version = 7")


def downgrade() -> None:
    """Drop both tables (the catalogue and the lines are lost) and record version 6."""
    op.drop_table("crm_order_lines")  # its indexes go with it
    op.drop_table("crm_products")
    op.execute("UPDATE crm_schema SET version = 6")  # down_revision's version
