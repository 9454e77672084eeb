"""Campaign KPIs: the funnel with Wilson intervals, revenue, ROMI, CAC and incrementality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._stats import check_confidence, wilson_interval, z_value
from crmcore._types import BoolArray, FloatArray, IntArray
from crmcore._validation import check_columns, check_scalar
from crmcore.errors import ValidationError
from crmcore.marketing._campaign_inputs import (
    bools,
    campaign_info,
    check_consent,
    groups,
    local_messages,
    lookup,
    orders_log,
    per_first_group,
    share_cost,
)
from crmcore.marketing._frame import TYPES, id_codes, read_events, row_ids, type_mask
from crmcore.marketing._funnel import MachineOpenRule, message_units, proxy_markers
from crmcore.marketing._incremental import arm_stats, incremental_columns
from crmcore.marketing._windows import compact

__all__ = ["RATES", "campaign_kpis"]

_BIG = np.iinfo(np.int64).max
_MESSAGE_TYPES = ("send", "deliver", "open", "click", "bounce", "unsubscribe", "complaint")

RATES: dict[str, tuple[str, str]] = {
    "delivery_rate": ("delivered", "sent"),
    "bounce_rate": ("bounced", "sent"),
    "open_rate": ("opened", "delivered"),
    "click_rate": ("clicked", "delivered"),
    "click_to_open": ("clicked", "opened"),
    "unsubscribe_rate": ("unsubscribed", "delivered"),
    "complaint_rate": ("complaints", "delivered"),
    "conversion_rate": ("converters", "reached"),
}
"""Each reported rate as (numerator, denominator) count columns."""


def _by_columns(by: Any) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return [str(b) for b in by]


def campaign_kpis(
    events: pd.DataFrame,
    orders: pd.DataFrame,
    members: pd.DataFrame,
    *,
    as_of: Any,
    conversion_window: Any,
    by: str | Sequence[str] | None = None,
    confidence: float = 0.95,
    campaigns: pd.DataFrame | None = None,
    consents: pd.DataFrame | None = None,
    margin: float = 1.0,
    margin_col: str | None = None,
    machine_opens: str = "exclude",
    machine_open_delay: Any = "10s",
    proxy_agents: Sequence[str] = (),
    min_messages: int = 3,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str = "amount",
    campaign_col: str = "campaign_id",
    type_col: str = "type",
    channel_col: str | None = "channel",
    message_col: str = "message_id",
    control_col: str = "control",
    variant_col: str = "variant",
    id_col: str = "event_id",
    user_agent_col: str = "user_agent",
    machine_col: str | None = None,
    cost_col: str = "cost",
    start_col: str = "start",
) -> pd.DataFrame:
    """Campaign funnel, revenue, ROMI, CAC and incremental effect against the control group.

    Parameters
    ----------
    events : DataFrame
        The engagement frame (see :func:`engagement_frame`). Only message
        events (``send`` ... ``complaint``) of campaigns in ``members``
        count; web and app events are ignored here.
    orders : DataFrame
        Purchases: ``customer_col``, ``date_col``, ``value_col`` (and
        ``margin_col`` when given).
    members : DataFrame
        One row per campaign member: ``campaign_col``, ``customer_col``,
        ``control_col`` (bool; all treated when the column is absent) and the
        ``by`` columns (:func:`select_audience` ``.members`` or
        :func:`members_frame`).
    as_of : date-like
        Cut-off: events and orders after it do not exist; windows end there.
    conversion_window : duration
        A member converts with an order in ``(send, send + window]``
        (``"7D"``); a fixed, positive length.
    by : str or list of str, optional
        Member columns to split each campaign by (``"variant"``).
    confidence : float, default 0.95
        Level of every interval.
    campaigns : DataFrame, optional
        Per campaign (column or index ``campaign_col``): ``cost_col`` (>= 0,
        the campaign's total cost; NaN: unknown) and ``start_col`` (no
        event of the campaign may come before it).
    consents : DataFrame, optional
        A consent log (``customer_col``, ``channel``, ``granted``, ``date``;
        :func:`consent_log`): when given, every send must have had the
        member's consent for its channel in force at the moment it was sent.
    margin : float, default 1.0
        Share of revenue that is margin, when ``margin_col`` is not given.
    margin_col : str, optional
        Orders column with each order's margin.
    machine_opens : {"exclude", "keep"}, default "exclude"
        Drop machine opens from the open counts (rule in the notes).
    machine_open_delay : duration, default "10s"
        How soon after delivery a machine open comes.
    proxy_agents : sequence of str, default ()
        User-agent fragments of proxies that open every message.
    min_messages : int, default 3
        Delivered messages a customer needs before "every message opened
        within the delay" marks them as a proxy customer.
    customer_col, date_col, value_col, campaign_col, type_col, channel_col, message_col,
    control_col, id_col, user_agent_col, machine_col, cost_col, start_col : str
        Column names (``machine_col``: a boolean column flagging machine
        opens; ``channel_col=None`` skips the channel checks).

    Returns
    -------
    DataFrame
        One row per campaign (and ``by`` value), indexed by
        ``[campaign_col, *by]``. Counts (int): ``members``, ``treatment``,
        ``control``, ``reached`` (treated members sent at least one message),
        ``control_sent`` (control members who were sent something anyway: they
        stay in the control group, intention-to-treat), ``not_member_events``
        (events of the campaign for customers outside it, ignored),
        ``sent``, ``delivered``, ``bounced``, ``opened``, ``clicked``,
        ``unsubscribed``, ``complaints`` (messages: one message to one
        member), ``opens``, ``clicks``, ``machine_opens`` (events),
        ``converters``, ``new_customers``.

        Rates with ``<rate>_ci_low`` / ``<rate>_ci_high`` (Wilson):
        :data:`RATES`; a rate with a zero denominator is NaN.

        Money (floats, the orders' currency): ``revenue`` and ``margin``
        (orders of reached members in their window), ``cost``, ``romi`` =
        (margin − cost) / cost, ``cac`` = cost / new customers.

        Incrementality (intention-to-treat: every member of each arm, window
        from the campaign's first send): ``treatment_conversion_rate``,
        ``control_conversion_rate``, ``incremental_conversion_rate`` (their
        difference, Newcombe's interval), ``incremental_conversions``
        (difference × treated members), ``treatment_revenue_per_member``,
        ``control_revenue_per_member``, ``incremental_revenue`` (difference
        × treated members; Welch interval), ``incremental_margin``,
        ``incremental_romi`` = (incremental margin − cost) / cost, each
        interval in ``*_ci_low`` / ``*_ci_high``; NaN without a control
        group. ``window_complete`` is False while some window still runs
        past ``as_of`` (the numbers can still grow).

    Notes
    -----
    **Windows** follow :doc:`/time`. A reached member's window is
    ``(first send, first send + conversion_window]``, cut at ``as_of``; an
    order at exactly the send instant is not a conversion. The
    intention-to-treat windows start at the campaign's first send for both
    arms, so treated and control members are measured over the same days.
    ``revenue`` counts every order in the window, not only the first.

    **Message counts** and the **machine-open rule**: see
    ``crmcore.marketing._funnel`` (summarised in the user guide): later
    funnel stages imply earlier ones; an open within ``machine_open_delay``
    of delivery is a machine open when flagged by ``machine_col``, by a
    ``proxy_agents`` user agent, or when its customer opened every one of at
    least ``min_messages`` messages that fast.

    **Cost** of a campaign split by ``by`` is shared in proportion to the
    messages sent in each part.

    **Tests.** Rates: Wilson (1927) score intervals. Difference of
    conversion rates: Newcombe (1998) hybrid score interval. Difference of
    revenue per member: Welch's t interval (Welch–Satterthwaite degrees of
    freedom).

    Raises
    ------
    ValidationError
        Missing columns; an unknown type or channel, or a type on the wrong
        channel; repeated event ids; a message event without customer or
        campaign; a member listed twice; with ``consents``, a send to a
        member without consent for its channel at that moment; an event before its campaign's
        ``start``; a negative cost or amount margin share outside [0, 1]; a
        zero, negative or calendar ``conversion_window``; naive and aware
        dates mixed.
    """
    window = _time.to_duration(conversion_window, name="conversion_window")
    window_ns = int(window.value)
    conf = check_confidence(confidence)
    z = z_value(conf)
    margin_share = check_scalar(margin, name="margin", low=0, high=1)
    if machine_opens not in ("exclude", "keep"):
        raise ValidationError(
            f"machine_opens must be 'exclude' or 'keep'; got {machine_opens!r}",
            field="machine_opens",
        )
    delay_ns = int(_time.to_duration(machine_open_delay, name="machine_open_delay").value)
    markers = proxy_markers(proxy_agents)
    min_msgs = int(check_scalar(min_messages, name="min_messages", low=1, integer=True))
    by_cols = _by_columns(by)

    # ---------------------------------------------------------------- members
    check_columns(members, [campaign_col, customer_col, *by_cols], name="members")
    m_index = members.index
    row_ids(members[campaign_col], name=campaign_col, frame_index=m_index)
    row_ids(members[customer_col], name=customer_col, frame_index=m_index)
    control = (
        bools(members[control_col], name=control_col, index=m_index)
        if control_col in members.columns
        else np.zeros(len(members), dtype=bool)
    )
    camp_codes, camp_ids = pd.factorize(members[campaign_col], sort=True)
    cust_codes, cust_ids = id_codes(members[customer_col])
    camp_ids, cust_ids = pd.Index(camp_ids), pd.Index(cust_ids)
    n_members, n_cust = len(members), len(cust_ids)
    member_key = camp_codes.astype(np.int64) * max(n_cust, 1) + cust_codes
    distinct_keys, member_code = compact(member_key, len(camp_ids) * max(n_cust, 1))
    if distinct_keys.size < n_members:
        counts = np.bincount(member_code, minlength=distinct_keys.size)
        pos = int(np.flatnonzero(member_code == np.flatnonzero(counts > 1)[0])[1])
        raise ValidationError(
            f"members row {m_index[pos]!r}: customer {members[customer_col].iloc[pos]!r} is "
            f"listed twice for campaign {members[campaign_col].iloc[pos]!r}",
            field=customer_col,
            row=m_index[pos],
        )
    # member row of each distinct key (keys are distinct here)
    member_of_key = np.empty(n_members, dtype=np.int64)
    member_of_key[member_code] = np.arange(n_members)
    group, labels, ckey, n_ckeys, group_ckey = groups(
        members, control, campaign_col=campaign_col, by_cols=by_cols, variant_col=variant_col
    )
    n_groups = len(labels)
    group_campaign = np.zeros(n_groups, dtype=np.int64)
    in_group = group >= 0
    group_campaign[group[in_group]] = camp_codes[in_group]

    # ---------------------------------------------------------------- events
    log = read_events(
        events,
        as_of=as_of,
        date_col=date_col,
        type_col=type_col,
        channel_col=channel_col,
        id_col=id_col,
    )
    tz, cutoff = log.tz, log.cutoff.ns
    frame = log.frame
    check_columns(frame, [customer_col, campaign_col], name="events")
    is_message = type_mask(log.type, _MESSAGE_TYPES)
    is_message &= frame[campaign_col].notna().to_numpy(dtype=bool)
    rows = np.flatnonzero(is_message)

    def column(name: str, at: IntArray) -> pd.Series:
        return frame[name].iloc[at]

    ev_cust = column(customer_col, rows)
    row_ids(ev_cust, name=customer_col, frame_index=ev_cust.index)
    e_camp = camp_ids.get_indexer(column(campaign_col, rows))
    keep = e_camp >= 0
    rows, e_camp = rows[keep], e_camp[keep]
    e_times, e_types = log.times[rows], log.type[rows]
    e_cust = cust_ids.get_indexer(ev_cust.to_numpy()[keep])
    e_key = e_camp.astype(np.int64) * max(n_cust, 1) + np.maximum(e_cust, 0)
    e_member = lookup(distinct_keys, member_of_key, e_key, len(camp_ids) * max(n_cust, 1))
    e_member[e_cust < 0] = -1
    hit = e_member >= 0
    cost, start = campaign_info(
        campaigns,
        camp_ids,
        campaign_col=campaign_col,
        cost_col=cost_col,
        start_col=start_col,
        tz=tz,
    )
    early = (start[e_camp] != np.iinfo(np.int64).min) & (e_times < start[e_camp])
    if early.any():
        i = int(np.flatnonzero(early)[0])
        label = frame.index[rows[i]]
        at = _time.timestamps(e_times[i : i + 1], tz)[0]
        began = _time.timestamps(start[e_camp[i] : e_camp[i] + 1], tz)[0]
        raise ValidationError(
            f"events row {label!r}: a {TYPES[e_types[i]]!r} event of campaign "
            f"{camp_ids[e_camp[i]]!r} at {at} comes before the campaign's start {began}; "
            "fix the campaign id or the start",
            field=date_col,
            row=label,
        )
    not_member = np.bincount(e_camp[~hit], minlength=len(camp_ids))
    rows, e_times, e_types, e_member = rows[hit], e_times[hit], e_types[hit], e_member[hit]
    if consents is not None:
        check_consent(
            consents,
            frame.index[rows],
            e_types,
            e_times,
            None if log.channel is None else log.channel[rows],
            cust_codes[e_member],
            cust_ids,
            camp_ids[e_camp[hit]],
            customer_col=customer_col,
            tz=tz,
        )
    msg_codes, n_msgs = local_messages(
        column(message_col, rows) if message_col in frame.columns else None,
        e_camp[hit],
        len(camp_ids),
    )
    user_agent = None
    if user_agent_col in frame.columns:
        user_agent = column(user_agent_col, rows).reset_index(drop=True)
    machine = None
    if machine_col is not None:
        check_columns(frame, [machine_col], name="events")
        machine = column(machine_col, rows).fillna(value=False).to_numpy(dtype=bool)
    rule = MachineOpenRule(
        exclude=machine_opens == "exclude",
        delay_ns=delay_ns,
        proxy_agents=markers,
        min_messages=min_msgs,
        user_agent=user_agent,
        machine=machine,
    )
    units = message_units(
        e_member.astype(np.int64),
        np.asarray(msg_codes, dtype=np.int64),
        n_msgs,
        e_types,
        e_times,
        cust_codes[e_member].astype(np.int64),
        n_cust,
        rule,
        None if log.channel is None else log.channel[rows],
    )

    # ---------------------------------------------------------------- per member
    reached = np.zeros(n_members, dtype=bool)
    reached[units.member[units.sent]] = True
    anchor = np.full(n_members, _BIG, dtype=np.int64)
    np.minimum.at(anchor, units.member[units.sent], units.first_send[units.sent])
    treated_reached = reached & ~control
    camp_anchor = np.full(len(camp_ids), _BIG, dtype=np.int64)
    np.minimum.at(camp_anchor, camp_codes[treated_reached], anchor[treated_reached])

    purchases = orders_log(
        orders,
        cust_ids,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
        margin_col=margin_col,
        margin=margin_share,
        tz=tz,
        cutoff=cutoff,
    )
    cust = cust_codes.astype(np.int64)
    lo = np.where(treated_reached, anchor, cutoff)
    hi = np.where(treated_reached, np.minimum(lo + window_ns, cutoff), cutoff)
    n_conv, (revenue, margin_amt) = purchases.sums(cust, lo, hi)
    first_order = purchases.first_time()[cust]
    converted = n_conv > 0
    new = converted & (first_order > lo) & (first_order <= hi)

    has_anchor = camp_anchor[camp_codes] < _BIG
    itt_lo = np.where(has_anchor, camp_anchor[camp_codes], cutoff)
    itt_hi = np.where(has_anchor, np.minimum(itt_lo + window_ns, cutoff), cutoff)
    itt_count, (itt_rev, itt_margin) = purchases.sums(cust, itt_lo, itt_hi)
    itt_conv = itt_count > 0

    # ---------------------------------------------------------------- per group
    g_ok = group >= 0
    g_safe = np.where(g_ok, group, n_groups)  # overflow bin for control members off-table

    def per_group(mask: BoolArray, weights: FloatArray | None = None) -> Any:
        out = np.bincount(
            g_safe[mask],
            weights=None if weights is None else weights[mask],
            minlength=n_groups + 1,
        )[:n_groups]
        return out if weights is not None else out.astype(np.int64)

    treated = ~control
    unit_group = g_safe[units.member]
    table: dict[str, Any] = {
        "members": np.zeros(n_groups, dtype=np.int64),  # filled below: treatment + control
        "treatment": per_group(treated),
        "control": np.zeros(n_groups, dtype=np.int64),
        "reached": per_group(treated_reached),
        "control_sent": np.zeros(n_groups, dtype=np.int64),
        "not_member_events": per_first_group(not_member, group_campaign, n_groups),
    }
    treated_unit = treated[units.member]
    tracked = units.tracked
    for name, flags in (
        ("sent", units.sent),
        ("delivered", units.delivered),
        ("bounced", units.bounced),
        ("opened", units.opened & tracked),
        ("clicked", units.clicked),
        ("unsubscribed", units.unsubscribed),
        ("complaints", units.complained),
    ):
        table[name] = np.bincount(unit_group[flags & treated_unit], minlength=n_groups + 1)[
            :n_groups
        ].astype(np.int64)
    for name, counts in (
        ("opens", units.opens),
        ("clicks", units.clicks),
        ("machine_opens", units.machine_opens),
    ):
        table[name] = np.bincount(
            unit_group[treated_unit],
            weights=counts[treated_unit].astype(float),
            minlength=n_groups + 1,
        )[:n_groups].astype(np.int64)
    has_tracking = (
        np.bincount(unit_group[tracked & treated_unit], minlength=n_groups + 1)[:n_groups] > 0
    )
    table["converters"] = per_group(treated_reached & converted)
    table["new_customers"] = per_group(treated_reached & new)
    out = pd.DataFrame(table, index=labels)
    c_arm = control & has_anchor
    c_stats = arm_stats(ckey, n_ckeys, c_arm, itt_conv, itt_rev, itt_margin).take(group_ckey)
    n_control = np.bincount(ckey[control], minlength=n_ckeys)
    sent_control = np.bincount(ckey[control & reached], minlength=n_ckeys)
    out["control"] = np.where(group_ckey >= 0, n_control[np.maximum(group_ckey, 0)], 0)
    out["control_sent"] = np.where(group_ckey >= 0, sent_control[np.maximum(group_ckey, 0)], 0)
    out["members"] = out["treatment"] + out["control"]
    for rate, (num, den) in RATES.items():
        k, n = out[num].to_numpy(float), out[den].to_numpy(float)
        defined = n > 0
        if rate in ("open_rate", "click_to_open"):
            defined &= has_tracking
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rate] = np.where(defined, k / np.where(n > 0, n, 1), np.nan)
        low, high = wilson_interval(k, n, z)
        out[f"{rate}_ci_low"] = np.where(defined, low, np.nan)
        out[f"{rate}_ci_high"] = np.where(defined, high, np.nan)
    out["revenue"] = per_group(treated_reached, revenue)
    out["margin"] = per_group(treated_reached, margin_amt)
    group_cost = share_cost(
        cost, group_campaign, out["sent"].to_numpy(), out["treatment"].to_numpy()
    )
    out["cost"] = group_cost
    with np.errstate(invalid="ignore", divide="ignore"):
        out["romi"] = np.where(group_cost > 0, (out["margin"] - group_cost) / group_cost, np.nan)
        nc = out["new_customers"].to_numpy(float)
        out["cac"] = np.where(nc > 0, group_cost / np.where(nc > 0, nc, 1), np.nan)
    t_stats = arm_stats(
        g_safe, n_groups + 1, treated & has_anchor, itt_conv, itt_rev, itt_margin
    ).take(np.arange(n_groups))
    for name, values in incremental_columns(t_stats, c_stats, group_cost, conf).items():
        out[name] = values
    last_anchor = np.full(n_groups + 1, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_anchor, g_safe[treated_reached], anchor[treated_reached])
    last_anchor = last_anchor[:n_groups]
    out["window_complete"] = (last_anchor > np.iinfo(np.int64).min) & (
        last_anchor + window_ns <= cutoff
    )
    out.index.names = [campaign_col, *by_cols]
    return out
