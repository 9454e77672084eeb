r"""A stable, seeded hash of customer ids to uniform numbers (control groups, variants).

``stable_uniform(ids, salt)`` gives each id a number in [0, 1) that depends
only on the salt and the id's text, never on the other ids, the row order,
the process or the machine: the same customer lands in the same group on
every rerun, and adding customers moves nobody.

The hash is specified here, so it cannot drift with a library upgrade:

1. the text ``salt + "\\x1f" + str(id)`` encoded as UTF-8;
2. 64-bit FNV-1a over those bytes (offset basis ``0xcbf29ce484222325``,
   prime ``0x100000001b3``; Fowler, Noll and Vo, IETF draft
   ``draft-eastlake-fnv``);
3. the 64-bit finaliser of MurmurHash3 (``fmix64``), which spreads every
   input bit over every output bit (FNV's low bits alone are weak);
4. the top 53 bits divided by 2**53.

The loop runs over byte *positions* (the longest id's length), each step
vectorised over all ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crmcore._types import FloatArray, IntArray
from crmcore.errors import ValidationError

__all__ = ["fnv1a64", "stable_salt", "stable_uniform"]

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
_SEP = 0x1F  # ASCII unit separator between the salt and the id


def _fnv_scalar(data: bytes, state: int = _FNV_OFFSET) -> int:
    for byte in data:
        state = ((state ^ byte) * _FNV_PRIME) & _MASK
    return state


def _code_points(texts: Any) -> tuple[np.ndarray[Any, Any], IntArray]:
    """Return the texts as a (n, width) table of UTF-8 bytes, and each text's length."""
    values = np.asarray(texts)
    if values.dtype.kind in "iu" and values.size:
        return _decimal_digits(values.astype(np.int64).ravel())
    if values.dtype.kind != "U":
        values = np.array([str(v) for v in values.ravel()], dtype=str)
    values = values.ravel()
    width = values.dtype.itemsize // 4
    points = values.view(np.uint32).reshape(values.size, width)
    if points.size and int(points.max()) >= 0x80:
        # beyond ASCII a code point takes several UTF-8 bytes: encode one by one
        encoded = [v.encode("utf-8") for v in values.tolist()]
        raw = np.array(encoded, dtype=bytes)
        width = raw.dtype.itemsize
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        return raw.view(np.uint8).reshape(values.size, width), lengths
    lengths = np.asarray(np.strings.str_len(values), dtype=np.int64)
    return points, lengths


def _decimal_digits(x: IntArray) -> tuple[np.ndarray[Any, Any], IntArray]:
    """ASCII decimal text of integers as a byte table, without building strings."""
    negative = x < 0
    # |int64 min| overflows int64: uint64 holds every magnitude
    mag = np.where(negative, -(x + 1), x).astype(np.uint64) + negative.astype(np.uint64)
    ndigits = np.ones(x.size, dtype=np.int64)
    power = np.uint64(10)
    for _ in range(19):
        ndigits += mag >= power
        if power > np.uint64(10**18):
            break
        power = power * np.uint64(10)
    lengths = ndigits + negative
    width = int(lengths.max())
    table = np.zeros((x.size, width), dtype=np.uint8)
    pow10 = np.uint64(10) ** np.arange(20, dtype=np.uint64)
    # position j of a text of length L holds digit number (L - 1 - j) from the right
    for j in range(width):
        from_right = lengths - 1 - j
        live = (from_right >= 0) & (from_right < ndigits)
        digit = (mag // pow10[np.clip(from_right, 0, 19)]) % np.uint64(10)
        table[:, j] = np.where(live, digit + np.uint64(48), 0).astype(np.uint8)
    table[negative, 0] = ord("-")
    return table, lengths


def fnv1a64(texts: Any, *, state: int = _FNV_OFFSET) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """64-bit FNV-1a of each text's UTF-8 bytes, vectorised over the texts.

    Numbers are hashed as their decimal text (``42`` as ``"42"``), so an
    integer id and the same id as a string land in the same group.
    """
    table, lengths = _code_points(texts)
    n, width = table.shape
    h = np.full(n, state, dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    for j in range(width):
        step = (h ^ table[:, j].astype(np.uint64)) * prime
        live = lengths > j
        h = step if live.all() else np.where(live, step, h)
    return h


def _fmix64(h: np.ndarray[Any, np.dtype[np.uint64]]) -> np.ndarray[Any, np.dtype[np.uint64]]:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB93E53FE1A34)
    return h ^ (h >> np.uint64(33))


def stable_salt(random_state: object, *parts: object) -> str:
    """Build the salt of a hash: the seed (an int or a str) and optional labels.

    Raises
    ------
    ValidationError
        ``random_state`` is not an int or a str (a Generator, or None, would
        give different groups on every run).
    """
    ok = isinstance(random_state, str) or (
        isinstance(random_state, int | np.integer) and not isinstance(random_state, bool)
    )
    if not ok:
        raise ValidationError(
            "random_state must be an int or a str (for example the campaign id) so that "
            "every rerun puts each customer in the same group; got "
            f"{type(random_state).__name__} {random_state!r}",
            field="random_state",
            value=random_state,
        )
    return "\x1f".join(str(p) for p in (random_state, *parts))


def stable_uniform(ids: Any, salt: str) -> FloatArray:
    """Return a number in [0, 1) per id, from the seeded hash of the module docstring."""
    state = _fnv_scalar(salt.encode("utf-8") + bytes([_SEP]))
    h = _fmix64(fnv1a64(ids, state=state))
    out: FloatArray = (h >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)
    return out
