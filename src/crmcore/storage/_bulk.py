"""``add_frame``: a whole table into a repository, validated column by column.

:class:`FrameEncoder` turns a :class:`pandas.DataFrame` whose columns are
named like :meth:`~crmcore.storage.Repository.to_frame`'s (one per field;
a Money field ``amount`` as ``amount`` plus ``amount_currency``) into the
rows :class:`~crmcore.storage._codec.RowCodec` would have produced from the
same entities, without building an entity per row:

- each column goes through the domain field's own converter and validator
  (:func:`attrs.fields`) and the store's own encoder, so a value is refused
  with exactly the error ``add_many`` raises for the entity holding it,
  plus the frame's row label (``ValidationError.row``);
- a value is converted, validated and encoded once per distinct value
  (text, integers, booleans, enumeration members, Money pairs): columns of
  a few currencies, statuses or channels cost a dictionary look-up per row;
- timezone-aware ``datetime64`` columns are checked and turned into UTC
  microseconds with NumPy;
- an entity's cross-field rules (``__attrs_post_init__``) run on a bare
  instance holding the row's converted values, so a frame cannot store a
  record the domain would refuse.
"""

from __future__ import annotations

import ast
import datetime as dt
import enum
import functools
import inspect
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from pandas.arrays import ArrowStringArray

from crmcore.domain import Entity, LoyaltyAccount, Order
from crmcore.errors import ValidationError
from crmcore.storage._codec import Dialect, RowCodec
from crmcore.storage._fields import FieldSpec, Kind

__all__ = ["FrameEncoder", "at_row", "check_frame", "chunks", "duplicate_at_row"]

# the domain's id converters (required, optional): ids they would keep as they are pass fast
_ID_CONVERTERS: tuple[Any, ...] = (
    attrs.fields(Entity).id.converter,
    attrs.fields(Order).campaign_id.converter,
)
# ... and validators (required, optional): the fast paths apply only to fields checked by these
_ID_VALIDATORS: tuple[Any, ...] = (
    attrs.fields(Entity).id.validator,
    attrs.fields(Order).campaign_id.validator,
)
_AWARE_VALIDATORS: tuple[Any, ...] = (
    attrs.fields(Order).placed_at.validator,
    attrs.fields(LoyaltyAccount).closed_at.validator,
)
_MEMO_TYPES = frozenset({str, int, bool, type(None)})
_UTC_NAMES = frozenset({"UTC", "utc", "Etc/UTC"})


def check_frame(
    frame: Any,
    aggregate: str,
    *,
    method: str = "add_frame",
    instead: str = "add_many for entities",
    label: str | None = None,
) -> pd.DataFrame:
    """Refuse anything but a DataFrame with unique column names.

    ``{aggregate}.{method}`` names the call in the messages, ``instead`` the
    path for objects, ``label`` (default ``aggregate``) the repeated-column one.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(
            f"{aggregate}.{method} takes a pandas DataFrame; got {type(frame).__name__} "
            f"(use {instead})",
            field="frame",
        )
    names = list(frame.columns)
    if len(set(names)) != len(names):
        repeated = sorted({str(c) for c in names if names.count(c) > 1})
        raise ValidationError(
            f"{label or aggregate}: frame columns must not repeat; "
            f"repeated: {', '.join(repeated)}",
            field=repeated[0],
        )
    return frame


class _Column:
    """One field's plan: where its values come from and how they are checked."""

    def __init__(self, spec: FieldSpec, attribute: Any, encoders: Sequence[Callable[[Any], Any]]):
        self.spec = spec
        self.attribute = attribute
        self.encoders = tuple(encoders)
        converter = attribute.converter
        if isinstance(converter, attrs.Converter):
            converter = converter.converter  # type: ignore[attr-defined]  # domain converters take the value only
        self.convert: Callable[[Any], Any] | None = converter
        self.validate: Callable[[Any, Any, Any], Any] | None = attribute.validator

    def domain(self, value: Any) -> Any:
        """Convert and validate one value as the entity's ``__init__`` would."""
        if self.convert is not None:
            value = self.convert(value)
        if self.validate is not None:
            self.validate(None, self.attribute, value)
        return value

    def stored(self, value: Any) -> tuple[Any, ...]:
        """Return the store's column values of one (converted) domain value."""
        return tuple([enc(value) for enc in self.encoders])


