"""The estimator bases of the purchase-process models.

:class:`PurchaseModel` is every model that declares
:class:`~crmcore.clv._kernels.PurchaseKernels` (BG/NBD, MBG/NBD, Pareto/NBD,
BG/BB): it owns ``predict_interval``. :class:`TransactionModel` adds the
queries of the continuous-time models (horizons in the data's time units).
The spend and contract models derive from :class:`~crmcore.clv.BaseModel`
only, so they carry no purchase query they cannot answer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from crmcore._types import ArrayLike, FloatArray
from crmcore._validation import as_float_array, check_integer_valued, check_nonnegative
from crmcore.clv._base import BaseModel
from crmcore.clv._dask import is_dask, map_scores
from crmcore.clv._data import Summary, wrap
from crmcore.clv._kernels import PurchaseKernels
from crmcore.clv._uncertainty import predict_interval
from crmcore.errors import ValidationError

__all__ = ["PurchaseModel", "TransactionModel", "as_time"]


def as_time(t: ArrayLike, *, name: str = "t") -> FloatArray:
    """Validate a non-negative time (scalar or array) and return it as float64."""
    if np.ndim(t) != 0:
        arr = as_float_array(t, name=name, ndim=None)
        check_nonnegative(arr, name=name)
        return arr
    # A scalar is checked as it is, in a list (which as_float_array inspects
    # element by element before converting), never through np.asarray first.
    one: list[Any] = [t.item() if isinstance(t, np.ndarray) else t]
    arr = as_float_array(one, name=name)
    check_nonnegative(arr, name=name)
    return arr.reshape(())


class PurchaseModel(BaseModel):
    """Base for the models of the purchase process; they declare :attr:`kernels`."""

    kernels: ClassVar[PurchaseKernels]
    """The model's prediction kernels (see :mod:`crmcore.clv._kernels`)."""

    def _read(self, data: pd.DataFrame | ArrayLike) -> Summary:
        return self.kernels.read(data)

    def _check_informative(self, cols: dict[str, FloatArray]) -> None:
        # With every customer observed for no time (T = 0, or no opportunity)
        # every likelihood term is 1: nothing can be estimated.
        span = self.kernels.columns[-1]
        if cols[span].size and not np.any(cols[span] > 0):
            raise ValidationError(
                f"every customer has {span} = 0 (nothing observed after the first "
                "purchase): the likelihood does not depend on the parameters, so there is "
                f"nothing to fit; summarise the transactions at a later as_of",
                field=span,
                value=0.0,
            )

    def _theta(self) -> FloatArray:
        params = self._check_fitted()
        return np.array([params[p] for p in self._param_names], dtype=np.float64)

    def _history(self, data: pd.DataFrame | ArrayLike) -> tuple[FloatArray, ...]:
        """``x``, ``t_x`` and ``T`` (or ``n``) of a validated summary."""
        summary = self.kernels.read(data)
        return tuple(summary[c] for c in self.kernels.columns)

    def _horizon(self, t: ArrayLike, n_rows: int, name: str) -> FloatArray:
        """Read a horizon: one value or one per customer (whole for opportunities)."""
        tt = as_time(t, name=name)
        if self.kernels.discrete:
            check_integer_valued(np.atleast_1d(tt), name=name)
        if tt.ndim > 1 or (tt.ndim == 1 and tt.shape[0] not in (1, n_rows)):
            raise ValidationError(
                f"{name} must be one value or one per customer ({n_rows}); got shape {tt.shape}",
                field=name,
            )
        return np.asarray(np.broadcast_to(tt, (n_rows,)), dtype=np.float64)

    def _alive_values(
        self, data: pd.DataFrame | ArrayLike, t: ArrayLike, name: str
    ) -> pd.Series | FloatArray:
        """P(alive at T + t) per customer (P(alive) itself, bit for bit, at t = 0)."""
        self._check_fitted()
        if is_dask(data):
            if np.ndim(t) != 0:
                raise ValidationError(f"{name} must be one value for Dask input", field=name)
            return map_scores(  # type: ignore[no-any-return]
                data, lambda part: self._alive_values(part, t, name), "probability_alive"
            )
        summary = self.kernels.read(data)
        x, tx, T = (summary[c] for c in self.kernels.columns)
        tt = self._horizon(t, x.shape[0], name)
        theta = self._theta()
        if np.any(tt > 0):
            values = self.kernels.alive_at(theta, x, tx, T, tt)
        else:
            values = self.kernels.alive(theta, x, tx, T)
        return wrap(values, summary.index, "probability_alive")

    def _conditional_pmf(
        self,
        n: ArrayLike,
        t: ArrayLike,
        data: pd.DataFrame | ArrayLike,
        names: tuple[str, str],
    ) -> pd.Series | FloatArray:
        """P(Y(t) = n | history) per customer; ``names`` of ``n`` and ``t`` for errors."""
        self._check_fitted()
        summary = self.kernels.read(data)
        x, tx, T = (summary[c] for c in self.kernels.columns)
        nn = self._horizon(n, x.shape[0], names[0])
        check_integer_valued(nn, name=names[0])
        tt = self._horizon(t, x.shape[0], names[1])
        table = self.kernels.pmf(self._theta(), x, tx, T, tt, n_max=int(nn.max()))
        values = table[np.arange(x.shape[0]), nn.astype(np.int64)]
        return wrap(values, summary.index, "probability")

    def predict_interval(
        self, quantity: str, data: pd.DataFrame | ArrayLike, **kwargs: Any
    ) -> pd.DataFrame:
        """Per-customer prediction with an interval.

        A shortcut for ``crmcore.clv.predict_interval(self, quantity, data,
        **kwargs)``; see :func:`crmcore.clv.predict_interval` for the
        quantities and the keyword arguments.

        Returns
        -------
        DataFrame
            ``estimate``, ``ci_low``, ``ci_high`` per customer.
        """
        return predict_interval(self, quantity, data, **kwargs)  # type: ignore[arg-type]


