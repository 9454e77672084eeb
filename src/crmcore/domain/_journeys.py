"""A customer's enrolment in a marketing journey: the state the journey engine keeps.

The engine itself (:mod:`crmcore.marketing.journeys`) is pure and lives above
the domain; the enrolment is a domain entity so that every store keeps it
(``store.journey_enrolments``) like any other aggregate.  Its id is derived,
never drawn: ``"<journey>:<customer>:<n>"``, the customer's n-th entry into
the journey (from 0), so running the engine twice gives the same ids.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, Final

import attrs

from crmcore._text import MAX_KEY_LENGTH, check_key, check_storable
from crmcore._time import require_aware
from crmcore.domain._base import EntityId, convert_id, decode_id, encode_id, valid_id
from crmcore.domain._codec import decode_datetime, encode_datetime
from crmcore.errors import ValidationError

__all__ = ["ENROLMENT_STATUSES", "Enrolment", "enrolment_id"]

ENROLMENT_STATUSES: Final = ("active", "completed", "converted", "held_out")
"""Enrolment statuses: on the way; reached an exit; reached a goal; in the control group."""


def enrolment_id(journey_id: str, customer_id: EntityId, seq: int) -> str:
    """Return the id of a customer's ``seq``-th enrolment (from 0) in a journey.

    Examples
    --------
    >>> enrolment_id("seminar", "C-1", 0)
    'seminar:C-1:0'
    """
    return f"{journey_id}:{encode_id(customer_id)}:{seq}"


def _aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not _dt.datetime or value.tzinfo is not _dt.UTC:  # UTC: the fast case
        require_aware(value, field=attribute.name)


def _optional_aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _aware(_inst, attribute, value)


def _text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # the common case, checked first (a NUL or a lone surrogate is not printable)
    if type(value) is str and value and value.isprintable():
        return
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"{attribute.name} must be a non-empty str; got {value!r}",
            field=attribute.name,
            value=value,
        )
    check_storable(value, attribute.name)


def _key(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _text(_inst, attribute, value)
    if len(value) > MAX_KEY_LENGTH:
        check_key(value, attribute.name)


def _customer(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (  # the fast case (a NUL or a lone surrogate is not printable)
        type(value) is str
        and value
        and len(value) <= MAX_KEY_LENGTH
        and value.isprintable()
        and not value.isspace()
    ):
        return
    valid_id(_inst, attribute, value)


def _status(_inst: Any, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in ENROLMENT_STATUSES:
        raise ValidationError(
            f"status must be one of {', '.join(ENROLMENT_STATUSES)}; got {value!r}",
            field="status",
            value=value,
        )


def _encode_optional(value: _dt.datetime | None) -> str | None:
    return None if value is None else encode_datetime(value)


def _decode_optional(value: Any, name: str) -> _dt.datetime | None:
    return None if value is None else decode_datetime(value, field=name)


@attrs.frozen(kw_only=True)
class Enrolment:
    """One customer's way through one journey.

    Parameters
    ----------
    journey_id : str
        The journey.
    customer_id : str or uuid.UUID
        Who (a customer, a lead or a contact: the id the events carry).
    seq : int, default 0
        The customer's n-th entry into this journey (from 0).
    enrolled_at : datetime
        When the customer entered (the trigger event's instant).
    step : str
        The step the customer is at.
    step_at : datetime
        When the customer reached it (the end, once no longer active).
    due_at : datetime, optional
        When a wait ends, or when a send goes out (after quiet hours).
    status : {"active", "completed", "converted", "held_out"}
        See :data:`ENROLMENT_STATUSES`.
    control : bool, default False
        Held out (the journey's control group).
    id : str, optional
        Derived: ``"<journey>:<customer>:<seq>"`` (see :func:`enrolment_id`);
        one given must match.
    version : int, default 0
        Optimistic-concurrency version when stored
        (``store.journey_enrolments``).
    """

    journey_id: str = attrs.field(validator=_key)
    customer_id: EntityId = attrs.field(converter=convert_id, validator=_customer)
    seq: int = attrs.field(default=0)
    enrolled_at: _dt.datetime = attrs.field(validator=_aware)
    step: str = attrs.field(validator=_text)
    step_at: _dt.datetime = attrs.field(validator=_aware)
    due_at: _dt.datetime | None = attrs.field(default=None, validator=_optional_aware)
    status: str = attrs.field(default="active", validator=_status)
    control: bool = attrs.field(default=False)
    id: str = attrs.field(default="")
    version: int = attrs.field(default=0)

    def __attrs_post_init__(self) -> None:
        # one f-string per construction: the engine evolves an enrolment at every step
        cid = self.customer_id
        derived = f"{self.journey_id}:{cid if type(cid) is str else encode_id(cid)}:{self.seq}"
        if self.id != derived:
            if self.id:
                raise ValidationError(
                    f"an enrolment's id is derived: {derived!r}, not {self.id!r}",
                    field="id",
                    value=self.id,
                )
            if len(derived) > MAX_KEY_LENGTH:
                raise ValidationError(
                    f"an enrolment's id {derived[:40]!r}... (journey_id:customer_id:seq) would be "
                    f"{len(derived)} characters, over the {MAX_KEY_LENGTH} every id may have: "
                    "use a shorter journey_id",
                    field="journey_id",
                    value=self.journey_id,
                )
            object.__setattr__(self, "id", derived)
        version: Any = self.version
        if type(version) is not int or version < 0:  # a bool is not an int here
            raise ValidationError(
                f"version must be an int >= 0; got {version!r}", field="version", value=version
            )

    def moved(
        self,
        step: str,
        step_at: _dt.datetime,
        *,
        due_at: _dt.datetime | None = None,
        status: str = "active",
    ) -> Enrolment:
        """Return this enrolment at another step (same id, version and enrolment).

        What the journey engine does at every move; quicker than
        :func:`attrs.evolve`, which it equals.

        Parameters
        ----------
        step : str
        step_at : datetime
        due_at : datetime, optional
        status : str, default "active"

        Returns
        -------
        Enrolment
        """
        return Enrolment(
            journey_id=self.journey_id,
            customer_id=self.customer_id,
            seq=self.seq,
            enrolled_at=self.enrolled_at,
            step=step,
            step_at=step_at,
            due_at=due_at,
            status=status,
            control=self.control,
            id=self.id,
            version=self.version,
        )

    @property
    def is_active(self) -> bool:
        """True while the customer is on the way."""
        return self.status == "active"

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe data (:meth:`from_dict` reads it back).

        Returns
        -------
        dict
        """
        return {
            "journey_id": self.journey_id,
            "customer_id": encode_id(self.customer_id),
            "seq": self.seq,
            "enrolled_at": encode_datetime(self.enrolled_at),
            "step": self.step,
            "step_at": encode_datetime(self.step_at),
            "due_at": _encode_optional(self.due_at),
            "status": self.status,
            "control": self.control,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Enrolment:
        """Build from :meth:`to_dict`'s output.

        Parameters
        ----------
        data : mapping

        Returns
        -------
        Enrolment
        """
        return cls(
            journey_id=data["journey_id"],
            customer_id=decode_id(data["customer_id"]),
            seq=int(data.get("seq", 0)),
            enrolled_at=decode_datetime(data["enrolled_at"], field="enrolled_at"),
            step=data["step"],
            step_at=decode_datetime(data["step_at"], field="step_at"),
            due_at=_decode_optional(data.get("due_at"), "due_at"),
            status=data.get("status", "active"),
            control=bool(data.get("control", False)),
            version=int(data.get("version", 0)),
        )
