"""CSV text of whole columns at once, byte for byte what pandas' ``to_csv`` writes.

A block of rows is laid out as a ``rows × width`` matrix of bytes, one
fixed-width slot per column (separators included) in which each cell's
text is written and the rest of the slot left ``0``. Read in row-major
order without its zeros, the matrix *is* the CSV text of the block
(``chars[chars != 0].tobytes()``), so no Python string is made per cell;
texts holding a NUL byte are not written this way (the caller checks).

Floats are written as pandas writes them: ``repr`` of the Python float
(the shortest text that reads back to the same double), a missing value as
an empty field. For a value rounded to 6 decimals, ``v = k / 10**6`` with a
whole ``k``, and ``|v| < 2**33``, that text is the decimal ``k / 10**6``
itself with its trailing zeros dropped (one kept after the point): doubles
below ``2**33`` lie less than ``10**-6`` apart, so no other multiple of
``10**-6`` (and no shorter text) reads back to ``v``. ``repr`` switches to
exponent notation below ``10**-4``: those values are the 99 multiples
``k / 10**6``, ``k = 1..99``, looked up in a table of their ``repr``. Any
other value (infinite, ``|v| >= 2**33``, not a multiple of ``10**-6``) is
written with ``repr`` itself.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["ColumnText", "FloatText", "IntText", "LookupText", "TextText", "block_text"]

_Bytes = np.ndarray[Any, np.dtype[np.uint8]]
_Ints = np.ndarray[Any, np.dtype[np.int64]]
_UInts = np.ndarray[Any, np.dtype[np.uint64]]

_ZERO = ord("0")
_MINUS = ord("-")
_SCALE = 1_000_000  # values are rounded to 6 decimals
_LIMIT = 2.0**33  # below it doubles lie less than 1e-6 apart (see the module docstring)
_TINY = 100  # k / 1e6 below 1e-4: repr writes an exponent


class ColumnText(Protocol):
    """The text of one column's cells in a block of rows."""

    rows: int
    width: int

    def fill(self, out: _Bytes) -> None:
        """Write each row's cell left- or right-aligned into ``out`` (zeros elsewhere)."""


def _table(texts: list[str]) -> _Bytes:
    """``texts`` (one per row) left-aligned and padded with zeros."""
    encoded = [t.encode("utf-8") for t in texts]
    chars = np.zeros((len(encoded), max(map(len, encoded), default=0)), dtype=np.uint8)
    for i, b in enumerate(encoded):
        chars[i, : len(b)] = np.frombuffer(b, dtype=np.uint8)
    return chars


def _count_digits(mag: _UInts) -> _Ints:
    """Return the number of decimal digits of each whole number (0 has one)."""
    n_digits = np.ones(mag.shape, dtype=np.int64)
    power = np.uint64(10)
    for _ in range(19):
        above = mag >= power
        if not above.any():
            break
        n_digits += above
        if power > np.uint64(10**18):
            break
        power *= np.uint64(10)
    return n_digits


def _put_digits(mag: _UInts, n_digits: _Ints, out: _Bytes) -> None:
    """Write the digits of ``mag`` right-aligned into ``out``, one row per position.

    ``out`` is ``width × rows`` (each position of the text a contiguous row,
    written in one pass); positions before a number's first digit stay 0.
    """
    huge = mag.size > 0 and int(mag.max()) > np.iinfo(np.int64).max
    # signed arithmetic is the faster; 2**63 and above (uint64) stay unsigned
    rest: np.ndarray[Any, Any] = mag.copy() if huge else mag.astype(np.int64)
    ten = np.uint64(10) if huge else np.int64(10)
    width = out.shape[0]
    for j in range(width):
        rest, digit = np.divmod(rest, ten)
        out[width - 1 - j] = (digit + _ZERO) * (n_digits > j)


class _Odd:
    """Cells written with their own text (``repr``), overriding the column's layout."""

    def __init__(self, rows: np.ndarray[Any, np.dtype[np.intp]], texts: list[str]) -> None:
        self.rows = rows
        self.chars = _table(texts)

    def put(self, out: _Bytes) -> None:
        if self.rows.size:
            out[self.rows] = 0
            out[self.rows, : self.chars.shape[1]] = self.chars


_TINY_TEXT = _table([repr(k / _SCALE) for k in range(_TINY)])


