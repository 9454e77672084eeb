"""JSON state of a fitted CLV model: what :meth:`BaseModel.to_dict` writes and reads.

The state is plain JSON (never pickle): model name, schema version,
hyper-parameters, parameters, log-likelihood, convergence, counts and the
covariance of the log-parameters (``None`` where undefined). Reading checks
every value before converting it: ``float("nan")``, ``float("2")``,
``bool("false")`` or ``int(2.7)`` would otherwise slip through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from crmcore._types import FloatArray
from crmcore._validation import check_scalar
from crmcore.errors import SchemaVersionError, ValidationError

__all__ = ["SCHEMA_VERSION", "SavedState", "read_state", "write_state"]

SCHEMA_VERSION = 1

_KEYS = (
    "hyper_parameters",
    "params",
    "log_likelihood",
    "converged",
    "n_iter",
    "n_customers",
    "covariance_log",
)


@dataclass(frozen=True)
class SavedState:
    """The validated content of a saved model."""

    hyper_parameters: dict[str, Any]
    params: dict[str, float]
    log_likelihood: float
    converged: bool
    n_iter: int
    n_customers: int
    covariance_log: FloatArray


def write_state(model: Any) -> dict[str, Any]:
    """Return the JSON-serialisable state of a fitted model."""
    hyper = model.get_params()
    if hyper.get("initial_params") is not None:
        hyper["initial_params"] = {k: float(v) for k, v in hyper["initial_params"].items()}
    return {
        "model": type(model).__name__,
        "schema_version": SCHEMA_VERSION,
        "hyper_parameters": hyper,
        "params": dict(model.params_),
        # None: not fitted (from_params), so no likelihood was maximised
        "log_likelihood": model.log_likelihood_ if np.isfinite(model.log_likelihood_) else None,
        "converged": model.converged_,
        "n_iter": model.n_iter_,
        "n_customers": model.n_customers_,
        "covariance_log": [
            [None if not np.isfinite(v) else float(v) for v in row]
            for row in model.covariance_log_.to_numpy()
        ],
    }


def read_state(model: str, param_names: tuple[str, ...], state: Any) -> SavedState:
    """Check a saved state of the model named ``model`` and return its content.

    Raises
    ------
    ValidationError
        If ``state`` describes another model, is incomplete, or holds a
        value of the wrong kind.
    SchemaVersionError
        If it was written by an incompatible schema version.
    """
    if not isinstance(state, Mapping):
        raise ValidationError(
            f"state must be a mapping (to_dict output); got {type(state).__name__}",
            field="state",
        )
    if state.get("model") != model:
        raise ValidationError(
            f"state describes a {state.get('model')!r}, not a {model}", field="model"
        )
    if state.get("schema_version") != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"unsupported {model} schema version {state.get('schema_version')!r}",
            found=state.get("schema_version"),
            expected=SCHEMA_VERSION,
        )
    missing = [key for key in _KEYS if key not in state]
    if missing:
        raise ValidationError(
            f"incomplete {model} state: missing {', '.join(missing)}", field="state"
        )
    hyper, raw_params = state["hyper_parameters"], state["params"]
    if not isinstance(hyper, Mapping):
        raise ValidationError("hyper_parameters must be a mapping", field="hyper_parameters")
    if not isinstance(raw_params, Mapping) or any(p not in raw_params for p in param_names):
        raise ValidationError(
            f"params must map each of {', '.join(param_names)} to a number",
            field="params",
        )
    params = {
        name: check_scalar(
            raw_params[name], name=f"params[{name!r}]", low=0.0, low_inclusive=False
        )
        for name in param_names
    }
    if not isinstance(state["converged"], bool | np.bool_):
        raise ValidationError(
            f"converged must be true or false; got {state['converged']!r}",
            field="converged",
            value=state["converged"],
        )
    return SavedState(
        hyper_parameters=dict(hyper),
        params=params,
        log_likelihood=(
            np.nan
            if state["log_likelihood"] is None
            else check_scalar(state["log_likelihood"], name="log_likelihood")
        ),
        converged=bool(state["converged"]),
        n_iter=int(check_scalar(state["n_iter"], name="n_iter", low=0, integer=True)),
        # int: schema 1 files written before counts were ints hold e.g. 946.0
        n_customers=int(
            check_scalar(state["n_customers"], name="n_customers", low=0, integer=True)
        ),
        covariance_log=_read_covariance(len(param_names), state["covariance_log"]),
    )


def _read_covariance(k: int, rows: Any) -> FloatArray:
    """Read a k x k list of lists of numbers or ``None`` (undefined) as an array."""
    if not (
        isinstance(rows, list | tuple)
        and len(rows) == k
        and all(isinstance(row, list | tuple) and len(row) == k for row in rows)
    ):
        raise ValidationError(
            f"covariance_log must be a {k} x {k} list of lists", field="covariance_log"
        )
    return np.array(
        [
            [
                np.nan if v is None else check_scalar(v, name=f"covariance_log[{i}][{j}]")
                for j, v in enumerate(row)
            ]
            for i, row in enumerate(rows)
        ],
        dtype=np.float64,
    )
