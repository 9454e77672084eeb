"""Serving customers: Ticket, SurveyResponse."""

from __future__ import annotations

import datetime as _dt
import enum
from typing import Any

import attrs

from crmcore.domain._base import (
    EntityId,
    _attempt,
    convert_id,
    convert_optional_id,
    enum_converter,
    not_before,
    valid_aware,
    valid_id,
    valid_key_text,
    valid_member,
    valid_optional_aware,
    valid_optional_id,
    valid_optional_key_text,
    valid_optional_text,
    valid_text,
)
from crmcore.domain._codec import (
    dec_datetime,
    dec_optional_datetime,
    meta,
)
from crmcore.domain._entity import Entity
from crmcore.errors import ValidationError

__all__ = ["SurveyKind", "SurveyResponse", "Ticket", "TicketChannel", "TicketPriority"]


class TicketPriority(enum.StrEnum):
    """Urgency of a :class:`Ticket`, lowest first."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for ``low`` up to 3 for ``urgent``, for sorting."""
        return list(TicketPriority).index(self)


class TicketChannel(enum.StrEnum):
    """How a :class:`Ticket` reached the service team."""

    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    WEB = "web"
    SOCIAL = "social"
    SMS = "sms"
    IN_PERSON = "in_person"
    OTHER = "other"


_to_priority = enum_converter(TicketPriority)
_to_channel = enum_converter(TicketChannel)


def _convert_priority(value: Any) -> TicketPriority:
    return _attempt(_to_priority, value)


def _convert_channel(value: Any) -> TicketChannel:
    return _attempt(_to_channel, value)


@attrs.frozen(kw_only=True)
class Ticket(Entity):
    """A customer-service case.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    customer_id : str or uuid.UUID
        The customer who raised it.
    subject : str
        One-line summary.
    channel : TicketChannel or str
        ``email``, ``phone``, ``chat``, ``web``, ``social``, ``sms``,
        ``in_person`` or ``other``.
    created_at : datetime.datetime
        When the ticket was opened (timezone-aware); SLA clocks start here.
    priority : TicketPriority or str, default "normal"
        ``low``, ``normal``, ``high`` or ``urgent``.
    status : str, default "new"
        Current stage name in the ticket workflow (see ``crmcore.pipeline``).
    first_response_at : datetime.datetime, optional
        First agent response; not before ``created_at``.
    resolved_at : datetime.datetime, optional
        When it was resolved; not before ``created_at``.
    owner : str or uuid.UUID, optional
        The assigned agent.
    contact_id : str or uuid.UUID, optional
        The contact person, for B2B customers.
    description : str, optional
        Free text describing the request.
    category : str, optional
        What the ticket is about (``"delivery"``, ``"billing"``...); the
        grouping ``crmcore.pipeline.ticket_kpis(by="category")`` and
        ``complaint_trends`` read.  None when not classified.
    sub_category : str, optional
        A finer class within ``category``; refused without a ``category``.

    Examples
    --------
    >>> import datetime as dt
    >>> t = Ticket(
    ...     id="T-1",
    ...     customer_id="C-1",
    ...     subject="Parcel not delivered",
    ...     channel="chat",
    ...     priority="HIGH",
    ...     created_at=dt.datetime(2024, 4, 2, 8, 15, tzinfo=dt.UTC),
    ... )
    >>> t.priority, t.status
    (<TicketPriority.HIGH: 'high'>, 'new')
    >>> attrs.evolve(t, priority="whenever")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: priority: must be one of 'low', 'normal', 'high', 'urgent'; ...
    """

    customer_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    subject: str = attrs.field(validator=valid_text)
    channel: TicketChannel = attrs.field(
        converter=_convert_channel, validator=valid_member(TicketChannel)
    )
    created_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    priority: TicketPriority = attrs.field(
        default=TicketPriority.NORMAL,
        converter=_convert_priority,
        validator=valid_member(TicketPriority),
    )
    status: str = attrs.field(default="new", validator=valid_key_text)
    first_response_at: _dt.datetime | None = attrs.field(
        default=None, validator=valid_optional_aware, metadata=meta(dec_optional_datetime)
    )
    resolved_at: _dt.datetime | None = attrs.field(
        default=None, validator=valid_optional_aware, metadata=meta(dec_optional_datetime)
    )
    owner: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    contact_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    description: str | None = attrs.field(default=None, validator=valid_optional_text)
    # last: the SQL columns were added by a migration (schema 6), after the others
    category: str | None = attrs.field(default=None, validator=valid_optional_key_text)
    sub_category: str | None = attrs.field(default=None, validator=valid_optional_text)

    def __attrs_post_init__(self) -> None:
        not_before(self, "first_response_at", "created_at")
        not_before(self, "resolved_at", "created_at")
        if self.sub_category is not None and self.category is None:
            raise ValidationError(
                f"sub_category {self.sub_category!r} needs a category; "
                "set category too, or leave sub_category None",
                field="sub_category",
                value=self.sub_category,
            )


