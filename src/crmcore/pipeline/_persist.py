"""A fitted scikit-learn estimator as JSON: its parameters plus its fitted arrays.

No pickle: the estimator's class is named (and must come from scikit-learn),
its constructor parameters are stored as JSON values, and every fitted
attribute (``coef_``, ``intercept_``, ``classes_``...) as a typed array. An
estimator whose fitted state holds anything else (the tree objects of a
random forest or a boosted model, a nested estimator, a callable) cannot be
stored this way and is refused with a :class:`~crmcore.errors.ValidationError`
naming the attribute.

Floats are written with Python's shortest round-trip ``repr``, so a loaded
estimator predicts exactly what the saved one did.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from crmcore.errors import ValidationError

__all__ = ["estimator_from_dict", "estimator_to_dict"]

_ARRAY_KINDS = "biuf"


def _refuse(cls: type, what: str) -> ValidationError:
    return ValidationError(
        f"{cls.__name__} cannot be saved without pickle: {what}. crmcore stores a "
        "classifier as its parameters plus numeric arrays (LogisticRegression and other "
        "linear models work); use one of those, or keep the model in memory",
        field="classifier",
        value=cls.__name__,
    )


def _scalar_ok(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | str):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _encode(value: Any, cls: type, name: str) -> Any:
    """One parameter or fitted attribute as a JSON value (refused if not representable)."""
    if isinstance(value, np.generic):
        value = value.item()
    if _scalar_ok(value):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in _ARRAY_KINDS:
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise _refuse(cls, f"{name} holds non-finite values")
            return {
                "__array__": value.dtype.str,
                "shape": list(value.shape),
                "data": value.ravel().tolist(),
            }
        if value.dtype.kind == "U" or (
            value.dtype.kind == "O" and all(isinstance(v, str) for v in value.ravel())
        ):
            return {"__array__": "str", "shape": list(value.shape), "data": value.ravel().tolist()}
        raise _refuse(cls, f"{name} is an array of dtype {value.dtype}")
    if isinstance(value, list | tuple):
        return {"__list__": [_encode(v, cls, f"{name}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, cls, f"{name}[{k!r}]") for k, v in value.items()}}
    raise _refuse(cls, f"{name} is a {type(value).__name__}")


def _decode(value: Any, name: str) -> Any:
    if _scalar_ok(value):
        return value
    if isinstance(value, dict) and "__array__" in value:
        try:
            dtype = str if value["__array__"] == "str" else np.dtype(value["__array__"])
            shape = tuple(int(n) for n in value["shape"])
            return np.asarray(value["data"], dtype=dtype).reshape(shape)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"classifier {name} is not a stored array: {exc}") from exc
    if isinstance(value, dict) and isinstance(value.get("__list__"), list):
        return [_decode(v, f"{name}[{i}]") for i, v in enumerate(value["__list__"])]
    if isinstance(value, dict) and isinstance(value.get("__dict__"), dict):
        return {k: _decode(v, f"{name}[{k!r}]") for k, v in value["__dict__"].items()}
    raise ValidationError(f"classifier {name} has an unreadable value {value!r}", field=name)


def estimator_to_dict(estimator: Any, *, fitted: bool = True) -> dict[str, Any]:
    """Describe an estimator: class, constructor parameters and (if ``fitted``) fitted state.

    Raises
    ------
    ValidationError
        The estimator is not scikit-learn's, or a parameter or fitted
        attribute is not a number, string, flag or numeric/string array.
    """
    cls = type(estimator)
    if not cls.__module__.startswith("sklearn.") or not hasattr(estimator, "get_params"):
        raise _refuse(cls, "only scikit-learn estimators are stored")
    params = estimator.get_params(deep=False)
    out: dict[str, Any] = {
        "class": f"{cls.__module__}:{cls.__qualname__}",
        "params": {k: _encode(v, cls, k) for k, v in params.items()},
    }
    if fitted:
        out["state"] = {
            k: _encode(v, cls, k) for k, v in vars(estimator).items() if k not in params
        }
    return out


def estimator_from_dict(data: Any) -> Any:
    """Rebuild an estimator written by :func:`estimator_to_dict`.

    Only classes of scikit-learn are imported; anything else is refused.

    Raises
    ------
    ValidationError
        A malformed entry or a class outside scikit-learn.
    """
    if not isinstance(data, dict) or not isinstance(data.get("class"), str):
        raise ValidationError("classifier entry must name its class", field="classifier")
    module_name, _, qualname = data["class"].partition(":")
    if not module_name.startswith("sklearn.") or not qualname:
        raise ValidationError(
            f"classifier class {data['class']!r} is not a scikit-learn class",
            field="classifier",
            value=data["class"],
        )
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValidationError(
            f"classifier class {data['class']!r} does not exist in this scikit-learn",
            field="classifier",
        ) from exc
    if not (isinstance(target, type) and issubclass(target, BaseEstimator)):
        raise ValidationError(
            f"{data['class']!r} is not a scikit-learn estimator", field="classifier"
        )
    params = data.get("params", {})
    state = data.get("state", {})
    if not isinstance(params, dict) or not isinstance(state, dict):
        raise ValidationError("classifier params and state must be objects", field="classifier")
    try:
        estimator = target(**{k: _decode(v, k) for k, v in params.items()})
    except TypeError as exc:
        raise ValidationError(f"classifier parameters do not fit {qualname}: {exc}") from exc
    for key, value in state.items():
        if not key.isidentifier() or key in params:
            raise ValidationError(f"classifier state has a bad name {key!r}", field="classifier")
        setattr(estimator, key, _decode(value, key))
    return estimator
