"""The JSON envelope shared by the churn models' ``to_dict`` / ``from_dict``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from crmcore.errors import ValidationError

__all__ = ["read_params", "read_state"]


def read_state(state: Any, kind: str, version: int) -> Mapping[str, Any]:
    """Check the envelope of a saved model; return its ``fitted`` part.

    Raises
    ------
    ValidationError
        ``state`` is not a mapping describing a ``kind`` of this schema
        version, or lacks ``params`` or ``fitted``.
    """
    if not isinstance(state, Mapping) or state.get("model") != kind:
        found = state.get("model") if isinstance(state, Mapping) else type(state).__name__
        raise ValidationError(f"not a saved {kind} (found {found!r})", field="model")
    if state.get("schema_version") != version:
        raise ValidationError(
            f"a saved {kind} of schema version {state.get('schema_version')!r} cannot be read "
            f"by this crmcore (it reads version {version}); refit and save it again",
            field="schema_version",
        )
    for key in ("params", "fitted"):
        if not isinstance(state.get(key), Mapping):
            raise ValidationError(f"incomplete saved {kind}: {key!r} is missing", field=key)
    fitted: Mapping[str, Any] = state["fitted"]
    return fitted


def read_params(state: Mapping[str, Any], cls: type) -> dict[str, Any]:
    """Return the saved hyper-parameters, refusing names the estimator does not take.

    Raises
    ------
    ValidationError
        A parameter ``cls`` does not know.
    """
    params = dict(state["params"])
    known = set(inspect.signature(cls.__init__).parameters) - {"self"}  # type: ignore[misc]
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValidationError(
            f"saved {cls.__name__} has unknown parameter(s) {', '.join(unknown)}",
            field="params",
        )
    return params
