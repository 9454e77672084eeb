"""Stored engagement events -> marketing's canonical engagement frame, in bounded memory.

Both stores hand :class:`EngagementFrameBuilder` chunks of row tuples
``(id, at_us, kind, channel, customer_id, contact_id, campaign_id,
message_id, variant, *property fragments)``: the payload's text fields
extracted by the database (``json_extract`` / ``->>``), so no JSON is parsed
in Python for them, and each requested property as the JSON text of its
value.  The builder keeps integer codes, not strings: each chunk's text
columns are factorised (in C) against one vocabulary per column, so ten
million events of a hundred thousand customers hold a hundred thousand
customer-id strings, not ten million.  The frame is that of
:func:`crmcore.marketing.engagement_frame`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore.domain import Channel, EngagementEvent, EngagementType
from crmcore.storage._eventcodec import decode_payload_value

__all__ = ["ENGAGEMENT_TEXT", "ENGAGEMENT_TYPE", "EngagementFrameBuilder"]

#: The payload's text fields, in the order of the rows (after ``id`` and ``at_us``).
ENGAGEMENT_TEXT = (
    "kind",
    "channel",
    "customer_id",
    "contact_id",
    "campaign_id",
    "message_id",
    "variant",
)
ENGAGEMENT_TYPE = EngagementEvent.TYPE
TYPES = tuple(t.value for t in EngagementType)
CHANNELS = tuple(c.value for c in Channel)
_IDS = ("customer_id", "contact_id", "campaign_id", "message_id", "variant")


class _Vocabulary:
    """Distinct values of one text column, numbered as they are first seen."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}
        self.values: list[Any] = []

    def codes(self, column: Sequence[Any]) -> np.ndarray[Any, Any]:
        """Codes of a chunk's values; -1 for missing ones."""
        local, uniques = pd.factorize(np.asarray(column, dtype=object), use_na_sentinel=True)
        lookup = np.empty(len(uniques) + 1, dtype=np.int64)
        for i, value in enumerate(uniques):
            code = self.index.get(value)
            if code is None:
                code = self.index[value] = len(self.values)
                self.values.append(value)
            lookup[i] = code
        lookup[-1] = -1  # factorize's sentinel picks the last entry
        out: np.ndarray[Any, Any] = lookup[local]
        return out


class EngagementFrameBuilder:
    """Accumulate engagement row chunks as codes; build the canonical frame at the end.

    Parameters
    ----------
    properties : tuple of str
        Property keys, one column each.
    campaigns, people : set of str, optional
        Keep only events of these campaigns, of these customers or contacts
        (the stores select by the ids' index; this makes it exact).
    tz : tzinfo or str or None
        Zone of the ``date`` column (``None``: UTC).
    event_ids : bool
        Keep the ``event_id`` column.
    """

    def __init__(
        self,
        properties: tuple[str, ...],
        *,
        campaigns: set[str] | None,
        people: set[str] | None,
        tz: Any,
        event_ids: bool,
    ) -> None:
        self.properties = properties
        self.campaigns = campaigns
        self.people = people
        self.tz = _time.to_zone(tz)
        self.event_ids = event_ids
        self.vocab = {name: _Vocabulary() for name in ENGAGEMENT_TEXT}
        self.parts: dict[str, list[Any]] = {
            name: [] for name in ("id", "at", *ENGAGEMENT_TEXT, *properties)
        }

    def add_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Add one chunk of row tuples."""
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        codes = {
            name: self.vocab[name].codes(columns[2 + i]) for i, name in enumerate(ENGAGEMENT_TEXT)
        }
        keep = self._keep(codes)
        if keep is not None and not keep.any():
            return

        def kept(values: Any) -> Any:
            return values if keep is None else values[keep]

        if self.event_ids:
            self.parts["id"].append(kept(np.asarray(columns[0], dtype=object)))
        self.parts["at"].append(kept(np.asarray(columns[1], dtype=np.int64)))
        for name in ENGAGEMENT_TEXT:
            self.parts[name].append(kept(codes[name]))
        for j, key in enumerate(self.properties):
            values = np.empty(len(rows), dtype=object)
            values[:] = [decode_payload_value(v) for v in columns[2 + len(ENGAGEMENT_TEXT) + j]]
            self.parts[key].append(kept(values))

    def _keep(self, codes: dict[str, Any]) -> Any:
        keep = None
        if self.campaigns is not None:
            keep = self._among(codes["campaign_id"], "campaign_id", self.campaigns)
        if self.people is not None:
            who = self._among(codes["customer_id"], "customer_id", self.people)
            who |= self._among(codes["contact_id"], "contact_id", self.people)
            keep = who if keep is None else keep & who
        return keep

    def _among(self, codes: Any, name: str, wanted: set[str]) -> Any:
        values = self.vocab[name].values
        hit = np.array([v in wanted for v in values] + [False], dtype=bool)
        return hit[codes]

    def add_chunks(self, chunks: Iterable[Sequence[Sequence[Any]]]) -> None:
        """Add every chunk of an iterator."""
        for chunk in chunks:
            self.add_rows(chunk)

    def build(self) -> pd.DataFrame:
        """Return the engagement frame (the columns of ``engagement_frame``)."""
        data: dict[str, Any] = {}
        if self.event_ids:
            data["event_id"] = pd.Series(_joined(self.parts["id"], object), dtype=object)
        for name in _IDS:
            codes = _joined(self.parts[name], np.int64)
            table = np.empty(len(self.vocab[name].values) + 1, dtype=object)
            table[:-1] = self.vocab[name].values
            table[-1] = None  # code -1
            data[name] = pd.Series(table[codes], dtype=object)
        data["channel"] = _categorical(self.vocab["channel"], self.parts["channel"], CHANNELS)
        data["type"] = _categorical(self.vocab["kind"], self.parts["kind"], TYPES)
        micros = _joined(self.parts["at"], np.int64)
        data["date"] = pd.DatetimeIndex(micros.view("datetime64[us]")).tz_localize("UTC")
        data["date"] = data["date"].tz_convert(self.tz)
        for key in self.properties:
            data[key] = pd.Series(_joined(self.parts[key], object), dtype=object)
        return pd.DataFrame(data)


def _joined(parts: list[Any], dtype: Any) -> Any:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def _categorical(vocab: _Vocabulary, parts: list[Any], categories: tuple[str, ...]) -> Any:
    position = {name: i for i, name in enumerate(categories)}
    # stored events were validated: every value is a known name
    lookup = np.array([position.get(v, -1) for v in vocab.values] + [-1], dtype=np.int8)
    codes = lookup[_joined(parts, np.int64)]
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories))
