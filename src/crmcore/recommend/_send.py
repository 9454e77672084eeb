"""Chosen offers sent through marketing campaigns; responses recorded as engagement.

:func:`send_offers` turns the actions of :func:`~crmcore.recommend.next_best_action`
into campaign members (one per action; the variant is the offer) and their
``send`` engagement, in one unit of work, so the offers' audiences,
deliveries and KPIs are those of :mod:`crmcore.marketing`
(:func:`~crmcore.marketing.campaign_kpis` reads the members and the
engagement).  :func:`record_responses` records what customers did with an
offer (``click``, ``form_submit``...) as engagement events of its campaign.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmcore._validation import check_columns
from crmcore.domain import (
    CampaignMember,
    Channel,
    EngagementEvent,
    EngagementType,
    add_campaign_member,
)
from crmcore.errors import ValidationError

if TYPE_CHECKING:
    from crmcore.storage import Store

__all__ = ["record_responses", "send_offers"]

_ENGAGEMENT_CHANNELS = frozenset(c.value for c in Channel)


def _campaign_of(campaigns: Mapping[Any, Any], offer_id: Any) -> Any:
    try:
        return campaigns[offer_id]
    except KeyError:
        raise ValidationError(
            f"offer {offer_id!r} has no campaign in campaigns; map every offer id to the "
            f"campaign that sends it (known: {sorted(map(str, campaigns))})",
            field="campaigns",
            value=offer_id,
        ) from None


def _check_campaigns(store: Store, campaign_ids: set[Any]) -> None:
    for campaign_id in sorted(campaign_ids, key=str):
        if store.campaigns.find(campaign_id) is None:
            raise ValidationError(
                f"campaign {campaign_id!r} is not in the store; add it to store.campaigns first",
                field="campaigns",
                value=campaign_id,
            )


def send_offers(
    store: Store,
    actions: pd.DataFrame,
    *,
    campaigns: Mapping[Any, Any],
    at: dt.datetime,
    actor: str | None = None,
) -> list[CampaignMember]:
    """Add each chosen action's customer to its offer's campaign, and record the send.

    Every action gives a :class:`~crmcore.domain.CampaignMember` (and its
    ``CampaignMemberAdded`` event); an action on an engagement channel
    (``email``, ``sms``, ``push``, ``web``, ``app``) also gives a ``send``
    :class:`~crmcore.domain.EngagementEvent`.  Other channels (a call, a
    letter) record the membership only.

    Parameters
    ----------
    store : InMemoryStore or SqlStore
    actions : DataFrame
        ``NextBestActions.actions`` (``customer_id``, ``offer_id``,
        ``channel`` are read), or any frame with those columns.
    campaigns : mapping
        Offer id → the id of the stored campaign that sends it.
    at : datetime.datetime
        When the audience is selected and the offers go out (timezone-aware).
    actor : str, optional
        Who sent them (on the events).

    Returns
    -------
    list of CampaignMember
        The members written (variant = the offer id), in the actions' order.

    Raises
    ------
    ValidationError
        Missing columns, an offer without a campaign, a campaign not in the
        store, or a customer already a member of that campaign.  Nothing is
        written then.
    """
    check_columns(actions, ["customer_id", "offer_id", "channel"], name="actions")
    rows = list(actions[["customer_id", "offer_id", "channel"]].itertuples(index=False, name=None))
    targets = [_campaign_of(campaigns, offer) for _, offer, _ in rows]
    _check_campaigns(store, set(targets))
    members = []
    events: list[Any] = []
    for (customer, offer, channel), campaign in zip(rows, targets, strict=True):
        member, added = add_campaign_member(
            CampaignMember(
                campaign_id=campaign, customer_id=customer, selected_at=at, variant=str(offer)
            ),
            actor=actor,
        )
        members.append(member)
        events.extend(added)
        if channel not in _ENGAGEMENT_CHANNELS:  # a call or a letter: the membership only
            continue
        events.append(
            EngagementEvent(
                kind=EngagementType.SEND,
                channel=channel,
                at=at,
                customer_id=customer,
                campaign_id=campaign,
                variant=str(offer),
                actor=actor,
            )
        )
    with store.unit_of_work() as uow:
        uow.campaign_members.add_many(members)
        uow.record(*events)
        uow.commit()
    return members


def record_responses(
    store: Store,
    responses: pd.DataFrame,
    *,
    campaigns: Mapping[Any, Any],
    kind: str = "click",
) -> int:
    """Record customers' responses to offers as engagement of the offers' campaigns.

    Parameters
    ----------
    store : InMemoryStore or SqlStore
    responses : DataFrame
        ``customer_id``, ``offer_id``, ``channel`` and ``at`` (aware
        datetimes), one row per response.
    campaigns : mapping
        Offer id → campaign id, as given to :func:`send_offers`.
    kind : str, default "click"
        The engagement type of a response (an
        :class:`~crmcore.domain.EngagementType` value).

    Returns
    -------
    int
        Events recorded.

    Raises
    ------
    ValidationError
        Missing columns, an offer without a campaign, a campaign not in the
        store, a bad kind or channel, or a naive time.
    """
    check_columns(responses, ["customer_id", "offer_id", "channel", "at"], name="responses")
    frame = responses[["customer_id", "offer_id", "channel", "at"]]
    rows = list(frame.itertuples(index=False, name=None))
    targets = [_campaign_of(campaigns, offer) for _, offer, _, _ in rows]
    _check_campaigns(store, set(targets))
    events = [
        EngagementEvent(
            kind=kind,
            channel=channel,
            at=pd.Timestamp(when).to_pydatetime(),
            customer_id=customer,
            campaign_id=campaign,
            variant=str(offer),
        )
        for (customer, offer, channel, when), campaign in zip(rows, targets, strict=True)
    ]
    with store.unit_of_work() as uow:
        uow.record(*events)
        uow.commit()
    return len(events)
