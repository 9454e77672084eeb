"""P(alive) over draws from per-distinct-value tables equals the direct kernel, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from crmcore.clv._bgfamily import _AliveTables, bg_alive_many


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 120, n).astype(np.float64)  # whole days: few distinct values
    x = np.where(rng.random(n) < 0.3, 0.0, rng.integers(1, 25, n).astype(np.float64))
    tx = np.where(x == 0, 0.0, np.floor(rng.random(n) * T))
    return x, tx, T


@pytest.mark.parametrize("s", [0, 1])  # BG/NBD, MBG/NBD
def test_alive_tables_equal_bg_alive_many_bit_for_bit(s):
    x, tx, T = _rows(3000, 11 + s)
    rng = np.random.default_rng(5)
    draws = np.exp(rng.normal(np.log([0.8, 12.0, 0.6, 3.0]), 0.2, (40, 4)))
    tables = _AliveTables.of(draws, x, tx, T, s, limit=500)
    assert tables is not None
    for ks in (slice(0, 3000), slice(17, 1234), slice(2999, 3000)):
        expected = bg_alive_many(draws, x[ks], tx[ks], T[ks], s)
        np.testing.assert_array_equal(tables.rows(ks), expected)
    if s == 0:  # BG/NBD: a customer without repeat purchases has not dropped out
        assert (tables.rows(slice(0, 3000))[:, x == 0] == 1.0).all()


def test_alive_tables_refused_when_values_are_mostly_distinct():
    x, tx, T = _rows(300, 3)
    T = T + np.random.default_rng(1).random(300)  # continuous ages
    draws = np.array([[0.8, 12.0, 0.6, 3.0]])
    assert _AliveTables.of(draws, x, tx, T, 0, limit=100) is None
