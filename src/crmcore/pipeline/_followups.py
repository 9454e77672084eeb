"""Follow-ups: which activities are overdue or due, the next action per record, touch KPIs.

An activity (call, meeting, e-mail, task) is *open* at ``as_of`` if it was
created at or before ``as_of`` and not completed by then; it is *done* if
completed at or before ``as_of``. Nothing after ``as_of`` is read, so the
answer as of a past date is what the team saw then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._time import NAT, read_instants, resolve_as_of, timestamps, to_duration
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.pipeline._calendar import BusinessCalendar
from crmcore.pipeline._defaults import OPPORTUNITY_WORKFLOW
from crmcore.pipeline._tables import I64, stage_attr, stage_codes
from crmcore.pipeline._workflow import Workflow

__all__ = ["DUE_STATUSES", "activities_frame", "activity_kpis", "due_activities"]

DUE_STATUSES: tuple[str, ...] = ("overdue", "due_today", "upcoming", "no_due_date")
"""States of an open activity in :func:`due_activities`, most urgent first."""

_ACTIVITY_COLUMNS = (
    "id",
    "kind",
    "subject",
    "owner",
    "created_at",
    "due_at",
    "completed_at",
    "customer_id",
    "account_id",
    "contact_id",
    "lead_id",
    "opportunity_id",
    "ticket_id",
)
_RECORDS = ("opportunity_id", "ticket_id", "lead_id")
_US_PER_HOUR = 3_600_000_000.0


def activities_frame(activities: Iterable[Any]) -> pd.DataFrame:
    """Activities as a DataFrame, the input of :func:`due_activities` and :func:`activity_kpis`.

    Parameters
    ----------
    activities : iterable of Activity
        Domain activities (or any values with the same attributes).

    Returns
    -------
    DataFrame
        Columns ``id``, ``kind``, ``subject``, ``owner``, ``created_at``,
        ``due_at``, ``completed_at`` (UTC; ``NaT`` when not set) and the
        related ids ``customer_id``, ``account_id``, ``contact_id``,
        ``lead_id``, ``opportunity_id``, ``ticket_id``.
    """
    rows = []
    for a in activities:
        row = {c: getattr(a, c, None) for c in _ACTIVITY_COLUMNS}
        row["kind"] = str(row["kind"]) if row["kind"] is not None else None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(_ACTIVITY_COLUMNS))
    for c in ("created_at", "due_at", "completed_at"):
        frame[c] = timestamps(_instants(frame[c], c, missing=True), "UTC")
    return frame


def _instants(col: pd.Series, name: str, *, missing: bool) -> I64:
    """Epoch nanoseconds (UTC) of an aware column; :data:`NAT` where missing."""
    if len(col) == 0 or (missing and col.isna().all()):
        return np.full(len(col), NAT, dtype=np.int64)
    return read_instants(col, name=name, allow_missing=missing, row_name="activity").ns


def _zone(col: pd.Series) -> Any:
    return getattr(col.dtype, "tz", None) or "UTC"


def _record(frame: pd.DataFrame, record_cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Record type (the first related id set, in ``record_cols`` order) and id per row."""
    kind = np.full(len(frame), None, dtype=object)
    rid = np.full(len(frame), None, dtype=object)
    for col in record_cols:
        if col not in frame.columns:
            continue
        values = frame[col].to_numpy(dtype=object)
        has = ~pd.isna(values) & pd.isna(kind)
        kind[has] = col.removesuffix("_id")
        rid[has] = values[has]
    return kind, rid


def _working_hours(calendar: BusinessCalendar | None, start: I64, end: I64) -> np.ndarray:
    """Working (or, without a calendar, elapsed) hours from ``start`` to ``end`` (µs)."""
    if calendar is None:
        return (end - start) / _US_PER_HOUR
    diff = calendar.diff(start.view("datetime64[us]"), end.view("datetime64[us]"))
    return np.asarray(diff.view(np.int64), dtype=np.float64) / _US_PER_HOUR


