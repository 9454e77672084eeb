"""Workflows, SLA calendars and sales / service analytics (placeholder)."""

from __future__ import annotations

from crmcore.pipeline._advance import (
    StageChanged,
    advance,
    allowed_transitions,
    replay,
    reset_probability,
    set_probability,
)
from crmcore.pipeline._calendar import BusinessCalendar
from crmcore.pipeline._convert import LeadConversion, LeadConverted, convert_lead
from crmcore.pipeline._defaults import LEAD_WORKFLOW, OPPORTUNITY_WORKFLOW, TICKET_WORKFLOW
from crmcore.pipeline._sales import (
    events_frame,
    forecast,
    sales_cycle_length,
    stage_funnel,
    stage_velocity,
    weighted_pipeline,
    win_rate,
)
from crmcore.pipeline._service import service_kpis
from crmcore.pipeline._sla import SLAPolicy, SLAStatus, SLATargetStatus, sla_report, sla_status
from crmcore.pipeline._workflow import FORECAST_CATEGORIES, Move, Stage, Transition, Workflow

__all__ = [
    "FORECAST_CATEGORIES",
    "LEAD_WORKFLOW",
    "OPPORTUNITY_WORKFLOW",
    "TICKET_WORKFLOW",
    "BusinessCalendar",
    "LeadConversion",
    "LeadConverted",
    "Move",
    "SLAPolicy",
    "SLAStatus",
    "SLATargetStatus",
    "Stage",
    "StageChanged",
    "Transition",
    "Workflow",
    "advance",
    "allowed_transitions",
    "convert_lead",
    "events_frame",
    "forecast",
    "replay",
    "reset_probability",
    "sales_cycle_length",
    "service_kpis",
    "set_probability",
    "sla_report",
    "sla_status",
    "stage_funnel",
    "stage_velocity",
    "weighted_pipeline",
    "win_rate",
]
