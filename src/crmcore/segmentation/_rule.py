"""The public :class:`Rule`: a compiled, safe segment definition."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from crmcore._types import BoolArray
from crmcore.errors import ValidationError
from crmcore.segmentation._rule_ast import And, Node, Not, Or, fields_of, render
from crmcore.segmentation._rule_eval import evaluate
from crmcore.segmentation._rule_parser import MAX_DEPTH, parse
from crmcore.segmentation._rule_store import StoreFilter, to_store_filter

__all__ = ["Rule"]


class Rule:
    """A segment rule, parsed once and applied to any number of frames.

    Build one with :meth:`Rule.parse`. The rule language is small and
    closed: a rule can only compare the frame's own columns with literals.
    It is parsed by a hand-written recursive-descent parser into a tree of
    frozen nodes and evaluated with vectorised NumPy / pandas operations;
    the text is never handed to ``eval``, ``exec``, ``pandas.eval`` or
    ``DataFrame.query``, and names are looked up only among the frame's
    columns, so a rule cannot reach attributes, functions or modules.

    **Language** (keywords are case-insensitive):

    - ``f == v`` (also ``!=``, ``<``, ``<=``, ``>``, ``>=``): comparison with a literal;
    - ``f between a and b``: ``a <= f <= b`` (``f not between a and b`` negates);
    - ``f in [v1, v2]``: membership (``not in`` negates);
    - ``f is null``: missing value (``is not null`` negates);
    - ``not``, ``and``, ``or`` with precedence ``not`` > ``and`` > ``or``, and
      parentheses for grouping.

    Field names are bare identifiers (``age``, ``spend_90d``) or, for any
    other column name (spaces, dots, keywords, names starting ``__``), are
    written in backticks: ```order count```; a backtick inside is doubled.
    Literals: numbers (``3``, ``-1.5``, ``2e3``), strings in single quotes
    (``'gold'``, ``'O''Brien'``), booleans ``true`` / ``false``, and dates
    ``date'2024-01-31'``, ``date'2024-01-31 12:00'`` or
    ``date'2024-01-31T12:00+01:00'``. Double quotes are not part of the
    language.

    **Dates** follow the library's time rule (:doc:`/time`) and are compared
    with datetime columns only:

    - a date-only literal names a whole calendar day, on the column's own
      wall clock (for a timezone-aware column, that day in its zone):
      ``t == date'2024-01-31'`` is any time that day, ``t <= date'2024-01-31'``
      includes the whole day (as a date-only ``as_of`` does) and
      ``t > date'2024-01-31'`` starts with the next day;
    - a literal with a time is an instant. Against a timezone-aware column it
      must carry its UTC offset (``+01:00`` or ``Z``) and compares as an
      instant; against a naive column it must not have one. crmcore never
      gives a naive time a zone silently: a mismatch raises
      :class:`~crmcore.errors.ValidationError` naming the fix.

    **Missing values** (NaN, None, NaT, ``pd.NA``) follow the convention of
    :mod:`crmcore.storage` filters: a comparison with a missing value is
    false (``x == 5``, ``x < 5``, ``x between 1 and 9``, ``x in [5]`` are
    all false where ``x`` is missing), except ``!=``, which is exactly
    ``not ==`` and so true there. ``not``, ``and`` and ``or`` are ordinary
    boolean operations: ``not r`` selects exactly the rows ``r`` does not.
    So ``x != 5``, ``not x == 5`` and ``x not in [5]`` all include
    customers whose ``x`` is missing; add ``and x is not null`` to leave
    them out.

    Parameters
    ----------
    node : Node
        The syntax tree (use :meth:`parse` rather than building it by hand).
    text : str, optional
        The text the tree came from (default: its canonical rendering).

    Attributes
    ----------
    text : str
        The original text.
    fields : tuple of str
        Columns used, in order of first appearance.
    node : Node
        The syntax tree.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame(
    ...     {"age": [25, 34, 38, None], "tier": ["gold", "silver", "gold", "gold"]}
    ... )
    >>> rule = Rule.parse("age between 30 and 39 and tier in ['gold', 'platinum']")
    >>> rule.mask(frame)
    array([False, False,  True, False])
    >>> rule.fields
    ('age', 'tier')
    >>> Rule.parse("age >= 30 or age is null").mask(frame)
    array([False,  True,  True,  True])
    >>> Rule.parse("not age >= 30").mask(frame)  # a missing age is not >= 30
    array([ True, False, False,  True])

    Rules combine with ``&``, ``|`` and ``~``:

    >>> str(Rule.parse("age > 30 or age < 20") & ~Rule.parse("tier == 'gold'"))
    "(age > 30 or age < 20) and not tier == 'gold'"
    """

    __slots__ = ("_depth", "_fields", "_text", "node")

    def __init__(self, node: Node, text: str | None = None) -> None:
        self._init(node, text, _nesting(node))

    def _init(self, node: Node, text: str | None, depth: int) -> None:
        if depth > MAX_DEPTH:  # rules combined with & | ~ past what a rule text may say
            raise ValidationError(
                f"the rule is nested {depth} levels deep; rules are limited to {MAX_DEPTH} "
                "levels (combine many rules at once, e.g. functools.reduce(operator.or_, "
                "rules) stays flat, while ~ applied again and again nests)",
                field="rule",
                value=depth,
            )
        self.node = node
        self._depth = depth
        # rendered and collected on first use: combining n rules with & or |
        # would otherwise re-render the whole chain n times (quadratic)
        self._text = text
        self._fields: tuple[str, ...] | None = None

    @classmethod
    def _combined(cls, node: Node, depth: int) -> Rule:
        """Build a rule whose nesting depth the caller already knows."""
        rule = cls.__new__(cls)
        rule._init(node, None, depth)
        return rule

    @property
    def text(self) -> str:
        """The original text (the canonical rendering for combined rules)."""
        if self._text is None:
            self._text = render(self.node)
        return self._text

    @property
    def fields(self) -> tuple[str, ...]:
        """Columns used, in order of first appearance."""
        if self._fields is None:
            self._fields = fields_of(self.node)
        return self._fields

    @classmethod
    def parse(cls, text: str) -> Rule:
        """Parse rule text.

        Parameters
        ----------
        text : str
            The rule, for example ``"frequency >= 3 and days_since_last_purchase < 180"``.

        Returns
        -------
        Rule
            The compiled rule.

        Raises
        ------
        RuleSyntaxError
            If the text is not a rule; ``.position`` is the zero-based offset
            of the problem and ``.expected`` lists what would have been
            accepted there.
        ValidationError
            If ``text`` is not a string.

        Examples
        --------
        >>> Rule.parse("spend_90d > 100 and")
        Traceback (most recent call last):
        ...
        crmcore.errors.RuleSyntaxError: unexpected end of rule at position 19
        ...
        """
        if not isinstance(text, str):
            raise ValidationError(
                f"a rule must be a string; got {type(text).__name__}", field="rule", value=text
            )
        return cls(parse(text), text)

    def mask(self, frame: pd.DataFrame) -> BoolArray:
        """Evaluate the rule on every row of ``frame``.

        Parameters
        ----------
        frame : DataFrame
            One row per customer; the rule's fields must be columns.

        Returns
        -------
        ndarray of bool
            ``True`` where the rule holds (by position, ``len(frame)`` long).

        Raises
        ------
        ValidationError
            For an unknown field (the message lists the frame's columns), a
            literal of the wrong type for its column (a string compared with
            a numeric column, a number with a datetime column, ...), or a
            column of an unsupported dtype.
        """
        if not isinstance(frame, pd.DataFrame):
            raise ValidationError(
                f"frame must be a pandas DataFrame; got {type(frame).__name__}", field="frame"
            )
        return evaluate(self.node, frame)

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the rows of ``frame`` for which the rule holds.

        Missing values follow the class convention (a comparison with a
        missing value is false, except ``!=``); this is
        ``frame.loc[rule.mask(frame)]``.

        Parameters
        ----------
        frame : DataFrame
            One row per customer, with every column the rule names.

        Returns
        -------
        DataFrame
            The matching rows, with ``frame``'s index and columns, in their
            original order.

        Raises
        ------
        ValidationError
            As for :meth:`mask`: an unknown field, a literal of the wrong
            type for its column, or a column of an unsupported dtype.

        Examples
        --------
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"n": [1, 5, 9]}, index=["a", "b", "c"])
        >>> Rule.parse("n > 2").select(frame).index.tolist()
        ['b', 'c']
        """
        return frame.loc[self.mask(frame)]

    def to_store_filter(self, *, tz: Any = "UTC", date_fields: Iterable[str] = ()) -> StoreFilter:
        """Translate the rule into a storage-agnostic filter tree.

        The tree is made of plain tuples, so any store can interpret it:

        - a *condition* is a 3-tuple ``(field, op, value)`` with ``op`` one of
          ``"eq" "ne" "lt" "le" "gt" "ge"`` (``value`` a literal: int, float,
          str, bool, or a timezone-aware ``datetime.datetime``), ``"in"``
          (``value`` a tuple of literals) or ``"is_null"`` (``value`` is
          ``True`` for ``is null``, ``False`` for ``is not null``);
        - a *combination* is a 2-tuple: ``("and", (child, ...))``,
          ``("or", (child, ...))`` or ``("not", child)``.

        ``between`` becomes ``("and", ((f, "ge", a), (f, "le", b)))``.
        Conditions have the ``(field, op, value)`` form and the operator
        names of :mod:`crmcore.storage` filters, and the missing-value
        semantics of :meth:`mask` are those of the stores (a comparison with
        a missing value is false, ``ne`` is exactly ``not eq``), so a store
        evaluating this tree selects the rows :meth:`mask` selects.

        **Dates.** Store datetimes are timezone-aware and compared as
        instants. A date-only literal names the day in ``tz`` and becomes
        aware bounds of that day, read as in :meth:`mask`:
        ``t >= date'2024-01-01'`` is ``(t, "ge", 2024-01-01 00:00 tz)``,
        ``t <= date'2024-01-31'`` is ``(t, "lt", 2024-02-01 00:00 tz)`` and
        ``t == date'2024-01-31'`` the two conditions of that day. A literal
        with a time must carry its UTC offset and is passed as it is.
        Fields in ``date_fields`` hold calendar dates (``datetime.date``,
        such as ``birth_date``): date-only literals stay dates there.

        Parameters
        ----------
        tz : str or tzinfo, default "UTC"
            The zone whose calendar days date-only literals name (store
            columns carry no zone of their own).
        date_fields : iterable of str, default ()
            Fields holding ``datetime.date`` values rather than datetimes.

        Returns
        -------
        tuple
            The filter tree.

        Raises
        ------
        ValidationError
            An unknown ``tz``, a literal with a time but no offset, a
            literal with a time compared with a field of ``date_fields``, or a
            date outside 1677-09-22 .. 2262-04-11 (as :meth:`mask` refuses).

        Examples
        --------
        >>> Rule.parse("tier in ['gold'] and not churned == true").to_store_filter()
        ('and', (('tier', 'in', ('gold',)), ('not', ('churned', 'eq', True))))
        >>> field, op, start = Rule.parse("placed_at >= date'2024-01-01'").to_store_filter(
        ...     tz="Europe/Paris"
        ... )
        >>> field, op, start.isoformat()
        ('placed_at', 'ge', '2024-01-01T00:00:00+01:00')
        >>> Rule.parse("birth_date < date'2000-01-01'").to_store_filter(date_fields=["birth_date"])
        ('birth_date', 'lt', datetime.date(2000, 1, 1))
        """
        return to_store_filter(self.node, tz=tz, date_fields=date_fields)

    def __and__(self, other: Rule) -> Rule:
        """Combine with ``and`` (``rule_a & rule_b``)."""
        if not isinstance(other, Rule):
            return NotImplemented
        return self._chain(other, And)

    def __or__(self, other: Rule) -> Rule:
        """Combine with ``or`` (``rule_a | rule_b``)."""
        if not isinstance(other, Rule):
            return NotImplemented
        return self._chain(other, Or)

    def __invert__(self) -> Rule:
        """Negate the rule (``~rule``)."""
        return Rule._combined(Not(self.node), self._depth + 1)

    def _chain(self, other: Rule, kind: type[And] | type[Or]) -> Rule:
        """Join two rules into one flat ``kind`` chain, its depth from theirs."""
        operands = (*_operands(self.node, kind), *_operands(other.node, kind))
        inner = max(_operand_depth(self, kind), _operand_depth(other, kind))
        return Rule._combined(kind(operands), inner + 1)

    def __str__(self) -> str:
        return render(self.node)

    def __repr__(self) -> str:
        return f"Rule.parse({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rule):
            return NotImplemented
        return self.node == other.node

    def __hash__(self) -> int:
        return hash(self.node)


def _operands(node: Node, kind: type[And] | type[Or]) -> tuple[Node, ...]:
    """Return the operands ``node`` adds to a chain of ``kind`` (chains of ``kind`` join flat)."""
    return node.operands if isinstance(node, kind) else (node,)


def _operand_depth(rule: Rule, kind: type[And] | type[Or]) -> int:
    """Deepest nesting among the operands ``rule`` adds to a chain of ``kind``."""
    return rule._depth - 1 if isinstance(rule.node, kind) else rule._depth


def _nesting(node: Node) -> int:
    """Levels of not / and / or in ``node`` (iterative: any depth can be measured)."""
    deepest = 0
    stack: list[tuple[Node, int]] = [(node, 0)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(current, Not):
            stack.append((current.operand, level + 1))
        elif isinstance(current, And | Or):
            stack.extend((operand, level + 1) for operand in current.operands)
    return deepest
