"""Hypothesis strategies for crmcore's entities, values, purchase logs and workflows.

For property-based tests of code that embeds crmcore::

    from hypothesis import given
    from crmcore.testing import strategies as cst


    @given(cst.customers(name=cst.names(10)))
    def test_my_export_round_trips(customer): ...

Needs the ``testing`` extra (``pip install "crmcore[testing]"``, which brings
hypothesis and pytest); importing :mod:`crmcore` never imports this module.

Guarantees
----------
* Every value is valid: it passes the entity's own validation, survives a JSON
  round trip through any crmcore store, and respects the entity's ordering
  rules (``closed_at``, ``resolved_at``, ``converted_at`` ... are never before
  the time they follow).
* Entity strategies take keyword overrides, one strategy per field, to pin or
  constrain fields: ``orders(customer_id=st.just("c1"), amount=money("EUR"))``.
  An override may also be a callable taking the fields drawn so far and
  returning a strategy (fields are drawn in declaration order).
* Identifiers are ERP-like strings (any script, punctuation) or UUIDs;
  datetimes are timezone-aware, in fixed offsets and IANA zones (half-hour
  offsets, daylight saving), never imaginary wall times; money has two
  decimal places; names are unicode; ``custom`` fields are nested JSON.
* Purchase logs (:func:`transaction_logs`, :func:`purchase_logs`) are
  pandas frames with crmcore's default columns ``customer_id``, ``date``,
  ``amount``; :func:`transaction_logs` includes exact duplicates and several
  purchases on one day, naive or in a time zone; :func:`purchase_logs`
  crowds the edges of the windows around a cut-off (the values where
  ``<`` and ``<=`` differ), for the time rule of :doc:`/time`.
* Workflow strategies (:func:`stage_walks`) only make legal moves.
* The strategies are deterministic functions of hypothesis's draws, so
  hypothesis shrinks and replays failures as usual.
"""

from __future__ import annotations

import datetime as dt
import string
import uuid
from decimal import Decimal
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import attrs
import pandas as pd
from hypothesis import strategies as st

from crmcore.domain import (
    Account,
    Activity,
    ActivityKind,
    Address,
    Campaign,
    CampaignMember,
    CampaignStatus,
    Consent,
    ConsentChanged,
    Contact,
    Customer,
    EmailAddress,
    GenericEvent,
    Lead,
    LeadConverted,
    LedgerEntryPosted,
    LoyaltyAccount,
    Money,
    Opportunity,
    Order,
    OrderLine,
    OrderStatus,
    PhoneNumber,
    Product,
    StageChanged,
    SurveyKind,
    SurveyResponse,
    Ticket,
    TicketChannel,
    TicketPriority,
)
from crmcore.loyalty import EarnRule, Program, Tier
from crmcore.pipeline import BusinessCalendar

E = TypeVar("E")

#: Zones the datetime strategies draw from (fixed offsets, half-hour, DST, +13:45).

TIMEZONES: tuple[dt.tzinfo, ...] = (
    dt.UTC,
    dt.timezone(dt.timedelta(hours=-3, minutes=-30)),
    dt.timezone(dt.timedelta(hours=5, minutes=45)),
    ZoneInfo("Europe/Paris"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Australia/Lord_Howe"),
    ZoneInfo("Pacific/Chatham"),
)
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK")

_MIN = dt.datetime(1995, 1, 1)  # noqa: DTZ001 - hypothesis bounds are naive by design
_MAX = dt.datetime(2045, 12, 31)  # noqa: DTZ001


def aware_datetimes(
    min_value: dt.datetime = _MIN, max_value: dt.datetime = _MAX
) -> st.SearchStrategy[dt.datetime]:
    """Timezone-aware datetimes with microseconds, in several zones, never imaginary."""
    return st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=st.sampled_from(TIMEZONES),
        allow_imaginary=False,
    )


def later_than(start: dt.datetime, *, max_days: int = 400) -> st.SearchStrategy[dt.datetime]:
    """Aware datetimes at or after ``start`` (same instant allowed), in any zone."""
    return st.builds(
        lambda delta, tz: (start + delta).astimezone(tz),
        st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=max_days)),
        st.sampled_from(TIMEZONES),
    )


