"""Workflows, SLA calendars, sales and service analytics, lead scoring.

Workflows are immutable, validated state machines (:class:`Workflow` of
:class:`Stage` and :class:`Transition`); :func:`advance` moves a lead,
opportunity or ticket and returns the new entity plus :class:`StageChanged`
events. :class:`BusinessCalendar` measures working time (hours, holidays,
time zones, DST) and :class:`SLAPolicy` / :func:`sla_status` track response
and resolution targets. Analytics take DataFrames and return DataFrames.
"""

from __future__ import annotations

from crmcore.pipeline._accuracy import (
    MOVEMENTS,
    ForecastAccuracy,
    forecast_accuracy,
    pipeline_changes,
    pipeline_snapshot,
)
from crmcore.pipeline._advance import (
    StageChanged,
    advance,
    allowed_transitions,
    replay,
    reset_probability,
    set_probability,
)
from crmcore.pipeline._articles import (
    ARTICLE_STATUSES,
    ARTICLE_WORKFLOW,
    Article,
    ArticleSaved,
    load_articles,
    revise,
)
from crmcore.pipeline._assign import REASONS, Assigned, Assignment, assign
from crmcore.pipeline._assign_model import (
    Agent,
    AssignmentRule,
    LeastLoaded,
    RoundRobin,
    SkillsMatch,
    Team,
    Territory,
    Workload,
)
from crmcore.pipeline._calendar import BusinessCalendar
from crmcore.pipeline._convert import LeadConversion, LeadConverted, convert_lead
from crmcore.pipeline._defaults import LEAD_WORKFLOW, OPPORTUNITY_WORKFLOW, TICKET_WORKFLOW
from crmcore.pipeline._engagement_scoring import (
    ENGAGEMENT_TYPES,
    FitEngagementScorer,
    decayed_engagement,
)
from crmcore.pipeline._eventlog import events_frame, lead_outcomes, stage_funnel, stage_velocity
from crmcore.pipeline._followups import (
    DUE_STATUSES,
    activities_frame,
    activity_kpis,
    due_activities,
)
from crmcore.pipeline._knowledge import KnowledgeBase, deflection
from crmcore.pipeline._sales import forecast, sales_cycle_length, weighted_pipeline, win_rate
from crmcore.pipeline._scoring import LeadScorer
from crmcore.pipeline._scoring_eval import evaluate_time_split
from crmcore.pipeline._service import service_kpis
from crmcore.pipeline._sla import SLAPolicy, SLAStatus, SLATargetStatus, sla_report, sla_status
from crmcore.pipeline._tickets import complaint_trends, ticket_kpis
from crmcore.pipeline._workflow import FORECAST_CATEGORIES, Move, Stage, Transition, Workflow

__all__ = [
    "ARTICLE_STATUSES",
    "ARTICLE_WORKFLOW",
    "DUE_STATUSES",
    "ENGAGEMENT_TYPES",
    "FORECAST_CATEGORIES",
    "LEAD_WORKFLOW",
    "MOVEMENTS",
    "OPPORTUNITY_WORKFLOW",
    "REASONS",
    "TICKET_WORKFLOW",
    "Agent",
    "Article",
    "ArticleSaved",
    "Assigned",
    "Assignment",
    "AssignmentRule",
    "BusinessCalendar",
    "FitEngagementScorer",
    "ForecastAccuracy",
    "KnowledgeBase",
    "LeadConversion",
    "LeadConverted",
    "LeadScorer",
    "LeastLoaded",
    "Move",
    "RoundRobin",
    "SLAPolicy",
    "SLAStatus",
    "SLATargetStatus",
    "SkillsMatch",
    "Stage",
    "StageChanged",
    "Team",
    "Territory",
    "Transition",
    "Workflow",
    "Workload",
    "activities_frame",
    "activity_kpis",
    "advance",
    "allowed_transitions",
    "assign",
    "complaint_trends",
    "convert_lead",
    "decayed_engagement",
    "deflection",
    "due_activities",
    "evaluate_time_split",
    "events_frame",
    "forecast",
    "forecast_accuracy",
    "lead_outcomes",
    "load_articles",
    "pipeline_changes",
    "pipeline_snapshot",
    "replay",
    "reset_probability",
    "revise",
    "sales_cycle_length",
    "service_kpis",
    "set_probability",
    "sla_report",
    "sla_status",
    "stage_funnel",
    "stage_velocity",
    "ticket_kpis",
    "weighted_pipeline",
    "win_rate",
]
