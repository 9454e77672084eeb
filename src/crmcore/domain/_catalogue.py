"""What is sold and what an order holds: Product, OrderLine, and the order-total rule.

The rule between an :class:`~crmcore.domain.Order` and its lines: an order
*with* lines is worth exactly the sum of their totals
(``quantity × unit_price − discount``, in the order's currency);
:func:`check_order_lines` checks it and :func:`order_total` computes it.  An
order without lines (recorded before lines were kept, or by a system that
sends totals only) keeps the amount it states.  The stores keep orders and
lines as two aggregates: ``crmcore.storage.add_order`` writes an order with
its lines after this check, in one unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from crmcore.domain._base import (
    EntityId,
    _raise_if_rejected,
    _Rejected,
    convert_id,
    encode_id,
    valid_bool,
    valid_id,
    valid_instance,
    valid_text,
)
from crmcore.domain._codec import dec_with, meta
from crmcore.domain._commerce import Order
from crmcore.domain._entity import Entity
from crmcore.domain._money import Money
from crmcore.errors import ValidationError

__all__ = ["OrderLine", "Product", "check_order_lines", "order_total"]

#: How :attr:`Product.category_path` joins the levels of a category.
CATEGORY_SEPARATOR = " > "


def _convert_category(value: Any) -> Any:
    if isinstance(value, str):  # "Grocery > Tea" is read as a path
        return tuple(part.strip() for part in value.split(CATEGORY_SEPARATOR.strip()))
    if isinstance(value, list | tuple):
        return tuple(value)
    return _Rejected(
        value, ValidationError("must be a list of category names (top level first) or a str")
    )


def _valid_category(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _raise_if_rejected(attribute.name, value)
    for name in value:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(
                f"{attribute.name} must hold non-blank str names, top level first; got {name!r}",
                field=attribute.name,
                value=name,
            )


def _non_negative(money: Money | None, name: str) -> None:
    # takes the value, not the entity: add_frame then sees which fields the rules read
    if money is not None and money.is_negative():
        raise ValidationError(f"{name} must be >= 0; got {money}", field=name, value=money)


@attrs.frozen(kw_only=True)
class Product(Entity):
    """An item of the catalogue.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.  Order lines refer to the ``id``.
    sku : str
        The stock-keeping unit (the ERP's article number).
    name : str
        What customers see.
    category : sequence of str or str, default ()
        The category path, top level first (``("Grocery", "Tea")``); a str
        ``"Grocery > Tea"`` is split at ``">"``.  Stored as a list: filter
        with ``{"category__contains": "Tea"}``.
    price : Money
        The current list price per unit, ``>= 0``.  Lines keep the price
        actually charged (:attr:`OrderLine.unit_price`), so a price change
        leaves past orders alone.
    active : bool, default True
        False: retired (no longer sold).  Retire products rather than remove
        them: stored order lines keep naming them.

    Examples
    --------
    >>> tea = Product(
    ...     id="P-1",
    ...     sku="TEA-GREEN-100",
    ...     name="Green tea, 100 g",
    ...     category="Grocery > Tea",
    ...     price=Money(amount="4.50", currency="EUR"),
    ... )
    >>> tea.category, tea.category_path
    (('Grocery', 'Tea'), 'Grocery > Tea')
    """

    sku: str = attrs.field(validator=valid_text)
    name: str = attrs.field(validator=valid_text)
    price: Money = attrs.field(
        validator=valid_instance(Money), metadata=meta(dec_with(Money.from_dict))
    )
    category: tuple[str, ...] = attrs.field(
        default=(), converter=_convert_category, validator=_valid_category
    )
    active: bool = attrs.field(default=True, validator=valid_bool)

    def __attrs_post_init__(self) -> None:
        _non_negative(self.price, "price")

    @property
    def category_path(self) -> str:
        """The category levels joined with ``" > "`` (``""`` without a category)."""
        return CATEGORY_SEPARATOR.join(self.category)


def _valid_quantity(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # bool is an int: True would be stored as quantity 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"quantity must be a whole number; got {value!r}", field="quantity", value=value
        )
    if value < 1:
        raise ValidationError(
            f"quantity must be >= 1 (record a return by refunding the order, not with a "
            f"negative line); got {value}",
            field="quantity",
            value=value,
        )


@attrs.frozen(kw_only=True)
class OrderLine(Entity):
    """One product in an :class:`~crmcore.domain.Order`: how many, at what price.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    order_id : str or uuid.UUID
        The order (its customer and time are the order's).
    product_id : str or uuid.UUID
        The :class:`Product`; a store refuses a line naming a product it
        does not hold.
    quantity : int
        Units bought, ``>= 1``.  Returns are not negative lines: refund the
        order (``status="refunded"``).
    unit_price : Money
        The price charged per unit, ``>= 0``.
    discount : Money, optional
        The discount on the whole line, ``>= 0``, at most
        ``quantity × unit_price``, in the currency of ``unit_price``.

    Examples
    --------
    >>> line = OrderLine(
    ...     id="O-1:1",
    ...     order_id="O-1",
    ...     product_id="P-1",
    ...     quantity=3,
    ...     unit_price=Money(amount="4.50", currency="EUR"),
    ...     discount=Money(amount="1.50", currency="EUR"),
    ... )
    >>> str(line.total)
    '12.00 EUR'
    """

    order_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    product_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    quantity: int = attrs.field(validator=_valid_quantity)
    unit_price: Money = attrs.field(
        validator=valid_instance(Money), metadata=meta(dec_with(Money.from_dict))
    )
    discount: Money | None = attrs.field(
        default=None,
        validator=valid_instance(Money, optional=True),
        metadata=meta(dec_with(Money.from_dict, optional=True)),
    )

    def __attrs_post_init__(self) -> None:
        _non_negative(self.unit_price, "unit_price")
        _non_negative(self.discount, "discount")
        if self.discount is None:
            return
        if self.discount.currency != self.unit_price.currency:
            raise ValidationError(
                f"discount is in {self.discount.currency} but unit_price in "
                f"{self.unit_price.currency}: give both in one currency",
                field="discount",
                value=self.discount,
            )
        gross = self.unit_price * self.quantity
        if self.discount > gross:
            raise ValidationError(
                f"discount {self.discount} exceeds the line's value {gross} "
                f"({self.quantity} × {self.unit_price})",
                field="discount",
                value=self.discount,
            )

    @property
    def total(self) -> Money:
        """``quantity × unit_price − discount``: what the line adds to its order."""
        gross = self.unit_price * self.quantity
        return gross if self.discount is None else gross - self.discount


def order_total(lines: Iterable[OrderLine], *, currency: str) -> Money:
    """Return the sum of the lines' totals: what an order with these lines is worth.

    Parameters
    ----------
    lines : iterable of OrderLine
    currency : str
        The order's currency; every line must be in it.

    Returns
    -------
    Money
        ``Money.zero(currency)`` for no lines.

    Raises
    ------
    ValidationError
        A line in another currency.

    Examples
    --------
    >>> lines = [
    ...     OrderLine(
    ...         id=f"L{i}",
    ...         order_id="O-1",
    ...         product_id=p,
    ...         quantity=q,
    ...         unit_price=Money(amount=price, currency="EUR"),
    ...     )
    ...     for i, (p, q, price) in enumerate([("tea", 2, "4.50"), ("mug", 1, "9.90")])
    ... ]
    >>> str(order_total(lines, currency="EUR"))
    '18.90 EUR'
    """
    total = Money.zero(currency)
    for line in lines:
        if line.unit_price.currency != total.currency:
            raise ValidationError(
                f"order line {line.id!r} is in {line.unit_price.currency}, the order in "
                f"{total.currency}: an order's lines share its currency",
                field="unit_price",
                row=line.id,
                value=line.unit_price,
            )
        total = total + line.total
    return total


def check_order_lines(order: Order, lines: Iterable[OrderLine]) -> tuple[OrderLine, ...]:
    """Check that ``lines`` are ``order``'s and add up to its amount.

    The rule: an order with lines is worth exactly the sum of the lines'
    totals (:func:`order_total`), in the order's currency.  Amounts compare
    as decimals (``12.0`` equals ``12.00``).

    Parameters
    ----------
    order : Order
    lines : iterable of OrderLine
        At least one line.

    Returns
    -------
    tuple of OrderLine
        The lines, as given.

    Raises
    ------
    ValidationError
        No lines; a line of another order (``field="order_id"``); a line id
        given twice; a line in another currency; or a sum other than
        ``order.amount`` (``field="amount"``, both figures named).

    Examples
    --------
    >>> import datetime as dt
    >>> order = Order(
    ...     id="O-1",
    ...     customer_id="C-1",
    ...     placed_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    ...     amount=Money(amount="9.00", currency="EUR"),
    ... )
    >>> line = OrderLine(
    ...     id="O-1:1",
    ...     order_id="O-1",
    ...     product_id="tea",
    ...     quantity=2,
    ...     unit_price=Money(amount="4.50", currency="EUR"),
    ... )
    >>> len(check_order_lines(order, [line]))
    1
    """
    out = tuple(lines)
    if not out:
        raise ValidationError(
            f"order {order.id!r} has no lines: give at least one (or store the order alone)",
            field="lines",
            row=order.id,
        )
    seen: set[str] = set()
    for line in out:
        if encode_id(line.order_id) != encode_id(order.id):
            raise ValidationError(
                f"order line {line.id!r} belongs to order {line.order_id!r}, not {order.id!r}",
                field="order_id",
                row=line.id,
                value=line.order_id,
            )
        key = encode_id(line.id)
        if key in seen:
            raise ValidationError(
                f"order line {line.id!r} is given twice", field="id", row=line.id, value=line.id
            )
        seen.add(key)
    total = order_total(out, currency=order.amount.currency)
    if Decimal(total.amount) != Decimal(order.amount.amount):
        raise ValidationError(
            f"order {order.id!r} states amount {order.amount} but its lines add up to {total}: "
            "an order with lines is worth the sum of quantity × unit_price − discount",
            field="amount",
            row=order.id,
            value=order.amount,
        )
    return out