class FrameEncoder:
    """Encode DataFrame chunks into rows of one aggregate for one dialect.

    Parameters
    ----------
    entity : type
        The attrs entity class.
    codec : RowCodec
        The aggregate's codec for the target dialect.
    aggregate : str
        The repository name (for error messages).
    """

    def __init__(self, entity: type, codec: RowCodec, aggregate: str) -> None:
        self.entity = entity
        self.codec = codec
        self.dialect: Dialect = codec.dialect
        self.aggregate = aggregate
        fields_by_name = attrs.fields_dict(entity)
        self.columns: list[_Column] = [
            _Column(spec, fields_by_name[spec.name], encoders)
            for spec, encoders in zip(codec.fields, codec.field_encoders(), strict=True)
        ]
        self.names: dict[str, tuple[_Column, int]] = {}
        for column in self.columns:
            spec = column.spec
            if spec.kind is Kind.MONEY:
                self.names[spec.name] = (column, 0)
                self.names[f"{spec.name}_currency"] = (column, 1)
            else:
                self.names[spec.name] = (column, 0)
        self.post_init: Callable[[Any], None] | None = getattr(entity, "__attrs_post_init__", None)
        # the converted values are kept only for cross-field rules and defaults computed from them
        self.needs_values = self.post_init is not None or any(map(_takes_self, self.columns))
        self._memos: dict[str, dict[Any, Any]] = {c.spec.name: {} for c in self.columns}
        self._checked: dict[tuple[int, ...], tuple[Any, ...]] = {}
        self._codes: list[np.ndarray | None] = []

    # ---------------------------------------------------------------- checks
    def check_columns(self, frame: pd.DataFrame) -> None:
        """Name unknown columns and required fields without a column."""
        unknown = [c for c in frame.columns if c not in self.names]
        if unknown:
            raise ValidationError(
                f"{self.aggregate}: the frame has columns {self.aggregate} does not store: "
                f"{', '.join(map(repr, unknown))}; allowed: {', '.join(self.names)}",
                field=str(unknown[0]),
            )
        for column in self.columns:
            spec, default = column.spec, column.attribute.default
            wanted = [spec.name] + ([f"{spec.name}_currency"] if spec.kind is Kind.MONEY else [])
            if any(w in frame.columns for w in wanted):
                continue
            if default is attrs.NOTHING:
                raise ValidationError(
                    f"{self.aggregate}: the frame has no column {spec.name!r}, which "
                    f"{self.entity.__name__} requires; columns present: "
                    f"{', '.join(map(str, frame.columns)) or '(none)'}",
                    field=spec.name,
                )

    # ---------------------------------------------------------------- encoding
    def encode(self, frame: pd.DataFrame) -> list[tuple[Any, ...]]:
        """Return the rows of ``frame`` in the codec's column order (validated)."""
        n = len(frame)
        labels = frame.index
        domain: list[list[Any]] = []
        stored: list[list[Any]] = []
        self._codes = []  # per column: equal values, equal codes (None: not factorised)
        for column in self.columns:
            codes = None
            if _takes_self(column) and column.spec.name not in frame.columns:
                earlier = {c.spec.name: v for c, v in zip(self.columns, domain, strict=False)}
                raw = self._self_defaults(column, earlier, n)
                values, parts = self._memoised(column, raw, labels, column.spec.name)
            else:
                values, parts, codes = self._field(column, frame, n, labels)
            domain.append(values)
            stored.extend(parts)
            self._codes.append(codes)
        if self.post_init is not None:
            self._cross_field(domain, labels)
        return list(zip(*stored, strict=True))

    def _field(
        self, column: _Column, frame: pd.DataFrame, n: int, labels: pd.Index
    ) -> tuple[list[Any], list[list[Any]], np.ndarray | None]:
        """Return a field's domain values, its stored columns and its codes (if factorised)."""
        spec = column.spec
        if spec.kind is Kind.MONEY:
            coded = self._money_coded(column, frame, n)
            if coded is not None:
                return coded
            return (*self._money(column, frame, n, labels), None)
        if spec.name not in frame.columns:
            value = self._default(column)
            return [value] * n, [[v] * n for v in column.stored(value)], np.zeros(n, np.intp)
        series = frame[spec.name]
        fast = self._utc_datetimes(column, series)
        if fast is None:
            fast = self._plain_ids(column, series)
        if fast is not None:
            return (*fast, None)
        coded = self._coded(column, series)
        if coded is not None:
            return coded
        return (*self._memoised(column, _python_values(series), labels, spec.name), None)

    def _distinct(self, column: _Column, raws: list[Any]) -> list[tuple[Any, Any]] | None:
        """Convert, validate and encode distinct raw values once (None: one is refused).

        A refused value is left to the per-row path, which names its first row.
        """
        memo = self._memos[column.spec.name]
        out = []
        for raw in raws:
            key = (raw.__class__, raw)
            hit = memo.get(key)
            if hit is None:
                try:
                    value = column.domain(raw)
                    hit = (value, column.stored(value))
                except ValidationError:
                    return None
                if len(memo) < 1_000_000:
                    memo[key] = hit
            out.append(hit)
        return out

    def _coded(
        self, column: _Column, series: pd.Series
    ) -> tuple[list[Any], list[list[Any]], np.ndarray] | None:
        """Factorise a text, integer or boolean column; handle each distinct value once.

        The per-row work is NumPy's ``take`` of the distinct results by code.
        None when the column holds other values (objects) or one is refused.
        """
        found = _factorise(series)
        if found is None:
            return None
        codes, raws = found
        hits = self._distinct(column, raws)
        if hits is None:
            return None
        width = len(column.encoders)
        domain = _objects([h[0] for h in hits])[codes].tolist()
        parts = [_objects([h[1][k] for h in hits])[codes].tolist() for k in range(width)]
        return domain, parts, codes

    def _money_coded(
        self, column: _Column, frame: pd.DataFrame, n: int
    ) -> tuple[list[Any], list[list[Any]], np.ndarray] | None:
        """Run :meth:`_money`'s per-pair work once per distinct (amount, currency) pair."""
        spec = column.spec
        name = spec.name
        cls = spec.cls
        assert cls is not None
        currency_col = f"{name}_currency"
        if name not in frame.columns and currency_col not in frame.columns:
            return None
        sides: list[tuple[np.ndarray, list[Any]]] = []
        for col in (name, currency_col):
            if col not in frame.columns:
                sides.append((np.zeros(n, np.intp), [None]))
                continue
            found = _factorise(frame[col])
            if found is None:
                return None
            sides.append(found)
        (a_codes, a_raws), (c_codes, c_raws) = sides
        pair = a_codes.astype(np.int64) * len(c_raws) + c_codes
        codes, uniques = pd.factorize(pair)
        uniques = np.asarray(uniques)
        amount_alias, currency_alias = spec.inner[1], spec.inner[3]
        memo = self._memos[name]
        hits = []
        for a_code, c_code in zip(
            (uniques // len(c_raws)).tolist(), (uniques % len(c_raws)).tolist(), strict=True
        ):
            a, c = a_raws[a_code], c_raws[c_code]
            key = (a.__class__, str(a), c.__class__, c)  # as _money's key
            hit = memo.get(key)
            if hit is None:
                try:
                    raw = (
                        None
                        if a is None and c is None
                        else cls(**{amount_alias: a, currency_alias: c})
                    )
                    value = column.domain(raw)
                    hit = (value, column.stored(value))
                except ValidationError:
                    return None  # the per-row path names the first row refused
                if len(memo) < 1_000_000:
                    memo[key] = hit
            hits.append(hit)
        domain = _objects([h[0] for h in hits])[codes].tolist()
        parts = [_objects([h[1][k] for h in hits])[codes].tolist() for k in (0, 1)]
        return domain, parts, codes

    def _plain_ids(
        self, column: _Column, series: pd.Series
    ) -> tuple[list[Any], list[list[Any]]] | None:
        """Pass a text id column through when every value is plainly valid (None: per value).

        Plain means ASCII text holding a letter or digit, without NUL and not
        a ``urn:uuid:`` string: the domain's id converter keeps such a value
        and its validator then only limits the length, checked by validating
        the longest value.  Anything else takes the per-value path, which
        names the first bad row.
        """
        if column.spec.kind is not Kind.ID or not isinstance(series.array, ArrowStringArray):
            return None
        if column.convert not in _ID_CONVERTERS or column.validate not in _ID_VALIDATORS:
            return None
        if series.hasnans:
            return None
        text = pa.array(series.array)  # zero-copy: pandas' own Arrow buffer
        if len(text) == 0:
            return None
        lengths = pc.utf8_length(text)
        plain = pc.and_(
            pc.and_(pc.string_is_ascii(text), pc.match_substring_regex(text, "[0-9A-Za-z]")),
            pc.invert(
                pc.or_(
                    pc.match_substring(text, "\x00"),
                    pc.starts_with(pc.ascii_lower(text), "urn:uuid:"),
                )
            ),
        )
        if not pc.all(plain).as_py():
            return None
        longest = text[pc.index(lengths, pc.max(lengths)).as_py()].as_py()
        try:
            column.domain(longest)
            column.stored(longest)
        except ValidationError:
            return None  # the per-value path names the first row refused
        values = text.to_pylist()
        return values, [values]

    def _self_defaults(self, column: _Column, earlier: dict[str, list[Any]], n: int) -> list[Any]:
        """Compute a default that depends on earlier fields, once per distinct combination."""
        factory = column.attribute.default.factory
        read = _fields_read(factory, tuple(earlier))
        names = list(earlier) if read is None else list(read)
        columns = [earlier[name] for name in names]
        keys = list(zip(*(map(id, c) for c in columns), strict=True)) if columns else [()] * n
        cache: dict[Any, Any] = {}
        new, setter, cls = object.__new__, object.__setattr__, self.entity
        out = []
        for i, key in enumerate(keys):
            if key not in cache:
                shell: Any = new(cls)
                for name, values in zip(names, columns, strict=True):
                    setter(shell, name, values[i])
                cache[key] = factory(shell)
            out.append(cache[key])
        return out

    def _default(self, column: _Column) -> Any:
        default = column.attribute.default
        raw = default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]
        try:
            return column.domain(raw)
        except ValidationError as exc:  # pragma: no cover - the domain's defaults are valid
            raise at_row(exc, None) from None

    def _memoised(
        self, column: _Column, values: list[Any], labels: pd.Index, name: str
    ) -> tuple[list[Any], list[list[Any]]]:
        memo = self._memos[column.spec.name]
        width = len(column.encoders)
        domain: list[Any] = []
        parts: list[list[Any]] = [[] for _ in range(width)]
        appends = [p.append for p in parts]
        # other objects (value objects, tuples of them): by identity, within this call only
        # (the frame holds them, so an id names one object here)
        same: dict[int, Any] = {}
        for i, raw in enumerate(values):
            key = (
                (raw.__class__, raw)
                if raw.__class__ in _MEMO_TYPES or isinstance(raw, enum.Enum)
                else None
            )
            hit = memo.get(key) if key is not None else same.get(id(raw))
            if hit is None:
                try:
                    value = column.domain(raw)
                    hit = (value, column.stored(value))
                except ValidationError as exc:
                    raise at_row(exc, labels[i], name) from None
                if key is None:
                    same[id(raw)] = hit
                elif len(memo) < 1_000_000:
                    memo[key] = hit
            domain.append(hit[0])
            for append, v in zip(appends, hit[1], strict=True):
                append(v)
        return domain, parts

    def _money(
        self, column: _Column, frame: pd.DataFrame, n: int, labels: pd.Index
    ) -> tuple[list[Any], list[list[Any]]]:
        spec = column.spec
        name = spec.name
        cls = spec.cls
        assert cls is not None
        amount_alias, currency_alias = spec.inner[1], spec.inner[3]
        present = name in frame.columns or f"{name}_currency" in frame.columns
        if not present:
            value = self._default(column)
            return [value] * n, [[v] * n for v in column.stored(value)]
        amounts = _python_values(frame[name]) if name in frame.columns else [None] * n
        currency_col = f"{name}_currency"
        currencies = (
            _python_values(frame[currency_col]) if currency_col in frame.columns else [None] * n
        )
        memo = self._memos[name]
        domain: list[Any] = []
        parts: list[list[Any]] = [[], []]
        add_amount, add_currency = parts[0].append, parts[1].append
        for i, (a, c) in enumerate(zip(amounts, currencies, strict=True)):
            # Decimal("1.5") == Decimal("1.50"): the key keeps the digits apart
            key = (a.__class__, str(a), c.__class__, c)
            hit = memo.get(key)
            if hit is None:
                try:
                    if a is None and c is None:
                        raw = None
                    else:
                        raw = cls(**{amount_alias: a, currency_alias: c})
                    value = column.domain(raw)
                    hit = (value, column.stored(value))
                except ValidationError as exc:
                    field = currency_col if exc.field == "currency" else name
                    raise at_row(exc, labels[i], field) from None
                if len(memo) < 1_000_000:
                    memo[key] = hit
            domain.append(hit[0])
            add_amount(hit[1][0])
            add_currency(hit[1][1])
        return domain, parts

    def _utc_datetimes(
        self, column: _Column, series: pd.Series
    ) -> tuple[list[Any], list[list[Any]]] | None:
        """Encode an aware UTC ``datetime64`` column without gaps with NumPy (None: per value)."""
        spec = column.spec
        if spec.kind is not Kind.DATETIME or self.dialect != "sqlite":
            return None
        dtype = series.dtype
        if not isinstance(dtype, pd.DatetimeTZDtype) or str(dtype.tz) not in _UTC_NAMES:
            return None
        if column.convert is not None or column.validate not in _AWARE_VALIDATORS:
            return None  # a converter to run, or rules beyond "aware": per value
        if series.isna().any():
            return None  # gaps the validator must judge: per value
        micros = series.array.as_unit("us").asi8  # UTC instants, whatever the stored unit
        if len(micros) and (micros.min() < _MIN_US or micros.max() > _MAX_US):
            return None  # out of the supported range: the per-value path names it
        domain: list[Any] = _utc_datetimes(micros) if self.needs_values else [None] * len(micros)
        return domain, [micros.tolist(), ["Z"] * len(micros)]

    def _cross_field(self, domain: list[list[Any]], labels: pd.Index) -> None:
        """Run the entity's cross-field rules on a bare instance per row."""
        post_init = self.post_init
        assert post_init is not None
        names = [c.spec.name for c in self.columns]
        read = _fields_read(post_init, tuple(names))
        if read is not None:  # the rule reads a few fields: check each distinct combination once
            positions = [names.index(name) for name in read]
            names = list(read)
            domain = [domain[p] for p in positions]
        rows: Iterable[int] = range(len(labels))
        codes = self._codes
        if read is not None and all(codes[p] is not None for p in positions):
            # every field read is factorised: the first row of each distinct combination of codes
            combined = np.zeros(len(labels), np.int64)
            for p in positions:
                column_codes = codes[p]
                assert column_codes is not None
                width = int(column_codes.max()) + 1 if len(column_codes) else 1
                combined, _ = pd.factorize(combined * width + column_codes)
                combined = combined.astype(np.int64)
            rows = sorted(np.unique(combined, return_index=True)[1].tolist())
        elif read is not None:
            # values come from the per-column memo: equal inputs are the same object, so the
            # first row of each distinct combination is found by identity, at C speed
            keys = zip(*(map(id, reversed(column)) for column in domain), strict=True)
            firsts = dict(zip(keys, range(len(labels) - 1, -1, -1), strict=True))
            rows = sorted(firsts.values())
        new, setter, cls = object.__new__, object.__setattr__, self.entity
        # combinations passed in earlier chunks, by the identity of their values (kept
        # alive here, so an id cannot be reused by another value)
        checked = self._checked if read is not None else None
        for i in rows:
            if checked is not None:
                key = tuple([id(values[i]) for values in domain])
                if key in checked:
                    continue
            shell: Any = new(cls)
            for name, values in zip(names, domain, strict=True):
                setter(shell, name, values[i])
            try:
                post_init(shell)
            except ValidationError as exc:
                raise at_row(exc, labels[i]) from None
            if checked is not None and len(checked) < 1_000_000:
                checked[key] = tuple([values[i] for values in domain])


