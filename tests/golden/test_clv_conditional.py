"""Conditional purchase distributions and future P(alive) against high-precision references.

Each reference is computed with mpmath (30 digits) from the models'
*definitions*, by a route that shares no algebra with crmcore's kernels:

- BG/NBD, MBG/NBD: the joint probability of the history and of ``n`` future
  purchases, integrated over the dropout probability ``p`` by quadrature (the
  purchase rate integrated in closed form), divided by the likelihood. No
  posterior, no P(alive) factorisation, no incomplete beta function.
- Pareto/NBD: the same for the Pareto/NBD, integrated over the death time.
- BG/BB: enumeration of the latent number of alive opportunities (as the
  P(alive) golden test does), with beta-binomial purchase patterns.

Published anchors: FHL (2005) CDNOW estimates, FH (2005) Pareto/NBD CDNOW
estimates, FHS (2010) donations estimates.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from crmcore.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, CDNOW, weeks
PNBD = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}  # FH 2005, CDNOW, weeks
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}  # FHS 2010
HISTORIES = [(0, 0.0, 38.86), (2, 30.43, 38.86), (7, 35.0, 38.0), (25, 38.0, 39.0), (1, 2.0, 30.0)]


def _nbd_given_p(r: mp.mpf, alpha: mp.mpf, x: int, tx: float, T: float, t: float, n: int, s: int):
    """Joint density of history (x, t_x, T) and n purchases in (T, T+t], given p.

    λ ~ Gamma(r, α) is integrated in closed form: ∫ λ^k e^{-λ u} dGamma = Γ(r+k)/Γ(r)
    α^r / (α+u)^(r+k). The customer drops out after a repeat purchase with
    probability p (s = 1: also at time 0).
    """

    def lam(k: int, u: mp.mpf) -> mp.mpf:  # E_λ[λ^k e^{-λu}]
        return mp.gamma(r + k) / mp.gamma(r) * alpha**r / (alpha + u) ** (r + k)

    def f(p: mp.mpf) -> mp.mpf:
        q = 1 - p
        tx_, T_, t_ = mp.mpf(tx), mp.mpf(T), mp.mpf(t)
        total = mp.mpf(0)
        # Dead before T: after the x-th repeat purchase (at t_x); x > 0 or s == 1.
        if n == 0 and (x > 0 or s == 1):
            total += p * q ** (x - 1 + s) * lam(x, tx_)
        # Alive at T: x purchases in (0, T], none of them followed by a dropout.
        alive = q ** (x + s)

        # Then in (T, T+t]: j arrivals of the process; the customer buys
        # min(j, K) of them, dropping after a purchase with probability p.
        # n purchases: j == n and no drop after any, or j >= n and a drop at the n-th.
        # E_λ[λ^x e^{-λT} P(N(t) = j)] = E_λ[λ^(x+j) e^{-λ(T+t)}] t^j / j!
        def arrivals(j: int) -> mp.mpf:
            return lam(x + j, T_ + t_) * t_**j / mp.factorial(j)

        future = q**n * arrivals(n)
        if n >= 1:
            # P(N >= n) = 1 - sum_{j<n} P(N = j), with E_λ[λ^x e^{-λT}] for the total
            tail = lam(x, T_) - mp.fsum(arrivals(j) for j in range(n))
            future += p * q ** (n - 1) * tail
        total += alive * future
        return total

    return f


def _bg_reference(p: dict, x: int, tx: float, T: float, t: float, n: int, s: int) -> float:
    r, alpha, a, b = (mp.mpf(p[k]) for k in ("r", "alpha", "a", "b"))
    beta_pdf = lambda u: u ** (a - 1) * (1 - u) ** (b - 1) / mp.beta(a, b)  # noqa: E731
    given_p = _nbd_given_p(r, alpha, x, tx, T, t, n, s)
    joint = mp.quad(lambda u: given_p(u) * beta_pdf(u), [0, 1])
    # The likelihood: the history's density with any future (sum over all n).
    g_all = _nbd_given_p(r, alpha, x, tx, T, 0.0, 0, s)
    like = mp.quad(lambda u: g_all(u) * beta_pdf(u), [0, 1])
    return float(joint / like)


@pytest.mark.parametrize(("cls", "s"), [(BetaGeoModel, 0), (ModifiedBetaGeoModel, 1)])
@pytest.mark.parametrize(("x", "tx", "T"), HISTORIES)
def test_bg_conditional_pmf_matches_the_joint_over_the_likelihood(cls, s, x, tx, T) -> None:
    mp.mp.dps = 30
    model = cls.from_params(**BG)
    history = np.array([[x, tx, T]])
    for n in (0, 1, 3):
        got = float(model.conditional_probability_of_purchases(n, 26.0, history)[0])
        want = _bg_reference(BG, x, tx, T, 26.0, n, s)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-15), (n, got, want)


def _bg_alive_reference(p: dict, x: int, tx: float, T: float, t: float, s: int) -> float:
    """P(alive at T+t | history): E over p and λ of alive at T and no drop in (T, T+t]."""
    r, alpha, a, b = (mp.mpf(p[k]) for k in ("r", "alpha", "a", "b"))

    def lam(k: int, u: mp.mpf) -> mp.mpf:
        return mp.gamma(r + k) / mp.gamma(r) * alpha**r / (alpha + u) ** (r + k)

    def alive_then(u: mp.mpf) -> mp.mpf:  # given p = u: alive at T, survive (T, T+t]
        # E_λ[λ^x e^{-λT} e^{-λ p t}]: the future Poisson arrivals each survived w.p. 1-p.
        return (1 - u) ** (x + s) * lam(x, T + u * t)

    g_all = _nbd_given_p(r, alpha, x, tx, T, 0.0, 0, s)
    pdf = lambda u: u ** (a - 1) * (1 - u) ** (b - 1) / mp.beta(a, b)  # noqa: E731
    num = mp.quad(lambda u: alive_then(u) * pdf(u), [0, 1])
    return float(num / mp.quad(lambda u: g_all(u) * pdf(u), [0, 1]))


@pytest.mark.parametrize(("cls", "s"), [(BetaGeoModel, 0), (ModifiedBetaGeoModel, 1)])
@pytest.mark.parametrize(("x", "tx", "T"), HISTORIES)
def test_bg_future_probability_alive(cls, s, x, tx, T) -> None:
    mp.mp.dps = 30
    model = cls.from_params(**BG)
    history = np.array([[x, tx, T]])
    for t in (0.0, 5.0, 52.0, 500.0):
        got = float(model.probability_alive(history, t=t)[0])
        want = _bg_alive_reference(BG, x, tx, T, t, s)
        assert got == pytest.approx(want, rel=1e-10), (t, got, want)


def _pnbd_reference(p: dict, x: int, tx: float, T: float, t: float, n: int) -> float:
    """Joint of history and n purchases in (T, T+t], integrated over the death time τ."""
    r, alpha, s, beta = (mp.mpf(p[k]) for k in ("r", "alpha", "s", "beta"))
    tx_, T_, t_ = mp.mpf(tx), mp.mpf(T), mp.mpf(t)

    def lam(k: int, u: mp.mpf) -> mp.mpf:
        return mp.gamma(r + k) / mp.gamma(r) * alpha**r / (alpha + u) ** (r + k)

    def death(tau: mp.mpf) -> mp.mpf:  # density of τ ~ Exp(μ), μ ~ Gamma(s, β)
        return s * beta**s / (beta + tau) ** (s + 1)

    def survive(u: mp.mpf) -> mp.mpf:
        return (beta / (beta + u)) ** s

    # Died in (t_x, T): no future purchase.
    joint = mp.mpf(0)
    if n == 0:
        joint += mp.quad(lambda tau: death(tau) * lam(x, tau), [tx_, T_]) if tx_ < T_ else 0

    # Alive at T, dies at τ in (T, T+t) or after: n arrivals in (T, min(τ, T+t)].
    def arrivals(u: mp.mpf) -> mp.mpf:
        return lam(x + n, T_ + u) * u**n / mp.factorial(n)

    joint += mp.quad(lambda tau: death(tau) * arrivals(tau - T_), [T_, T_ + t_])
    joint += survive(T_ + t_) * arrivals(t_)
    like = survive(T_) * lam(x, T_)
    if tx_ < T_:
        like += mp.quad(lambda tau: death(tau) * lam(x, tau), [tx_, T_])
    return float(joint / like)


@pytest.mark.parametrize(("x", "tx", "T"), HISTORIES)
def test_pareto_conditional_pmf_and_future_alive(x, tx, T) -> None:
    mp.mp.dps = 30
    model = ParetoNBDModel.from_params(**PNBD)
    history = np.array([[x, tx, T]])
    for n in (0, 1, 4):
        got = float(model.conditional_probability_of_purchases(n, 26.0, history)[0])
        want = _pnbd_reference(PNBD, x, tx, T, 26.0, n)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-15), (n, got, want)
    # alive at T+t: ((β+T)/(β+T+t))^s times P(alive)
    alive = float(model.probability_alive(history)[0])
    later = float(model.probability_alive(history, t=26.0)[0])
    b, s = PNBD["beta"], PNBD["s"]
    assert later == pytest.approx(alive * ((b + T) / (b + T + 26.0)) ** s, rel=1e-13)


def _bgbb_joint(p: dict, x: int, tx: int, n: int, m: int, k: int | None) -> mp.mpf:
    """Joint probability of the history and k transactions at n+1..n+m (None: any).

    Enumerates the number j of opportunities at which the customer is alive
    (dies at the start of j+1, or alive through n+m); FHS 2010 section 2.
    """
    a, b, g, d = (mp.mpf(p[q]) for q in ("alpha", "beta", "gamma", "delta"))
    total = mp.mpf(0)
    for j in range(tx, n + m + 1):
        pj = (
            mp.beta(g, d + n + m) / mp.beta(g, d)
            if j == n + m
            else mp.beta(g + 1, d + j) / mp.beta(g, d)
        )
        seen = min(j, n)
        later = max(0, j - n)
        for kk in range(later + 1) if k is None else [k]:
            if kk > later:
                continue
            pattern = mp.binomial(later, kk) * mp.beta(a + x + kk, b + seen - x + later - kk)
            total += pj * pattern / mp.beta(a, b)
    return total


@pytest.mark.parametrize(("x", "tx"), [(0, 0), (1, 1), (2, 5), (4, 6), (6, 6)])
def test_bgbb_conditional_pmf_and_future_alive(x, tx) -> None:
    mp.mp.dps = 30
    model = BetaGeoBetaBinomModel.from_params(**BGBB)
    history = np.array([[x, tx, 6]])
    like = _bgbb_joint(BGBB, x, tx, 6, 0, None)
    for m in (1, 5):
        for k in range(m + 1):
            got = float(model.conditional_probability_of_purchases(k, m, history)[0])
            want = float(_bgbb_joint(BGBB, x, tx, 6, m, k) / like)
            assert got == pytest.approx(want, rel=1e-10, abs=1e-15), (m, k, got, want)
    assert float(model.conditional_probability_of_purchases(3, 2, history)[0]) == 0.0
    # alive at opportunity 7 + 4 = n + 1 + m: alive through 11 opportunities
    a, b, g, d = (mp.mpf(BGBB[q]) for q in ("alpha", "beta", "gamma", "delta"))
    pattern = mp.beta(a + x, b + 6 - x) / mp.beta(a, b)
    want = float(mp.beta(g, d + 11) / mp.beta(g, d) * pattern / like)
    assert float(model.probability_alive(history, n=4)[0]) == pytest.approx(want, rel=1e-12)


def test_bgbb_probability_of_purchases_of_a_new_customer() -> None:
    # P(X(n) = x) (FHS 2010) against the enumeration with an empty history.
    mp.mp.dps = 30
    model = BetaGeoBetaBinomModel.from_params(**BGBB)
    got = model.probability_of_purchases(np.arange(7), 6)
    want = [float(_bgbb_joint(BGBB, 0, 0, 0, 6, k)) for k in range(7)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert model.probability_of_purchases(7, 6) == 0.0
