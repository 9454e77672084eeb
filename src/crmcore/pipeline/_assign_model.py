"""Who can take work: agents, teams, routing strategies, rules, workload.

These are frozen values; :func:`crmcore.pipeline.assign` (``_assign.py``)
applies them. A strategy is either a *balancer* (:class:`RoundRobin`,
:class:`LeastLoaded`), which picks one member of an eligible set, or a
*filter* (:class:`SkillsMatch`, :class:`Territory`), which narrows the team to
the members able to take each entity and hands the choice to the strategy it
wraps (``then=``). Each strategy says what it does through two methods
(:meth:`pools` and :attr:`balancer`); the engine never switches on its type.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Literal, Protocol

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.segmentation import Rule

__all__ = [
    "Agent",
    "AssignmentRule",
    "LeastLoaded",
    "Pools",
    "RoundRobin",
    "SkillsMatch",
    "Strategy",
    "Team",
    "Territory",
    "Workload",
]

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
Balancer = Literal["round_robin", "least_loaded"]


def _text(value: Any, *, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{field} must be a non-empty string; got {value!r}", field=field, value=value
        )
    return value


def _labels(value: Any, *, field: str) -> frozenset[str]:
    """Read a set of labels: a string (one label) or an iterable of strings."""
    items = [value] if isinstance(value, str) else list(value)
    for v in items:
        if not isinstance(v, str) or not v:
            raise ValidationError(
                f"{field} must hold non-empty strings; got {v!r}", field=field, value=v
            )
    return frozenset(items)


def _nonempty(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _text(value, field=attribute.name)


def _skills(value: Any) -> frozenset[str]:
    return _labels(value, field="skills")


def _territories(value: Any) -> frozenset[str]:
    return _labels(value, field="territories")


def _capacity(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValidationError(
            f"capacity must be a whole number >= 0 or None (no limit); got {value!r}",
            field="capacity",
            value=value,
        )
    return int(value)


@attrs.frozen(slots=True)
class Agent:
    """A person (or bot) who can own leads or tickets.

    Parameters
    ----------
    id : str
        The owner id written on assigned entities.
    capacity : int, optional
        Most open items the agent may hold; ``None`` (default): no limit.
        Assignment never takes an agent above it (an agent already above
        it gets nothing more).
    skills : str or iterable of str
        What the agent can handle (languages, products...), for
        :class:`SkillsMatch`.
    territories : str or iterable of str
        Territories the agent covers, for :class:`Territory`.
    active : bool, default True
        Inactive agents (on leave) get nothing.

    Examples
    --------
    >>> Agent("ann", capacity=20, skills=["ko", "billing"]).skills == {"ko", "billing"}
    True
    """

    id: str = attrs.field(validator=_nonempty)
    capacity: int | None = attrs.field(default=None, converter=_capacity)
    skills: frozenset[str] = attrs.field(default=frozenset(), converter=_skills)
    territories: frozenset[str] = attrs.field(default=frozenset(), converter=_territories)
    active: bool = attrs.field(default=True, converter=bool)


def _members(value: Any) -> tuple[Agent, ...]:
    members = tuple(value)
    seen: set[str] = set()
    for m in members:
        if not isinstance(m, Agent):
            raise ValidationError(
                f"team members must be Agent values; got {m!r}", field="members", value=m
            )
        if m.id in seen:
            raise ValidationError(
                f"agent {m.id!r} is listed twice in the team", field="members", value=m.id
            )
        seen.add(m.id)
    return members


@attrs.frozen(slots=True)
class Team:
    """A named group of agents; the order of ``members`` is the rotation order.

    Parameters
    ----------
    name : str
        The team name written on assigned entities and keyed in
        :attr:`Workload.last_assigned`.
    members : iterable of Agent
        The agents, in rotation order (ids unique).
    """

    name: str = attrs.field(validator=_nonempty)
    members: tuple[Agent, ...] = attrs.field(converter=_members)


@attrs.frozen(slots=True)
class Pools:
    """How a strategy splits a rule's entities into pools of eligible members.

    Attributes
    ----------
    code : ndarray of int64
        Pool of each entity (index into ``eligible``).
    eligible : ndarray of bool, shape (n_pools, n_members)
        Which team members may take the entities of each pool.
    why : tuple of str
        Per pool, what the pool requires (for the message when nobody can).
    """

    code: I64
    eligible: B
    why: tuple[str, ...]


class Strategy(Protocol):
    """What a routing strategy provides to :func:`~crmcore.pipeline.assign`."""

    @property
    def balancer(self) -> Balancer:
        """How one member of an eligible pool is chosen."""
        ...

    def columns(self) -> tuple[str, ...]:
        """Entity columns the strategy reads."""
        ...

    def pools(self, frame: pd.DataFrame, team: Team) -> Pools:
        """Split ``frame``'s entities into pools of eligible members of ``team``."""
        ...