_EPOCH = np.datetime64("1970-01-01T00:00:00", "us")
_MIN_US = int((np.datetime64("1677-09-22", "us") - _EPOCH).astype(np.int64))
_MAX_US = int((np.datetime64("2262-04-11", "us") - _EPOCH).astype(np.int64))
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _takes_self(column: _Column) -> bool:
    default = column.attribute.default
    return isinstance(default, attrs.Factory) and bool(default.takes_self)  # type: ignore[arg-type]


@functools.cache
def _fields_read(method: Callable[..., Any], names: Sequence[str]) -> tuple[str, ...] | None:
    """Return the fields a cross-field rule reads as ``self.<field>`` (None: maybe any).

    Read from the method's source: any other use of ``self`` (passing it to a
    helper, calling a method on it, a field name it does not hold) means
    every field.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError, SyntaxError):
        return None
    function = tree.body[0]
    if not isinstance(function, ast.FunctionDef) or not function.args.args:
        return None
    me = function.args.args[0].arg
    parents = {child: node for node in ast.walk(function) for child in ast.iter_child_nodes(node)}
    read: dict[str, None] = {}
    for node in ast.walk(function):
        if not (isinstance(node, ast.Name) and node.id == me):
            continue
        parent = parents.get(node)
        if not isinstance(parent, ast.Attribute) or parent.attr not in names:
            return None
        call = parents.get(parent)
        if isinstance(call, ast.Call) and call.func is parent:
            return None  # a method called on self
        read[parent.attr] = None
    return tuple(read)


def _utc_datetimes(micros: np.ndarray) -> list[dt.datetime]:
    delta = dt.timedelta
    return [_EPOCH_UTC + delta(microseconds=m) for m in micros.tolist()]


def _factorise(series: pd.Series) -> tuple[np.ndarray, list[Any]] | None:
    """Codes and distinct Python values of a text, integer or boolean column (None: other).

    Only columns whose values are all of one Python type (pandas' string
    dtype, NumPy integers and booleans), so equal values are values of one
    class, as the per-value memo's key requires; a gap is ``None``.
    """
    dtype = series.dtype
    if not (isinstance(series.array, ArrowStringArray) or dtype.kind in "iub"):
        return None
    codes, uniques = pd.factorize(series.array, use_na_sentinel=True)
    raws: list[Any] = uniques.tolist() if dtype.kind not in "iub" else np.asarray(uniques).tolist()
    if len(codes) and codes.min() < 0:
        codes = np.where(codes < 0, len(raws), codes)
        raws.append(None)
    return codes.astype(np.intp, copy=False), raws


def _objects(values: list[Any]) -> np.ndarray:
    """Return an object array of ``values`` (each kept as it is, tuples too)."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):  # once per distinct value; a slice would unpack tuples
        out[i] = value
    return out


