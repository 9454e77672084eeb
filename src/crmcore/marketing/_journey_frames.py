"""A tick's outputs as frames: enrolments, actions and audit events, and their values.

Built column by column from the tick's arrays, with categorical columns for
the few distinct texts (steps, statuses, kinds, types, reasons), so a tick
over a million enrolments does not build a million Python strings. Audit
event ids are not a column: :attr:`AuditEvent.id` derives them from the
enrolment, step, instant and type, exactly as the single-step engine does.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs
import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, IntArray
from crmcore.marketing._journey import Journey
from crmcore.marketing._journey_steps import Action
from crmcore.marketing._journey_values import (
    AUDIT_TYPES,
    AuditEvent,
    Enrolment,
    JourneyAction,
    audit_from_dict,
    ns_of,
)

__all__ = [
    "ACTION_COLUMNS",
    "AUDIT_COLUMNS",
    "ENROLMENT_COLUMNS",
    "OUTCOMES",
    "REASONS",
    "TYPE_NAMES",
    "T_ENTERED",
    "T_EXITED",
    "T_GOAL",
    "T_SKIPPED",
    "T_STEP",
    "AuditRows",
    "TickResult",
    "actions_frame",
    "audit_frame",
    "audit_values",
    "categorical",
    "enrolment_values",
    "enrolments_frame",
    "utc",
]

ENROLMENT_COLUMNS: Final = (
    "enrolment_id",
    "journey_id",
    "customer_id",
    "seq",
    "enrolled_at",
    "step",
    "step_at",
    "due_at",
    "status",
    "control",
)
"""Columns of an enrolments frame (times: datetime64, UTC; ``due_at`` NaT when none)."""

ACTION_COLUMNS: Final = (
    "action_id",
    "kind",
    "journey_id",
    "enrolment_id",
    "customer_id",
    "step",
    "at",
    "channel",
    "message_id",
    "params",
)
"""Columns of a tick's actions frame (``params``: a dict, or None for sends)."""

AUDIT_COLUMNS: Final = (
    "type",
    "journey_id",
    "enrolment_id",
    "customer_id",
    "step",
    "at",
    "outcome",
    "next_step",
    "due_at",
    "reason",
    "channel",
    "message_id",
    "goal",
    "seq",
    "control",
)
"""Columns of a tick's audit frame (one row per audit event, in emission order).

The event id is :attr:`AuditEvent.id`, derived from these columns."""

_NAT: Final = _time.NAT
# audit event kinds, as codes into TYPE_NAMES
T_ENTERED, T_STEP, T_SKIPPED, T_GOAL, T_EXITED = range(5)
TYPE_NAMES: Final = (
    "marketing.journey_entered",
    "marketing.journey_step_completed",
    "marketing.journey_message_skipped",
    "marketing.journey_goal_reached",
    "marketing.journey_exited",
)
OUTCOMES: Final = ("entered", "waited", "event", "timeout", "yes", "no", "sent", "skipped", "done")
REASONS: Final = ("no_consent", "opted_out", "frequency_cap", "exit", "control")


@attrs.frozen
class TickResult:
    """What :func:`tick` returns.

    Attributes
    ----------
    enrolments : DataFrame
        Every enrolment, updated, with the new ones appended
        (:data:`ENROLMENT_COLUMNS`).
    actions : DataFrame
        What the application is to do (:data:`ACTION_COLUMNS`), none of
        ``already_emitted``.
    audit : DataFrame
        The audit events (:data:`AUDIT_COLUMNS`), in emission order per
        enrolment.
    """

    enrolments: pd.DataFrame
    actions: pd.DataFrame
    audit: pd.DataFrame

    def action_values(self) -> tuple[JourneyAction, ...]:
        """Return the actions as :class:`JourneyAction` values.

        Returns
        -------
        tuple of JourneyAction
        """
        records: list[dict[Any, Any]] = _microseconds(self.actions, ("at",)).to_dict("records")
        return tuple(
            JourneyAction(
                id=r["action_id"],
                kind=r["kind"],
                journey_id=r["journey_id"],
                enrolment_id=r["enrolment_id"],
                customer_id=r["customer_id"],
                step=r["step"],
                at=r["at"].to_pydatetime(),
                channel=_text_or_none(r["channel"]),
                message_id=_text_or_none(r["message_id"]),
                params=r["params"] if isinstance(r["params"], dict) else {},
            )
            for r in records
        )

    def audit_events(self) -> tuple[AuditEvent, ...]:
        """Return the audit rows as audit event values (in order).

        Returns
        -------
        tuple of AuditEvent
        """
        return audit_values(self.audit)

    def enrolment_values(self) -> tuple[Enrolment, ...]:
        """Return the enrolments as :class:`Enrolment` values.

        Returns
        -------
        tuple of Enrolment
        """
        return enrolment_values(self.enrolments)


def _text_or_none(value: Any) -> str | None:
    return None if value is None or value is pd.NA or pd.isna(value) else str(value)


