"""Marketing's domain values, which live in :mod:`crmcore.domain`.

:class:`EngagementEvent` is a registered domain event kind
(``"marketing.engagement"``) and :class:`CampaignMember` a stored aggregate;
both are defined in the domain layer, where every store finds them, and
re-exported here for the marketing API.
"""

from __future__ import annotations

from crmcore.domain import (
    CHANNEL_TYPES,
    MESSAGE_TYPES,
    CampaignMember,
    CampaignMemberAdded,
    CampaignMemberReassigned,
    CampaignMemberRemoved,
    Channel,
    EngagementEvent,
    EngagementType,
    add_campaign_member,
    campaign_member_id,
    reassign_campaign_member,
    remove_campaign_member,
)

__all__ = [
    "CHANNEL_TYPES",
    "MESSAGE_TYPES",
    "CampaignMember",
    "CampaignMemberAdded",
    "CampaignMemberReassigned",
    "CampaignMemberRemoved",
    "Channel",
    "EngagementEvent",
    "EngagementType",
    "add_campaign_member",
    "campaign_member_id",
    "reassign_campaign_member",
    "remove_campaign_member",
]
