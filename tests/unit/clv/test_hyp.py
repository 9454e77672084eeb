"""The BG/NBD hypergeometric term against mpmath at extreme arguments."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from crmcore.clv._hyp import bg_h


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
