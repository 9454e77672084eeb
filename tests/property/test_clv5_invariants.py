"""Property tests for the Pareto/NBD and BG/BB queries (STYLE.md invariants)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.clv._bgbb import BGBBKernels, bgbb_conditional_expectation, bgbb_probability_alive
from crmcore.clv._pareto_core import pnbd_loglik_rows
from crmcore.clv._pareto_predict import PNBDKernels, pnbd_probability_alive

positive = st.floats(min_value=0.05, max_value=50.0)


@st.composite
def pnbd_rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 8))
    T = np.array(draw(st.lists(st.floats(0.5, 100.0), min_size=n, max_size=n)))
    frac = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    x = np.array(draw(st.lists(st.integers(0, 400), min_size=n, max_size=n)), dtype=float)
    tx = np.where(x > 0, T * frac, 0.0)
    return x, tx, T


@settings(max_examples=60, deadline=None)
@given(r=positive, alpha=positive, s=positive, beta=positive, rows=pnbd_rows())
def test_pnbd_alive_in_unit_interval_and_expectation_monotone(
    r: float, alpha: float, s: float, beta: float, rows: tuple[np.ndarray, ...]
) -> None:
    th = np.array([r, alpha, s, beta])
    x, tx, T = rows
    ll = pnbd_loglik_rows(th, x, tx, T)
    assert np.all(np.isfinite(ll))
    alive = pnbd_probability_alive(th, x, tx, T)
    assert np.all((alive >= 0) & (alive <= 1))
    e1 = PNBDKernels().expected(th, x, tx, T, np.full(x.shape, 5.0))
    e2 = PNBDKernels().expected(th, x, tx, T, np.full(x.shape, 50.0))
    assert np.all(e2 >= e1 * (1 - 1e-12))


@settings(max_examples=40, deadline=None)
@given(r=positive, alpha=positive, s=positive, beta=positive, rows=pnbd_rows())
def test_pnbd_reordering_changes_nothing(
    r: float, alpha: float, s: float, beta: float, rows: tuple[np.ndarray, ...]
) -> None:
    th = np.array([r, alpha, s, beta])
    x, tx, T = rows
    perm = np.arange(x.size)[::-1]
    a = pnbd_probability_alive(th, x, tx, T)[perm]
    b = pnbd_probability_alive(th, x[perm], tx[perm], T[perm])
    np.testing.assert_allclose(a, b, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    a=positive,
    b=positive,
    g=positive,
    d=positive,
    n=st.integers(1, 30),
    data=st.data(),
)
def test_bgbb_alive_and_expectations(
    a: float, b: float, g: float, d: float, n: int, data: st.DataObject
) -> None:
    tx = data.draw(st.integers(0, n))
    x = 0 if tx == 0 else data.draw(st.integers(1, tx))
    th = np.array([a, b, g, d])
    arr = (np.array([float(x)]), np.array([float(tx)]), np.array([float(n)]))
    alive = bgbb_probability_alive(th, *arr)
    assert 0.0 <= alive[0] <= 1.0
    e1 = bgbb_conditional_expectation(th, *arr, np.array([1.0]))
    e9 = bgbb_conditional_expectation(th, *arr, np.array([9.0]))
    assert 0.0 <= e1[0] <= e9[0] <= 9.0 + 1e-9
    # The kernels' factorisation P(alive at n+1) x E[X | alive at n+1] is eq. 13.
    factored = BGBBKernels().expected(th, *arr, np.array([9.0]))
    np.testing.assert_allclose(factored, e9, rtol=1e-12)
