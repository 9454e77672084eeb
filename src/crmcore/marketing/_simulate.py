"""A seeded simulator of customers, campaigns and engagement with known true effects.

Vectorised throughout (no loop per customer or per message: one loop per
campaign). What is true in the simulation, and returned in ``truth``:

- **channel response**: a treated, living member orders *because of* the
  message with probability ``uplift = channel_response[channel] *
  (base_uplift + affinity_uplift * affinity)``, ``affinity`` in [0, 1] being a
  customer column; the order comes within 5 days of the send;
- **uplift**: hence a heterogeneous treatment effect; the exact incremental
  conversion probability of each member over the conversion window is in
  ``members["true_uplift"]`` (it accounts for customers who would have
  ordered anyway);
- **send-time preference**: each customer has a preferred hour of the week
  (``truth.preferred_hour``); most human opens happen at the first such
  hour after delivery;
- **churn signal**: each customer stops buying at ``truth.churn_at``; in the
  60 days before, opens and app sessions halve and carts are abandoned more
  often; after it, opens fall to a tenth and app sessions stop;
- **machine opens**: ``truth.proxy`` customers' mail client opens every
  e-mail 1–8 seconds after delivery (no distinctive user agent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import FloatArray, IntArray, RandomState
from crmcore._validation import check_random_state, check_scalar
from crmcore.errors import ValidationError
from crmcore.marketing._audience import select_audience
from crmcore.marketing._frame import CHANNELS, TYPES

__all__ = ["SimulatedEngagement", "TrueEffects", "simulate_engagement"]

_DAY = _time.NS_PER_DAY
_HOUR = _time.NS_PER_HOUR
_MIN = 60 * _time.NS_PER_SECOND
# Monday 00:00 of the epoch's week: 1970-01-01 was a Thursday
_WEEK_OFFSET_H = 72
_PRE_CHURN = 60 * _DAY
_WINDOW = 7 * _DAY

DEFAULT_RESPONSE: Mapping[str, float] = {"email": 1.0, "sms": 1.6, "push": 0.5}
_COST_PER_MESSAGE = {"email": 0.002, "sms": 0.04, "push": 0.001}
_CONSENT_RATE = {"email": 0.75, "sms": 0.4, "push": 0.3}
# preferred hours: (weekday?, hour) blocks with weights
_HOUR_BLOCKS = (
    (range(5), (7, 8), 0.30),
    (range(5), (12,), 0.15),
    (range(5), (19, 20, 21), 0.35),
    (range(5, 7), (10, 11), 0.20),
)


@attrs.frozen(kw_only=True)
class TrueEffects:
    """What the simulation made true (see the module docstring).

    Attributes
    ----------
    channel_response : dict
        Multiplier of the uplift per sending channel.
    variant_open_lift, variant_click_lift : dict
        Multiplier of the open and click probabilities per variant.
    base_uplift, affinity_uplift : float
        ``uplift = response * (base_uplift + affinity_uplift * affinity)``.
    preferred_hour : Series
        Hour of the week (0 = Monday 00:00-01:00, in ``tz``) per customer.
    churn_at : Series
        When each customer stops buying (may lie after the simulated span).
    proxy : Series of bool
        Customers whose mail client opens every e-mail (machine opens).
    open_propensity : Series
        Each customer's probability of opening a message (before churn).
    """

    channel_response: dict[str, float]
    variant_open_lift: dict[str, float]
    variant_click_lift: dict[str, float]
    base_uplift: float
    affinity_uplift: float
    preferred_hour: pd.Series
    churn_at: pd.Series
    proxy: pd.Series
    open_propensity: pd.Series


@attrs.frozen(kw_only=True)
class SimulatedEngagement:
    """The output of :func:`simulate_engagement`.

    Attributes
    ----------
    customers : DataFrame
        ``customer_id``, ``age``, ``tier``, ``affinity``, ``email``.
    consents : DataFrame
        Consent log (``customer_id``, ``channel``, ``granted``, ``date``).
    campaigns : DataFrame
        ``campaign_id``, ``channel``, ``start``, ``cost``.
    members : DataFrame
        ``campaign_id``, ``customer_id``, ``variant``, ``control``,
        ``selected_at``, ``true_uplift``.
    events : DataFrame
        The engagement frame (with ``event_id`` and ``user_agent``).
    orders : DataFrame
        ``customer_id``, ``date``, ``amount``, ``incremental`` (caused by a
        campaign: the truth, not for the analyses).
    truth : TrueEffects
        The true effects.
    """

    customers: pd.DataFrame
    consents: pd.DataFrame
    campaigns: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame
    orders: pd.DataFrame
    truth: TrueEffects


def _preferred_hours(rng: np.random.Generator, n: int) -> IntArray:
    weights = np.array([b[2] for b in _HOUR_BLOCKS])
    block = rng.choice(len(_HOUR_BLOCKS), size=n, p=weights / weights.sum())
    out = np.empty(n, dtype=np.int64)
    for i, (days, hours, _) in enumerate(_HOUR_BLOCKS):
        sel = np.flatnonzero(block == i)
        day = rng.choice(np.array(list(days)), size=sel.size)
        hour = rng.choice(np.array(hours), size=sel.size)
        out[sel] = day * 24 + hour
    return out


def _next_preferred(wall: IntArray, hour_of_week: IntArray, rng: np.random.Generator) -> IntArray:
    """Wall time of the first preferred hour after ``wall``, plus 0-59 minutes."""
    hours = wall // _HOUR
    how = (hours + _WEEK_OFFSET_H) % 168
    ahead = (hour_of_week - how) % 168
    ahead = np.where(ahead == 0, 168, ahead)
    minutes = rng.integers(0, 60, size=wall.size)
    out: IntArray = (hours + ahead) * _HOUR + minutes * _MIN
    return out


def _poisson_times(
    rng: np.random.Generator, rate_per_day: FloatArray, lo: IntArray, hi: IntArray
) -> tuple[IntArray, IntArray]:
    """Owners and times of Poisson events on ``[lo, hi)`` per customer (vectorised)."""
    span = np.maximum(hi - lo, 0)
    counts = rng.poisson(rate_per_day * span / _DAY)
    owner = np.repeat(np.arange(rate_per_day.size), counts)
    times = lo[owner] + (rng.random(owner.size) * span[owner]).astype(np.int64)
    return owner, times


def simulate_engagement(
    n_customers: int = 2_000,
    *,
    start: Any = "2024-01-01",
    end: Any = "2024-12-31",
    n_campaigns: int = 12,
    channels: tuple[str, ...] = ("email", "email", "sms", "email", "push"),
    control_fraction: float = 0.1,
    channel_response: Mapping[str, float] | None = None,
    base_uplift: float = 0.02,
    affinity_uplift: float = 0.08,
    tz: str = "UTC",
    random_state: RandomState = None,
) -> SimulatedEngagement:
    """Simulate customers, consents, campaigns, engagement and orders with known effects.

    Parameters
    ----------
    n_customers : int, default 2000
        Customers to simulate.
    start, end : date-like, default 2024-01-01 .. 2024-12-31
        The simulated span (dates: midnight at the start, the end of the
        end date, in ``tz``).
    n_campaigns : int, default 12
        Campaigns, evenly spaced (the last one ends a week before ``end``).
    channels : tuple of str
        Sending channel of each campaign, cycled.
    control_fraction : float, default 0.1
        Control share of each campaign (:func:`select_audience`).
    channel_response : mapping, optional
        Uplift multiplier per channel (default email 1.0, sms 1.6, push 0.5).
    base_uplift, affinity_uplift : float
        The true incremental order probability of a treated, living member
        is ``response * (base_uplift + affinity_uplift * affinity)``.
    tz : str, default "UTC"
        Zone of every date column and of the preferred hours.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    SimulatedEngagement
        Frames in the shapes every marketing function takes, and the truth.

    Examples
    --------
    >>> sim = simulate_engagement(300, n_campaigns=3, random_state=1)
    >>> sim.events["type"].value_counts().loc[["send", "open", "click"]].gt(0).all()
    np.True_
    >>> bool(sim.members["true_uplift"].between(0, 1).all())
    True
    """
    n = int(check_scalar(n_customers, name="n_customers", low=1, integer=True))
    n_camp = int(check_scalar(n_campaigns, name="n_campaigns", low=1, integer=True))
    rng = check_random_state(random_state)
    response = dict(DEFAULT_RESPONSE if channel_response is None else channel_response)
    for ch in channels:
        if ch not in _COST_PER_MESSAGE:
            raise ValidationError(
                f"channels must be 'email', 'sms' or 'push'; got {ch!r}", field="channels"
            )
        if ch not in response:
            raise ValidationError(f"channel_response lacks {ch!r}", field="channel_response")
    zone = _time.to_zone(tz)
    t0 = _time.to_instant(start, name="start").tz_localize(zone).as_unit("ns").value
    t1 = _time.resolve_as_of(end, tz=zone, name="end").ns
    if t1 - t0 < 30 * _DAY:
        raise ValidationError("the simulated span must cover at least 30 days", field="end")

    ids = np.array([f"C{i:06d}" for i in range(n)], dtype=object)
    affinity = rng.random(n)
    propensity = rng.beta(2.0, 4.0, n)
    proxy = rng.random(n) < 0.15
    has_app = rng.random(n) < 0.35
    preferred = _preferred_hours(rng, n)
    buy_rate = rng.gamma(2.0, 1 / 90, n)  # orders per day
    churn_at = t0 + (rng.exponential(300.0, n) * _DAY).astype(np.int64)
    alive_end = np.minimum(churn_at, t1)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "age": rng.integers(18, 80, n),
            "tier": pd.Categorical(
                rng.choice(["bronze", "silver", "gold"], n, p=[0.6, 0.3, 0.1]),
                categories=["bronze", "silver", "gold"],
            ),
            "affinity": affinity,
            "email": np.char.add(ids.astype(str), "@example.com").astype(object),
        }
    )
    consents = _consents(rng, ids, t0)

    # organic orders while alive
    owner, when = _poisson_times(rng, buy_rate, np.full(n, t0), alive_end)
    order_owner, order_time = [owner], [when]
    incremental = [np.zeros(owner.size, dtype=bool)]

    # behaviour on the site and in the app
    ev: dict[str, list[Any]] = {k: [] for k in ("cust", "time", "type", "channel")}
    msg: dict[str, list[Any]] = {"camp": [], "variant": []}

    def emit(cust: IntArray, times: IntArray, kind: str, channel: str) -> None:
        if kind not in ("send", "deliver", "open", "click", "bounce", "unsubscribe", "complaint"):
            msg["camp"].append(np.full(cust.size, -1))
            msg["variant"].append(np.full(cust.size, None, dtype=object))
        ev["cust"].append(cust)
        ev["time"].append(times)
        ev["type"].append(np.full(cust.size, TYPES.index(kind), dtype=np.int8))
        ev["channel"].append(np.full(cust.size, CHANNELS.index(channel), dtype=np.int8))

    owner, when = _poisson_times(rng, np.full(n, 1 / 12), np.full(n, t0), alive_end)
    emit(owner, when, "web_visit", "web")
    carts = rng.random(owner.size) < 0.15
    cart_t = when[carts] + rng.integers(1, 30, carts.sum()) * _MIN
    emit(owner[carts], cart_t, "cart_add", "web")
    pre = cart_t >= churn_at[owner[carts]] - _PRE_CHURN
    abandon = rng.random(cart_t.size) < np.where(pre, 0.85, 0.5)
    emit(owner[carts][abandon], cart_t[abandon] + 45 * _MIN, "cart_abandon", "web")
    app_rate = np.where(has_app, 1 / 4, 0.0)
    owner, when = _poisson_times(rng, app_rate, np.full(n, t0), np.minimum(churn_at, t1))
    keep = (when < churn_at[owner] - _PRE_CHURN) | (rng.random(when.size) < 0.5)
    emit(owner[keep], when[keep], "app_usage", "app")

    # campaigns
    span = t1 - _WINDOW - t0
    send_days = t0 + (np.arange(1, n_camp + 1) * span // (n_camp + 1)) // _DAY * _DAY
    send_walls = _time.wall_ns(send_days, zone) // _DAY * _DAY + 9 * _HOUR
    send_times = _time.localize_wall(send_walls, zone)
    camp_rows, member_frames = [], []
    open_lift, click_lift = {"A": 1.0, "B": 1.25}, {"A": 1.0, "B": 1.1}
    for j in range(n_camp):
        channel = channels[j % len(channels)]
        cid = f"K{j + 1:02d}"
        at = _time.timestamps(send_times[j : j + 1], zone)[0]
        audience = select_audience(
            customers,
            channel=channel,
            as_of=at,
            control_fraction=control_fraction,
            random_state=f"sim-{cid}",
            campaign_id=cid,
            variants=["A", "B"],
            consents=consents,
            address_col="email" if channel == "email" else None,
            tz=zone,
        )
        mem = audience.members.copy()
        idx = pd.Index(ids).get_indexer(mem["customer_id"])
        treated = ~mem["control"].to_numpy(dtype=bool)
        t_send = int(send_times[j])
        alive_in_window = churn_at[idx] > t_send
        uplift = response[channel] * (base_uplift + affinity_uplift * affinity[idx])
        p_organic = 1 - np.exp(-buy_rate[idx] * _WINDOW / _DAY)
        mem["true_uplift"] = np.where(alive_in_window, uplift * (1 - p_organic), 0.0)
        member_frames.append(mem)
        c = idx[treated]
        variant = mem["variant"].to_numpy(dtype=object)[treated]
        for kind, local, times in _messages(
            rng,
            c,
            variant,
            t_send,
            channel,
            propensity,
            proxy,
            preferred,
            churn_at,
            open_lift,
            click_lift,
            zone,
        ):
            site = kind == "web_visit"
            emit(c[local], times, kind, "web" if site else channel)
            if not site:
                msg["camp"].append(np.full(local.size, j))
                msg["variant"].append(variant[local])
        extra = (rng.random(c.size) < uplift[treated]) & alive_in_window[treated]
        order_owner.append(c[extra])
        order_time.append(t_send + (rng.random(extra.sum()) * 5 * _DAY).astype(np.int64))
        incremental.append(np.ones(extra.sum(), dtype=bool))
        cost = 300.0 + _COST_PER_MESSAGE[channel] * treated.sum()
        camp_rows.append((cid, channel, at, cost))

    return _assemble(
        rng,
        ids,
        customers,
        consents,
        camp_rows,
        member_frames,
        ev,
        msg,
        order_owner,
        order_time,
        incremental,
        zone,
        TrueEffects(
            channel_response=response,
            variant_open_lift=open_lift,
            variant_click_lift=click_lift,
            base_uplift=float(base_uplift),
            affinity_uplift=float(affinity_uplift),
            preferred_hour=pd.Series(preferred, index=pd.Index(ids, name="customer_id")),
            churn_at=pd.Series(
                _time.timestamps(churn_at, zone), index=pd.Index(ids, name="customer_id")
            ),
            proxy=pd.Series(proxy, index=pd.Index(ids, name="customer_id")),
            open_propensity=pd.Series(propensity, index=pd.Index(ids, name="customer_id")),
        ),
    )


def _consents(rng: np.random.Generator, ids: Any, t0: int) -> pd.DataFrame:
    """Opt-ins before the start, some refusals, and withdrawals during the span."""
    frames = []
    n = ids.size
    for channel, rate in _CONSENT_RATE.items():
        u = rng.random(n)
        granted = u < rate
        refused = (u >= rate) & (u < rate + 0.05)
        asked = granted | refused
        when = t0 - (rng.random(n) * 365 * _DAY).astype(np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": ids[asked],
                    "channel": channel,
                    "granted": granted[asked],
                    "date": when[asked],
                }
            )
        )
        later = granted & (rng.random(n) < 0.06)
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": ids[later],
                    "channel": channel,
                    "granted": False,
                    "date": t0 + (rng.random(later.sum()) * 300 * _DAY).astype(np.int64),
                }
            )
        )
    log = pd.concat(frames, ignore_index=True)
    log["date"] = _time.timestamps(log["date"].to_numpy(dtype=np.int64), "UTC")
    return log.sort_values(["date", "customer_id"], kind="stable", ignore_index=True)


def _messages(  # noqa: PLR0917 - internal: one campaign's inputs
    rng: np.random.Generator,
    c: IntArray,
    variant: Any,
    t_send: int,
    channel: str,
    propensity: FloatArray,
    proxy: Any,
    preferred: IntArray,
    churn_at: IntArray,
    open_lift: dict[str, float],
    click_lift: dict[str, float],
    zone: Any,
) -> list[tuple[str, IntArray, IntArray]]:
    """Message events of one campaign's treated members: (type, local index, times)."""
    m = c.size
    local = np.arange(m)
    out: list[tuple[str, IntArray, IntArray]] = []
    sent = t_send + rng.integers(0, 600, m) * _time.NS_PER_SECOND
    out.append(("send", local, sent))
    bounced = rng.random(m) < 0.02
    out.append(("bounce", local[bounced], sent[bounced] + 30 * _time.NS_PER_SECOND))
    d = local[~bounced]
    delivered = sent[d] + rng.integers(1, 60, d.size) * _time.NS_PER_SECOND
    out.append(("deliver", d, delivered))
    churn = churn_at[c[d]]
    state = np.where(delivered < churn - _PRE_CHURN, 1.0, np.where(delivered < churn, 0.5, 0.1))
    o_lift = np.array([open_lift[v] for v in variant[d]]) if d.size else np.zeros(0)
    c_lift = np.array([click_lift[v] for v in variant[d]]) if d.size else np.zeros(0)
    if channel in ("email", "push"):
        p_open = np.minimum(propensity[c[d]] * state * o_lift, 0.95)
        opens = rng.random(d.size) < p_open
        wall = _time.wall_ns(delivered[opens], zone)
        at_pref = _time.localize_wall(_next_preferred(wall, preferred[c[d][opens]], rng), zone)
        soon = delivered[opens] + ((1.0 + rng.exponential(20.0, opens.sum())) * _MIN).astype(
            np.int64
        )
        human = np.where(rng.random(opens.sum()) < 0.75, at_pref, soon)
        if channel == "email":
            machine = proxy[c[d]]
            quick = delivered[machine] + rng.integers(1, 9, machine.sum()) * _time.NS_PER_SECOND
            out.append(("open", d[machine], quick))
        out.append(("open", d[opens], human))
        clicks = rng.random(opens.sum()) < np.minimum(0.2 * c_lift[opens], 1.0)
        click_t = human[clicks] + rng.integers(5, 120, clicks.sum()) * _time.NS_PER_SECOND
        who = d[opens][clicks]
    else:
        clicks = rng.random(d.size) < 0.05 * state * c_lift
        click_t = delivered[clicks] + (rng.exponential(15.0, clicks.sum()) * _MIN).astype(np.int64)
        who = d[clicks]
    out.append(("click", who, click_t))
    out.append(("web_visit", who, click_t + 30 * _time.NS_PER_SECOND))
    unsub = rng.random(d.size) < 0.004
    out.append(("unsubscribe", d[unsub], delivered[unsub] + 3 * _HOUR))
    if channel in ("email", "sms"):
        complaint = rng.random(d.size) < 0.0005
        out.append(("complaint", d[complaint], delivered[complaint] + 4 * _HOUR))
    return out


