"""Blocking: which pairs of records are compared at all.

Comparing every pair of a million records is 5·10¹¹ comparisons. Blocking
compares only records that share a *key* in at least one *pass*: a pass is a
tuple of field keys (``"email"``, ``"name:prefix"``, ``"birth_date:year"``),
and two records are candidates in that pass when all its keys are present and
equal. Several passes catch pairs that differ in one field but agree in
another; a pair found by several passes is compared once.

Keys are integer codes of normalised key values (one hash-table pass,
:func:`pandas.factorize`), combined into one 64-bit integer per pass, so a
pass is one sort of a million integers.
Blocks larger than ``max_block_size`` (a placeholder e-mail, a very common
name) are skipped in that pass and counted: they would cost quadratic time and
hold mostly non-matches; other passes still pair their records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from crmcore._types import BoolArray, IntArray
from crmcore.errors import ValidationError
from crmcore.identity._fields import Column, Field
from crmcore.identity._kinds import KINDS, BlockKey

__all__ = [
    "BlockingStats",
    "candidate_pairs",
    "combine_codes",
    "default_passes",
    "parse_blocking",
    "pass_keys",
]

Pass = tuple[tuple[str, str], ...]
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _key_of(text: Any, fields: Mapping[str, Field]) -> tuple[str, str]:
    if not isinstance(text, str):
        raise ValidationError(
            f"a blocking key must be 'column' or 'column:variant'; got {text!r}",
            field="blocking",
            value=text,
        )
    column, _, variant = text.partition(":")
    if column not in fields:
        raise ValidationError(
            f"blocking key {text!r} names column {column!r}, which is not in fields "
            f"({', '.join(fields)})",
            field="blocking",
            value=text,
        )
    kind = KINDS[fields[column].kind]
    variant = variant or kind.key_variants[0]
    if variant not in kind.key_variants:
        raise ValidationError(
            f"blocking key {text!r}: a {kind.name} field has the keys "
            f"{', '.join(kind.key_variants)}",
            field="blocking",
            value=text,
        )
    return column, variant


def parse_blocking(blocking: Any, fields: Mapping[str, Field]) -> tuple[Pass, ...]:
    """Read ``blocking``: None (defaults) or a sequence of passes, each a key or keys.

    Raises
    ------
    ValidationError
        An empty list, a pass naming a column outside ``fields``, or a key
        variant the field's kind does not have.
    """
    if blocking is None:
        return default_passes(fields)
    if isinstance(blocking, str) or not isinstance(blocking, Sequence) or not blocking:
        raise ValidationError(
            "blocking must be a non-empty list of passes, each a key or a list of keys, "
            "e.g. [['email'], ['phone'], ['name:prefix', 'birth_date']]",
            field="blocking",
            value=blocking,
        )
    passes: list[Pass] = []
    for item in blocking:
        keys = (item,) if isinstance(item, str) else tuple(item)
        if not keys:
            raise ValidationError("a blocking pass needs at least one key", field="blocking")
        parsed = tuple(_key_of(k, fields) for k in keys)
        if parsed not in passes:
            passes.append(parsed)
    return tuple(passes)


def default_passes(fields: Mapping[str, Field]) -> tuple[Pass, ...]:
    """Return the passes used when ``blocking`` is None (documented in the guide).

    Each e-mail field alone and by the part before ``@``; each phone field by
    its last seven digits; each name field (by the first three letters of
    each word, and by initials) with each date and each postcode field; each
    date with each postcode; a name alone (first three letters of each word)
    when there is nothing to combine it with.
    """
    by_kind: dict[str, list[str]] = {}
    for column, spec in fields.items():
        by_kind.setdefault(spec.kind, []).append(column)
    passes: list[Pass] = []
    for c in by_kind.get("email", []):
        passes += [((c, "value"),), ((c, "local"),)]
    passes += [((c, "suffix"),) for c in by_kind.get("phone", [])]
    names = by_kind.get("name", []) + by_kind.get("text", [])
    dates, codes = by_kind.get("date", []), by_kind.get("postcode", [])
    for n in names:
        coarse = "initials" if n in by_kind.get("name", []) else "prefix"
        for other in (*dates, *codes):
            passes += [((n, "prefix"), (other, "value")), ((n, coarse), (other, "value"))]
        if not dates and not codes:
            passes.append(((n, "prefix"),))
    passes += [((d, "value"), (p, "value")) for d in dates for p in codes]
    if not passes:
        passes = [((c, KINDS[s.kind].key_variants[0]),) for c, s in fields.items()]
    return tuple(passes)


KeyCache = dict[tuple[str, str], BlockKey]


def combine_codes(
    parts: Sequence[IntArray],
) -> tuple[np.ndarray[Any, np.dtype[np.uint64]], BoolArray]:
    """One 64-bit key from several key codes; a record has it when every part is set."""
    has = np.ones(parts[0].size, dtype=bool)
    combined = np.zeros(parts[0].size, dtype=np.uint64)
    for codes in parts:
        has &= codes >= 0
        # multiply-xor mixing (wraps modulo 2**64): a collision only adds a candidate pair
        combined = (combined * _MIX) ^ codes.astype(np.uint64)
    return combined, has


def pass_keys(
    columns: Mapping[str, Column],
    fields: Mapping[str, Field],
    keys: Pass,
    cache: KeyCache,
) -> tuple[np.ndarray[Any, np.dtype[np.uint64]], BoolArray]:
    """Per record: the pass's combined key and whether every part is present."""
    parts = []
    for column, variant in keys:
        if (column, variant) not in cache:
            kind = KINDS[fields[column].kind]
            cache[column, variant] = kind.block_key(columns[column], variant)
        parts.append(cache[column, variant].codes)
    return combine_codes(parts)