def audit_values(frame: pd.DataFrame) -> tuple[AuditEvent, ...]:
    """Turn an audit frame into audit event values (in row order)."""
    out = []
    for rec in _microseconds(frame, ("at", "due_at")).to_dict("records"):
        cls = AUDIT_TYPES[rec["type"]]
        names = {f.name for f in attrs.fields(cls)}
        data: dict[str, Any] = {"type": rec["type"]}
        for key in names:
            value = rec.get(key)
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            elif value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
                value = None
            data[key] = value
        if "seq" in data:
            data["seq"] = int(data["seq"])
        if "control" in data:
            data["control"] = bool(data["control"])
        out.append(audit_from_dict(data))
    return tuple(out)


def enrolment_values(frame: pd.DataFrame) -> tuple[Enrolment, ...]:
    """Turn an enrolments frame into :class:`Enrolment` values."""
    out = []
    for rec in _microseconds(frame, ("enrolled_at", "step_at", "due_at")).to_dict("records"):
        due = rec["due_at"]
        out.append(
            Enrolment(
                journey_id=rec["journey_id"],
                customer_id=rec["customer_id"],
                seq=int(rec["seq"]),
                enrolled_at=rec["enrolled_at"].to_pydatetime(),
                step=rec["step"],
                step_at=rec["step_at"].to_pydatetime(),
                due_at=None if pd.isna(due) else due.to_pydatetime(),
                status=rec["status"],
                control=bool(rec["control"]),
            )
        )
    return tuple(out)


def _microseconds(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Truncate datetime columns to microseconds, as the values hold them (``to_datetime``)."""
    present = [c for c in columns if c in frame]
    if not present or not len(frame):
        return frame
    return frame.assign(**{c: frame[c].dt.floor("us") for c in present})


def utc(ns: IntArray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("datetime64[ns]")).tz_localize(
        "UTC"
    )


def enrolments_frame(enrolments: Iterable[Enrolment]) -> pd.DataFrame:
    """Build an enrolments frame (:data:`ENROLMENT_COLUMNS`) from :class:`Enrolment` values.

    Parameters
    ----------
    enrolments : iterable of Enrolment

    Returns
    -------
    DataFrame
    """
    items = list(enrolments)

    def col(get: Any) -> IntArray:
        return np.array([get(e) for e in items], dtype=np.int64)

    return pd.DataFrame(
        {
            "enrolment_id": pd.Series([e.id for e in items], dtype=object),
            "journey_id": pd.Series([e.journey_id for e in items], dtype=object),
            "customer_id": pd.Series([e.customer_id for e in items], dtype=object),
            "seq": col(lambda e: e.seq),
            "enrolled_at": utc(col(lambda e: ns_of(e.enrolled_at))),
            "step": pd.Series([e.step for e in items], dtype=object),
            "step_at": utc(col(lambda e: ns_of(e.step_at))),
            "due_at": utc(col(lambda e: _NAT if e.due_at is None else ns_of(e.due_at))),
            "status": pd.Series([e.status for e in items], dtype=object),
            "control": np.array([e.control for e in items], dtype=bool),
        }
    )


def categorical(codes: IntArray, categories: Sequence[Any]) -> Any:
    """Build a categorical column from codes (-1: missing) and its categories."""
    build: Any = pd.Categorical.from_codes
    return build(np.asarray(codes, dtype=np.int64), categories=pd.Index(list(categories)))


class AuditRows:
    """Audit rows collected as arrays, chunk by chunk, in emission order."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, Any]] = []

    def add(self, rows: IntArray, kind: int, step: IntArray, at: IntArray, **extra: Any) -> None:
        """Append one chunk: the enrolment rows, the event kind, steps, instants, extras."""
        if rows.size:
            self.chunks.append({"row": rows, "kind": kind, "step": step, "at": at, "extra": extra})


def actions_frame(
    journey: Journey,
    *,
    emitted: list[dict[str, Any]],
    eids: Any,
    cust_ids: Any,
    names: Sequence[str],
    owners: Any,
) -> pd.DataFrame:
    """Build the actions frame (:data:`ACTION_COLUMNS`) of the emitted chunks.

    Each chunk holds ``rows`` (enrolment rows), ``step`` (its code), ``at``
    and either ``send`` (the Send step) or ``action`` (the Action step);
    ``owners(field, rows)`` gives the owners (profile column ``field``) of
    enrolment rows, for tasks.
    """
    chunks = [c for c in emitted if c["rows"].size]
    if not chunks:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in ACTION_COLUMNS})
        return empty.astype({"at": "datetime64[ns, UTC]"})
    rows = np.concatenate([c["rows"] for c in chunks])
    at = np.concatenate([c["at"] for c in chunks])
    step = np.concatenate([np.full(c["rows"].size, c["step"]) for c in chunks])
    kinds = ["send", "create_task", "advance_stage", "add_points", "set_field"]
    texts: list[str] = []

    def text_code(value: str | None) -> int:
        if value is None:
            return -1
        if value not in texts:
            texts.append(value)
        return texts.index(value)

    kind = np.concatenate(
        [
            np.full(c["rows"].size, kinds.index("send" if "send" in c else c["action"].kind))
            for c in chunks
        ]
    )
    channel = np.concatenate(
        [
            np.full(c["rows"].size, text_code(str(c["send"].channel) if "send" in c else None))
            for c in chunks
        ]
    )
    channels = list(texts)
    texts.clear()
    message = np.concatenate(
        [
            np.full(c["rows"].size, text_code(str(c["send"].message_id) if "send" in c else None))
            for c in chunks
        ]
    )
    params: list[Any] = []
    for c in chunks:
        if "send" in c:
            params.extend([None] * c["rows"].size)
        else:
            field = str(c["action"].params.get("owner_field", "owner"))
            params.extend(_params(c["action"], c["at"], owners(field, c["rows"])))
    step_names = np.asarray(names, dtype=object)[step]
    ids = [
        f"{e}:{s}:{a}"
        for e, s, a in zip(eids[rows].tolist(), step_names.tolist(), at.tolist(), strict=True)
    ]
    return pd.DataFrame(
        {
            "action_id": pd.Series(ids, dtype=object),
            "kind": categorical(kind, kinds),
            "journey_id": categorical(np.zeros(rows.size, np.int64), [journey.id]),
            "enrolment_id": pd.Series(eids[rows], dtype=object),
            "customer_id": cust_ids[rows],
            "step": categorical(step, names),
            "at": utc(at),
            "channel": categorical(channel, channels),
            "message_id": categorical(message, texts),
            "params": pd.Series(params, dtype=object),
        }
    )


