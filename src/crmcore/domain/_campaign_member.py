"""Campaign members: who a campaign targets, in which variant, or held out; and their events.

A :class:`CampaignMember` is a stored aggregate (``store.campaign_members``)
identified by its campaign and customer: its id defaults to
:func:`campaign_member_id`, so a customer can join a campaign once and a
rerun that adds the same members again is refused as a duplicate.  Changes
of an audience are pure functions returning the member and its events, like
:func:`crmcore.pipeline.advance`: record the events in the unit of work that
stores the member.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from typing import Any

import attrs

from crmcore.domain._base import (
    EntityId,
    convert_id,
    encode_id,
    valid_aware,
    valid_bool,
    valid_id,
    valid_optional_text,
)
from crmcore.domain._codec import dec_datetime, meta
from crmcore.domain._entity import Entity
from crmcore.domain._marketing_events import (
    CampaignMemberAdded,
    CampaignMemberReassigned,
    CampaignMemberRemoved,
)
from crmcore.errors import ValidationError

__all__ = [
    "CampaignMember",
    "add_campaign_member",
    "campaign_member_id",
    "reassign_campaign_member",
    "remove_campaign_member",
]

# A fixed namespace: member ids must never change between releases.  Public in this
# module for bulk writers that build the same ids column-wise (crmcore.datasets).
MEMBER_NAMESPACE = uuid.UUID("6f1c2d3e-9a4b-5c6d-8e7f-0a1b2c3d4e5f")
_MEMBER_NAMESPACE = MEMBER_NAMESPACE


def campaign_member_id(campaign_id: EntityId, customer_id: EntityId) -> uuid.UUID:
    """Return the id of a customer's membership of a campaign.

    A name-based UUID (RFC 9562 version 5) of the pair, in a namespace
    fixed in crmcore: the same pair always gives the same id, different
    pairs different ids (whatever characters the two ids contain), and the
    id fits any key column.

    Parameters
    ----------
    campaign_id, customer_id : str or uuid.UUID
        The campaign and the customer.

    Returns
    -------
    uuid.UUID

    Raises
    ------
    ValidationError
        An id that is not a non-blank str or a UUID.

    Examples
    --------
    >>> campaign_member_id("spring", "C-1") == campaign_member_id("spring", "C-1")
    True
    >>> campaign_member_id("spring", "C-1") == campaign_member_id("spring", "C-2")
    False
    """
    pair = []
    given: tuple[tuple[str, object], ...] = (
        ("campaign_id", campaign_id),
        ("customer_id", customer_id),
    )  # checked: callers may pass anything
    for name, value in given:
        if not (isinstance(value, uuid.UUID) or (isinstance(value, str) and value.strip())):
            raise ValidationError(
                f"{name} must be a non-blank str or a uuid.UUID; got {value!r}",
                field=name,
                value=value,
            )
        pair.append(encode_id(convert_id(value)))
    return uuid.uuid5(_MEMBER_NAMESPACE, json.dumps(pair))


def _default_id(member: Any) -> Any:
    try:
        return campaign_member_id(member.campaign_id, member.customer_id)
    except ValidationError:
        return None  # the campaign or customer validator names the problem


@attrs.frozen(kw_only=True)
class CampaignMember(Entity):
    """One customer chosen for a campaign: the variant they get, or the control group.

    Parameters
    ----------
    campaign_id, customer_id : str or uuid.UUID
        The campaign and the customer.
    id : str or uuid.UUID, optional
        Default :func:`campaign_member_id` of the two: one membership per
        customer and campaign.
    selected_at : datetime.datetime
        When the audience was selected (timezone-aware): the ``as_of`` of
        :func:`crmcore.marketing.select_audience`.
    variant : str, optional
        The variant (A/B arm) the customer receives; ``None`` for the
        control group and for single-variant campaigns.
    control : bool, default False
        True for a hold-out customer who receives nothing and measures what
        would have happened anyway.
    version, custom
        See :class:`~crmcore.domain.Entity`.

    Examples
    --------
    >>> import datetime as dt
    >>> m = CampaignMember(
    ...     campaign_id="spring",
    ...     customer_id="C-1",
    ...     selected_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    ...     control=True,
    ... )
    >>> m.id == campaign_member_id("spring", "C-1")
    True
    >>> CampaignMember.from_dict(m.to_dict()) == m
    True
    """

    campaign_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    customer_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    id: EntityId = attrs.field(
        default=attrs.Factory(_default_id, takes_self=True),
        converter=convert_id,
        validator=valid_id,
    )
    selected_at: _dt.datetime = attrs.field(validator=valid_aware, metadata=meta(dec_datetime))
    variant: str | None = attrs.field(default=None, validator=valid_optional_text)
    control: bool = attrs.field(default=False, validator=valid_bool)

    def __attrs_post_init__(self) -> None:
        if self.control and self.variant is not None:
            raise ValidationError(
                f"a control member receives no variant; got variant={self.variant!r} "
                "with control=True",
                field="variant",
                value=self.variant,
            )


def _member(value: Any) -> CampaignMember:
    if not isinstance(value, CampaignMember):
        raise ValidationError(
            f"member must be a CampaignMember; got {type(value).__name__}", field="member"
        )
    return value


def add_campaign_member(
    member: CampaignMember, *, actor: str | None = None
) -> tuple[CampaignMember, tuple[CampaignMemberAdded, ...]]:
    """Return a new member and the event recording that it joined the campaign.

    Pure, like :func:`crmcore.pipeline.advance`: add the member to
    ``uow.campaign_members`` and record the event in the same unit of work.

    Parameters
    ----------
    member : CampaignMember
        The new member; the event happens at its ``selected_at``.
    actor : str, optional
        Who added it.

    Returns
    -------
    member : CampaignMember
        Unchanged.
    events : tuple of CampaignMemberAdded
        One event.

    Examples
    --------
    >>> import datetime as dt
    >>> at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    >>> m, events = add_campaign_member(
    ...     CampaignMember(campaign_id="spring", customer_id="C-1", selected_at=at, variant="A")
    ... )
    >>> events[0].describe()
    'added to campaign spring (variant A)'
    """
    m = _member(member)
    event = CampaignMemberAdded(
        member_id=m.id,
        campaign_id=m.campaign_id,
        customer_id=m.customer_id,
        variant=m.variant,
        control=m.control,
        at=m.selected_at,
        actor=actor,
    )
    return m, (event,)


def reassign_campaign_member(
    member: CampaignMember,
    *,
    variant: str | None,
    control: bool,
    at: _dt.datetime,
    actor: str | None = None,
) -> tuple[CampaignMember, tuple[CampaignMemberReassigned, ...]]:
    """Move a member to another variant, or into or out of the control group.

    Parameters
    ----------
    member : CampaignMember
        The member as stored.
    variant : str or None
        The new variant (``None`` for the control group).
    control : bool
        Whether the member is held out from now on.
    at : datetime.datetime
        When (timezone-aware).
    actor : str, optional
        Who changed it.

    Returns
    -------
    member : CampaignMember
        A copy with the new assignment (update it in the repository).
    events : tuple of CampaignMemberReassigned
        One event; none when the assignment does not change.

    Raises
    ------
    ValidationError
        A control member with a variant, a naive ``at``.
    """
    m = _member(member)
    moved = attrs.evolve(m, variant=variant, control=control)
    if (moved.variant, moved.control) == (m.variant, m.control):
        return m, ()
    event = CampaignMemberReassigned(
        member_id=m.id,
        campaign_id=m.campaign_id,
        customer_id=m.customer_id,
        variant=moved.variant,
        control=moved.control,
        previous_variant=m.variant,
        previous_control=m.control,
        at=at,
        actor=actor,
    )
    return moved, (event,)


def remove_campaign_member(
    member: CampaignMember,
    *,
    at: _dt.datetime,
    reason: str | None = None,
    actor: str | None = None,
) -> tuple[CampaignMember, tuple[CampaignMemberRemoved, ...]]:
    """Return the event recording that a member left the campaign's audience.

    Remove the member from ``uow.campaign_members`` and record the event in
    the same unit of work.  Analyses by intention to treat count a member
    removed after the send as a member all the same: remove only members
    who should never have been selected.

    Parameters
    ----------
    member : CampaignMember
        The member as stored.
    at : datetime.datetime
        When (timezone-aware).
    reason : str, optional
        Why.
    actor : str, optional
        Who removed it.

    Returns
    -------
    member : CampaignMember
        Unchanged (the record to remove).
    events : tuple of CampaignMemberRemoved
        One event.
    """
    m = _member(member)
    event = CampaignMemberRemoved(
        member_id=m.id,
        campaign_id=m.campaign_id,
        customer_id=m.customer_id,
        at=at,
        reason=reason,
        actor=actor,
    )
    return m, (event,)
