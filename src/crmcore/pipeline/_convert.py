"""Lead conversion: a qualified lead becomes an account, a contact and an opportunity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from typing import Any, NamedTuple

import attrs

from crmcore.domain import Account, Contact, Lead, LeadConverted, Money, Opportunity
from crmcore.errors import ValidationError
from crmcore.pipeline._advance import StageChanged, advance  # StageChanged: from the domain
from crmcore.pipeline._defaults import LEAD_WORKFLOW, OPPORTUNITY_WORKFLOW
from crmcore.pipeline._workflow import Workflow

__all__ = ["LeadConversion", "LeadConverted", "convert_lead"]


class _Conversion(NamedTuple):
    account: Account
    contact: Contact
    opportunity: Opportunity | None
    events: tuple[StageChanged | LeadConverted, ...]


class LeadConversion(_Conversion):
    """What :func:`convert_lead` returns.

    A 4-tuple ``(account, contact, opportunity, events)`` (``opportunity`` is
    ``None`` when none was opened), with the same names as attributes, plus
    ``lead``: the converted lead (status ``converted``, ``converted_*``
    fields set), which the caller stores too.
    """

    lead: Lead | None = None

    def __new__(
        cls,
        account: Account,
        contact: Contact,
        opportunity: Opportunity | None,
        events: tuple[StageChanged | LeadConverted, ...],
        *,
        lead: Lead | None = None,
    ) -> LeadConversion:
        self = super().__new__(cls, account, contact, opportunity, events)
        self.lead = lead
        return self

    def _replace(self, **changes: Any) -> LeadConversion:
        return LeadConversion(*super()._replace(**changes), lead=self.lead)


def convert_lead(
    lead: Lead,
    *,
    at: dt.datetime,
    account_id: Hashable | None = None,
    contact_id: Hashable,
    account: Account | None = None,
    opportunity_id: Hashable | None = None,
    amount: Money | None = None,
    expected_close_date: dt.date | None = None,
    opportunity_name: str | None = None,
    actor: str | None = None,
    workflow: Workflow = LEAD_WORKFLOW,
    opportunity_workflow: Workflow = OPPORTUNITY_WORKFLOW,
) -> LeadConversion:
    """Convert a lead into an account, a contact and (optionally) an opportunity.

    Identifiers are chosen by the caller (ERP keys must fit). The lead moves
    to ``converted`` (via :func:`advance`, so the workflow decides from which
    stages that is allowed) and records what it became.

    Parameters
    ----------
    lead : Lead
        The lead to convert; it must be allowed to move to ``converted``.
    at : datetime
        When the conversion happens (timezone-aware).
    account_id : hashable, optional
        Id of the new account (named after ``lead.company``, else
        ``lead.name``). Not needed when ``account`` is given.
    contact_id : hashable
        Id of the new contact.
    account : Account, optional
        An existing account to attach the contact (and opportunity) to
        instead of creating one.
    opportunity_id : hashable, optional
        If given, an opportunity is opened too; needs ``amount`` and
        ``expected_close_date``.
    amount : Money, optional
        Amount of the new opportunity.
    expected_close_date : date, optional
        Expected close date of the new opportunity.
    opportunity_name : str, optional
        Default: the account name.
    actor : str, optional
        Who converts the lead, recorded on the events.
    workflow, opportunity_workflow : Workflow
        The lead and opportunity workflows.

    Returns
    -------
    LeadConversion
        ``(account, contact, opportunity, events)``; the converted lead is
        ``result.lead``.

    Raises
    ------
    InvalidTransition
        If the lead is disqualified, already converted, or the workflow does
        not allow ``converted`` from its stage.
    ValidationError
        If ids or opportunity details are missing.
    """
    if not isinstance(lead, Lead):
        raise ValidationError(f"lead must be a Lead; got {type(lead).__name__}", field="lead")
    new_lead, stage_events = advance(lead, "converted", at=at, workflow=workflow, actor=actor)
    if account is None:
        if account_id is None:
            raise ValidationError(
                "account_id is required unless an existing account is given", field="account_id"
            )
        account = Account(id=account_id, name=lead.company or lead.name, created_at=at)
    contact = Contact(
        id=contact_id,
        account_id=account.id,
        name=lead.name,
        created_at=at,
        email=lead.email,
        phone=lead.phone,
    )
    opportunity = None
    if opportunity_id is not None:
        if amount is None or expected_close_date is None:
            raise ValidationError(
                "an opportunity needs amount and expected_close_date",
                field="amount" if amount is None else "expected_close_date",
            )
        initial = opportunity_workflow.stage(opportunity_workflow.initial)
        opportunity = Opportunity(
            id=opportunity_id,
            account_id=account.id,
            name=opportunity_name or account.name,
            amount=amount,
            expected_close_date=expected_close_date,
            probability=initial.probability,
            created_at=at,
            stage=initial.name,
            owner=lead.owner,
            contact_id=contact.id,
            campaign_id=lead.campaign_id,
        )
    new_lead = attrs.evolve(
        new_lead,
        converted_at=at,
        converted_account_id=account.id,
        converted_contact_id=contact.id,
        converted_opportunity_id=None if opportunity is None else opportunity.id,
    )
    done = LeadConverted(
        lead.id, account.id, contact.id, None if opportunity is None else opportunity.id, at, actor
    )
    return LeadConversion(account, contact, opportunity, (*stage_events, done), lead=new_lead)