def _params(a: Action, at: IntArray, owners: Any) -> list[Any]:
    # owners: the owners of the chunk's rows, aligned with ``at``
    base = dict(a.params)
    if a.kind != "create_task":
        return [dict(base) for _ in range(at.size)]
    due_in = base.pop("due_in", None)
    due = None if due_in is None else at + np.int64(pd.Timedelta(due_in).value)
    out = []
    for i in range(at.size):
        p = dict(base)
        p["owner"] = owners[i]
        if due is not None:
            p["due_at"] = (
                _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
                + _dt.timedelta(microseconds=int(due[i]) // 1000)
            ).isoformat()
        out.append(p)
    return out


def audit_frame(
    journey: Journey,
    audit: AuditRows,
    *,
    eids: Any,
    cust_ids: Any,
    seq: IntArray,
    control: BoolArray,
    names: Sequence[str],
) -> pd.DataFrame:
    """Build the audit frame (:data:`AUDIT_COLUMNS`), ordered by enrolment, then emission."""
    if not audit.chunks:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in AUDIT_COLUMNS})
        return empty.astype({"at": "datetime64[ns, UTC]", "due_at": "datetime64[ns, UTC]"})
    chunks = audit.chunks
    rows = np.concatenate([c["row"] for c in chunks])
    order = np.argsort(rows, kind="stable")
    rows = rows[order]

    def column(values: list[Any], dtype: Any) -> Any:
        return np.concatenate(values).astype(dtype, copy=False)[order]

    def extra(key: str, fill: int) -> IntArray:
        out: IntArray = column(
            [
                np.broadcast_to(np.asarray(c["extra"].get(key, fill)), c["row"].shape)
                for c in chunks
            ],
            np.int64,
        )
        return out

    texts: list[str] = []

    def text(key: str) -> IntArray:
        codes = []
        for c in chunks:
            value = c["extra"].get(key)
            if value is not None and value not in texts:
                texts.append(value)
            codes.append(np.full(c["row"].size, -1 if value is None else texts.index(value)))
        out: IntArray = column(codes, np.int64)
        return out

    kind = column([np.full(c["row"].size, c["kind"]) for c in chunks], np.int64)
    step = column([c["step"] for c in chunks], np.int64)
    at = column([c["at"] for c in chunks], np.int64)
    channel = text("channel")
    channels = list(texts)
    texts.clear()
    message = text("message_id")
    n = rows.size
    return pd.DataFrame(
        {
            "type": categorical(kind, TYPE_NAMES),
            "journey_id": categorical(np.zeros(n, np.int64), [journey.id]),
            "enrolment_id": pd.Series(eids[rows], dtype=object),
            "customer_id": cust_ids[rows],
            "step": categorical(step, names),
            "at": utc(at),
            "outcome": categorical(extra("outcome", -1), OUTCOMES),
            "next_step": categorical(extra("next_step", -1), names),
            "due_at": utc(extra("due", _NAT)),
            "reason": categorical(extra("reason", -1), REASONS),
            "channel": categorical(channel, channels),
            "message_id": categorical(message, texts),
            "goal": categorical(extra("goal", -1), [g.name for g in journey.goals]),
            "seq": seq[rows],
            "control": control[rows],
        }
    )
