"""Recursive-descent parser for the segment rule language.

Grammar (keywords are case-insensitive; precedence ``not`` > ``and`` > ``or``)::

    rule      := or_expr END
    or_expr   := and_expr ("or" and_expr)*
    and_expr  := unary ("and" unary)*
    unary     := "not" unary | primary
    primary   := "(" or_expr ")" | predicate
    predicate := field ( CMP literal
                       | ["not"] "between" literal "and" literal
                       | ["not"] "in" "[" literal ("," literal)* "]"
                       | "is" ["not"] "null" )
    field     := NAME | `back-quoted name`
    literal   := NUMBER | 'string' | date'YYYY-MM-DD[ HH:MM[:SS][+HH:MM|Z]]' | true | false
    CMP       := "==" | "!=" | "<" | "<=" | ">" | ">="

The ``and`` inside ``between`` is unambiguous: the bounds are single
literals, so the first ``and`` after the lower bound always belongs to
``between``.
"""

from __future__ import annotations

from crmcore.errors import RuleSyntaxError
from crmcore.segmentation._rule_ast import (
    OPERATORS,
    And,
    Between,
    Compare,
    In,
    IsNull,
    LiteralValue,
    Node,
    Not,
    Or,
)
from crmcore.segmentation._rule_lexer import Kind, Token, tokenize

__all__ = ["MAX_DEPTH", "parse"]

MAX_DEPTH = 100
"""Deepest nesting of parentheses and ``not`` accepted."""

_LITERAL_EXPECTED = ("number", "'string'", "date'YYYY-MM-DD'", "true", "false")
_AFTER_FIELD = ("==", "!=", "<", "<=", ">", ">=", "between", "in", "is", "not")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- helpers ---------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _describe(self, tok: Token) -> str:
        if tok.kind is Kind.END:
            return "end of rule"
        return repr(self.text[tok.position : tok.end])

    def fail(self, expected: tuple[str, ...], tok: Token | None = None) -> RuleSyntaxError:
        tok = self.tok if tok is None else tok
        return RuleSyntaxError(
            f"unexpected {self._describe(tok)}",
            text=self.text,
            position=tok.position,
            expected=expected,
        )

    def is_keyword(self, word: str) -> bool:
        return self.tok.kind is Kind.KEYWORD and self.tok.value == word

    def expect_keyword(self, word: str) -> None:
        if not self.is_keyword(word):
            raise self.fail((word,))
        self.i += 1

    def expect(self, kind: Kind, expected: tuple[str, ...]) -> Token:
        if self.tok.kind is not kind:
            raise self.fail(expected)
        tok = self.tok
        self.i += 1
        return tok

    # -- grammar ---------------------------------------------------------
    def rule(self) -> Node:
        node = self.or_expr()
        if self.tok.kind is not Kind.END:
            raise self.fail(("and", "or", "end of rule"))
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.is_keyword("or"):
            self.i += 1
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.is_keyword("and"):
            self.i += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleSyntaxError(
                f"rule is nested more than {MAX_DEPTH} levels deep",
                text=self.text,
                position=self.tok.position,
            )

    def unary(self) -> Node:
        self._enter()
        try:
            if self.is_keyword("not"):
                self.i += 1
                return Not(self.unary())
            return self.primary()
        finally:
            self.depth -= 1

    def primary(self) -> Node:
        if self.tok.kind is Kind.LPAREN:
            self.i += 1
            node = self.or_expr()
            self.expect(Kind.RPAREN, ("')'", "and", "or"))
            return node
        if self.tok.kind is not Kind.NAME:
            raise self.fail(("field name", "`quoted field name`", "not", "'('"))
        return self.predicate()

    def literal(self) -> LiteralValue:
        tok = self.tok
        if tok.kind in (Kind.NUMBER, Kind.STRING, Kind.DATE):
            self.i += 1
            value: LiteralValue = tok.value  # type: ignore[assignment]
            return value
        if tok.kind is Kind.KEYWORD and tok.value in ("true", "false"):
            self.i += 1
            return tok.value == "true"
        if tok.kind is Kind.KEYWORD and tok.value == "null":
            raise RuleSyntaxError(
                "null is not a value; test for it with 'is null' / 'is not null'",
                text=self.text,
                position=tok.position,
                expected=_LITERAL_EXPECTED,
            )
        raise self.fail(_LITERAL_EXPECTED)

    def predicate(self) -> Node:
        name_tok = self.tok
        field = str(name_tok.value)
        pos = name_tok.position
        self.i += 1
        tok = self.tok
        if tok.kind is Kind.OP:
            self.i += 1
            return Compare(field, OPERATORS[str(tok.value)], self.literal(), position=pos)
        if self.is_keyword("is"):
            self.i += 1
            negate = self.is_keyword("not")
            if negate:
                self.i += 1
            if not self.is_keyword("null"):
                raise self.fail(("null",) if negate else ("null", "not"))
            self.i += 1
            node: Node = IsNull(field, position=pos)
            return Not(node) if negate else node
        negate = self.is_keyword("not")
        if negate:
            self.i += 1
            if not (self.is_keyword("between") or self.is_keyword("in")):
                raise self.fail(("between", "in"))
        if self.is_keyword("between"):
            self.i += 1
            low = self.literal()
            self.expect_keyword("and")
            high = self.literal()
            node = Between(field, low, high, position=pos)
        elif self.is_keyword("in"):
            self.i += 1
            self.expect(Kind.LBRACKET, ("'['",))
            values = [self.literal()]
            while self.tok.kind is Kind.COMMA:
                self.i += 1
                values.append(self.literal())
            self.expect(Kind.RBRACKET, ("','", "']'"))
            node = In(field, tuple(values), position=pos)
        else:
            raise self.fail(_AFTER_FIELD)
        return Not(node) if negate else node


def parse(text: str) -> Node:
    """Parse rule ``text`` into its syntax tree.

    Raises
    ------
    RuleSyntaxError
        With the character position of the problem and what was expected.
    """
    return _Parser(text).rule()
