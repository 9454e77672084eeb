"""Time-respecting backtests of churn scores.

For every cutoff ``c`` the transaction log is cut *before* anything is
computed: models, feature builders and the P(alive) baseline receive only
the rows dated on or before ``c``. The full log is used for one thing only,
the evaluation labels in ``(c, c + horizon]``. A supervised model is trained
at ``c - horizon`` (features from rows up to ``c - horizon``, labels from
``(c - horizon, c]``, all inside the slice) and scored at ``c``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import pandas as pd
from sklearn.base import clone

from crmcore._validation import check_columns, check_scalar
from crmcore.churn._classifier import ChurnClassifier
from crmcore.churn._dates import as_period, as_timestamp, date_values, ts_ns
from crmcore.churn._evaluation import calibration_table, gains_table, score_metrics
from crmcore.churn._labels import active_labels
from crmcore.errors import ValidationError

__all__ = ["BacktestResult", "PAliveBaseline", "backtest"]

FeatureBuilder = Callable[[pd.DataFrame, pd.Timestamp], pd.DataFrame]
"""``(transactions up to as_of, as_of) -> features`` indexed by customer."""


@runtime_checkable
class _Supervised(Protocol):
    def fit(self, features: pd.DataFrame, labels: pd.Series) -> Any: ...

    def predict_proba(self, features: pd.DataFrame) -> Any: ...


@attrs.frozen
class PAliveBaseline:
    """The BTYD baseline: a churn score from a BG/NBD fit, without labels.

    At each cutoff the BG/NBD model of :mod:`crmcore.clv` (Fader, Hardie and
    Lee, 2005) is fitted to the :func:`~crmcore.clv.rfm_summary` of the
    transactions up to the cutoff (``observation_end = as_of``) and scores
    every customer from recency, frequency and age alone.

    Parameters
    ----------
    target : {"dead", "no_purchase"}, default "dead"
        ``"dead"``: the score is ``1 - P(alive)``, the classic BTYD churn
        score. ``"no_purchase"``: the model's probability that the customer
        makes no purchase in the next ``horizon``, which is exactly the event
        :func:`churn_labels` labels: a customer that is alive but buys rarely
        is also silent for a while. Given alive, the purchase rate is
        ``Gamma(r + x, α + T)``, so
        ``P(no purchase in h) = 1 - P(alive) · (1 - ((α + T) / (α + T + h))^(r + x))``.
    freq : str, default "D"
        Period of the summary (``"D"`` or ``"W"``); the horizon is converted
        to it.
    penalizer : float, default 0.0
        L2 penalty of the BG/NBD fit (see :class:`crmcore.clv.BetaGeoModel`).
    """

    target: str = attrs.field(default="dead")
    freq: str = "D"
    penalizer: float = 0.0

    @target.validator
    def _check_target(self, attribute: Any, value: str) -> None:
        if value not in ("dead", "no_purchase"):
            raise ValidationError(
                f"target must be 'dead' or 'no_purchase'; got {value!r}",
                field="target",
                value=value,
            )

    def score(
        self,
        transactions: pd.DataFrame,
        *,
        as_of: pd.Timestamp,
        horizon: pd.Timedelta | None = None,
        customer_col: str = "customer_id",
        date_col: str = "date",
    ) -> pd.Series:
        """Return the churn score per customer with a purchase up to ``as_of``.

        Parameters
        ----------
        transactions : pandas.DataFrame
            The log up to ``as_of`` (later rows are ignored by the summary).
        as_of : Timestamp
            End of observation.
        horizon : Timedelta, optional
            Needed for ``target="no_purchase"``.
        customer_col, date_col : str
            Column names.

        Returns
        -------
        pandas.Series
            Scores in ``[0, 1]`` indexed by customer.
        """
        from crmcore.clv import BetaGeoModel, rfm_summary  # noqa: PLC0415 - clv loads lazily

        summary = rfm_summary(
            transactions,
            customer_col=customer_col,
            date_col=date_col,
            observation_end=as_of,
            freq=self.freq,
        )
        model = BetaGeoModel(penalizer=self.penalizer).fit(summary)
        alive = np.asarray(model.probability_alive(summary), dtype=np.float64)
        if self.target == "dead":
            score = 1.0 - alive
        else:
            if horizon is None:
                raise ValidationError("target='no_purchase' needs the horizon", field="horizon")
            unit = self.freq if self.freq[:1].isdigit() else f"1{self.freq}"
            h = float(horizon.value) / float(as_period(unit, name="freq").value)
            r, alpha = model.params_["r"], model.params_["alpha"]
            x = summary["frequency"].to_numpy(dtype=np.float64)
            T = summary["T"].to_numpy(dtype=np.float64)
            quiet = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + h)))
            score = 1.0 - alive * (1.0 - quiet)
        return pd.Series(score, index=summary.index, name="churn_score")


@attrs.frozen
class BacktestResult:
    """What :func:`backtest` returns.

    Attributes
    ----------
    metrics : pandas.DataFrame
        Indexed by ``(cutoff, model)``: ``roc_auc``, ``pr_auc``, ``brier``,
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
        """Mean of each metric over the cutoffs, one row per model.

        Returns
        -------
        pandas.DataFrame
            Indexed by model name (in the order the models were given), one
            column per metric of :attr:`metrics`.
        """
        return self.metrics.groupby(level="model", sort=False).mean()


