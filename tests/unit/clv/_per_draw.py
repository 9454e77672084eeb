"""Per-draw predictions through the public API, the reference for the all-draws bands."""

from __future__ import annotations

import numpy as np

from crmcore.clv import BaseModel, customer_lifetime_value


def _twin(model: BaseModel, theta: np.ndarray) -> BaseModel:
    """The same model with other parameter values (the public way: to_dict/from_dict)."""
    return type(model).from_dict(
        {**model.to_dict(), "params": dict(zip(model.params_, map(float, theta), strict=True))}
    )


def per_draw(model, quantity, rows, draws, spend, spend_draws) -> np.ndarray:
    """Each draw's prediction from the public query methods, one draw at a time."""
    out = []
    for th, sp in zip(draws, spend_draws, strict=True):
        twin = _twin(model, th)
        if quantity == "probability_alive":
            out.append(np.asarray(twin.probability_alive(rows)))
        elif quantity == "expected_purchases":
            out.append(np.asarray(twin.expected_purchases(13.0, rows)))
        else:
            value = customer_lifetime_value(
                twin,
                _twin(spend, sp),
                rows,
                horizon=6,
                time_unit=4.0,
                discount_rate=0.02,
                margin=0.3,
            )
            out.append(np.asarray(value))
    return np.array(out)
