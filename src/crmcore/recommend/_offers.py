"""Offers and the constraints of next-best-action: what can be sent, to whom, how often."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._time import to_duration
from crmcore.errors import ValidationError
from crmcore.segmentation import Rule

__all__ = ["Constraints", "FrequencyCap", "Offer"]


def _id(value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValidationError(
            f"an offer id must be a non-empty string or an integer; got {value!r}",
            field="id",
            value=value,
        )
    return value


def _rule(value: Any) -> Rule | None:
    if value is None or isinstance(value, Rule):
        return value
    if isinstance(value, str):
        return Rule.parse(value)
    raise ValidationError(
        f"rule must be a segmentation Rule, rule text or None; got {type(value).__name__}",
        field="rule",
        value=value,
    )


def _money(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValidationError(f"{name} must be a number; got {value!r}", field=name, value=value)
    x = float(value)
    if not math.isfinite(x) or x < 0:
        raise ValidationError(f"{name} must be finite and >= 0; got {value!r}", field=name)
    return x


def _cost(value: Any) -> float:
    return _money(value, "cost")


def _value(value: Any) -> float | str | Callable[..., Any] | None:
    if value is None or isinstance(value, str) or callable(value):
        return value  # type: ignore[no-any-return]
    return _money(value, "value")


@attrs.frozen
class Offer:
    """Something the business can do for a customer: an offer, on a channel, at a cost.

    Parameters
    ----------
    id : str or int
        Identifier.
    channel : str
        Sending channel (``"email"``, ``"sms"``, ``"push"``, ``"call"``...):
        the channel whose consent is required, and whose frequency caps apply.
    rule : Rule or str, optional
        Eligibility, evaluated on the customer frame (``"tier == 'gold' and
        spend_90d > 100"``); everyone when omitted.
    cost : float, default 0
        Cost of one action (incentive, postage, call time), ``>= 0``.
    value : float, str or callable, optional
        The value model: the value of a response as a number, the name of a
        customer column (``"clv"``, ``"margin_if_bought"``), or a function
        ``f(customers) -> values``. ``next_best_action(value=...)`` can give
        it instead.

    Examples
    --------
    >>> Offer("winback-10", channel="email", rule="days_since_last_purchase > 90", cost=2.5)
    Offer(id='winback-10', channel='email', rule=Rule.parse('days_since_last_purchase > 90'), cost=2.5, value=None)
    """  # noqa: E501

    id: str | int = attrs.field(converter=_id)
    channel: str = attrs.field()
    rule: Rule | None = attrs.field(default=None, converter=_rule)
    cost: float = attrs.field(default=0.0, converter=_cost)
    value: float | str | Callable[..., Any] | None = attrs.field(default=None, converter=_value)

    @channel.validator
    def _check_channel(self, attribute: Any, value: Any) -> None:
        if not isinstance(value, str) or not value:
            raise ValidationError(
                f"channel must be a non-empty string; got {value!r}", field="channel", value=value
            )

    def eligible(self, customers: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Evaluate the eligibility rule on the customer frame.

        Raises
        ------
        ValidationError
            The rule reads a column the frame lacks (the message names the
            offer and lists the columns), or compares it with a literal of
            the wrong type.
        """
        if self.rule is None:
            return np.ones(len(customers), dtype=bool)
        try:
            return self.rule.mask(customers)
        except ValidationError as exc:
            raise ValidationError(
                f"offer {self.id!r}: its rule {self.rule!s} cannot be evaluated: {exc.message}",
                field=exc.field,
                value=self.rule.text,
            ) from exc


@attrs.frozen
class FrequencyCap:
    """At most ``max_contacts`` contacts per customer within any ``window``.

    Parameters
    ----------
    max_contacts : int
        Contacts allowed in the window (``>= 0``).
    window : duration
        The look-back window (``"7D"``): contacts in ``(as_of - window,
        as_of]`` count against the cap, and the actions chosen now count
        too.
    channel : str, optional
        The channel capped; every channel together when omitted.
    """

    max_contacts: int = attrs.field()
    window: Any = attrs.field()
    channel: str | None = None

    @max_contacts.validator
    def _check_max(self, attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(
                f"max_contacts must be a whole number >= 0; got {value!r}",
                field="max_contacts",
                value=value,
            )

    @window.validator
    def _check_window(self, attribute: Any, value: Any) -> None:
        to_duration(value, name="window")


def _capacity(value: Any) -> dict[str | int, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"capacity must map offer ids to whole numbers; got {type(value).__name__}",
            field="capacity",
        )
    out = {}
    for key, n in value.items():
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValidationError(
                f"capacity of offer {key!r} must be a whole number >= 0; got {n!r}",
                field="capacity",
                row=key,
                value=n,
            )
        out[key] = int(n)
    return out


def _budget(value: Any) -> float | None:
    return None if value is None else _money(value, "budget")


def _caps(value: Any) -> tuple[FrequencyCap, ...]:
    caps = tuple(value)
    for cap in caps:
        if not isinstance(cap, FrequencyCap):
            raise ValidationError(
                f"frequency_caps must hold FrequencyCap values; got {type(cap).__name__}",
                field="frequency_caps",
            )
    return caps


@attrs.frozen
class Constraints:
    """What limits next-best-action besides eligibility and consent.

    Parameters
    ----------
    max_actions : int, default 1
        Actions per customer at most.
    budget : float, optional
        Total cost of all actions at most.
    capacity : mapping of offer id to int, optional
        Actions per offer at most (stock, call-centre slots, coupons).
    frequency_caps : sequence of FrequencyCap, default ()
        Contact-pressure limits (need ``contacts=`` and ``as_of=``).
    min_expected_value : float, default 0
        Only actions whose expected value exceeds this (``>= 0``) are taken.
    """

    max_actions: int = attrs.field(default=1)
    budget: float | None = attrs.field(default=None, converter=_budget)
    capacity: Mapping[str | int, int] = attrs.field(factory=dict, converter=_capacity)
    frequency_caps: tuple[FrequencyCap, ...] = attrs.field(default=(), converter=_caps)
    min_expected_value: float = attrs.field(default=0.0)

    @max_actions.validator
    def _check_max(self, attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(
                f"max_actions must be a whole number >= 1; got {value!r}",
                field="max_actions",
                value=value,
            )

    @min_expected_value.validator
    def _check_min(self, attribute: Any, value: Any) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValidationError(
                f"min_expected_value must be a finite number >= 0 (an action worth less than "
                f"nothing never helps); got {value!r}",
                field="min_expected_value",
                value=value,
            )
