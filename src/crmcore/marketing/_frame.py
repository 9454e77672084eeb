"""The canonical engagement frame, and reading one into integer arrays.

Every marketing function takes a pandas DataFrame of events with these
columns (names configurable with the ``*_col`` arguments):

==================  =====================================================
``event_id``        optional; unique when present (duplicates refused)
``customer_id``     who (``customer_col``)
``campaign_id``     the campaign (message events of a campaign)
``message_id``      optional: one message (a campaign may send several)
``variant``         optional: the A/B arm
``channel``         ``email``, ``sms``, ``push``, ``web``, ``app``
``type``            ``send``, ``deliver``, ``open``, ``click``, ``bounce``,
                    ``unsubscribe``, ``complaint``, ``web_visit``,
                    ``form_submit``, ``download``, ``cart_add``,
                    ``cart_abandon``, ``app_usage``
``date``            when (``date_col``): any datetime64, naive or aware
``...``             properties, one column each (``user_agent``...)
==================  =====================================================

:func:`engagement_frame` builds it from :class:`EngagementEvent` values (the
``type`` column holds each event's ``kind``), and
``store.events.engagement()`` reads it from a store.  ``type`` and
``channel`` are categorical there; plain strings work too (categoricals are
read fastest).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, IntArray
from crmcore._validation import check_columns, first_bad
from crmcore.domain import Consent
from crmcore.errors import ValidationError
from crmcore.marketing._domain import (
    CHANNEL_TYPES,
    CampaignMember,
    Channel,
    EngagementEvent,
    EngagementType,
)

__all__ = [
    "CHANNELS",
    "TYPES",
    "EventLog",
    "consent_log",
    "engagement_frame",
    "enum_codes",
    "id_codes",
    "members_frame",
    "read_events",
    "row_ids",
    "type_mask",
]

TYPES: tuple[str, ...] = tuple(t.value for t in EngagementType)
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
TYPE_CODE = {name: i for i, name in enumerate(TYPES)}
CHANNEL_CODE = {name: i for i, name in enumerate(CHANNELS)}
_ALLOWED = np.zeros((len(TYPES), len(CHANNELS)), dtype=bool)
for _type, _channels in CHANNEL_TYPES.items():
    for _channel in _channels:
        _ALLOWED[TYPE_CODE[_type.value], CHANNEL_CODE[_channel.value]] = True


def engagement_frame(
    events: Iterable[EngagementEvent], *, properties: Sequence[str] = (), tz: Any = "UTC"
) -> pd.DataFrame:
    """Turn engagement events into the canonical engagement frame.

    Parameters
    ----------
    events : iterable of EngagementEvent
        The events, in any order.
    properties : sequence of str, default ()
        Property keys to expand into columns of their own (missing: ``None``),
        e.g. ``("user_agent",)`` for :func:`campaign_kpis`' machine-open rule.
    tz : str or tzinfo, default "UTC"
        Zone of the ``date`` column (events keep their instants; the zone
        decides the wall clock of calendar periods and send hours).

    Returns
    -------
    DataFrame
        Columns ``event_id``, ``customer_id``, ``contact_id``,
        ``campaign_id``, ``message_id``, ``variant``, ``channel`` and
        ``type`` (the event's ``kind``; categoricals over every channel and
        type), ``date``
        (aware, in ``tz``), then one column per property; one row per event
        in the order given.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.marketing import EngagementEvent
    >>> t = dt.datetime(2024, 5, 2, 8, 30, tzinfo=dt.UTC)
    >>> frame = engagement_frame(
    ...     [
    ...         EngagementEvent(id="e1", kind="send", channel="email", at=t, customer_id="C-1"),
    ...         EngagementEvent(
    ...             id="e2",
    ...             kind="open",
    ...             channel="email",
    ...             at=t,
    ...             customer_id="C-1",
    ...             properties={"user_agent": "Mozilla/5.0"},
    ...         ),
    ...     ],
    ...     properties=["user_agent"],
    ... )
    >>> frame[["customer_id", "type", "user_agent"]]
      customer_id  type   user_agent
    0         C-1  send         None
    1         C-1  open  Mozilla/5.0
    """
    rows = list(events)
    for i, e in enumerate(rows):
        if not isinstance(e, EngagementEvent):
            raise ValidationError(
                f"events[{i}] is a {type(e).__name__}, not an EngagementEvent",
                field="events",
                row=i,
            )
    keys = [str(p) for p in ([properties] if isinstance(properties, str) else properties)]

    def column(values: list[Any]) -> pd.Series:
        return pd.Series(values, dtype=object)

    data: dict[str, Any] = {
        "event_id": column([e.id for e in rows]),
        "customer_id": column([e.customer_id for e in rows]),
        "contact_id": column([e.contact_id for e in rows]),
        "campaign_id": column([e.campaign_id for e in rows]),
        "message_id": column([e.message_id for e in rows]),
        "variant": column([e.variant for e in rows]),
        "channel": pd.Categorical([e.channel.value for e in rows], categories=CHANNELS),
        "type": pd.Categorical([e.kind.value for e in rows], categories=TYPES),
        "date": _time.datetime_index([e.at for e in rows], name="at", tz=tz, unit="us"),
    }
    for key in keys:
        data[key] = column([e.properties.get(key) for e in rows])
    return pd.DataFrame(data)


def members_frame(members: Iterable[CampaignMember], *, tz: Any = "UTC") -> pd.DataFrame:
    """Turn campaign members into a frame for :func:`campaign_kpis`.

    Parameters
    ----------
    members : iterable of CampaignMember
        The members.
    tz : str or tzinfo, default "UTC"
        Zone of the ``selected_at`` column.

    Returns
    -------
    DataFrame
        Columns ``campaign_id``, ``customer_id``, ``variant``, ``control``,
        ``selected_at``; one row per member, in the order given.
    """
    rows = list(members)
    for i, m in enumerate(rows):
        if not isinstance(m, CampaignMember):
            raise ValidationError(
                f"members[{i}] is a {type(m).__name__}, not a CampaignMember",
                field="members",
                row=i,
            )
    return pd.DataFrame(
        {
            "campaign_id": pd.Series([m.campaign_id for m in rows], dtype=object),
            "customer_id": pd.Series([m.customer_id for m in rows], dtype=object),
            "variant": pd.Series([m.variant for m in rows], dtype=object),
            "control": np.array([m.control for m in rows], dtype=bool),
            "selected_at": _time.datetime_index(
                [m.selected_at for m in rows], name="selected_at", tz=tz, unit="us"
            ),
        }
    )


def consent_log(parties: Iterable[Any], *, customer_col: str = "customer_id") -> pd.DataFrame:
    """Flatten the consent histories of customers or contacts into one frame.

    Parameters
    ----------
    parties : iterable of Customer or Contact
        Anything with an ``id`` and a ``consents`` tuple of
        :class:`~crmcore.domain.Consent`.
    customer_col : str, default "customer_id"
        Name of the id column.

    Returns
    -------
    DataFrame
        One row per consent: ``customer_col``, ``channel``, ``granted``,
        ``date`` (aware, UTC), ``source``; within a party in the order
        recorded, which :func:`select_audience` uses to break ties between
        consents given at the same instant (the one recorded last wins, as
        in :func:`crmcore.domain.current_consent`).
    """
    ids: list[Any] = []
    channels: list[str] = []
    granted: list[bool] = []
    at: list[Any] = []
    sources: list[str | None] = []
    for party in parties:
        for consent in party.consents:
            if not isinstance(consent, Consent):
                raise ValidationError(
                    f"party {party.id!r} holds {consent!r}, not a Consent", field="consents"
                )
            ids.append(party.id)
            channels.append(consent.channel)
            granted.append(consent.granted)
            at.append(consent.at)
            sources.append(consent.source)
    return pd.DataFrame(
        {
            customer_col: pd.Series(ids, dtype=object),
            "channel": pd.Series(channels, dtype=object),
            "granted": np.array(granted, dtype=bool),
            "date": _time.datetime_index(at, name="at", unit="us"),
            "source": pd.Series(sources, dtype=object),
        }
    )


# ---------------------------------------------------------------- reading


def enum_codes(
    values: pd.Series, vocabulary: dict[str, int], *, name: str, frame_index: pd.Index
) -> IntArray:
    """Integer codes of a column of enum names (case-insensitive); unknown names refused."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = list(values.cat.categories)
    else:
        codes, uniq = pd.factorize(values, use_na_sentinel=True)
        uniques = list(uniq)
    lookup = np.array(
        [vocabulary.get(u.strip().lower(), -1) if isinstance(u, str) else -1 for u in uniques]
        + [-1],
        dtype=np.int64,
    )
    out = lookup[codes]  # code -1 (missing) picks the trailing -1
    bad = out < 0
    if bad.any():
        allowed = ", ".join(repr(v) for v in vocabulary)
        first_bad(
            bad,
            name=name,
            problem=f"must be one of {allowed}",
            values=values.to_numpy(dtype=object),
            index=frame_index,
        )
    return out