@dataclass(frozen=True, slots=True)
class BlockingStats:
    """What blocking did, per pass (for diagnostics and the benchmark)."""

    passes: tuple[str, ...]
    pairs_per_pass: tuple[int, ...]
    skipped_blocks: tuple[int, ...]
    skipped_records: tuple[int, ...]
    candidates: int


def _block_pairs(
    keys: np.ndarray[Any, np.dtype[np.uint64]], has: BoolArray, max_block_size: int
) -> tuple[IntArray, IntArray, int, int]:
    """All pairs of record positions sharing a key, blocks of size <= max_block_size."""
    pos = np.flatnonzero(has)
    order = np.argsort(keys[pos], kind="stable")
    sorted_keys, sorted_pos = keys[pos][order], pos[order]
    if sorted_pos.size < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0, 0
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, sorted_keys.size])
    too_big = sizes > max_block_size
    size_of = np.repeat(np.where(too_big, 1, sizes), sizes)
    rank = np.arange(sorted_keys.size) - np.repeat(starts, sizes)
    left: list[IntArray] = []
    right: list[IntArray] = []
    skipped = int(sizes[too_big].sum())
    active = np.flatnonzero(size_of - rank - 1 >= 1)
    d = 1
    while active.size:
        left.append(sorted_pos[active])
        right.append(sorted_pos[active + d])
        d += 1
        active = active[size_of[active] - rank[active] - 1 >= d]
    if not left:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), int(too_big.sum()), skipped
    return (
        np.concatenate(left).astype(np.int64),
        np.concatenate(right).astype(np.int64),
        int(too_big.sum()),
        skipped,
    )


def candidate_pairs(
    columns: Mapping[str, Column],
    fields: Mapping[str, Field],
    passes: Sequence[Pass],
    rank: IntArray,
    *,
    max_block_size: int,
) -> tuple[IntArray, IntArray, BlockingStats]:
    """Distinct candidate pairs ``(i, j)`` of record positions, ``rank[i] < rank[j]``.

    ``rank`` orders records by id, so the pairs and their order do not depend
    on the order of the rows.
    """
    n = rank.size
    found: list[IntArray] = []
    per_pass: list[int] = []
    skipped: list[int] = []
    skipped_records: list[int] = []
    cache: KeyCache = {}
    for keys in passes:
        h, has = pass_keys(columns, fields, keys, cache)
        i, j, n_skip, n_rec = _block_pairs(h, has, max_block_size)
        ri, rj = rank[i], rank[j]
        found.append(np.minimum(ri, rj) * np.int64(n) + np.maximum(ri, rj))
        per_pass.append(int(i.size))
        skipped.append(n_skip)
        skipped_records.append(n_rec)
    packed = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    by_rank = np.empty(n, dtype=np.int64)
    by_rank[rank] = np.arange(n)
    stats = BlockingStats(
        passes=tuple(" + ".join(f"{c}:{v}" for c, v in p) for p in passes),
        pairs_per_pass=tuple(per_pass),
        skipped_blocks=tuple(skipped),
        skipped_records=tuple(skipped_records),
        candidates=int(packed.size),
    )
    return by_rank[packed // n], by_rank[packed % n], stats