def dates(
    min_value: dt.date = dt.date(1930, 1, 1), max_value: dt.date = dt.date(2045, 12, 31)
) -> st.SearchStrategy[dt.date]:
    """Calendar dates."""
    return st.dates(min_value=min_value, max_value=max_value)


_ID_CHARS = st.characters(
    categories=("L", "N", "Pd", "Pc"), include_characters="-_./:#", exclude_characters="\x00"
)


def ids() -> st.SearchStrategy[str | Any]:
    """Draw identifiers: ERP-style strings (unicode, punctuation) or UUIDs."""
    return st.one_of(
        st.text(_ID_CHARS, min_size=1, max_size=24).filter(
            lambda s: s.strip() != "" and not s.lower().startswith("urn:uuid:")
        ),
        st.uuids(),
    )


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``None`` or a value of ``strategy``."""
    return st.none() | strategy


def names(max_size: int = 30) -> st.SearchStrategy[str]:
    """Non-blank unicode names (letters of any script, marks, spaces, apostrophes)."""
    return st.text(
        st.characters(categories=("L", "M", "Nd", "Zs"), include_characters="'-.&"),
        min_size=1,
        max_size=max_size,
    ).filter(lambda s: s.strip() != "")


def labels() -> st.SearchStrategy[str]:
    """Short lower-case identifiers (stage names, channels, tiers)."""
    return st.text(string.ascii_lowercase + "_", min_size=1, max_size=12).filter(
        lambda s: s.strip("_") != ""
    )


def money(
    currency: str | None = None,
    *,
    min_value: Decimal | int = 0,
    max_value: Decimal | int = 10_000_000,
) -> st.SearchStrategy[Money]:
    """Money with exactly two decimal places (in ``currency`` or a random one)."""
    currencies = st.just(currency) if currency is not None else st.sampled_from(CURRENCIES)
    return st.builds(
        lambda amount, cur: Money(amount=amount, currency=cur),
        st.decimals(
            min_value=min_value,
            max_value=max_value,
            places=2,
            allow_nan=False,
            allow_infinity=False,
        ),
        currencies,
    )


_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)


def json_values() -> st.SearchStrategy[Any]:
    """JSON-compatible values, nested up to a few levels."""
    return st.recursive(
        _json_scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=8,
    )


def custom_fields() -> st.SearchStrategy[dict[str, Any]]:
    """Draw ``custom`` mappings: str keys to nested JSON values."""
    return st.dictionaries(st.text(max_size=8), json_values(), max_size=4)


def emails() -> st.SearchStrategy[EmailAddress]:
    """Draw valid, already-normalised e-mail addresses."""
    local = st.text(string.ascii_letters + string.digits + "_+-", min_size=1, max_size=12)
    label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
    tld = st.sampled_from(["com", "org", "de", "co.uk", "example", "xn--p1ai"])
    return st.builds(lambda lp, dom, t: EmailAddress(value=f"{lp}@{dom}.{t}"), local, label, tld)


def phones() -> st.SearchStrategy[PhoneNumber]:
    """Phone numbers: E.164 from a country table, international, or national-only."""
    digits = st.text(string.digits, min_size=5, max_size=9)
    with_country = st.builds(
        lambda c, first, d: PhoneNumber(number=f"0{first}{d}", country=c),
        st.sampled_from(["GB", "FR", "DE", "NL", "AU"]),
        st.sampled_from("123456789"),
        digits,
    )
    us = st.builds(
        lambda d: PhoneNumber(number=f"(415) {d[:3]}-{d[3:]}", country="US"),
        st.text(string.digits, min_size=7, max_size=7),
    )
    international = st.builds(
        lambda cc, d: PhoneNumber(number=f"+{cc} {d}"),
        st.sampled_from(["1", "33", "44", "81", "353", "972"]),
        st.text(string.digits, min_size=6, max_size=10),
    )
    national = st.builds(
        lambda first, d: PhoneNumber(number=first + d),
        st.sampled_from("123456789"),
        st.text(string.digits, min_size=2, max_size=11),
    )
    return st.one_of(with_country, us, international, national)


def addresses() -> st.SearchStrategy[Address]:
    """Postal addresses with unicode text and optional parts."""
    return st.builds(
        Address,
        country=st.sampled_from(["GB", "FR", "DE", "US", "JP", "BR", "IN"]),
        line1=optional(names(40)),
        line2=optional(names(20)),
        city=optional(names(20)),
        postal_code=optional(
            st.text(string.ascii_uppercase + string.digits + " -", min_size=1, max_size=10).filter(
                str.strip
            )
        ),
        region=optional(names(20)),
    )


def consents() -> st.SearchStrategy[Consent]:
    """Consents on a few channels, granted or withdrawn."""
    return st.builds(
        Consent,
        channel=st.sampled_from(["email", "sms", "phone", "post", "push"]),
        granted=st.booleans(),
        at=aware_datetimes(),
        source=optional(names(15)),
    )


def _entity(cls: type[E], draw: st.DrawFn, fields: dict[str, Any], overrides: dict[str, Any]) -> E:
    """Draw each field in order (a callable gets the fields drawn so far) and build."""
    kwargs: dict[str, Any] = {}
    for name, strategy in fields.items():
        chosen = overrides.get(name, strategy)
        kwargs[name] = draw(
            chosen(kwargs)
            if callable(chosen) and not isinstance(chosen, st.SearchStrategy)
            else chosen
        )
    return cls(**kwargs)


def _common() -> dict[str, Any]:
    return {"id": ids(), "version": st.integers(0, 1000), "custom": custom_fields()}


def _after(field: str) -> Any:
    return lambda kw: optional(later_than(kw[field]))


@st.composite
def customers(draw: st.DrawFn, /, **overrides: Any) -> Customer:
    """Draw customers with every optional field sometimes set."""
    fields = {
        **_common(),
        "name": names(),
        "created_at": aware_datetimes(),
        "email": optional(emails()),
        "phone": optional(phones()),
        "address": optional(addresses()),
        "account_id": optional(ids()),
        "birth_date": optional(dates(max_value=dt.date(2010, 1, 1))),
        "gender": optional(st.sampled_from(["female", "male", "non-binary", "x"])),
        "consents": st.lists(consents(), max_size=4),
        "tags": st.frozensets(labels(), max_size=3),
    }
    return _entity(Customer, draw, fields, overrides)


@st.composite
def accounts(draw: st.DrawFn, /, **overrides: Any) -> Account:
    """Company accounts."""
    fields = {
        **_common(),
        "name": names(),
        "created_at": aware_datetimes(),
        "industry": optional(names(20)),
        "website": optional(st.just("https://example.com")),
        "owner": optional(ids()),
        "parent_id": lambda kw: optional(ids().filter(lambda x: x != kw["id"])),
        "phone": optional(phones()),
        "address": optional(addresses()),
        "tags": st.frozensets(labels(), max_size=3),
    }
    return _entity(Account, draw, fields, overrides)


@st.composite
def contacts(draw: st.DrawFn, /, **overrides: Any) -> Contact:
    """Contacts at accounts, with consent histories."""
    fields = {
        **_common(),
        "account_id": ids(),
        "name": names(),
        "created_at": aware_datetimes(),
        "title": optional(names(20)),
        "email": optional(emails()),
        "phone": optional(phones()),
        "consents": st.lists(consents(), max_size=4),
    }
    return _entity(Contact, draw, fields, overrides)


@st.composite
def leads(draw: st.DrawFn, /, **overrides: Any) -> Lead:
    """Leads, some converted (``converted_at`` after ``created_at``)."""
    fields = {
        **_common(),
        "name": names(),
        "source": st.sampled_from(["web", "referral", "trade show", "partner", "cold call"]),
        "created_at": aware_datetimes(),
        "company": optional(names(20)),
        "email": optional(emails()),
        "phone": optional(phones()),
        "campaign_id": optional(ids()),
        "status": st.sampled_from(["new", "working", "nurturing", "qualified", "unqualified"]),
        "owner": optional(ids()),
        "score": optional(st.floats(0, 100)),
        "converted_at": _after("created_at"),
        "converted_account_id": optional(ids()),
        "converted_contact_id": optional(ids()),
        "converted_opportunity_id": optional(ids()),
    }
    return _entity(Lead, draw, fields, overrides)


@st.composite
def opportunities(draw: st.DrawFn, /, **overrides: Any) -> Opportunity:
    """Opportunities in random stages, some closed."""
    fields = {
        **_common(),
        "account_id": ids(),
        "name": names(),
        "amount": money(),
        "expected_close_date": dates(min_value=dt.date(1995, 1, 1)),
        "probability": st.floats(0, 100) | st.integers(0, 100).map(float),
        "created_at": aware_datetimes(),
        "stage": st.sampled_from(
            ["prospecting", "qualification", "proposal", "negotiation", "won", "lost"]
        ),
        "probability_is_manual": st.booleans(),
        "lost_reason": optional(names(20)),
        "last_open_stage": optional(st.sampled_from(["proposal", "negotiation"])),
        "closed_at": _after("created_at"),
        "owner": optional(ids()),
        "contact_id": optional(ids()),
        "campaign_id": optional(ids()),
    }
    return _entity(Opportunity, draw, fields, overrides)


@st.composite
def activities(draw: st.DrawFn, /, **overrides: Any) -> Activity:
    """Draw calls, meetings, e-mails and tasks linked to random records."""
    fields = {
        **_common(),
        "kind": st.sampled_from(ActivityKind),
        "subject": names(),
        "created_at": aware_datetimes(),
        "due_at": optional(aware_datetimes()),
        "completed_at": optional(aware_datetimes()),
        "owner": optional(ids()),
        "customer_id": optional(ids()),
        "account_id": optional(ids()),
        "contact_id": optional(ids()),
        "lead_id": optional(ids()),
        "opportunity_id": optional(ids()),
        "ticket_id": optional(ids()),
        "notes": optional(st.text(min_size=1, max_size=40).filter(str.strip)),
    }
    return _entity(Activity, draw, fields, overrides)


@st.composite
def tickets(draw: st.DrawFn, /, **overrides: Any) -> Ticket:
    """Tickets, with response and resolution after creation when set.

    ``category`` is sometimes set, and ``sub_category`` sometimes within it.
    """
    fields = {
        **_common(),
        "customer_id": ids(),
        "subject": names(),
        "channel": st.sampled_from(TicketChannel),
        "created_at": aware_datetimes(),
        "priority": st.sampled_from(TicketPriority),
        "status": st.sampled_from(["new", "open", "pending", "on_hold", "solved", "closed"]),
        "first_response_at": _after("created_at"),
        "resolved_at": _after("created_at"),
        "owner": optional(ids()),
        "contact_id": optional(ids()),
        "description": optional(st.text(min_size=1, max_size=40).filter(str.strip)),
        "category": optional(names()),
        # a sub-category only within a category
        "sub_category": lambda kw: st.none() if kw["category"] is None else optional(names()),
    }
    return _entity(Ticket, draw, fields, overrides)


def _end_date(kw: dict[str, Any]) -> st.SearchStrategy[dt.date | None]:
    start: dt.date = kw["start_date"]
    return optional(st.integers(0, 365).map(lambda days: start + dt.timedelta(days=days)))


@st.composite
def campaigns(draw: st.DrawFn, /, **overrides: Any) -> Campaign:
    """Campaigns with a budget in some currency."""
    fields = {
        **_common(),
        "name": names(),
        "channel": st.sampled_from(["email", "social", "search", "events", "print"]),
        "start_date": dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2044, 1, 1)),
        "end_date": _end_date,
        "budget": optional(money()),
        "status": st.sampled_from(CampaignStatus),
        "owner": optional(ids()),
        "audience": optional(st.sampled_from(["tier == 'gold'", "age >= 30 and spend > 100"])),
        "variants": st.lists(names(8), max_size=3, unique=True).map(tuple),
        "cost": optional(money()),
        "goal": optional(st.sampled_from(["conversion", "reactivation", "awareness"])),
    }
    return _entity(Campaign, draw, fields, overrides)


def _variant(kw: dict[str, Any]) -> st.SearchStrategy[str | None]:
    return st.none() if kw["control"] else optional(st.sampled_from(["A", "B", "long name"]))


@st.composite
def campaign_members(draw: st.DrawFn, /, **overrides: Any) -> CampaignMember:
    """Draw campaign members, in a variant or held out; the id derived, or given (ERP keys)."""
    common = _common()
    del common["id"]  # the default, derived from campaign and customer, or an ERP key
    fields = {
        **common,
        "campaign_id": ids(),
        "customer_id": ids(),
        "selected_at": aware_datetimes(),
        "control": st.booleans(),
        "variant": _variant,
    }
    member = _entity(CampaignMember, draw, fields, overrides)
    given = draw(overrides.get("id", optional(ids())))
    return member if given is None else attrs.evolve(member, id=given)


@st.composite
def orders(draw: st.DrawFn, /, **overrides: Any) -> Order:
    """Purchases (non-negative amounts with two decimals)."""
    fields = {
        **_common(),
        "customer_id": ids(),
        "placed_at": aware_datetimes(),
        "amount": money(),
        "status": st.sampled_from(OrderStatus),
        "campaign_id": optional(ids()),
        "channel": optional(st.sampled_from(["web", "store", "phone", "app"])),
    }
    return _entity(Order, draw, fields, overrides)


def _score(kw: dict[str, Any]) -> st.SearchStrategy[int]:
    low = 0 if kw["kind"] is SurveyKind.NPS else 1
    return st.integers(low, kw["scale"])


def _scale(kw: dict[str, Any]) -> st.SearchStrategy[int]:
    return st.just(10) if kw["kind"] is SurveyKind.NPS else st.integers(2, 10)


@st.composite
def survey_responses(draw: st.DrawFn, /, **overrides: Any) -> SurveyResponse:
    """NPS, CSAT and CES answers with scores valid for their scale."""
    fields = {
        **_common(),
        "customer_id": ids(),
        "kind": st.sampled_from(SurveyKind),
        "scale": _scale,
        "score": _score,
        "answered_at": aware_datetimes(),
        "comment": optional(st.text(min_size=1, max_size=40).filter(str.strip)),
        "ticket_id": optional(ids()),
    }
    return _entity(SurveyResponse, draw, fields, overrides)


@st.composite
def loyalty_accounts(draw: st.DrawFn, /, **overrides: Any) -> LoyaltyAccount:
    """Loyalty memberships, some closed."""
    fields = {
        **_common(),
        "customer_id": ids(),
        "program_id": st.sampled_from(["stars", "miles", "club"]),
        "opened_at": aware_datetimes(),
        "tier": optional(st.sampled_from(["bronze", "silver", "gold", "platinum"])),
        "closed_at": _after("opened_at"),
    }
    return _entity(LoyaltyAccount, draw, fields, overrides)


@st.composite
def products(draw: st.DrawFn, /, **overrides: Any) -> Product:
    """Catalogue items: a category path of up to three levels, some retired."""
    fields = {
        **_common(),
        "sku": names(20),
        "name": names(),
        "price": money(),
        "category": st.lists(names(12), max_size=3),
        "active": st.booleans(),
    }
    return _entity(Product, draw, fields, overrides)


def _discount(kw: dict[str, Any]) -> st.SearchStrategy[Money | None]:
    gross = kw["unit_price"] * kw["quantity"]
    return optional(money(kw["unit_price"].currency, max_value=gross.amount))


@st.composite
def order_lines(draw: st.DrawFn, /, **overrides: Any) -> OrderLine:
    """Order lines: quantities >= 1, a discount (if any) at most the line's value."""
    fields = {
        **_common(),
        "order_id": ids(),
        "product_id": ids(),
        "quantity": st.integers(1, 10_000),
        "unit_price": money(max_value=100_000),
        "discount": _discount,
    }
    return _entity(OrderLine, draw, fields, overrides)