def default_features(transactions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Build :func:`crmcore.segmentation.customer_features` with their defaults."""
    from crmcore.segmentation import customer_features  # noqa: PLC0415

    value = "amount" if "amount" in transactions.columns else None
    if value is None and "value" in transactions.columns:
        value = "value"
    return customer_features(transactions, as_of=as_of, value_col=value)


def slice_until(transactions: pd.DataFrame, times: np.ndarray[Any, Any], cutoff: int) -> Any:
    """Rows dated on or before ``cutoff`` (a copy: later rows cannot leak back)."""
    return transactions.loc[times <= cutoff].copy()


def backtest(
    transactions: pd.DataFrame,
    *,
    cutoffs: Sequence[Any],
    horizon: Any,
    models: Mapping[str, Any] | None = None,
    lookback: Any = None,
    features: FeatureBuilder | None = None,
    customer_data: pd.DataFrame | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    bins: int = 10,
) -> BacktestResult:
    """Compare churn scores out of time: train before each cutoff, judge after it.

    For every cutoff ``c``:

    1. the log is cut to the rows dated ``<= c`` (the *past*); nothing else is
       handed to a model or a feature builder, so a feature computed from
       later data cannot be produced;
    2. the evaluation population is the customers active at ``c`` and their
       labels come from ``(c, c + horizon]`` (:func:`churn_labels`);
    3. every model scores that population from the past alone:

       - a :class:`PAliveBaseline` scores ``1 - P(alive)``;
       - an estimator with ``fit`` / ``predict_proba`` (a
         :class:`ChurnClassifier`, any scikit-learn classifier) is cloned and
         trained on features at ``c - horizon`` with labels from
         ``(c - horizon, c]`` (both inside the past), then applied to the
         features at ``c``;
       - any other callable ``f(past, as_of)`` returns scores indexed by
         customer (higher = riskier);
    4. scores are compared with :func:`score_metrics` (ROC AUC, PR AUC,
       Brier score, lift and capture in the top decile), a
       :func:`calibration_table` and a :func:`gains_table`.

    Parameters
    ----------
    transactions : pandas.DataFrame
        The purchase log (customer and datetime columns, optional amount).
    cutoffs : sequence of date-like
        Backtest cutoffs; each needs at least ``horizon`` of history before
        it (for training) and of log after it (for labels).
    horizon : str or timedelta
        Churn window, e.g. ``"90D"``.
    models : mapping of str to model, optional
        Name → model as above. Default: ``{"p_alive": PAliveBaseline(),
        "p_no_purchase": PAliveBaseline(target="no_purchase"),
        "classifier": ChurnClassifier(random_state=0)}``.
    lookback : str or timedelta, optional
        Activity window of :func:`churn_labels` (``None``: all history).
    features : callable, optional
        ``features(past, as_of) -> DataFrame`` indexed by customer; default
        :func:`crmcore.segmentation.customer_features` (with the ``amount``
        or ``value`` column when present).
    customer_data : pandas.DataFrame, optional
        Static per-customer columns (demographics, acquisition channel)
        joined to the features by index. They must not change over time;
        time-varying data (tickets, NPS) belongs in ``features``, which sees
        only the past.
    customer_col, date_col : str
        Column names.
    bins : int, default 10
        Bins of the calibration and gains tables.

    Returns
    -------
    BacktestResult
        ``metrics``, ``calibration`` and ``gains`` frames.

    Raises
    ------
    ValidationError
        On bad columns, dates or parameters, a cutoff without a full horizon
        of history before it or of log after it, or a population with a
        single class.
    """
    check_columns(transactions, [customer_col, date_col], name="transactions")
    if isinstance(cutoffs, str) or len(cutoffs) == 0:
        raise ValidationError("cutoffs must be a non-empty list of dates", field="cutoffs")
    points = sorted(as_timestamp(c, name="cutoffs") for c in cutoffs)
    window = as_period(horizon, name="horizon")
    back = None if lookback is None else as_period(lookback, name="lookback")
    k = int(check_scalar(bins, name="bins", low=1, integer=True))
    times = date_values(transactions, date_col, like=points[0])
    first, last = int(times.min()), int(times.max())
    if models is None:
        models = {
            "p_alive": PAliveBaseline(),
            "p_no_purchase": PAliveBaseline(target="no_purchase"),
            "classifier": ChurnClassifier(random_state=0),
        }
    if not models:
        raise ValidationError("models is empty", field="models")
    build = default_features if features is None else features

    metric_rows: list[dict[str, Any]] = []
    calib: list[pd.DataFrame] = []
    gains: list[pd.DataFrame] = []
    for cutoff in points:
        c = ts_ns(cutoff)
        if c + window.value > last:
            raise ValidationError(
                f"cutoff {cutoff} leaves less than the horizon ({window}) of log after it "
                f"(the log ends at {pd.Timestamp(last)})",
                field="cutoffs",
                value=cutoff,
            )
        if c - window.value < first:
            raise ValidationError(
                f"cutoff {cutoff} has less than the horizon ({window}) of history before it "
                "to train on",
                field="cutoffs",
                value=cutoff,
            )
        past = slice_until(transactions, times, c)
        past_times = times[times <= c]
        y = active_labels(
            transactions,
            times,
            customer_col=customer_col,
            t0=c,
            horizon_ns=window.value,
            back=back,
        )
        if y.min() == y.max():
            raise ValidationError(
                f"at cutoff {cutoff} every active customer has the same label; "
                "metrics need churners and stayers",
                field="cutoffs",
                value=cutoff,
            )
        cache: dict[pd.Timestamp, pd.DataFrame] = {}
        for name, model in models.items():
            score, n_train = _score(
                model,
                past=past,
                past_times=past_times,
                cutoff=cutoff,
                window=window,
                back=back,
                build=build,
                extra=customer_data,
                customer_col=customer_col,
                date_col=date_col,
                cache=cache,
            )
            s = score.reindex(y.index)
            if s.isna().any():
                missing = s.index[s.isna().to_numpy()][0]
                raise ValidationError(
                    f"model {name!r} gave no score for active customer {missing!r} at "
                    f"cutoff {cutoff}",
                    field="models",
                    row=missing,
                )
            yv, sv = y.to_numpy(), s.to_numpy(dtype=np.float64)
            m = score_metrics(yv, sv, top=0.1)
            metric_rows.append(
                {
                    "cutoff": cutoff,
                    "model": name,
                    "roc_auc": m["roc_auc"],
                    "pr_auc": m["pr_auc"],
                    "brier": m["brier"],
                    "lift_top_decile": m["lift_top"],
                    "capture_top_decile": m["capture_top"],
                    "base_rate": m["base_rate"],
                    "n_customers": int(m["n"]),
                    "n_train": n_train,
                }
            )
            g = gains_table(yv, sv, bins=k)
            gains.append(_tag(g, cutoff, name))
            if np.isfinite(m["brier"]):
                calib.append(_tag(calibration_table(yv, sv, bins=k), cutoff, name))
    metrics = pd.DataFrame(metric_rows).set_index(["cutoff", "model"])
    return BacktestResult(
        metrics=metrics,
        calibration=pd.concat(calib) if calib else pd.DataFrame(),
        gains=pd.concat(gains),
    )


def _tag(frame: pd.DataFrame, cutoff: pd.Timestamp, name: str) -> pd.DataFrame:
    out = frame.copy()
    out.index = pd.MultiIndex.from_arrays(
        [[cutoff] * len(frame), [name] * len(frame), frame.index],
        names=["cutoff", "model", "bin"],
    )
    return out


def _features(
    build: FeatureBuilder, past: pd.DataFrame, as_of: pd.Timestamp, extra: pd.DataFrame | None
) -> pd.DataFrame:
    X = build(past, as_of)
    if not isinstance(X, pd.DataFrame):
        raise ValidationError(
            f"features must return a DataFrame; got {type(X).__name__}", field="features"
        )
    if extra is not None:
        X = X.join(extra, how="left")
    return X


def _score(
    model: Any,
    *,
    past: pd.DataFrame,
    past_times: np.ndarray[Any, Any],
    cutoff: pd.Timestamp,
    window: pd.Timedelta,
    back: pd.Timedelta | None,
    build: FeatureBuilder,
    extra: pd.DataFrame | None,
    customer_col: str,
    date_col: str,
    cache: dict[pd.Timestamp, pd.DataFrame],
) -> tuple[pd.Series, int]:
    if isinstance(model, PAliveBaseline):
        score = model.score(
            past, as_of=cutoff, horizon=window, customer_col=customer_col, date_col=date_col
        )
        return score, 0
    if isinstance(model, _Supervised):
        train_as_of = cutoff - window
        t = ts_ns(train_as_of)
        y_train = active_labels(
            past, past_times, customer_col=customer_col, t0=t, horizon_ns=window.value, back=back
        )
        if train_as_of not in cache:
            train_past = slice_until(past, past_times, t)
            cache[train_as_of] = _features(build, train_past, train_as_of, extra)
        if cutoff not in cache:
            cache[cutoff] = _features(build, past, cutoff, extra)
        X_train, X_now = cache[train_as_of], cache[cutoff]
        est = clone(model).fit(X_train, y_train)
        p = np.asarray(est.predict_proba(X_now))[:, 1]
        return pd.Series(p, index=X_now.index), len(y_train)
    if callable(model):
        out = model(past, cutoff)
        if not isinstance(out, pd.Series):
            raise ValidationError(
                f"a score function must return a pandas Series; got {type(out).__name__}",
                field="models",
            )
        return out, 0
    raise ValidationError(
        f"a model must be a PAliveBaseline, an estimator with fit/predict_proba or a "
        f"callable; got {type(model).__name__}",
        field="models",
    )