def _active_pool(frame: pd.DataFrame, team: Team) -> Pools:
    active = np.array([m.active for m in team.members], dtype=bool).reshape(1, -1)
    return Pools(np.zeros(len(frame), dtype=np.int64), active, ("active member",))


@attrs.frozen(slots=True)
class RoundRobin:
    """Take turns: each entity goes to the next eligible member after the last one served.

    The turn is kept per team in :attr:`Workload.last_assigned` (the last
    agent served), so consecutive calls continue the rotation. A member at
    capacity is skipped.
    """

    @property
    def balancer(self) -> Balancer:
        """``"round_robin"``."""
        return "round_robin"

    def columns(self) -> tuple[str, ...]:
        """None."""
        return ()

    def pools(self, frame: pd.DataFrame, team: Team) -> Pools:
        """One pool: the team's active members."""
        return _active_pool(frame, team)


@attrs.frozen(slots=True)
class LeastLoaded:
    """Give each entity to the eligible member holding the fewest open items.

    Loads start from :attr:`Workload.loads` and count each assignment as it
    is made; ties go to the member listed first; a member at capacity is
    skipped.
    """

    @property
    def balancer(self) -> Balancer:
        """``"least_loaded"``."""
        return "least_loaded"

    def columns(self) -> tuple[str, ...]:
        """None."""
        return ()

    def pools(self, frame: pd.DataFrame, team: Team) -> Pools:
        """One pool: the team's active members."""
        return _active_pool(frame, team)


def _requirement(value: Any, *, field: str, row: Hashable) -> tuple[str, ...]:
    """Skills an entity needs: none (missing), one (a string) or several (a list)."""
    if value is None or (not isinstance(value, str | Iterable) and pd.isna(value)):
        return ()
    items = [value] if isinstance(value, str) else list(value)
    for v in items:
        if not isinstance(v, str):
            raise ValidationError(
                f"{field} of row {row!r} must be a string or a list of strings; got {value!r}",
                field=field,
                row=row,
                value=value,
            )
    return tuple(sorted(set(items)))


def _refine(parent: Pools, req: I64, masks: list[B], whys: list[str]) -> Pools:
    """Intersect the parent's pools with a per-entity requirement (``req`` indexes ``masks``)."""
    n_req = max(len(masks), 1)
    codes, pairs = pd.factorize(parent.code * n_req + req, sort=True)
    eligible = np.zeros((len(pairs), parent.eligible.shape[1]), dtype=bool)
    why: list[str] = []
    for k, p in enumerate(np.asarray(pairs, dtype=np.int64).tolist()):
        parent_pool, r = divmod(p, n_req)
        eligible[k] = parent.eligible[parent_pool] & masks[r]
        why.append(parent.why[parent_pool] + (f" {whys[r]}" if whys[r] else ""))
    return Pools(np.asarray(codes, dtype=np.int64), eligible, tuple(why))


def _then(value: Any) -> Any:
    if not callable(getattr(value, "pools", None)) or not hasattr(value, "balancer"):
        raise ValidationError(
            f"then must be a strategy such as RoundRobin() or LeastLoaded(); got {value!r}",
            field="then",
            value=value,
        )
    return value


