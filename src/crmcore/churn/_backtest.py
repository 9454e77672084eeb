"""Time-respecting backtests of churn scores.

For every cut-off ``c`` in ``as_of`` the transaction log is cut *before*
anything is computed: models, feature builders and the P(alive) baseline
receive only the rows dated on or before ``c``. The full log is used for one
thing only, the evaluation labels in ``(c, c + horizon]``. A supervised model
is trained at ``c - horizon`` (features from rows up to ``c - horizon``,
labels from ``(c - horizon, c]``, all inside the slice) and scored at ``c``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import pandas as pd
from sklearn.base import clone

from crmcore._deprecation import renamed_arguments
from crmcore._time import NAT, Cutoff, Dates, add_duration, read_dates, timestamps, to_duration
from crmcore._validation import check_columns, check_scalar
from crmcore.churn._baseline import PAliveBaseline
from crmcore.churn._classifier import ChurnClassifier
from crmcore.churn._evaluation import (
    calibration_old_names,
    calibration_table,
    gains_table,
    score_metrics,
)
from crmcore.churn._labels import LabelWindow, labels_at
from crmcore.errors import ValidationError

__all__ = ["BacktestResult", "backtest"]

FeatureBuilder = Callable[[pd.DataFrame, pd.Timestamp], pd.DataFrame]
"""``(transactions up to as_of, as_of) -> features`` indexed by customer."""


@runtime_checkable
class _Estimator(Protocol):
    def fit(self, X: Any, y: Any = ...) -> Any: ...

    def predict_proba(self, X: Any) -> Any: ...


@runtime_checkable
class _Summarizes(Protocol):
    """A model that builds its own feature frame from the log (the BTYD baseline)."""

    def summarize(
        self, transactions: pd.DataFrame, *, as_of: Any, customer_col: str, date_col: str
    ) -> pd.DataFrame: ...


@attrs.frozen
class BacktestResult:
    """What :func:`backtest` returns.

    Attributes
    ----------
    metrics : pandas.DataFrame
        Indexed by ``(cutoff, model)``, ``cutoff`` being each ``as_of`` as
        resolved against the data (a date-only ``as_of`` is the last instant
        of its day): ``roc_auc``, ``pr_auc``, ``brier``,
        ``lift_top_decile``, ``capture_top_decile``, ``base_rate``,
        ``n_customers``, ``n_train`` (customers a supervised model was
        trained on; 0 for the others). ``brier`` is NaN, by design, for a
        score function whose scores are not probabilities in ``[0, 1]``.
    calibration : pandas.DataFrame
        :func:`calibration_table` rows indexed by ``(cutoff, model, bin)``
        (scores in ``[0, 1]`` only).
    gains : pandas.DataFrame
        :func:`gains_table` rows indexed by ``(cutoff, model, bin)``.
    """

    metrics: pd.DataFrame
    calibration: pd.DataFrame
    gains: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Mean of each metric over the cut-offs, one row per model.

        Returns
        -------
        pandas.DataFrame
            Indexed by model name (in the order the models were given), one
            column per metric of :attr:`metrics`.
        """
        return self.metrics.groupby(level="model", sort=False).mean()


@dataclass(frozen=True, slots=True)
class _Point:
    """One cut-off of the backtest, on the data's scale."""

    cutoff: Cutoff
    train: Cutoff  # cutoff - horizon: where a supervised model is trained
    window: LabelWindow  # (cutoff, cutoff + horizon]
    train_window: LabelWindow  # (train, cutoff]


