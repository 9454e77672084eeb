"""Loyalty programme definition: earn rules, tiers, expiry, review cycle."""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Literal

import attrs

from crmcore._deprecation import renamed_arguments, warn_renamed
from crmcore._time import (
    Freq,
    parse_freq,
    period_code_at,
    period_start_at,
    period_start_us,
    require_aware,
    to_zone,
)
from crmcore.domain import Money
from crmcore.errors import ValidationError

__all__ = ["EarnRule", "Program", "Tier"]

PeriodUnit = Literal["day", "week", "month"]
#: The programme period names (``period=`` before 0.2) and the calendar periods they are.
_PERIOD_FREQ: dict[str, Freq] = {"day": Freq("D"), "week": Freq("W"), "month": Freq("M")}


def _programme_freq(value: Any) -> Freq:
    """Read a programme period: ``"D"``, ``"W"``, ``"M"`` (or ``"day"``, ``"week"``, ...)."""
    if isinstance(value, str) and value.strip().lower() in _PERIOD_FREQ:
        return _PERIOD_FREQ[value.strip().lower()]
    try:
        freq = value if isinstance(value, Freq) else parse_freq(value, name="freq")
    except ValidationError:
        freq = None
    if freq is None or freq.unit not in "DWM" or freq.mult != 1:
        raise ValidationError(
            f"freq must be one calendar day, week or month ('D', 'W', 'M'); got {value!r}",
            field="freq",
            value=value,
        )
    return freq


_ROUNDINGS = (
    decimal.ROUND_FLOOR,
    decimal.ROUND_DOWN,
    decimal.ROUND_HALF_UP,
    decimal.ROUND_HALF_EVEN,
    decimal.ROUND_HALF_DOWN,
    decimal.ROUND_CEILING,
    decimal.ROUND_UP,
)


def _names(value: Any) -> frozenset[str] | None:
    """Turn ``None``, one name or an iterable of names into a frozenset."""
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, Iterable):
        items = list(value)
        if not all(isinstance(v, str) for v in items):
            raise ValidationError(f"condition names must be strings; got {items!r}", value=value)
        return frozenset(items)
    raise ValidationError(
        f"a condition must be None, a name or an iterable of names; got {value!r}", value=value
    )


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValidationError(
            f"{field} must be an int or a Decimal (never a float); got {value!r}",
            field=field,
            value=value,
        )
    out = Decimal(value)
    if not out.is_finite() or out < 0:
        raise ValidationError(f"{field} must be finite and >= 0; got {value!r}", field=field)
    return out


def _currency(value: Any) -> str:
    """Check an ISO 4217 code with a minor unit (spend is counted in minor units)."""
    zero = Money.zero(value)  # ValidationError naming ``currency`` if unknown
    zero.minor_units  # noqa: B018 - raises for codes without a minor unit (XAU...)
    return zero.currency