class TransactionModel(PurchaseModel):
    """Base for the continuous-time models of the purchase process (frequency, recency, T)."""

    _columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")

    def expected_purchases(
        self, t: ArrayLike, data: pd.DataFrame | ArrayLike
    ) -> pd.Series | FloatArray:
        """Return the expected number of purchases in the next ``t`` time units.

        Parameters
        ----------
        t : float or array_like
            Horizon in the data's time units (one value, or one per customer).
        data : DataFrame, array_like or dask.dataframe.DataFrame
            Customer summary with ``frequency``, ``recency``, ``T``.

        Returns
        -------
        Series or ndarray
            A Series indexed like ``data`` for a DataFrame (a lazy Dask Series
            for a Dask DataFrame), else an array.
        """
        self._check_fitted()
        if is_dask(data):
            if np.ndim(t) != 0:
                raise ValidationError("t must be one value for Dask input", field="t")
            return map_scores(  # type: ignore[no-any-return]
                data, lambda part: self.expected_purchases(t, part), "expected_purchases"
            )
        summary = self.kernels.read(data)
        x, tx, T = (summary[c] for c in self.kernels.columns)
        tt = self._horizon(t, x.shape[0], "t")
        values = self.kernels.expected(self._theta(), x, tx, T, tt)
        return wrap(values, summary.index, "expected_purchases")

    def probability_alive(
        self, data: pd.DataFrame | ArrayLike, *, t: ArrayLike = 0.0
    ) -> pd.Series | FloatArray:
        """Probability that each customer is still active at the end of observation, or later.

        ``t = 0``: P(alive at T) (BG/NBD: Fader, Hardie & Lee 2008; Pareto/NBD:
        Fader & Hardie 2005, eq. 11). ``t > 0``: P(alive at T + t), the
        probability of being alive at ``T`` times that of surviving ``t``
        more time units under the posterior of an alive customer (BG/NBD,
        MBG/NBD: no dropout at the purchases in ``(T, T + t]``; Pareto/NBD:
        ``((β+T)/(β+T+t))^s``).

        Parameters
        ----------
        data : DataFrame, array_like or dask.dataframe.DataFrame
            Customer summary with ``frequency``, ``recency``, ``T``.
        t : float or array_like, default 0
            Time after the end of observation, in the data's time units (one
            value, or one per customer).

        Returns
        -------
        Series or ndarray
            Values in ``[0, 1]``, indexed like ``data``; non-increasing in
            ``t``.
        """
        return self._alive_values(data, t, "t")

    def conditional_probability_of_purchases(
        self, n: ArrayLike, t: ArrayLike, data: pd.DataFrame | ArrayLike
    ) -> pd.Series | FloatArray:
        """Probability that each customer makes exactly ``n`` purchases in the next ``t``.

        ``P(Y(t) = n | x, t_x, T) = [1 - P(alive)] 1{n = 0} + P(alive)
        P(Y(t) = n | alive, x, T)``, the part given alive being a new
        customer's P(X(t) = n) at the posterior of an alive customer
        (BG/NBD: FHL 2005 eq. 8 at ``(r+x, α+T, a, b+x)``, MBG/NBD at
        ``b+x+1``; Pareto/NBD: Fader & Hardie, "Deriving the conditional PMF
        of the Pareto/NBD model", brucehardie.com note 028, eq. 16).

        Parameters
        ----------
        n : int or array_like of int
            Number of purchases (whole, >= 0; one, or one per customer).
        t : float or array_like
            Horizon in the data's time units (one, or one per customer).
        data : DataFrame or array_like
            Customer summary with ``frequency``, ``recency``, ``T``.

        Returns
        -------
        Series or ndarray
            Probabilities, indexed like ``data``; over ``n = 0, 1, ...`` they
            sum to 1 and their mean is :meth:`expected_purchases`.
        """
        return self._conditional_pmf(n, t, data, ("n", "t"))

    def expected_purchases_new_customer(self, t: ArrayLike) -> FloatArray | float:
        """Return the expected number of repeat purchases of a new customer by ``t``.

        Parameters
        ----------
        t : float or array_like
            Time since the first purchase, in the data's time units.

        Returns
        -------
        float or ndarray
            Same shape as ``t``.
        """
        self._check_fitted()
        tt = np.asarray(as_time(t), dtype=np.float64)
        out = np.asarray(self.kernels.expected_new(self._theta(), tt), dtype=np.float64)
        return float(out) if out.ndim == 0 else out

    def probability_of_purchases(self, n: ArrayLike, t: ArrayLike) -> FloatArray | float:
        """Probability that a new customer makes exactly ``n`` repeat purchases by ``t``.

        Parameters
        ----------
        n : int or array_like of int
            Number of repeat purchases (whole, >= 0).
        t : float or array_like
            Time since the first purchase (broadcast against ``n``).

        Returns
        -------
        float or ndarray
            Probabilities, shape of ``broadcast(n, t)``.
        """
        self._check_fitted()
        nn = as_time(n, name="n")
        check_integer_valued(np.atleast_1d(nn), name="n")
        tt = as_time(t)
        out = self.kernels.pmf_new(
            self._theta(), np.asarray(nn, dtype=np.float64), np.asarray(tt, dtype=np.float64)
        )
        return float(out) if out.ndim == 0 else out
