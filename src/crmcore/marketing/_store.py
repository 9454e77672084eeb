"""Campaign inputs read from a store: the frames :func:`campaign_kpis` takes, in one call.

The store (an :class:`~crmcore.storage.InMemoryStore` or
:class:`~crmcore.storage.SqlStore`, or anything with the same repositories)
is only read through its public frames: ``store.events.engagement()``,
``store.campaign_members.to_frame()``, ``store.orders.to_frame()`` and
``store.campaigns.to_frame()``; the columns are renamed to the ones the
marketing functions read by default.  Identifiers stay as the store writes
them in frames (a UUID as ``"urn:uuid:..."``), so the four frames join.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from pandas.arrays import ArrowStringArray

from crmcore import _time
from crmcore.errors import ValidationError
from crmcore.marketing._kpis import campaign_kpis

__all__ = ["PURCHASE_STATUSES", "CampaignFrames", "campaign_frames"]

PURCHASE_STATUSES: tuple[str, ...] = ("completed", "pending")
#: The order columns :func:`campaign_frames` reads.
ORDER_COLUMNS = ["id", "customer_id", "placed_at", "amount", "amount_currency"]
"""Order statuses that count as purchases (as in the customer-value report)."""

_MEMBER_COLUMNS = ["campaign_id", "customer_id", "variant", "control", "selected_at"]


@dataclass(frozen=True, slots=True)
class CampaignFrames:
    """What :func:`campaign_frames` reads: the inputs of :func:`campaign_kpis`.

    Attributes
    ----------
    events : DataFrame
        The campaigns' engagement (``store.events.engagement``).
    orders : DataFrame
        Purchases of the members: ``customer_id``, ``date``, ``amount``
        (statuses :data:`PURCHASE_STATUSES`).
    members : DataFrame
        ``campaign_id``, ``customer_id``, ``variant``, ``control``,
        ``selected_at``.
    campaigns : DataFrame
        Indexed by ``campaign_id``: ``cost`` (NaN: unknown), ``start`` (the
        campaign's start date), ``name``, ``channel``, ``goal``.
    currency : str or None
        The one currency of the orders and costs (``None`` when there are
        neither).
    """

    events: pd.DataFrame
    orders: pd.DataFrame
    members: pd.DataFrame
    campaigns: pd.DataFrame
    currency: str | None

    def kpis(self, *, as_of: Any, conversion_window: Any, **options: Any) -> pd.DataFrame:
        """Return :func:`campaign_kpis` of these frames.

        Parameters
        ----------
        as_of, conversion_window
            As in :func:`campaign_kpis`.
        **options
            Any other keyword argument of :func:`campaign_kpis` (``by``,
            ``confidence``, ``margin``, ``consents``...).
        """
        return campaign_kpis(
            self.events,
            self.orders,
            self.members,
            as_of=as_of,
            conversion_window=conversion_window,
            campaigns=self.campaigns,
            **options,
        )


def _campaign_ids(campaign: Any) -> list[Any] | None:
    if campaign is None:
        return None
    items: Iterable[Any] = (
        [campaign]
        if isinstance(campaign, str | uuid.UUID) or not isinstance(campaign, Iterable)
        else campaign
    )
    out = list(dict.fromkeys(items))
    for value in out:
        if not (isinstance(value, uuid.UUID) or (isinstance(value, str) and value.strip())):
            raise ValidationError(
                f"campaign must be a campaign id (a non-blank str or a UUID) or a list of "
                f"them; got {value!r}",
                field="campaign",
                value=value,
            )
    if not out:
        raise ValidationError("campaign: give at least one campaign id", field="campaign")
    return out


def _one_currency(orders: pd.DataFrame, campaigns: pd.DataFrame) -> str | None:
    found: dict[str, str] = {}
    for currency in orders["amount_currency"].dropna().unique():
        found.setdefault(str(currency), "orders")
    costed = campaigns["cost_currency"].dropna()
    for cid, currency in costed.items():
        found.setdefault(str(currency), f"campaign {cid!r}")
    if len(found) > 1:
        where = ", ".join(f"{c} ({src})" for c, src in sorted(found.items())[:5])
        raise ValidationError(
            f"campaign costs and order amounts must share one currency to give revenue and "
            f"ROMI; found {where}: convert them first, or read one campaign at a time",
            field="currency",
            value=sorted(found),
        )
    return next(iter(found), None)


def _member_orders(buyers: pd.Series, members: pd.Series) -> Any:
    """``buyers.isin(members)``; on Arrow text columns one ``pyarrow.compute.is_in``.

    (pandas' ``isin`` of an Arrow text column builds a Python scalar per
    value looked for: seconds for a few hundred thousand members.)
    """
    if isinstance(buyers.array, ArrowStringArray) and isinstance(members.array, ArrowStringArray):
        found = pc.is_in(pa.array(buyers.array), value_set=pa.array(members.array))
        return np.asarray(found, dtype=bool)
    return buyers.isin(members)


def campaign_frames(
    store: Any,
    campaign: Any = None,
    *,
    tz: Any = "UTC",
    properties: Sequence[str] = ("user_agent",),
) -> CampaignFrames:
    """Read a store's campaigns, members, engagement and orders as :func:`campaign_kpis` wants.

    Parameters
    ----------
    store : InMemoryStore or SqlStore
        The store (read only).
    campaign : str or uuid.UUID or list of them, optional
        The campaigns to read; default every campaign with members.
    tz : str or tzinfo, default "UTC"
        Zone of the date columns: the wall clock on which a campaign's start
        date begins (an event before it is refused by :func:`campaign_kpis`).
    properties : sequence of str, default ("user_agent",)
        Engagement properties to read as columns (``user_agent`` feeds the
        machine-open rule).

    Returns
    -------
    CampaignFrames
        The four frames; ``.kpis(as_of=..., conversion_window=...)`` gives
        the KPIs.

    Raises
    ------
    NotFound
        A campaign asked for is not in the store.
    ValidationError
        A bad campaign id; order amounts and campaign costs in more than one
        currency (naming them).

    Notes
    -----
    Orders of every status in :data:`PURCHASE_STATUSES` count; those of
    customers who are no member are left out when read.

    Only the engagement of the campaigns asked for is read, so the
    machine-open rule's per-customer evidence (a customer who opened every
    one of at least ``min_messages`` messages within seconds) comes from
    those campaigns' messages; without ``campaign`` it sees every campaign.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Campaign, CampaignMember, Money, Order
    >>> from crmcore.marketing import EngagementEvent
    >>> from crmcore.storage import InMemoryStore
    >>> store = InMemoryStore()
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> _ = store.campaigns.add(
    ...     Campaign(
    ...         id="spring",
    ...         name="Spring",
    ...         channel="email",
    ...         start_date=t.date(),
    ...         cost=Money(amount="10", currency="EUR"),
    ...     )
    ... )
    >>> _ = store.campaign_members.add_many(
    ...     [
    ...         CampaignMember(campaign_id="spring", customer_id="C-1", selected_at=t),
    ...         CampaignMember(campaign_id="spring", customer_id="C-2", selected_at=t),
    ...     ]
    ... )
    >>> _ = store.events.append(
    ...     EngagementEvent(
    ...         kind="send",
    ...         channel="email",
    ...         at=t,
    ...         customer_id="C-1",
    ...         campaign_id="spring",
    ...         message_id="m-1",
    ...     ),
    ...     EngagementEvent(
    ...         kind="send",
    ...         channel="email",
    ...         at=t,
    ...         customer_id="C-2",
    ...         campaign_id="spring",
    ...         message_id="m-1",
    ...     ),
    ... )
    >>> _ = store.orders.add(
    ...     Order(
    ...         id="o-1",
    ...         customer_id="C-1",
    ...         placed_at=t + dt.timedelta(days=2),
    ...         amount=Money(amount="40", currency="EUR"),
    ...     )
    ... )
    >>> kpis = campaign_frames(store, "spring").kpis(as_of="2026-03-31", conversion_window="7D")
    >>> row = kpis.loc["spring"]
    >>> int(row["sent"]), int(row["converters"]), float(row["revenue"]), float(row["romi"])
    (2, 1, 40.0, 3.0)
    """
    return read_frames(store, campaign, tz=tz, properties=properties)


def read_frames(
    store: Any,
    campaign: Any = None,
    *,
    tz: Any = "UTC",
    properties: Sequence[str] = ("user_agent",),
    orders: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> CampaignFrames:
    """:func:`campaign_frames`, with the store's orders already read (``orders``).

    ``orders``: ``id, customer_id, placed_at, amount, amount_currency`` of
    the orders of a status in :data:`PURCHASE_STATUSES`, as
    ``store.orders.to_frame`` returns them (:func:`crmcore.report.read_store`
    reads them once for both the transactions and the campaigns).  For every
    campaign (``campaign=None``), ``members`` (``store.campaign_members.to_frame``
    of ``campaign_id, customer_id, variant, control, selected_at``) and
    ``events`` (``store.events.engagement`` of ``tz`` and ``properties``)
    may be given too, by a caller that has just written them.
    """
    ids = _campaign_ids(campaign)
    zone = _time.to_zone(tz)
    campaigns_cols = ["id", "name", "channel", "goal", "start_date", "cost", "cost_currency"]
    if ids is None:
        if members is None:
            members = store.campaign_members.to_frame(_MEMBER_COLUMNS)
        campaigns = store.campaigns.to_frame(campaigns_cols)
    else:
        for cid in ids:
            store.campaigns.get(cid)  # NotFound names the campaign
        members = store.campaign_members.to_frame(_MEMBER_COLUMNS, where={"campaign_id__in": ids})
        campaigns = store.campaigns.to_frame(campaigns_cols, where={"id__in": ids})
    members = members.sort_values(["campaign_id", "customer_id"], kind="stable")
    members = members.reset_index(drop=True)
    campaigns = campaigns.rename(columns={"id": "campaign_id", "start_date": "start"})
    campaigns = campaigns.set_index("campaign_id").sort_index()
    if events is None or ids is not None:
        events = store.events.engagement(campaign=ids, tz=zone, properties=properties)
    if orders is None:
        orders = store.orders.to_frame(
            ORDER_COLUMNS, where={"status__in": list(PURCHASE_STATUSES)}
        )
    orders = orders[_member_orders(orders["customer_id"], members["customer_id"])]
    currency = _one_currency(orders, campaigns)
    orders = orders.rename(columns={"id": "order_id", "placed_at": "date"})
    orders = orders[["order_id", "customer_id", "date", "amount"]].reset_index(drop=True)
    orders["date"] = orders["date"].dt.tz_convert(zone)
    campaigns = campaigns.drop(columns="cost_currency")
    return CampaignFrames(events, orders, members, campaigns, currency)
