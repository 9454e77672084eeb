"""The bands' quantiles over draws are NumPy's default quantiles, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from crmcore.clv._bands import quantiles_over_draws


@pytest.mark.parametrize("n_draws", [1, 2, 3, 30, 49, 50, 200])
@pytest.mark.parametrize(
    "levels", [(0.05, 0.95), (0.025, 0.975), (0.0, 1.0), (0.5, 0.5), (0.005, 0.995)]
)
def test_quantiles_over_draws_equal_numpy_bit_for_bit(n_draws, levels):
    rng = np.random.default_rng(n_draws)
    block = rng.gamma(2.0, 3.0, (n_draws, 400))
    block[:, ::7] = np.round(block[:, ::7])  # ties
    block[:, ::19] = 0.0
    block[:, 3] = 5.0  # a column of one value
    block[0, ::11] = np.inf
    block[-1, ::13] = -np.inf
    block[n_draws // 2, ::17] = np.nan  # a column with a NaN gives NaN
    q = np.array(levels)
    with np.errstate(invalid="ignore"):  # inf - inf, as inside np.quantile
        expected = np.quantile(block, q, axis=0)
        got = quantiles_over_draws(block, q)
    np.testing.assert_array_equal(got, expected)  # NaN where NaN
    assert np.array_equal(np.signbit(got), np.signbit(expected))
    assert np.isnan(got[:, 17]).all() == (n_draws > 0)