class FloatText:
    """Float64 values already rounded to 6 decimals, as ``repr`` writes them."""

    def __init__(self, values: np.ndarray[Any, np.dtype[np.float64]]) -> None:
        self.values = values
        self.rows = values.size
        mag = np.abs(values)
        usual = np.isfinite(values) & (mag < _LIMIT)
        self.k = np.rint(np.where(usual, mag, 0.0) * _SCALE).astype(np.uint64)
        self.exact = usual & (self.k.astype(np.float64) / _SCALE == mag)
        self.missing = np.isnan(values)
        other = np.flatnonzero(~self.exact & ~self.missing)
        self.odd = _Odd(other, [repr(v) for v in values[other].tolist()])
        self.whole = self.k // np.uint64(_SCALE)
        self.n_whole = _count_digits(self.whole)
        self.wi = int(self.n_whole.max()) if values.size else 1
        # sign, whole digits (right-aligned), point, 6 decimals (trailing zeros dropped)
        self.width = max(self.wi + 8, self.odd.chars.shape[1])

    def fill(self, out: _Bytes) -> None:
        wi = self.wi
        text = np.zeros((out.shape[1], out.shape[0]), dtype=np.uint8)  # a row per position
        text[0] = np.signbit(self.values) * np.uint8(_MINUS)
        _put_digits(self.whole, self.n_whole, text[1 : 1 + wi])
        text[1 + wi] = ord(".")
        frac = (self.k % np.uint64(_SCALE)).astype(np.int32)
        trailing = np.zeros(frac.size, dtype=np.int32)
        for j in range(1, 6):  # the first decimal is always written
            trailing += frac % np.int32(10**j) == 0
        shown = 6 - trailing
        for j in range(5, -1, -1):
            frac, digit = np.divmod(frac, np.int32(10))
            text[wi + 2 + j] = (digit + _ZERO) * (shown > j)
        out[...] = text.T
        tiny = np.flatnonzero(self.exact & (self.k > 0) & (self.k < _TINY))
        if tiny.size:  # exponent notation, after the sign
            out[tiny, 1:] = 0
            out[tiny, 1 : 1 + _TINY_TEXT.shape[1]] = _TINY_TEXT[self.k[tiny].astype(np.intp)]
        out[self.missing] = 0
        self.odd.put(out)


class IntText:
    """Integers (any width, signed or not) as ``str`` writes them."""

    def __init__(self, values: np.ndarray[Any, Any]) -> None:
        self.rows = values.size
        if values.dtype.kind == "u":
            self.negative = np.zeros(values.size, dtype=bool)
            self.mag: _UInts = values.astype(np.uint64)
        else:
            signed = values.astype(np.int64)
            self.negative = signed < 0
            # the magnitude as unsigned: -2**63 has none as int64, but 2**63 as uint64
            self.mag = np.abs(signed).view(np.uint64)
        self.n_digits = _count_digits(self.mag)
        self.width = (int(self.n_digits.max()) if values.size else 1) + 1

    def fill(self, out: _Bytes) -> None:
        text = np.zeros((out.shape[1], out.shape[0]), dtype=np.uint8)  # a row per position
        text[0] = self.negative * np.uint8(_MINUS)
        _put_digits(self.mag, self.n_digits, text[1:])
        out[...] = text.T


class LookupText:
    """``texts[codes]``: a small table of texts looked up per row (categories, flags)."""

    def __init__(self, codes: np.ndarray[Any, Any], texts: list[str]) -> None:
        self.codes = np.asarray(codes, dtype=np.intp)
        self.rows = self.codes.size
        self.table = _table(texts)
        self.width = self.table.shape[1]

    def fill(self, out: _Bytes) -> None:
        out[...] = self.table[self.codes]


class TextText:
    r"""Texts each written as it is (none holding ``"\n"``), from one buffer of their bytes."""

    def __init__(self, data: _Bytes, starts: _Ints, lengths: _Ints) -> None:
        self.data = data
        self.starts = starts
        self.lengths = lengths
        self.rows = starts.size
        self.width = int(lengths.max()) if lengths.size else 0

    @classmethod
    def of(cls, texts: list[str]) -> TextText:
        """Lay out the texts of a whole column (a block of its rows: :meth:`rows_of`)."""
        data = np.frombuffer(("\n".join(texts) + "\n").encode("utf-8"), dtype=np.uint8)
        ends = np.flatnonzero(data == ord("\n"))
        starts = np.empty(ends.size, dtype=np.int64)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        return cls(data, starts, ends - starts)

    def rows_of(self, rows: slice) -> TextText:
        """Return the texts of ``rows``."""
        return TextText(self.data, self.starts[rows], self.lengths[rows])

    def fill(self, out: _Bytes) -> None:
        if self.width == 0:
            return
        at = np.arange(self.width)[None, :]
        where = np.minimum(self.starts[:, None] + at, self.data.size - 1)
        out[...] = np.where(at < self.lengths[:, None], self.data[where], np.uint8(0))


def block_text(columns: list[ColumnText]) -> bytes:
    r"""Return the CSV text of rows whose cells are ``columns`` (``,`` between, ``\n`` after)."""
    widths = [c.width for c in columns]
    total = sum(widths) + len(columns)  # a comma after each cell but the last, then "\n"
    chars = np.zeros((columns[0].rows, total), dtype=np.uint8)
    at = 0
    for i, (col, width) in enumerate(zip(columns, widths, strict=True)):
        col.fill(chars[:, at : at + width])
        at += width
        chars[:, at] = ord(",") if i < len(columns) - 1 else ord("\n")
        at += 1
    return bytes(chars[chars != 0].tobytes())