def _default_features(value_col: str | None, customer_col: str, date_col: str) -> FeatureBuilder:
    def build(transactions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        from crmcore.segmentation import customer_features  # noqa: PLC0415

        value = value_col if value_col is not None and value_col in transactions else None
        return customer_features(
            transactions,
            as_of=as_of,
            value_col=value,
            customer_col=customer_col,
            date_col=date_col,
        )

    return build


@renamed_arguments(cutoffs="as_of")
def backtest(
    transactions: pd.DataFrame,
    *,
    as_of: Sequence[Any],
    horizon: Any,
    models: Mapping[str, Any] | None = None,
    lookback: Any = None,
    observed_until: Any = None,
    features: FeatureBuilder | None = None,
    customer_data: pd.DataFrame | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = "amount",
    bins: int = 10,
) -> BacktestResult:
    """Compare churn scores out of time: train before each cut-off, judge after it.

    For every cut-off ``c`` in ``as_of``:

    1. the log is cut to the rows dated ``<= c`` (the *past*); nothing else is
       handed to a model or a feature builder, so a feature computed from
       later data cannot be produced;
    2. the evaluation population is the customers active at ``c`` and their
       labels come from ``(c, c + horizon]`` (:func:`churn_labels`);
    3. every model scores that population from the past alone:

       - an estimator that learns without labels (scikit-learn's
         ``target_tags.required`` is false, as for :class:`PAliveBaseline`)
         is cloned and fitted on the features at ``c``, then scores them;
         an estimator with a ``horizon`` hyper-parameter left ``None`` gets
         the backtest's;
       - an estimator that needs labels (a :class:`ChurnClassifier`, any
         scikit-learn classifier) is cloned and trained on features at
         ``c - horizon`` with labels from ``(c - horizon, c]`` (both inside
         the past), then applied to the features at ``c``;
       - features come from the model's own ``summarize(past, as_of=...)``
         when it has one (the baseline's RFM summary), else from
         ``features``;
       - any other callable ``f(past, as_of)`` returns scores indexed by
         customer (higher = riskier);
    4. scores are compared with :func:`score_metrics` (ROC AUC, PR AUC,
       Brier score, lift and capture in the top decile), a
       :func:`calibration_table` and a :func:`gains_table`.

    A date-only cut-off (``"2024-06-30"``) means the end of that day, as
    everywhere in crmcore; timezone-aware dates are compared as instants.

    Parameters
    ----------
    transactions : pandas.DataFrame
        The purchase log (customer and date columns, optional value column).
    as_of : sequence of date-like
        Backtest cut-offs; each needs at least ``horizon`` of history before
        it (for training) and of observed log after it (for labels).
    horizon : str or timedelta
        Churn window, a fixed duration such as ``"90D"``.
    models : mapping of str to model, optional
        Name → model as above. Default: ``{"p_alive": PAliveBaseline(),
        "p_no_purchase": PAliveBaseline(target="no_purchase"),
        "classifier": ChurnClassifier(random_state=0)}``.
    lookback : str or timedelta, optional
        Activity window of :func:`churn_labels` (``None``: all history).
    observed_until : date-like, optional
        The end of the period the log records (the date of the extract);
        default: its last purchase. Every ``c + horizon`` must lie within it.
    features : callable, optional
        ``features(past, as_of) -> DataFrame`` indexed by customer; default
        :func:`crmcore.segmentation.customer_features` (with ``value_col``
        when the log has it).
    customer_data : pandas.DataFrame, optional
        Static per-customer columns (demographics, acquisition channel)
        joined to the features by index. They must not change over time;
        time-varying data (tickets, NPS) belongs in ``features``, which sees
        only the past.
    customer_col, date_col, value_col : str
        Column names (``value_col`` is used by the default features only,
        and only when the log has it).
    bins : int, default 10
        Bins of the calibration and gains tables.

    Returns
    -------
    BacktestResult
        ``metrics``, ``calibration`` and ``gains`` frames.

    Raises
    ------
    ValidationError
        On bad columns, dates or parameters, a cut-off without a full
        horizon of history before it or of observed log after it, or a
        population with a single class.

    Notes
    -----
    ``cutoffs=`` is the former name of ``as_of=``; it still works until
    crmcore 0.3.0, with a ``DeprecationWarning``.
    """
    check_columns(transactions, [customer_col, date_col], name="transactions")
    if isinstance(as_of, str) or not isinstance(as_of, Sequence | pd.Index | np.ndarray):
        raise ValidationError(
            "as_of must be a list of cut-offs, e.g. as_of=['2024-03-31', '2024-06-30']",
            field="as_of",
        )
    if len(as_of) == 0:
        raise ValidationError("as_of must be a non-empty list of cut-offs", field="as_of")
    dates = read_dates(transactions[date_col], name=date_col)
    window = to_duration(horizon, name="horizon")
    back = None if lookback is None else to_duration(lookback, name="lookback")
    k = int(check_scalar(bins, name="bins", low=1, integer=True))
    points = _points(dates, as_of, window, back, observed_until)
    if models is None:
        models = {
            "p_alive": PAliveBaseline(),
            "p_no_purchase": PAliveBaseline(target="no_purchase"),
            "classifier": ChurnClassifier(random_state=0),
        }
    if not models:
        raise ValidationError("models is empty", field="models")
    build = _default_features(value_col, customer_col, date_col) if features is None else features
    run = _Run(
        transactions=transactions,
        times=dates.ns,
        horizon=window,
        build=build,
        extra=customer_data,
        customer_col=customer_col,
        date_col=date_col,
    )

    metric_rows: list[dict[str, Any]] = []
    calib: list[pd.DataFrame] = []
    gains: list[pd.DataFrame] = []
    for point in points:
        label = point.cutoff.timestamp
        y = labels_at(
            transactions[customer_col], dates.ns, point.window, customer_col=customer_col
        )
        if y.min() == y.max():
            raise ValidationError(
                f"at cut-off {point.cutoff} every active customer has the same label; "
                "metrics need churners and stayers",
                field="as_of",
                value=str(point.cutoff),
            )
        past = run.slice(point.cutoff.ns)
        cache: dict[int, pd.DataFrame] = {}
        for name, model in models.items():
            score, n_train = run.score(model, past, point, cache)
            s = score.reindex(y.index)
            if s.isna().any():
                missing = s.index[s.isna().to_numpy()][0]
                raise ValidationError(
                    f"model {name!r} gave no score for active customer {missing!r} at "
                    f"cut-off {point.cutoff}",
                    field="models",
                    row=missing,
                )
            yv, sv = y.to_numpy(), s.to_numpy(dtype=np.float64)
            m = score_metrics(yv, sv, top=0.1)
            metric_rows.append(
                {
                    "cutoff": label,
                    "model": name,
                    "roc_auc": m["roc_auc"],
                    "pr_auc": m["pr_auc"],
                    "brier": m["brier"],
                    "lift_top_decile": m["lift_top"],
                    "capture_top_decile": m["capture_top"],
                    "base_rate": m["base_rate"],
                    "n_customers": m["n"],
                    "n_train": n_train,
                }
            )
            gains.append(_tag(gains_table(yv, sv, bins=k), label, name))
            if np.isfinite(m["brier"]):
                calib.append(_tag(calibration_table(yv, sv, bins=k), label, name))
    metrics = pd.DataFrame(metric_rows).set_index(["cutoff", "model"])
    return BacktestResult(
        metrics=metrics,
        calibration=calibration_old_names(pd.concat(calib)) if calib else pd.DataFrame(),
        gains=pd.concat(gains),
    )


def _points(
    dates: Dates, as_of: Sequence[Any], window: Any, back: Any, observed_until: Any
) -> list[_Point]:
    """Resolve and check every cut-off; sorted, each with its training cut-off."""
    cuts = sorted((dates.cutoff(c) for c in as_of), key=lambda c: c.ns)
    if dates.ns.size == 0:
        raise ValidationError("transactions is empty", field="transactions")
    first = int(dates.ns.min())
    if observed_until is None:
        end, end_name = int(dates.ns.max()), "the log ends"
    else:
        end, end_name = dates.cutoff(observed_until, name="observed_until").ns, "observed_until is"
    points = []
    for cut in cuts:
        stop = int(add_duration(cut.ns, dates.tz, window))
        if stop > end:
            raise ValidationError(
                f"cut-off {cut} leaves less than the horizon ({window}) of observed log after "
                f"it ({end_name} {_iso(end, dates.tz)}; pass observed_until= if the log covers "
                "more)",
                field="as_of",
                value=str(cut),
            )
        t = int(add_duration(cut.ns, dates.tz, window, sign=-1))
        if t < first:
            raise ValidationError(
                f"cut-off {cut} has less than the horizon ({window}) of history before it "
                "to train on",
                field="as_of",
                value=str(cut),
            )
        train = Cutoff(t, timestamps(np.array([t]), dates.tz)[0], date_only=False)
        start = NAT if back is None else int(add_duration(cut.ns, dates.tz, back, sign=-1))
        train_start = NAT if back is None else int(add_duration(t, dates.tz, back, sign=-1))
        points.append(
            _Point(
                cutoff=cut,
                train=train,
                window=LabelWindow(cut, stop, start),
                train_window=LabelWindow(train, cut.ns, train_start),
            )
        )
    return points


def _iso(ns: int, tz: Any) -> str:
    return str(timestamps(np.array([ns]), tz)[0].isoformat())


def _tag(frame: pd.DataFrame, cutoff: pd.Timestamp, name: str) -> pd.DataFrame:
    out = frame.copy()
    out.index = pd.MultiIndex.from_arrays(
        [[cutoff] * len(frame), [name] * len(frame), frame.index],
        names=["cutoff", "model", "bin"],
    )
    return out


@dataclass(frozen=True)
class _Run:
    """What every model of one backtest shares: the log, its times and the feature builder."""

    transactions: pd.DataFrame
    times: np.ndarray[Any, np.dtype[np.int64]]
    horizon: Any
    build: FeatureBuilder
    extra: pd.DataFrame | None
    customer_col: str
    date_col: str

    def slice(self, cutoff: int) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
        """Rows dated on or before ``cutoff`` (a copy: later rows cannot leak back)."""
        keep = self.times <= cutoff
        return self.transactions.loc[keep].copy(), self.times[keep]

    def features(self, past: pd.DataFrame, as_of: Cutoff) -> pd.DataFrame:
        X = self.build(past, as_of.timestamp)
        if not isinstance(X, pd.DataFrame):
            raise ValidationError(
                f"features must return a DataFrame; got {type(X).__name__}", field="features"
            )
        if self.extra is not None:
            X = X.join(self.extra, how="left")
        return X

    def score(
        self,
        model: Any,
        past: tuple[pd.DataFrame, np.ndarray[Any, Any]],
        point: _Point,
        cache: dict[int, pd.DataFrame],
    ) -> tuple[pd.Series, int]:
        frame, times = past
        if isinstance(model, _Estimator):
            return self._score_estimator(model, frame, times, point, cache)
        if callable(model):
            out = model(frame, point.cutoff.timestamp)
            if not isinstance(out, pd.Series):
                raise ValidationError(
                    f"a score function must return a pandas Series; got {type(out).__name__}",
                    field="models",
                )
            return out, 0
        raise ValidationError(
            "a model must be an estimator with fit/predict_proba (PAliveBaseline, "
            f"ChurnClassifier, a scikit-learn classifier) or a callable; got "
            f"{type(model).__name__}",
            field="models",
        )

    def _score_estimator(
        self,
        model: Any,
        frame: pd.DataFrame,
        times: np.ndarray[Any, Any],
        point: _Point,
        cache: dict[int, pd.DataFrame],
    ) -> tuple[pd.Series, int]:
        est = _with_horizon(clone(model), self.horizon)
        if isinstance(model, _Summarizes):

            def feats(rows: pd.DataFrame, cut: Cutoff) -> pd.DataFrame:
                return model.summarize(
                    rows,
                    as_of=cut.timestamp,
                    customer_col=self.customer_col,
                    date_col=self.date_col,
                )

        else:

            def feats(rows: pd.DataFrame, cut: Cutoff) -> pd.DataFrame:
                if cut.ns not in cache:
                    cache[cut.ns] = self.features(rows, cut)
                return cache[cut.ns]

        X_now = feats(frame, point.cutoff)
        if not _needs_labels(est):
            est.fit(X_now)
            n_train = 0
        else:
            y_train = labels_at(
                frame[self.customer_col],
                times,
                point.train_window,
                customer_col=self.customer_col,
            )
            X_train = feats(frame.loc[times <= point.train.ns], point.train)
            est.fit(X_train, y_train)
            n_train = len(y_train)
        p = np.asarray(est.predict_proba(X_now))[:, 1]
        return pd.Series(p, index=X_now.index), n_train


def _needs_labels(est: Any) -> bool:
    """Whether ``est`` must be trained on labels (scikit-learn's ``target_tags.required``)."""
    tags = getattr(est, "__sklearn_tags__", None)
    if tags is None:
        return True
    return bool(tags().target_tags.required)


def _with_horizon(est: Any, horizon: Any) -> Any:
    """Give an estimator with an unset ``horizon`` hyper-parameter the backtest's."""
    get = getattr(est, "get_params", None)
    if get is None or "horizon" not in get(deep=False):
        return est
    own = get(deep=False)["horizon"]
    if own is None:
        return est.set_params(horizon=horizon)
    if to_duration(own, name="horizon") != horizon:
        raise ValidationError(
            f"model has horizon={own!r} but the backtest judges a {horizon} window; leave "
            "the model's horizon unset (None) or make them equal",
            field="horizon",
        )
    return est
