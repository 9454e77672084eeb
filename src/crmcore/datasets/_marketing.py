"""The sample company's campaigns: audiences with consent and control groups, engagement.

Campaigns are spread over the last year of the history, e-mail and SMS in
turn.  Each audience is chosen by :func:`crmcore.marketing.select_audience`
at the campaign's send time from the customers' consent history (so a
customer who withdrew e-mail consent, or had not signed up yet, is never
sent to), with a stable 10 % control group and two variants on e-mail.
Treated members are sent one message and then engage: a few messages
bounce; customers who bought in the past year open and click more (the
signal ``engagement_features`` picks up); about one customer in twenty
reads mail through a privacy proxy that opens every message seconds after
delivery (what ``campaign_kpis``' machine-open rule excludes); a few
unsubscribe.  The campaigns have no causal effect on purchases: the
treatment and control groups buy alike, so incremental revenue is zero up
to noise (:func:`crmcore.marketing.simulate_engagement` has known effects).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from crmcore.datasets._text import numbered
from crmcore.domain import Campaign, CampaignMember, EngagementEvent, FrozenMapping, Money
from crmcore.marketing import select_audience
from crmcore.marketing._frame import CHANNELS, TYPES

__all__ = [
    "PROXY_AGENT",
    "campaign_members",
    "engagement_events",
    "engagement_table",
    "make_campaigns",
]

#: The user agent of the privacy proxy's machine opens.
PROXY_AGENT = "MailPrivacyProxy/1.0"
_BROWSER = "Mozilla/5.0"
_CHANNELS = ("email", "email", "sms")
# fixed cost and cost per message sent, in the company's currency
_COST = {"email": (150.0, 0.004), "sms": (40.0, 0.06)}
_SECOND = 1_000_000_000


def _consents(customers: pd.DataFrame) -> pd.DataFrame:
    """Return the consent log of the customers (as :func:`crmcore.marketing.consent_log` gives)."""
    ids = customers["id"]
    created = customers["created_at"]
    parts = [
        ("email", True, customers["email_opt_in"], created),
        ("email", False, customers["email_withdrawn_at"].notna(), customers["email_withdrawn_at"]),
        ("sms", True, customers["sms_opt_in"], created),
    ]
    frames = [
        pd.DataFrame(
            {
                "customer_id": ids[mask].to_numpy(),
                "channel": channel,
                "granted": granted,
                "date": when[mask].to_numpy(),
            }
        )
        for channel, granted, mask, when in parts
    ]
    return pd.concat(frames, ignore_index=True)


def _propensity(customers: pd.DataFrame, orders: pd.DataFrame, as_of: pd.Timestamp) -> Any:
    """Chance to open (e-mail) per customer: higher for those who bought in the past year."""
    recent = orders.loc[orders["placed_at"] > as_of - pd.Timedelta(days=365), "customer_id"]
    counts = recent.value_counts().reindex(customers["id"]).fillna(0).to_numpy()
    return 0.06 + 0.44 * (1.0 - np.exp(-counts / 3.0))


def make_campaigns(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    n_campaigns: int,
    as_of: pd.Timestamp,
    currency: str,
    rng: np.random.Generator,
) -> tuple[list[Campaign], pd.DataFrame, pd.DataFrame]:
    """Generate the campaigns, their members and the engagement (see the module notes).

    Returns
    -------
    campaigns : list of Campaign
    members : DataFrame
        ``campaign_id``, ``customer_id``, ``variant``, ``control``,
        ``selected_at`` (as :func:`~crmcore.marketing.select_audience` gives).
    engagement : DataFrame
        The engagement frame (:func:`~crmcore.marketing.engagement_frame`'s
        columns, with ``user_agent``), in time order, ids ``E000000001``...
    """
    consents = _consents(customers)
    # each campaign reads its channel's part of the log (the same consent in force)
    logs = {
        name: consents[(consents["channel"] == name).to_numpy(dtype=bool)]
        for name in dict.fromkeys(_CHANNELS)
    }
    profiles = customers[["id", "country"]].rename(columns={"id": "customer_id"})
    propensity = _propensity(customers, orders, as_of)
    proxy = rng.random(len(customers)) < 0.05
    position = pd.Index(customers["id"])
    first = as_of.floor("D") - pd.Timedelta(days=365)
    step = pd.Timedelta(days=335) / max(n_campaigns, 1)
    campaigns: list[Campaign] = []
    members: list[pd.DataFrame] = []
    events: list[dict[str, Any]] = []
    for i in range(n_campaigns):
        cid = f"K{i + 1:03d}"
        channel = _CHANNELS[i % len(_CHANNELS)]
        send = (first + i * step).floor("D") + pd.Timedelta(hours=9)
        variants = ("A", "B") if channel == "email" else ()
        rule = "country == 'DE'" if i % 4 == 3 else None
        audience = select_audience(
            profiles,
            rule,
            channel=channel,
            as_of=send,
            control_fraction=0.1,
            random_state=int(rng.integers(2**31)),
            campaign_id=cid,
            variants=variants or None,
            consents=logs[channel],
        )
        chosen = audience.members
        members.append(chosen)
        treated = chosen[~chosen["control"].to_numpy(dtype=bool)]
        who = position.get_indexer(treated["customer_id"])
        part = _engage(
            treated["customer_id"].to_numpy(dtype=object),
            treated["variant"].to_numpy(dtype=object),
            propensity[who],
            proxy[who],
            channel=channel,
            send_ns=int(send.value),
            rng=rng,
        )
        part["campaign"] = np.full(len(part["at"]), i, dtype=np.int64)
        events.append(part)
        fixed, per_message = _COST[channel]
        cost = fixed + per_message * int((part["type"] == _SEND).sum())
        start = send.date()
        campaigns.append(
            Campaign(
                id=cid,
                name=f"{send:%B %Y} {'newsletter' if channel == 'email' else 'SMS offer'}",
                channel=channel,
                start_date=start,
                end_date=start + dt.timedelta(days=14),
                status="completed",
                budget=Money(amount=Decimal(int(round(cost * 1.2, -1))), currency=currency),
                cost=Money(amount=Decimal(str(round(cost, 2))), currency=currency),
                audience=rule,
                variants=variants,
                goal="conversion",
            )
        )
    member_frame = pd.concat(members, ignore_index=True) if members else _no_members()
    return campaigns, member_frame, _engagement_frame(events, [str(c.id) for c in campaigns])


def _engage(
    customer: Any,
    variant: Any,
    propensity: Any,
    proxy: Any,
    *,
    channel: str,
    send_ns: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """One message to each treated member and what follows, as (customer, type, time) columns.

    Arrays ``customer``, ``variant``, ``user_agent`` (objects), ``channel`` and
    ``type`` (codes into :data:`CHANNELS` and :data:`TYPES`), ``at`` (UTC
    nanoseconds): each kind of event in turn, in member order.
    """
    n = customer.size
    sent = send_ns + (rng.uniform(0, 3 * 3600, n) * _SECOND).astype(np.int64)
    bounced = rng.random(n) < (0.02 if channel == "email" else 0.01)
    delivered_at = sent + (rng.uniform(1, 90, n) * _SECOND).astype(np.int64)
    delivered = ~bounced
    wants = delivered & (rng.random(n) < propensity)  # a person reads it
    rows: list[tuple[str, Any, Any, Any]] = [
        ("send", np.ones(n, dtype=bool), sent, None),
        ("bounce", bounced, delivered_at, None),
        ("deliver", delivered, delivered_at, None),
    ]
    read_delay = np.minimum(rng.exponential(5 * 3600, n), 6 * 86400)
    read_at = delivered_at + (read_delay * _SECOND).astype(np.int64)
    if channel == "email":
        machine = delivered & proxy
        opened = machine | wants
        open_at = np.where(
            machine, delivered_at + (rng.uniform(0.5, 3, n) * _SECOND).astype(np.int64), read_at
        )
        agent = np.where(machine, PROXY_AGENT, _BROWSER)
        rows.append(("open", opened, open_at, agent))
        clicked = wants & (rng.random(n) < 0.25)
    else:
        clicked = wants & (rng.random(n) < 0.3)
    click_at = read_at + (rng.exponential(90, n) * _SECOND).astype(np.int64)
    rows.append(("click", clicked, click_at, None))
    quits = delivered & (rng.random(n) < 0.004)
    rows.append(("unsubscribe", quits, read_at + 60 * _SECOND, None))
    sizes = [int(np.count_nonzero(mask)) for _, mask, _, _ in rows]
    agents = [
        np.full(size, None, dtype=object) if agent is None else agent[mask].astype(object)
        for (_, mask, _, agent), size in zip(rows, sizes, strict=True)
    ]
    return {
        "customer": np.concatenate([customer[mask] for _, mask, _, _ in rows]),
        "variant": np.concatenate([variant[mask] for _, mask, _, _ in rows]),
        "channel": np.full(sum(sizes), _CHANNEL_CODE[channel], dtype=np.int64),
        "type": np.repeat([_TYPE_CODE[kind] for kind, _, _, _ in rows], sizes),
        "at": np.concatenate([at[mask] for _, mask, at, _ in rows]),
        "user_agent": np.concatenate(agents),
    }


def _no_members() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=object),
            "campaign_id": pd.Series([], dtype=object),
            "variant": pd.Series([], dtype=object),
            "control": np.array([], dtype=bool),
            "selected_at": pd.DatetimeIndex([], tz="UTC"),
        }
    )


def _engagement_frame(parts: list[dict[str, Any]], campaign_ids: list[str]) -> pd.DataFrame:
    """Return the campaigns' events (:func:`_engage`'s columns) in time order, numbered."""
    if parts:
        at = np.concatenate([p["at"] for p in parts])
        order = np.argsort(at, kind="stable")  # as written: ties keep campaign and kind order
    else:
        at = order = np.zeros(0, dtype=np.int64)
    n = len(order)

    def column(name: str) -> Any:
        if not parts:
            return np.zeros(0, dtype=object if name in _TEXT else np.int64)
        return np.concatenate([p[name] for p in parts])[order]

    def text(values: Any) -> pd.Series:
        out = pd.Series(values, dtype=object)
        return out.where(out.notna(), None)

    campaign = column("campaign")
    cids = np.array(campaign_ids, dtype=object)
    messages = np.array([f"{cid}-1" for cid in campaign_ids], dtype=object)
    ids: Any = np.asarray(numbered("E", np.arange(1, n + 1), 9), dtype=object) if n else []
    return pd.DataFrame(
        {
            "event_id": pd.Series(ids, dtype=object),
            "customer_id": text(column("customer")),
            "contact_id": pd.Series([None] * n, dtype=object),
            "campaign_id": text(cids[campaign]),
            "message_id": text(messages[campaign]),
            "variant": text(column("variant")),
            "channel": pd.Categorical.from_codes(column("channel"), categories=pd.Index(CHANNELS)),
            "type": pd.Categorical.from_codes(column("type"), categories=pd.Index(TYPES)),
            "date": pd.DatetimeIndex(at[order].view("datetime64[ns]"))
            .tz_localize("UTC")
            .as_unit("us"),
            "user_agent": text(column("user_agent")),
        }
    )


_TEXT = ("customer", "variant", "user_agent")
_CHANNEL_CODE = {name: code for code, name in enumerate(CHANNELS)}
_TYPE_CODE = {name: code for code, name in enumerate(TYPES)}
_SEND = _TYPE_CODE["send"]


def campaign_members(members: pd.DataFrame) -> Iterator[CampaignMember]:
    """Yield the members frame as :class:`~crmcore.domain.CampaignMember` entities."""
    selected = list(pd.to_datetime(members["selected_at"], utc=True).dt.to_pydatetime())
    for (cid, who, variant, control), at in zip(
        members[["campaign_id", "customer_id", "variant", "control"]].itertuples(
            index=False, name=None
        ),
        selected,
        strict=True,
    ):
        yield CampaignMember(
            campaign_id=cid,
            customer_id=who,
            selected_at=at,
            variant=None if variant is None or pd.isna(variant) else variant,
            control=bool(control),
        )


def engagement_events(engagement: pd.DataFrame) -> Iterator[EngagementEvent]:
    """Yield the engagement frame as :class:`~crmcore.domain.EngagementEvent` values."""
    dates = list(engagement["date"].dt.tz_convert("UTC").dt.to_pydatetime())
    columns = ["event_id", "customer_id", "campaign_id", "message_id", "variant"]
    for (eid, who, cid, mid, variant, channel, kind, agent), at in zip(
        engagement[[*columns, "channel", "type", "user_agent"]].itertuples(index=False, name=None),
        dates,
        strict=True,
    ):
        yield EngagementEvent(
            id=eid,
            kind=kind,
            channel=channel,
            at=at,
            customer_id=who,
            campaign_id=cid,
            message_id=mid,
            variant=variant,
            properties={} if agent is None else {"user_agent": agent},
            actor="sample-company",
        )


def engagement_table(engagement: pd.DataFrame) -> pd.DataFrame:
    """Return the engagement frame as ``store.events.append_frame`` takes it.

    The same events as :func:`engagement_events`, one column per field of
    :class:`~crmcore.domain.EngagementEvent` (one shared ``properties``
    mapping per user agent).
    """
    empty = FrozenMapping()
    shared: dict[str, FrozenMapping] = {}
    properties = [
        empty
        if agent is None or agent != agent  # noqa: PLR0124 -- NaN: no user agent
        else shared.setdefault(agent, FrozenMapping({"user_agent": agent}))
        for agent in engagement["user_agent"].tolist()
    ]
    return pd.DataFrame(
        {
            "id": engagement["event_id"],
            "kind": engagement["type"],
            "channel": engagement["channel"],
            "at": engagement["date"].dt.tz_convert("UTC"),
            "customer_id": engagement["customer_id"],
            "campaign_id": engagement["campaign_id"],
            "message_id": engagement["message_id"],
            "variant": engagement["variant"],
            "properties": pd.Series(properties, index=engagement.index, dtype=object),
            "actor": "sample-company",
        },
        index=engagement.index,
    )
