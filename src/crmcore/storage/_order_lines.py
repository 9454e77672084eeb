"""Orders with their lines: written together, read back as one purchase-line frame.

:func:`add_order` writes an order and its lines in one unit of work after
checking the rule of :func:`crmcore.domain.check_order_lines` (an order with
lines is worth their sum).  :func:`order_lines_frame` joins the stored lines
with their orders: one row per line with the buyer and the time, the frame
:func:`crmcore.recommend.interactions` and every recommender fit on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crmcore.domain import Order, OrderLine, OrderStatus, check_order_lines
from crmcore.errors import ValidationError

if TYPE_CHECKING:
    from crmcore.storage._protocols import Store

__all__ = ["ORDER_LINE_COLUMNS", "add_order", "order_lines_frame"]

#: The columns of :func:`order_lines_frame`, in order.
ORDER_LINE_COLUMNS = (
    "order_id",
    "line_id",
    "customer_id",
    "product_id",
    "date",
    "quantity",
    "unit_price",
    "discount",
    "amount",
    "currency",
)


def add_order(store: Store, order: Order, lines: Iterable[OrderLine]) -> Order:
    """Write an order and its lines in one unit of work, checked against each other.

    Parameters
    ----------
    store : InMemoryStore or SqlStore
    order : Order
    lines : iterable of OrderLine
        The order's lines; every product must be in ``store.products``.

    Returns
    -------
    Order
        The stored order.

    Raises
    ------
    ValidationError
        The lines break :func:`~crmcore.domain.check_order_lines` (another
        order's line, another currency, a sum other than ``order.amount``),
        a line names a product the store does not hold, or an id exists
        already.  Nothing is written then.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Money, Order, OrderLine, Product
    >>> from crmcore.storage import InMemoryStore, add_order
    >>> store = InMemoryStore()
    >>> price = Money(amount="4.50", currency="EUR")
    >>> _ = store.products.add(Product(id="tea", sku="T-1", name="Tea", price=price))
    >>> order = Order(
    ...     id="O-1",
    ...     customer_id="C-1",
    ...     amount=Money(amount="9.00", currency="EUR"),
    ...     placed_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    ... )
    >>> line = OrderLine(
    ...     id="O-1:1", order_id="O-1", product_id="tea", quantity=2, unit_price=price
    ... )
    >>> add_order(store, order, [line]).id, store.order_lines.count({"order_id": "O-1"})
    ('O-1', 1)
    """
    checked = check_order_lines(order, lines)
    with store.unit_of_work() as uow:
        stored: Order = uow.orders.add(order)
        uow.order_lines.add_many(checked)
        uow.commit()
    return stored


def _statuses(statuses: Any) -> list[str]:
    if isinstance(statuses, str | OrderStatus):
        statuses = [statuses]
    out = []
    allowed = [s.value for s in OrderStatus]
    for status in statuses:
        value = status.value if isinstance(status, OrderStatus) else status
        if value not in allowed:
            raise ValidationError(
                f"statuses: {status!r} is not an order status; allowed: {', '.join(allowed)}",
                field="statuses",
                value=status,
            )
        out.append(value)
    if not out:
        raise ValidationError("statuses must name at least one order status", field="statuses")
    return out


def order_lines_frame(
    store: Store,
    *,
    statuses: str | Sequence[str] = ("completed",),
    where: Any = None,
    batch_size: int = 50_000,
) -> pd.DataFrame:
    """Every stored order line with its order's buyer and time: the purchase-line log.

    One row per line of an order whose status is in ``statuses`` (only
    completed orders are purchases), sorted by ``date``, ``order_id`` and
    ``line_id``.  It goes straight into :func:`crmcore.recommend.interactions`
    and every recommender's ``fit`` (``order_col="order_id"``,
    ``quantity_col="quantity"``), and into
    :class:`~crmcore.recommend.RepurchaseModel`.  Orders without lines are
    not in it.

    Parameters
    ----------
    store : InMemoryStore or SqlStore
    statuses : str or sequence of str, default ("completed",)
        Which orders count.
    where : filter, optional
        A filter on the *orders* (any form ``store.orders.query`` takes),
        for example ``{"placed_at__gt": since}``.
    batch_size : int, default 50000
        Rows per read batch.

    Returns
    -------
    DataFrame
        Columns :data:`ORDER_LINE_COLUMNS`: ``order_id``, ``line_id``,
        ``customer_id``, ``product_id``, ``date`` (UTC), ``quantity`` (int),
        ``unit_price``, ``discount`` (0 without one) and ``amount``
        (``quantity × unit_price − discount``) as floats in ``currency``.

    Raises
    ------
    ValidationError
        An unknown status or a bad filter.

    Examples
    --------
    >>> from crmcore.datasets import make_company, write_company
    >>> from crmcore.storage import InMemoryStore, order_lines_frame
    >>> store = InMemoryStore()
    >>> _ = write_company(make_company(100, random_state=1), store)
    >>> lines = order_lines_frame(store)
    >>> lines.columns.tolist()[:5]
    ['order_id', 'line_id', 'customer_id', 'product_id', 'date']
    >>> orders = store.orders.to_frame(["id", "amount"]).set_index("id")["amount"]
    >>> per_order = lines.groupby("order_id")["amount"].sum()
    >>> bool(((per_order - orders[per_order.index]).abs() < 1e-6).all())
    True
    """
    wanted = _statuses(statuses)
    condition: Any = {"status__in": wanted}
    if where is not None:
        condition = [condition, where]
    orders = store.orders.to_frame(
        ["id", "customer_id", "placed_at"], where=condition, batch_size=batch_size
    ).rename(columns={"id": "order_id", "placed_at": "date"})
    lines = store.order_lines.to_frame(
        [
            "id",
            "order_id",
            "product_id",
            "quantity",
            "unit_price",
            "unit_price_currency",
            "discount",
        ],
        batch_size=batch_size,
    ).rename(columns={"id": "line_id", "unit_price_currency": "currency"})
    merged = lines.merge(orders, on="order_id", how="inner", validate="many_to_one")
    merged["quantity"] = merged["quantity"].astype(np.int64)
    merged["discount"] = merged["discount"].fillna(0.0)
    merged["amount"] = merged["quantity"] * merged["unit_price"] - merged["discount"]
    merged = merged.sort_values(["date", "order_id", "line_id"], kind="stable")
    return merged[list(ORDER_LINE_COLUMNS)].reset_index(drop=True)
