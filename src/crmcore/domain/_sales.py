"""Selling: Lead, Opportunity, Campaign, Activity."""

from __future__ import annotations

import datetime as _dt
import enum
import math
from decimal import Decimal
from typing import Any

import attrs

from crmcore.domain._base import (
    EntityId,
    _attempt,
    _raise_if_rejected,
    _Rejected,
    convert_id,
    convert_lower,
    convert_optional_id,
    enum_converter,
    not_before,
    valid_aware,
    valid_bool,
    valid_date,
    valid_id,
    valid_instance,
    valid_key_text,
    valid_member,
    valid_optional_aware,
    valid_optional_date,
    valid_optional_id,
    valid_optional_text,
    valid_text,
)
from crmcore.domain._codec import (
    dec_date,
    dec_datetime,
    dec_optional_date,
    dec_optional_datetime,
    dec_with,
    meta,
)
from crmcore.domain._entity import Entity
from crmcore.domain._money import Money
from crmcore.domain._values import EmailAddress, PhoneNumber, convert_email, convert_phone
from crmcore.errors import ValidationError

__all__ = ["Activity", "ActivityKind", "Campaign", "CampaignStatus", "Lead", "Opportunity"]


def _check_non_negative_money(inst: Any, name: str) -> None:
    value: Money | None = getattr(inst, name)
    if value is not None and value.is_negative():
        raise ValidationError(f"{name} must be >= 0; got {value}", field=name, value=value)


def _parse_percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError(f"must be a number from 0 to 100; got {value!r}", value=value)
    x = float(value)
    if not (math.isfinite(x) and 0.0 <= x <= 100.0):
        raise ValidationError(f"must lie in [0, 100]; got {value!r}", value=value)
    return x


def _convert_percent(value: Any) -> float:
    return _attempt(_parse_percent, value)


def _convert_optional_percent(value: Any) -> float | None:
    return None if value is None else _attempt(_parse_percent, value)


def _valid_percent(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    valid_instance(float, optional=True)(_inst, attribute, value)


# ---------------------------------------------------------------- Lead


@attrs.frozen(kw_only=True)
class Lead(Entity):
    """A prospective customer not yet qualified.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    name : str
        The person's name.
    source : str
        Where the lead came from (``"web"``, ``"referral"``, ``"trade show"``...).
    created_at : datetime.datetime
        When the lead was captured (timezone-aware).
    company : str, optional
        The company the person works for.
    email : EmailAddress or str, optional
        E-mail address; a string is parsed into :class:`~crmcore.domain.EmailAddress`.
    phone : PhoneNumber or str, optional
        Phone number; a string must be international (``+``...).
    campaign_id : str or uuid.UUID, optional
        The :class:`Campaign` that generated the lead.
    status : str, default "new"
        Current stage name in the lead workflow (see ``crmcore.pipeline``).
    owner : str or uuid.UUID, optional
        The user working the lead.
    score : float, optional
        A lead score in ``[0, 100]`` (ints and Decimals are converted).
    converted_at : datetime.datetime, optional
        When the lead was converted; not before ``created_at``.
    converted_account_id, converted_contact_id, converted_opportunity_id : str or uuid.UUID, optional
        The records the conversion created.

    Examples
    --------
    >>> import datetime as dt
    >>> lead = Lead(
    ...     id="L-1", name="Grace", source="web", created_at=dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    ... )
    >>> lead.status
    'new'
    """  # noqa: E501

    name: str = attrs.field(validator=valid_text)
    source: str = attrs.field(validator=valid_text)
    created_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    company: str | None = attrs.field(default=None, validator=valid_optional_text)
    email: EmailAddress | None = attrs.field(
        default=None,
        converter=convert_email,
        validator=valid_instance(EmailAddress, optional=True),
        metadata=meta(dec_with(EmailAddress.from_dict, optional=True)),
    )
    phone: PhoneNumber | None = attrs.field(
        default=None,
        converter=convert_phone,
        validator=valid_instance(PhoneNumber, optional=True),
        metadata=meta(dec_with(PhoneNumber.from_dict, optional=True)),
    )
    campaign_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    status: str = attrs.field(default="new", validator=valid_key_text)
    owner: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    score: float | None = attrs.field(
        default=None, converter=_convert_optional_percent, validator=_valid_percent
    )
    converted_at: _dt.datetime | None = attrs.field(
        default=None, validator=valid_optional_aware, metadata=meta(dec_optional_datetime)
    )
    converted_account_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    converted_contact_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    converted_opportunity_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )

    def __attrs_post_init__(self) -> None:
        not_before(self, "converted_at", "created_at")


# ---------------------------------------------------------------- Opportunity


