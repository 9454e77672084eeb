"""Event rows -> DataFrame, identical on every store.

Both stores feed :class:`EventFrameBuilder` with tuples ``(position, id,
type, entity_type, entity_id, at_us, actor, payload, *key fragments)``
where ``at_us`` is UTC microseconds and each key fragment is the JSON text
of one payload key (``None`` when absent).  Columns:

``position`` int64; ``id``, ``type``, ``entity_type``, ``entity_id``,
``actor``, ``payload`` (the JSON text) as strings; ``at`` as
``datetime64[us, UTC]``; one column per requested payload key, holding the
decoded JSON values (a string column when every value is a string or
missing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore._time import timestamps
from crmcore.storage._eventcodec import decode_payload_value

__all__ = ["EVENT_COLUMNS", "EventFrameBuilder", "decoded", "key_column"]

EVENT_COLUMNS = ("position", "id", "type", "entity_type", "entity_id", "at", "actor", "payload")
_STRING = pd.StringDtype(na_value=np.nan)


class EventFrameBuilder:
    """Accumulate event row chunks column-wise; build the frame at the end."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self.keys = tuple(keys)
        self._parts: list[list[Any]] = [[] for _ in range(len(EVENT_COLUMNS) + len(self.keys))]
        self.rows = 0

    def add_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Add one chunk of row tuples."""
        if rows:
            self.add_columns(list(zip(*rows, strict=True)))

    def add_columns(self, columns: Sequence[Sequence[Any]]) -> None:
        """Add one chunk given column by column (the row layout, transposed)."""
        if not columns or not len(columns[0]):
            return
        self.rows += len(columns[0])
        for i, values in enumerate(columns):
            if i in {0, 5}:
                self._parts[i].append(np.array(values, dtype=np.int64))
            elif i >= len(EVENT_COLUMNS):
                self._parts[i].append(decoded(values))
            else:
                self._parts[i].append(np.array(values, dtype=object))

    def add_chunks(self, chunks: Iterable[Sequence[Sequence[Any]]]) -> None:
        """Add every chunk of an iterator."""
        for chunk in chunks:
            self.add_rows(chunk)

    def build(self) -> pd.DataFrame:
        """Return the frame."""
        data: dict[str, Any] = {}
        for i, name in enumerate(EVENT_COLUMNS):
            parts = self._parts[i]
            if name in ("position", "at"):
                arr = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
                if name == "at":
                    data[name] = timestamps(arr, "UTC", unit="us")
                else:
                    data[name] = arr
            else:
                arr = np.concatenate(parts) if parts else np.empty(0, dtype=object)
                data[name] = pd.array(arr, dtype=_STRING)
        for j, key in enumerate(self.keys):
            values: list[Any] = []
            for part in self._parts[len(EVENT_COLUMNS) + j]:
                values.extend(part)
            data[key] = key_column(values)
        return pd.DataFrame(data)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_MISS = object()


def decoded(fragments: Sequence[str | None]) -> list[Any]:
    """Decode payload fragments, each distinct one once (keys repeat: stages, channels).

    Only immutable values are shared between rows; a list or a mapping is
    decoded for each row, so no two cells hold the same mutable object.
    """
    cache: dict[str | None, Any] = {}
    out: list[Any] = []
    append = out.append
    for fragment in fragments:
        value = cache.get(fragment, _MISS)
        if value is _MISS:
            value = decode_payload_value(fragment)
            if type(value) in _SCALARS and len(cache) < 100_000:
                cache[fragment] = value
        append(value)
    return out


def key_column(values: list[Any]) -> Any:
    if set(map(type, values)) <= {str, type(None)}:
        return pd.array(np.array(values, dtype=object), dtype=_STRING)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