def id_codes(values: Any) -> tuple[IntArray, pd.Index]:
    """Codes of ids, numbered in sorted id order, and the distinct ids.

    Small non-negative integer ids are addressed directly (no hashing);
    ids that do not sort together are numbered in order of appearance.
    """
    arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if arr.dtype.kind in "iu" and arr.size:
        low, high = int(arr.min()), int(arr.max())
        if low >= 0 and high < max(4 * arr.size, 1 << 20):
            present = np.zeros(high + 1, dtype=bool)
            present[arr] = True
            code = np.cumsum(present, dtype=np.int64) - 1
            return code[arr], pd.Index(np.flatnonzero(present).astype(arr.dtype))
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def type_mask(types: IntArray, names: Any) -> BoolArray:
    """Which events have one of the named types (a table look-up, not ``isin``)."""
    table = np.zeros(len(TYPES), dtype=bool)
    table[[TYPE_CODE[n] for n in names]] = True
    out: BoolArray = table[types]
    return out


def row_ids(values: pd.Series, *, name: str, frame_index: pd.Index) -> pd.Series:
    """Check an id column has no missing values; return it."""
    missing = values.isna().to_numpy(dtype=bool)
    if missing.any():
        first_bad(
            missing,
            name=name,
            problem="must not be missing",
            values=values.to_numpy(dtype=object),
            index=frame_index,
        )
    return values


