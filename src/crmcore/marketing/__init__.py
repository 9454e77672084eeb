"""Marketing: engagement, audiences, campaign results, attribution, experiments, send time.

What the marketing team asks of a CRM, on pandas frames and with the
uncertainty next to every rate (the user guide is "Marketing" in the docs):

- :class:`EngagementEvent` (send, deliver, open, click, bounce, unsubscribe,
  complaint, web visits, forms, downloads, carts, app sessions) and
  :class:`CampaignMember` are frozen values with a JSON round trip;
  :func:`engagement_frame` gives the canonical event frame every function
  reads;
- :func:`select_audience`: a segment :class:`~crmcore.segmentation.Rule`,
  minus those without consent on the channel at ``as_of`` (unknown consent
  never receives), with a stable, seeded control group;
- :func:`campaign_kpis`: the funnel with Wilson intervals, machine opens
  excluded by a stated rule, revenue, cost, ROMI, CAC, and incremental
  conversions and revenue against the control group; :func:`campaign_frames`
  reads its inputs from a store (campaigns, members, engagement, orders);
- :func:`attribute`: first / last touch, linear, time decay, position-based,
  Markov removal effects and exact Shapley values; every conversion's
  credits sum to its value;
- :func:`ab_test`, :func:`sample_size`, and uplift models on scikit-learn
  (:class:`TwoModelUplift`, :class:`XLearnerUplift`) with
  :func:`qini_curve` and :func:`uplift_at_k`;
- :func:`send_time_profile` / :func:`best_send_time`: hour-of-week
  propensities shrunk toward the population by empirical Bayes, with a
  backtest (:func:`send_time_backtest`);
- :func:`engagement_features` for churn models and lead scoring, joinable
  to :func:`crmcore.segmentation.customer_features`;
- :func:`simulate_engagement`: seeded data with known true effects;
- :mod:`crmcore.marketing.journeys`: trigger-based journeys (entry, waits,
  branches, sends, actions, goals) run by a pure engine that enforces
  consent, quiet hours and frequency caps, with funnel and control-group
  analytics.
"""

from __future__ import annotations

from crmcore.marketing import journeys
from crmcore.marketing._attribution import MODELS, Attribution, attribute
from crmcore.marketing._audience import (
    CONSENT_POLICY,
    EXCLUSION_REASONS,
    Audience,
    audience_rule,
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
from crmcore.marketing._store import PURCHASE_STATUSES, CampaignFrames, campaign_frames
from crmcore.marketing._uplift import TwoModelUplift, XLearnerUplift, qini_curve, uplift_at_k

__all__ = [
    "BANDS",
    "CHANNEL_TYPES",
    "CONSENT_POLICY",
    "EXCLUSION_REASONS",
    "MODELS",
    "PURCHASE_STATUSES",
    "RATES",
    "Attribution",
    "Audience",
    "CampaignFrames",
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
    "audience_rule",
    "best_send_time",
    "campaign_frames",
    "campaign_kpis",
    "consent_log",
    "engagement_features",
    "engagement_frame",
    "journeys",
    "members_frame",
    "qini_curve",
    "sample_size",
    "select_audience",
    "send_time_backtest",
    "send_time_profile",
    "simulate_engagement",
    "uplift_at_k",
]
