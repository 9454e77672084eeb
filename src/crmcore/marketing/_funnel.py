"""Message events -> one row per message and member, with funnel flags and machine opens.

A *message unit* is one message (``message_id``; the campaign itself when
there is no message column) to one member. Each unit gets a flag per stage;
later stages imply the earlier ones, so rates never exceed 1 when a tracking
pixel or a delivery receipt is lost::

    sent >= delivered >= opened >= clicked

(an open, click, unsubscribe or complaint implies delivery; a delivery or a
bounce implies a send; a click implies an open).

**Machine opens.** Privacy proxies (Apple Mail Privacy Protection is the
large one) fetch every message's images within seconds of delivery, whether
anybody reads it. An open counts as a *machine open*, and is dropped from
``opened`` / ``opens``, when it comes no later than ``delay`` after the
unit's delivery (its send when no delivery is recorded) and

1. ``machine_col`` (a boolean column from the sending platform) marks it, or
2. its user agent contains one of ``proxy_agents`` (none by default: the
   Gmail and Yahoo image proxies fetch when a person opens, and Apple's
   proxy has no distinctive user agent), or
3. its customer is a *proxy customer*: at least ``min_messages`` messages
   delivered, and every one of them opened within ``delay``.

A machine open is counted in ``machine_opens``. Later opens of the same
message are human. Clicks are never dropped (and imply an open).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmcore._types import BoolArray, IntArray
from crmcore.errors import ValidationError
from crmcore.marketing._frame import CHANNEL_CODE, TYPE_CODE, id_codes
from crmcore.marketing._windows import GroupedTimes, compact

__all__ = ["MachineOpenRule", "Units", "fast_opens", "message_units", "proxy_markers"]

_BIG = np.iinfo(np.int64).max

SEND, DELIVER, OPEN, CLICK = (TYPE_CODE[k] for k in ("send", "deliver", "open", "click"))
BOUNCE, UNSUB, COMPLAINT = (TYPE_CODE[k] for k in ("bounce", "unsubscribe", "complaint"))
_TRACKED = np.array([CHANNEL_CODE["email"], CHANNEL_CODE["push"]])


@dataclass(frozen=True, slots=True)
class MachineOpenRule:
    """The machine-open rule's settings (see the module docstring)."""

    exclude: bool
    delay_ns: int
    proxy_agents: tuple[str, ...]
    min_messages: int
    user_agent: pd.Series | None  # per kept event, or None
    machine: BoolArray | None  # per kept event, or None


@dataclass(frozen=True, slots=True)
class Units:
    """One entry per (member, message) with at least one event."""

    member: IntArray
    sent: BoolArray
    delivered: BoolArray
    bounced: BoolArray
    opened: BoolArray
    clicked: BoolArray
    unsubscribed: BoolArray
    complained: BoolArray
    opens: IntArray  # human open events per unit
    machine_opens: IntArray
    clicks: IntArray
    first_send: IntArray  # earliest send (else earliest event) per unit
    tracked: BoolArray  # on a channel that tracks opens (e-mail, push)


def _min_at(n: int, index: IntArray, values: IntArray) -> IntArray:
    out = np.full(n, _BIG, dtype=np.int64)
    np.minimum.at(out, index, values)
    return out


