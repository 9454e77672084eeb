"""Leads, opportunities and tickets of the sample company, moved through the default workflows.

Every move goes through :func:`crmcore.pipeline.advance` (or
:func:`crmcore.pipeline.convert_lead`), so the stage history is exactly what
the workflow definitions allow. The events those functions return
(:class:`~crmcore.domain.StageChanged`, :class:`~crmcore.domain.LeadConverted`)
are the history: :func:`~crmcore.datasets.write_company` appends them to the
store's event log, where ``store.events.stage_history(workflow=...)`` reads
them back. (Entities used to carry them in ``custom["stage_history"]``;
:func:`history_frame` still reads such histories, deprecated.)
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._deprecation import REMOVED_IN
from crmcore._time import read_dates
from crmcore.domain import (
    Account,
    Contact,
    DomainEvent,
    Lead,
    Money,
    Opportunity,
    SurveyResponse,
    Ticket,
)
from crmcore.pipeline import (
    LEAD_WORKFLOW,
    OPPORTUNITY_WORKFLOW,
    TICKET_WORKFLOW,
    advance,
    convert_lead,
)

__all__ = ["SalesAndService", "history_frame", "make_sales", "make_service"]

#: Key under which entities of earlier releases kept their stage history in ``custom``.
LEGACY_HISTORY_KEY = "stage_history"

_SOURCES = ("web", "referral", "event", "partner", "outbound")
_INDUSTRIES = ("retail", "software", "logistics", "health", "finance", "energy")
_LOST = ("price", "competitor", "no budget", "timing")
_PRIORITIES = ("low", "normal", "high", "urgent")
_CHANNELS = ("email", "chat", "phone", "web")
_SUBJECTS = ("Delivery delayed", "Refund request", "Wrong size", "Login problem", "Invoice copy")


@attrs.frozen
class SalesAndService:
    """Entities produced by the workflow walks (kept as entities: they are few)."""

    leads: list[Lead]
    accounts: list[Account]
    contacts: list[Contact]
    opportunities: list[Opportunity]
    tickets: list[Ticket]
    csat: list[SurveyResponse]


def _pydt(stamp: pd.Timestamp) -> dt.datetime:
    """``stamp.floor("s").to_pydatetime()`` of an aware stamp, from its integer nanoseconds.

    (pandas' ``floor`` costs some 20 µs a call: the walks call this for every move.)
    """
    if stamp.tzinfo is None:
        return stamp.floor("s").to_pydatetime()
    return dt.datetime.fromtimestamp(stamp.value // 1_000_000_000, tz=stamp.tzinfo)


def _walk_opportunity(
    opp: Opportunity,
    at: pd.Timestamp,
    as_of: pd.Timestamp,
    rng: np.random.Generator,
    events: list[DomainEvent],
) -> Opportunity:
    open_stages = ("qualification", "proposal", "negotiation")
    for stage in open_stages:
        at = at + pd.Timedelta(days=float(rng.exponential(12.0)))
        if at > as_of:
            return opp
        if rng.random() < 0.22:
            at_dt = _pydt(at)
            opp, evs = advance(
                opp,
                "closed_lost",
                at=at_dt,
                workflow=OPPORTUNITY_WORKFLOW,
                reason=str(rng.choice(_LOST)),
            )
            events.extend(evs)
            return opp
        opp, evs = advance(opp, stage, at=_pydt(at), workflow=OPPORTUNITY_WORKFLOW)
        events.extend(evs)
    at = at + pd.Timedelta(days=float(rng.exponential(10.0)))
    if at > as_of:
        return opp
    won = rng.random() < 0.6
    opp, evs = advance(
        opp,
        "closed_won" if won else "closed_lost",
        at=_pydt(at),
        workflow=OPPORTUNITY_WORKFLOW,
        reason=None if won else str(rng.choice(_LOST)),
    )
    events.extend(evs)
    return opp


def make_sales(
    n_leads: int,
    *,
    start: pd.Timestamp,
    as_of: pd.Timestamp,
    currency: str,
    rng: np.random.Generator,
    events: list[DomainEvent],
) -> tuple[list[Lead], list[Account], list[Contact], list[Opportunity]]:
    """B2B leads walked through the lead workflow; conversions open opportunities.

    Every event ``advance`` and ``convert_lead`` return is appended to ``events``.
    """
    leads: list[Lead] = []
    accounts: list[Account] = []
    contacts: list[Contact] = []
    opportunities: list[Opportunity] = []
    span = (as_of - start).total_seconds()
    created = start + pd.to_timedelta(np.sort(rng.uniform(0, span, n_leads)), unit="s")
    for i in range(n_leads):
        at = created[i]
        lead = Lead(
            id=f"L{i:06d}",
            name=f"Buyer {i}",
            company=f"Company {i}",
            source=str(rng.choice(_SOURCES)),
            created_at=_pydt(at),
        )
        for stage in ("contacted", "qualified"):
            at = at + pd.Timedelta(days=float(rng.exponential(6.0)))
            if at > as_of:
                break
            if rng.random() < 0.25:
                lead, evs = advance(
                    lead, "disqualified", at=_pydt(at), workflow=LEAD_WORKFLOW, reason="no fit"
                )
                events.extend(evs)
                break
            lead, evs = advance(lead, stage, at=_pydt(at), workflow=LEAD_WORKFLOW)
            events.extend(evs)
        if lead.status == "qualified":
            at = at + pd.Timedelta(days=float(rng.exponential(4.0)))
            if at <= as_of and rng.random() < 0.7:
                amount = Decimal(int(rng.lognormal(8.5, 0.8))).quantize(Decimal("1"))
                close = (at + pd.Timedelta(days=float(rng.uniform(20, 90)))).date()
                account = Account(
                    id=f"A{i:06d}",
                    name=f"Company {i}",
                    industry=str(rng.choice(_INDUSTRIES)),
                    created_at=_pydt(at),
                )
                done = convert_lead(
                    lead,
                    at=_pydt(at),
                    account=account,
                    contact_id=f"P{i:06d}",
                    opportunity_id=f"O{i:06d}",
                    amount=Money(amount=amount, currency=currency),
                    expected_close_date=close,
                )
                events.extend(done.events)
                assert done.lead is not None
                lead = done.lead
                accounts.append(done.account)
                contacts.append(done.contact)
                if done.opportunity is not None:
                    opp = _walk_opportunity(done.opportunity, at, as_of, rng, events)
                    opportunities.append(opp)
        leads.append(lead)
    return leads, accounts, contacts, opportunities


def make_service(
    n_tickets: int,
    customer_ids: np.ndarray,
    first_purchase: np.ndarray,
    *,
    as_of: pd.Timestamp,
    rng: np.random.Generator,
    events: list[DomainEvent],
) -> tuple[list[Ticket], list[SurveyResponse]]:
    """Support tickets walked through the ticket workflow, and CSAT answers after them.

    Every event ``advance`` returns is appended to ``events``.
    """
    tickets: list[Ticket] = []
    answers: list[SurveyResponse] = []
    who = rng.integers(0, len(customer_ids), n_tickets)
    first = first_purchase[who]
    span = (as_of.tz_localize(None).to_datetime64() - first).astype("timedelta64[s]")
    span = span.astype(np.float64)
    created = pd.DatetimeIndex(first + (span * rng.random(n_tickets)).astype("timedelta64[s]"))
    created = created.tz_localize("UTC")
    priority = rng.choice(_PRIORITIES, size=n_tickets, p=[0.3, 0.45, 0.2, 0.05])
    channel = rng.choice(_CHANNELS, size=n_tickets, p=[0.5, 0.2, 0.2, 0.1])
    for i in range(n_tickets):
        at = created[i]
        ticket = Ticket(
            id=f"T{i:06d}",
            customer_id=str(customer_ids[who[i]]),
            subject=str(rng.choice(_SUBJECTS)),
            channel=str(channel[i]),
            created_at=_pydt(at),
            priority=str(priority[i]),
        )
        responded: pd.Timestamp | None = None
        steps: list[tuple[str, float]] = [
            ("assigned", rng.exponential(0.5)),
            ("in_progress", rng.lognormal(0.8, 1.0)),
        ]
        if rng.random() < 0.3:
            steps += [("waiting_on_customer", rng.exponential(6.0))]
            steps += [("in_progress", rng.exponential(20.0))]
        steps += [("resolved", rng.lognormal(2.8, 1.0)), ("closed", rng.uniform(24, 72))]
        for stage, hours in steps:
            at = at + pd.Timedelta(hours=float(hours))
            if at > as_of:
                break
            ticket, evs = advance(ticket, stage, at=_pydt(at), workflow=TICKET_WORKFLOW)
            events.extend(evs)
            if stage == "in_progress" and responded is None:
                responded = at
        if responded is not None:
            ticket = attrs.evolve(ticket, first_response_at=_pydt(responded))
        if ticket.resolved_at is not None and rng.random() < 0.5:
            hours_open = (ticket.resolved_at - ticket.created_at).total_seconds() / 3600
            happy = 0.85 if hours_open < 24 else 0.55
            score = int(rng.integers(4, 6)) if rng.random() < happy else int(rng.integers(1, 4))
            answered = ticket.resolved_at + dt.timedelta(hours=float(rng.uniform(1, 48)))
            if answered <= as_of:
                answers.append(
                    SurveyResponse(
                        id=f"S-T{i:06d}",
                        customer_id=ticket.customer_id,
                        kind="csat",
                        score=score,
                        answered_at=answered,
                        ticket_id=ticket.id,
                    )
                )
        tickets.append(ticket)
    return tickets, answers


def history_frame(entity_ids: Sequence[Any], custom: Sequence[Any]) -> pd.DataFrame:
    """Stage-change log (``entity_id, from_stage, to_stage, at``) from ``custom`` histories.

    .. deprecated:: 0.2.0
        The sample company stores its stage changes as events; read them with
        ``store.events.stage_history(workflow=...)``. This reader of the
        ``custom["stage_history"]`` triples written by earlier releases is
        removed in crmcore 0.3.0.

    Parameters
    ----------
    entity_ids : sequence
        Entity ids, aligned with ``custom``.
    custom : sequence of mapping or None
        The entities' ``custom`` mappings (``custom["stage_history"]`` holds
        ``[from_stage, to_stage, ISO time]`` triples).

    Returns
    -------
    DataFrame
        One row per stage change, ``at`` in UTC.
    """
    warnings.warn(
        "crmcore.datasets.history_frame() is deprecated and will be removed in crmcore "
        f"{REMOVED_IN}; the sample company stores its stage changes as events: use "
        "store.events.stage_history(workflow=...) instead",
        DeprecationWarning,
        stacklevel=2,
    )
    rows: list[tuple[Any, str, str, str]] = []
    for key, extra in zip(entity_ids, custom, strict=True):
        if not extra:
            continue
        rows.extend((key, *triple) for triple in extra.get(LEGACY_HISTORY_KEY, ()))
    frame = pd.DataFrame(rows, columns=["entity_id", "from_stage", "to_stage", "at"])
    if len(frame) == 0:
        return frame.astype({"at": "datetime64[ns, UTC]"})
    # the times were written with their offsets: instants, shown in UTC
    frame["at"] = read_dates(frame["at"], name="at").in_zone(dt.UTC).to_index()
    return frame