def _assemble(  # noqa: PLR0917 - internal: the simulation's pieces
    rng: np.random.Generator,
    ids: Any,
    customers: pd.DataFrame,
    consents: pd.DataFrame,
    camp_rows: list[tuple[str, str, pd.Timestamp, float]],
    member_frames: list[pd.DataFrame],
    ev: dict[str, list[Any]],
    msg: dict[str, list[Any]],
    order_owner: list[IntArray],
    order_time: list[IntArray],
    incremental: list[Any],
    zone: Any,
    truth: TrueEffects,
) -> SimulatedEngagement:
    cust = np.concatenate(ev["cust"])
    times = np.concatenate(ev["time"])
    order = np.argsort(times, kind="stable")
    cust, times = cust[order], times[order]
    kind = np.concatenate(ev["type"])[order]
    channel = np.concatenate(ev["channel"])[order]
    camp = np.concatenate(msg["camp"])[order]
    variant = np.concatenate(msg["variant"])[order]
    camp_ids = np.array([r[0] for r in camp_rows] + [None], dtype=object)
    campaign_id = camp_ids[camp]  # -1 picks the trailing None
    message_id = np.full(camp.size, None, dtype=object)
    sent = camp >= 0
    message_id[sent] = campaign_id[sent].astype(str) + "-" + variant[sent].astype(str)
    agents = np.full(kind.size, None, dtype=object)
    agents[kind == TYPES.index("open")] = "Mozilla/5.0"
    events = pd.DataFrame(
        {
            "event_id": np.arange(cust.size, dtype=np.int64),
            "customer_id": ids[cust],
            "campaign_id": campaign_id,
            "message_id": message_id,
            "variant": variant,
            "channel": pd.Categorical.from_codes(channel, categories=pd.Index(CHANNELS)),
            "type": pd.Categorical.from_codes(kind, categories=pd.Index(TYPES)),
            "date": _time.timestamps(times, zone),
            "user_agent": agents,
        }
    )
    o_owner = np.concatenate(order_owner)
    o_time = np.concatenate(order_time)
    o_inc = np.concatenate(incremental)
    o_order = np.argsort(o_time, kind="stable")
    amount = np.round(rng.lognormal(3.8, 0.6, o_owner.size), 2)
    orders = pd.DataFrame(
        {
            "customer_id": ids[o_owner[o_order]],
            "date": _time.timestamps(o_time[o_order], zone),
            "amount": amount,
            "incremental": o_inc[o_order],
        }
    )
    campaigns = pd.DataFrame(camp_rows, columns=["campaign_id", "channel", "start", "cost"])
    members = pd.concat(member_frames, ignore_index=True)
    consents = consents.assign(date=consents["date"].dt.tz_convert(zone))
    return SimulatedEngagement(
        customers=customers,
        consents=consents,
        campaigns=campaigns,
        members=members,
        events=events,
        orders=orders,
        truth=truth,
    )