#: One strategy per entity class, by class name.
ENTITY_STRATEGIES: dict[str, Any] = {
    "Customer": customers,
    "Account": accounts,
    "Contact": contacts,
    "Lead": leads,
    "Opportunity": opportunities,
    "Activity": activities,
    "Ticket": tickets,
    "Campaign": campaigns,
    "Order": orders,
    "SurveyResponse": survey_responses,
    "LoyaltyAccount": loyalty_accounts,
    "CampaignMember": campaign_members,
    "Product": products,
    "OrderLine": order_lines,
}


def entities() -> st.SearchStrategy[Any]:
    """Any entity of any class."""
    return st.one_of([make() for make in ENTITY_STRATEGIES.values()])


# -- loyalty: survey answers and points programmes


def nps_answers(min_size: int = 1, max_size: int = 200) -> st.SearchStrategy[list[int]]:
    """Draw lists of likelihood-to-recommend answers, whole numbers 0-10."""
    return st.lists(st.integers(0, 10), min_size=min_size, max_size=max_size)


@st.composite
def loyalty_programs(draw: st.DrawFn) -> Any:
    """Small points programmes: a base rule, optional tiers with a multiplier, expiry."""
    per_unit = draw(st.sampled_from([Decimal(1), Decimal("0.5"), Decimal(2)]))
    rules = [EarnRule(name="base", per_unit=per_unit, per_order=draw(st.integers(0, 5)))]
    tiers: list[Any] = []
    if draw(st.booleans()):
        window = draw(st.integers(1, 6))
        tiers = [
            Tier(name="member", points=0),
            Tier(name="gold", points=draw(st.integers(50, 800)), window=window),
        ]
        rules.append(EarnRule(name="gold bonus", multiplier=Decimal(2), tiers="gold"))
    return Program(
        earn_rules=cast("Any", rules),
        tiers=tiers,
        expiry=draw(st.one_of(st.none(), st.integers(1, 4))),
        review_every=draw(st.integers(1, 6)),
    )


