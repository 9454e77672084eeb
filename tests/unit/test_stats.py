"""The shared interval arithmetic (``crmcore._stats``), against published values."""

from __future__ import annotations

import numpy as np
import pytest

from crmcore._stats import newcombe_interval, wilson_interval, z_value

# Newcombe (1998), Statistics in Medicine 17, 873-890, Table II, method 10
# (hybrid score interval), 95 %: the eight worked examples (a)-(h), to the
# four decimals printed there.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_matches_table_ii(counts, expected):
    a, na, b, nb = (np.array([float(v)]) for v in counts)
    low, high = newcombe_interval(a, na, b, nb, z_value(0.95))
    np.testing.assert_allclose([low[0], high[0]], expected, atol=5e-5, rtol=0)


def test_wilson_matches_newcombe_1998_table_i():
    # Newcombe (1998b, Statistics in Medicine 17, 857-872), Table I, method 3
    # (score): 81/263, 15/148, 0/20, 1/29.
    low, high = wilson_interval(
        np.array([81.0, 15.0, 0.0, 1.0]), np.array([263.0, 148.0, 20.0, 29.0]), z_value(0.95)
    )
    np.testing.assert_allclose(low, [0.2553, 0.0624, 0.0, 0.0061], atol=5e-5, rtol=0)
    np.testing.assert_allclose(high, [0.3662, 0.1605, 0.1611, 0.1718], atol=5e-5, rtol=0)
