"""``events.append_frame``: a table of events of one kind, encoded column by column.

:class:`EventFrameEncoder` turns a :class:`pandas.DataFrame` with one column
per field of a registered event kind (plus an optional ``id``) into the
:class:`~crmcore.storage._eventcodec.EventRecord` values
:func:`~crmcore.storage._eventcodec.encode_event` gives for the same
events, without building an event per row:

- each field goes through the kind's own converter and validator, and each
  stored part (id text, actor, the payload's JSON fragment of that field)
  is checked and encoded once per distinct value; a refused value raises
  the error ``append_many`` raises for the event holding it, plus the
  frame's row label (``ValidationError.row``);
- an aware UTC ``datetime64`` ``at`` column becomes UTC microseconds with
  NumPy, and a plain text id column passes after one vectorised check;
- the kind's cross-field rules (``__attrs_post_init__``) run on a bare
  instance once per distinct combination of the fields they read;
- the envelope (entity type, entity id, related ids) comes from the kind's
  fields by the same rules as the kind's own properties.  Kinds whose
  envelope is computed otherwise (a merge's related ids) are refused: use
  ``append_many`` for them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import attrs
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from pandas.arrays import ArrowStringArray

from crmcore.domain import (
    EVENT_TYPES,
    DomainEvent,
    EngagementEvent,
    GenericEvent,
    StageChanged,
    new_event_id,
)
from crmcore.domain._base import (
    convert_id,
    convert_optional_id,
    valid_aware,
    valid_id,
    valid_optional_id,
)
from crmcore.domain._codec import encode_value
from crmcore.domain._frozen import FrozenMapping
from crmcore.errors import ValidationError
from crmcore.storage._bulk import _fields_read, _python_values, at_row, check_frame
from crmcore.storage._codec import check_utf8
from crmcore.storage._eventcodec import (
    EventRecord,
    _check_json,
    _id_text,
    _key_text,
    _quote,
    _text,
    _to_json,
    to_micros,
)
from crmcore.storage._zones import tz_text

__all__ = ["EventFrameEncoder", "RecordColumns", "check_event_frame", "event_kind", "unique_ids"]

_MEMO_TYPES = frozenset({str, int, bool, type(None)})
_UTC_NAMES = frozenset({"UTC", "utc", "Etc/UTC"})
_ENVELOPE = ("entity_id", "entity_type", "related_ids")
_MEMO_LIMIT = 1_000_000
# what a plain id (see EventFrameEncoder._plain_ids) passes unchanged
_ID_CONVERTERS = (None, convert_id, convert_optional_id)
_ID_VALIDATORS = (None, valid_id, valid_optional_id)

Columns = dict[str, list[Any]]
# (entity types, entity ids, related ids per row) from the domain values of the fields
Envelope = Callable[[Columns, int], tuple[list[Any], list[Any], list[tuple[Any, ...]]]]


def _stage_envelope(cols: Columns, n: int) -> tuple[list[Any], list[Any], list[tuple[Any, ...]]]:
    # StageChanged.entity_type: the workflow's name, "entity" when none is given
    return [w or "entity" for w in cols["workflow"]], cols["entity_id"], [()] * n


def _engagement_envelope(
    cols: Columns, n: int
) -> tuple[list[Any], list[Any], list[tuple[Any, ...]]]:
    # EngagementEvent: about the customer, else the contact; the campaign and the contact
    # (when it is not the entity itself) are related
    people = cols["customer_id"]
    contacts = cols["contact_id"]
    types = ["contact" if p is None else "customer" for p in people]
    ids = [c if p is None else p for p, c in zip(people, contacts, strict=True)]
    related = [
        ((m,) if m is not None else ()) + ((c,) if p is not None and c is not None else ())
        for p, c, m in zip(people, contacts, cols["campaign_id"], strict=True)
    ]
    return types, ids, related


_ENVELOPES: dict[type, Envelope] = {
    StageChanged: _stage_envelope,
    EngagementEvent: _engagement_envelope,
}


def event_kind(value: Any) -> type[DomainEvent]:
    """Return the registered kind named by a class or a type name (else refuse)."""
    kind: Any = EVENT_TYPES.get(value) if isinstance(value, str) else value
    if (
        not isinstance(kind, type)
        or kind is GenericEvent
        or EVENT_TYPES.get(getattr(kind, "TYPE", "")) is not kind
    ):
        raise ValidationError(
            "events.append_frame: type must be a registered event kind or its type name, "
            f"such as StageChanged or 'pipeline.stage_changed'; got {value!r}",
            field="type",
            value=value if isinstance(value, str) else repr(value),
        )
    return cast("type[DomainEvent]", kind)


def _generic_envelope(kind: type[DomainEvent], fields: set[str]) -> Envelope | None:
    """Return the envelope rule of a kind whose envelope is the base's or its fields."""
    for name in _ENVELOPE:
        if name not in fields and getattr(kind, name) is not getattr(DomainEvent, name):
            return None
    entity_field, entity_type, related = kind.ENTITY_FIELD, kind.ENTITY_TYPE, kind.RELATED_FIELDS
    if entity_field not in fields or any(r not in fields for r in related):
        return None

    def envelope(cols: Columns, n: int) -> tuple[list[Any], list[Any], list[tuple[Any, ...]]]:
        types = cols["entity_type"] if "entity_type" in fields else [entity_type] * n
        if not related:
            return types, cols[entity_field], [()] * n
        rel = [
            tuple(v for v in values if v is not None)
            for values in zip(*(cols[r] for r in related), strict=True)
        ]
        return types, cols[entity_field], rel

    return envelope