@attrs.frozen(slots=True)
class SkillsMatch:
    """Only members holding every skill the entity needs; then ``then`` chooses.

    Parameters
    ----------
    skills_col : str, default "skills"
        Entity column of required skills: a string (one skill), a list of
        strings (all needed), or missing (no requirement).
    then : strategy, default LeastLoaded()
        Chooses among the matching members.
    """

    skills_col: str = "skills"
    then: Strategy = attrs.field(factory=LeastLoaded, converter=_then)

    @property
    def balancer(self) -> Balancer:
        """The wrapped strategy's."""
        return self.then.balancer

    def columns(self) -> tuple[str, ...]:
        """``skills_col`` and the wrapped strategy's columns."""
        return (self.skills_col, *self.then.columns())

    def pools(self, frame: pd.DataFrame, team: Team) -> Pools:
        """Narrow the wrapped strategy's pools to the members with the skills."""
        check_columns(frame, [self.skills_col], name="entities")
        parent = self.then.pools(frame, team)
        col = frame[self.skills_col]
        try:  # strings and missing values: read each distinct value once
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
        except TypeError:  # lists are not hashable: read row by row
            values = col.to_numpy(dtype=object)
            reqs = np.empty(len(frame), dtype=object)
            for i, (row, v) in enumerate(zip(frame.index, values, strict=True)):
                reqs[i] = _requirement(v, field=self.skills_col, row=row)
        else:
            seen, first = np.unique(codes, return_index=True)
            first = first[seen >= 0]  # the row where each distinct value first appears
            table = np.empty(len(uniques) + 1, dtype=object)
            table[-1] = ()  # code -1: missing, no requirement
            for k, u in enumerate(uniques):
                table[k] = _requirement(u, field=self.skills_col, row=frame.index[first[k]])
            reqs = table[codes]
        req_code, distinct = pd.factorize(pd.Series(reqs, dtype=object))
        masks = [
            np.array([set(r) <= m.skills for m in team.members], dtype=bool) for r in distinct
        ]
        whys = [f"with skills {list(r)}" if r else "" for r in distinct]
        return _refine(parent, np.asarray(req_code, dtype=np.int64), masks, whys)


@attrs.frozen(slots=True)
class Territory:
    """Only members covering the entity's territory; then ``then`` chooses.

    Parameters
    ----------
    territory_col : str, default "territory"
        Entity column naming its territory (a region, country, postcode
        area...). An entity without one matches nobody.
    then : strategy, default RoundRobin()
        Chooses among the covering members.
    """

    territory_col: str = "territory"
    then: Strategy = attrs.field(factory=RoundRobin, converter=_then)

    @property
    def balancer(self) -> Balancer:
        """The wrapped strategy's."""
        return self.then.balancer

    def columns(self) -> tuple[str, ...]:
        """``territory_col`` and the wrapped strategy's columns."""
        return (self.territory_col, *self.then.columns())

    def pools(self, frame: pd.DataFrame, team: Team) -> Pools:
        """Narrow the wrapped strategy's pools to the members covering the territory."""
        check_columns(frame, [self.territory_col], name="entities")
        parent = self.then.pools(frame, team)
        code, distinct = pd.factorize(frame[self.territory_col], use_na_sentinel=True)
        masks = [np.array([v in m.territories for m in team.members]) for v in distinct]
        whys = [f"covering territory {v!r}" for v in distinct]
        # missing territory (code -1): the extra last slot, which nobody covers
        masks.append(np.zeros(len(team.members), dtype=bool))
        whys.append("covering no territory")
        code = np.where(code < 0, len(distinct), code)
        return _refine(parent, np.asarray(code, dtype=np.int64), masks, whys)


def _when(value: Any) -> Rule | None:
    if value is None or isinstance(value, Rule):
        return value
    if isinstance(value, str):
        return Rule.parse(value)
    raise ValidationError(
        f"when must be a segment Rule, rule text or None (every entity); got {value!r}",
        field="when",
        value=value,
    )


