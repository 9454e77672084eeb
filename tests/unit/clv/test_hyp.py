"""The BG/NBD hypergeometric term against mpmath at extreme arguments."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from crmcore.clv._hyp import _series, bg_h


def _reference(r: float, a: float, b: float, x: int, z: float) -> float:
    mp.mp.dps = 60
    r_, a_, b_, z_ = mp.mpf(r), mp.mpf(a), mp.mpf(b), mp.mpf(z)
    val = 1 - (1 - z_) ** (r_ + x) * mp.hyp2f1(r_ + x, b_ + x, a_ + b_ + x - 1, z_)
    return float(val / (a_ - 1))


@pytest.mark.parametrize(
    ("r", "a", "b", "x", "z"),
    [
        (0.243, 0.793, 2.426, 2, 0.5),
        (0.243, 0.793, 2.426, 500, 0.95),  # large frequency
        (0.243, 0.793, 2.426, 2000, 0.9995),  # large frequency, long horizon
        (2.0, 1.0 + 1e-7, 3.0, 5, 0.3),  # a -> 1
        (2.0, 1.0 - 1e-7, 3.0, 5, 0.99),  # a -> 1, z near 1
        (0.5, 3.0, 5.0, 0, 0.999),
        (0.5, 0.2, 0.1, 50, 0.9),
        (1.5, 5.0, 0.5, 3000, 0.99999),
        (0.243, 0.793, 2.426, 0, 1e-12),  # tiny horizon
        (30.0, 40.0, 80.0, 10, 0.6),  # large parameters
        (0.5, 0.5, 0.5, 98, 0.909),  # SciPy's hyp2f1 returns inf on the transformed form
        (0.3, 0.5, 0.4, 3, 0.97),  # SciPy region (z > 0.9, small C)
    ],
)
def test_bg_h_against_mpmath(r: float, a: float, b: float, x: int, z: float) -> None:
    got = bg_h(np.array([a + b - 1 - r]), a - 1, np.array([a + b + x - 1.0]), np.array([z]))[0]
    assert got == pytest.approx(_reference(r, a, b, x, z), rel=1e-10)


def test_bg_h_exact_limit_at_a_equal_one() -> None:
    r, a, b, x, z = 0.7, 1.0, 2.0, 3, 0.4
    at_one = bg_h(np.array([a + b - 1 - r]), 0.0, np.array([a + b + x - 1.0]), np.array([z]))[0]
    near = _reference(r, 1 + 1e-12, b, x, z)
    assert at_one == pytest.approx(near, rel=1e-9)


def _series_one_at_a_time(A: float, am1: float, C: float, z: float) -> float:
    """The series ``S`` summed for one element: the reference order of operations."""
    term = A / C * z
    total = term
    if term == 0:
        return total
    for k in range(1, 2000):
        term = term * ((A + k) * (am1 + k) / ((C + k) * (k + 1)))
        term *= z
        total += term
        if abs(term) <= 1e-17 * abs(total):
            break
    return total


@pytest.mark.parametrize("one_draw", [False, True])
def test_series_on_many_elements_is_the_same_sum_as_one_at_a_time(one_draw: bool) -> None:
    # elements converge at very different terms (z from 0 to 0.9, C from 0.2 to 80),
    # so the vectorised sum freezes and drops them in many rounds: every element
    # must still get exactly its own terms (bit for bit, not approximately);
    # one draw's elements share A (the numerator is then taken once per term)
    rng = np.random.default_rng(7)
    n = 400
    A = np.full(n, 1.37) if one_draw else rng.uniform(-0.5, 3.0, n)
    am1 = np.full(n, -0.6)
    C = rng.uniform(0.2, 80.0, n)
    z = rng.uniform(0.0, 0.9, n)
    z[:5] = 0.0
    got = _series(A, am1, C, z)
    expected = [_series_one_at_a_time(*v) for v in zip(A, am1, C, z, strict=True)]
    np.testing.assert_array_equal(got, np.array(expected))
