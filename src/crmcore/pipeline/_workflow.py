"""Workflow definitions: stages, transitions and the validated workflow graph."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from crmcore.errors import ValidationError

__all__ = [
    "FORECAST_CATEGORIES",
    "Guard",
    "Move",
    "Stage",
    "Transition",
    "Workflow",
]

FORECAST_CATEGORIES: tuple[str, ...] = ("pipeline", "best_case", "commit", "closed", "omitted")
"""The forecast categories a stage may carry, from least to most certain (``omitted`` last)."""


@attrs.frozen(slots=True)
class Move:
    """A requested stage change, as seen by a transition guard.

    Attributes
    ----------
    source, target : str
        Current and requested stage names.
    at : datetime
        When the move happens.
    actor : str or None
        Who moves the entity.
    reason : str or None
        Reason given with the move.
    """

    source: str
    target: str
    at: Any
    actor: str | None
    reason: str | None


Guard = Callable[[Any, Move], "bool | str | None"]
"""A transition guard: ``guard(entity, move)``.

Returns ``None`` or ``True`` to allow the move, a string explaining the refusal
(or ``False`` for a refusal named after the guard) to refuse it.
"""


def _check_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{what} must be a non-empty string; got {value!r}", value=value)
    return value


def _probability(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ValidationError(
            f"Stage.{attribute.name} must be a number in [0, 100]; got {value!r}",
            field=attribute.name,
            value=value,
        )


def _category(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in FORECAST_CATEGORIES:
        raise ValidationError(
            f"Stage.forecast_category must be one of {', '.join(FORECAST_CATEGORIES)}; "
            f"got {value!r}",
            field=attribute.name,
            value=value,
        )


def _stage_name(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    _check_name(value, f"Stage.{attribute.name}")


@attrs.frozen(slots=True)
class Stage:
    """One state of a workflow.

    Parameters
    ----------
    name : str
        Unique name within the workflow (entities hold their stage by name).
    sequence : int
        Position along the happy path; used to order funnels ("reached at
        least this stage").
    probability : float, default 0
        Default win probability in percent (0–100) given to an entity that
        enters the stage (opportunities).
    forecast_category : str, default "pipeline"
        One of ``pipeline``, ``best_case``, ``commit``, ``closed``, ``omitted``.
    is_won : bool, default False
        Reaching this stage is a success (won deal, converted lead).
    is_closed : bool, default False
        The entity is done with (won, lost, resolved).
    pauses_sla : bool, default False
        Time spent here does not count towards resolution SLAs.
    requires_reason : bool, default False
        A move into this stage must give a ``reason`` (a lost reason, for
        example).

    Examples
    --------
    >>> Stage("proposal", 3, 50, "best_case")
    Stage(name='proposal', sequence=3, probability=50, forecast_category='best_case', ...)
    """

    name: str = attrs.field(validator=_stage_name)
    sequence: int = attrs.field()
    probability: float = attrs.field(default=0, validator=_probability)
    forecast_category: str = attrs.field(default="pipeline", validator=_category)
    is_won: bool = False
    is_closed: bool = False
    pauses_sla: bool = False
    requires_reason: bool = False

    @sequence.validator
    def _check_sequence(self, attribute: attrs.Attribute[Any], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(
                f"Stage.sequence must be an int; got {value!r}", field="sequence", value=value
            )

    def __attrs_post_init__(self) -> None:
        if self.is_won and not self.is_closed:
            raise ValidationError(
                f"stage {self.name!r} is won but not closed; a won stage must be closed",
                field="is_closed",
                value=self.is_closed,
            )


@attrs.frozen(slots=True)
class Transition:
    """An allowed move between two stages, optionally guarded.

    Parameters
    ----------
    source, target : str
        Stage names.
    guard : callable, optional
        ``guard(entity, move)`` returning ``None``/``True`` to allow, a string
        (the reason) or ``False`` to refuse. See :data:`Guard`.

    Examples
    --------
    >>> Transition("new", "contacted")
    Transition(source='new', target='contacted', guard=None)
    """

    source: str = attrs.field(validator=_stage_name)
    target: str = attrs.field(validator=_stage_name)
    guard: Guard | None = attrs.field(default=None, eq=False)


def _as_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _optional_frozenset(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


def _default_state_attr(name: str) -> str:
    return "stage" if name == "opportunity" else "status"


@attrs.frozen(slots=True, eq=False)
class Workflow:
    """An immutable, validated state machine.

    Parameters
    ----------
    name : str
        Workflow name (``"lead"``, ``"opportunity"``, ``"ticket"`` for the
        defaults).
    stages : sequence of Stage
        Every stage; names must be unique.
    transitions : sequence of Transition
        The allowed moves.
    initial : str
        The stage new entities start in.
    final : sequence of str, optional
        Stages that can never be left. Defaults to every closed stage.
    state_attr : str, optional
        The entity attribute that holds the stage name: ``"stage"`` for a
        workflow named ``"opportunity"``, ``"status"`` otherwise.

    Raises
    ------
    ValidationError
        For duplicate stage names, transitions or open-stage sequence
        numbers, a transition or initial /
        final stage naming an unknown stage, a transition leaving a final
        stage, a stage unreachable from ``initial``, or a non-final stage with
        no way out.

    Examples
    --------
    >>> wf = Workflow(
    ...     "demo",
    ...     [Stage("open", 1), Stage("done", 2, is_closed=True)],
    ...     [Transition("open", "done")],
    ...     "open",
    ... )
    >>> wf.allowed_from("open")
    ('done',)
    >>> Workflow("bad", [Stage("open", 1), Stage("done", 2, is_closed=True)], [], "open")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: workflow 'bad': stage 'done' is unreachable from ...
    """

    name: str = attrs.field(validator=_stage_name)
    stages: tuple[Stage, ...] = attrs.field(converter=_as_tuple)
    transitions: tuple[Transition, ...] = attrs.field(converter=_as_tuple)
    initial: str = attrs.field()
    final: frozenset[str] = attrs.field(default=None, converter=_optional_frozenset)
    state_attr: str = attrs.field(default="")
    # Lookup tables precomputed at build time (advance must be cheap).
    _by_name: Mapping[str, Stage] = attrs.field(init=False, repr=False)
    _allowed: Mapping[str, tuple[str, ...]] = attrs.field(init=False, repr=False)
    _edges: Mapping[tuple[str, str], Transition] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        where = f"workflow {self.name!r}"
        for s in self.stages:
            if not isinstance(s, Stage):
                raise ValidationError(f"{where}: stages must be Stage objects; got {s!r}", value=s)
        for t in self.transitions:
            if not isinstance(t, Transition):
                raise ValidationError(
                    f"{where}: transitions must be Transition objects; got {t!r}", value=t
                )
        if not self.stages:
            raise ValidationError(f"{where} has no stages", field="stages")
        by_name: dict[str, Stage] = {}
        for s in self.stages:
            if s.name in by_name:
                raise ValidationError(
                    f"{where}: duplicate stage name {s.name!r}", field="stages", value=s.name
                )
            by_name[s.name] = s
        seen_seq: dict[int, str] = {}
        for s in self.stages:
            if s.is_closed:
                continue
            if s.sequence in seen_seq:
                raise ValidationError(
                    f"{where}: open stages {seen_seq[s.sequence]!r} and {s.name!r} share "
                    f"sequence {s.sequence}; funnels need a strict order",
                    field="sequence",
                    value=s.sequence,
                )
            seen_seq[s.sequence] = s.name
        known = ", ".join(by_name)
        if self.initial not in by_name:
            raise ValidationError(
                f"{where}: initial stage {self.initial!r} is unknown; stages: {known}",
                field="initial",
                value=self.initial,
            )
        given: frozenset[str] | None = self.final
        final = frozenset(s.name for s in self.stages if s.is_closed) if given is None else given
        for f in sorted(final):
            if f not in by_name:
                raise ValidationError(
                    f"{where}: final stage {f!r} is unknown; stages: {known}",
                    field="final",
                    value=f,
                )
        edges: dict[tuple[str, str], Transition] = {}
        out: dict[str, list[str]] = {n: [] for n in by_name}
        for t in self.transitions:
            for end in (t.source, t.target):
                if end not in by_name:
                    raise ValidationError(
                        f"{where}: transition {t.source!r} -> {t.target!r} names unknown "
                        f"stage {end!r}; stages: {known}",
                        field="transitions",
                        value=end,
                    )
            if t.source in final:
                raise ValidationError(
                    f"{where}: transition {t.source!r} -> {t.target!r} leaves final stage "
                    f"{t.source!r}",
                    field="transitions",
                    value=t.source,
                )
            if t.source == t.target:
                raise ValidationError(
                    f"{where}: transition {t.source!r} -> {t.target!r} goes nowhere",
                    field="transitions",
                    value=t.source,
                )
            if (t.source, t.target) in edges:
                raise ValidationError(
                    f"{where}: duplicate transition {t.source!r} -> {t.target!r}",
                    field="transitions",
                    value=(t.source, t.target),
                )
            edges[(t.source, t.target)] = t
            out[t.source].append(t.target)
        seen = {self.initial}
        frontier = [self.initial]
        while frontier:
            nxt = [t for s in frontier for t in out[s] if t not in seen]
            seen.update(nxt)
            frontier = nxt
        for s in self.stages:
            if s.name not in seen:
                raise ValidationError(
                    f"{where}: stage {s.name!r} is unreachable from initial stage "
                    f"{self.initial!r}",
                    field="stages",
                    value=s.name,
                )
        for s in self.stages:
            if not out[s.name] and s.name not in final:
                raise ValidationError(
                    f"{where}: stage {s.name!r} has no outgoing transition but is not final",
                    field="transitions",
                    value=s.name,
                )
        state_attr = self.state_attr or _default_state_attr(self.name)
        set_ = object.__setattr__
        set_(self, "final", final)
        set_(self, "state_attr", state_attr)
        set_(self, "_by_name", MappingProxyType(by_name))
        set_(self, "_allowed", MappingProxyType({k: tuple(v) for k, v in out.items()}))
        set_(self, "_edges", MappingProxyType(edges))

    def __copy__(self) -> Workflow:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Workflow:
        # Immutable: copies (sklearn.clone deep-copies parameters) are the object itself.
        return self

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Describe the workflow as JSON-ready data (guards by function name).

        Returns
        -------
        dict
            ``name``, ``initial``, ``final`` (sorted list), ``state_attr``,
            ``stages`` (one dict per :class:`Stage`) and ``transitions``
            (``source``, ``target`` and the guard's function name or
            ``None``); :meth:`from_dict` reads it back.

        Examples
        --------
        >>> from crmcore.pipeline import TICKET_WORKFLOW
        >>> data = TICKET_WORKFLOW.to_dict()
        >>> data["initial"], data["final"], data["transitions"][0]
        ('new', ['closed'], {'source': 'new', 'target': 'assigned', 'guard': None})
        >>> Workflow.from_dict(data).allowed_from("resolved")
        ('in_progress', 'closed')
        """
        return {
            "name": self.name,
            "initial": self.initial,
            "final": sorted(self.final),
            "state_attr": self.state_attr,
            "stages": [attrs.asdict(s) for s in self.stages],
            "transitions": [
                {
                    "source": t.source,
                    "target": t.target,
                    "guard": None if t.guard is None else getattr(t.guard, "__name__", None),
                }
                for t in self.transitions
            ],
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, guards: Mapping[str, Guard] | None = None
    ) -> Workflow:
        """Rebuild (and re-validate) a workflow saved with :meth:`to_dict`.

        Parameters
        ----------
        data : mapping
            As produced by :meth:`to_dict` (e.g. after a JSON round trip).
        guards : mapping of str to callable, optional
            The guard functions, by the names recorded in ``data``.

        Raises
        ------
        ValidationError
            If the data is malformed, names a guard not in ``guards``, or
            describes an invalid workflow.
        """
        table = dict(guards or {})
        try:
            stages = [Stage(**s) for s in data["stages"]]
            trans = []
            for t in data["transitions"]:
                name = t.get("guard")
                if name is not None and name not in table:
                    raise ValidationError(
                        f"transition {t['source']!r} -> {t['target']!r} needs guard {name!r}; "
                        "pass it in guards={...}",
                        field="guards",
                        value=name,
                    )
                guard = None if name is None else table[name]
                trans.append(Transition(t["source"], t["target"], guard))
            return cls(
                data["name"],
                stages,
                trans,
                data["initial"],
                final=data.get("final"),
                state_attr=data.get("state_attr", ""),
            )
        except (KeyError, TypeError) as exc:
            raise ValidationError(
                f"workflow data is malformed: {exc!r}", field="workflow"
            ) from exc

    # ------------------------------------------------------------ queries
    @property
    def stage_names(self) -> tuple[str, ...]:
        """Stage names in definition order."""
        return tuple(self._by_name)

    def stage(self, name: str) -> Stage:
        """Return the stage called ``name``.

        Parameters
        ----------
        name : str
            A stage name of this workflow (see :attr:`stage_names`).

        Returns
        -------
        Stage
            The stage definition: sequence, win probability, forecast
            category and flags.

        Raises
        ------
        ValidationError
            If the workflow has no such stage (``field`` is the workflow's
            ``state_attr``).

        Examples
        --------
        >>> from crmcore.pipeline import OPPORTUNITY_WORKFLOW
        >>> proposal = OPPORTUNITY_WORKFLOW.stage("proposal")
        >>> proposal.probability, proposal.is_closed
        (50, False)
        """
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise ValidationError(
                f"workflow {self.name!r} has no stage {name!r}; stages: "
                f"{', '.join(self._by_name)}",
                field=self.state_attr,
                value=name,
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def allowed_from(self, stage: str) -> tuple[str, ...]:
        """Targets reachable in one move from ``stage`` (guards not evaluated).

        Parameters
        ----------
        stage : str
            A stage name of this workflow.

        Returns
        -------
        tuple of str
            Target stage names in definition order; empty for a final stage.
            A target may still be refused at run time by its transition's
            guard (see :func:`allowed_transitions` for a given entity).

        Raises
        ------
        ValidationError
            If the workflow has no such stage.

        Examples
        --------
        >>> from crmcore.pipeline import TICKET_WORKFLOW
        >>> TICKET_WORKFLOW.allowed_from("resolved")
        ('in_progress', 'closed')
        >>> TICKET_WORKFLOW.allowed_from("closed")
        ()
        """
        self.stage(stage)
        return self._allowed[stage]

    def transition(self, source: str, target: str) -> Transition | None:
        """Return the transition ``source -> target``, or ``None`` if there is none.

        Parameters
        ----------
        source : str
            The stage moved from.
        target : str
            The stage moved to.

        Returns
        -------
        Transition or None
            The transition with its guard, or ``None`` when the move is not
            defined (including when either name is not a stage: this is a
            query, not a check).

        Examples
        --------
        >>> from crmcore.pipeline import TICKET_WORKFLOW
        >>> TICKET_WORKFLOW.transition("new", "assigned")
        Transition(source='new', target='assigned', guard=None)
        >>> TICKET_WORKFLOW.transition("closed", "new") is None
        True
        """
        return self._edges.get((source, target))

    def is_final(self, stage: str) -> bool:
        """Whether ``stage`` can never be left.

        Parameters
        ----------
        stage : str
            A stage name.

        Returns
        -------
        bool
            True if ``stage`` is one of the workflow's final stages; False
            otherwise, including for a name that is not a stage.

        Examples
        --------
        >>> from crmcore.pipeline import OPPORTUNITY_WORKFLOW
        >>> OPPORTUNITY_WORKFLOW.is_final("closed_won"), OPPORTUNITY_WORKFLOW.is_final("proposal")
        (True, False)
        """
        return stage in self.final

    def open_stages(self) -> tuple[Stage, ...]:
        """Stages that are not closed, ordered by ``sequence``.

        Returns
        -------
        tuple of Stage
            The open stages, lowest ``sequence`` first.

        Examples
        --------
        >>> from crmcore.pipeline import OPPORTUNITY_WORKFLOW
        >>> [s.name for s in OPPORTUNITY_WORKFLOW.open_stages()]
        ['prospecting', 'qualification', 'proposal', 'negotiation']
        """
        return tuple(sorted((s for s in self.stages if not s.is_closed), key=_seq))


def _seq(s: Stage) -> int:
    return s.sequence


def linear_workflow(
    name: str,
    stages: Iterable[Stage],
    *,
    extra: Iterable[tuple[str, str]] = (),
    initial: str | None = None,
) -> Workflow:
    """Build a workflow where each open stage may move to any other stage.

    Parameters
    ----------
    name : str
        Workflow name.
    stages : iterable of Stage
        The stages; the first is the initial stage unless ``initial`` is given.
    extra : iterable of (str, str)
        Additional transitions leaving closed stages (for reopening).
    initial : str, optional
        Initial stage name.

    Returns
    -------
    Workflow
    """
    st = tuple(stages)
    open_ = [s.name for s in st if not s.is_closed]
    trans = [Transition(a, b.name) for a in open_ for b in st if b.name != a]
    trans += [Transition(a, b) for a, b in extra]
    return Workflow(name, st, trans, initial or st[0].name)


def stage_table(workflow: Workflow) -> Mapping[str, Stage]:
    """Read-only mapping of stage name to :class:`Stage` (internal helper)."""
    return workflow._by_name
