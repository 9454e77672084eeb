"""Prediction kernels: what a model of the purchase process computes, declared by the model.

Every per-customer query of a buy-till-you-die model factors into the
probability that the customer is alive at the end of observation, which
depends on the whole history ``(x, t_x, T)``, and a part *given alive*,
which depends on the history only through ``(x, T)`` (the posterior of the
purchase and dropout processes of an alive customer) and on the horizon:

    E[Y(t) | x, t_x, T]         = P(alive) · E[Y(t) | alive, x, T]
    P(Y(t) = n | x, t_x, T)     = [1 - P(alive)] · 1{n = 0} + P(alive) · P(Y(t) = n | alive, x, T)
    P(alive at T + t | ...)     = P(alive) · P(alive at T + t | alive at T, x, T)
    discounted purchases        = P(alive) · Σ_i d_i [E[Y(t_i) | alive] - E[Y(t_{i-1}) | alive]]

(BG/NBD: Fader, Hardie & Lee 2005, eq. 10; Pareto/NBD: Fader & Hardie 2005,
eq. 21; BG/BB: Fader, Hardie & Shang 2010, eq. 13, with ``T`` the number of
opportunities ``n`` and "alive" meaning alive at opportunity ``n + 1``).

A model declares its pieces as a class-level :class:`PurchaseKernels`
instance (``BetaGeoModel.kernels`` ...); the query methods, the CLV,
:func:`~crmcore.clv.predict_interval` and its bands compose them here, so no
caller asks which model it holds. The spend model declares
:class:`SpendKernels` likewise. Everything is pure: parameters come in as
arrays in the model's parameter order.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmcore._types import ArrayLike, BoolArray, FloatArray, IntArray
from crmcore._validation import check_scalar
from crmcore.clv._blas import matvec
from crmcore.clv._compress import unique_rows
from crmcore.clv._data import Summary, per_customer_values, read_summary
from crmcore.errors import NotFittedError, ValidationError

__all__ = [
    "Discounting",
    "PurchaseKernels",
    "SpendKernels",
    "SpendSource",
    "fitted_params",
    "purchase_kernels",
    "spend_kernels",
    "spend_source",
]

# Bound on the cells of one (pairs × periods) block of the discounting grid.
_GRID_CELLS = 1 << 21
_NEGLIGIBLE = 1e-18  # share of a CLV below which far discounted periods are dropped
_MAX_PERIODS = 1_000_000  # periods a schedule may evaluate (each a column of the grid)

AliveDraws = Callable[[slice], FloatArray]
"""``f(keys) -> (draws, len(keys))``: P(alive) of a slice of rows for every draw."""


@dataclass(frozen=True)
class Discounting:
    """The discounting schedule of a lifetime value, in the model's time units.

    ``CLV = margin × E[spend] × Σ_{i=1..H} (E[Y(i u)] - E[Y((i-1) u)]) / (1 + d)^i``:
    cash flows are discounted at the end of the period in which they fall
    (Fader, Hardie & Lee 2005, "RFM and CLV", discrete-time form).

    Attributes
    ----------
    times : ndarray
        Period ends ``u, 2u, ..., H u``.
    factors : ndarray
        Discount factors ``(1 + d)^-i``.
    margin : float
        Share of revenue that is profit.
    """

    times: FloatArray
    factors: FloatArray
    margin: float

    @classmethod
    def build(
        cls, *, horizon: int, time_unit: float, discount_rate: float, margin: float
    ) -> Discounting:
        """Validate the arguments of a CLV and lay out its periods.

        Raises
        ------
        ValidationError
            For a horizon below 1 or not whole, a time unit <= 0, a
            negative discount rate or margin, or more than 1,000,000 periods
            left to evaluate once those whose discount factors are negligible
            (together below 1e-18 of the value) are dropped.
        """
        H = int(check_scalar(horizon, name="horizon", low=1, integer=True))
        u = check_scalar(time_unit, name="time_unit", low=0, low_inclusive=False)
        d = check_scalar(discount_rate, name="discount_rate", low=0)
        mg = check_scalar(margin, name="margin", low=0)
        if d > 0:
            # Expected purchases per period never increase (the purchase rate of
            # an alive customer falls as dropout accrues), so the periods whose
            # factors sum below _NEGLIGIBLE of the first one's cannot change the
            # value: (1+d)^-i / d <= _NEGLIGIBLE from i = ln(1/(d ε)) / ln(1+d).
            last = math.ceil(math.log(1.0 / (d * _NEGLIGIBLE)) / math.log1p(d))
            H = min(H, max(last, 1))
        if H > _MAX_PERIODS:
            raise ValidationError(
                f"horizon = {horizon} periods at discount_rate = {d:g} leaves {H:,} periods "
                f"to evaluate; at most {_MAX_PERIODS:,} are (a longer time_unit, or a "
                "discount rate that makes far periods negligible, shortens the schedule)",
                field="horizon",
                value=horizon,
            )
        periods = np.arange(1, H + 1, dtype=np.float64)
        return cls(periods * u, (1.0 + d) ** -periods, mg)

    def value(self, purchases: FloatArray, spend: FloatArray | float) -> FloatArray:
        """Return the lifetime value from discounted purchases and the spend per purchase.

        The one place where a CLV is formed (the point prediction and every
        parameter draw of :func:`~crmcore.clv.predict_interval` alike).
        """
        return np.asarray(self.margin * spend * purchases, dtype=np.float64)


class PurchaseKernels(ABC):
    """The prediction kernels of a model of the purchase process.

    Subclasses implement the parts given alive (:meth:`alive`,
    :meth:`expected_if_alive`, ...); this class composes them into the
    per-customer queries (see the module notes). ``x, tx, T`` are the
    summary columns named by :attr:`columns` (BG/BB: frequency, recency,
    ``n_periods``).
    """

    columns: tuple[str, str, str] = ("frequency", "recency", "T")
    discrete: bool = False
    """Whether horizons count whole opportunities (BG/BB) rather than time."""

    # --------------------------------------------------------- declared parts
    def read(self, data: pd.DataFrame | ArrayLike, extra: tuple[str, ...] = ()) -> Summary:
        """Validate a summary: the kernel's :attr:`columns`, then ``extra`` (array order).

        Subclasses add their model's checks in :meth:`check`.
        """
        summary = read_summary(data, (*self.columns, *extra))
        self.check(summary)
        return summary

    def check(self, summary: Summary) -> None:  # noqa: B027 - an optional hook, not abstract
        """Run the model-specific checks of a summary read by :meth:`read` (default: none)."""

    @abstractmethod
    def alive(self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """P(alive at the end of observation | x, t_x, T), per row."""

    @abstractmethod
    def expected_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        """E[Y(t) | alive at T, x, T] (broadcast over the arguments)."""

    @abstractmethod
    def survival_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        """P(alive at T+t | alive at T, x, T) (broadcast over the arguments)."""

    @abstractmethod
    def pmf_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray, n_max: int
    ) -> FloatArray:
        """P(Y(t) = n | alive at T, x, T) for ``n = 0..n_max``: ``(rows, n_max + 1)``."""

    @abstractmethod
    def sample_future(
        self,
        theta: FloatArray,
        x: FloatArray,
        tx: FloatArray,
        T: FloatArray,
        *,
        span: float,
        rng: np.random.Generator,
    ) -> tuple[IntArray, FloatArray]:
        """Simulate one future per row: the purchases in ``(T, T + span]``.

        Alive with probability P(alive), then the purchase and dropout
        processes under the posterior of an alive customer. Returns the row
        of each purchase and its time after ``T`` (BG/BB: the opportunity,
        1..span).
        """

    @abstractmethod
    def expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        """E[X(t)]: expected repeat purchases of a new customer by ``t``."""

    @abstractmethod
    def pmf_new(self, theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        """P(X(t) = n) for a new customer (broadcast over ``n`` and ``t``)."""

    def alive_draws(
        self,
        draws: FloatArray,
        x: FloatArray,
        tx: FloatArray,
        T: FloatArray,
        *,
        chunk: int,
    ) -> AliveDraws:
        """P(alive) for many parameter vectors, a slice of the rows at a time.

        The default evaluates :meth:`alive` once per draw; models override it
        with an all-draws-at-once version. ``chunk`` bounds the rows of one
        slice (so a model may precompute tables once when they fit it).
        """

        def rows(ks: slice) -> FloatArray:
            return np.stack([self.alive(th, x[ks], tx[ks], T[ks]) for th in draws])

        return rows

    # ------------------------------------------------------------ composed
    def expected(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T] = P(alive) · E[Y(t) | alive, x, T], per row.

        The part given alive is evaluated once per distinct ``(x, T, t)``.
        """
        x, tx, T, t = np.broadcast_arrays(x, tx, T, t)
        (xf, Tf, tf), inv = unique_rows(x.ravel(), T.ravel(), t.ravel())
        k = self.expected_if_alive(theta, xf, Tf, tf)[inv].reshape(x.shape)
        return np.asarray(k * self.alive(theta, x, tx, T), dtype=np.float64)

    def alive_at(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        """P(alive at T+t | x, t_x, T) = P(alive) · P(alive at T+t | alive at T), per row."""
        (xf, Tf, tf), inv = unique_rows(x, T, t)
        part = self.survival_if_alive(theta, xf, Tf, tf)[inv]
        return np.asarray(part * self.alive(theta, x, tx, T), dtype=np.float64)

    def pmf(
        self,
        theta: FloatArray,
        x: FloatArray,
        tx: FloatArray,
        T: FloatArray,
        t: FloatArray,
        *,
        n_max: int,
    ) -> FloatArray:
        """P(Y(t) = n | x, t_x, T) for ``n = 0..n_max``: ``(rows, n_max + 1)``.

        ``[1 - P(alive)] 1{n = 0} + P(alive) P(Y(t) = n | alive)``; the part
        given alive is evaluated once per distinct ``(x, T, t)``.
        """
        (xf, Tf, tf), inv = unique_rows(x, T, t)
        table = self.pmf_if_alive(theta, xf, Tf, tf, n_max)[inv]
        alive = self.alive(theta, x, tx, T)
        table *= alive[:, None]
        table[:, 0] += 1.0 - alive
        return np.asarray(table, dtype=np.float64)

    def discounted_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, schedule: Discounting
    ) -> FloatArray:
        """``Σ_i d_i [E[Y(t_i) | alive] - E[Y(t_{i-1}) | alive]]`` per ``(x, T)`` row.

        The period grid is one 2-D array operation over blocks of at most
        ``_GRID_CELLS`` cells (bounded memory for long horizons).
        """
        times, factors = schedule.times, schedule.factors
        if factors[-1] == 1.0:
            # No discounting: the increments telescope to E[Y(H u) | alive].
            return np.asarray(
                self.expected_if_alive(theta, x, T, np.full(x.shape, times[-1])),
                dtype=np.float64,
            )
        out = np.empty(x.size)
        step = max(1, _GRID_CELLS // max(1, times.size))
        for lo in range(0, x.size, step):
            hi = min(lo + step, x.size)
            grid = self.expected_if_alive(theta, x[lo:hi, None], T[lo:hi, None], times[None, :])
            out[lo:hi] = matvec(np.diff(grid, axis=1, prepend=0.0), factors)
        return out

    def discounted(
        self,
        theta: FloatArray,
        x: FloatArray,
        tx: FloatArray,
        T: FloatArray,
        schedule: Discounting,
    ) -> FloatArray:
        """Discounted expected purchases over the schedule, per row.

        The part given alive is evaluated on the distinct ``(x, T)`` pairs.
        """
        (xf, Tf), inv = unique_rows(x, T)
        part = self.discounted_if_alive(theta, xf, Tf, schedule)
        return np.asarray(part[inv] * self.alive(theta, x, tx, T), dtype=np.float64)


class SpendKernels(ABC):
    """The prediction kernels of a spend model (expected spend per purchase)."""

    columns: tuple[str, str] = ("frequency", "monetary_value")

    @abstractmethod
    def expected(self, theta: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
        """Return the expected value of a future purchase after ``x`` of mean ``m``."""

    @abstractmethod
    def expected_many(self, draws: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
        """:meth:`expected` for many parameter vectors at once: ``(draws, rows)``."""

    @abstractmethod
    def sample(
        self,
        theta: FloatArray,
        x: FloatArray,
        m: FloatArray,
        owner: IntArray,
        rng: np.random.Generator,
    ) -> FloatArray:
        """Simulate the value of each future purchase of row ``owner`` (posterior predictive)."""

    @abstractmethod
    def check(self, theta: FloatArray, summary: Summary) -> None:
        """Refuse rows the model cannot score, naming the first (``ValidationError``)."""

    @abstractmethod
    def defined_draws(self, draws: FloatArray, x: FloatArray) -> tuple[BoolArray, str]:
        """Return the draws giving every row a finite expected spend, and what others lack."""


def fitted_params(model: Any) -> FloatArray:
    """Return a fitted model's parameters as an array, in the model's order.

    Raises
    ------
    NotFittedError
        If the model has no ``params_`` yet.
    """
    params = getattr(model, "params_", None)
    if params is None:
        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet; call fit(data) first"
        )
    return np.array(list(params.values()), dtype=np.float64)


def purchase_kernels(model: object, *, name: str = "model") -> PurchaseKernels:
    """Return the prediction kernels a model of the purchase process declares, or refuse it.

    Raises
    ------
    ValidationError
        If ``model`` declares no :class:`PurchaseKernels`.
    """
    kernels = getattr(model, "kernels", None)
    if not isinstance(kernels, PurchaseKernels):
        raise ValidationError(
            f"{name} must be a transaction model (BetaGeoModel, ModifiedBetaGeoModel, "
            f"ParetoNBDModel or BetaGeoBetaBinomModel); got {type(model).__name__}",
            field=name,
        )
    return kernels


@dataclass(frozen=True)
class SpendSource:
    """Where the expected spend per purchase comes from: a spend model or given values.

    Attributes
    ----------
    kernels : SpendKernels or None
        The spend model's kernels (``None``: values given per customer).
    theta : ndarray or None
        The spend model's parameters.
    values : object
        The given spend (a Series, an array, a number), else ``None``.
    columns : tuple of str
        Summary columns the spend reads beyond the purchase model's.
    """

    kernels: SpendKernels | None
    theta: FloatArray | None
    values: Any
    columns: tuple[str, ...]

    def expected(self, summary: Summary) -> FloatArray:
        """Return the expected spend per purchase of each row of ``summary`` (checked)."""
        x = summary["frequency"]
        if self.kernels is None:
            if np.ndim(self.values) == 0:
                one = check_scalar(self.values, name="spend_model", low=0)
                return np.full(x.shape, one)
            return per_customer_values(self.values, summary.index, x.size, name="spend_model")
        assert self.theta is not None
        self.kernels.check(self.theta, summary)
        return self.kernels.expected(self.theta, x, summary[self.kernels.columns[1]])


def spend_source(spend: object) -> SpendSource:
    """Read the spend argument of a CLV: a fitted spend model, or values per customer.

    Raises
    ------
    ValidationError
        For anything else (e.g. a purchase model given as the spend model).
    NotFittedError
        For a spend model that is not fitted.
    """
    kernels = getattr(spend, "spend_kernels", None)
    if isinstance(kernels, SpendKernels):
        return SpendSource(kernels, fitted_params(spend), None, kernels.columns[1:])
    if isinstance(spend, pd.Series | np.ndarray | list | tuple | int | float | np.number):
        return SpendSource(None, None, spend, ())
    raise ValidationError(
        "spend_model must be a fitted spend model (GammaGammaModel) or the expected spend "
        f"per purchase of each customer (a Series, an array or a number); "
        f"got {type(spend).__name__}",
        field="spend_model",
    )


def spend_kernels(model: object, *, name: str = "spend_model") -> SpendKernels:
    """Return the prediction kernels a spend model declares, or refuse it.

    Raises
    ------
    ValidationError
        If ``model`` declares no :class:`SpendKernels`.
    """
    kernels = getattr(model, "spend_kernels", None)
    if not isinstance(kernels, SpendKernels):
        raise ValidationError(
            f"{name} must be a fitted spend model (GammaGammaModel); got {type(model).__name__}",
            field=name,
        )
    return kernels
