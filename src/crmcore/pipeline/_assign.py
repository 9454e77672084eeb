"""Assigning leads and tickets to owners: rules, round robin, least loaded, skills, territory.

The semantics are those of serving the entities one at a time, in the order
given: the first :class:`AssignmentRule` whose segment rule holds decides
the team; the strategy narrows the team to the eligible members (skills,
territory) and picks one (round robin from the member after the team's last
one served, or the member holding the fewest open items, ties to the member
listed first), never above capacity. The engine computes exactly that, but
in bulk:

* entities are grouped into *pools* (rule x eligible member set); pools that
  share no member (and, for round robin, no team rotation) are independent,
  so serving them one after the other in any interleaving gives the same
  owners;
* an independent round-robin pool is a rotation in which members drop out
  after their remaining capacity: with the remaining capacities sorted, each
  stretch of rounds between two of them has a fixed set of members, so
  entity ``j`` of the stretch goes to member ``j mod size`` (a few NumPy
  operations per distinct capacity);
* an independent least-loaded pool is water-filling: the ``k``-th entity
  goes to the ``k``-th pair ``(load level, member)`` in sorted order among
  ``load_i <= level < capacity_i``; a bisection finds the level reached
  after ``n`` entities and the pairs below it are generated in one go;
* pools that share members (an agent in two teams, overlapping skill sets)
  are served one entity at a time, in order, over integer arrays.

So the result depends only on the inputs (entities in order, rules, the
:class:`Workload` passed in) and assigning a batch at once equals assigning
it in pieces, each piece with the workload the previous one returned.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._time import require_aware
from crmcore._validation import check_columns
from crmcore.domain import Assigned  # the event lives in the domain; re-exported here
from crmcore.errors import ValidationError
from crmcore.pipeline._assign_model import (
    Agent,
    AssignmentRule,
    Balancer,
    Team,
    Workload,
)

__all__ = ["REASONS", "Assigned", "Assignment", "assign"]

I64 = npt.NDArray[np.int64]

REASONS: tuple[str, ...] = ("no_rule", "no_eligible_member", "at_capacity")
"""Why :func:`assign` could not place an entity (the ``reason`` column)."""

_STATUS = ("assigned", "queued", "unassigned")


@attrs.frozen(slots=True)
class _Group:
    """One pool of one rule: its entities (positions, in order) and eligible members."""

    rule: int
    team: str
    balancer: Balancer
    positions: I64
    members: I64  # global member indices, in team order
    team_pos: I64  # their positions in the team (rotation order)


class Assignment:
    """What :func:`assign` returns.

    Attributes
    ----------
    table : DataFrame
        One row per entity, in input order and with the input's index:
        ``entity_id``, ``status`` (``assigned``, ``queued``,
        ``unassigned``), ``rule``, ``team``, ``queue``, ``owner``,
        ``reason`` (one of :data:`REASONS` when unassigned) and ``detail``
        (what was missing, in words).
    entities : DataFrame or tuple
        The input with owners set: the frame with ``owner_col`` filled for
        assigned rows, or the entity values (``attrs.evolve(owner=...)``)
        for assigned ones and unchanged for the rest.
    workload : Workload
        Loads after the assignment and each round-robin team's last agent:
        pass it to the next call.
    """

    __slots__ = ("__dict__", "_meta", "entities", "table", "workload")

    def __init__(
        self,
        table: pd.DataFrame,
        entities: Any,
        workload: Workload,
        meta: tuple[str, dt.datetime, str | None],
    ) -> None:
        self.table = table
        self.entities = entities
        self.workload = workload
        self._meta = meta

    @property
    def assigned(self) -> pd.DataFrame:
        """Rows given an owner or a queue."""
        return self.table.loc[self.table["status"] != "unassigned"]

    @property
    def unassigned(self) -> pd.DataFrame:
        """Rows nobody could take, with ``reason`` and ``detail``."""
        return self.table.loc[self.table["status"] == "unassigned"]

    @functools.cached_property
    def events(self) -> tuple[Assigned, ...]:
        """One :class:`Assigned` event per assigned or queued entity, in input order."""
        entity_type, at, actor = self._meta
        done = self.assigned
        cols = [_objects(done[c]) for c in _EVENT_COLS]
        return tuple(
            Assigned(eid, entity_type, owner, team, queue, rule, at, actor)
            for eid, owner, team, queue, rule in zip(*cols, strict=True)
        )

    def __repr__(self) -> str:
        counts = self.table["status"].value_counts().reindex(list(_STATUS), fill_value=0)
        return "Assignment(" + ", ".join(f"{k}={int(v)}" for k, v in counts.items()) + ")"


_EVENT_COLS = ("entity_id", "owner", "team", "queue", "rule")


def _objects(col: pd.Series) -> list[Any]:
    """Return the values of a column as Python objects, missing as ``None``."""
    values = col.to_numpy(dtype=object)
    missing = pd.isna(values).tolist()
    return [None if gone else v for v, gone in zip(values.tolist(), missing, strict=True)]


# ---------------------------------------------------------------- input


def _entity_frame(
    entities: Any, id_col: str | None
) -> tuple[pd.DataFrame, pd.Series, list[Any] | None]:
    """Return the entities as a frame (rules read columns), their ids, and the objects if given."""
    if isinstance(entities, pd.DataFrame):
        if id_col is None:
            return entities, entities.index.to_series(), None
        check_columns(entities, [id_col], name="entities")
        return entities, entities[id_col], None
    objs = list(entities)
    rows = []
    for i, e in enumerate(objs):
        if not attrs.has(type(e)):
            raise ValidationError(
                f"entities must be a DataFrame or attrs entities (Lead, Ticket...); item {i} "
                f"is {type(e).__name__}",
                field="entities",
                row=i,
            )
        row = {f.name: getattr(e, f.name) for f in attrs.fields(type(e))}
        # custom fields become columns too (a field of the entity wins a clash)
        for k, v in dict(getattr(e, "custom", None) or {}).items():
            row.setdefault(str(k), v)
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.RangeIndex(len(objs)))
    ids = pd.Series([getattr(e, "id", i) for i, e in enumerate(objs)], index=frame.index)
    return frame, ids, objs


def _agents(rules: Sequence[AssignmentRule]) -> tuple[list[Agent], dict[str, int]]:
    """Every agent of every team, once (an agent may serve several teams)."""
    agents: list[Agent] = []
    index: dict[str, int] = {}
    for rule in rules:
        if rule.team is None:
            continue
        for m in rule.team.members:
            known = index.get(m.id)
            if known is None:
                index[m.id] = len(agents)
                agents.append(m)
            elif agents[known] != m:
                raise ValidationError(
                    f"agent {m.id!r} is defined differently in two teams ({agents[known]!r} "
                    f"and {m!r}); use one Agent value for one person",
                    field="team",
                    value=m.id,
                )
    return agents, index


def _check_rules(rules: Any) -> list[AssignmentRule]:
    out = [rules] if isinstance(rules, AssignmentRule) else list(rules)
    names: set[str] = set()
    teams: dict[str, Team] = {}
    for r in out:
        if not isinstance(r, AssignmentRule):
            raise ValidationError(
                f"rules must be AssignmentRule values; got {r!r}", field="rules", value=r
            )
        if r.name in names:
            raise ValidationError(f"rule name {r.name!r} is used twice", field="rules")
        names.add(r.name)
        if r.team is not None and teams.setdefault(r.team.name, r.team) != r.team:
            raise ValidationError(f"two different teams are named {r.team.name!r}", field="team")
    if not out:
        raise ValidationError("rules must hold at least one AssignmentRule", field="rules")
    return out


# ---------------------------------------------------------------- kernels


def _round_robin(remaining: I64, n: int) -> I64:
    """Rotation indices of ``n`` entities served in turn, each member at most ``remaining``.

    Members are in rotation order (the first is served first). Member ``i``
    takes part in rounds ``0 .. remaining[i] - 1``; within a stretch of
    rounds in which the set of members does not change, entity ``j`` of the
    stretch goes to member ``j mod size``. Fewer than ``n`` indices when
    capacity runs out.
    """
    r = np.minimum(remaining, n)  # nobody can take more than n
    out: list[I64] = []
    left, prev = n, 0
    for level in np.unique(r[r > 0]).tolist():
        active = np.flatnonzero(r >= level)
        take = min((level - prev) * active.size, left)
        out.append(active[np.arange(take, dtype=np.int64) % active.size])
        left -= take
        prev = level
        if left == 0:
            break
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _least_loaded(load: I64, cap: I64, n: int) -> I64:
    """Member indices of ``n`` entities each given to the least-loaded member (water-filling).

    The ``k``-th entity takes the ``k``-th pair ``(level, member)`` in sorted
    order among ``load[i] <= level < cap[i]``; ties at a level go to the
    lower index. Fewer than ``n`` indices when capacity runs out.
    """
    low = load
    high = np.maximum(np.minimum(cap, int(load.max()) + n + 1), low)

    def below(v: int) -> int:  # pairs with level < v
        return int(np.clip(v - low, 0, high - low).sum())

    lo, hi = int(low.min()), int(high.max())
    if below(hi) <= n:
        v = hi  # every free slot is used
    else:  # smallest v with below(v) >= n
        while lo < hi:
            mid = (lo + hi) // 2
            if below(mid) >= n:
                hi = mid
            else:
                lo = mid + 1
        v = lo
    full = v - 1 if below(v) > n else v  # levels < full are used completely
    k = np.clip(full - low, 0, high - low)
    member = np.repeat(np.arange(low.size, dtype=np.int64), k)
    starts = np.repeat(np.cumsum(k) - k, k)
    level = np.repeat(low, k) + (np.arange(member.size, dtype=np.int64) - starts)
    rest = n - member.size
    if rest > 0 and full < v:  # part of level ``full``, lowest members first
        at = np.flatnonzero((low <= full) & (full < high))[:rest]
        member = np.concatenate([member, at])
        level = np.concatenate([level, np.full(at.size, full, dtype=np.int64)])
    order = np.lexsort((member, level))
    return np.asarray(member[order][:n], dtype=np.int64)


def _sequential(  # noqa: PLR0917 - private kernel, all state passed explicitly
    groups: Sequence[_Group],
    load: list[int],
    cap: list[int],
    team_members: dict[str, list[int]],
    cursor: dict[str, int],
    owner: I64,
) -> None:
    """Serve the entities of coupled groups one at a time, in input order."""
    pos = np.concatenate([g.positions for g in groups])
    gid = np.concatenate(
        [np.full(g.positions.size, k, dtype=np.int64) for k, g in enumerate(groups)]
    )
    order = np.argsort(pos, kind="stable")
    eligible = [set(g.members.tolist()) for g in groups]
    members = [g.members.tolist() for g in groups]
    least = [g.balancer == "least_loaded" for g in groups]
    by_load = load.__getitem__
    picked = np.full(pos.size, -1, dtype=np.int64)
    for i, k in enumerate(gid[order].tolist()):
        best = -1
        if least[k]:
            best = min(members[k], key=by_load)  # the first of the least loaded
            if load[best] >= cap[best]:  # full: the least loaded among those with room
                room = [m for m in members[k] if load[m] < cap[m]]
                best = min(room, key=by_load) if room else -1
        else:
            team = groups[k].team
            ring = team_members[team]
            size = len(ring)
            c = cursor[team]
            for step in range(1, size + 1):
                at = (c + step) % size
                m = ring[at]
                if m in eligible[k] and load[m] < cap[m]:
                    best = m
                    cursor[team] = at
                    break
        if best >= 0:
            load[best] += 1
            picked[i] = best
    owner[pos[order]] = picked


def _components(groups: Sequence[_Group]) -> list[list[int]]:
    """Return the groups coupled by a shared member or a shared rotation (union-find)."""
    parent = list(range(len(groups)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    first: dict[Any, int] = {}
    for k, g in enumerate(groups):
        keys: list[Any] = [("m", m) for m in g.members.tolist()]
        if g.balancer == "round_robin":
            keys.append(("t", g.team))
        for key in keys:
            if key in first:
                union(first[key], k)
            else:
                first[key] = k
    comps: dict[int, list[int]] = {}
    for k in range(len(groups)):
        comps.setdefault(find(k), []).append(k)
    return list(comps.values())


# ---------------------------------------------------------------- assign


def _categorical(codes: npt.NDArray[Any], names: Sequence[str]) -> pd.Categorical:
    """Codes (-1: missing) over ``names`` as a categorical column."""
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64), categories=pd.Index(list(names), dtype=object)
    )


def assign(
    entities: pd.DataFrame | Iterable[Any],
    rules: Sequence[AssignmentRule] | AssignmentRule,
    *,
    workload: Workload,
    at: dt.datetime,
    entity_type: str | None = None,
    id_col: str | None = "id",
    owner_col: str = "owner",
    actor: str | None = None,
) -> Assignment:
    """Give leads or tickets owners by rules, in order; report those nobody can take.

    Parameters
    ----------
    entities : DataFrame or iterable of entities
        The leads or tickets to assign, served in the order given (sort by
        creation time first for first-come first-served). A frame needs the
        columns the rules and strategies read; entity values (``Lead``,
        ``Ticket``...) are read field by field, their ``custom`` fields as
        extra columns.
    rules : sequence of AssignmentRule
        Tried in order; the first whose ``when`` holds decides.
    workload : Workload
        Open items per agent and each team's rotation, as returned by the
        previous call (``Workload()`` to start afresh,
        :meth:`Workload.count` from open items).
    at : datetime
        When the assignment happens (timezone-aware), for the events.
    entity_type : str, optional
        ``"lead"``, ``"ticket"``... for the events; default: the entity
        class name in lower case, or ``"entity"`` for a frame.
    id_col : str or None, default "id"
        Frame column of entity ids (``None``: the index).
    owner_col : str, default "owner"
        Frame column to write owners into (created if absent).
    actor : str, optional
        Who ran the assignment (on the events).

    Returns
    -------
    Assignment
        ``table`` (one row per entity: status, rule, team, queue, owner,
        reason, detail), ``entities`` with owners set, ``workload`` for the
        next call, and ``events`` (:class:`Assigned`).

    Raises
    ------
    ValidationError
        A naive ``at``, bad rules (duplicate names, one agent defined two
        ways), missing columns, or a bad skills value.

    Examples
    --------
    >>> import datetime as dt
    >>> import pandas as pd
    >>> from crmcore.pipeline import Agent, AssignmentRule, Team, Workload
    >>> leads = pd.DataFrame({"id": ["L1", "L2", "L3"], "region": ["EMEA", "EMEA", "APAC"]})
    >>> emea = Team("emea", [Agent("ann"), Agent("bob")])
    >>> rules = [AssignmentRule("emea", "region == 'EMEA'", team=emea)]
    >>> at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> result = assign(leads, rules, workload=Workload(), at=at)
    >>> result.table[["owner", "status", "reason"]]
      owner      status   reason
    0   ann    assigned      NaN
    1   bob    assigned      NaN
    2   NaN  unassigned  no_rule
    >>> result.workload.last_assigned
    {'emea': 'bob'}
    """
    require_aware(at, field="at")
    if not isinstance(workload, Workload):
        raise ValidationError(
            f"workload must be a Workload (Workload() to start afresh); got {workload!r}",
            field="workload",
        )
    rule_list = _check_rules(rules)
    frame, ids, objs = _entity_frame(entities, id_col)
    n = len(frame)
    if entity_type is None:
        entity_type = type(objs[0]).__name__.lower() if objs else "entity"

    # 1. the first rule that holds decides
    rule_of = np.full(n, -1, dtype=np.int64)
    for r, rule in enumerate(rule_list):
        free = rule_of < 0
        if not free.any():
            break
        hit = np.ones(n, dtype=bool) if rule.when is None else rule.when.mask(frame)
        rule_of[free & hit] = r

    agents, index = _agents(rule_list)
    big = np.iinfo(np.int64).max // 4
    cap = np.array([big if a.capacity is None else a.capacity for a in agents], dtype=np.int64)
    load = np.array([workload.loads.get(a.id, 0) for a in agents], dtype=np.int64)
    owner = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, -1, dtype=np.int64)
    detail = np.full(n, None, dtype=object)
    reason[rule_of < 0] = REASONS.index("no_rule")

    # 2. pools per rule
    groups: list[_Group] = []
    team_members: dict[str, list[int]] = {}
    cursor: dict[str, int] = {}
    for r, rule in enumerate(rule_list):
        team = rule.team
        if team is None:
            continue
        pos = np.flatnonzero(rule_of == r)
        if pos.size == 0:
            continue
        ring = [index[m.id] for m in team.members]
        team_members[team.name] = ring
        served = workload.last_assigned.get(team.name)
        ids_in_team = [m.id for m in team.members]
        cursor.setdefault(team.name, ids_in_team.index(served) if served in ids_in_team else -1)
        # strategies that read no column get a frame of the right length only
        sub = frame.iloc[pos] if rule.strategy.columns() else pd.DataFrame(index=pos)
        pools = rule.strategy.pools(sub, team)
        for k in range(pools.eligible.shape[0]):
            members_here = pos[pools.code == k]
            if members_here.size == 0:
                continue
            team_pos = np.flatnonzero(pools.eligible[k])
            if team_pos.size == 0:
                reason[members_here] = REASONS.index("no_eligible_member")
                detail[members_here] = f"team {team.name!r} has no {pools.why[k]}"
                continue
            groups.append(
                _Group(
                    r,
                    team.name,
                    rule.strategy.balancer,
                    members_here,
                    np.asarray([ring[i] for i in team_pos.tolist()], dtype=np.int64),
                    team_pos.astype(np.int64),
                )
            )

    # 3. serve each independent pool in bulk, coupled pools one entity at a time
    for comp in _components(groups):
        if len(comp) > 1:
            load_l, cap_l = load.tolist(), cap.tolist()
            _sequential([groups[k] for k in comp], load_l, cap_l, team_members, cursor, owner)
            load = np.asarray(load_l, dtype=np.int64)
            continue
        g = groups[comp[0]]
        m = g.positions.size
        if g.balancer == "least_loaded":
            picks = g.members[_least_loaded(load[g.members], cap[g.members], m)]
        else:
            c = cursor[g.team]
            start = int(np.searchsorted(g.team_pos, c, side="right")) % g.team_pos.size
            ring_members = np.roll(g.members, -start)
            ring_pos = np.roll(g.team_pos, -start)
            turns = _round_robin(np.maximum(cap[ring_members] - load[ring_members], 0), m)
            picks = ring_members[turns]
            if turns.size:
                cursor[g.team] = int(ring_pos[turns[-1]])
        owner[g.positions[: picks.size]] = picks
        np.add.at(load, picks, 1)

    for g in groups:
        full = g.positions[owner[g.positions] < 0]
        if full.size:
            reason[full] = REASONS.index("at_capacity")
            detail[full] = f"every eligible member of team {g.team!r} is at capacity"

    # 4. results
    queues = [r.queue for r in rule_list]
    to_queue = np.array([q is not None for q in queues] + [False], dtype=bool)
    queued = to_queue[rule_of]  # rule_of -1 reads the trailing False
    status = np.where(owner >= 0, 0, np.where(queued, 1, 2))
    team_names = [r.team.name if r.team is not None else None for r in rule_list]
    team_cats = sorted({t for t in team_names if t is not None})
    team_code = np.array([team_cats.index(t) if t else -1 for t in team_names] + [-1])
    queue_cats = sorted({q for q in queues if q is not None})
    queue_code = np.array([queue_cats.index(q) if q else -1 for q in queues] + [-1])
    table = pd.DataFrame(
        {
            "entity_id": ids.to_numpy() if ids.index is not frame.index else ids,
            "status": _categorical(status, _STATUS),
            "rule": _categorical(rule_of, [r.name for r in rule_list]),
            "team": _categorical(team_code[rule_of], team_cats),
            "queue": _categorical(queue_code[rule_of], queue_cats),
            "owner": _categorical(owner, [a.id for a in agents]),
            "reason": _categorical(np.where(status == 2, reason, -1), REASONS),
            "detail": detail,
        },
        index=frame.index,
    )
    loads = dict(workload.loads)
    for a, value in zip(agents, load.tolist(), strict=True):
        if value or a.id in loads:
            loads[a.id] = int(value)
    last = dict(workload.last_assigned)
    for team_name, c in cursor.items():
        if c >= 0:
            last[team_name] = agents[team_members[team_name][c]].id
    out_workload = Workload(loads, last)
    assigned_to = np.array([a.id for a in agents] + [None], dtype=object)[owner]
    if objs is None:
        out = frame.copy()
        current = (
            out[owner_col].to_numpy(dtype=object)
            if owner_col in out.columns
            else np.full(n, None, dtype=object)
        )
        out[owner_col] = np.where(owner >= 0, assigned_to, current)
        result_entities: Any = out
    else:
        result_entities = tuple(
            attrs.evolve(e, **{owner_col: o}) if o is not None else e
            for e, o in zip(objs, assigned_to.tolist(), strict=True)
        )
    return Assignment(table, result_entities, out_workload, (entity_type, at, actor))