class SurveyKind(enum.StrEnum):
    """The satisfaction question a :class:`SurveyResponse` answers."""

    NPS = "nps"  #: Net Promoter Score: 0-10 likelihood to recommend.
    CSAT = "csat"  #: Customer satisfaction: 1..scale.
    CES = "ces"  #: Customer effort score: 1..scale.


_DEFAULT_SCALE = {SurveyKind.NPS: 10, SurveyKind.CSAT: 5, SurveyKind.CES: 7}
_MIN_SCALE, _MAX_SCALE = 2, 10
_to_survey_kind = enum_converter(SurveyKind)


def _convert_survey_kind(value: Any) -> SurveyKind:
    return _attempt(_to_survey_kind, value)


def _default_scale(inst: Any) -> int:
    kind = inst.kind
    return _DEFAULT_SCALE.get(kind, 10) if isinstance(kind, SurveyKind) else 10


def _valid_int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"{attribute.name} must be an int; got {value!r}", field=attribute.name, value=value
        )


@attrs.frozen(kw_only=True)
class SurveyResponse(Entity):
    """One customer's answer to an NPS, CSAT or CES question.

    Parameters
    ----------
    id, version, custom
        See :class:`~crmcore.domain.Entity`.
    customer_id : str or uuid.UUID
        Who answered.
    kind : SurveyKind or str
        ``"nps"``, ``"csat"`` or ``"ces"``.
    score : int
        The answer: ``0..10`` for NPS; ``1..scale`` for CSAT and CES.
    answered_at : datetime.datetime
        When the answer was given (timezone-aware).
    scale : int, optional
        Top of the answer scale.  NPS: always 10.  CSAT: 2 to 10, default 5.
        CES: 2 to 10, default 7.
    comment : str, optional
        Free-text verbatim.
    ticket_id : str or uuid.UUID, optional
        The ticket the survey followed (service CSAT).

    Examples
    --------
    >>> import datetime as dt
    >>> at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    >>> SurveyResponse(id="S-1", customer_id="C-1", kind="csat", score=4, answered_at=at).scale
    5
    >>> SurveyResponse(id="S-2", customer_id="C-1", kind="nps", score=11, answered_at=at)
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: score must lie in 0..10 for an NPS answer; got 11
    """

    customer_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    kind: SurveyKind = attrs.field(
        converter=_convert_survey_kind, validator=valid_member(SurveyKind)
    )
    score: int = attrs.field(validator=_valid_int)
    answered_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    scale: int = attrs.field(
        default=attrs.Factory(_default_scale, takes_self=True), validator=_valid_int
    )
    comment: str | None = attrs.field(default=None, validator=valid_optional_text)
    ticket_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )

    def __attrs_post_init__(self) -> None:
        if self.kind is SurveyKind.NPS:
            if self.scale != 10:
                raise ValidationError(
                    f"scale must be 10 for an NPS answer; got {self.scale}",
                    field="scale",
                    value=self.scale,
                )
            low = 0
        else:
            if not _MIN_SCALE <= self.scale <= _MAX_SCALE:
                raise ValidationError(
                    f"scale must lie in {_MIN_SCALE}..{_MAX_SCALE} for a "
                    f"{self.kind.value.upper()} answer; got {self.scale}",
                    field="scale",
                    value=self.scale,
                )
            low = 1
        if not low <= self.score <= self.scale:
            raise ValidationError(
                f"score must lie in {low}..{self.scale} for an {self.kind.value.upper()} answer; "
                f"got {self.score}",
                field="score",
                value=self.score,
            )