@attrs.frozen(slots=True)
class AssignmentRule:
    """Route the entities a segment rule selects to a team (or leave them in a queue).

    Rules are tried in the order given to :func:`~crmcore.pipeline.assign`;
    the first whose ``when`` holds decides. If its team cannot take the
    entity (nobody eligible, everyone at capacity), the entity is reported
    with the reason; it does not fall through to later rules.

    Parameters
    ----------
    name : str
        Written on results and events.
    when : Rule, str or None
        A segment :class:`~crmcore.segmentation.Rule` (or its text) over the
        entity columns; ``None`` selects every entity (a catch-all).
    team : Team, optional
        The team that takes the entities.
    queue : str, optional
        Instead of a team: the queue they wait in (no owner is set).
    strategy : strategy, default RoundRobin()
        :class:`RoundRobin`, :class:`LeastLoaded`, or a filter
        (:class:`SkillsMatch`, :class:`Territory`) wrapping one.

    Examples
    --------
    >>> emea = Team("emea", [Agent("ann"), Agent("bob")])
    >>> AssignmentRule("emea", "region == 'EMEA'", team=emea).strategy
    RoundRobin()
    """

    name: str = attrs.field(validator=_nonempty)
    when: Rule | None = attrs.field(converter=_when, eq=False)
    team: Team | None = None
    queue: str | None = None
    strategy: Strategy = attrs.field(factory=RoundRobin, converter=_then)

    def __attrs_post_init__(self) -> None:
        if (self.team is None) == (self.queue is None):
            raise ValidationError(
                f"rule {self.name!r} must route to exactly one of team= or queue=",
                field="team",
            )
        if self.team is not None and not isinstance(self.team, Team):
            raise ValidationError(f"team must be a Team; got {self.team!r}", field="team")
        if self.queue is not None:
            _text(self.queue, field="queue")


def _loads(value: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, v in dict(value).items():
        if not isinstance(k, str):
            raise ValidationError(f"loads keys must be agent ids; got {k!r}", field="loads")
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise ValidationError(
                f"loads[{k!r}] must be a whole number >= 0; got {v!r}", field="loads", value=v
            )
        out[k] = int(v)
    return out


def _last(value: Any) -> dict[str, str]:
    out = dict(value)
    for k, v in out.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValidationError(
                f"last_assigned maps team names to agent ids; got {k!r}: {v!r}",
                field="last_assigned",
            )
    return out


@attrs.frozen(slots=True)
class Workload:
    """The state assignment reads and returns: open items per agent, rotation per team.

    Pass the workload of one call to the next, so that round robin continues
    where it stopped and loads count earlier assignments; nothing is kept
    between calls anywhere else.

    Parameters
    ----------
    loads : mapping of str to int
        Open items each agent holds (missing agents: 0).
    last_assigned : mapping of str to str
        Per team, the agent served last by round robin (missing: the
        rotation starts with the first member).

    Examples
    --------
    >>> w = Workload({"ann": 3})
    >>> Workload.from_dict(w.to_dict()) == w
    True
    """

    loads: Mapping[str, int] = attrs.field(factory=dict, converter=_loads)
    last_assigned: Mapping[str, str] = attrs.field(factory=dict, converter=_last)

    @classmethod
    def count(cls, frame: pd.DataFrame, *, owner_col: str = "owner") -> Workload:
        """Count loads from a frame of open items (one row each) by owner.

        Parameters
        ----------
        frame : DataFrame
            The open leads or tickets.
        owner_col : str, default "owner"
            Column of owner ids (missing: not counted).

        Returns
        -------
        Workload
            With ``loads`` only.
        """
        check_columns(frame, [owner_col], name="frame")
        counts = frame[owner_col].dropna().astype(str).value_counts(sort=False)
        return cls({str(k): int(v) for k, v in counts.items()})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"loads": {...}, "last_assigned": {...}}``."""
        return {
            "loads": dict(sorted(self.loads.items())),
            "last_assigned": dict(sorted(self.last_assigned.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Workload:
        """Rebuild from :meth:`to_dict` (or ``json.loads`` of :meth:`to_json`)."""
        if not isinstance(data, Mapping):
            raise ValidationError("a saved Workload must be a mapping", field="data")
        return cls(data.get("loads", {}), data.get("last_assigned", {}))

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict())