@attrs.frozen(kw_only=True)
class Opportunity(Entity):
    """A potential sale to an account, moving through pipeline stages.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    account_id : str or uuid.UUID
        The account the deal is with.
    name : str
        Deal name.
    amount : Money
        Expected deal value, ``>= 0``.
    expected_close_date : datetime.date
        When the deal is expected to close.
    probability : float
        Win probability in percent, ``[0, 100]``.  A float (not Decimal): it
        is a forecast weight, not money; ints and Decimals are converted.
    created_at : datetime.datetime
        When the opportunity was opened (timezone-aware).
    stage : str, default "prospecting"
        Current stage name in the opportunity workflow.
    probability_is_manual : bool, default False
        False while ``probability`` is the stage default (workflows update
        it on each move); True once a user set it by hand (kept on moves).
    lost_reason : str, optional
        Why the deal was lost.
    last_open_stage : str, optional
        The last open stage before the deal closed (for funnel analysis).
    closed_at : datetime.datetime, optional
        When it was won or lost; not before ``created_at``.
    owner : str or uuid.UUID, optional
        The salesperson.
    contact_id, campaign_id : str or uuid.UUID, optional
        Main contact and originating campaign.

    Examples
    --------
    >>> import datetime as dt
    >>> opp = Opportunity(
    ...     id="O-1",
    ...     account_id="A-1",
    ...     name="Acme renewal",
    ...     amount=Money(amount="12000.00", currency="EUR"),
    ...     expected_close_date=dt.date(2024, 6, 30),
    ...     probability=10,
    ...     created_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    ... )
    >>> opp.stage, opp.probability, opp.probability_is_manual
    ('prospecting', 10.0, False)
    >>> attrs.evolve(opp, probability=140)
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: probability: must lie in [0, 100]; got 140
    """

    account_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    name: str = attrs.field(validator=valid_text)
    amount: Money = attrs.field(
        validator=valid_instance(Money), metadata=meta(dec_with(Money.from_dict))
    )
    expected_close_date: _dt.date = attrs.field(validator=valid_date, metadata=meta(dec_date))
    probability: float = attrs.field(converter=_convert_percent, validator=_valid_percent)
    created_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    stage: str = attrs.field(default="prospecting", validator=valid_key_text)
    probability_is_manual: bool = attrs.field(default=False, validator=valid_bool)
    lost_reason: str | None = attrs.field(default=None, validator=valid_optional_text)
    last_open_stage: str | None = attrs.field(default=None, validator=valid_optional_text)
    closed_at: _dt.datetime | None = attrs.field(
        default=None, validator=valid_optional_aware, metadata=meta(dec_optional_datetime)
    )
    owner: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    contact_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    campaign_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )

    def __attrs_post_init__(self) -> None:
        _check_non_negative_money(self, "amount")
        not_before(self, "closed_at", "created_at")

    @property
    def weighted_amount(self) -> Money:
        """``amount * probability / 100``, exact (probability read via its repr).

        Examples
        --------
        >>> import datetime as dt
        >>> Opportunity(
        ...     id="O-2",
        ...     account_id="A-1",
        ...     name="x",
        ...     amount=Money(amount="1000.00", currency="USD"),
        ...     expected_close_date=dt.date(2024, 1, 31),
        ...     probability=25,
        ...     created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        ... ).weighted_amount
        Money(amount=Decimal('250.0000'), currency='USD')
        """
        return self.amount * Decimal(repr(self.probability)) / 100


# ---------------------------------------------------------------- Campaign


class CampaignStatus(enum.StrEnum):
    """Life-cycle status of a :class:`Campaign`."""

    PLANNED = "planned"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


_to_campaign_status = enum_converter(CampaignStatus)


def _convert_campaign_status(value: Any) -> CampaignStatus:
    return _attempt(_to_campaign_status, value)