@dataclass(frozen=True, slots=True)
class EventLog:
    """Events at or before ``as_of``, as integer arrays (positions into the kept rows)."""

    frame: pd.DataFrame
    """The kept rows of the caller's frame (a view when nothing was cut)."""
    times: IntArray
    tz: Any
    cutoff: _time.Cutoff
    type: IntArray
    channel: IntArray | None

    @property
    def size(self) -> int:
        """Number of kept events."""
        return int(self.times.size)


def read_events(
    events: pd.DataFrame,
    *,
    as_of: Any,
    date_col: str,
    type_col: str,
    channel_col: str | None,
    id_col: str | None = "event_id",
    required: Sequence[str] = (),
    name: str = "events",
) -> EventLog:
    """Validate an engagement frame and keep the events at or before ``as_of``.

    Checks run on the kept rows only (history), so events after ``as_of``
    never change an answer: unknown types and channels, a type on a channel
    it cannot happen on, missing ids in ``required`` columns, and repeated
    event ids (when ``id_col`` is a column) are refused with the first
    offending row.
    """
    if not isinstance(events, pd.DataFrame):
        raise ValidationError(
            f"{name} must be a pandas DataFrame; got {type(events).__name__}", field=name
        )
    cols = [date_col, type_col, *([channel_col] if channel_col else []), *required]
    check_columns(events, cols, name=name)
    dates = _time.read_dates(events[date_col], name=date_col, row_name="event")
    cutoff = dates.cutoff(as_of)
    keep: BoolArray = dates.ns <= cutoff.ns
    if keep.all():
        frame, times = events, dates.ns
    else:
        frame, times = events.loc[keep], dates.ns[keep]
    index = frame.index
    type_codes = enum_codes(frame[type_col], TYPE_CODE, name=type_col, frame_index=index)
    channel_codes = None
    if channel_col:
        channel_codes = enum_codes(
            frame[channel_col], CHANNEL_CODE, name=channel_col, frame_index=index
        )
        wrong = ~_ALLOWED[type_codes, channel_codes]
        if wrong.any():
            pos = int(np.flatnonzero(wrong)[0])
            t, c = TYPES[type_codes[pos]], CHANNELS[channel_codes[pos]]
            ok = ", ".join(CHANNELS[j] for j in np.flatnonzero(_ALLOWED[type_codes[pos]]))
            raise ValidationError(
                f"{name} row {index[pos]!r}: a {t!r} event cannot happen on channel {c!r} "
                f"(allowed for {t!r}: {ok})",
                field=channel_col,
                row=index[pos],
                value=c,
            )
    for col in required:
        row_ids(frame[col], name=col, frame_index=index)
    if id_col is not None and id_col in frame.columns:
        _check_unique(frame[id_col], name=id_col, frame_index=index)
    return EventLog(frame, times, dates.tz, cutoff, type_codes, channel_codes)


def _check_unique(values: pd.Series, *, name: str, frame_index: pd.Index) -> None:
    arr = values.to_numpy()
    if arr.dtype.kind in "iu" and (arr.size < 2 or bool(np.all(arr[1:] > arr[:-1]))):
        return  # increasing integer ids (the usual export order): unique at a glance
    dup = values.duplicated(keep=False).to_numpy(dtype=bool) & values.notna().to_numpy(bool)
    if dup.any():
        rows = np.flatnonzero(dup)
        first = values.iloc[rows[0]]
        if isinstance(first, np.generic):
            first = first.item()
        where: list[Hashable] = [
            frame_index[r] for r in rows[: min(rows.size, 20)] if values.iloc[r] == first
        ][:3]
        raise ValidationError(
            f"{name} {first!r} appears more than once (rows {', '.join(map(repr, where))}); "
            "event ids must be unique: drop the repeated deliveries of the same event "
            f"(e.g. frame.drop_duplicates({name!r}))",
            field=name,
            row=where[0],
            value=first,
        )
