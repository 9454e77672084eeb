from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BetaGeoModel,
    calibration_holdout_split,
    evaluate_holdout,
    simulate_transactions,
)
from crmcore.errors import NotFittedError, ValidationError


@pytest.fixture(scope="module")
def split() -> pd.DataFrame:
    log = simulate_transactions(
        5000,
        r=0.6,
        alpha=40.0,
        a=0.8,
        b=2.5,
        start="2023-01-01",
        periods=365,
        acquisition_periods=90,
        random_state=12,
    )
    return calibration_holdout_split(log, as_of="2023-08-31", holdout_end="2023-12-31")


def test_evaluate_holdout(split: pd.DataFrame) -> None:
    model = BetaGeoModel().fit(split)
    result = evaluate_holdout(model, split)
    per = result.per_customer
    assert per.index.equals(split.index)
    np.testing.assert_array_equal(per["actual"], split["frequency_holdout"])
    assert per["actual"].dtype == np.int64  # counts are ints
    assert isinstance(result.actual_total, int)
    assert result.actual_total == int(split["frequency_holdout"].sum())
    np.testing.assert_allclose(
        per["predicted"], model.expected_purchases(122.0, split).to_numpy(), rtol=1e-12
    )
    err = per["predicted"] - per["actual"]
    assert result.mae == pytest.approx(np.abs(err).mean(), rel=1e-12)
    assert result.rmse == pytest.approx(np.sqrt((err**2).mean()), rel=1e-12)
    assert result.bias == pytest.approx(err.mean(), rel=1e-12, abs=1e-12)
    # A correctly specified model predicts the aggregate well.
    assert result.predicted_total == pytest.approx(result.actual_total, rel=0.1)
    table = result.by_frequency
    assert table["n_customers"].sum() == len(split)
    assert list(table.columns) == ["n_customers", "actual", "predicted"]


def test_evaluate_holdout_refuses_bad_input(split: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError):
        evaluate_holdout(BetaGeoModel(), split)
    model = BetaGeoModel().fit(split)
    with pytest.raises(ValidationError, match="frequency_holdout"):
        evaluate_holdout(model, split.drop(columns="frequency_holdout"))
    with pytest.raises(ValidationError, match="model"):
        evaluate_holdout("bgnbd", split)  # type: ignore[arg-type]