# -- pipeline: business calendars and legal stage walks

_CLOCK = st.integers(0, 24 * 4 - 1)  # quarter hours


def _quarter(q: int) -> str:
    return f"{q // 4 % 24:02d}:{q % 4 * 15:02d}"


@st.composite
def business_calendars(draw: st.DrawFn) -> Any:
    """Draw business calendars.

    One or two shifts on some weekdays (overnight ones included), a few
    holidays in 2025-2027 and a time zone with or without DST.
    """

    def shift(start: int, length: int) -> tuple[str, str]:
        return _quarter(start), _quarter(start + length)

    spans = st.builds(shift, _CLOCK, st.integers(1, 24 * 4 - 1))
    hours = draw(
        st.dictionaries(st.integers(0, 6), st.lists(spans, min_size=1, max_size=2), min_size=1)
    )
    holidays = draw(st.lists(st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)), max_size=5))
    tz = draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]))
    return BusinessCalendar(hours, holidays, tz)


@st.composite
def stage_walks(
    draw: st.DrawFn, workflow: Any, entity_id: Any = "e1", *, max_moves: int = 8
) -> list[Any]:
    """Draw legal ``StageChanged`` histories of one entity through ``workflow``.

    Random moves from the workflow's initial stage (reasons given where a
    stage requires one), times increasing from 2026-01-05 by up to two days
    per move.
    """
    at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    stage = workflow.initial
    events: list[Any] = []
    for _ in range(draw(st.integers(0, max_moves))):
        targets = workflow.allowed_from(stage)
        if not targets:
            break
        nxt = draw(st.sampled_from(targets))
        at = at + dt.timedelta(seconds=draw(st.integers(0, 2 * 86400)))
        reason = "reason" if workflow.stage(nxt).requires_reason else None
        events.append(StageChanged(entity_id, stage, nxt, at, None, reason, workflow.name))
        stage = nxt
    return events


