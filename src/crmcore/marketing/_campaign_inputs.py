"""Reading the inputs of :func:`campaign_kpis`: members, campaigns, orders, consent.

Members become integer codes (campaign, customer) with one row per member;
campaign costs and starts are aligned to the campaign codes; orders become a
:class:`~crmcore.marketing._windows.GroupedTimes` log per customer for the
conversion windows; the output rows (campaign and ``by`` values) and each
row's control group are decided here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, FloatArray, IntArray
from crmcore._validation import as_float_array, check_columns, first_bad
from crmcore.errors import ValidationError
from crmcore.marketing._audience import GRANTED, WITHDRAWN, consent_at
from crmcore.marketing._frame import CHANNELS, TYPES, row_ids
from crmcore.marketing._windows import DENSE_LIMIT, GroupedTimes

__all__ = [
    "bools",
    "campaign_info",
    "check_consent",
    "groups",
    "local_messages",
    "lookup",
    "orders_log",
    "per_first_group",
    "share_cost",
]


def bools(values: pd.Series, *, name: str, index: pd.Index) -> BoolArray:
    """Read a column of True / False flags (anything else refused, named by row)."""
    arr = values.to_numpy()
    if arr.dtype == bool:
        return arr
    ok = values.isin([True, False]).to_numpy(dtype=bool)
    first_bad(
        ~ok,
        name=name,
        problem="must be True or False",
        values=np.asarray(arr, dtype=object),
        index=index,
    )
    return arr.astype(bool)


def campaign_info(
    campaigns: pd.DataFrame | None,
    campaign_ids: pd.Index,
    *,
    campaign_col: str,
    cost_col: str,
    start_col: str,
    tz: Any,
) -> tuple[FloatArray, IntArray]:
    """Cost (NaN: unknown) and start (int64 min: unknown) per campaign code."""
    cost = np.full(len(campaign_ids), np.nan)
    start = np.full(len(campaign_ids), np.iinfo(np.int64).min, dtype=np.int64)
    if campaigns is None:
        return cost, start
    if not isinstance(campaigns, pd.DataFrame):
        raise ValidationError(
            f"campaigns must be a DataFrame; got {type(campaigns).__name__}", field="campaigns"
        )
    if campaign_col in campaigns.columns:
        ids = pd.Index(campaigns[campaign_col])
    elif campaigns.index.name == campaign_col:
        ids = campaigns.index
    else:
        raise ValidationError(
            f"campaigns needs a {campaign_col!r} column or index", field=campaign_col
        )
    if not ids.is_unique:
        dup = ids[ids.duplicated()][0]
        raise ValidationError(
            f"campaign {dup!r} appears more than once in campaigns", field=campaign_col, row=dup
        )
    where = ids.get_indexer(campaign_ids)
    found = where >= 0
    if cost_col in campaigns.columns:
        values = as_float_array(campaigns[cost_col], name=cost_col, allow_nan=True)
        neg = values < 0
        first_bad(
            neg,
            name=cost_col,
            problem="must be >= 0 (a campaign cost)",
            values=values,
            index=ids,
            row_name="campaign",
        )
        cost[found] = values[where[found]]
    if start_col in campaigns.columns:
        dates = _time.read_dates(
            campaigns[start_col],
            name=start_col,
            allow_missing=True,
            index=ids,
            row_name="campaign",
        )
        ns = dates.ns
        if dates.tz is None and tz is not None:
            # a naive start (a calendar date) is read on the events' wall clock
            ns = dates.in_zone(tz).ns
        elif dates.tz is not None and tz is None:
            raise ValidationError(
                f"campaigns[{start_col!r}] is timezone-aware but the events are naive: "
                "make them agree",
                field=start_col,
            )
        start[found] = ns[where[found]]
    return cost, start


def check_consent(  # noqa: PLR0917 - one array per event column
    consents: pd.DataFrame,
    labels: pd.Index,
    types: IntArray,
    times: IntArray,
    channels: IntArray | None,
    customers: IntArray,
    customer_ids: pd.Index,
    campaigns: Any,
    *,
    customer_col: str,
    tz: Any,
) -> None:
    """Refuse a send to a member whose consent for its channel was not in force."""
    if tz is None:
        raise ValidationError(
            "checking consents needs timezone-aware event dates (a consent is an instant); "
            "localise them first, e.g. events['date'].dt.tz_localize('UTC')",
            field="consents",
        )
    if channels is None:
        raise ValidationError(
            "checking consents needs the events' channel column (channel_col)",
            field="consents",
        )
    sends = np.flatnonzero(types == TYPES.index("send"))
    names = np.asarray(CHANNELS, dtype=object)[channels[sends]]
    state = consent_at(
        consents, customer_ids, customers[sends], names, times[sends], customer_col=customer_col
    )
    bad = np.flatnonzero(state != GRANTED)
    if bad.size:
        i = int(sends[bad[0]])
        who = customer_ids[customers[i]]
        why = "had withdrawn" if state[bad[0]] == WITHDRAWN else "had given no"
        raise ValidationError(
            f"events row {labels[i]!r}: customer {who!r} of campaign {campaigns[i]!r} was sent "
            f"a message on {names[bad[0]]!r} at {_time.timestamps(times[i : i + 1], tz)[0]} "
            f"but {why} consent for that channel then ({bad.size} such sends); select "
            "audiences with select_audience, which checks consent, or correct the consent log",
            field="consents",
            row=labels[i],
            value=who,
        )


def lookup(keys: IntArray, values: IntArray, queries: IntArray, space: int) -> IntArray:
    """Look up each query among the sorted ``keys``: its ``values`` entry (-1: absent)."""
    if space <= DENSE_LIMIT:
        table = np.full(space, -1, dtype=np.int64)
        table[keys] = values
        return table[queries]
    if keys.size == 0:
        return np.full(queries.size, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, queries), keys.size - 1)
    return np.where(keys[pos] == queries, values[pos], -1)


def local_messages(
    messages: pd.Series | None, campaign: IntArray, n_campaigns: int
) -> tuple[IntArray, int]:
    """Message codes counted within each campaign (0, 1, ...) and the largest count.

    A campaign sends few messages, so (member, local message) keys stay
    small enough to be addressed directly.
    """
    if messages is None:
        return np.zeros(campaign.size, dtype=np.int64), 1
    codes, uniques = pd.factorize(messages, use_na_sentinel=False)
    n_global = max(len(uniques), 1)
    pair = campaign.astype(np.int64) * n_global + np.asarray(codes, dtype=np.int64)
    present = np.zeros(n_campaigns * n_global, dtype=bool)
    present[pair] = True
    table = present.reshape(n_campaigns, n_global)
    local = (np.cumsum(table, axis=1) - 1).ravel()
    width = int(table.sum(axis=1).max()) if table.size else 1
    return local[pair].astype(np.int64), max(width, 1)


def per_first_group(per_campaign: IntArray, group_campaign: IntArray, n_groups: int) -> IntArray:
    """Put a per-campaign count on the first row of each campaign (zeros elsewhere)."""
    out = np.zeros(n_groups, dtype=np.int64)
    if n_groups:
        first = np.ones(n_groups, dtype=bool)
        first[1:] = group_campaign[1:] != group_campaign[:-1]
        out[first] = per_campaign[group_campaign[first]]
    return out


def groups(
    members: pd.DataFrame,
    control: BoolArray,
    *,
    campaign_col: str,
    by_cols: list[str],
    variant_col: str,
) -> tuple[IntArray, pd.Index, IntArray, int, IntArray]:
    """Output rows, and each row's control group.

    Rows are (campaign, *by) of the members. When ``by`` holds the variant
    column, control members (who get no variant) form no row of their own:
    every variant of a campaign is compared with the campaign's one control
    group (matched on the other ``by`` columns).
    """
    keys = [campaign_col, *by_cols]
    ctrl_keys = [campaign_col, *(c for c in by_cols if c != variant_col)]
    shared = variant_col in by_cols
    rows = members.loc[~control] if shared else members
    grouped = rows.groupby(keys, sort=True, dropna=False, observed=True)
    codes = grouped.ngroup().to_numpy(dtype=np.int64)
    labels = grouped.size().index
    group = np.full(len(members), -1, dtype=np.int64)
    if shared:
        group[~control] = codes
    else:
        group[:] = codes
    cgrouped = members.groupby(ctrl_keys, sort=True, dropna=False, observed=True)
    ckey: IntArray = np.asarray(cgrouped.ngroup().to_numpy(), dtype=np.int64)
    n_ckeys = int(cgrouped.ngroups)
    group_ckey = np.full(len(labels), -1, dtype=np.int64)
    has = group >= 0
    group_ckey[group[has]] = ckey[has]
    return group, labels, ckey, n_ckeys, group_ckey


def share_cost(
    cost: FloatArray, group_campaign: IntArray, sent: IntArray, members: IntArray
) -> FloatArray:
    """Each group's share of its campaign's cost, in proportion to messages sent."""
    per_camp_sent = np.bincount(group_campaign, weights=sent, minlength=cost.size)
    per_camp_members = np.bincount(group_campaign, weights=members, minlength=cost.size)
    use_sent = per_camp_sent[group_campaign] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(
            use_sent,
            sent / np.where(use_sent, per_camp_sent[group_campaign], 1),
            members / np.maximum(per_camp_members[group_campaign], 1),
        )
    out: FloatArray = cost[group_campaign] * share
    return out


def orders_log(
    orders: pd.DataFrame,
    customers: pd.Index,
    *,
    customer_col: str,
    date_col: str,
    value_col: str,
    margin_col: str | None,
    margin: float,
    tz: Any,
    cutoff: int,
) -> GroupedTimes:
    """Read the orders on or before the cut-off into a per-customer log of amount and margin."""
    cols = [customer_col, date_col, value_col, *([margin_col] if margin_col else [])]
    check_columns(orders, cols, name="orders")
    dates = _time.read_dates(orders[date_col], name=date_col, row_name="order")
    if (dates.tz is None) != (tz is None):
        raise ValidationError(
            f"orders[{date_col!r}] is {'naive' if dates.tz is None else 'timezone-aware'} but "
            f"the events' dates are {'naive' if tz is None else 'timezone-aware'}: make them "
            "agree (e.g. .dt.tz_localize('UTC') on the naive column)",
            field=date_col,
        )
    keep = dates.ns <= cutoff
    frame = orders.loc[keep] if not keep.all() else orders
    ns = dates.ns[keep]
    row_ids(frame[customer_col], name=customer_col, frame_index=frame.index)
    amount = as_float_array(frame[value_col], name=value_col, index=frame.index, row_name="order")
    if margin_col:
        margins = as_float_array(
            frame[margin_col], name=margin_col, index=frame.index, row_name="order"
        )
    else:
        margins = amount * margin
    codes = customers.get_indexer(pd.Index(frame[customer_col]))
    mine = codes >= 0
    return GroupedTimes(
        codes[mine].astype(np.int64), ns[mine], len(customers), (amount[mine], margins[mine])
    )
