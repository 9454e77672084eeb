"""The label-free BTYD churn baseline: a scikit-learn estimator around a BG/NBD fit."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags

from crmcore._deprecation import warn_renamed
from crmcore._jsonfile import read_json
from crmcore._time import to_duration
from crmcore._types import ArrayLike, FloatArray
from crmcore._validation import check_scalar
from crmcore.churn._persist import read_params, read_state
from crmcore.churn._scoring import check_labels, roc_auc
from crmcore.errors import NotFittedError, ValidationError

__all__ = ["PAliveBaseline"]

_TARGETS = ("dead", "no_purchase")
_SCHEMA_VERSION = 1


class PAliveBaseline(BaseEstimator):  # type: ignore[misc]
    """The BTYD baseline: a churn probability from a BG/NBD fit, without labels.

    The BG/NBD model of :mod:`crmcore.clv` (Fader, Hardie and Lee, 2005) is
    fitted to a recency/frequency summary (:func:`~crmcore.clv.rfm_summary`,
    or :meth:`summarize` of a log at ``as_of``) and scores every customer
    from recency, frequency and age alone. It learns without labels, so
    :meth:`fit` needs only ``X``; :meth:`score` judges it against labels.

    A scikit-learn estimator: hyper-parameters are keyword-only and stored
    unchanged, ``clone``, ``get_params`` and ``set_params`` work, fitted
    attributes end in ``_``, and it saves to JSON (:meth:`save`).

    Parameters
    ----------
    target : {"dead", "no_purchase"}, default "dead"
        ``"dead"``: the churn probability is ``1 - P(alive)``, the classic
        BTYD score. ``"no_purchase"``: the model's probability that the
        customer makes no purchase in the next ``horizon``, which is exactly
        the event :func:`churn_labels` labels: a customer that is alive but
        buys rarely is also silent for a while. Given alive, the purchase
        rate is ``Gamma(r + x, α + T)``, so
        ``P(no purchase in h) = 1 - P(alive) · (1 - ((α + T) / (α + T + h))^(r + x))``.
    horizon : str or timedelta, optional
        The label window for ``target="no_purchase"`` (a fixed duration such
        as ``"90D"``; required there). :func:`backtest` sets it to its own
        horizon when it is left ``None``.
    freq : str, default "D"
        Period of the summary, ``"D"`` or ``"W"`` (a multiple such as
        ``"2W"`` too); the horizon is converted to it.
    penalizer : float, default 0.0
        L2 penalty of the BG/NBD fit (see :class:`crmcore.clv.BetaGeoModel`).

    Attributes
    ----------
    model_ : crmcore.clv.BetaGeoModel
        The fitted BG/NBD model.
    classes_ : ndarray
        ``[0, 1]`` (1 = churned).
    n_features_in_ : int
        3 (``frequency``, ``recency``, ``T``).

    Examples
    --------
    >>> from crmcore.churn import PAliveBaseline, churn_labels, simulate_churn_transactions
    >>> log = simulate_churn_transactions(2000, start="2023-01-01", random_state=0)
    >>> past = log[log["date"] <= "2024-06-30"]
    >>> base = PAliveBaseline(target="no_purchase", horizon="90D")
    >>> X = base.summarize(past, as_of="2024-06-30")
    >>> p = base.fit(X).churn_probability(X)
    >>> y = churn_labels(log, as_of="2024-06-30", horizon="90D")
    >>> round(base.score(X.loc[y.index], y), 2)  # ROC AUC
    0.9
    """

    def __init__(
        self,
        *,
        target: str = "dead",
        horizon: Any = None,
        freq: str = "D",
        penalizer: float = 0.0,
    ) -> None:
        self.target = target
        self.horizon = horizon
        self.freq = freq
        self.penalizer = penalizer

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = False  # label-free: fit(X) alone
        return tags

    # ------------------------------------------------------------ validation
    def _check_params(self) -> float | None:
        """Validate the hyper-parameters; return the horizon in summary periods."""
        if self.target not in _TARGETS:
            raise ValidationError(
                f"target must be 'dead' or 'no_purchase'; got {self.target!r}",
                field="target",
                value=self.target,
            )
        check_scalar(self.penalizer, name="penalizer", low=0)
        unit = to_duration(
            self.freq if str(self.freq)[:1].isdigit() else f"1{self.freq}", name="freq"
        )
        if self.horizon is None:
            if self.target == "no_purchase":
                raise ValidationError(
                    "target='no_purchase' needs the horizon of the label window, e.g. "
                    "PAliveBaseline(target='no_purchase', horizon='90D')",
                    field="horizon",
                )
            return None
        window = to_duration(self.horizon, name="horizon")
        return float(window.value) / float(unit.value)

    # ------------------------------------------------------------ data
    def summarize(
        self,
        transactions: pd.DataFrame,
        *,
        as_of: Any,
        customer_col: str = "customer_id",
        date_col: str = "date",
    ) -> pd.DataFrame:
        """Build the feature frame this model reads: the log's RFM summary at ``as_of``.

        The log is first cut at ``as_of`` by the library's time rule (rows
        at or before it; a date-only ``as_of`` is the end of its day), then
        summarised by :func:`crmcore.clv.rfm_summary` in ``freq`` periods
        with ``as_of`` as the end of observation, so nothing after the
        cut-off can reach the model.

        Parameters
        ----------
        transactions : pandas.DataFrame
            The purchase log.
        as_of : date-like
            The cut-off.
        customer_col, date_col : str
            Column names.

        Returns
        -------
        pandas.DataFrame
            ``frequency``, ``recency``, ``T`` per customer with a purchase
            at or before ``as_of``.

        Raises
        ------
        ValidationError
            On bad columns or dates, or no purchase at or before ``as_of``.
        """
        from crmcore.clv import rfm_summary  # noqa: PLC0415 - clv loads lazily

        return rfm_summary(
            transactions, customer_col=customer_col, date_col=date_col, as_of=as_of, freq=self.freq
        )

    # ------------------------------------------------------------ fit / predict
    def fit(
        self, X: pd.DataFrame | ArrayLike, y: ArrayLike | None = None, sample_weight: Any = None
    ) -> PAliveBaseline:
        """Fit the BG/NBD model to a summary (no labels needed).

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            A summary with ``frequency``, ``recency`` and ``T`` (see
            :meth:`summarize`), or a 2-D array with those columns in order.
        y : array_like of bool or 0/1, optional
            Labels are not used to fit: the baseline is label-free by design.
            They are accepted, and checked (one 0/1 label per row), so that
            scikit-learn tools that pass ``y`` (``cross_val_score``,
            ``GridSearchCV``) work; use :meth:`score` to judge the fit.
        sample_weight : array_like, optional
            Number of customers each row stands for (whole numbers), passed
            to the BG/NBD fit as ``weights``.

        Returns
        -------
        PAliveBaseline
            ``self``.

        Raises
        ------
        ValidationError
            On bad hyper-parameters or summaries, or labels that do not match
            the rows.
        """
        from crmcore.clv import BetaGeoModel  # noqa: PLC0415 - clv loads lazily

        self._check_params()
        if y is not None:
            check_labels(y, n=_n_rows(X))
        self.model_ = BetaGeoModel(penalizer=float(self.penalizer)).fit(X, weights=sample_weight)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = 3
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this PAliveBaseline is not fitted yet; call fit(summary) first")

    def _churn(self, X: pd.DataFrame | ArrayLike) -> FloatArray:
        self._check_fitted()
        h = self._check_params()
        alive = np.asarray(self.model_.probability_alive(X), dtype=np.float64)
        if self.target == "dead":
            return 1.0 - alive
        assert h is not None  # _check_params refuses no_purchase without a horizon
        params = self.model_.params_
        r, alpha = params["r"], params["alpha"]
        x, T = _frequency_and_age(X)
        quiet = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + h)))
        return np.asarray(1.0 - alive * (1.0 - quiet), dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame | ArrayLike) -> FloatArray:
        """Return ``[P(stay), P(churn)]`` per customer.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            A summary as in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_customers, 2)
            Column 1 is the churn probability of ``target``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        p = self._churn(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame | ArrayLike) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Return 1 where the churn probability is at least 0.5."""
        return (self._churn(X) >= 0.5).astype(np.int64)

    def churn_probability(self, X: pd.DataFrame | ArrayLike) -> pd.Series:
        """Return the churn probability as a Series indexed like ``X``.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            A summary as in :meth:`fit`.

        Returns
        -------
        pandas.Series
            Named ``churn_probability``, with ``X``'s index (a RangeIndex for
            an array).
        """
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.Series(self._churn(X), index=index, name="churn_probability")

    def score(
        self,
        X: Any,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        **legacy: Any,
    ) -> Any:
        """Return the ROC AUC of the churn probabilities against labels.

        The same metric as :meth:`ChurnClassifier.score
        <crmcore.churn.ChurnClassifier.score>`: how well the score ranks
        churners above stayers (1 perfect, 0.5 random), which is what a
        retention campaign needs. For calibration use :func:`score_metrics`
        (Brier score) or :func:`calibration_table`.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            A summary as in :meth:`fit`.
        y : array_like of bool or 0/1
            Observed churn; a Series is aligned on ``X``'s index.
        sample_weight : array_like, optional
            Weights of the rows.

        Returns
        -------
        float
            ROC AUC.

        Raises
        ------
        ValidationError
            On labels that do not match the rows or hold a single class.

        Notes
        -----
        Until 0.3.0, ``score(transactions, as_of=..., horizon=...)`` still
        returns the per-customer scores of a log as it did before, with a
        ``DeprecationWarning``: use :meth:`summarize`, :meth:`fit` and
        :meth:`churn_probability` instead.
        """
        if legacy or y is None:
            return self._legacy_score(X, **legacy)
        if isinstance(X, pd.DataFrame) and isinstance(y, pd.Series):
            y = y.reindex(X.index)
        labels = check_labels(y, n=_n_rows(X))
        return roc_auc(labels, self._churn(X), sample_weight=sample_weight)

    def _legacy_score(
        self,
        transactions: Any,
        *,
        as_of: Any = None,
        horizon: Any = None,
        customer_col: str = "customer_id",
        date_col: str = "date",
    ) -> pd.Series:
        if as_of is None:
            raise ValidationError(
                "score(X, y) needs the labels y: it returns the ROC AUC of the churn "
                "probabilities (use churn_probability(X) for the probabilities)",
                field="y",
            )
        warn_renamed(
            "PAliveBaseline.score()",
            "score(transactions, as_of=...) returning scores",
            "summarize(transactions, as_of=...), fit(X) and churn_probability(X)",
            stacklevel=4,
        )
        est = self if horizon is None else _with_horizon(self, horizon)
        X = est.summarize(transactions, as_of=as_of, customer_col=customer_col, date_col=date_col)
        return est.fit(X).churn_probability(X).rename("churn_score")

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description: hyper-parameters and the fitted BG/NBD model.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        self._check_fitted()
        params = self.get_params()
        if params["horizon"] is not None and not isinstance(params["horizon"], str):
            params["horizon"] = to_duration(params["horizon"], name="horizon").isoformat()
        return {
            "model": "PAliveBaseline",
            "schema_version": _SCHEMA_VERSION,
            "params": params,
            "fitted": {"model_": self.model_.to_dict()},
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> PAliveBaseline:
        """Rebuild a fitted baseline from :meth:`to_dict` output.

        Raises
        ------
        ValidationError
            If ``state`` is not a saved PAliveBaseline of this schema version.
        """
        from crmcore.clv import BetaGeoModel  # noqa: PLC0415 - clv loads lazily

        fitted = read_state(state, "PAliveBaseline", _SCHEMA_VERSION)
        est = cls(**read_params(state, cls))
        est._check_params()
        est.model_ = BetaGeoModel.from_dict(fitted["model_"])
        est.classes_ = np.array([0, 1])
        est.n_features_in_ = 3
        return est

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` to ``path`` as JSON (never pickle)."""
        Path(path).write_text(json.dumps(self.to_dict(), allow_nan=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PAliveBaseline:
        """Read a baseline written by :meth:`save`."""
        return cls.from_dict(read_json(path, what="PAliveBaseline file"))


def _with_horizon(est: PAliveBaseline, horizon: Any) -> PAliveBaseline:
    from sklearn.base import clone  # noqa: PLC0415

    out: PAliveBaseline = clone(est).set_params(horizon=horizon)
    return out


def _n_rows(X: Any) -> int:
    return len(X) if isinstance(X, pd.DataFrame) else int(np.shape(X)[0])


def _frequency_and_age(X: pd.DataFrame | ArrayLike) -> tuple[FloatArray, FloatArray]:
    """``frequency`` and ``T`` of a summary (already validated by the BG/NBD query)."""
    if isinstance(X, pd.DataFrame):
        return (
            X["frequency"].to_numpy(dtype=np.float64),
            X["T"].to_numpy(dtype=np.float64),
        )
    arr = np.asarray(X, dtype=np.float64)
    return arr[:, 0], arr[:, 2]
