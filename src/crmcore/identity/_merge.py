"""merge_plan: the surviving record of a cluster, field by field (pure; nothing stored)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._time import NAT, read_dates
from crmcore.domain import Consent, Customer, current_consent
from crmcore.errors import ValidationError
from crmcore.identity._links import cannot_link_pairs

__all__ = ["RULES", "MergePlan", "Survivorship", "merge_plan"]

RULES: tuple[str, ...] = (
    "most_recent",
    "oldest",
    "most_complete",
    "source_priority",
    "survivor",
    "most_frequent",
    "longest",
    "min",
    "max",
    "union",
    "consent",
)
"""Names of the built-in per-field survivorship rules (see :class:`Survivorship`)."""

SURVIVOR_RULES = ("oldest", "most_recent", "most_complete", "source_priority")
Rule = str | Callable[[pd.Series], Any]


def _check_rule(name: str, rule: Any) -> None:
    if callable(rule) or rule in RULES:
        return
    raise ValidationError(
        f"unknown survivorship rule {rule!r} for {name}; use one of {', '.join(RULES)} "
        "or a function of the candidate values",
        field=name,
        value=rule,
    )


def _check_rules(inst: Survivorship, _attr: Any, value: Mapping[str, Any]) -> None:
    for name, rule in value.items():
        _check_rule(name, rule)


@attrs.frozen(kw_only=True)
class Survivorship:
    """How the surviving record of a cluster is put together.

    Parameters
    ----------
    default : str or callable, default "most_recent"
        Rule for every field not in ``rules``.
    rules : mapping of str to str or callable, default {}
        Per-field rules. Built in (:data:`RULES`): ``"most_recent"`` (the
        value of the most recently updated record that has one),
        ``"oldest"`` (of the earliest created), ``"most_complete"`` (of the
        record with the most fields filled), ``"source_priority"`` (of the
        record whose source comes first in ``source_priority``),
        ``"survivor"`` (the surviving record's own value, else most recent),
        ``"most_frequent"``, ``"longest"``, ``"min"``, ``"max"``, ``"union"``
        (sets and sequences combined) and ``"consent"`` (opt-in flags: an
        opt-out anywhere wins, see below). A callable receives the non-missing
        values as a Series indexed by record id, most preferred first, and
        returns the value.
    survivor : str or id, default "oldest"
        Whose id survives: ``"oldest"`` (earliest created; it is usually the
        one orders and tickets point to), ``"most_recent"``,
        ``"most_complete"``, ``"source_priority"``, or a record id.
    recency_col : str, default "updated_at"
        Frames: column of last-update times (Customers: ``created_at``).
    created_col : str, default "created_at"
        Column of creation times.
    source_col : str, default "source"
        Column naming each record's source system.
    source_priority : sequence of str, default ()
        Sources from most to least trusted; unlisted sources come last.
    consent_cols : sequence of str, default ()
        Frames: opt-in flag columns (True, False, missing) merged by the
        conservative rule. Customers' ``consents`` always are.

    Notes
    -----
    **Consent is merged conservatively.** For a flag column, any False
    (opt-out) gives False; otherwise any True gives True; otherwise missing.
    For :class:`~crmcore.domain.Customer` histories, all consent records are
    kept (sorted by time), and for every channel in which any merged record's
    consent in force is an opt-out while the combined history would end in an
    opt-in, an opt-out is appended at the time of the latest consent of that
    channel, with ``source`` naming the record it comes from, so that it is
    the one in force.
    """

    default: Rule = attrs.field(default="most_recent")
    rules: Mapping[str, Rule] = attrs.field(factory=dict, validator=_check_rules)
    survivor: Any = "oldest"
    recency_col: str = "updated_at"
    created_col: str = "created_at"
    source_col: str = "source"
    source_priority: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    consent_cols: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        _check_rule("default", self.default)

    def rule_for(self, column: str) -> Rule:
        """Return the rule applied to ``column``."""
        if column in self.rules:
            return self.rules[column]
        if column in self.consent_cols:
            return "consent"
        return self.default


@attrs.frozen(kw_only=True)
class MergePlan:
    """The outcome of :func:`merge_plan`: what the merged record will be, and why.

    Attributes
    ----------
    survivor_id
        The id that survives.
    merged_ids : tuple
        The other records' ids (they are merged into the survivor).
    record : mapping
        Field -> value of the surviving record.
    sources : mapping
        Field -> id of the record the value was taken from (None for values
        combined from several, such as a union or merged consent).
    rules : mapping
        Field -> the rule that chose it.
    versions : mapping
        Record id -> its ``version`` when planned (optimistic concurrency:
        applying the plan refuses records changed since).
    survivor : Customer or None
        The merged :class:`~crmcore.domain.Customer` when planned from
        entities.
    """

    survivor_id: Hashable
    merged_ids: tuple[Hashable, ...]
    record: Mapping[str, Any]
    sources: Mapping[str, Hashable | None]
    rules: Mapping[str, str]
    versions: Mapping[Hashable, int]
    survivor: Customer | None = None


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, frozenset | set | tuple | list | dict) or hasattr(value, "keys"):
        return len(value) == 0
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _rank_by(values: Sequence[Any], *, descending: bool, name: str) -> np.ndarray[Any, Any]:
    """Order keys (0 = most preferred) from sortable values; missing values last."""
    present = [v for v in values if not _missing(v)]
    try:
        order = sorted(range(len(present)), key=lambda k: present[k], reverse=descending)
    except TypeError as exc:
        raise ValidationError(f"{name} values cannot be compared: {exc}", field=name) from exc
    keys = np.full(len(values), len(values), dtype=np.int64)
    pos = [i for i, v in enumerate(values) if not _missing(v)]
    for rank, k in enumerate(order):
        keys[pos[k]] = rank
    return keys


def _conservative_flag(values: pd.Series) -> Any:
    flags = [bool(v) for v in values if not _missing(v)]
    if not flags:
        return None
    return all(flags)


def _merge_consents(records: Sequence[Customer]) -> tuple[Consent, ...]:
    seen: list[Consent] = []
    for c in records:
        seen.extend(x for x in c.consents if x not in seen)
    history = sorted(seen, key=lambda x: x.at)
    extra: list[Consent] = []
    for channel in sorted({x.channel for x in history}):
        merged = current_consent(history, channel)
        if merged is None or not merged.granted:
            continue
        for c in records:
            own = c.current_consent(channel)
            if own is not None and not own.granted:
                extra.append(
                    Consent(
                        channel=channel,
                        granted=False,
                        at=merged.at,
                        source=f"merge: opt-out of record {c.id} kept",
                    )
                )
                break
    return (*history, *extra)


def _apply(
    rule: Rule, values: pd.Series, order: Mapping[str, np.ndarray[Any, Any]]
) -> tuple[Any, Any]:
    """(value, source id) of one field; ``values`` indexed by id, in preference order."""
    present = values[[not _missing(v) for v in values]]
    if present.empty:
        return None, None
    if callable(rule):
        return rule(present), None
    if rule in ("most_recent", "oldest", "most_complete", "source_priority", "survivor"):
        key = order[rule][[not _missing(v) for v in values]]
        pos = int(np.argmin(key))
        return present.iloc[pos], present.index[pos]
    if rule == "most_frequent":
        counts = present.map(repr).value_counts(sort=False)
        best = counts.idxmax()
        pos = int(np.flatnonzero(present.map(repr).to_numpy() == best)[0])
        return present.iloc[pos], present.index[pos]
    if rule == "longest":
        pos = int(np.argmax([len(str(v)) for v in present]))
        return present.iloc[pos], present.index[pos]
    if rule in ("min", "max"):
        pos = int(
            np.argmin(present.to_numpy()) if rule == "min" else np.argmax(present.to_numpy())
        )
        return present.iloc[pos], present.index[pos]
    if rule == "union":
        items: list[Any] = []
        for v in present:
            items.extend(x for x in v if x not in items)
        first = present.iloc[0]
        return (frozenset(items) if isinstance(first, frozenset | set) else tuple(items)), None
    return _conservative_flag(present), None  # "consent"


def _as_rows(records: Any, id_col: str) -> tuple[pd.DataFrame, list[Customer] | None]:
    if isinstance(records, pd.DataFrame):
        if id_col not in records.columns:
            raise ValidationError(
                f"records is missing column {id_col!r}; columns present: "
                f"{', '.join(map(str, records.columns))}",
                field=id_col,
            )
        return records.reset_index(drop=True), None
    entities = list(records)
    for c in entities:
        if not isinstance(c, Customer):
            raise ValidationError(
                f"records must be a DataFrame or Customer entities; got {type(c).__name__}",
                field="records",
            )
    rows = pd.DataFrame(
        {a.name: [getattr(c, a.name) for c in entities] for a in attrs.fields(Customer)},
        dtype=object,
    )
    return rows, entities


def merge_plan(
    records: Any,
    survivorship: Survivorship | None = None,
    *,
    id_col: str = "id",
    cannot_link: Any = None,
) -> MergePlan:
    """Plan the merge of one cluster's records into a surviving record (pure).

    Parameters
    ----------
    records : DataFrame or sequence of Customer
        The records of one cluster (at least two).
    survivorship : Survivorship, optional
        The rules (default :class:`Survivorship()`: the oldest id survives,
        each field takes the most recent non-missing value, consent is merged
        conservatively).
    id_col : str, default "id"
        Frames: column of record ids.
    cannot_link : DataFrame or iterable of pairs, optional
        "Not a duplicate" decisions; a cluster holding such a pair is refused.

    Returns
    -------
    MergePlan

    Raises
    ------
    ValidationError
        Fewer than two records, repeated ids, a cannot-link pair inside the
        cluster (naming it), an unknown rule, a column a rule needs that is
        missing, or a survivor id not in the cluster.

    Examples
    --------
    >>> import pandas as pd
    >>> cluster = pd.DataFrame(
    ...     {
    ...         "id": ["a", "b"],
    ...         "email": ["ann@example.org", None],
    ...         "phone": ["+441234567890", "+441234567899"],
    ...         "created_at": pd.to_datetime(["2020-01-01", "2023-05-01"]),
    ...         "updated_at": pd.to_datetime(["2021-01-01", "2024-02-01"]),
    ...         "email_opt_in": [True, False],
    ...     }
    ... )
    >>> plan = merge_plan(cluster, Survivorship(consent_cols=["email_opt_in"]))
    >>> plan.survivor_id, plan.merged_ids
    ('a', ('b',))
    >>> plan.record["phone"], plan.record["email"], plan.record["email_opt_in"]
    ('+441234567899', 'ann@example.org', False)
    """
    rules = Survivorship() if survivorship is None else survivorship
    if not isinstance(rules, Survivorship):
        raise ValidationError("survivorship must be a Survivorship", field="survivorship")
    key_col = "id" if not isinstance(records, pd.DataFrame) else id_col
    rows, entities = _as_rows(records, key_col)
    ids = pd.Index(rows[key_col])
    if len(ids) < 2:
        raise ValidationError("a merge needs at least two records", field="records")
    if not ids.is_unique:
        raise ValidationError(f"record {ids[ids.duplicated()][0]!r} is given twice", field=key_col)
    members = set(ids)
    for a, b in cannot_link_pairs(cannot_link):
        if a in members and b in members:
            raise ValidationError(
                f"records {a!r} and {b!r} were marked as not duplicates; this cluster "
                "would merge them (split it, or withdraw the decision)",
                field="cannot_link",
                row=(a, b),
            )
    recency = "created_at" if entities is not None else rules.recency_col
    order = _orders(rows, ids, rules, recency, key_col)
    survivor_pos = _survivor(rules, order, ids)
    # the survivor's record is preferred on ties; then id order (keys are stable)
    tie = np.argsort(np.argsort([survivor_pos != k for k in range(len(ids))], kind="stable"))
    order = {k: v * (len(ids) + 1) + tie for k, v in order.items()}
    order["survivor"] = np.where(np.arange(len(ids)) == survivor_pos, -1, order["most_recent"])
    record: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    used: dict[str, str] = {}
    for column in rows.columns:
        if column == key_col:
            continue
        rule = rules.rule_for(column)
        if entities is not None and column not in rules.rules:
            rule = {"created_at": "min", "version": "survivor", "tags": "union",
                    "consents": "consent", "custom": "custom"}.get(column, rule)  # fmt: skip
        values = pd.Series(rows[column].to_numpy(dtype=object), index=ids, dtype=object)
        if rule == "consent" and entities is not None:
            record[column], sources[column] = _merge_consents(entities), None
        elif rule == "custom":
            record[column], sources[column] = _merge_custom(values, rules, order), None
        else:
            record[column], sources[column] = _apply(rule, values, order)
        used[column] = rule if isinstance(rule, str) else getattr(rule, "__name__", "callable")
    survivor_id = ids[survivor_pos]
    versions = {}
    if "version" in rows.columns:
        versions = {
            i: int(v) for i, v in zip(ids, rows["version"], strict=True) if not _missing(v)
        }
    merged = None
    if entities is not None:
        for column, value in record.items():
            if value is None:  # nothing to choose from: the survivor's own (None or empty)
                record[column] = getattr(entities[survivor_pos], column)
        record["version"] = entities[survivor_pos].version
        merged = attrs.evolve(entities[survivor_pos], **record)
    return MergePlan(
        survivor_id=survivor_id,
        merged_ids=tuple(i for i in ids if i != survivor_id),
        record=record,
        sources=sources,
        rules=used,
        versions=versions,
        survivor=merged,
    )


def _merge_custom(
    values: pd.Series, rules: Survivorship, order: Mapping[str, Any]
) -> dict[str, Any]:
    keys: list[str] = []
    for v in values:
        keys.extend(k for k in (v or {}) if k not in keys)
    out: dict[str, Any] = {}
    for key in keys:
        per = pd.Series([(v or {}).get(key) for v in values], index=values.index, dtype=object)
        out[key] = _apply(rules.rule_for(key), per, order)[0]
    return out


def _orders(
    rows: pd.DataFrame, ids: pd.Index, rules: Survivorship, recency: str, key_col: str
) -> dict[str, np.ndarray[Any, Any]]:
    n = len(ids)
    out: dict[str, np.ndarray[Any, Any]] = {}
    needs = {rules.default, *rules.rules.values(), rules.survivor}
    for name, col, desc in (("most_recent", recency, True), ("oldest", rules.created_col, False)):
        if col in rows.columns:
            out[name] = _rank_by(_instants(rows[col], col), descending=desc, name=col)
        elif name in needs:
            raise ValidationError(
                f"the {name!r} rule needs column {col!r}, which the records lack; columns "
                f"present: {', '.join(map(str, rows.columns))}",
                field=col,
            )
        else:
            out[name] = np.zeros(n, dtype=np.int64)
    filled = [sum(not _missing(v) for v in row) for row in rows.itertuples(index=False)]
    out["most_complete"] = _rank_by(filled, descending=True, name="completeness")
    if rules.source_col in rows.columns:
        prio = {s: k for k, s in enumerate(rules.source_priority)}
        out["source_priority"] = np.array(
            [prio.get(s, len(prio)) for s in rows[rules.source_col]], dtype=np.int64
        )
    elif "source_priority" in needs:
        raise ValidationError(
            f"the 'source_priority' rule needs column {rules.source_col!r}, which the "
            "records lack",
            field=rules.source_col,
        )
    else:
        out["source_priority"] = np.zeros(n, dtype=np.int64)
    return out


def _instants(values: pd.Series, name: str) -> list[int | None]:
    """Sortable moments of a date column (the one clock's int64 ns; missing: ``None``)."""
    ns = read_dates(values, name=name, allow_missing=True, row_name="record").ns
    return [None if t == NAT else int(t) for t in ns.tolist()]


def _survivor(rules: Survivorship, order: Mapping[str, Any], ids: pd.Index) -> int:
    choice = rules.survivor
    if isinstance(choice, str) and choice in SURVIVOR_RULES:
        key = order[choice]
        return int(np.lexsort((np.arange(len(ids)), key))[0])
    pos = ids.get_indexer(pd.Index([choice]))[0]
    if pos < 0:
        raise ValidationError(
            f"survivor must be one of {', '.join(SURVIVOR_RULES)} or an id of the cluster; "
            f"got {choice!r}",
            field="survivor",
            value=choice,
        )
    return int(pos)