class RecordColumns(NamedTuple):
    """The fields of :class:`EventRecord` as columns (one list per field, in row order)."""

    id: list[str]
    type: list[str]
    entity_type: list[str]
    entity_id: list[str]
    at_us: list[int]
    at_tz: list[str]
    actor: list[str | None]
    payload: list[str]
    related: list[tuple[str, ...]]


class _Field:
    """One field of the kind: its column, converter, validator and default."""

    def __init__(self, attribute: Any) -> None:
        self.attribute = attribute
        self.name: str = attribute.alias or attribute.name
        converter = attribute.converter
        if isinstance(converter, attrs.Converter):
            converter = converter.converter  # type: ignore[attr-defined]
        self.convert: Callable[[Any], Any] | None = converter
        self.validate: Callable[[Any, Any, Any], Any] | None = attribute.validator
        self.memo: dict[Any, Any] = {}

    def domain(self, value: Any) -> Any:
        """Convert and validate one value as the kind's ``__init__`` would."""
        if self.convert is not None:
            value = self.convert(value)
        if self.validate is not None:
            self.validate(None, self.attribute, value)
        return value

    def default(self) -> Any:
        default = self.attribute.default
        raw = default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]
        return self.domain(raw)


class EventFrameEncoder:
    """Encode DataFrame chunks of one event kind into :class:`EventRecord` values.

    Parameters
    ----------
    kind : type
        A registered event kind (see :func:`event_kind`).
    """

    def __init__(self, kind: type[DomainEvent]) -> None:
        self.kind = kind
        self.type: str = kind.TYPE
        self.fields = [_Field(a) for a in attrs.fields(kind)]
        self.by_name = {f.name: f for f in self.fields}
        names = set(self.by_name)
        envelope = _ENVELOPES.get(kind) or _generic_envelope(kind, names)
        if envelope is None or "at" not in names or "actor" not in names:
            raise ValidationError(
                f"events.append_frame: {kind.__name__} computes its entity or related ids "
                "from more than plain fields; append its events with events.append_many",
                field="type",
                value=kind.TYPE,
            )
        self.envelope: Envelope = envelope
        self.payload = kind.payload_fields()
        self.keys = tuple(f"{_quote(name)}:" for name in self.payload)
        self.post_init: Callable[[Any], None] | None = getattr(kind, "__attrs_post_init__", None)
        # columns of (mostly distinct) ids, checked with one vectorised pass when plain
        self.id_columns = {"id"} | {
            f.name
            for f in self.fields
            if f.name == kind.ENTITY_FIELD
            and f.convert in _ID_CONVERTERS
            and f.validate in _ID_VALIDATORS
        }
        self._fragments: dict[str, dict[Any, str]] = {name: {} for name in self.payload}
        self._ids: dict[Any, str] = {}
        self._types: dict[Any, str] = {}
        self._actors: dict[Any, str | None] = {}

    # ---------------------------------------------------------------- checks
    def check_columns(self, frame: pd.DataFrame) -> None:
        """Name unknown columns and required fields without a column."""
        unknown = [c for c in frame.columns if c not in self.by_name]
        if unknown:
            raise ValidationError(
                f"events.append_frame: {self.kind.__name__} has no field "
                f"{', '.join(map(repr, unknown))}; columns allowed: {', '.join(self.by_name)}",
                field=str(unknown[0]),
            )
        for f in self.fields:
            if f.name not in frame.columns and f.attribute.default is attrs.NOTHING:
                raise ValidationError(
                    f"events.append_frame: the frame has no column {f.name!r}, which "
                    f"{self.kind.__name__} requires; columns present: "
                    f"{', '.join(map(str, frame.columns)) or '(none)'}",
                    field=f.name,
                )

    # ---------------------------------------------------------------- encoding
    def encode_columns(self, frame: pd.DataFrame) -> RecordColumns:
        """Return the stored columns of ``frame``'s rows, in order (validated)."""
        n = len(frame)
        labels = frame.index
        cols: Columns = {}
        self._coded: dict[str, tuple[np.ndarray, list[Any]]] = {}
        self._plain: set[str] = set()
        self._constant: set[str] = set()
        at_us: list[int] | None = None
        at_tz: list[str] | None = None
        for f in self.fields:
            if f.name not in frame.columns:
                self._constant.add(f.name)
                try:
                    cols[f.name] = [f.default()] * n
                except ValidationError as exc:  # pragma: no cover - the kinds' defaults are valid
                    raise at_row(exc, None) from None
                continue
            series = frame[f.name]
            if f.name == "at":
                fast = self._utc_micros(f, series)
                if fast is not None:
                    at_us, at_tz = fast
                    cols["at"] = [None] * n  # read by no rule (checked in _utc_micros)
                    continue
            if f.name in self.id_columns and self._plain_ids(f, series):
                cols[f.name] = series.tolist()  # valid as they are: their own stored text
                self._plain.add(f.name)
                continue
            if f.name != "id" and _all_text(series):
                cols[f.name] = self._factorized(f, series, labels)
                continue
            cols[f.name] = self._memoised(f, _python_values(series), labels)
        if self.post_init is not None:
            self._cross_field(cols, labels)
        if at_us is None:
            at_us, at_tz = self._instants(cols["at"], labels)
        assert at_tz is not None
        types, entities, related = self.envelope(cols, n)
        ids = cols["id"]
        if "id" not in frame.columns:
            id_texts = [new_event_id() for _ in range(n)]
        elif "id" in self._plain:
            id_texts = ids
        else:
            id_texts = self._id_texts(ids, labels, "id", memo=None)
        entity_field = self.kind.ENTITY_FIELD
        if entities is cols.get(entity_field) and entity_field in self._plain:
            entity_texts = entities
        elif entities is cols.get(entity_field) and entity_field in self._coded:
            entity_texts = self._coded_ids(entity_field, labels)
        else:
            entity_texts = self._id_texts(entities, labels, "entity_id", memo=self._ids)
        return RecordColumns(
            id_texts,
            [self.type] * n,
            self._entity_types(types, labels),
            entity_texts,
            at_us,
            at_tz,
            self._actor_texts(cols["actor"], labels),
            self._payloads(cols, labels),
            self._related(related, labels),
        )

    def encode(self, frame: pd.DataFrame) -> list[EventRecord]:
        """Return the records of ``frame``'s rows, in order (validated)."""
        return list(map(EventRecord._make, zip(*self.encode_columns(frame), strict=True)))

    def _coded_ids(self, name: str, labels: pd.Index) -> list[str]:
        codes, domain = self._coded[name]
        texts: list[str] = []
        for j, value in enumerate(domain):
            try:
                texts.append(_id_text(value, "entity_id"))
            except ValidationError as exc:
                raise at_row(exc, labels[int(np.argmax(codes == j))], "entity_id") from None
        return _take(texts, codes)

    def id_texts(self, frame: pd.DataFrame) -> list[str]:
        """Return the stored text of the frame's ``id`` column (to name a refused id's row)."""
        f = self.by_name["id"]
        values = [f.domain(v) for v in _python_values(frame["id"])]
        return self._id_texts(values, frame.index, "id", memo=None)

    def _factorized(self, f: _Field, series: pd.Series, labels: pd.Index) -> list[Any]:
        """Convert and validate a text column once per distinct value (NumPy codes)."""
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        raw: list[Any] = list(uniques)
        if (codes < 0).any():
            codes = np.where(codes < 0, len(raw), codes)
            raw.append(None)
        memo = f.memo
        domain: list[Any] = []
        failed: list[tuple[int, ValidationError]] = []
        for j, value in enumerate(raw):
            key = (value.__class__, value)
            hit = memo.get(key, memo)
            if hit is memo:
                try:
                    hit = f.domain(value)
                except ValidationError as exc:
                    failed.append((int(np.argmax(codes == j)), exc))
                    hit = None
                else:
                    if len(memo) < _MEMO_LIMIT:
                        memo[key] = hit
            domain.append(hit)
        if failed:  # the first row refused, as the per-value path would name it
            row, error = min(failed, key=lambda item: item[0])
            raise at_row(error, labels[row], f.name) from None
        self._coded[f.name] = (codes, domain)
        return _take(domain, codes)

    def _memoised(self, f: _Field, values: list[Any], labels: pd.Index) -> list[Any]:
        memo = f.memo
        out: list[Any] = []
        append = out.append
        for i, raw in enumerate(values):
            cls = raw.__class__
            key = (cls, raw) if cls in _MEMO_TYPES or isinstance(raw, enum.Enum) else None
            hit = memo.get(key, memo) if key is not None else memo
            if hit is memo:
                try:
                    hit = f.domain(raw)
                except ValidationError as exc:
                    raise at_row(exc, labels[i], f.name) from None
                if key is not None and len(memo) < _MEMO_LIMIT:
                    memo[key] = hit
            append(hit)
        return out

    def _plain_ids(self, f: _Field, series: pd.Series) -> bool:
        """Whether a text column of ids is plainly valid as it is (one vectorised check).

        Plain: printable ASCII text without quotes or backslashes, holding a
        letter or digit, not a ``urn:uuid:`` string, and the longest of them
        valid; such an id is its own stored text and JSON string body.  Anything else
        takes the per-value path, which names the first bad row.
        """
        if not len(series) or not _all_text(series) or series.hasnans:
            return False
        if isinstance(series.array, ArrowStringArray):
            text = pa.array(series.array)  # zero-copy: pandas' own Arrow buffer
        else:
            text = pa.array(series.to_numpy(dtype=object), type=pa.string())
        plain = pc.and_(
            # printable ASCII but '"' and '\\' (JSON writes them as they are), a letter or digit
            pc.and_(
                pc.match_substring_regex(text, r"^[ !#-\[\]-~]+$"),
                pc.match_substring_regex(text, "[0-9A-Za-z]"),
            ),
            pc.invert(
                pc.or_(
                    pc.match_substring(text, "\x00"),
                    pc.starts_with(pc.ascii_lower(text), "urn:uuid:"),
                )
            ),
        )
        if not pc.all(plain).as_py():
            return False
        lengths = pc.utf8_length(text)
        longest = text[pc.index(lengths, pc.max(lengths)).as_py()].as_py()
        try:
            _id_text(f.domain(longest), "id")
        except ValidationError:
            return False
        return True

    def _utc_micros(self, f: _Field, series: pd.Series) -> tuple[list[int], list[str]] | None:
        """Return the UTC microseconds of an aware UTC ``datetime64`` column (None: per value)."""
        dtype = series.dtype
        if not isinstance(dtype, pd.DatetimeTZDtype) or str(dtype.tz) not in _UTC_NAMES:
            return None
        if f.convert is not None or f.validate not in (None, valid_aware) or series.isna().any():
            return None
        if self.post_init is not None and "at" in (_read(self.post_init, self.by_name) or ("at",)):
            return None  # a cross-field rule reads the instant: per value
        micros = series.array.as_unit("us").asi8
        return micros.tolist(), ["Z"] * len(micros)

    def _instants(self, values: list[Any], labels: pd.Index) -> tuple[list[int], list[str]]:
        micros: list[int] = []
        zones: list[str] = []
        for i, value in enumerate(values):
            try:
                micros.append(to_micros(value))
            except ValidationError as exc:
                raise at_row(exc, labels[i], "at") from None
            zones.append(tz_text(value))
        return micros, zones

    def _cross_field(self, cols: Columns, labels: pd.Index) -> None:
        """Run the kind's cross-field rules once per distinct combination of what they read."""
        post_init = self.post_init
        assert post_init is not None
        read = _read(post_init, self.by_name)
        names = [f.attribute.name for f in self.fields] if read is None else list(read)
        columns = [cols[self._column_of(name)] for name in names]
        n = len(labels)
        found = [self._codes_of(self._column_of(name), n) for name in names]
        codes = [c for c in found if c is not None]
        if len(codes) == len(found):  # every column factorised: NumPy finds the firsts
            stacked = np.stack(codes) if codes else np.zeros((1, n), dtype=np.int64)
            rows: list[int] = sorted(np.unique(stacked, axis=1, return_index=True)[1].tolist())
        else:
            # equal inputs are the same object (the per-field memo): identity finds the firsts
            keys = zip(*(map(id, reversed(c)) for c in columns), strict=True)
            rows = sorted(dict(zip(keys, range(n - 1, -1, -1), strict=True)).values())
        new, setter, cls = object.__new__, object.__setattr__, self.kind
        for i in rows:
            shell: Any = new(cls)
            for name, values in zip(names, columns, strict=True):
                setter(shell, name, values[i])
            try:
                post_init(shell)
            except ValidationError as exc:
                raise at_row(exc, labels[i]) from None

    def _codes_of(self, name: str, n: int) -> np.ndarray | None:
        """Return a column's codes (equal codes, equal values), or None when it has none."""
        if name in self._constant:
            return np.zeros(n, dtype=np.int64)
        coded = self._coded.get(name)
        return None if coded is None else coded[0]

    def _column_of(self, attribute_name: str) -> str:
        for f in self.fields:
            if f.attribute.name == attribute_name:
                return f.name
        return attribute_name  # pragma: no cover - _read returns field names only

    # ---------------------------------------------------------------- stored parts
    def _id_texts(
        self, values: list[Any], labels: pd.Index, field: str, *, memo: dict[Any, str] | None
    ) -> list[str]:
        out: list[str] = []
        append = out.append
        for i, value in enumerate(values):
            plain = memo is not None and value.__class__ is str
            if plain:
                hit = memo.get(value)  # type: ignore[union-attr]
                if hit is not None:
                    append(hit)
                    continue
            if value is None and field == "id":
                append(new_event_id())  # no id given: one is generated, as on a new event
                continue
            try:
                text = _id_text(value, field)
            except ValidationError as exc:
                raise at_row(exc, labels[i], field) from None
            if plain and len(memo) < _MEMO_LIMIT:  # type: ignore[arg-type]
                memo[value] = text  # type: ignore[index]
            append(text)
        return out

    def _entity_types(self, values: list[Any], labels: pd.Index) -> list[str]:
        memo = self._types
        out: list[str] = []
        for i, value in enumerate(values):
            hit = memo.get(value) if value.__class__ is str else None
            if hit is None:
                try:
                    hit = _key_text(value, "entity_type")
                except ValidationError as exc:
                    raise at_row(exc, labels[i], "entity_type") from None
                if value.__class__ is str:
                    memo[value] = hit
            out.append(hit)
        return out

    def _actor_texts(self, values: list[Any], labels: pd.Index) -> list[str | None]:
        memo = self._actors
        out: list[str | None] = []
        for i, value in enumerate(values):
            plain = value is None or value.__class__ is str
            if plain and value in memo:
                out.append(memo[value])
                continue
            try:
                text = _text(value, "actor", optional=True)
            except ValidationError as exc:
                raise at_row(exc, labels[i], "actor") from None
            if plain:
                memo[value] = text
            out.append(text)
        return out

    def _payloads(self, cols: Columns, labels: pd.Index) -> list[str]:
        parts = []
        for name, key in zip(self.payload, self.keys, strict=True):
            parts.append(self._fragments_of(name, key, cols[self._column_of(name)], labels))
        return ["{" + ",".join(row) + "}" for row in zip(*parts, strict=True)]

    def _fragments_of(self, name: str, key: str, values: list[Any], labels: pd.Index) -> list[str]:
        if name in self._plain:  # plain ASCII text without quotes or backslashes
            return [f'{key}"{text}"' for text in values]
        coded = self._coded.get(name)
        if coded is not None:  # once per distinct value
            codes, domain = coded
            texts: list[str] = []
            for j, value in enumerate(domain):
                try:
                    texts.append(key + self._fragment(name, value))
                except ValidationError as exc:
                    raise at_row(exc, labels[int(np.argmax(codes == j))]) from None
            return _take(texts, codes)
        memo = self._fragments[name]
        same: dict[int, str] = {}  # other values, by identity (all alive in ``values``)
        out: list[str] = []
        append = out.append
        for i, value in enumerate(values):
            cls = value.__class__
            memoable = cls in _MEMO_TYPES or isinstance(value, enum.Enum)
            hit = memo.get(value) if memoable and cls is not bool else same.get(id(value))
            if hit is None:
                try:
                    hit = key + self._fragment(name, value)
                except ValidationError as exc:
                    raise at_row(exc, labels[i]) from None
                if memoable and cls is not bool and len(memo) < _MEMO_LIMIT:
                    memo[value] = hit
                elif not memoable:
                    same[id(value)] = hit
            append(hit)
        return out

    def _fragment(self, name: str, value: Any) -> str:
        """Return the JSON text of one payload value, exactly as ``encode_event`` writes it."""
        if value.__class__ is FrozenMapping and not value:
            text = "{}"
        else:
            plain = value if type(value) in (str, int, float, bool, type(None)) else None
            encoded = plain if plain is not None or value is None else encode_value(value)
            try:
                text = _to_json(encoded)
            except (TypeError, ValueError) as exc:
                _check_json({name: encoded}, "payload")  # names the field of a NaN
                raise ValidationError(
                    f"{self.kind.__name__}: the payload cannot be stored as JSON: {exc}",
                    field="payload",
                ) from None
            if "\\u0000" in text:
                _check_json({name: encoded}, "payload")
        if not text.isascii():
            check_utf8(text, "payload")
        return text

    def _related(self, related: list[tuple[Any, ...]], labels: pd.Index) -> list[tuple[str, ...]]:
        memo = self._ids
        out: list[tuple[str, ...]] = []
        for i, values in enumerate(related):
            if not values:
                out.append(())
                continue
            texts = []
            for value in values:
                hit = memo.get(value) if value.__class__ is str else None
                if hit is None:
                    try:
                        hit = _id_text(value, "related_ids")
                    except ValidationError as exc:
                        raise at_row(exc, labels[i], "related_ids") from None
                    if value.__class__ is str and len(memo) < _MEMO_LIMIT:
                        memo[value] = hit
                texts.append(hit)
            out.append(tuple(texts))
        return out