# -- purchase logs around a cut-off, for the time rule of docs/time.rst: nothing
# after ``as_of`` reaches a feature, nothing after ``as_of + horizon`` a label

_TIME_RULE_DAY = dt.datetime(2024, 3, 31)  # noqa: DTZ001 - naive wall clock on purpose


@st.composite
def cut_offs(draw: st.DrawFn) -> tuple[Any, Any]:
    """Draw an ``as_of`` as a user writes it, and the naive ``Timestamp`` instant it means.

    Dates (``datetime.date``, ``"YYYY-MM-DD"``, a daily ``Period``) mean the last
    nanosecond of their day; a ``Timestamp`` is itself, at any minute of the day.
    """
    day = pd.Timestamp(_TIME_RULE_DAY) + pd.Timedelta(days=draw(st.integers(-20, 20)))
    kind = draw(st.sampled_from(["date", "iso", "period", "instant"]))
    if kind == "instant":
        instant = day + pd.Timedelta(minutes=draw(st.integers(0, 24 * 60 - 1)))
        return instant, instant
    end = day + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    value = {
        "date": day.date(),
        "iso": day.strftime("%Y-%m-%d"),
        "period": pd.Period(day, freq="D"),
    }[kind]
    return value, end


@st.composite
def purchase_logs(
    draw: st.DrawFn,
    as_of: Any,
    horizon: Any,
    lookback: Any = None,
    *,
    customers: str = "abcdef",
    max_rows: int = 30,
) -> Any:
    """Draw logs (``customer_id``, ``date``, ``amount``) crowding the edges of the windows.

    Dates fall exactly on ``as_of``, ``as_of + horizon`` and ``as_of - lookback``,
    one nanosecond either side of them, or anywhere within two horizons of
    ``as_of``; at least one row is at or before ``as_of``.
    """
    edges = [as_of, as_of + horizon]
    if lookback is not None:
        edges.append(as_of - lookback)
    one = pd.Timedelta(1, "ns")
    near = st.sampled_from([e + k * one for e in edges for k in (-1, 0, 1)])
    span = int(2 * horizon / pd.Timedelta(minutes=1))
    anywhere = st.integers(-span, span).map(lambda m: as_of + pd.Timedelta(minutes=m))
    when = st.one_of(near, anywhere)
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from(customers), when, st.integers(1, 500)),
            min_size=1,
            max_size=max_rows,
        )
    )
    rows.append(
        (draw(st.sampled_from(customers)), as_of - draw(st.sampled_from([0 * one, horizon])), 7)
    )
    return pd.DataFrame(
        {
            "customer_id": [c for c, _, _ in rows],
            "date": pd.DatetimeIndex([t for _, t, _ in rows]).as_unit("ns"),
            "amount": [float(a) for _, _, a in rows],
        }
    )


