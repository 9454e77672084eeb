"""Per-customer engagement features for churn models and lead scoring."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import IntArray
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.marketing._frame import TYPE_CODE, id_codes, read_events, row_ids, type_mask
from crmcore.marketing._funnel import fast_opens

__all__ = ["BANDS", "COUNTED", "engagement_features"]

COUNTED: dict[str, str] = {
    "sends": "send",
    "opens": "open",
    "clicks": "click",
    "web_visits": "web_visit",
    "cart_abandons": "cart_abandon",
    "app_sessions": "app_usage",
}
"""Windowed count columns and the event type each counts."""

BANDS: tuple[str, ...] = ("never_engaged", "dormant", "lapsing", "active")
"""Levels of the ``engagement_band`` column, from least to most engaged."""

_ENGAGED = ("open", "click", "web_visit", "form_submit", "download", "cart_add", "app_usage")
_NEVER = np.iinfo(np.int64).min


def _windows(windows: Any) -> list[tuple[str, int]]:
    items = [windows] if isinstance(windows, str) else list(windows)
    if not items:
        raise ValidationError("windows must name at least one duration", field="windows")
    out: list[tuple[str, int]] = []
    for w in items:
        ns = int(_time.to_duration(w, name="windows").value)
        if ns % _time.NS_PER_SECOND:
            raise ValidationError(
                f"window {w!r} is not a whole number of seconds (it names its columns)",
                field="windows",
                value=w,
            )
        label = f"{ns // _time.NS_PER_DAY}d" if ns % _time.NS_PER_DAY == 0 else f"{ns // 10**9}s"
        if any(label == seen for seen, _ in out):
            raise ValidationError(f"window {w!r} is given twice", field="windows", value=w)
        out.append((label, ns))
    return out


def engagement_features(
    events: pd.DataFrame,
    *,
    as_of: Any,
    windows: Sequence[Any] = ("30D", "90D"),
    customers: Any = None,
    machine_open_delay: Any = "10s",
    customer_col: str = "customer_id",
    date_col: str = "date",
    type_col: str = "type",
) -> pd.DataFrame:
    """Engagement features per customer as of a moment, for churn models and lead scoring.

    Rows and index follow :func:`crmcore.segmentation.customer_features`
    (sorted customer ids named ``customer_col``; events after ``as_of``
    unseen; windows ``(as_of - w, as_of]``), so the two join on the index.

    Parameters
    ----------
    events : DataFrame
        The engagement frame (:func:`engagement_frame`).
    as_of : date-like
        The moment described.
    windows : sequence of durations, default ("30D", "90D")
        Look-back windows of the counts.
    customers : sequence, optional
        Return exactly these customers, in this order (counts 0, recencies
        NaN and band ``"never_engaged"`` for those without events); default:
        every customer with an event on or before ``as_of``.
    machine_open_delay : duration, default "10s"
        Opens this soon after the customer's latest delivery are not counted
        (privacy proxies open every message on arrival).
    customer_col, date_col, type_col : str
        Column names.

    Returns
    -------
    DataFrame
        Per window ``<w>`` (``30d``): ``sends_<w>``, ``opens_<w>``,
        ``clicks_<w>``, ``web_visits_<w>``, ``cart_abandons_<w>``,
        ``app_sessions_<w>`` (ints). Then ``days_since_last_open``,
        ``days_since_last_click``, ``days_since_last_visit`` (web or app),
        ``days_since_first_event`` (float days, NaN: never),
        ``non_open_streak`` (messages delivered since the last open; all of
        them if none was opened; sends count where no delivery is recorded),
        ``unsubscribed`` (an unsubscribe on or before ``as_of``) and
        ``engagement_band``, an ordered categorical (:data:`BANDS`):
        ``active`` (engaged in the shortest window), ``lapsing`` (in the
        longest), ``dormant`` (earlier), ``never_engaged``. Engaged means an
        open, click, visit, form, download, cart or app session. The band
        suits :class:`~crmcore.pipeline.LeadScorer`'s categorical features.

    Raises
    ------
    ValidationError
        Missing columns, unknown types, a bad window, missing customer ids.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "a", "a", "b"],
    ...         "type": ["deliver", "open", "deliver", "deliver", "app_usage"],
    ...         "date": pd.to_datetime(
    ...             [
    ...                 "2024-05-01 08:00",
    ...                 "2024-05-01 19:00",
    ...                 "2024-05-20 08:00",
    ...                 "2024-05-27 08:00",
    ...                 "2024-03-01 12:00",
    ...             ]
    ...         ),
    ...     }
    ... )
    >>> f = engagement_features(events, as_of="2024-05-31")
    >>> f[["opens_90d", "non_open_streak", "days_since_last_open", "engagement_band"]]
                 opens_90d  non_open_streak  days_since_last_open engagement_band
    customer_id
    a                    1                2             30.208333         lapsing
    b                    0                0                   NaN         dormant
    """
    wins = _windows(windows)
    check_columns(events, [customer_col], name="events")
    log = read_events(
        events, as_of=as_of, date_col=date_col, type_col=type_col, channel_col=None, id_col=None
    )
    ids = row_ids(log.frame[customer_col], name=customer_col, frame_index=log.frame.index)
    delay = int(_time.to_duration(machine_open_delay, name="machine_open_delay").value)
    keep = ~fast_opens(log.type, log.times, ids, delay)
    types, times = log.type[keep], log.times[keep]
    kept_ids = ids.iloc[np.flatnonzero(keep)] if not keep.all() else ids
    codes, uniques = id_codes(kept_ids)
    index = pd.Index(uniques, name=customer_col)
    n = len(index)
    as_of_ns = log.cutoff.ns
    age = as_of_ns - times
    lengths = np.array(sorted(ns for _, ns in wins), dtype=np.int64)
    width = lengths.size + 1
    bucket = np.zeros(times.size, dtype=np.int64)
    for w in lengths:
        bucket += age >= w
    cols: dict[str, Any] = {}
    for name, kind in COUNTED.items():
        sel = types == TYPE_CODE[kind]
        per = np.bincount(codes[sel] * width + bucket[sel], minlength=n * width)
        per = per.reshape(n, width).cumsum(axis=1)
        for label, ns in wins:
            cols[f"{name}_{label}"] = per[:, int(np.searchsorted(lengths, ns))].astype(np.int64)

    def last_of(kinds: Sequence[str]) -> IntArray:
        sel = type_mask(types, kinds)
        out = np.full(n, _NEVER, dtype=np.int64)
        np.maximum.at(out, codes[sel], times[sel])
        return out

    def days_since(last: IntArray) -> Any:
        return np.where(last == _NEVER, np.nan, (as_of_ns - last) / _time.NS_PER_DAY)

    last_open = last_of(("open",))
    cols["days_since_last_open"] = days_since(last_open)
    cols["days_since_last_click"] = days_since(last_of(("click",)))
    cols["days_since_last_visit"] = days_since(last_of(("web_visit", "app_usage")))
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, times)
    cols["days_since_first_event"] = (as_of_ns - first) / _time.NS_PER_DAY
    delivered = types == TYPE_CODE["deliver"]
    has_delivery = np.bincount(codes[delivered], minlength=n) > 0
    sent = (types == TYPE_CODE["send"]) & ~has_delivery[codes]
    message = delivered | sent
    after = message & (times > last_open[codes])
    cols["non_open_streak"] = np.bincount(codes[after], minlength=n).astype(np.int64)
    cols["unsubscribed"] = np.bincount(codes[types == TYPE_CODE["unsubscribe"]], minlength=n) > 0
    engaged = last_of(_ENGAGED)
    shortest, longest = int(lengths[0]), int(lengths[-1])
    band = np.where(
        engaged == _NEVER,
        0,
        np.where(as_of_ns - engaged < shortest, 3, np.where(as_of_ns - engaged < longest, 2, 1)),
    )
    cols["engagement_band"] = pd.Categorical.from_codes(
        band, categories=pd.Index(BANDS), ordered=True
    )
    out = pd.DataFrame(cols, index=index)
    if customers is not None:
        out = _reindex(out, pd.Index(customers, name=customer_col))
    return out


def _reindex(frame: pd.DataFrame, wanted: pd.Index) -> pd.DataFrame:
    out = frame.reindex(wanted)
    missing = ~wanted.isin(frame.index)
    if missing.any():
        for col in out.columns:
            if col.startswith(tuple(f"{k}_" for k in COUNTED)) or col == "non_open_streak":
                out[col] = out[col].fillna(0).astype(np.int64)
        out["unsubscribed"] = out["unsubscribed"].fillna(value=False).astype(bool)
        out["engagement_band"] = out["engagement_band"].fillna("never_engaged")
    return out
