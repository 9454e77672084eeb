"""Events posted to a points ledger: purchases, redemptions, refunds."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs

from crmcore._text import check_key
from crmcore._time import instant_key, require_aware
from crmcore.domain import Money, Order, OrderStatus
from crmcore.errors import ValidationError

__all__ = ["LedgerEvent", "Purchase", "Redemption", "Refund"]


def _check_id(value: Any, field: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"{field} must be a non-empty string; got {value!r}", field=field, value=value
        )
    check_key(value, field)  # the ledger's idempotency key: stored and indexed


def _check_at(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    require_aware(value, field=attribute.name)


def _check_event_id(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check_id(value, attribute.name)


@attrs.frozen(kw_only=True)
class Purchase:
    """A purchase that earns points.

    Parameters
    ----------
    event_id : str
        Unique id of the event (usually the order id): posting the same id
        twice credits once.
    at : datetime
        When it happened (timezone-aware).
    amount : Money
        Order value, ``> 0``, in the programme currency.
    category, campaign : str, optional
        Used by earn rules with category or campaign conditions.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Money
    >>> Purchase(
    ...     event_id="O-1",
    ...     at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    ...     amount=Money(amount="20", currency="EUR"),
    ... ).amount.amount
    Decimal('20')
    """

    event_id: str = attrs.field(validator=_check_event_id)
    at: _dt.datetime = attrs.field(validator=_check_at, eq=instant_key)
    amount: Money
    category: str | None = None
    campaign: str | None = None

    def __attrs_post_init__(self) -> None:
        amount: object = self.amount
        if not isinstance(amount, Money) or amount.amount <= 0:
            raise ValidationError(
                f"amount must be a positive Money; got {self.amount!r}",
                field="amount",
                value=self.amount,
            )

    @classmethod
    def from_order(cls, order: Order, *, category: str | None = None) -> Purchase:
        """Build the purchase event of a domain :class:`~crmcore.domain.Order`.

        The event id is the order id and the campaign is the order's
        ``campaign_id``. Only ``completed`` orders earn points; for an order
        later refunded, post this purchase when it completed and a
        :class:`Refund` when it was refunded.

        Parameters
        ----------
        order : Order
            A completed order; its ``placed_at`` becomes the event time and
            its ``amount`` the purchase amount.
        category : str, optional
            Purchase category for category-specific earn rules (orders carry
            none).

        Returns
        -------
        Purchase
            The event, with ``event_id`` the order id.

        Raises
        ------
        ValidationError
            If the order is not ``completed``.
        """
        if order.status != OrderStatus.COMPLETED:
            raise ValidationError(
                f"order {order.id!r} is {order.status.value}; only completed orders earn points",
                field="status",
                value=order.status.value,
            )
        campaign = None if order.campaign_id is None else str(order.campaign_id)
        return cls(
            event_id=str(order.id),
            at=order.placed_at,
            amount=order.amount,
            category=category,
            campaign=campaign,
        )


@attrs.frozen(kw_only=True)
class Redemption:
    """Points spent by the member.

    Parameters
    ----------
    event_id : str
        Unique id of the redemption.
    at : datetime
        When it happened (timezone-aware).
    points : int
        Points redeemed, ``> 0``.
    """

    event_id: str = attrs.field(validator=_check_event_id)
    at: _dt.datetime = attrs.field(validator=_check_at, eq=instant_key)
    points: int

    def __attrs_post_init__(self) -> None:
        points: object = self.points
        if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
            raise ValidationError(
                f"points must be a positive int; got {self.points!r}",
                field="points",
                value=self.points,
            )


@attrs.frozen(kw_only=True)
class Refund:
    """Full refund of an earlier purchase: its points are clawed back.

    Parameters
    ----------
    event_id : str
        Unique id of the refund.
    at : datetime
        When it happened (timezone-aware).
    order_id : str
        ``event_id`` of the :class:`Purchase` being refunded.
    """

    event_id: str = attrs.field(validator=_check_event_id)
    at: _dt.datetime = attrs.field(validator=_check_at, eq=instant_key)
    order_id: str

    def __attrs_post_init__(self) -> None:
        _check_id(self.order_id, "order_id")


LedgerEvent = Purchase | Redemption | Refund