_LOG_ZONES = (None, "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Chatham")


@st.composite
def transaction_logs(
    draw: st.DrawFn,
    *,
    customers: int = 8,
    min_rows: int = 1,
    max_rows: int = 60,
    start: dt.datetime = dt.datetime(2024, 1, 1),  # noqa: DTZ001 - a wall-clock start
    days: int = 365,
    tz: str | Any | None = ...,
) -> Any:
    """Draw purchase logs (``customer_id``, ``date``, ``amount``) as a user's export has them.

    Each log has ``min_rows`` to ``max_rows`` rows over ``customers`` customers
    (ids ``"c0"``, ``"c1"`` ...), dated within ``days`` days of ``start`` at
    whole seconds, in random row order. Logs include what real exports
    contain and what analytics most often get wrong: exact duplicate rows,
    several purchases by one customer on one day (often at the same
    minute), customers with a single purchase, and zero amounts (free
    orders); amounts have two decimals.

    Parameters
    ----------
    customers : int, default 8
        Size of the pool of customer ids.
    min_rows, max_rows : int
        Bounds on the number of rows (before duplicates are added, at most
        ``max_rows // 5`` more).
    start : datetime.datetime, default 2024-01-01
        Earliest wall-clock time of a purchase.
    days : int, default 365
        Length of the period drawn from.
    tz : str or None, optional
        The zone of the ``date`` column: ``None`` gives naive wall-clock
        dates; a name gives aware dates on that zone's wall clock (never an
        imaginary time in a daylight-saving gap). By default drawn from
        naive, UTC and five zones with daylight saving or odd offsets.

    Returns
    -------
    SearchStrategy of DataFrame
    """
    zone = draw(st.sampled_from(_LOG_ZONES)) if tz is ... else tz
    ids_ = st.integers(0, customers - 1).map(lambda k: f"c{k}")
    seconds = st.integers(0, days * 86_400 - 1)
    cents = st.one_of(st.just(0), st.integers(1, 50_000))
    rows = draw(st.lists(st.tuples(ids_, seconds, cents), min_size=min_rows, max_size=max_rows))
    extra: list[tuple[str, int, int]] = []
    for customer, second, amount in rows[: max_rows // 5]:
        kind = draw(st.sampled_from(["none", "duplicate", "same_day", "same_minute"]))
        if kind == "duplicate":
            extra.append((customer, second, amount))
        elif kind == "same_day":
            day = second - second % 86_400
            extra.append((customer, day + draw(st.integers(0, 86_399)), draw(cents)))
        elif kind == "same_minute":
            extra.append((customer, second - second % 60 + draw(st.integers(0, 59)), draw(cents)))
    rows = rows + extra
    order = draw(st.permutations(range(len(rows))))
    rows = [rows[k] for k in order]
    wall = pd.DatetimeIndex([pd.Timestamp(start) + pd.Timedelta(seconds=s) for _, s, _ in rows])
    dates = wall.as_unit("ns")
    if zone is not None:
        # a wall time in a DST gap is moved forward, one in a fold takes its first instant
        dates = dates.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return pd.DataFrame(
        {
            "customer_id": [c for c, _, _ in rows],
            "date": dates,
            "amount": [a / 100 for _, _, a in rows],
        }
    )


@st.composite
def changed_after(draw: st.DrawFn, log: Any, t: Any, *, customers: str = "abcdefg") -> Any:
    """Draw ``log`` changed after ``t`` only (for no-leak properties).

    Rows dated after ``t`` are removed, moved (still after ``t``) and
    re-valued, and new rows are added after ``t``; earlier rows are unchanged.
    """
    later = log["date"] > t
    keep = log[~later]
    after = log[later]
    survivors = after[draw(st.lists(st.booleans(), min_size=len(after), max_size=len(after)))]
    shift = st.integers(1, 90 * 24 * 60).map(lambda m: t + pd.Timedelta(minutes=m))
    moved = survivors.assign(
        date=pd.DatetimeIndex([draw(shift) for _ in range(len(survivors))]).as_unit("ns"),
        amount=[float(draw(st.integers(1, 900))) for _ in range(len(survivors))],
    )
    n_new = draw(st.integers(0, 5))
    added = pd.DataFrame(
        {
            "customer_id": pd.Series(
                [draw(st.sampled_from(customers)) for _ in range(n_new)],
                dtype=log["customer_id"].dtype,
            ),
            "date": pd.DatetimeIndex([draw(shift) for _ in range(n_new)]).as_unit("ns"),
            "amount": [float(draw(st.integers(1, 900))) for _ in range(n_new)],
        }
    )
    out = pd.concat([keep, moved, added], ignore_index=True)
    return out.sample(frac=1.0, random_state=draw(st.integers(0, 2**16)))


# -- domain events (crmcore.domain), as the event store keeps them

#: A small pool of entity ids, so that generated events share entities.
EVENT_ENTITIES: tuple[Any, ...] = ("c1", "c2", "s1", "Ünï/1", uuid.UUID(int=1))


@st.composite
def domain_events(draw: st.DrawFn) -> Any:
    """Events of every kind crmcore registers, plus generic ones, over EVENT_ENTITIES."""
    entity = st.sampled_from(EVENT_ENTITIES)
    at = draw(aware_datetimes())
    actor = draw(optional(names(12)))
    kind = draw(st.sampled_from(["stage", "conversion", "consent", "ledger", "generic"]))
    if kind == "stage":
        return StageChanged(
            draw(entity), draw(labels()), draw(labels()), at, actor,
            draw(optional(names(12))), draw(st.sampled_from(["lead", "ticket", "opportunity"])),
        )  # fmt: skip
    if kind == "conversion":
        return LeadConverted(
            draw(entity), draw(entity), draw(entity), draw(optional(entity)), at, actor
        )
    if kind == "consent":
        return ConsentChanged(
            draw(entity), draw(st.sampled_from(["email", "sms"])), draw(st.booleans()), at,
            draw(optional(names(12))), actor,
        )  # fmt: skip
    if kind == "ledger":
        return LedgerEntryPosted(
            draw(entity), draw(st.integers(0, 99)), draw(labels()),
            draw(st.sampled_from(["earn", "redeem", "clawback"])), at,
            draw(st.integers(-(2**40), 2**40)), draw(optional(labels())),
            draw(st.integers(0, 10**9)), draw(optional(later_than(at))), actor,
        )  # fmt: skip
    return GenericEvent(
        event_type=draw(st.sampled_from(["test.note_added", "future.kind_unknown"])),
        entity_type="customer",
        entity_id=draw(entity),
        at=at,
        actor=actor,
        payload=draw(custom_fields()),
        related_ids=draw(st.lists(entity, max_size=2)),
    )
