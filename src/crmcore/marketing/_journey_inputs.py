"""What a tick reads: enrolments, events, profiles and consents, as arrays.

Each reader checks its frame (missing columns, naive dates, unknown steps)
and turns it into integer codes and int64 nanoseconds, reading categorical
columns by their categories. :class:`EventLog` and :class:`ConsentIndex`
sort a log once and then answer all queries of a tick with binary searches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, IntArray
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.marketing._journey import Journey
from crmcore.marketing._journey_frames import ENROLMENT_COLUMNS
from crmcore.marketing._journey_steps import Branch, Entry, Goal, Wait
from crmcore.marketing._journey_values import STATUSES
from crmcore.marketing._windows import GroupedTimes

__all__ = [
    "NEVER",
    "ConsentIndex",
    "EventLog",
    "Matchers",
    "codes_of",
    "event_rows",
    "ns_column",
    "profile_ids",
    "profile_rows",
    "read_enrolments",
    "universe",
    "zones_of",
]

_NAT: Final = _time.NAT
NEVER: Final = np.iinfo(np.int64).max
"""No such instant (later than every other)."""
_ACTIVE: Final = STATUSES.index("active")


def codes_of(series: pd.Series, allowed: Sequence[str], *, normalise: bool = False) -> IntArray:
    """Position of each value among ``allowed`` (-1: not there); categoricals by category."""

    def clean(values: pd.Index) -> pd.Index:
        text = values.astype(str)
        return text.str.strip().str.lower() if normalise else text

    table = pd.Index(list(allowed))
    if isinstance(series.dtype, pd.CategoricalDtype):
        by_cat = np.append(table.get_indexer(clean(pd.Index(series.cat.categories))), -1)
        codes = series.cat.codes.to_numpy().astype(np.int64)
        return np.asarray(by_cat[np.where(codes >= 0, codes, by_cat.size - 1)], dtype=np.int64)
    return np.asarray(table.get_indexer(clean(pd.Index(series))), dtype=np.int64)


def ns_column(
    frame: pd.DataFrame, col: str, row_name: str, *, allow_missing: bool = False
) -> IntArray:
    dates = _time.read_dates(frame[col], name=col, row_name=row_name, allow_missing=allow_missing)
    if dates.tz is None and len(frame):
        raise ValidationError(
            f"{row_name}s[{col!r}] must be timezone-aware: journeys run on instants "
            f"(localise it, e.g. frame[{col!r}].dt.tz_localize('UTC'))",
            field=col,
        )
    ns = np.asarray(dates.ns, dtype=np.int64)
    # instants at microsecond resolution, as the single-step engine's datetimes
    return ns - np.where(ns == _NAT, 0, ns % 1000)


class Matchers:
    """The (event type, message id) pairs the journey listens for, and their events."""

    def __init__(self, journey: Journey) -> None:
        pairs: list[tuple[str, str | None]] = []
        for s in journey.steps:
            if isinstance(s, Entry) and s.event is not None:
                pairs.append((s.event, None))
            elif isinstance(s, Wait | Branch | Goal) and s.event is not None:
                pairs.append((s.event, s.message_id))
        self.pairs = list(dict.fromkeys(pairs))
        self.types = sorted({t for t, _ in self.pairs})

    def index(self, typ: str | None, msg: str | None) -> int:
        return self.pairs.index((str(typ), msg))


def event_rows(
    events: pd.DataFrame, matchers: Matchers, customer_col: str, date_col: str, now_ns: int
) -> tuple[Any, IntArray, IntArray]:
    """Find every (event, matcher) match at or before now: customer ids, matcher, time."""
    check_columns(events, [customer_col, "type", date_col], name="events")
    types = events["type"]
    if isinstance(types.dtype, pd.CategoricalDtype):
        cats = pd.Index(types.cat.categories.astype(str))
        wanted = np.isin(cats.to_numpy(), matchers.types)
        codes = types.cat.codes.to_numpy()
        keep = np.flatnonzero((codes >= 0) & wanted[np.maximum(codes, 0)])
    else:
        keep = np.flatnonzero(types.astype(str).isin(matchers.types).to_numpy())
    sub = events.iloc[keep]
    ns = ns_column(sub, date_col, "event")
    ok = (ns != _NAT) & (ns <= now_ns)
    sub, ns = sub.iloc[np.flatnonzero(ok)], ns[ok]
    typ = sub["type"].astype(str).to_numpy()
    msg = (
        sub["message_id"].astype(object).to_numpy()
        if "message_id" in sub
        else np.full(len(sub), None, dtype=object)
    )
    cust_parts, k_parts, t_parts = [], [], []
    cust = sub[customer_col].to_numpy()
    for k, (t, m) in enumerate(matchers.pairs):
        hit = typ == t
        if m is not None:
            hit &= msg == m
        rows = np.flatnonzero(hit)
        cust_parts.append(cust[rows])
        k_parts.append(np.full(rows.size, k, dtype=np.int64))
        t_parts.append(ns[rows])
    if not cust_parts:
        return np.zeros(0, dtype=object), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return (
        np.concatenate(cust_parts),
        np.concatenate(k_parts),
        np.concatenate(t_parts),
    )


class EventLog:
    """Events by (customer, matcher), for first-after and any-within queries."""

    def __init__(self, codes: IntArray, k: IntArray, t: IntArray, n_cust: int, n_k: int):
        self.width = max(n_k, 1)
        self.log = GroupedTimes(codes * self.width + k, t, n_cust * self.width)

    def first_after(self, codes: IntArray, k: int, lo: IntArray, hi: IntArray) -> IntArray:
        """First time in ``(lo, hi]`` (``NEVER`` if none)."""
        g = codes * self.width + k
        pos = self.log.position(g, lo)
        end = self.log.starts[g + 1]
        out = np.full(codes.size, NEVER, dtype=np.int64)
        inside = pos < end
        times = self.log.times[pos[inside]]
        found = times <= hi[inside]
        idx = np.flatnonzero(inside)[found]
        out[idx] = times[found]
        return out

    def any_within(self, codes: IntArray, k: int, lo: IntArray, hi: IntArray) -> BoolArray:
        """Tell whether each query has an event in ``(lo, hi]``."""
        found: BoolArray = self.log.count(codes * self.width + k, lo, hi) > 0
        return found


class ConsentIndex:
    """The consent log by (customer, channel): the consent in force at an instant."""

    def __init__(self, consents: pd.DataFrame, customers: pd.Index, customer_col: str) -> None:
        check_columns(consents, [customer_col, "channel", "granted", "date"], name="consents")
        ns = ns_column(consents, "date", "consent")
        granted = consents["granted"].to_numpy()
        if granted.dtype != bool:
            ok = pd.Series(granted).isin([True, False]).to_numpy(dtype=bool)
            if not ok.all():
                bad = int(np.flatnonzero(~ok)[0])
                raise ValidationError(
                    f"consents: granted must be True or False; got {granted[bad]!r} in row "
                    f"{consents.index[bad]!r}",
                    field="granted",
                    row=consents.index[bad],
                )
            granted = granted.astype(bool)
        self.channels = ("email", "sms", "push")
        ch = codes_of(consents["channel"], self.channels, normalise=True)
        codes = customers.get_indexer(pd.Index(consents[customer_col]))
        keep = (ch >= 0) & (codes >= 0)
        self.granted = granted[keep]
        self.log = GroupedTimes(codes[keep] * 3 + ch[keep], ns[keep], len(customers) * 3)

    def state(self, codes: IntArray, channel: str, at: IntArray) -> IntArray:
        """1 granted, 0 withdrawn, -1 unknown."""
        g = codes * 3 + self.channels.index(channel)
        last = self.log.last_at_or_before(g, at)
        out = np.full(codes.size, -1, dtype=np.int64)
        found = last >= 0
        out[found] = self.granted[last[found]].astype(np.int64)
        return out


def profile_rows(profiles: pd.DataFrame | None, customers: pd.Index, customer_col: str) -> Any:
    if profiles is None:
        return None, np.full(len(customers), -1, dtype=np.int64)
    if customer_col in profiles.columns:
        index = pd.Index(profiles[customer_col])
    else:
        index = profiles.index
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise ValidationError(
            f"customer {dup!r} appears more than once in profiles; give one row per customer",
            field=customer_col,
            row=dup,
        )
    return profiles, np.asarray(index.get_indexer(customers), dtype=np.int64)


def read_enrolments(
    enrolments: pd.DataFrame | None, journey: Journey, names: Sequence[str]
) -> dict[str, Any]:
    if enrolments is None or len(enrolments) == 0:
        z = np.zeros(0, dtype=np.int64)
        return {
            "enrolment_id": np.zeros(0, dtype=object),
            "customer_id": np.zeros(0, dtype=object),
            "seq": z,
            "enrolled": z,
            "step": z,
            "step_at": z,
            "due": z,
            "status": z,
            "control": np.zeros(0, dtype=bool),
        }
    check_columns(enrolments, ENROLMENT_COLUMNS, name="enrolments")
    other = enrolments["journey_id"] != journey.id
    if other.any():
        raise ValidationError(
            f"enrolments holds rows of journey {enrolments['journey_id'][other].iloc[0]!r}; "
            f"tick runs one journey ({journey.id!r}): pass its enrolments only",
            field="journey_id",
        )
    step = codes_of(enrolments["step"], names)
    status = codes_of(enrolments["status"], STATUSES)
    for arr, col, allowed in ((step, "step", names), (status, "status", STATUSES)):
        if (arr < 0).any():
            bad = enrolments[col].iloc[int(np.flatnonzero(arr < 0)[0])]
            raise ValidationError(
                f"enrolments: {col} {bad!r} is not one of {', '.join(allowed)}",
                field=col,
                value=bad,
            )
    return {
        "enrolment_id": enrolments["enrolment_id"].to_numpy(dtype=object),
        "customer_id": enrolments["customer_id"].to_numpy(),
        "seq": enrolments["seq"].to_numpy(dtype=np.int64),
        "enrolled": ns_column(enrolments, "enrolled_at", "enrolment"),
        "step": step.astype(np.int64),
        "step_at": ns_column(enrolments, "step_at", "enrolment"),
        "due": ns_column(enrolments, "due_at", "enrolment", allow_missing=True),
        "status": status.astype(np.int64),
        "control": enrolments["control"].to_numpy(dtype=bool),
    }


def profile_ids(profiles: pd.DataFrame, customer_col: str) -> Any:
    if customer_col in profiles.columns:
        return profiles[customer_col].to_numpy()
    return profiles.index.to_numpy()


def universe(enrolled: Any, others: list[Any]) -> pd.Index:
    parts = [pd.Index(enrolled)] + [pd.Index(o) for o in others if len(o)]
    joined = parts[0] if len(parts) == 1 else parts[0].append(parts[1:])
    out: pd.Index = pd.Index(pd.unique(joined))
    return out


def zones_of(
    prof: pd.DataFrame | None, prof_row: IntArray, journey: Journey
) -> tuple[list[str], IntArray]:
    """Zone names (the journey's first) and each customer's zone code among them."""
    out = np.zeros(prof_row.size, dtype=np.int64)
    if prof is None or "tz" not in prof.columns:
        return [journey.tz], out
    col = prof["tz"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.int64)
        names = [str(c) for c in col.cat.categories]
    else:
        codes, uniques = pd.factorize(col)
        codes = np.asarray(codes, dtype=np.int64)
        names = [str(u) for u in uniques]
    have = np.flatnonzero(prof_row >= 0)
    mine = codes[prof_row[have]]
    known = mine >= 0
    out[have[known]] = mine[known] + 1
    return [journey.tz, *names], out
