"""The JSON form of fitted recommenders: arrays as base64, ids as lists, a checked envelope.

A fitted recommender holds large arrays (a pruned item-similarity matrix,
factor matrices, every customer's purchase history). Written as JSON lists
they would be three to four times larger than their bytes and slow to read,
so each array is stored as ``{"dtype": "<f4", "shape": [n, m], "base64": "..."}``:
little-endian bytes in base64, which is strict JSON, exact (no decimal
round trip) and portable across machines. Identifiers (customer and product
ids) are stored as plain lists of strings or integers.

A saved file is data from outside: every field is checked when read, so a
truncated or hand-edited file fails with a
:class:`~crmcore.errors.ValidationError` naming the field, not with a wrong
recommendation later.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmcore.errors import ValidationError

__all__ = [
    "SCHEMA_VERSION",
    "decode_array",
    "decode_csr",
    "decode_ids",
    "encode_array",
    "encode_csr",
    "encode_ids",
    "read_envelope",
    "read_json",
    "write_json",
]

SCHEMA_VERSION = 1
_DTYPES = {"<f4": np.float32, "<f8": np.float64, "<i4": np.int32, "<i8": np.int64, "|b1": np.bool_}


def encode_array(values: np.ndarray[Any, Any]) -> dict[str, Any]:
    """Return ``values`` as a JSON-ready mapping (dtype, shape, base64 bytes)."""
    arr = np.ascontiguousarray(values)
    dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    code = dtype.str
    if code not in _DTYPES:
        raise ValidationError(f"cannot store an array of dtype {arr.dtype}", field="dtype")
    raw = arr.astype(dtype, copy=False).tobytes()
    return {"dtype": code, "shape": list(arr.shape), "base64": base64.b64encode(raw).decode()}


def decode_array(
    value: Any, *, field: str, dtype: Any = None, ndim: int | None = None
) -> np.ndarray[Any, Any]:
    """Read an array written by :func:`encode_array`, checking every part.

    Raises
    ------
    ValidationError
        A missing part, an unknown dtype, bytes that do not match the shape,
        a dtype other than ``dtype`` or a number of dimensions other than
        ``ndim``; floating arrays must be finite.
    """
    if not isinstance(value, Mapping) or not {"dtype", "shape", "base64"} <= set(value):
        raise ValidationError(f"saved model: {field} is not a stored array", field=field)
    code, shape = value["dtype"], value["shape"]
    if code not in _DTYPES:
        raise ValidationError(f"saved model: {field} has unknown dtype {code!r}", field=field)
    if dtype is not None and np.dtype(_DTYPES[code]) != np.dtype(dtype):
        raise ValidationError(
            f"saved model: {field} must be {np.dtype(dtype)}, got {np.dtype(_DTYPES[code])}",
            field=field,
        )
    if not isinstance(shape, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
    ):
        raise ValidationError(f"saved model: {field} has a bad shape {shape!r}", field=field)
    if ndim is not None and len(shape) != ndim:
        raise ValidationError(
            f"saved model: {field} must have {ndim} dimension(s), got {len(shape)}", field=field
        )
    try:
        raw = base64.b64decode(str(value["base64"]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"saved model: {field} is not valid base64", field=field) from exc
    want = int(np.prod(shape, dtype=np.int64)) * np.dtype(code).itemsize
    if len(raw) != want:
        raise ValidationError(
            f"saved model: {field} holds {len(raw)} bytes for shape {shape} ({want} expected)",
            field=field,
        )
    arr = np.frombuffer(raw, dtype=np.dtype(code)).reshape(shape)
    out: np.ndarray[Any, Any] = arr.astype(_DTYPES[code], copy=True)
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        raise ValidationError(f"saved model: {field} holds non-finite values", field=field)
    return out


def encode_csr(matrix: sp.csr_matrix) -> dict[str, Any]:
    """Return a CSR matrix as its three arrays and its shape."""
    return {
        "shape": [int(s) for s in matrix.shape],
        "indptr": encode_array(matrix.indptr.astype(np.int64)),
        "indices": encode_array(matrix.indices.astype(np.int32)),
        "data": encode_array(matrix.data),
    }


def decode_csr(value: Any, *, field: str, dtype: Any = np.float32) -> sp.csr_matrix:
    """Read a CSR matrix written by :func:`encode_csr`, checking its structure.

    Raises
    ------
    ValidationError
        Parts missing, or arrays that do not form a valid CSR matrix.
    """
    if not isinstance(value, Mapping) or "shape" not in value:
        raise ValidationError(f"saved model: {field} is not a stored matrix", field=field)
    shape = value["shape"]
    if not (
        isinstance(shape, list) and len(shape) == 2 and all(isinstance(s, int) for s in shape)
    ):
        raise ValidationError(f"saved model: {field} has a bad shape {shape!r}", field=field)
    indptr = decode_array(value.get("indptr"), field=f"{field}.indptr", dtype=np.int64, ndim=1)
    indices = decode_array(value.get("indices"), field=f"{field}.indices", dtype=np.int32, ndim=1)
    data = decode_array(value.get("data"), field=f"{field}.data", dtype=dtype, ndim=1)
    n_rows, n_cols = shape
    ok = (
        indptr.size == n_rows + 1
        and indptr[0] == 0
        and indptr[-1] == indices.size == data.size
        and bool(np.all(np.diff(indptr) >= 0))
        and (indices.size == 0 or (indices.min() >= 0 and indices.max() < n_cols))
    )
    if not ok:
        raise ValidationError(
            f"saved model: {field} is not a valid sparse matrix of shape {shape}", field=field
        )
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))


def encode_ids(ids: pd.Index, *, field: str) -> list[Any]:
    """Return identifiers as a JSON list (strings or integers only).

    Raises
    ------
    ValidationError
        An identifier that is neither a string nor an integer (it would not
        come back as the same value from JSON).
    """
    values = ids.tolist()
    for v in values:
        if not (isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))):
            raise ValidationError(
                f"{field}: cannot save identifier {v!r} of type {type(v).__name__}; "
                "saved models keep string or integer ids",
                field=field,
                value=v,
            )
    return values


def decode_ids(value: Any, *, field: str, name: str | None) -> pd.Index:
    """Read identifiers written by :func:`encode_ids` (unique strings or integers)."""
    if not isinstance(value, list) or not all(
        isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    ):
        raise ValidationError(
            f"saved model: {field} must be a list of strings or integers", field=field
        )
    ids = pd.Index(value, name=name, dtype=object if not value else None)
    if not ids.is_unique:
        raise ValidationError(f"saved model: {field} holds duplicate ids", field=field)
    return ids


def read_envelope(state: Any, cls: type) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """Check a saved model's envelope; return its hyper-parameters and fitted part.

    Raises
    ------
    ValidationError
        Not a saved ``cls`` of this schema version, a part missing, or a
        hyper-parameter ``cls`` does not take.
    """
    kind = cls.__name__
    if not isinstance(state, Mapping) or state.get("model") != kind:
        found = state.get("model") if isinstance(state, Mapping) else type(state).__name__
        raise ValidationError(f"not a saved {kind} (found {found!r})", field="model")
    if state.get("schema_version") != SCHEMA_VERSION:
        raise ValidationError(
            f"a saved {kind} of schema version {state.get('schema_version')!r} cannot be read "
            f"by this crmcore (it reads version {SCHEMA_VERSION}); refit and save it again",
            field="schema_version",
        )
    for key in ("params", "fitted"):
        if not isinstance(state.get(key), Mapping):
            raise ValidationError(f"incomplete saved {kind}: {key!r} is missing", field=key)
    params = dict(state["params"])
    known = set(inspect.signature(cls.__init__).parameters) - {"self"}  # type: ignore[misc]
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValidationError(
            f"saved {kind} has unknown parameter(s) {', '.join(unknown)}", field="params"
        )
    fitted: Mapping[str, Any] = state["fitted"]
    return params, fitted


def write_json(state: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``state`` as strict JSON (no NaN or infinity)."""
    Path(path).write_text(json.dumps(state, allow_nan=False), encoding="utf-8")


def read_json(path: str | os.PathLike[str], *, kind: str) -> Any:
    """Read a JSON file, refusing anything that is not JSON."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{os.fspath(path)} is not JSON written by {kind}.save ({exc})", field="path"
        ) from exc


def float_list(values: Any, *, field: str) -> list[float]:
    """Read a list of finite floats (small fitted vectors stored as plain lists)."""
    if not isinstance(values, list):
        raise ValidationError(f"saved model: {field} must be a list", field=field)
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise ValidationError(f"saved model: {field} holds {v!r}", field=field, value=v)
        out.append(float(v))
    return out
