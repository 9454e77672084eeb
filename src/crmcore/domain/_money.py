"""Money: an exact decimal amount in one ISO 4217 currency."""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from crmcore.domain._base import (
    _attempt,
    _raise_if_rejected,
)
from crmcore.domain._codec import (
    from_dict,
)
from crmcore.domain._currencies import ISO_4217_CODES, ISO_4217_MINOR_UNITS
from crmcore.errors import ValidationError

__all__ = ["Money"]


def _parse_amount(value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValidationError(
            f"must be a Decimal, int or str, not float ({value!r} is inexact in binary); "
            f"write Decimal({str(value)!r}) or convert explicitly with Decimal(str(x))",
            value=value,
        )
    if isinstance(value, bool):
        raise ValidationError(f"must be a Decimal, int or str; got bool {value!r}", value=value)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValidationError(
                f"must be a decimal number; got {value!r}", value=value
            ) from None
    else:
        raise ValidationError(
            f"must be a Decimal, int or str; got {type(value).__name__} {value!r}", value=value
        )
    if not amount.is_finite():
        raise ValidationError(f"must be finite; got {value!r}", value=value)
    return amount


def _convert_amount(value: Any) -> Decimal:
    return _attempt(_parse_amount, value)


def _valid_amount(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _raise_if_rejected(attribute.name, value)


def _convert_currency(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _valid_currency(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
        raise ValidationError(
            f"{attribute.name} must be a three-letter ISO 4217 code such as 'EUR'; got {value!r}",
            field=attribute.name,
            value=value,
        )
    if value not in ISO_4217_CODES:
        raise ValidationError(
            f"{attribute.name} must be an active ISO 4217 currency code such as 'EUR'; "
            f"{value!r} is not one",
            field=attribute.name,
            value=value,
        )


def _coerce_factor(value: Any, op: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValidationError(
            f"can only {op} Money by an int or a Decimal; got {type(value).__name__} {value!r}",
            field="amount",
            value=value,
        )
    factor = Decimal(value)
    if not factor.is_finite():
        raise ValidationError(f"cannot {op} Money by {value!r}", field="amount", value=value)
    return factor


@attrs.frozen(kw_only=True, order=False)
class Money:
    """An exact amount of money in one currency.

    Parameters
    ----------
    amount : Decimal, int or str
        The amount, stored as :class:`decimal.Decimal` exactly as given (its
        exponent is kept: ``Decimal("1.50")`` stays ``1.50``).  ``float`` is
        refused, because most decimal fractions have no exact binary form;
        convert explicitly with ``Decimal(str(x))`` if you must.  NaN and
        infinity are refused.  Negative amounts are allowed (refunds,
        differences); entities that need ``>= 0`` check it themselves.
    currency : str
        An active ISO 4217 alphabetic code (list one, including the fund and
        X-codes such as ``XAU``); case-insensitive, stored upper-case.
        Unknown codes such as ``"XYZ"`` raise
        :class:`~crmcore.errors.ValidationError` naming ``currency``.

    Notes
    -----
    Addition, subtraction and comparison work only between amounts of the
    same currency; mixing currencies raises
    :class:`~crmcore.errors.ValidationError` (``field="currency"``).
    Multiplication and division take an ``int`` or ``Decimal`` (never a
    float) and use the current :mod:`decimal` context (28 significant
    digits by default); :meth:`rounded` rounds to the currency's minor unit.
    Equality follows :class:`~decimal.Decimal`: ``1.5 EUR == 1.50 EUR``,
    and amounts in different currencies are simply unequal.

    Examples
    --------
    >>> from decimal import Decimal
    >>> price = Money(amount=Decimal("19.99"), currency="eur")
    >>> price
    Money(amount=Decimal('19.99'), currency='EUR')
    >>> str(price * 3)
    '59.97 EUR'
    >>> price + Money(amount="5", currency="USD")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: cannot add Money in EUR and USD: convert first
    >>> Money(amount=0.1, currency="EUR")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: amount: must be a Decimal, int or str, not float ...
    """

    amount: Decimal = attrs.field(converter=_convert_amount, validator=_valid_amount)
    currency: str = attrs.field(converter=_convert_currency, validator=_valid_currency)

    # ------------------------------------------------------------ construction

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return zero in ``currency``.

        Parameters
        ----------
        currency : str
            An ISO 4217 code (case-insensitive).

        Returns
        -------
        Money
            ``Decimal(0)`` in that currency.

        Raises
        ------
        ValidationError
            If ``currency`` is not an active ISO 4217 code.

        Examples
        --------
        >>> Money.zero("JPY")
        Money(amount=Decimal('0'), currency='JPY')
        """
        return cls(amount=Decimal(0), currency=currency)

    @classmethod
    def total(cls, items: Iterable[Money], *, currency: str) -> Money:
        """Sum amounts of one currency (zero for no items).

        Parameters
        ----------
        items : iterable of Money
            Amounts, all in ``currency``.
        currency : str
            The currency of the result, also used when ``items`` is empty.

        Raises
        ------
        ValidationError
            If an item is not Money or is in another currency.

        Examples
        --------
        >>> Money.total([Money(amount="1.10", currency="EUR")] * 3, currency="EUR")
        Money(amount=Decimal('3.30'), currency='EUR')
        """
        result = cls.zero(currency)
        for item in items:
            result = result + item
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Money:
        """Build from ``{"amount": "12.30", "currency": "EUR"}`` (see :meth:`to_dict`).

        Parameters
        ----------
        data : mapping
            ``amount`` (decimal text, int or Decimal) and ``currency``.

        Returns
        -------
        Money
            The amount, exactly as written.

        Raises
        ------
        ValidationError
            On a missing or unknown key, or a bad amount or currency.
        """
        return from_dict(cls, data)

    def to_dict(self) -> dict[str, str]:
        """Return ``{"amount": str, "currency": str}``: JSON-safe and exact.

        Returns
        -------
        dict of str to str
            The amount as decimal text (exponent kept) and the currency code.

        Examples
        --------
        >>> Money(amount="12.30", currency="EUR").to_dict()
        {'amount': '12.30', 'currency': 'EUR'}
        """
        return {"amount": str(self.amount), "currency": self.currency}

    # ------------------------------------------------------------ queries

    @property
    def minor_units(self) -> int:
        """Number of decimal places of the currency's minor unit (ISO 4217).

        Raises
        ------
        ValidationError
            If the standard gives the currency no minor unit (the precious
            metals ``XAU``/``XAG``/``XPT``/``XPD``, ``XDR`` and the other
            "N.A." X-codes), naming ``currency``.

        Examples
        --------
        >>> Money.zero("EUR").minor_units, Money.zero("JPY").minor_units
        (2, 0)
        >>> Money.zero("KWD").minor_units
        3
        """
        digits = ISO_4217_MINOR_UNITS[self.currency]
        if digits is None:
            raise ValidationError(
                f"{self.currency} has no minor unit in ISO 4217; "
                "round the amount explicitly with Decimal.quantize",
                field="currency",
                value=self.currency,
            )
        return digits

    def rounded(self, rounding: str = decimal.ROUND_HALF_EVEN) -> Money:
        """Round to the currency's minor unit (banker's rounding by default).

        Parameters
        ----------
        rounding : str, default decimal.ROUND_HALF_EVEN
            A :mod:`decimal` rounding mode, such as ``decimal.ROUND_HALF_UP``
            or ``decimal.ROUND_FLOOR``.

        Returns
        -------
        Money
            A new amount in the same currency with exactly
            :attr:`minor_units` decimal places.

        Raises
        ------
        ValidationError
            If the currency has no minor unit (see :attr:`minor_units`).

        Examples
        --------
        >>> Money(amount="10.005", currency="EUR").rounded()
        Money(amount=Decimal('10.00'), currency='EUR')
        >>> import decimal
        >>> Money(amount="10.005", currency="EUR").rounded(decimal.ROUND_HALF_UP)
        Money(amount=Decimal('10.01'), currency='EUR')
        >>> Money(amount="1234.5", currency="JPY").rounded()
        Money(amount=Decimal('1234'), currency='JPY')
        """
        quantum = Decimal(1).scaleb(-self.minor_units)
        return Money(
            amount=self.amount.quantize(quantum, rounding=rounding), currency=self.currency
        )

    def is_zero(self) -> bool:
        """Return True if the amount is zero.

        Returns
        -------
        bool
            ``amount == 0`` (``0.00`` and ``-0`` count as zero).
        """
        return self.amount == 0

    def is_negative(self) -> bool:
        """Return True if the amount is below zero.

        Returns
        -------
        bool
            ``amount < 0`` (``-0`` is not negative).
        """
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    # ------------------------------------------------------------ arithmetic

    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise ValidationError(
                f"cannot {op} Money and {type(other).__name__}", field="amount", value=other
            )
        if other.currency != self.currency:
            raise ValidationError(
                f"cannot {op} Money in {self.currency} and {other.currency}: convert first",
                field="currency",
                value=other.currency,
            )
        return other

    def __add__(self, other: Money) -> Money:
        o = self._same(other, "add")
        return Money(amount=self.amount + o.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        o = self._same(other, "subtract")
        return Money(amount=self.amount - o.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(amount=abs(self.amount), currency=self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(
            amount=self.amount * _coerce_factor(factor, "multiply"), currency=self.currency
        )

    __rmul__ = __mul__

    def __truediv__(self, divisor: int | Decimal) -> Money:
        d = _coerce_factor(divisor, "divide")
        if d == 0:
            raise ValidationError("cannot divide Money by zero", field="amount", value=divisor)
        return Money(amount=self.amount / d, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other, "compare").amount