def _python_values(series: pd.Series) -> list[Any]:
    """Return the column as Python values; missing ones (None, NaN, NaT, NA) as ``None``."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind == "M":
        stamps = series.dt.to_pydatetime()
        values = list(stamps)
    elif dtype.kind in "iub":
        return series.to_numpy().tolist()  # no gaps possible in a NumPy integer/bool column
    else:
        values = series.tolist()
    if not series.hasnans:  # pandas' vectorised check: no gap to turn into None
        return values
    return [None if _missing(v) else v for v in values]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return value is pd.NaT or value is pd.NA or bool(value != value)  # noqa: PLR0124 -- NaN of any float type
    except (TypeError, ValueError):
        return False


def at_row(exc: ValidationError, label: Any, field: str | None = None) -> ValidationError:
    """Return the same error naming the frame's row (and the frame column, if given)."""
    row = label.item() if isinstance(label, np.generic) else label
    out = ValidationError(
        exc.message if row is None else f"{exc.message} (row {row!r})",
        field=field if field is not None and exc.field is None else exc.field or field,
        row=row,
        value=exc.value,
    )
    out.__cause__ = exc.__cause__
    return out


def chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    """Consecutive row slices of ``frame`` (views, not copies)."""
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def duplicate_at_row(
    exc: ValidationError, rows: Sequence[Sequence[Any]], labels: pd.Index, codec: RowCodec
) -> ValidationError:
    """Name the frame row of a refused id (its second copy when the batch repeats it)."""
    if exc.field != "id":
        return exc
    positions = [i for i, row in enumerate(rows) if codec.id_of(row) == exc.value]
    if not positions:
        return exc
    return at_row(exc, labels[positions[1] if len(positions) > 1 else positions[0]])
