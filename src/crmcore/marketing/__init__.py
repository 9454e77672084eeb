"""Marketing: engagement, audiences, campaign KPIs, attribution, experiments, send time."""

from __future__ import annotations

from crmcore.marketing._attribution import MODELS, Attribution, attribute
from crmcore.marketing._audience import (
    CONSENT_POLICY,
    EXCLUSION_REASONS,
    Audience,
    select_audience,
)
from crmcore.marketing._domain import (
    CHANNEL_TYPES,
    CampaignMember,
    Channel,
    EngagementEvent,
    EngagementType,
)
from crmcore.marketing._experiments import SampleSize, ab_test, sample_size
from crmcore.marketing._features import BANDS, engagement_features
from crmcore.marketing._frame import consent_log, engagement_frame, members_frame
from crmcore.marketing._kpis import RATES, campaign_kpis
from crmcore.marketing._sendtime import (
    SendTimeProfile,
    best_send_time,
    send_time_backtest,
    send_time_profile,
)
from crmcore.marketing._simulate import SimulatedEngagement, TrueEffects, simulate_engagement
from crmcore.marketing._uplift import TwoModelUplift, XLearnerUplift, qini_curve, uplift_at_k

__all__ = [
    "BANDS",
    "CHANNEL_TYPES",
    "CONSENT_POLICY",
    "EXCLUSION_REASONS",
    "MODELS",
    "RATES",
    "Attribution",
    "Audience",
    "CampaignMember",
    "Channel",
    "EngagementEvent",
    "EngagementType",
    "SampleSize",
    "SendTimeProfile",
    "SimulatedEngagement",
    "TrueEffects",
    "TwoModelUplift",
    "XLearnerUplift",
    "ab_test",
    "attribute",
    "best_send_time",
    "campaign_kpis",
    "consent_log",
    "engagement_features",
    "engagement_frame",
    "members_frame",
    "qini_curve",
    "sample_size",
    "select_audience",
    "send_time_backtest",
    "send_time_profile",
    "simulate_engagement",
    "uplift_at_k",
]