def message_units(  # noqa: PLR0917 - one array per event column
    member: IntArray,
    message: IntArray,
    n_messages: int,
    types: IntArray,
    times: IntArray,
    customer: IntArray,
    n_customers: int,
    rule: MachineOpenRule,
    channel: IntArray | None = None,
) -> Units:
    """Collapse message events (already mapped to member rows) into units.

    ``channel`` (codes per event) marks the units on channels that track
    opens; without it every unit does.
    """
    keys = member * max(n_messages, 1) + message
    ukeys, unit = compact(keys)
    n = ukeys.size
    unit_member = ukeys // max(n_messages, 1)

    def has(code: int) -> BoolArray:
        flag = np.zeros(n, dtype=bool)
        flag[unit[types == code]] = True
        return flag

    is_send = types == SEND
    send_time = _min_at(n, unit[is_send], times[is_send])
    any_time = _min_at(n, unit, times)
    first_send = np.where(send_time < _BIG, send_time, any_time)
    is_deliver = types == DELIVER
    deliver_time = _min_at(n, unit[is_deliver], times[is_deliver])
    base = np.where(deliver_time < _BIG, deliver_time, first_send)

    is_open = types == OPEN
    machine = np.zeros(types.size, dtype=bool)
    if rule.exclude and is_open.any():
        reached = has(DELIVER) | has(OPEN) | has(CLICK)
        machine = _machine_opens(is_open, unit, times, base, reached, customer, n_customers, rule)
    human = is_open & ~machine
    opens = np.bincount(unit[human], minlength=n).astype(np.int64)
    machine_opens = np.bincount(unit[machine], minlength=n).astype(np.int64)
    is_click = types == CLICK
    clicks = np.bincount(unit[is_click], minlength=n).astype(np.int64)

    clicked = clicks > 0
    opened = (opens > 0) | clicked
    unsubscribed, complained = has(UNSUB), has(COMPLAINT)
    delivered = has(DELIVER) | opened | unsubscribed | complained
    bounced = has(BOUNCE)
    sent = has(SEND) | delivered | bounced
    tracked = np.ones(n, dtype=bool)
    if channel is not None:
        tracked = np.zeros(n, dtype=bool)
        on_tracked = np.zeros(int(channel.max()) + 1 if channel.size else 1, dtype=bool)
        on_tracked[_TRACKED[on_tracked.size > _TRACKED]] = True
        tracked[unit[on_tracked[channel]]] = True
    return Units(
        member=unit_member,
        sent=sent,
        delivered=delivered,
        bounced=bounced,
        opened=opened,
        clicked=clicked,
        unsubscribed=unsubscribed,
        complained=complained,
        opens=opens,
        machine_opens=machine_opens,
        clicks=clicks,
        first_send=first_send,
        tracked=tracked,
    )


def _machine_opens(  # noqa: PLR0917 - internal, one array per event column
    is_open: BoolArray,
    unit: IntArray,
    times: IntArray,
    base: IntArray,
    reached: BoolArray,
    customer: IntArray,
    n_customers: int,
    rule: MachineOpenRule,
) -> BoolArray:
    delay = times - base[unit]
    fast = is_open & (delay >= 0) & (delay <= rule.delay_ns)
    flagged = np.zeros(is_open.size, dtype=bool)
    if rule.machine is not None:
        flagged |= rule.machine & is_open
    if rule.proxy_agents and rule.user_agent is not None:
        rows = np.flatnonzero(fast)
        agents = rule.user_agent.iloc[rows].astype(str).str.lower()
        hit = np.zeros(rows.size, dtype=bool)
        for marker in rule.proxy_agents:
            hit |= agents.str.contains(marker.lower(), regex=False).to_numpy(dtype=bool)
        flagged[rows[hit]] = True
    # proxy customers: every delivered unit opened within the delay
    n = base.size
    unit_customer = np.zeros(n, dtype=np.int64)
    unit_customer[unit] = customer
    fast_unit = np.zeros(n, dtype=bool)
    fast_unit[unit[fast]] = True
    n_units = np.bincount(unit_customer[reached], minlength=n_customers)
    n_fast = np.bincount(unit_customer[fast_unit & reached], minlength=n_customers)
    proxy = (n_units >= rule.min_messages) & (n_fast == n_units)
    out: BoolArray = fast & (flagged | proxy[customer])
    return out


def proxy_markers(value: Any) -> tuple[str, ...]:
    """Validate ``proxy_agents``: a sequence of non-empty strings."""
    if isinstance(value, str):
        value = (value,)
    try:
        markers = tuple(value)
    except TypeError:
        markers = (value,)
    for m in markers:
        if not isinstance(m, str) or not m:
            raise ValidationError(
                f"proxy_agents must be non-empty strings; got {m!r}", field="proxy_agents"
            )
    return markers


def fast_opens(types: IntArray, times: IntArray, ids: pd.Series, delay_ns: int) -> BoolArray:
    """Flag the opens within ``delay_ns`` after the same customer's latest delivery.

    The simple machine-open rule of send-time profiles and engagement
    features (which have no campaign members to apply the full rule to):
    such an open says when the message arrived, not when anybody read it.
    """
    opens = types == OPEN
    deliver = types == DELIVER
    out = np.zeros(types.size, dtype=bool)
    if not (opens.any() and deliver.any()):
        return out
    both = np.flatnonzero(opens | deliver)
    cust, _ = id_codes(ids.iloc[both])
    is_d = deliver[both]
    t = times[both]
    grouped = GroupedTimes(cust[is_d], t[is_d], int(cust.max()) + 1)
    last = grouped.last_at_or_before(cust[~is_d], t[~is_d])
    prev = t[is_d][np.maximum(last, 0)]
    fast = (last >= 0) & (t[~is_d] - prev <= delay_ns)
    out[both[~is_d][fast]] = True
    return out