def _all_text(series: pd.Series) -> bool:
    """Whether every value of a column is text or missing (factorising keeps them apart)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return True
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(dtype.categories, skipna=True) == "string"
    return dtype.kind == "O" and pd.api.types.infer_dtype(series, skipna=True) == "string"


def _take(values: list[Any], codes: np.ndarray) -> list[Any]:
    table = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):  # one by one: a tuple value stays one item
        table[i] = value
    out: list[Any] = table[codes].tolist()
    return out


def _read(method: Callable[..., Any], by_name: dict[str, _Field]) -> tuple[str, ...] | None:
    names = tuple(f.attribute.name for f in by_name.values())
    return _fields_read(method, names)


def check_event_frame(frame: Any) -> pd.DataFrame:
    """Refuse anything but a DataFrame with unique column names."""
    return check_frame(
        frame,
        "events",
        method="append_frame",
        instead="append_many for events",
        label="events.append_frame",
    )


def unique_ids(ids: Sequence[str], labels: pd.Index) -> None:
    """Refuse an id given twice in one frame, naming the second row."""
    if len(set(ids)) == len(ids):
        return
    seen: set[str] = set()
    for i, key in enumerate(ids):
        if key in seen:
            raise at_row(
                ValidationError(
                    f"events: the id {key!r} appears twice in one append",
                    field="id",
                    value=key,
                ),
                labels[i],
            )
        seen.add(key)
