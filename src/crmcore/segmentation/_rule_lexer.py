"""Tokenizer for the segment rule language.

The tokenizer scans the rule text left to right with a handful of anchored
regular expressions and produces :class:`Token` objects carrying their
character offset, so that every syntax error can point at the exact place.
It never evaluates anything: numbers are converted with :func:`int` /
:func:`float`, dates with :meth:`datetime.datetime.fromisoformat`, strings
by undoubling quotes.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re

import attrs

from crmcore.errors import RuleSyntaxError

__all__ = ["KEYWORDS", "MAX_RULE_LENGTH", "Kind", "Token", "tokenize"]

MAX_RULE_LENGTH = 100_000
"""Longest rule text accepted (characters)."""


class Kind(enum.Enum):
    """Token kinds."""

    NAME = "field name"
    NUMBER = "number"
    STRING = "string"
    DATE = "date literal"
    KEYWORD = "keyword"
    OP = "comparison operator"
    LPAREN = "'('"
    RPAREN = "')'"
    LBRACKET = "'['"
    RBRACKET = "']'"
    COMMA = "','"
    END = "end of rule"


KEYWORDS = frozenset({"and", "or", "not", "in", "between", "is", "null", "true", "false"})
"""Reserved words (case-insensitive); quote a column with these names in backticks.

``date`` is not reserved: it starts a date literal only when a quote follows
it immediately (``date'2024-01-31'``), so a column called ``date`` can be
written bare."""


@attrs.frozen
class Token:
    """One token: its kind, its value, and where it starts and ends in the text."""

    kind: Kind
    value: object
    position: int
    end: int


_WS = re.compile(r"\s+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_OPS = ("==", "!=", "<=", ">=", "<", ">")
_PUNCT = {
    "(": Kind.LPAREN,
    ")": Kind.RPAREN,
    "[": Kind.LBRACKET,
    "]": Kind.RBRACKET,
    ",": Kind.COMMA,
}
_MAX_DIGITS = 300


def _error(
    text: str, position: int, message: str, expected: tuple[str, ...] = ()
) -> RuleSyntaxError:
    return RuleSyntaxError(message, text=text, position=position, expected=expected)


def _scan_quoted(text: str, start: int, quote: str, what: str) -> tuple[str, int]:
    """Read a quoted run starting at ``text[start] == quote``; doubled quotes escape."""
    pos = start + 1
    parts: list[str] = []
    while True:
        nxt = text.find(quote, pos)
        if nxt < 0:
            raise _error(text, start, f"unterminated {what}", (f"closing {quote}",))
        parts.append(text[pos:nxt])
        if text.startswith(quote * 2, nxt):
            parts.append(quote)
            pos = nxt + 2
            continue
        return "".join(parts), nxt + 1


def _parse_number(text: str, start: int, raw: str) -> int | float:
    digits = sum(ch.isdigit() for ch in raw)
    if digits > _MAX_DIGITS:
        raise _error(text, start, f"number has more than {_MAX_DIGITS} digits")
    if re.fullmatch(r"[-+]?\d+", raw):
        return int(raw)
    value = float(raw)
    if value in (float("inf"), float("-inf")):
        raise _error(text, start, f"number {raw} is out of range")
    return value


def _parse_date(text: str, start: int, raw: str) -> _dt.date | _dt.datetime:
    """Read a date, or a date and time with an optional UTC offset (``Z``, ``+01:00``)."""
    try:
        if len(raw) == 10:
            return _dt.date.fromisoformat(raw)
        if len(raw) > 10 and raw[:4].isdigit() and raw[10] in "T ":
            return _dt.datetime.fromisoformat(raw)
    except ValueError:
        pass
    raise _error(
        text,
        start,
        f"invalid date literal {raw!r}",
        ("date'YYYY-MM-DD'", "date'YYYY-MM-DD HH:MM[:SS][+HH:MM]'"),
    )


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with a :attr:`Kind.END` token.

    Raises
    ------
    RuleSyntaxError
        On a character that cannot start a token, an unterminated quote, an
        invalid number or date, or text longer than :data:`MAX_RULE_LENGTH`.
    """
    if len(text) > MAX_RULE_LENGTH:
        raise _error(text[:60] + "...", 0, f"rule is longer than {MAX_RULE_LENGTH} characters")
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    while True:
        ws = _WS.match(text, pos)
        if ws:
            pos = ws.end()
        if pos >= n:
            tokens.append(Token(Kind.END, None, n, n))
            return tokens
        ch = text[pos]
        if ch in _PUNCT:
            tokens.append(Token(_PUNCT[ch], ch, pos, pos + 1))
            pos += 1
            continue
        op = next((o for o in _OPS if text.startswith(o, pos)), None)
        if op is not None:
            tokens.append(Token(Kind.OP, op, pos, pos + len(op)))
            pos += len(op)
            continue
        if ch == "=":
            raise _error(text, pos, "'=' is not an operator", ("==",))
        if ch == "'":
            value, end = _scan_quoted(text, pos, "'", "string")
            tokens.append(Token(Kind.STRING, value, pos, end))
            pos = end
            continue
        if ch == "`":
            value, end = _scan_quoted(text, pos, "`", "quoted field name")
            if not value:
                raise _error(text, pos, "empty quoted field name", ("a field name",))
            tokens.append(Token(Kind.NAME, value, pos, end))
            pos = end
            continue
        if ch == '"':
            raise _error(
                text,
                pos,
                "double quotes are not used; write strings in 'single quotes' "
                "and odd field names in `backticks`",
                ("'string'", "`field name`"),
            )
        num = _NUMBER.match(text, pos)
        if num:
            end = num.end()
            if end < n and (text[end].isalnum() or text[end] in "_.'`"):
                raise _error(text, end, "unexpected character after number", ("space", "operator"))
            tokens.append(Token(Kind.NUMBER, _parse_number(text, pos, num.group()), pos, end))
            pos = end
            continue
        name = _NAME.match(text, pos)
        if name:
            word = name.group()
            end = name.end()
            lower = word.lower()
            if lower == "date" and text.startswith("'", end):
                raw, stop = _scan_quoted(text, end, "'", "date literal")
                tokens.append(Token(Kind.DATE, _parse_date(text, pos, raw), pos, stop))
                pos = stop
                continue
            if lower in KEYWORDS:
                tokens.append(Token(Kind.KEYWORD, lower, pos, end))
            elif word.startswith("__"):
                raise _error(
                    text,
                    pos,
                    f"names beginning with '__' are reserved; write `{word}` "
                    "if it really is a column",
                    ("a field name",),
                )
            else:
                tokens.append(Token(Kind.NAME, word, pos, end))
            pos = end
            continue
        raise _error(
            text,
            pos,
            f"unexpected character {ch!r}",
            ("field name", "literal", "operator", "'('", "')'"),
        )
