"""Row codecs: entity <-> tuple of column values, per storage dialect.

One :class:`RowCodec` per (aggregate, dialect) is built once from the
aggregate's field list.  Encoding validates as it goes (naive datetimes, NaN
amounts, NUL characters and out-of-range integers raise
:class:`~crmcore.errors.ValidationError`), so a bad entity is refused before
anything is written, by every store alike.

Dialects and how each kind is represented:

==========  ===============  =======================  ==================
kind        ``memory``       ``sqlite``               ``postgresql``
==========  ===============  =======================  ==================
DECIMAL     Decimal          TEXT (exact digits)      NUMERIC
DATETIME    as given         INTEGER µs since epoch   TIMESTAMPTZ
            + zone text      + TEXT zone              + TEXT zone
DATE        date             TEXT ISO 8601            DATE
UUID        UUID             TEXT                     TEXT
ID          str (URN)        TEXT                     TEXT
JSON        decoded object   TEXT (JSON)              JSON
==========  ===============  =======================  ==================

Datetimes are stored as the UTC instant plus the zone (IANA key or fixed
offset, see :mod:`crmcore.storage._zones`) and come back in their own zone,
so entities compare equal after a round trip even for wall times in a DST
fold, which Python never equates with another zone's datetimes.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable, Collection, Sequence, Sized
from decimal import Decimal
from operator import attrgetter
from typing import Any, Literal

from crmcore._text import MAX_KEY_LENGTH, check_key, check_storable
from crmcore._time import EPOCH_UTC, MICROSECOND, require_existing
from crmcore.domain import FrozenMapping
from crmcore.errors import ValidationError
from crmcore.storage import _json
from crmcore.storage._fields import FieldSpec, Kind
from crmcore.storage._zones import tz_from_text, tz_text

__all__ = ["Dialect", "RowCodec", "decode_id", "scalar_decoder", "scalar_encoder"]

Dialect = Literal["memory", "sqlite", "postgresql"]
_INT64 = 2**63

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


def _bad(field: str, problem: str, value: Any) -> ValidationError:
    return ValidationError(f"{field}: {problem}", field=field, value=value)


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def check_utf8(text: str, field: str) -> None:
    """Refuse text that cannot be written as UTF-8 (lone surrogates)."""
    check_storable(text, field)


def scalar_encoder(kind: Kind, dialect: Dialect, field: str, *, key: bool = False) -> Encoder:
    """Return a checking encoder for one non-None scalar of ``kind``.

    ``key``: the column is indexed (or the primary key), so its text is
    limited to ``MAX_KEY_LENGTH`` characters, as the domain's validators
    limit it (this is the last line of defence, for entities built around
    them and an application's own aggregates). Lookups and filters pass
    ``False``: a longer value simply matches nothing.
    """
    if kind is Kind.STR:

        def enc_str(v: Any) -> Any:
            if not isinstance(v, str):
                raise _bad(field, f"expected a string, got {_type_name(v)}", v)
            if "\x00" in v:
                raise _bad(field, "NUL characters cannot be stored", v)
            if not v.isascii():
                check_utf8(v, field)
            if key and len(v) > MAX_KEY_LENGTH:
                check_key(v, field)
            return v

        return enc_str
    if kind is Kind.INT:

        def enc_int(v: Any) -> Any:
            if isinstance(v, bool) or not isinstance(v, int):
                raise _bad(field, f"expected an integer, got {_type_name(v)}", v)
            if not -_INT64 <= v < _INT64:
                raise _bad(field, "integers must fit in 64 bits", v)
            return v

        return enc_int
    if kind is Kind.FLOAT:

        def enc_float(v: Any) -> Any:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _bad(field, f"expected a number, got {_type_name(v)}", v)
            f = float(v)
            if not math.isfinite(f):
                raise _bad(field, "NaN and infinite numbers cannot be stored", v)
            return f

        return enc_float
    if kind is Kind.BOOL:

        def enc_bool(v: Any) -> Any:
            if not isinstance(v, bool):
                raise _bad(field, f"expected True or False, got {v!r}", v)
            return v

        return enc_bool
    if kind is Kind.DECIMAL:
        as_text = dialect == "sqlite"

        def enc_decimal(v: Any) -> Any:
            if not isinstance(v, Decimal):
                raise _bad(field, f"expected a Decimal, got {_type_name(v)}", v)
            if not v.is_finite():
                raise _bad(field, "NaN and infinite amounts cannot be stored", v)
            return str(v) if as_text else v

        return enc_decimal
    if kind is Kind.DATETIME:
        as_micros = dialect == "sqlite"

        def enc_datetime(v: Any) -> Any:
            if not isinstance(v, dt.datetime):
                raise _bad(field, f"expected a datetime, got {_type_name(v)}", v)
            if v.tzinfo is None or v.utcoffset() is None:
                raise _bad(field, "naive datetime; give a timezone-aware datetime", v)
            if type(v.tzinfo) is not dt.timezone:  # a zone with DST: no skipped wall time
                require_existing(v, field=field)
            try:
                utc = v.astimezone(dt.UTC)
            except OverflowError:
                raise _bad(field, "datetime is out of range once converted to UTC", v) from None
            return (utc - EPOCH_UTC) // MICROSECOND if as_micros else utc

        return enc_datetime
    if kind is Kind.DATE:
        as_text = dialect == "sqlite"

        def enc_date(v: Any) -> Any:
            if isinstance(v, dt.datetime) or not isinstance(v, dt.date):
                raise _bad(field, f"expected a date, got {_type_name(v)}", v)
            return v.isoformat() if as_text else v

        return enc_date
    if kind is Kind.ID:

        def enc_id(v: Any) -> Any:
            if isinstance(v, uuid.UUID):
                return v.urn
            if not isinstance(v, str):
                raise _bad(field, f"expected a str or UUID identifier, got {_type_name(v)}", v)
            if "\x00" in v:
                raise _bad(field, "NUL characters cannot be stored", v)
            if not v.isascii():
                check_utf8(v, field)
            if key and len(v) > MAX_KEY_LENGTH:
                check_key(v, field)
            return v

        return enc_id
    if kind is Kind.UUID:
        as_text = dialect != "memory"

        def enc_uuid(v: Any) -> Any:
            if not isinstance(v, uuid.UUID):
                raise _bad(field, f"expected a UUID, got {_type_name(v)}", v)
            return str(v) if as_text else v

        return enc_uuid
    raise AssertionError(kind)  # pragma: no cover


def scalar_decoder(kind: Kind, dialect: Dialect) -> Decoder | None:
    """Return the decoder for one non-None stored scalar (None: identity)."""
    if kind is Kind.BOOL and dialect == "sqlite":
        return bool
    if kind is Kind.DECIMAL and dialect == "sqlite":
        return Decimal
    if kind is Kind.DATETIME:
        if dialect == "sqlite":
            return lambda v: EPOCH_UTC + dt.timedelta(microseconds=v)
        return lambda v: v.astimezone(dt.UTC)
    if kind is Kind.DATE and dialect == "sqlite":
        return dt.date.fromisoformat
    if kind is Kind.UUID and dialect != "memory":
        return uuid.UUID
    if kind is Kind.FLOAT:
        return float
    if kind is Kind.ID:
        return decode_id
    return None


def decode_id(text: str) -> str | uuid.UUID:
    """Decode a stored identifier: ``"urn:uuid:<hex>"`` is a UUID, anything else a str."""
    if text[:9].lower() == "urn:uuid:":
        return uuid.UUID(text[9:])
    return text


def _optional(enc: Encoder, spec: FieldSpec) -> Encoder:
    if spec.optional:
        return lambda v: None if v is None else enc(v)
    return enc  # the encoders' type checks refuse None


def _field_encoder(spec: FieldSpec, dialect: Dialect, key: bool = False) -> Encoder:
    """Build the encoder of a single-column field (``key``: an indexed one)."""
    name = spec.name
    if spec.kind is Kind.ENUM:
        assert spec.scalar is not None
        inner = scalar_encoder(spec.scalar, dialect, name)
        cls = spec.cls
        for member in cls:  # check the (fixed) member values once, not per row
            inner(member.value)

        def enc_enum(v: Any) -> Any:
            if not isinstance(v, cls):
                raise _bad(name, f"expected a {cls.__name__}, got {v!r}", v)
            return v.value

        return _optional(enc_enum, spec)
    if spec.kind is Kind.WRAPPED:
        assert spec.scalar is not None
        inner = scalar_encoder(spec.scalar, dialect, name, key=key)
        get = attrgetter(spec.inner[0])
        return _optional(lambda v: inner(get(v)), spec)
    if spec.kind is Kind.JSON:
        tp = spec.tp
        as_object = dialect == "postgresql"
        empty = _json.empty_value(tp)
        empty_text = None if empty is None else _json.dumps(empty)

        def enc_json(v: Any) -> Any:
            if empty_text is not None and isinstance(v, Sized) and len(v) == 0:
                return empty if as_object else empty_text  # fast path: no custom fields, no tags
            try:
                encoded = _json.encode(v, tp, name)
                text = _json.dumps(encoded)
            except (TypeError, ValueError) as exc:
                if isinstance(exc, ValidationError):
                    raise
                raise _bad(name, f"cannot be stored as JSON: {exc}", v) from None
            if not text.isascii():
                check_utf8(text, name)
            return encoded if as_object else text

        if spec.optional:
            return lambda v: None if v is None else enc_json(v)
        return enc_json  # ``None`` is checked by the JSON codec against the type
    return _optional(scalar_encoder(spec.kind, dialect, name, key=key), spec)


def _column_encoders(spec: FieldSpec, dialect: Dialect, key: bool = False) -> list[Encoder]:
    """One encoder per column of the field, each taking the field's value."""
    if len(spec.columns) == 1:
        return [_field_encoder(spec, dialect, key)]
    name, optional = spec.name, spec.optional

    def present(v: Any) -> bool:
        if v is None and not optional:
            raise _bad(name, "a value is required (None given)", v)
        return v is not None

    if spec.kind is Kind.DATETIME:
        instant = scalar_encoder(Kind.DATETIME, dialect, name)
        keep = dialect == "memory"

        def when(v: Any) -> Any:
            if not present(v):
                return None
            utc = instant(v)  # validates: aware, in range
            return v if keep else utc

        # the list comprehension in RowCodec.encode runs ``when`` first
        return [when, lambda v: None if v is None else tz_text(v)]
    assert spec.kind is Kind.MONEY
    amount = scalar_encoder(Kind.DECIMAL, dialect, name)
    currency = scalar_encoder(Kind.STR, dialect, f"{name}.currency")
    amount_name, currency_name = spec.inner[0], spec.inner[2]
    cls = spec.cls

    def money_amount(v: Any) -> Any:
        if not present(v):
            return None
        if not isinstance(v, cls):
            raise _bad(name, f"expected a {cls.__name__}, got {_type_name(v)}", v)
        return amount(getattr(v, amount_name))

    return [money_amount, lambda v: None if v is None else currency(getattr(v, currency_name))]


def _field_decoder(spec: FieldSpec, dialect: Dialect) -> Callable[[Sequence[Any], int], Any]:
    """Build the decoder reading the field from a row at a column position."""
    if spec.kind is Kind.MONEY:
        cls = spec.cls
        amount_alias, currency_alias = spec.inner[1], spec.inner[3]
        to_decimal = Decimal if dialect == "sqlite" else None

        def dec_money(row: Sequence[Any], i: int) -> Any:
            a = row[i]
            if a is None:
                return None
            if to_decimal is not None:
                a = to_decimal(a)
            return cls(**{amount_alias: a, currency_alias: row[i + 1]})

        return dec_money
    if spec.kind is Kind.DATETIME:
        if dialect == "memory":
            return lambda row, i: row[i]
        to_utc = scalar_decoder(Kind.DATETIME, dialect)
        assert to_utc is not None

        def dec_datetime(row: Sequence[Any], i: int) -> Any:
            raw = row[i]
            if raw is None:
                return None
            utc = to_utc(raw)
            zone = row[i + 1]
            return utc if zone == "Z" else utc.astimezone(tz_from_text(zone))

        return dec_datetime
    if spec.kind is Kind.JSON:
        tp = spec.tp
        optional = spec.optional
        parsed = dialect == "postgresql"  # the driver returns JSON already parsed

        def dec_json(row: Sequence[Any], i: int) -> Any:
            raw = row[i]
            if raw is None and optional:
                return None
            return _json.decode(raw if parsed else _json.loads(raw), tp)

        return dec_json
    kind = spec.scalar if spec.kind in (Kind.ENUM, Kind.WRAPPED) else spec.kind
    assert kind is not None
    scalar = scalar_decoder(kind, dialect)
    if spec.kind is Kind.ENUM:
        cls = spec.cls
        if scalar is None:
            return lambda row, i: None if row[i] is None else cls(row[i])
        return lambda row, i: None if row[i] is None else cls(scalar(row[i]))
    if spec.kind is Kind.WRAPPED:
        cls, alias = spec.cls, spec.inner[1]
        if scalar is None:
            return lambda row, i: None if row[i] is None else cls(**{alias: row[i]})
        return lambda row, i: None if row[i] is None else cls(**{alias: scalar(row[i])})
    if scalar is None:
        return lambda row, i: row[i]
    return lambda row, i: None if row[i] is None else scalar(row[i])


# Per kind: a test that a value is in its common, already-valid shape, and
# the column value the kind's checking encoder returns for it. In a template,
# "{v}" is the value and "{v0}" its first mention (where a wrapped value is
# read into "{v}"). Where the test holds the encoder could not raise and
# returns exactly that value, so the compiled encoder skips the call.
_PLAIN_TEXT = "type({v0}) is str and {v}.isascii() and '\\x00' not in {v}"
_FAST: dict[Kind, tuple[str, str]] = {
    Kind.STR: (_PLAIN_TEXT, "{v}"),
    Kind.ID: (_PLAIN_TEXT, "{v}"),
    Kind.INT: ("type({v0}) is int and -_INT64 <= {v} < _INT64", "{v}"),
    Kind.FLOAT: ("type({v0}) is float and {v} - {v} == 0.0", "{v}"),  # inf - inf is NaN
    Kind.BOOL: ("type({v0}) is bool", "{v}"),
}
# Only where the stored form is SQLite's (text, integer microseconds).
_FAST_SQLITE: dict[Kind, tuple[str, str]] = {
    Kind.DECIMAL: ("type({v0}) is Decimal and {v}.is_finite()", "str({v})"),
    Kind.DATE: ("type({v0}) is date", "{v}.isoformat()"),
    Kind.UUID: ("type({v0}) is UUID", "str({v})"),
}


def _fast_scalar(
    kind: Kind, dialect: Dialect, v: str, v0: str | None = None, *, key: bool = False
) -> tuple[str, str] | None:
    """Return the (test, value) of one scalar, or None where only the encoder will do."""
    fast = _FAST.get(kind) or (_FAST_SQLITE.get(kind) if dialect == "sqlite" else None)
    if fast is None:
        return None
    test, value = fast
    if key and kind in (Kind.STR, Kind.ID):
        test += " and len({v}) <= MAX_KEY_LENGTH"
    return test.format(v=v, v0=v0 or v), value.format(v=v)


def _fast_columns(
    spec: FieldSpec, i: int, dialect: Dialect, key: bool, ns: dict[str, Any]
) -> list[tuple[str, str] | None]:
    """Return the (test, value) of each column of field number ``i`` (value ``f{i}``)."""
    v = f"f{i}"
    n = len(spec.columns)
    sqlite = dialect == "sqlite"
    if spec.kind is Kind.ENUM:
        ns[f"c{i}"] = spec.cls
        return [(f"type({v}) is c{i}", f"{v}._value_")]  # .value without the property call
    if spec.kind is Kind.WRAPPED:
        assert spec.scalar is not None
        ns[f"c{i}"] = spec.cls
        inner = _fast_scalar(
            spec.scalar, dialect, f"w{i}", f"(w{i} := {v}.{spec.inner[0]})", key=key
        )
        if inner is None:
            return [None]
        return [(f"type({v}) is c{i} and {inner[0]}", inner[1])]
    if spec.kind is Kind.DATETIME and sqlite:
        utc = f"type({v}) is datetime and {v}.tzinfo is UTC"
        return [(utc, f"({v} - EPOCH_UTC) // MICROSECOND"), (utc, "'Z'")]
    if spec.kind is Kind.MONEY and sqlite:
        ns[f"c{i}"] = spec.cls
        amount = _fast_scalar(Kind.DECIMAL, dialect, f"a{i}", f"(a{i} := {v}.{spec.inner[0]})")
        currency = _fast_scalar(Kind.STR, dialect, f"k{i}", f"(k{i} := {v}.{spec.inner[2]})")
        assert amount is not None
        assert currency is not None
        return [
            (f"type({v}) is c{i} and {amount[0]}", amount[1]),
            (f"type({v}) is c{i} and {currency[0]}", currency[1]),
        ]
    if spec.kind is Kind.JSON and sqlite:
        empty = _json.empty_value(spec.tp)
        if empty is None:
            return [None]
        ns[f"j{i}"] = _json.dumps(empty)
        return [(f"type({v}) in EMPTYABLE and not {v}", f"j{i}")]
    if n == 1:
        return [_fast_scalar(spec.kind, dialect, v, key=key)]
    return [None] * n


def _compile_encoder(codec: RowCodec, keys: Collection[str]) -> Callable[[Any], tuple[Any, ...]]:
    """Build ``codec.encode`` as one function with the common cases inline.

    The checking encoder calls one function per column (eleven for an
    order), most of the cost of encoding. The compiled one tests each value
    for its common shape inline (a ``str`` of plain ASCII, an ``int`` in 64
    bits, a UTC ``datetime``, a finite ``Decimal``...) and calls the column's
    checking encoder only where the test fails, in column order: every value
    is checked, and a bad one raises the same error as before. The source is
    built from the field specs alone (names, kinds), never from data.
    """
    ns: dict[str, Any] = {
        "_INT64": _INT64,
        "MAX_KEY_LENGTH": MAX_KEY_LENGTH,
        "Decimal": Decimal,
        "date": dt.date,
        "datetime": dt.datetime,
        "UUID": uuid.UUID,
        "UTC": dt.UTC,
        "EPOCH_UTC": EPOCH_UTC,
        "MICROSECOND": MICROSECOND,
        "ENTITY": codec.entity,
        # sized collections whose emptiness is ``not v`` (the JSON encoder's len(v) == 0)
        "EMPTYABLE": frozenset({dict, list, tuple, set, frozenset, FrozenMapping}),
        "get": attrgetter(*(f.name for f in codec.fields)),
        "wrong_type": codec.refuse_type,
    }
    out: list[str] = []
    for i, (spec, encoders) in enumerate(zip(codec.fields, codec.field_encoders(), strict=True)):
        key = spec.name in keys or spec.name == "id"
        fast = _fast_columns(spec, i, codec.dialect, key, ns)
        for j, enc in enumerate(encoders):
            ns[f"e{i}_{j}"] = enc
            call = f"e{i}_{j}(f{i})"
            expr = call if fast[j] is None else f"({fast[j][1]} if {fast[j][0]} else {call})"  # type: ignore[index]
            # an optional field's None is stored as NULL in every column, as its encoders do
            out.append(f"(None if f{i} is None else {expr})" if spec.optional else expr)
    names = ", ".join(f"f{i}" for i in range(len(codec.fields)))
    body = ",\n        ".join(out)
    source = (
        "def encode(entity):\n"
        "    if type(entity) is not ENTITY and not isinstance(entity, ENTITY):\n"
        "        wrong_type(entity)\n"
        f"    ({names},) = get(entity)\n"
        f"    return (\n        {body},\n    )\n"
    )
    if len(codec.fields) == 1:
        source = source.replace(f"    ({names},) = get(entity)", f"    {names} = get(entity)")
    exec(compile(source, f"<RowCodec.encode {codec.entity.__name__}>", "exec"), ns)  # noqa: S102 -- built from the field specs, never from data
    fn: Callable[[Any], tuple[Any, ...]] = ns["encode"]
    return fn


class RowCodec:
    """Convert entities of one aggregate to and from column tuples.

    Parameters
    ----------
    entity : type
        The attrs entity class.
    fields : sequence of FieldSpec
        Its introspected fields.
    dialect : {"memory", "sqlite", "postgresql"}
        Target representation.
    keys : collection of str, default ()
        The indexed fields: their text is limited to ``MAX_KEY_LENGTH``
        characters (as is the ``id``), in every dialect alike.
    """

    def __init__(
        self,
        entity: type,
        fields: Sequence[FieldSpec],
        dialect: Dialect,
        keys: Collection[str] = (),
    ) -> None:
        self.entity = entity
        self.fields = tuple(fields)
        self.dialect = dialect
        self.columns = tuple(c for f in self.fields for c in f.columns)
        # one (getter name, encoder) per column: a multi-column field is read once per column
        self._get = attrgetter(*(f.name for f in self.fields for _ in f.columns))
        self._by_field = [
            _column_encoders(f, dialect, key=f.name in keys or f.name == "id") for f in self.fields
        ]
        self._encoders = [enc for encoders in self._by_field for enc in encoders]
        plan = []
        position = 0
        for f in self.fields:
            plan.append((f.alias, _field_decoder(f, dialect), position))
            position += len(f.columns)
        self._plan = plan
        id_spec = next(f for f in self.fields if f.name == "id")
        self._id_encoder = _field_encoder(id_spec, dialect)
        self._id_index = self.columns.index("id")
        self._version_index = self.columns.index("version")
        self._encode = _compile_encoder(self, keys)

    def refuse_type(self, entity: Any) -> None:
        """Raise the error for an object that is not this codec's entity."""
        raise ValidationError(
            f"expected a {self.entity.__name__}, got {type(entity).__name__}",
            value=entity,
        )

    def encode(self, entity: Any) -> tuple[Any, ...]:
        """Return the column values of ``entity`` (validating every field)."""
        return self._encode(entity)

    def encode_checked(self, entity: Any) -> tuple[Any, ...]:
        """Encode by calling every column's checking encoder (the reference for ``encode``)."""
        if not isinstance(entity, self.entity):
            self.refuse_type(entity)
        values = self._get(entity)
        return tuple([enc(v) for enc, v in zip(self._encoders, values)])  # noqa: B905 -- equal by construction

    def field_encoders(self) -> list[list[Encoder]]:
        """Per field, in :attr:`fields` order: its column encoders (each takes the field's value).

        Used by the column-wise bulk path (``add_frame``), which encodes a
        field's values without building entities.
        """
        return [list(encoders) for encoders in self._by_field]

    def decode(self, row: Sequence[Any]) -> Any:
        """Rebuild an entity from column values in :attr:`columns` order."""
        kwargs = {alias: dec(row, i) for alias, dec, i in self._plan}
        return self.entity(**kwargs)

    def encode_id(self, id: Any) -> Any:
        """Check and encode an identifier for lookups."""
        if id is None:
            raise ValidationError("id must not be None", field="id", value=id)
        value = self._id_encoder(id)
        if isinstance(value, str) and len(value) == 0:
            raise ValidationError("id must not be empty", field="id", value=id)
        return value

    def id_of(self, row: Sequence[Any]) -> Any:
        """Return the encoded id in an encoded row."""
        return row[self._id_index]

    def version_of(self, row: Sequence[Any]) -> int:
        """Return the version in an encoded row."""
        version: int = row[self._version_index]
        return version
