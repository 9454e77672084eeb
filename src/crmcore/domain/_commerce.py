"""Buying and belonging: Order, LoyaltyAccount."""

from __future__ import annotations

import datetime as _dt
import enum
from typing import Any

import attrs

from crmcore.domain._base import (
    EntityId,
    _attempt,
    convert_id,
    convert_lower,
    convert_optional_id,
    enum_converter,
    not_before,
    valid_aware,
    valid_id,
    valid_instance,
    valid_key_text,
    valid_member,
    valid_optional_aware,
    valid_optional_id,
    valid_optional_key_text,
    valid_optional_text,
)
from crmcore.domain._codec import (
    dec_datetime,
    dec_optional_datetime,
    dec_with,
    meta,
)
from crmcore.domain._entity import Entity
from crmcore.domain._money import Money
from crmcore.errors import ValidationError

__all__ = ["LoyaltyAccount", "Order", "OrderStatus"]


class OrderStatus(enum.StrEnum):
    """State of an :class:`Order`.

    Only ``completed`` orders are purchases for transaction analytics
    (``crmcore.clv``); a refund is recorded by setting the status to
    ``refunded`` (the amount stays the original, non-negative one).
    """

    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


_to_order_status = enum_converter(OrderStatus)


def _convert_order_status(value: Any) -> OrderStatus:
    return _attempt(_to_order_status, value)


@attrs.frozen(kw_only=True)
class Order(Entity):
    """A purchase: who bought, when, and for how much.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    customer_id : str or uuid.UUID
        The buyer.
    placed_at : datetime.datetime
        When the order was placed (timezone-aware).
    amount : Money
        Order value, ``>= 0``.  Refunds are not negative orders: set
        ``status="refunded"``.
    status : OrderStatus or str, default "completed"
        ``pending``, ``completed``, ``cancelled`` or ``refunded``.
    campaign_id : str or uuid.UUID, optional
        The campaign the order is attributed to.
    channel : str, optional
        Sales channel (``"web"``, ``"store"``, ``"phone"``...), stored lower-case.

    Examples
    --------
    >>> import datetime as dt
    >>> o = Order(
    ...     id="O-1001",
    ...     customer_id="C-1",
    ...     placed_at=dt.datetime(2024, 5, 3, 14, 2, tzinfo=dt.UTC),
    ...     amount=Money(amount="49.90", currency="EUR"),
    ... )
    >>> o.status
    <OrderStatus.COMPLETED: 'completed'>
    >>> o.to_dict()["amount"]
    {'amount': '49.90', 'currency': 'EUR'}
    """

    customer_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    placed_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    amount: Money = attrs.field(
        validator=valid_instance(Money), metadata=meta(dec_with(Money.from_dict))
    )
    status: OrderStatus = attrs.field(
        default=OrderStatus.COMPLETED,
        converter=_convert_order_status,
        validator=valid_member(OrderStatus),
    )
    campaign_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    channel: str | None = attrs.field(
        default=None,
        converter=convert_lower,
        validator=valid_optional_text,
    )

    def __attrs_post_init__(self) -> None:
        if self.amount.is_negative():
            raise ValidationError(
                f"amount must be >= 0 (record refunds with status='refunded'); got {self.amount}",
                field="amount",
                value=self.amount,
            )


@attrs.frozen(kw_only=True)
class LoyaltyAccount(Entity):
    """A customer's membership in a loyalty programme.

    The points balance is not stored here: it is derived from the points
    ledger (``crmcore.loyalty``).

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    customer_id : str or uuid.UUID
        The member.
    program_id : str
        The loyalty programme.
    opened_at : datetime.datetime
        When the customer joined (timezone-aware).
    tier : str, optional
        Current tier name (``"silver"``, ``"gold"``...), maintained by the
        tier rules.
    closed_at : datetime.datetime, optional
        When the membership ended; not before ``opened_at``.

    Examples
    --------
    >>> import datetime as dt
    >>> LoyaltyAccount(
    ...     id="M-1",
    ...     customer_id="C-1",
    ...     program_id="stars",
    ...     opened_at=dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
    ... ).is_active
    True
    """

    customer_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    program_id: str = attrs.field(validator=valid_key_text)
    opened_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    tier: str | None = attrs.field(default=None, validator=valid_optional_key_text)
    closed_at: _dt.datetime | None = attrs.field(
        default=None, validator=valid_optional_aware, metadata=meta(dec_optional_datetime)
    )

    def __attrs_post_init__(self) -> None:
        not_before(self, "closed_at", "opened_at")

    @property
    def is_active(self) -> bool:
        """True while ``closed_at`` is unset."""
        return self.closed_at is None
