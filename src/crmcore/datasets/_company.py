"""The sample company: generation (:func:`make_company`) and storage (:func:`write_company`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from pandas.arrays import ArrowStringArray

from crmcore._time import require_aware
from crmcore._types import RandomState
from crmcore._validation import check_random_state, check_scalar
from crmcore.datasets._baskets import make_baskets, make_catalogue
from crmcore.datasets._customers import make_customers, make_orders, make_surveys
from crmcore.datasets._marketing import engagement_table, make_campaigns
from crmcore.datasets._text import digits, joined, numbered, text_array
from crmcore.datasets._workflows import make_sales, make_service
from crmcore.domain import (
    Account,
    Address,
    Campaign,
    Consent,
    Contact,
    DomainEvent,
    EngagementEvent,
    Lead,
    Opportunity,
    Ticket,
    campaign_member_id,
)
from crmcore.domain._campaign_member import MEMBER_NAMESPACE as _MEMBER_NAMESPACE
from crmcore.loyalty import ledger_balances
from crmcore.storage import Store

__all__ = ["DEFAULT_AS_OF", "LOYALTY_PROGRAM", "SampleCompany", "make_company", "write_company"]

#: The default end of the sample company's history (a fixed date: nothing reads the clock).
DEFAULT_AS_OF = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
#: Programme id of the sample company's loyalty accounts.
LOYALTY_PROGRAM = "demo-rewards"
_TIERS = (("bronze", 0), ("silver", 150), ("gold", 400))

#: ``progress(table, n_rows)``; may return ``advance(k)``, called as rows are written.
Progress = Callable[[str, int], "Callable[[int], object] | None"]


@attrs.frozen
class SampleCompany:
    """A synthetic company: frames for the large tables, entities for the workflow ones.

    Attributes
    ----------
    as_of : datetime.datetime
        End of the observed history (timezone-aware, UTC).
    customers : DataFrame
        ``id, name, email, created_at, birth_date, country, city, email_opt_in,
        sms_opt_in, email_withdrawn_at``.
    orders : DataFrame
        ``id, customer_id, placed_at, amount`` (UTC, in ``currency``): the
        fields of :class:`~crmcore.domain.Order`. :attr:`transactions` is the
        same log with the analytics' column names.
    surveys : DataFrame
        NPS and CSAT answers: ``id, customer_id, kind, score, answered_at, ticket_id``.
    loyalty_accounts : DataFrame
        ``id, customer_id, opened_at, tier, points_balance, points_earned``.
    leads, accounts, contacts, opportunities, tickets : list
        Entities moved through the default workflows, in their last stage.
    currency : str
        ISO 4217 code of every amount.
    events : tuple of DomainEvent
        Their history, oldest first: the :class:`~crmcore.domain.StageChanged`
        and :class:`~crmcore.domain.LeadConverted` events that
        :func:`~crmcore.pipeline.advance` and
        :func:`~crmcore.pipeline.convert_lead` returned for every move.
        :func:`write_company` appends them to the store's event log.
    campaigns : list of Campaign
        E-mail and SMS campaigns of the last year (audience rule, variants,
        cost, goal).
    campaign_members : DataFrame
        ``customer_id, campaign_id, variant, control, selected_at``: each
        campaign's audience, chosen with consent at its send time, with a
        control group.
    engagement : DataFrame
        The campaigns' engagement (sends, deliveries, bounces, opens with
        their ``user_agent``, clicks, unsubscribes), the frame of
        :func:`crmcore.marketing.engagement_frame`.
    products : DataFrame
        The catalogue: ``id, sku, name, category`` (a path tuple), ``price``
        (list price in ``currency``), ``active``, and what the generator
        used: ``consumable``, ``cycle_days``, ``popularity`` (Zipf weight),
        ``complement`` (position of the product's complement).
    order_lines : DataFrame
        ``id, order_id, product_id, quantity, unit_price, discount``: every
        order's lines, whose totals add up to its amount exactly.
        :attr:`purchase_lines` adds each line's buyer and time.
    """

    as_of: dt.datetime
    customers: pd.DataFrame
    orders: pd.DataFrame
    surveys: pd.DataFrame
    loyalty_accounts: pd.DataFrame
    leads: list[Lead]
    accounts: list[Account]
    contacts: list[Contact]
    opportunities: list[Opportunity]
    tickets: list[Ticket]
    currency: str = "EUR"
    events: tuple[DomainEvent, ...] = ()
    campaigns: list[Campaign] = attrs.field(factory=list)
    campaign_members: pd.DataFrame = attrs.field(factory=pd.DataFrame)
    engagement: pd.DataFrame = attrs.field(factory=pd.DataFrame)
    products: pd.DataFrame = attrs.field(factory=pd.DataFrame)
    order_lines: pd.DataFrame = attrs.field(factory=pd.DataFrame)

    @property
    def purchase_lines(self) -> pd.DataFrame:
        """Every order line with its buyer and time, as :func:`~crmcore.storage.order_lines_frame`.

        Columns ``order_id, line_id, customer_id, product_id, date`` (UTC),
        ``quantity, unit_price, discount, amount`` (the line's total) and
        ``currency``, sorted by date, order and line: what a store holding
        the company returns, without the store.

        Examples
        --------
        >>> from crmcore.datasets import make_company
        >>> lines = make_company(50, random_state=1).purchase_lines
        >>> lines.columns.tolist()[:5]
        ['order_id', 'line_id', 'customer_id', 'product_id', 'date']
        """
        orders = self.orders[["id", "customer_id", "placed_at"]].rename(
            columns={"id": "order_id", "placed_at": "date"}
        )
        lines = self.order_lines.rename(columns={"id": "line_id"}).merge(orders, on="order_id")
        lines["amount"] = np.round(lines["quantity"] * lines["unit_price"] - lines["discount"], 2)
        lines["currency"] = self.currency
        lines = lines.sort_values(["date", "order_id", "line_id"], kind="stable")
        columns = [
            "order_id", "line_id", "customer_id", "product_id", "date", "quantity",
            "unit_price", "discount", "amount", "currency",
        ]  # fmt: skip
        return lines[columns].reset_index(drop=True)

    @property
    def transactions(self) -> pd.DataFrame:
        """The orders as a transaction log: ``customer_id``, ``date`` (UTC), ``amount``.

        The column names every crmcore function takes by default
        (``customer_col``, ``date_col``, ``value_col``), so the log goes
        straight into :func:`crmcore.clv.rfm_summary`,
        :func:`crmcore.churn.churn_labels` or :func:`crmcore.report.analyse`.

        Examples
        --------
        >>> from crmcore.datasets import make_company
        >>> make_company(50, random_state=1).transactions.columns.tolist()
        ['customer_id', 'date', 'amount']
        """
        columns = {"customer_id": "customer_id", "placed_at": "date", "amount": "amount"}
        return self.orders[list(columns)].rename(columns=columns)


def make_company(
    n_customers: int = 5000,
    *,
    as_of: dt.datetime = DEFAULT_AS_OF,
    years: float = 2.5,
    currency: str = "EUR",
    n_campaigns: int = 8,
    n_products: int | None = None,
    random_state: RandomState = None,
) -> SampleCompany:
    """Generate a reproducible synthetic company.

    Customers (demographics, e-mail and SMS consent with withdrawals) buy
    following the BG/NBD model with Gamma-Gamma spend (see
    :data:`~crmcore.datasets.BTYD_PARAMS`) and a seasonal calendar (busy
    Decembers, busier weekends); about one in five answers an NPS survey
    (NPS improving over time); a third join a points programme with tiers;
    B2B leads and opportunities move through the default lead and
    opportunity workflows, support tickets through the ticket workflow
    (CSAT answers follow resolved tickets, lower when resolution was slow);
    e-mail and SMS campaigns of the last year select their audience with
    consent and a control group, and their members engage (sends, bounces,
    opens, privacy-proxy opens, clicks, unsubscribes; recent buyers engage
    more).  The campaigns cause no purchases: their incremental revenue is
    zero up to noise.  Every order is filled with lines from a catalogue,
    adding up to its amount, with a popularity long tail (Zipf weights),
    complementary items bought together and staple consumables rebought on
    personal cycles (see :attr:`SampleCompany.order_lines`).

    Parameters
    ----------
    n_customers : int, default 5000
        Number of customers (each makes at least one purchase).
    as_of : datetime.datetime, default 2026-07-01 UTC
        End of the history (timezone-aware).
    years : float, default 2.5
        Length of the history (at least 1).
    currency : str, default "EUR"
        Currency of every amount.
    n_campaigns : int, default 8
        Campaigns over the last year (0: none).
    n_products : int, optional
        Size of the catalogue (at least 12, one per category); default
        ``n_customers // 25`` within 60..2000.
    random_state : int, Generator or None
        Seed: the same seed gives the same company.

    Returns
    -------
    SampleCompany

    Examples
    --------
    >>> from crmcore.datasets import make_company
    >>> company = make_company(200, random_state=7)
    >>> len(company.customers), company.orders["customer_id"].nunique()
    (200, 200)
    >>> bool(company.orders["placed_at"].max() <= company.as_of)
    True
    """
    check_scalar(n_customers, name="n_customers", low=1, integer=True)
    check_scalar(years, name="years", low=1.0, high=50.0)
    check_scalar(n_campaigns, name="n_campaigns", low=0, high=100, integer=True)
    if n_products is None:
        n_products = int(min(max(n_customers // 25, 60), 2000))
    check_scalar(n_products, name="n_products", low=12, high=1_000_000, integer=True)
    require_aware(as_of, field="as_of")
    rng = check_random_state(random_state)
    end = pd.Timestamp(as_of).tz_convert("UTC")
    days = float(np.floor(years * 365.25))
    start = (end - pd.Timedelta(days=days)).floor("D")
    days = (end - start).total_seconds() / 86400.0

    orders = make_orders(n_customers, start=start, days=days, rng=rng)
    by_customer = orders.groupby("customer", sort=True)["placed_at"].min()
    first_purchase = by_customer.dt.tz_convert(None).to_numpy()
    customers = make_customers(n_customers, first_purchase, as_of=end, rng=rng)
    ids = customers["id"].to_numpy()
    orders.insert(0, "id", pd.Series(numbered("R", np.arange(len(orders)), 9), index=orders.index))
    orders.insert(1, "customer_id", ids[orders.pop("customer").to_numpy()])
    surveys = make_surveys(ids, first_purchase, as_of=end, rng=rng)
    surveys.insert(
        0, "id", pd.Series(numbered("S", np.arange(len(surveys)), 8), index=surveys.index)
    )

    n_leads = int(min(max(n_customers // 20, 30), 20_000))
    n_tickets = int(min(max(n_customers // 10, 50), 40_000))
    events: list[DomainEvent] = []
    leads, accounts, contacts, opps = make_sales(
        n_leads, start=start, as_of=end, currency=currency, rng=rng, events=events
    )
    tickets, csat = make_service(n_tickets, ids, first_purchase, as_of=end, rng=rng, events=events)
    csat_frame = pd.DataFrame(
        {
            "id": [s.id for s in csat],
            "customer_id": [s.customer_id for s in csat],
            "kind": "csat",
            "score": np.array([s.score for s in csat], dtype=np.int64),
            "answered_at": pd.to_datetime([s.answered_at for s in csat], utc=True),
            "ticket_id": [s.ticket_id for s in csat],
        }
    )
    surveys = pd.concat([surveys, csat_frame], ignore_index=True)
    surveys["answered_at"] = pd.to_datetime(surveys["answered_at"], utc=True)
    loyalty = _loyalty(customers, orders, end, rng)
    # drawn last, so the rest of the company is the same whatever n_campaigns is
    campaigns, members, engagement = make_campaigns(
        customers, orders, n_campaigns=int(n_campaigns), as_of=end, currency=currency, rng=rng
    )
    # the catalogue and baskets last: the rest of the company is the same as without them
    products = make_catalogue(int(n_products), currency=currency, rng=rng)
    lines = make_baskets(orders, products, rng=rng)
    return SampleCompany(
        as_of=end.to_pydatetime(),
        customers=customers,
        orders=orders,
        surveys=surveys,
        loyalty_accounts=loyalty,
        leads=leads,
        accounts=accounts,
        contacts=contacts,
        opportunities=opps,
        tickets=tickets,
        currency=currency,
        events=tuple(sorted(events, key=_event_time)),  # stable: a walk's moves stay in order
        campaigns=campaigns,
        campaign_members=members,
        engagement=engagement,
        products=products,
        order_lines=lines,
    )


def _event_time(event: DomainEvent) -> dt.datetime:
    return event.at


def _loyalty(
    customers: pd.DataFrame, orders: pd.DataFrame, as_of: pd.Timestamp, rng: np.random.Generator
) -> pd.DataFrame:
    """Enrol a third of customers; one point per currency unit; tiers on 12-month points."""
    join = rng.random(len(customers)) < 0.33
    members = customers.loc[join, ["id", "created_at"]].rename(columns={"id": "customer_id"})
    members["opened_at"] = (
        members.pop("created_at") + pd.to_timedelta(rng.uniform(0, 30, len(members)), unit="D")
    ).dt.floor("s")
    members["opened_at"] = members["opened_at"].where(members["opened_at"] <= as_of, as_of)
    members["id"] = text_array(joined("M", members["customer_id"]))
    enrolled = members[["customer_id", "id", "opened_at"]].rename(columns={"id": "account_id"})
    merged = orders[["customer_id", "placed_at", "amount"]].merge(enrolled, on="customer_id")
    earned = merged[merged["placed_at"] >= merged["opened_at"]].sort_values(
        ["account_id", "placed_at"], kind="stable"
    )
    entries = pd.DataFrame(
        {
            "account_id": earned["account_id"].to_numpy(),
            "sequence": earned.groupby("account_id").cumcount().to_numpy(),
            "kind": "earn",
            "at": earned["placed_at"].to_numpy(),
            "points": np.floor(earned["amount"].to_numpy()).astype(np.int64),
        }
    )
    entries = entries[entries["points"] > 0]
    entries["at"] = pd.to_datetime(entries["at"], utc=True)
    balances = ledger_balances(entries, as_of=as_of.to_pydatetime())
    recent = entries[entries["at"] > as_of - pd.Timedelta(days=365)]
    year_points = recent.groupby("account_id")["points"].sum()
    out = members.set_index("id")
    out["points_balance"] = balances["balance"].reindex(out.index).fillna(0).astype(np.int64)
    out["points_earned"] = balances["earned"].reindex(out.index).fillna(0).astype(np.int64)
    points = year_points.reindex(out.index).fillna(0).to_numpy()
    thresholds = np.array([t for _, t in _TIERS])
    names = np.array([n for n, _ in _TIERS], dtype=object)
    out["tier"] = names[np.searchsorted(thresholds, points, side="right") - 1]
    return out.reset_index()[
        ["id", "customer_id", "opened_at", "tier", "points_balance", "points_earned"]
    ]


def _utc(values: pd.Series) -> list[Any]:
    """Python datetimes (UTC) or None, vectorised."""
    stamps = pd.to_datetime(values, utc=True)
    out: list[Any] = list(stamps.dt.to_pydatetime())
    return [None if pd.isna(v) else v for v in out]


def _customer_frame(company: SampleCompany) -> pd.DataFrame:
    """Return the customers as ``store.customers.add_frame`` takes them."""
    frame = company.customers
    created = _utc(frame["created_at"])
    withdrawn = _utc(frame["email_withdrawn_at"])
    consents = [
        _consents(made, gone, bool(email_in), bool(sms_in))
        for made, gone, email_in, sms_in in zip(
            created, withdrawn, frame["email_opt_in"], frame["sms_opt_in"], strict=True
        )
    ]
    # one Address per distinct place, shared by its customers (add_frame encodes it once)
    places, firsts = pd.factorize(pd.MultiIndex.from_arrays([frame["country"], frame["city"]]))
    shared = [Address(country=country, city=city) for country, city in firsts]
    addresses = [shared[code] for code in places.tolist()]
    return pd.DataFrame(
        {
            "id": frame["id"],
            "name": frame["name"],
            "email": frame["email"],
            "created_at": frame["created_at"],
            "birth_date": pd.Series(
                [d.date() for d in pd.to_datetime(frame["birth_date"]).dt.to_pydatetime()],
                index=frame.index,
                dtype=object,
            ),
            "address": pd.Series(addresses, index=frame.index, dtype=object),
            "consents": pd.Series(consents, index=frame.index, dtype=object),
        }
    )


def _consents(
    made: dt.datetime, gone: dt.datetime | None, email_in: bool, sms_in: bool
) -> tuple[Consent, ...]:
    consents = []
    if email_in:
        consents.append(Consent(channel="email", granted=True, at=made, source="signup"))
        if gone is not None:
            consents.append(Consent(channel="email", granted=False, at=gone, source="link"))
    if sms_in:
        consents.append(Consent(channel="sms", granted=True, at=made, source="signup"))
    return tuple(consents)


def _order_frame(company: SampleCompany) -> pd.DataFrame:
    """Return the orders as ``store.orders.add_frame`` takes them (amounts as exact text)."""
    frame = company.orders
    return pd.DataFrame(
        {
            "id": frame["id"].array,
            "customer_id": frame["customer_id"].array,
            "placed_at": frame["placed_at"].array,  # aware: no Timestamp objects per row
            "amount": _cents_text(frame["amount"].to_numpy()),
            "amount_currency": company.currency,
        }
    )


def _cents_text(values: np.ndarray) -> Any:
    """Amounts as exact text with two decimals (``"12.30"``), from their float values."""
    cents = np.round(np.asarray(values, dtype=np.float64) * 100).astype(np.int64)
    return text_array(joined(digits(cents // 100), digits(cents % 100, 2), sep="."))


def _product_frame(company: SampleCompany) -> pd.DataFrame:
    """Return the catalogue as ``store.products.add_frame`` takes it (prices as exact text)."""
    frame = company.products
    return pd.DataFrame(
        {
            "id": frame["id"],
            "sku": frame["sku"],
            "name": frame["name"],
            "category": frame["category"],
            "price": _cents_text(frame["price"].to_numpy()),
            "price_currency": company.currency,
            "active": frame["active"].astype(bool),
        }
    )


def _order_line_frame(company: SampleCompany) -> pd.DataFrame:
    """Return the order lines as ``store.order_lines.add_frame`` takes them.

    Prices and discounts as exact text; a line without a discount has none
    (``None``, not a zero amount), as the entities written before.
    """
    frame = company.order_lines
    discount = frame["discount"].to_numpy()
    has = np.round(discount * 100).astype(np.int64) != 0
    text = pd.Series(_cents_text(discount), index=frame.index).where(has, None)
    currency = pd.Series(company.currency, index=frame.index, dtype="str").where(has, None)
    return pd.DataFrame(
        {
            "id": frame["id"],
            "order_id": frame["order_id"],
            "product_id": frame["product_id"],
            "quantity": frame["quantity"].astype(np.int64),
            "unit_price": _cents_text(frame["unit_price"].to_numpy()),
            "unit_price_currency": company.currency,
            "discount": text.array,
            "discount_currency": currency.array,
        },
        index=frame.index,
    )


def _survey_frame(company: SampleCompany) -> pd.DataFrame:
    frame = company.surveys
    return frame[["id", "customer_id", "kind", "score", "answered_at", "ticket_id"]]


def _loyalty_frame(company: SampleCompany) -> pd.DataFrame:
    frame = company.loyalty_accounts
    custom = [
        {"points_balance": int(balance), "points_earned": int(earned)}
        for balance, earned in zip(frame["points_balance"], frame["points_earned"], strict=True)
    ]
    return pd.DataFrame(
        {
            "id": frame["id"],
            "customer_id": frame["customer_id"],
            "program_id": LOYALTY_PROGRAM,
            "opened_at": frame["opened_at"],
            "tier": frame["tier"],
            "custom": pd.Series(custom, index=frame.index, dtype=object),
        }
    )


def _member_frame(company: SampleCompany) -> pd.DataFrame:
    frame = company.campaign_members
    return pd.DataFrame(
        {
            "id": pd.Series(
                member_ids(frame["campaign_id"], frame["customer_id"]), index=frame.index
            ),
            "campaign_id": frame["campaign_id"].astype("str"),
            "customer_id": frame["customer_id"],
            "selected_at": frame["selected_at"],
            "variant": frame["variant"],
            "control": frame["control"],
        }
    )


def member_ids(campaign_ids: pd.Series, customer_ids: pd.Series) -> ArrowStringArray:
    """:func:`~crmcore.domain.campaign_member_id` of each pair, as text, without a UUID per row.

    The same name-based UUIDs (version 5: SHA-1 of the namespace and the
    pair's JSON text): when every id is plain (printable ASCII without
    quotes or backslashes, not blank, not a ``urn:uuid:``), the JSON text is
    built with Arrow and only the hash runs per row; otherwise each pair
    goes through :func:`~crmcore.domain.campaign_member_id`.
    """
    texts = all(
        pd.api.types.infer_dtype(s, skipna=False) == "string" for s in (campaign_ids, customer_ids)
    )
    campaigns = pc.cast(pa.array(campaign_ids.astype("str").array), pa.string())
    customers = pc.cast(pa.array(customer_ids.astype("str").array), pa.string())
    if not (texts and _plain(campaigns) and _plain(customers)):  # UUIDs, odd text: per pair
        return text_array(
            pa.array(
                [
                    str(campaign_member_id(campaign, who))
                    for campaign, who in zip(campaign_ids, customer_ids, strict=True)
                ],
                type=pa.string(),
            )
        )
    # json.dumps([campaign, customer]) of plain text: no escapes
    names = pc.cast(joined('["', campaigns, '", "', customers, '"]'), pa.binary()).to_pylist()
    space = _MEMBER_NAMESPACE.bytes
    sha1 = hashlib.sha1
    digests = b"".join([sha1(space + name).digest()[:16] for name in names])
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50  # version 5 (RFC 9562, section 5.5)
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # the RFC's variant
    hexes = pa.array(np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype="S32"))
    hexes = pc.cast(hexes, pa.string())
    groups = [pc.utf8_slice_codeunits(hexes, a, b) for a, b in _UUID_GROUPS]
    return text_array(pc.binary_join_element_wise(*groups, "-"))


_UUID_GROUPS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))


def _plain(ids: pa.Array) -> bool:
    """Ids whose JSON text is themselves in quotes and that the domain keeps as they are."""
    if ids.null_count:
        return False
    good = pc.and_(
        pc.and_(pc.string_is_ascii(ids), pc.match_substring_regex(ids, "[^ ]")),
        pc.invert(
            pc.or_(
                pc.match_substring_regex(ids, r'["\\\x00-\x1f]'),
                pc.starts_with(pc.ascii_lower(ids), "urn:uuid:"),
            )
        ),
    )
    return bool(pc.all(good).as_py()) if len(ids) else True


def _add_frame(store: Store, name: str, frame: pd.DataFrame, batch_size: int, advance: Any) -> int:
    """``add_frame`` a whole table in one unit of work, a batch at a time (progress bar)."""
    if advance is None:
        return int(getattr(store, name).add_frame(frame, batch_size=batch_size))
    total = 0
    with store.unit_of_work() as uow:
        repo = uow.repository(name)
        for start in range(0, len(frame), batch_size):
            part = frame.iloc[start : start + batch_size]
            total += int(repo.add_frame(part, batch_size=batch_size))
            advance(len(part))
        uow.commit()
    return total


def write_company(
    company: SampleCompany,
    store: Store,
    *,
    batch_size: int = 20_000,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write every record of ``company`` into ``store`` (``add_many``, streamed in batches).

    The entities go to their repositories; :attr:`SampleCompany.events`
    (every stage move and lead conversion) are appended to ``store.events``,
    oldest first, so ``store.events.stage_history(workflow="opportunity")``
    is the pipeline's history.

    Parameters
    ----------
    company : SampleCompany
    store : InMemoryStore or SqlStore
        With its schema created (``store.create_schema()`` for SQL).
    batch_size : int, default 20000
        Rows per insert batch.
    progress : callable, optional
        Called as ``progress(table, n_rows)`` before each table is written; if
        it returns a callable, that is called with the number of rows handed
        to the store since its last call (every ``batch_size`` rows and at
        the end of the table), for a progress bar.

    Returns
    -------
    dict
        Rows written per repository, ``"events"``: the stage-history events
        appended, and ``"engagement_events"``: the campaigns' engagement
        appended to ``store.events``.

    Examples
    --------
    >>> from crmcore.datasets import make_company, write_company
    >>> from crmcore.storage import SqlStore
    >>> store = SqlStore("sqlite://")
    >>> store.create_schema()
    >>> counts = write_company(make_company(50, random_state=1), store)
    >>> counts["customers"], store.customers.count()
    (50, 50)
    """
    check_scalar(batch_size, name="batch_size", low=1, integer=True)
    frames: dict[str, Callable[[], pd.DataFrame]] = {  # whole tables: add_frame
        "customers": lambda: _customer_frame(company),
        "orders": lambda: _order_frame(company),
        "survey_responses": lambda: _survey_frame(company),
        "loyalty_accounts": lambda: _loyalty_frame(company),
        "campaign_members": lambda: _member_frame(company),
        "products": lambda: _product_frame(company),
        "order_lines": lambda: _order_line_frame(company),
    }
    plan: list[tuple[str, int, Callable[[], Any]]] = [
        ("customers", len(company.customers), frames["customers"]),
        ("orders", len(company.orders), frames["orders"]),
        ("products", len(company.products), frames["products"]),
        ("order_lines", len(company.order_lines), frames["order_lines"]),
        ("accounts", len(company.accounts), lambda: iter(company.accounts)),
        ("contacts", len(company.contacts), lambda: iter(company.contacts)),
        ("leads", len(company.leads), lambda: iter(company.leads)),
        ("opportunities", len(company.opportunities), lambda: iter(company.opportunities)),
        ("tickets", len(company.tickets), lambda: iter(company.tickets)),
        ("survey_responses", len(company.surveys), frames["survey_responses"]),
        ("loyalty_accounts", len(company.loyalty_accounts), frames["loyalty_accounts"]),
        ("campaigns", len(company.campaigns), lambda: iter(company.campaigns)),
        ("campaign_members", len(company.campaign_members), frames["campaign_members"]),
        (
            "engagement_events",
            len(company.engagement),
            lambda: engagement_table(company.engagement),
        ),
        ("events", len(company.events), lambda: iter(company.events)),
    ]
    counts: dict[str, int] = {}
    for name, n_rows, rows in plan:
        advance = progress(name, n_rows) if progress is not None else None
        if not n_rows:
            counts[name] = 0
            continue
        if name in frames:  # a whole table, validated column by column
            counts[name] = _add_frame(store, name, rows(), batch_size, advance)
            continue
        if name == "engagement_events":  # a whole table of events, appended column-wise
            appended = store.events.append_frame(
                rows(), type=EngagementEvent, batch_size=batch_size
            )
            counts[name] = int(appended)
            if advance is not None:
                advance(appended)
            continue
        entities = rows() if advance is None else _counted(rows(), advance, batch_size)
        if name in ("events", "engagement_events"):  # appended to the event log
            counts[name] = int(store.events.append_many(entities, batch_size=batch_size))
        else:
            counts[name] = int(getattr(store, name).add_many(entities, batch_size=batch_size))
    return counts


def _counted(rows: Iterator[Any], advance: Callable[[int], object], every: int) -> Iterator[Any]:
    """Pass ``rows`` through, reporting their number every ``every`` rows and at the end."""
    pending = 0
    for row in rows:
        yield row
        pending += 1
        if pending == every:
            advance(pending)
            pending = 0
    if pending:
        advance(pending)