def due_activities(
    activities: pd.DataFrame,
    *,
    as_of: object,
    calendar: BusinessCalendar | None = None,
    record_cols: Sequence[str] = _RECORDS,
    created_col: str = "created_at",
    due_col: str = "due_at",
    completed_col: str = "completed_at",
) -> pd.DataFrame:
    """Open activities at ``as_of``: overdue, due today, upcoming; the next action per record.

    Parameters
    ----------
    activities : DataFrame
        One row per activity (:func:`activities_frame` makes one), with
        timezone-aware ``created_at``, ``due_at`` and ``completed_at``
        (missing where not set) and the related ids.
    as_of : datetime or date-like
        The moment looked at: an aware instant, or a date (the end of that
        day in the zone of ``created_col``).
    calendar : BusinessCalendar, optional
        Measure overdue and remaining time in working hours, and take
        "today" on the calendar's wall clock; default: elapsed hours, the
        day in the zone of ``due_col``.
    record_cols : sequence of str, default ("opportunity_id", "ticket_id", "lead_id")
        Related-id columns naming the record an activity follows up; an
        activity belongs to the first one set.
    created_col, due_col, completed_col : str
        Column names.

    Returns
    -------
    DataFrame
        The open activities (created at or before ``as_of``, not completed
        by then), with the input's index and columns plus ``record_type``
        (``"opportunity"``, ``"ticket"``, ``"lead"`` or ``None``),
        ``record_id``, ``status`` (one of :data:`DUE_STATUSES`:
        ``overdue`` — due before ``as_of``; ``due_today`` — due later on
        the ``as_of`` day; ``upcoming``; ``no_due_date``), ``overdue_hours``
        (working hours from the due time to ``as_of``, overdue only),
        ``due_in_hours`` (working hours left, the others) and ``is_next``
        (the record's next action: its open activity due first, those
        without a due date last, then by creation).

    Raises
    ------
    ValidationError
        Missing columns, naive or unreadable times.

    Examples
    --------
    >>> import pandas as pd
    >>> acts = pd.DataFrame(
    ...     {
    ...         "id": ["a1", "a2", "a3"],
    ...         "lead_id": ["L1", "L1", "L2"],
    ...         "created_at": pd.to_datetime(["2026-03-01"] * 3).tz_localize("UTC"),
    ...         "due_at": pd.to_datetime(
    ...             ["2026-03-02 10:00", "2026-03-04 09:00", "2026-03-03 16:00"]
    ...         ).tz_localize("UTC"),
    ...         "completed_at": pd.NaT,
    ...     }
    ... )
    >>> due = due_activities(acts, as_of=pd.Timestamp("2026-03-03 12:00", tz="UTC"))
    >>> due[["id", "status", "overdue_hours", "due_in_hours", "is_next"]]
       id     status  overdue_hours  due_in_hours  is_next
    0  a1    overdue           26.0           NaN     True
    1  a2   upcoming            NaN          21.0    False
    2  a3  due_today            NaN           4.0     True
    """
    check_columns(activities, [created_col, due_col, completed_col], name="activities")
    created_dates = read_instants(activities[created_col], name=created_col, row_name="activity")
    cut = resolve_as_of(as_of, tz=created_dates.tz)
    created = created_dates.ns
    done = _instants(activities[completed_col], completed_col, missing=True)
    due = _instants(activities[due_col], due_col, missing=True)
    is_open = (created <= cut.ns) & ((done == NAT) | (done > cut.ns))
    frame = activities.loc[is_open].copy()
    # open at as_of: a completion after it is not known then
    frame[completed_col] = frame[completed_col].where(np.zeros(len(frame), dtype=bool))
    due = due[is_open]
    created = created[is_open]
    has_due = due != NAT
    cut_us = cut.ns // 1000
    due_us = np.where(has_due, due // 1000, cut_us)
    now = np.full(due_us.size, cut_us, dtype=np.int64)
    late = has_due & (due_us < cut_us)
    hours_late = _working_hours(calendar, np.where(late, due_us, now), now)
    hours_left = _working_hours(calendar, now, np.where(has_due & ~late, due_us, now))
    zone = calendar.tz if calendar is not None else _zone(activities[due_col])
    local = timestamps(np.where(has_due, due, cut.ns), "UTC").tz_convert(zone)
    today = pd.Timestamp(cut.ns, unit="ns", tz="UTC").tz_convert(zone).date()
    same_day = np.asarray(local.date == today) if len(local) else np.zeros(0, dtype=bool)
    status = np.where(~has_due, 3, np.where(late, 0, np.where(same_day, 1, 2)))
    kind, rid = _record(frame, record_cols)
    frame["record_type"] = kind
    frame["record_id"] = rid
    frame["status"] = pd.Categorical.from_codes(status, categories=pd.Index(list(DUE_STATUSES)))
    frame["overdue_hours"] = np.where(late, hours_late, np.nan)
    frame["due_in_hours"] = np.where(has_due & ~late, hours_left, np.nan)
    # next action: per record, the earliest due (no due date last), then the earliest created
    order = np.lexsort(
        (np.arange(len(frame)), created, np.where(has_due, due, np.iinfo(np.int64).max))
    )
    keys = pd.Series(list(zip(kind, rid, strict=True)), dtype=object).iloc[order]
    first = ~keys.duplicated().to_numpy()
    is_next = np.zeros(len(frame), dtype=bool)
    is_next[order[first]] = True
    is_next &= ~pd.isna(rid)
    frame["is_next"] = is_next
    out: pd.DataFrame = frame
    return out


@attrs.frozen(slots=True)
class _Window:
    start: int  # exclusive, ns
    end: int  # inclusive, ns


def _window(as_of: object, lookback: object, tz: Any) -> _Window:
    cut = resolve_as_of(as_of, tz=tz)
    if lookback is None:
        return _Window(np.iinfo(np.int64).min, cut.ns)
    length = to_duration(lookback, name="lookback")
    return _Window(cut.ns - int(length.value), cut.ns)


def activity_kpis(
    activities: pd.DataFrame,
    *,
    as_of: object,
    lookback: object = None,
    leads: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    calendar: BusinessCalendar | None = None,
    by: str = "owner",
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    id_col: str = "id",
    kind_col: str = "kind",
    created_col: str = "created_at",
    completed_col: str = "completed_at",
    stage_col: str = "stage",
    closed_col: str = "closed_at",
) -> pd.DataFrame:
    """Touches per owner and per won deal, and time to first touch of new leads.

    A *touch* is a completed activity. Everything is read as of ``as_of``
    (completed, won, created at or before it) and, with ``lookback``, in
    the window ``(as_of - lookback, as_of]``.

    Parameters
    ----------
    activities : DataFrame
        One row per activity: ``by`` (who did it), ``kind``,
        ``completed_at`` (missing while open), ``lead_id`` and
        ``opportunity_id`` where related.
    as_of : datetime or date-like
        The cut-off (a date: the end of that day in the zone of
        ``completed_col``).
    lookback : str or timedelta, optional
        Count only touches completed, deals won and leads created in
        ``(as_of - lookback, as_of]``; default: everything up to ``as_of``.
    leads : DataFrame, optional
        ``id``, ``by`` (the lead's owner) and ``created_at``: adds time to
        first touch (the first touch on the lead at or before ``as_of``).
    opportunities : DataFrame, optional
        ``id``, ``by``, ``stage`` and ``closed_at``: adds touches per won
        deal (touches on the deal completed at or before its close).
    calendar : BusinessCalendar, optional
        Time to first touch in working hours (default: elapsed hours).
    by : str, default "owner"
        The owner column in every frame.
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        Decides which stages are won.
    id_col, kind_col, created_col, completed_col, stage_col, closed_col : str
        Column names.

    Returns
    -------
    DataFrame
        Indexed by owner: ``touches`` and one count per kind (``call``,
        ``meeting``, ``email``, ``task``: ints); with ``opportunities``,
        ``won_deals`` and ``touches_per_won_deal``; with ``leads``,
        ``new_leads``, ``leads_touched``, ``first_touch_hours_mean`` and
        ``first_touch_hours_median`` (over touched leads; a touch logged
        before the lead's creation counts as 0 hours).

    Raises
    ------
    ValidationError
        Missing columns, naive or unreadable times, unknown stages.
    """
    check_columns(activities, [by, kind_col, completed_col], name="activities")
    done = _instants(activities[completed_col], completed_col, missing=True)
    win = _window(as_of, lookback, getattr(activities[completed_col].dtype, "tz", None) or "UTC")
    cut = win.end
    touched = (done != NAT) & (done <= cut)
    in_window = touched & (done > win.start)
    kinds = activities[kind_col].astype(object).map(str).to_numpy(dtype=object)
    owners = activities[by].to_numpy(dtype=object)
    parts: list[pd.DataFrame] = []
    counts = pd.crosstab(owners[in_window], kinds[in_window]) if in_window.any() else None
    base = pd.DataFrame({"touches": pd.Series(owners[in_window]).value_counts()})
    if counts is not None:
        for k in ("call", "meeting", "email", "task"):
            base[k] = counts[k] if k in counts.columns else 0
    else:
        for k in ("call", "meeting", "email", "task"):
            base[k] = pd.Series(dtype=np.int64)
    parts.append(base)
    if opportunities is not None:
        parts.append(
            _won_touches(
                activities,
                opportunities,
                done,
                touched,
                win,
                by,
                workflow,
                id_col,
                stage_col,
                closed_col,
            )
        )
    if leads is not None:
        parts.append(
            _first_touch(activities, leads, done, touched, win, by, calendar, id_col, created_col)
        )
    out = pd.concat(parts, axis=1)
    for c in (
        "touches",
        "call",
        "meeting",
        "email",
        "task",
        "won_deals",
        "new_leads",
        "leads_touched",
    ):
        if c in out.columns:
            out[c] = out[c].fillna(0).astype(np.int64)
    out.index.name = by
    return out.sort_index()


def _won_touches(  # noqa: PLR0917 - private helper of activity_kpis
    activities: pd.DataFrame,
    opportunities: pd.DataFrame,
    done: I64,
    touched: np.ndarray,
    win: _Window,
    by: str,
    workflow: Workflow,
    id_col: str,
    stage_col: str,
    closed_col: str,
) -> pd.DataFrame:
    check_columns(opportunities, [id_col, by, stage_col, closed_col], name="opportunities")
    check_columns(activities, ["opportunity_id"], name="activities")
    won_stage = stage_attr(workflow, "is_won").astype(bool)[
        stage_codes(opportunities[stage_col], workflow, stage_col)
    ]
    closed = _instants(opportunities[closed_col], closed_col, missing=True)
    won = won_stage & (closed != NAT) & (closed <= win.end) & (closed > win.start)
    deals = opportunities.loc[won]
    deal_ids = pd.Index(deals[id_col].to_numpy(dtype=object))
    if deal_ids.has_duplicates:
        dup = deal_ids[deal_ids.duplicated()][0]
        raise ValidationError(
            f"opportunity {dup!r} appears twice in {id_col}; give one row per opportunity",
            field=id_col,
            value=dup,
        )
    deal_close = closed[won]
    rel = activities["opportunity_id"].to_numpy(dtype=object)
    pos = deal_ids.get_indexer(pd.Index(rel))
    # a touch counts for a won deal when completed at or before its close
    close_of = deal_close[np.maximum(pos, 0)] if deal_close.size else np.full(pos.size, NAT)
    on_deal = touched & (pos >= 0) & (done <= close_of)
    per_deal = np.bincount(pos[on_deal], minlength=len(deal_ids))
    owner = deals[by].to_numpy(dtype=object)
    frame = pd.DataFrame({"owner": owner, "touches": per_deal, "won": 1})
    g = frame.groupby("owner", sort=True)
    return pd.DataFrame({"won_deals": g["won"].sum(), "touches_per_won_deal": g["touches"].mean()})


def _first_touch(  # noqa: PLR0917 - private helper of activity_kpis
    activities: pd.DataFrame,
    leads: pd.DataFrame,
    done: I64,
    touched: np.ndarray,
    win: _Window,
    by: str,
    calendar: BusinessCalendar | None,
    id_col: str,
    created_col: str,
) -> pd.DataFrame:
    check_columns(leads, [id_col, by, created_col], name="leads")
    check_columns(activities, ["lead_id"], name="activities")
    created = read_instants(leads[created_col], name=created_col, row_name="lead").ns
    new = (created <= win.end) & (created > win.start)
    sub = leads.loc[new]
    rel = activities["lead_id"].to_numpy(dtype=object)
    on_lead = touched & ~pd.isna(rel)
    first = (
        pd.Series(done[on_lead], index=pd.Index(rel[on_lead]))
        .groupby(level=0)
        .min()
        .reindex(pd.Index(sub[id_col].to_numpy(dtype=object)))
    )
    has = first.notna().to_numpy()
    start = created[new] // 1000
    end = np.where(has, first.fillna(0).to_numpy(dtype=np.int64) // 1000, start)
    hours = _working_hours(calendar, start, np.maximum(end, start))
    frame = pd.DataFrame(
        {
            "owner": sub[by].to_numpy(dtype=object),
            "has": has,
            "hours": np.where(has, hours, np.nan),
        }
    )
    g = frame.groupby("owner", sort=True)
    return pd.DataFrame(
        {
            "new_leads": g.size(),
            "leads_touched": g["has"].sum(),
            "first_touch_hours_mean": g["hours"].mean(),
            "first_touch_hours_median": g["hours"].median(),
        }
    )
