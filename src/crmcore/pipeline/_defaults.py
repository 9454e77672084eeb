"""The workflows crmcore ships for leads, opportunities and tickets."""

from __future__ import annotations

from crmcore.pipeline._workflow import Stage, Transition, Workflow, linear_workflow

__all__ = ["LEAD_WORKFLOW", "OPPORTUNITY_WORKFLOW", "TICKET_WORKFLOW"]


def _lead() -> Workflow:
    stages = (
        Stage("new", 1),
        Stage("contacted", 2),
        Stage("nurturing", 3),
        Stage("qualified", 4),
        Stage("converted", 5, 100, "closed", is_won=True, is_closed=True),
        Stage("disqualified", 6, 0, "omitted", is_closed=True, requires_reason=True),
    )
    moves = {
        "new": ("contacted", "nurturing", "qualified", "converted", "disqualified"),
        "contacted": ("nurturing", "qualified", "converted", "disqualified"),
        "nurturing": ("contacted", "qualified", "converted", "disqualified"),
        "qualified": ("nurturing", "converted", "disqualified"),
    }
    trans = [Transition(a, b) for a, targets in moves.items() for b in targets]
    return Workflow("lead", stages, trans, "new", state_attr="status")


def _opportunity() -> Workflow:
    stages = (
        Stage("prospecting", 1, 10, "pipeline"),
        Stage("qualification", 2, 20, "pipeline"),
        Stage("proposal", 3, 50, "best_case"),
        Stage("negotiation", 4, 80, "commit"),
        Stage("closed_won", 5, 100, "closed", is_won=True, is_closed=True),
        Stage("closed_lost", 6, 0, "omitted", is_closed=True, requires_reason=True),
    )
    return linear_workflow("opportunity", stages)


def _ticket() -> Workflow:
    stages = (
        Stage("new", 1),
        Stage("assigned", 2),
        Stage("in_progress", 3),
        Stage("waiting_on_customer", 4, pauses_sla=True),
        Stage("resolved", 5, is_closed=True),
        Stage("closed", 6, is_closed=True),
    )
    moves = {
        "new": ("assigned", "in_progress", "waiting_on_customer", "resolved", "closed"),
        "assigned": ("new", "in_progress", "waiting_on_customer", "resolved"),
        "in_progress": ("assigned", "waiting_on_customer", "resolved"),
        "waiting_on_customer": ("in_progress", "resolved", "closed"),
        # Reopen: a resolved ticket goes back to work; closed is final.
        "resolved": ("in_progress", "closed"),
    }
    trans = [Transition(a, b) for a, targets in moves.items() for b in targets]
    return Workflow("ticket", stages, trans, "new", final=("closed",), state_attr="status")


LEAD_WORKFLOW: Workflow = _lead()
"""Leads: new → contacted / nurturing → qualified → converted (from any open stage), or
disqualified (needs a reason)."""

OPPORTUNITY_WORKFLOW: Workflow = _opportunity()
"""Opportunities: prospecting 10 %, qualification 20 %, proposal 50 %, negotiation 80 %,
closed_won 100 %, closed_lost 0 % (needs a lost reason); any open stage may move to any other."""

TICKET_WORKFLOW: Workflow = _ticket()
"""Tickets: new, assigned, in_progress, waiting_on_customer (pauses the SLA), resolved
(may be reopened to in_progress), closed (final)."""
