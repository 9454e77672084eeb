"""Field specifications (column -> comparison kind) and prepared columns."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd

from crmcore._types import IntArray
from crmcore.errors import ValidationError

__all__ = [
    "KIND_NAMES",
    "Column",
    "Field",
    "codes_of",
    "fields_from_dict",
    "fields_to_dict",
    "parse_fields",
    "refuse_value",
]

KIND_NAMES: tuple[str, ...] = (
    "name",
    "text",
    "email",
    "phone",
    "date",
    "postcode",
    "exact",
    "numeric",
)
"""The comparison kinds a field can have, in the order the docs list them."""


def _check_kind(_inst: Any, _attr: Any, value: Any) -> None:
    if value not in KIND_NAMES:
        raise ValidationError(
            f"unknown comparison kind {value!r}; use one of {', '.join(KIND_NAMES)}",
            field="kind",
            value=value,
        )


def _to_tuple(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return tuple(value)


def _check_invalid(_inst: Any, _attr: Any, value: Any) -> None:
    if value not in ("raise", "missing"):
        raise ValidationError(
            f"invalid must be 'raise' or 'missing'; got {value!r}", field="invalid", value=value
        )


def _check_levels(_inst: Any, _attr: Any, value: Any) -> None:
    if value is None:
        return
    cuts = np.asarray(value, dtype=np.float64)
    if cuts.ndim != 1 or cuts.size == 0 or not np.all((cuts > 0) & (cuts <= 1)):
        raise ValidationError(
            f"levels must be similarity cut points in (0, 1]; got {value!r}",
            field="levels",
            value=value,
        )
    if np.any(np.diff(cuts) <= 0):
        raise ValidationError(f"levels must increase; got {value!r}", field="levels", value=value)


@attrs.frozen
class Field:
    """How one column is normalised, compared and blocked on.

    Parameters
    ----------
    kind : str
        One of ``"name"``, ``"text"``, ``"email"``, ``"phone"``, ``"date"``,
        ``"postcode"``, ``"exact"``, ``"numeric"`` (see the guide's table).
    country : str, optional
        Phone fields: ISO 3166-1 alpha-2 country of national numbers (numbers
        written with ``+`` or ``00`` need none).
    country_col : str, optional
        Phone fields: a column giving each record's country instead.
    date_format : str or sequence of str, optional
        Date fields: ``strptime`` format(s) of text dates, tried in the order
        given (the first whose shape fits a value reads it). Without one,
        ISO 8601 text, ``datetime64`` columns and date objects are read.
    invalid : {"raise", "missing"}, default "raise"
        Phone, date and numeric fields: what an unreadable value does: refused with a
        :class:`~crmcore.errors.ValidationError` naming the record, or
        treated as missing (:func:`~crmcore.identity.data_quality` counts
        them).
    tolerance : float, default 0
        Numeric fields: differences up to this count as a partial agreement.
    nicknames : mapping of str to str, optional
        Name fields: short forms -> the form compared (default
        :data:`~crmcore.identity.NICKNAMES`; ``{}`` turns mapping off).
    levels : sequence of float, optional
        Name and text fields: increasing similarity cut points in (0, 1]
        separating the agreement levels (default ``(0.7, 0.85, 0.92, 0.98)``).
    valid_range : (low, high), optional
        Date and numeric fields, for :func:`~crmcore.identity.data_quality`:
        values outside ``[low, high]`` are invalid (either end may be None).

    Examples
    --------
    >>> Field("phone", country="GB")
    Field(kind='phone', country='GB', ...)
    >>> Field("colour")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: unknown comparison kind 'colour'; use one of name, ...
    """

    kind: str = attrs.field(validator=_check_kind)
    country: str | None = attrs.field(default=None, kw_only=True)
    country_col: str | None = attrs.field(default=None, kw_only=True)
    date_format: str | tuple[str, ...] | None = attrs.field(
        default=None, kw_only=True, converter=_to_tuple
    )
    invalid: Literal["raise", "missing"] = attrs.field(
        default="raise", kw_only=True, validator=_check_invalid
    )
    tolerance: float = attrs.field(default=0.0, kw_only=True)
    nicknames: Mapping[str, str] | None = attrs.field(default=None, kw_only=True)
    levels: tuple[float, ...] | None = attrs.field(
        default=None, kw_only=True, converter=_to_tuple, validator=_check_levels
    )
    valid_range: tuple[Any, Any] | None = attrs.field(
        default=None, kw_only=True, converter=_to_tuple
    )

    def __attrs_post_init__(self) -> None:
        if not (np.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValidationError(
                f"tolerance must be a finite number >= 0; got {self.tolerance!r}",
                field="tolerance",
                value=self.tolerance,
            )
        if self.valid_range is not None and len(self.valid_range) != 2:
            raise ValidationError(
                f"valid_range must be (low, high); got {self.valid_range!r}",
                field="valid_range",
                value=self.valid_range,
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the specification as JSON-safe data (only fields that differ from defaults)."""
        out: dict[str, Any] = {"kind": self.kind}
        for a in attrs.fields(Field)[1:]:
            value = getattr(self, a.name)
            if value != a.default:
                out[a.name] = dict(value) if isinstance(value, Mapping) else value
        if isinstance(out.get("valid_range"), tuple):
            out["valid_range"] = [None if v is None else str(v) for v in out["valid_range"]]
        for key in ("date_format", "levels"):
            if isinstance(out.get(key), tuple):
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Field:
        """Build from the output of :meth:`to_dict`."""
        known = {a.name for a in attrs.fields(Field)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(
                f"unknown Field key(s) {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(sorted(known))}",
                field=unknown[0],
            )
        return cls(**dict(data))


def parse_fields(fields: Any) -> dict[str, Field]:
    """Read ``fields``: a mapping of column name -> kind name or :class:`Field`.

    Raises
    ------
    ValidationError
        Not a non-empty mapping, a column name that is not a string, or an
        unknown kind (naming the column).
    """
    if not isinstance(fields, Mapping) or not fields:
        raise ValidationError(
            "fields must be a non-empty mapping of column name to comparison kind, e.g. "
            "{'name': 'name', 'email': 'email'}",
            field="fields",
            value=fields,
        )
    out: dict[str, Field] = {}
    for column, spec in fields.items():
        if not isinstance(column, str) or not column:
            raise ValidationError(
                f"fields keys must be column names; got {column!r}", field="fields", value=column
            )
        if isinstance(spec, Field):
            out[column] = spec
        elif isinstance(spec, str):
            try:
                out[column] = Field(spec)
            except ValidationError as err:
                raise ValidationError(
                    f"fields[{column!r}]: {err.message}", field=column, value=spec
                ) from err
        else:
            raise ValidationError(
                f"fields[{column!r}] must be a kind name or a Field; got {spec!r}",
                field=column,
                value=spec,
            )
    return out


def fields_to_dict(fields: Mapping[str, Field]) -> dict[str, Any]:
    """JSON-safe form of a parsed field mapping."""
    return {column: spec.to_dict() for column, spec in fields.items()}


def fields_from_dict(data: Mapping[str, Any]) -> dict[str, Field]:
    """Inverse of :func:`fields_to_dict`."""
    return {column: Field.from_dict(spec) for column, spec in data.items()}


@dataclass(slots=True)
class Column:
    """One field of a set of records, normalised and coded.

    Attributes
    ----------
    codes : ndarray of int64
        Per record, the position of its normalised value in ``values``;
        ``-1`` where the value is missing (or unreadable and dropped).
    values : ndarray
        The distinct normalised values (object array of str, or int64 days
        for dates, float64 for numbers).
    sim : ndarray or None
        Per distinct value, the string compared by similarity (e.g. a name's
        sorted words with Hangul decomposed into jamo).
    extra : dict
        Per distinct value, kind-specific arrays (an e-mail's part before
        ``@``, a name's number of words).
    """

    codes: IntArray
    values: np.ndarray[Any, Any]
    sim: np.ndarray[Any, Any] | None = None
    extra: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)


def codes_of(
    raw: np.ndarray[Any, Any],
    normalise: Callable[[Any], Any],
    *,
    empty: Any = "",
) -> tuple[IntArray, np.ndarray[Any, Any]]:
    """Factorise ``raw``, normalise each distinct value once, factorise again.

    Values normalising to ``empty`` (or ``None``) become missing (``-1``).

    Returns
    -------
    codes : ndarray of int64
    values : ndarray of object
        The distinct normalised values.
    """
    first, uniques = pd.factorize(pd.Series(raw, dtype=object), use_na_sentinel=True)
    normed = np.empty(len(uniques), dtype=object)
    normed[:] = [normalise(v) for v in np.asarray(uniques, dtype=object)]
    blank = np.array([v is None or v == empty for v in normed], dtype=bool)
    normed[blank] = None
    second, values = pd.factorize(pd.Series(normed, dtype=object), use_na_sentinel=True)
    second = np.asarray(second, dtype=np.int64)
    lookup = np.append(second, -1)  # code -1 (missing) maps to -1
    codes = lookup[np.asarray(first, dtype=np.int64)]
    return codes, np.asarray(values, dtype=object)


def refuse_value(
    *,
    column: str,
    ids: Sequence[Hashable] | pd.Index,
    position: int,
    value: Any,
    problem: str,
    hint: str,
) -> ValidationError:
    """Return an error naming the column, the record id and the value, with the fix."""
    return ValidationError(
        f"{column} of record {ids[position]!r} {problem}: {value!r}; {hint}",
        field=column,
        row=ids[position],
        value=value,
    )
