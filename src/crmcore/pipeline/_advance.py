"""Moving entities through workflows: ``advance``, stage-change events, replay."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from crmcore._time import require_existing
from crmcore.domain import StageChanged  # the event lives in the domain; re-exported here
from crmcore.errors import InvalidTransition, ValidationError
from crmcore.pipeline._defaults import OPPORTUNITY_WORKFLOW
from crmcore.pipeline._workflow import Move, Workflow

__all__ = [
    "StageChanged",
    "advance",
    "allowed_transitions",
    "replay",
    "reset_probability",
    "set_probability",
]

E = TypeVar("E")


@functools.cache
def _features(cls: type) -> tuple[bool, bool, bool, bool, bool]:
    """Which optional workflow attributes a class carries (cached per class)."""
    names = {a.name for a in attrs.fields(cls)} if attrs.has(cls) else set(dir(cls))
    return (
        "probability" in names and "probability_is_manual" in names,
        "lost_reason" in names,
        "last_open_stage" in names,
        "closed_at" in names,
        "resolved_at" in names,
    )


@functools.cache
def _evolver(cls: type) -> Any:
    """Return a fast ``evolve`` for a frozen slotted attrs class, or ``None``.

    ``attrs.evolve`` re-runs every converter and validator through
    ``__init__`` (about 15 µs on an Opportunity). Copying the slots and
    converting / validating only the changed fields, then re-running
    ``__attrs_post_init__`` (the cross-field invariants), keeps every check
    that a change could break at a fraction of the cost.
    """
    if not attrs.has(cls) or "__slots__" not in cls.__dict__ or hasattr(cls, "__attrs_pre_init__"):
        return None
    fields = attrs.fields(cls)
    if len(fields) < 2:  # attrgetter of one name returns a bare value, not a tuple
        return None
    slots = {n for k in cls.__mro__ for n in getattr(k, "__slots__", ())}
    if slots - {f.name for f in fields} - {"__weakref__"}:
        return None  # hidden state (e.g. a cached hash) that a slot copy would miss
    spec: dict[str, tuple[Any, Any, attrs.Attribute[Any]]] = {}
    for f in fields:
        conv = f.converter
        if conv is not None and not callable(conv):
            return None
        if isinstance(conv, attrs.Converter):
            return None
        spec[f.name] = (conv, f.validator, f)
    names = tuple(f.name for f in fields)
    post = getattr(cls, "__attrs_post_init__", None)
    setter = object.__setattr__
    new_obj = object.__new__
    get_all = operator.attrgetter(*names)

    def evolve(inst: Any, changes: dict[str, Any]) -> Any:
        new = new_obj(cls)
        for name, value in zip(names, get_all(inst), strict=True):
            setter(new, name, value)
        for name, value in changes.items():
            conv, validator, field = spec[name]
            v = conv(value) if conv is not None else value
            setter(new, name, v)
            if validator is not None:
                validator(new, field, v)
        if post is not None:
            post(new)
        return new

    return evolve


def _refuse(
    wf: Workflow, current: str, target: str, why: str, *, allowed: tuple[str, ...] | None = None
) -> InvalidTransition:
    allowed_ = wf._allowed.get(current, ()) if allowed is None else allowed
    listing = ", ".join(allowed_) if allowed_ else "none (final stage)"
    return InvalidTransition(
        f"{wf.name}: cannot move from {current!r} to {target!r}: {why}; "
        f"allowed from {current!r}: {listing}",
        current=current,
        target=target,
        allowed=allowed_,
    )


def advance(
    entity: E,
    to_stage: str,
    *,
    at: object,
    workflow: Workflow,
    reason: str | None = None,
    actor: str | None = None,
) -> tuple[E, tuple[StageChanged, ...]]:
    """Move ``entity`` to ``to_stage``; return the new entity and the events.

    Pure: ``entity`` is not modified. The stage is read from and written to
    ``workflow.state_attr`` (``status`` for leads and tickets, ``stage`` for
    opportunities). Entities that carry the attributes also get:

    - ``probability``: the target stage's default, unless
      ``probability_is_manual`` is set (see :func:`set_probability`);
    - ``lost_reason`` and ``last_open_stage`` when moved into a closed, not
      won stage (the reason given and the stage it was lost from);
      ``lost_reason`` is cleared when the entity is reopened;
    - ``closed_at`` set when entering a closed stage, cleared when reopened;
    - ``resolved_at`` likewise for tickets.

    Parameters
    ----------
    entity : attrs instance
        A lead, opportunity, ticket, or any attrs class with the state
        attribute and an ``id``.
    to_stage : str
        Target stage name.
    at : datetime
        When the move happens (timezone-aware).
    workflow : Workflow
        The workflow that governs the entity.
    reason : str, optional
        Why; required for stages with ``requires_reason`` (``closed_lost``).
    actor : str, optional
        Who made the move.

    Returns
    -------
    new_entity : same type as ``entity``
        A new entity in the target stage (the input is unchanged).
    events : tuple of StageChanged
        One event per move.

    Raises
    ------
    InvalidTransition
        If the workflow has no such move from the current stage, a guard
        refuses, or a required reason is missing. Its ``allowed`` lists the
        stages reachable from the current one.
    ValidationError
        If ``at`` is naive or not a datetime.

    Examples
    --------
    >>> import datetime as dt
    >>> import attrs
    >>> @attrs.frozen
    ... class Deal:
    ...     id: str
    ...     stage: str = "prospecting"
    ...     probability: float = 10
    ...     probability_is_manual: bool = False
    >>> at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc)
    >>> deal, events = advance(Deal("d1"), "proposal", at=at, workflow=OPPORTUNITY_WORKFLOW)
    >>> deal.stage, deal.probability, events[0].from_stage
    ('proposal', 50, 'prospecting')
    """
    wf = workflow
    attr = wf.state_attr
    try:
        current: str = getattr(entity, attr)
    except AttributeError:
        raise ValidationError(
            f"{type(entity).__name__} has no attribute {attr!r} holding its {wf.name} stage",
            field=attr,
        ) from None
    if not isinstance(at, dt.datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError(
            f"at must be a timezone-aware datetime; got {at!r}", field="at", value=at
        )
    if type(at.tzinfo) is not dt.timezone:  # a zone with DST: no skipped wall time
        require_existing(at, field="at")
    edge = wf._edges.get((current, to_stage))
    if edge is None:
        if current not in wf._by_name:
            raise _refuse(wf, current, to_stage, "the current stage is not in the workflow")
        if to_stage not in wf._by_name:
            why = "no such stage"
        elif current == to_stage:
            why = "it is already there"
        elif current in wf.final:
            why = f"{current!r} is final"
        else:
            why = "no such transition"
        raise _refuse(wf, current, to_stage, why)
    stage = wf._by_name[to_stage]
    if stage.requires_reason and not reason:
        raise _refuse(wf, current, to_stage, f"a reason is required to enter {to_stage!r}")
    if edge.guard is not None:
        verdict = edge.guard(entity, Move(current, to_stage, at, actor, reason))
        if verdict is False or isinstance(verdict, str):
            why = verdict or f"guard {getattr(edge.guard, '__name__', 'guard')} refused"
            raise _refuse(wf, current, to_stage, f"refused: {why}")
    has_prob, has_lost, has_last, has_closed, has_resolved = _features(type(entity))  # type: ignore[arg-type]
    changes: dict[str, Any] = {attr: to_stage}
    if has_prob and not entity.probability_is_manual:  # type: ignore[attr-defined]
        changes["probability"] = stage.probability
    cur_closed = wf._by_name[current].is_closed
    if stage.is_closed and not stage.is_won:
        if has_lost:
            changes["lost_reason"] = reason
        if has_last and not cur_closed:
            changes["last_open_stage"] = current
    elif has_lost and cur_closed and not stage.is_closed:
        changes["lost_reason"] = None  # reopened: no longer lost
    if has_closed:
        if stage.is_closed and not cur_closed:
            changes["closed_at"] = at
        elif not stage.is_closed and cur_closed:
            changes["closed_at"] = None
    if has_resolved:
        if stage.is_closed and not cur_closed:
            changes["resolved_at"] = at
        elif not stage.is_closed and cur_closed:
            changes["resolved_at"] = None
    cls: type = type(entity)
    fast = _evolver(cls)
    new: E = fast(entity, changes) if fast is not None else attrs.evolve(entity, **changes)  # type: ignore[misc]
    event = StageChanged(
        getattr(entity, "id", None), current, to_stage, at, actor, reason, wf.name
    )
    return new, (event,)


def allowed_transitions(entity: object, workflow: Workflow) -> tuple[str, ...]:
    """Stages the entity may move to next (before guards are evaluated).

    Parameters
    ----------
    entity : object
        Any object with the workflow's state attribute (``workflow.state_attr``,
        e.g. ``status`` for tickets, ``stage`` for opportunities).
    workflow : Workflow
        The workflow the entity follows.

    Returns
    -------
    tuple of str
        Target stage names in definition order; empty when the entity is in a
        final stage.  A guarded transition may still refuse the move in
        :func:`advance`.

    Raises
    ------
    ValidationError
        If the entity's current stage is not a stage of ``workflow``.
    AttributeError
        If the entity has no ``workflow.state_attr`` attribute.

    Examples
    --------
    >>> import attrs
    >>> from crmcore.pipeline import TICKET_WORKFLOW
    >>> @attrs.frozen
    ... class T:
    ...     id: str
    ...     status: str = "resolved"
    >>> allowed_transitions(T("t1"), TICKET_WORKFLOW)
    ('in_progress', 'closed')
    """
    return workflow.allowed_from(getattr(entity, workflow.state_attr))


def replay(
    events: Iterable[object],
    *,
    workflow: Workflow | None = None,
    initial: Mapping[Hashable, str] | None = None,
) -> dict[Hashable, str]:
    """Rebuild the current stage of every entity from its stage-change events.

    Parameters
    ----------
    events : iterable of StageChanged
        The audit history, in the order the moves happened (other event
        types are skipped).
    workflow : Workflow, optional
        If given, every move is checked against it (unknown stages or moves
        are refused) and entities start in its initial stage.
    initial : mapping, optional
        Known starting stages by entity id (a snapshot to replay onto).

    Returns
    -------
    dict
        Entity id to stage name.

    Raises
    ------
    ValidationError
        If an event starts from a stage other than where the entity was left
        by the previous event (a gap or reordering in the history), or makes
        a move the workflow does not allow.

    Examples
    --------
    >>> import datetime as dt
    >>> at = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
    >>> replay([StageChanged("o1", "prospecting", "proposal", at)])
    {'o1': 'proposal'}
    """
    state: dict[Hashable, str] = dict(initial or {})
    for i, ev in enumerate(events):
        if not isinstance(ev, StageChanged):
            continue  # other domain events (LeadConverted...) carry no stage
        prev = state.get(ev.entity_id)
        if prev is None and workflow is not None:
            prev = workflow.initial
        if prev is not None and prev != ev.from_stage:
            raise ValidationError(
                f"event {i} moves {ev.entity_id!r} from {ev.from_stage!r} but the history "
                f"left it in {prev!r}",
                field="from_stage",
                row=i,
                value=ev.from_stage,
            )
        if workflow is not None and workflow.transition(ev.from_stage, ev.to_stage) is None:
            raise ValidationError(
                f"event {i}: workflow {workflow.name!r} has no move {ev.from_stage!r} -> "
                f"{ev.to_stage!r}",
                field="to_stage",
                row=i,
                value=ev.to_stage,
            )
        state[ev.entity_id] = ev.to_stage
    return state


def set_probability(opportunity: E, probability: object) -> E:
    """Set a win probability by hand; it survives stage moves until reset.

    Parameters
    ----------
    opportunity : attrs instance
        An entity with ``probability`` and ``probability_is_manual``.
    probability : float
        Percent, 0–100.

    Returns
    -------
    attrs instance
        A new entity of the same type with ``probability`` set and
        ``probability_is_manual=True``; the input is unchanged.

    Raises
    ------
    ValidationError
        If ``probability`` is not a number in [0, 100].
    """
    if (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not 0 <= probability <= 100
    ):
        raise ValidationError(
            f"probability must be a number in [0, 100]; got {probability!r}",
            field="probability",
            value=probability,
        )
    return attrs.evolve(  # type: ignore[misc]
        opportunity, probability=float(probability), probability_is_manual=True
    )


def reset_probability(opportunity: E, workflow: Workflow = OPPORTUNITY_WORKFLOW) -> E:
    """Drop a manual probability: back to the current stage's default.

    Parameters
    ----------
    opportunity : attrs instance
        An entity with ``probability``, ``probability_is_manual`` and the
        workflow's state attribute (``stage`` for opportunities).
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        The workflow whose stage probabilities are the defaults.

    Returns
    -------
    attrs instance
        A new entity of the same type whose ``probability`` is the current
        stage's default, with ``probability_is_manual=False``; the input is
        unchanged.

    Raises
    ------
    ValidationError
        If the entity's stage is not a stage of ``workflow``.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Money, Opportunity
    >>> opp = Opportunity(
    ...     id="o1",
    ...     account_id="a1",
    ...     name="Renewal",
    ...     amount=Money(amount="1000", currency="EUR"),
    ...     expected_close_date=dt.date(2026, 6, 30),
    ...     probability=50,
    ...     created_at=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc),
    ...     stage="proposal",
    ... )
    >>> manual = set_probability(opp, 80)
    >>> manual.probability, manual.probability_is_manual
    (80.0, True)
    >>> back = reset_probability(manual)
    >>> back.probability, back.probability_is_manual
    (50.0, False)
    """
    stage = workflow.stage(getattr(opportunity, workflow.state_attr))
    return attrs.evolve(  # type: ignore[misc]
        opportunity, probability=stage.probability, probability_is_manual=False
    )