def _convert_variants(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(value)
    return _Rejected(value, ValidationError("must be a list or tuple of variant names"))


def _valid_variants(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _raise_if_rejected(attribute.name, value)
    seen: set[str] = set()
    for name in value:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(
                f"{attribute.name} must hold non-blank str names; got {name!r}",
                field=attribute.name,
                value=name,
            )
        if name in seen:
            raise ValidationError(
                f"{attribute.name}: {name!r} is named twice", field=attribute.name, value=name
            )
        seen.add(name)


@attrs.frozen(kw_only=True)
class Campaign(Entity):
    """A marketing campaign that generates leads and orders.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    name : str
        Campaign name.
    channel : str
        Marketing channel (``"email"``, ``"social"``, ``"search"``, ``"events"``...),
        stored lower-case.
    start_date : datetime.date
        First day of the campaign.
    end_date : datetime.date, optional
        Last day; not before ``start_date``.
    budget : Money, optional
        Planned spend, ``>= 0``.
    status : CampaignStatus or str, default "planned"
        One of ``planned``, ``active``, ``paused``, ``completed``, ``cancelled``.
    owner : str or uuid.UUID, optional
        The user responsible.
    audience : str, optional
        Who the campaign targets: the text of a segment rule of
        :mod:`crmcore.segmentation` (``"tier == 'gold' and age >= 30"``),
        kept as written.  The domain cannot parse it (the rule language
        lives above it): :func:`crmcore.marketing.audience_rule` parses and
        checks it, naming the campaign, and
        :func:`crmcore.marketing.select_audience` takes the campaign itself.
    variants : sequence of str, default ()
        The variants (A/B arms) its members are split between; distinct,
        non-blank names, in order.
    cost : Money, optional
        What the campaign actually cost (``>= 0``; ``budget`` is the plan):
        the cost of its ROMI and CAC.
    goal : str, optional
        What it is meant to achieve, in the team's own words
        (``"conversion"``, ``"reactivation"``, ``"first purchase"``...).

    Examples
    --------
    >>> import datetime as dt
    >>> Campaign(
    ...     id="K-1", name="Spring sale", channel="Email", start_date=dt.date(2024, 3, 1)
    ... ).status
    <CampaignStatus.PLANNED: 'planned'>
    >>> Campaign(
    ...     id="K-2",
    ...     name="Win-back",
    ...     channel="email",
    ...     start_date=dt.date(2024, 3, 1),
    ...     audience="days_since_last_purchase > 180",
    ...     variants=["A", "B"],
    ...     cost=Money(amount="250.00", currency="EUR"),
    ...     goal="reactivation",
    ... ).variants
    ('A', 'B')
    """

    name: str = attrs.field(validator=valid_text)
    channel: str = attrs.field(converter=convert_lower, validator=valid_text)
    start_date: _dt.date = attrs.field(validator=valid_date, metadata=meta(dec_date))
    end_date: _dt.date | None = attrs.field(
        default=None, validator=valid_optional_date, metadata=meta(dec_optional_date)
    )
    budget: Money | None = attrs.field(
        default=None,
        validator=valid_instance(Money, optional=True),
        metadata=meta(dec_with(Money.from_dict, optional=True)),
    )
    status: CampaignStatus = attrs.field(
        default=CampaignStatus.PLANNED,
        converter=_convert_campaign_status,
        validator=valid_member(CampaignStatus),
    )
    owner: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    audience: str | None = attrs.field(default=None, validator=valid_optional_text)
    variants: tuple[str, ...] = attrs.field(
        default=(), converter=_convert_variants, validator=_valid_variants
    )
    cost: Money | None = attrs.field(
        default=None,
        validator=valid_instance(Money, optional=True),
        metadata=meta(dec_with(Money.from_dict, optional=True)),
    )
    goal: str | None = attrs.field(default=None, validator=valid_optional_text)

    def __attrs_post_init__(self) -> None:
        not_before(self, "end_date", "start_date")
        _check_non_negative_money(self, "budget")
        _check_non_negative_money(self, "cost")


# ---------------------------------------------------------------- Activity


class ActivityKind(enum.StrEnum):
    """What kind of interaction an :class:`Activity` records."""

    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    TASK = "task"


_to_activity_kind = enum_converter(ActivityKind)


def _convert_activity_kind(value: Any) -> ActivityKind:
    return _attempt(_to_activity_kind, value)


_RELATED = (
    "customer_id",
    "account_id",
    "contact_id",
    "lead_id",
    "opportunity_id",
    "ticket_id",
)


@attrs.frozen(kw_only=True)
class Activity(Entity):
    """A call, meeting, e-mail or task, linked to the records it concerns.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    kind : ActivityKind or str
        ``"call"``, ``"meeting"``, ``"email"`` or ``"task"``.
    subject : str
        Short description.
    created_at : datetime.datetime
        When the activity was logged or scheduled (timezone-aware).
    due_at : datetime.datetime, optional
        When it is due / scheduled to happen.
    completed_at : datetime.datetime, optional
        When it was done (may precede ``created_at`` for back-logged calls).
    owner : str or uuid.UUID, optional
        The user responsible.
    customer_id, account_id, contact_id, lead_id, opportunity_id, ticket_id : str or uuid.UUID, optional
        The related records; at least one is usually set, none is required.
    notes : str, optional
        Free text.

    Examples
    --------
    >>> import datetime as dt
    >>> a = Activity(
    ...     id="X-1",
    ...     kind="Call",
    ...     subject="Intro call",
    ...     created_at=dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC),
    ...     lead_id="L-1",
    ... )
    >>> a.kind, a.is_open
    (<ActivityKind.CALL: 'call'>, True)
    """  # noqa: E501

    kind: ActivityKind = attrs.field(
        converter=_convert_activity_kind, validator=valid_member(ActivityKind)
    )
    subject: str = attrs.field(validator=valid_text)
    created_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    due_at: _dt.datetime | None = attrs.field(
        default=None, validator=valid_optional_aware, metadata=meta(dec_optional_datetime)
    )
    completed_at: _dt.datetime | None = attrs.field(
        default=None, validator=valid_optional_aware, metadata=meta(dec_optional_datetime)
    )
    owner: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    customer_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    account_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    contact_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    lead_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    opportunity_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    ticket_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    notes: str | None = attrs.field(default=None, validator=valid_optional_text)

    @property
    def is_open(self) -> bool:
        """True until ``completed_at`` is set."""
        return self.completed_at is None

    @property
    def related_ids(self) -> dict[str, EntityId]:
        """The related-record fields that are set, by field name."""
        return {name: v for name in _RELATED if (v := getattr(self, name)) is not None}