def _int(value: Any, field: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an int; got {value!r}", field=field, value=value)
    if value < low:
        raise ValidationError(f"{field} must be >= {low}; got {value}", field=field, value=value)
    return value


@attrs.frozen
class EarnRule:
    """One way of earning points on a purchase.

    Every rule whose conditions match a purchase contributes; the points are::

        round((sum(per_unit) * amount + sum(per_order)) * prod(multiplier))

    over the matching rules, rounded once to whole points with the
    programme's ``rounding`` (``ROUND_FLOOR`` by default: a member never
    receives a point they did not fully earn). A rule with no base
    (``per_unit = per_order = 0``) is a pure multiplier.

    Parameters
    ----------
    name : str
        Label, for documentation and audits.
    per_unit : int or Decimal, default 0
        Points per whole unit of the purchase currency (``Decimal("0.5")``:
        one point per two euros). Floats are refused.
    per_order : int, default 0
        Flat points per purchase.
    multiplier : int or Decimal, default 1
        Factor applied to the total when the rule matches.
    tiers, categories, campaigns : str or iterable of str, optional
        The rule matches only purchases by a member in one of these tiers,
        in one of these categories, attributed to one of these campaigns
        (``None``: any).

    Examples
    --------
    >>> from decimal import Decimal
    >>> base = EarnRule(name="base", per_unit=1)
    >>> gold = EarnRule(name="gold double", multiplier=2, tiers="gold")
    >>> sorted(gold.tiers)
    ['gold']
    """

    name: str
    per_unit: Decimal = attrs.field(default=Decimal(0), kw_only=True)
    per_order: int = attrs.field(default=0, kw_only=True)
    multiplier: Decimal = attrs.field(default=Decimal(1), kw_only=True)
    tiers: frozenset[str] | None = attrs.field(default=None, converter=_names, kw_only=True)
    categories: frozenset[str] | None = attrs.field(default=None, converter=_names, kw_only=True)
    campaigns: frozenset[str] | None = attrs.field(default=None, converter=_names, kw_only=True)

    def __attrs_post_init__(self) -> None:
        name: object = self.name
        if not isinstance(name, str) or not name:
            raise ValidationError("EarnRule name must be a non-empty string", field="name")
        object.__setattr__(self, "per_unit", _decimal(self.per_unit, "per_unit"))
        object.__setattr__(self, "multiplier", _decimal(self.multiplier, "multiplier"))
        _int(self.per_order, "per_order", 0)

    def matches(self, *, tier: str | None, category: str | None, campaign: str | None) -> bool:
        """Return True if the rule applies to a purchase with these attributes.

        A condition left as ``None`` on the rule matches anything; a set
        condition requires the purchase's value to be in it (``None`` on the
        purchase never matches a set condition).

        Parameters
        ----------
        tier : str or None
            The member's tier at the time of the purchase.
        category : str or None
            The purchase's category.
        campaign : str or None
            The campaign the purchase is attributed to.

        Returns
        -------
        bool
            True if every condition of the rule holds.

        Examples
        --------
        >>> rule = EarnRule(name="gold shoes", multiplier=2, tiers="gold", categories="shoes")
        >>> rule.matches(tier="gold", category="shoes", campaign=None)
        True
        >>> rule.matches(tier="silver", category="shoes", campaign=None)
        False
        """
        return (
            (self.tiers is None or tier in self.tiers)
            and (self.categories is None or category in self.categories)
            and (self.campaigns is None or campaign in self.campaigns)
        )


@attrs.frozen
class Tier:
    """A membership tier and how to qualify for it.

    A member qualifies when the points earned (``points=``) or the money
    spent (``spend=``) in the last ``window`` periods reaches the threshold;
    refunded orders stop counting from the refund on. Exactly one of
    ``points`` and ``spend`` is given. Upgrades happen immediately after a
    qualifying purchase; downgrades only at the programme's review.

    Parameters
    ----------
    name : str
        Tier name (``"silver"``, ``"gold"``).
    points : int, optional
        Points threshold.
    spend : Money, optional
        Spend threshold, in the programme's currency.
    window : int, default 12
        Length of the rolling qualification window, in programme periods
        (the current period and the ``window - 1`` before it).

    Examples
    --------
    >>> from crmcore.domain import Money
    >>> Tier(name="gold", spend=Money(amount="1000", currency="EUR")).basis
    'spend'
    """

    name: str
    points: int | None = attrs.field(default=None, kw_only=True)
    spend: Money | None = attrs.field(default=None, kw_only=True)
    window: int = attrs.field(default=12, kw_only=True)

    def __attrs_post_init__(self) -> None:
        name: object = self.name
        if not isinstance(name, str) or not name:
            raise ValidationError("Tier name must be a non-empty string", field="name")
        if (self.points is None) == (self.spend is None):
            raise ValidationError(
                f"Tier {self.name!r} needs exactly one of points= or spend=", field="points"
            )
        if self.points is not None:
            _int(self.points, "points", 0)
        spend: object = self.spend
        if spend is not None and (not isinstance(spend, Money) or spend.is_negative()):
            raise ValidationError(
                f"Tier {self.name!r} spend must be a non-negative Money; got {self.spend!r}",
                field="spend",
            )
        _int(self.window, "window", 1)

    @property
    def basis(self) -> str:
        """``"points"`` or ``"spend"``: what qualification counts."""
        return "points" if self.points is not None else "spend"


@attrs.frozen
class Program:
    """A points-and-tiers loyalty programme.

    Parameters
    ----------
    earn_rules : sequence of EarnRule
        How purchases earn points (see :class:`EarnRule`).
    tiers : sequence of Tier, default ()
        From lowest to highest. The first is the entry tier and must have a
        zero threshold; with no tiers, members have no tier (``None``).
    expiry : int or None, default None
        Points expire at the *end* of the ``expiry``-th period after the
        period in which they were earned (monthly, ``expiry=12``: points
        earned on 15 January 2026 expire at 2027-02-01T00:00Z). ``None``:
        points never expire.
    currency : str, default "EUR"
        Currency of purchases and spend thresholds: an ISO 4217 code with a
        minor unit (case-insensitive, stored upper-case).
    freq : {"M", "W", "D"}, default "M"
        Calendar period for expiry, tier windows and reviews: months, weeks
        (Monday to Sunday) or days, on the calendar of ``tz`` (``"month"``,
        ``"week"``, ``"day"`` are read too). Stored as a ``Freq``.
        ``period=`` before 0.2 (deprecated).
    review_every : int, default 12
        Tiers are reviewed (and may go down) at the start of every period
        whose index is a multiple of ``review_every`` (monthly, 12: every
        1 January, 00:00 in ``tz``).
    rounding : str, default decimal.ROUND_FLOOR
        Rounding of earned points to whole points.
    tz : str or tzinfo, default "UTC"
        The zone whose calendar the periods follow: with ``tz="Europe/Paris"``
        points expire and tiers are reviewed at midnight in Paris. Events in
        any zone are placed by their instant. Stored as a ``tzinfo``.

    Examples
    --------
    >>> import datetime as dt
    >>> prog = Program(earn_rules=[EarnRule(name="base", per_unit=1)], expiry=12)
    >>> prog.expires_at(dt.datetime(2026, 1, 15, 10, tzinfo=dt.UTC))
    datetime.datetime(2027, 2, 1, 0, 0, tzinfo=datetime.timezone.utc)
    >>> paris = Program(
    ...     earn_rules=[EarnRule(name="base", per_unit=1)], expiry=12, tz="Europe/Paris"
    ... )
    >>> paris.expires_at(dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC)).isoformat()
    '2027-03-01T00:00:00+01:00'
    """

    earn_rules: tuple[EarnRule, ...] = attrs.field(converter=tuple)
    tiers: tuple[Tier, ...] = attrs.field(default=(), converter=tuple)
    expiry: int | None = None
    currency: str = attrs.field(default="EUR", kw_only=True, converter=_currency)
    freq: Freq = attrs.field(default=Freq("M"), kw_only=True, converter=_programme_freq)
    review_every: int = attrs.field(default=12, kw_only=True)
    rounding: str = attrs.field(default=decimal.ROUND_FLOOR, kw_only=True)
    tz: _dt.tzinfo = attrs.field(default=_dt.UTC, kw_only=True, converter=to_zone)
    # derived once (the replay asks for them at every event)
    _thresholds: tuple[int, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.earn_rules or not all(isinstance(r, EarnRule) for r in self.earn_rules):
            raise ValidationError(
                "earn_rules must be a non-empty sequence of EarnRule", field="earn_rules"
            )
        if not all(isinstance(t, Tier) for t in self.tiers):
            raise ValidationError("tiers must be a sequence of Tier", field="tiers")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValidationError(f"tier names must be unique; got {names}", field="tiers")
        if self.tiers:
            first = self.tiers[0]
            if (first.points or 0) != 0 or (first.spend is not None and not first.spend.is_zero()):
                raise ValidationError(
                    f"the first (entry) tier {first.name!r} must have a zero threshold",
                    field="tiers",
                )
        for t in self.tiers:
            if t.spend is not None and t.spend.currency != self.currency:
                raise ValidationError(
                    f"tier {t.name!r} spend is in {t.spend.currency}, the programme in "
                    f"{self.currency}",
                    field="tiers",
                )
        for rule in self.earn_rules:
            unknown = sorted((rule.tiers or frozenset()) - set(names))
            if unknown:
                raise ValidationError(
                    f"earn rule {rule.name!r} names unknown tier(s) {unknown}; tiers: {names}",
                    field="earn_rules",
                )
        if self.expiry is not None:
            _int(self.expiry, "expiry", 1)
        _int(self.review_every, "review_every", 1)
        if self.rounding not in _ROUNDINGS:
            raise ValidationError(
                f"rounding must be a decimal rounding mode such as decimal.ROUND_FLOOR; "
                f"got {self.rounding!r}",
                field="rounding",
            )
        thresholds = tuple(
            t.points if t.points is not None else self.spend_minor(t.spend)  # type: ignore[arg-type]
            for t in self.tiers
        )
        object.__setattr__(self, "_thresholds", thresholds)

    # ----------------------------------------------------------- queries

    @property
    def minor_units(self) -> int:
        """Decimal places of the programme currency's minor unit (ISO 4217).

        Raises
        ------
        ValidationError
            For a currency without a minor unit (such as ``XAU``).
        """
        return Money.zero(self.currency).minor_units

    def tier_names(self) -> tuple[str, ...]:
        """Tier names from lowest to highest.

        Returns
        -------
        tuple of str
            Empty when the programme has no tiers.
        """
        return tuple(t.name for t in self.tiers)

    def tier_thresholds(self) -> tuple[int, ...]:
        """Thresholds as integers: points, or spend in minor units.

        Returns
        -------
        tuple of int
            One threshold per tier, lowest tier first: points for a
            points-based tier, whole minor units (cents) for a spend-based one.

        Examples
        --------
        >>> from crmcore.domain import Money
        >>> prog = Program(
        ...     earn_rules=[EarnRule(name="base", per_unit=1)],
        ...     tiers=[
        ...         Tier(name="member", points=0),
        ...         Tier(name="gold", spend=Money(amount="1000", currency="EUR")),
        ...     ],
        ... )
        >>> prog.tier_thresholds()
        (0, 100000)
        """
        return self._thresholds

    def spend_minor(self, amount: Money) -> int:
        """Spend in whole minor units (cents), rounded down, for tier qualification.

        Parameters
        ----------
        amount : Money
            An amount in the programme's currency.

        Returns
        -------
        int
            ``amount`` in whole minor units, rounded towards minus infinity.

        Raises
        ------
        ValidationError
            If ``amount`` is in another currency (``field="amount"``).

        Examples
        --------
        >>> from crmcore.domain import Money
        >>> prog = Program(earn_rules=[EarnRule(name="base", per_unit=1)])
        >>> prog.spend_minor(Money(amount="19.999", currency="EUR"))
        1999
        """
        if amount.currency != self.currency:
            raise ValidationError(
                f"amount is in {amount.currency}; the programme uses {self.currency}",
                field="amount",
                value=str(amount),
            )
        scaled = amount.amount.scaleb(self.minor_units)
        return int(scaled.to_integral_value(rounding=decimal.ROUND_FLOOR))

    def points_for(
        self,
        amount: Money,
        *,
        tier: str | None = None,
        category: str | None = None,
        campaign: str | None = None,
    ) -> int:
        """Points earned by a purchase of ``amount`` (see :class:`EarnRule`).

        Parameters
        ----------
        amount : Money
            Purchase amount, in the programme's currency.
        tier : str, optional
            The member's tier at the time of the purchase.
        category : str, optional
            The purchase's category.
        campaign : str, optional
            The campaign the purchase is attributed to.

        Returns
        -------
        int
            Whole points, rounded once with the programme's ``rounding``.

        Raises
        ------
        ValidationError
            If ``amount`` is in another currency.

        Examples
        --------
        >>> from decimal import Decimal
        >>> from crmcore.domain import Money
        >>> prog = Program(
        ...     earn_rules=[
        ...         EarnRule(name="base", per_unit=1, per_order=5),
        ...         EarnRule(name="gold", multiplier=Decimal("1.5"), tiers="gold"),
        ...     ],
        ...     tiers=[Tier(name="member", points=0), Tier(name="gold", points=1000)],
        ... )
        >>> prog.points_for(Money(amount="19.99", currency="EUR"))
        24
        >>> prog.points_for(Money(amount="19.99", currency="EUR"), tier="gold")
        37
        """
        self.spend_minor(amount)  # currency check
        per_unit = Decimal(0)
        per_order = 0
        factor = Decimal(1)
        for rule in self.earn_rules:
            if rule.matches(tier=tier, category=category, campaign=campaign):
                per_unit += rule.per_unit
                per_order += rule.per_order
                factor *= rule.multiplier
        raw = (per_unit * amount.amount + per_order) * factor
        return int(raw.quantize(Decimal(1), rounding=self.rounding))

    @property
    def period(self) -> PeriodUnit:
        """Deprecated: the name of :attr:`freq` (``"month"``, ``"week"``, ``"day"``)."""
        warn_renamed("Program", "period", "freq", stacklevel=3)
        return {"D": "day", "W": "week", "M": "month"}[self.freq.unit]  # type: ignore[return-value]

    def period_of(self, at: _dt.datetime, *, field: str = "at", us: int | None = None) -> int:
        """Index of the programme period holding the instant ``at`` (on ``tz``'s calendar).

        Periods are counted from the one holding 1970-01-01 (index 0). ``us``
        is ``instant_us(at)`` when the caller has it already.

        Raises
        ------
        ValidationError
            If ``at`` is not a timezone-aware datetime.
        """
        return period_code_at(at, self.freq, self.tz, name=field, us=us)

    def period_start(self, index: int) -> _dt.datetime:
        """When programme period ``index`` starts (midnight in ``tz``), in ``tz``."""
        return period_start_at(index, self.freq, self.tz)

    def period_start_us(self, index: int) -> int:
        """When programme period ``index`` starts, in epoch microseconds."""
        return period_start_us(index, self.freq, self.tz)

    def review_period(self, at: _dt.datetime, *, us: int | None = None) -> int:
        """Index of the period starting at the last tier review at or before ``at``."""
        idx = self.period_of(at, us=us)
        return idx - idx % self.review_every

    def expires_at(self, earned_at: _dt.datetime) -> _dt.datetime | None:
        """When points earned at ``earned_at`` expire (``None``: never).

        Parameters
        ----------
        earned_at : datetime
            Timezone-aware time the points were earned (any zone: placed by
            its instant).

        Returns
        -------
        datetime or None
            The start (in ``tz``) of the period ``expiry + 1`` periods after
            the one holding ``earned_at``; ``None`` when points never expire.

        Raises
        ------
        ValidationError
            If ``earned_at`` is not a timezone-aware datetime.
        """
        require_aware(earned_at, field="earned_at")
        if self.expiry is None:
            return None
        return self.period_start(self.period_of(earned_at, field="earned_at") + self.expiry + 1)

    def last_review(self, at: _dt.datetime) -> _dt.datetime:
        """Return the latest tier review instant at or before ``at``.

        Parameters
        ----------
        at : datetime
            Timezone-aware instant.

        Returns
        -------
        datetime
            Start (in ``tz``) of the latest period whose index is a multiple
            of ``review_every``.

        Raises
        ------
        ValidationError
            If ``at`` is not a timezone-aware datetime.

        Examples
        --------
        >>> import datetime as dt
        >>> prog = Program(earn_rules=[EarnRule(name="base", per_unit=1)], review_every=12)
        >>> prog.last_review(dt.datetime(2026, 8, 15, tzinfo=dt.UTC))
        datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
        """
        return self.period_start(self.review_period(at))

    def window_end(self, earned_at: _dt.datetime, tier: Tier) -> _dt.datetime:
        """When a purchase at ``earned_at`` stops counting towards ``tier``.

        Parameters
        ----------
        earned_at : datetime
            Timezone-aware time of the purchase.
        tier : Tier
            The tier whose rolling ``window`` applies.

        Returns
        -------
        datetime
            Start (in ``tz``) of the period ``tier.window`` periods after the
            one holding ``earned_at``.

        Raises
        ------
        ValidationError
            If ``earned_at`` is not a timezone-aware datetime.
        """
        return self.period_start(self.period_of(earned_at, field="earned_at") + tier.window)


# ``Program(period="month")`` keeps working for one release (as ``freq=``), with a warning.
Program.__init__.__qualname__ = "Program"  # the warning says Program(), not Program.__init__()
Program.__init__ = renamed_arguments(period="freq")(Program.__init__)  # type: ignore[method-assign]
