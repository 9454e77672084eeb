"""The customer-value analysis behind ``crmcore report``: library calls, no I/O.

Each figure in the summary is the result of one public crmcore call, so a
user can reproduce it in a notebook (``docs/tutorial.rst`` walks the same
steps).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd

from crmcore._deprecation import renamed_arguments, warn_renamed
from crmcore._limits import (
    MAX_DISCOUNT_RATE,
    MAX_DRAWS,
    MAX_HORIZON_MONTHS,
    MAX_PERIOD_DAYS,
    SEED_MAX,
)
from crmcore._time import Cutoff, Dates, read_dates, timestamps, to_zone
from crmcore._validation import check_scalar, first_bad
from crmcore.churn import ChurnClassifier, churn_labels
from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    TransactionModel,
    calibration_holdout_split,
    evaluate_holdout,
    predict_interval,
    rfm_summary,
)
from crmcore.errors import ValidationError
from crmcore.loyalty import csat, nps, nps_trend
from crmcore.pipeline import (
    SLAPolicy,
    forecast,
    sla_report,
    stage_funnel,
    weighted_pipeline,
    win_rate,
)
from crmcore.report._inputs import ReportData
from crmcore.segmentation import cohort_retention, customer_features, rfm_scores, rfm_segments

__all__ = [
    "DEFAULT_SLA_POLICY",
    "MODELS",
    "Analysis",
    "ReportOptions",
    "analyse",
    "cut_history",
    "fit_spend_model",
]

_log = logging.getLogger("crmcore.report")

#: The transaction models ``--model`` accepts.
MODELS: dict[str, type[BetaGeoModel] | type[ModifiedBetaGeoModel] | type[ParetoNBDModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pareto": ParetoNBDModel,
}

#: Service targets used for the SLA section (24/7 working time).
DEFAULT_SLA_POLICY = SLAPolicy(
    first_response={
        "urgent": dt.timedelta(hours=1),
        "high": dt.timedelta(hours=4),
        "normal": dt.timedelta(hours=8),
        "low": dt.timedelta(hours=24),
    },
    resolution={
        "urgent": dt.timedelta(hours=8),
        "high": dt.timedelta(hours=24),
        "normal": dt.timedelta(hours=72),
        "low": dt.timedelta(hours=120),
    },
)

Step = Callable[[str], None]


@attrs.frozen(kw_only=True)
class ReportOptions:
    """Settings of a customer-value report.

    Attributes
    ----------
    as_of : date-like, optional
        The cut-off (docs: "Time, cut-offs and units"): a date or
        ``"YYYY-MM-DD"`` means the end of that day, a datetime or
        ``Timestamp`` that instant (with a zone for aware data, without one
        for naive data). Default: the last transaction. Later transactions
        and survey answers are not observed.
    tz : str or tzinfo, optional
        The zone of the data's wall clock, e.g. ``"Europe/Paris"``. Naive
        dates are read as wall-clock times in it (localised explicitly);
        aware dates keep their instants and are shown in it. Calendar
        months (cohorts, the NPS trend) and a date-only ``as_of`` follow its
        wall clock. Default: none; naive dates stay naive, aware dates keep
        their own zone.
    model : {"bgnbd", "mbgnbd", "pareto"}
        Transaction model.
    period_days : float
        Length of the "next period" of ``expected_purchases`` (days).
    horizon_months : int
        CLV horizon in months of ``365.25 / 12`` days.
    discount_rate : float
        Monthly discount rate of CLV.
    holdout_days : float, optional
        Length of the holdout; default a quarter of the history, at most 180 days.
    churn_horizon_days : float
        Silence that counts as churn, for the churn-risk model.
    n_draws : int, optional
        Parametric-bootstrap draws of the CLV interval; default 200, fewer
        for large data (``n_customers × n_draws`` at most 50 million, at
        least 30 draws).
    confidence : float
        Confidence of the CLV interval (``clv_ci_low``, ``clv_ci_high``);
        ``level`` is its deprecated name.
    random_state : int
        Seed of the bootstrap and the churn model.
    """

    as_of: Any = None
    tz: Any = None
    model: Literal["bgnbd", "mbgnbd", "pareto"] = "bgnbd"
    period_days: float = 90.0
    horizon_months: int = 12
    discount_rate: float = 0.01
    holdout_days: float | None = None
    churn_horizon_days: float = 90.0
    n_draws: int | None = None
    confidence: float = 0.9
    random_state: int = 0

    def __attrs_post_init__(self) -> None:
        # the bounds the command checks too (crmcore._limits): refuse, never run for hours
        check_scalar(self.period_days, name="period_days", low=0, low_inclusive=False,
                     high=MAX_PERIOD_DAYS)  # fmt: skip
        check_scalar(self.horizon_months, name="horizon_months", low=1,
                     high=MAX_HORIZON_MONTHS, integer=True)  # fmt: skip
        check_scalar(self.discount_rate, name="discount_rate", low=0, high=MAX_DISCOUNT_RATE)
        if self.holdout_days is not None:
            check_scalar(self.holdout_days, name="holdout_days", low=0, low_inclusive=False,
                         high=MAX_PERIOD_DAYS)  # fmt: skip
        check_scalar(self.churn_horizon_days, name="churn_horizon_days", low=0,
                     low_inclusive=False, high=MAX_PERIOD_DAYS)  # fmt: skip
        if self.n_draws is not None:
            check_scalar(self.n_draws, name="n_draws", low=1, high=MAX_DRAWS, integer=True)
        check_scalar(self.confidence, name="confidence", low=0, high=1,
                     low_inclusive=False, high_inclusive=False)  # fmt: skip
        check_scalar(self.random_state, name="random_state", low=0, high=SEED_MAX, integer=True)

    @property
    def level(self) -> float:
        """Deprecated name of :attr:`confidence`."""
        warn_renamed("ReportOptions", "level", "confidence")
        return self.confidence


# `level=` keeps working for one release (a DeprecationWarning names `confidence=`)
ReportOptions.__init__ = renamed_arguments(level="confidence")(  # type: ignore[method-assign]
    ReportOptions.__init__
)


@attrs.frozen
class Analysis:
    """Results of :func:`analyse`: the customer table, the summary and plot data."""

    customers: pd.DataFrame
    summary: dict[str, Any]
    model: TransactionModel
    spend_model: GammaGammaModel
    holdout: pd.DataFrame | None
    cohorts: pd.DataFrame | None
    nps_trend: pd.DataFrame | None
    funnel: pd.DataFrame | None


def _clean(value: Any) -> Any:
    """JSON-safe scalars: NaN and infinities become None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    return value


def _records(frame: pd.DataFrame) -> list[Any]:
    out: list[Any] = _clean(frame.reset_index().to_dict(orient="records"))
    return out


def _params(model: Any) -> dict[str, Any]:
    errors = getattr(model, "standard_errors_", {}) or {}
    return {
        "params": {k: float(v) for k, v in model.params_.items()},
        "standard_errors": {k: float(v) for k, v in dict(errors).items()},
        "log_likelihood": float(model.log_likelihood_),
        "converged": bool(model.converged_),
    }


def fit_spend_model(summary: pd.DataFrame) -> GammaGammaModel:
    """Fit the Gamma-Gamma spend model on the repeat buyers of an RFM summary.

    Raises a :class:`~crmcore.errors.ValidationError` that says why when no
    customer has bought twice (instead of the spend model's "data is empty").
    """
    repeat = summary[summary["frequency"] > 0]
    if len(repeat) == 0:
        raise ValidationError(
            f"none of the {len(summary):,} customers bought more than once before as_of; "
            "the spend model (Gamma-Gamma) needs repeat buyers",
            field="frequency",
        )
    return GammaGammaModel().fit(repeat[["frequency", "monetary_value"]])


@attrs.frozen
class _Clock:
    """The report's time: the transaction dates on the one scale, the cut-off, the zone rule."""

    dates: Dates
    cutoff: Cutoff
    rules: dict[str, Any]


@attrs.frozen
class _CustomerCodes:
    """The history's customer ids factorised once, for every step of the analysis.

    Each library call then gets integer codes (a compact range, coded directly,
    no hashing of text) in place of the ids, and the ids come back on the
    customer table at the end. Two code sets, so that every step sees its
    customers in the order it would have seen the ids in (the same numbers):
    ``first`` in order of first appearance (the summaries' order for text ids),
    ``sorted`` in sorted id order (the churn features' and labels'); integer
    ids are coded in ascending order, which is both.
    """

    first: np.ndarray[Any, np.dtype[np.int64]]
    ids: pd.Index  # id of each code of ``first``
    sorted_of_first: np.ndarray[Any, np.dtype[np.int64]]  # ``sorted`` code of each ``first`` one
    first_of_sorted: np.ndarray[Any, np.dtype[np.int64]]

    @classmethod
    def of(cls, ids: pd.Series) -> _CustomerCodes:
        """Factorise ``ids`` (refused if any is missing, as the summary would)."""
        missing = np.asarray(ids.isna(), dtype=bool)
        if missing.any():
            first_bad(
                missing,
                name=str(ids.name),
                problem="must not be missing",
                values=ids.to_numpy(dtype=object),
                index=ids.index,
            )
        integer = ids.dtype.kind in "iu"
        codes, uniques = pd.factorize(ids, sort=integer)
        labels = pd.Index(uniques, name=ids.name)
        identity = np.arange(labels.size, dtype=np.int64)
        order = identity
        if not integer:
            try:
                order = np.asarray(labels.argsort(kind="stable"), dtype=np.int64)
            except TypeError:  # ids that do not compare: first appearance, as the features do
                order = identity
        rank = np.empty_like(order)
        rank[order] = identity
        return cls(np.asarray(codes, dtype=np.int64), labels, rank, order)

    def sorted_index(self, first: pd.Index) -> pd.Index:
        """Return the ``sorted`` codes of the ``first`` codes in ``first``."""
        out: pd.Index = pd.Index(self.sorted_of_first[first.to_numpy()])
        return out

    def frame(self, tx: pd.DataFrame, *, order: Literal["first", "sorted"]) -> pd.DataFrame:
        """``tx`` with its customer ids replaced by the codes of ``order``."""
        codes = self.first if order == "first" else self.sorted_of_first[self.first]
        return tx.assign(customer_id=codes)


def _transaction_dates(transactions: pd.DataFrame, tz: Any) -> tuple[pd.DataFrame, Dates]:
    dates = read_dates(transactions["date"], name="date")
    if tz is not None:
        dates = dates.in_zone(tz)
        transactions = transactions.assign(date=dates.to_index())
    return transactions, dates


def _clock(dates: Dates, as_of: Any, tz: Any) -> _Clock:
    """Resolve ``as_of`` against the transaction dates and say which rules were used."""
    if as_of is None:
        last = timestamps(np.array([dates.ns.max()], dtype=np.int64), dates.tz)[0]
        cutoff = dates.cutoff(last)
        as_of_rule = "the last transaction (no as_of given)"
    else:
        cutoff = dates.cutoff(as_of)
        as_of_rule = (
            f"the end of the day (period) {as_of} on the data's wall clock"
            if cutoff.date_only
            else f"the instant {cutoff.timestamp.isoformat()}"
        )
    if cutoff.ns < int(dates.ns.min()):
        first = timestamps(np.array([dates.ns.min()], dtype=np.int64), dates.tz)[0]
        raise ValidationError(
            f"as_of {cutoff} is before the first transaction ({first.isoformat()})",
            field="as_of",
            value=as_of,
        )
    if tz is not None:
        zone_rule = (
            f"dates in {tz} (tz given): naive dates read as wall-clock times there, "
            "aware ones converted; calendar months on its wall clock"
        )
    elif dates.tz is not None:
        zone_rule = (
            f"timezone-aware dates compared as instants; calendar months on the wall clock "
            f"of {dates.tz}"
        )
    else:
        zone_rule = (
            "naive dates: wall-clock times in no stated zone, compared as they are "
            "(give tz / --tz to place them in a zone)"
        )
    rules = {
        "as_of": cutoff.timestamp.isoformat(),
        "as_of_rule": as_of_rule,
        "zone": None if dates.tz is None else str(dates.tz),
        "zone_rule": zone_rule,
    }
    return _Clock(dates=dates, cutoff=cutoff, rules=rules)


def cut_history(
    transactions: pd.DataFrame, as_of: Any = None, tz: Any = None
) -> tuple[pd.DataFrame, _Clock]:
    """Return the transactions at or before ``as_of`` (in zone ``tz`` if given) and the clock.

    Raises
    ------
    ValidationError
        Unreadable dates, an ``as_of`` the time rules refuse (naive against
        aware, out of range, unparseable) or one before the first transaction.
    """
    transactions, dates = _transaction_dates(transactions, tz)
    clock = _clock(dates, as_of, tz)
    return transactions[dates.ns <= clock.cutoff.ns], clock


def _observed_surveys(surveys: pd.DataFrame | None, clock: _Clock, tz: Any) -> Any:
    """Survey answers at or before ``as_of`` (later ones are not observed yet)."""
    if surveys is None or len(surveys) == 0:
        return surveys
    dates = read_dates(surveys["date"], name="survey date")
    if tz is not None:
        dates = dates.in_zone(tz)
        surveys = surveys.assign(date=dates.to_index())
    if dates.aware != clock.dates.aware:
        kinds = ("timezone-aware", "naive") if dates.aware else ("naive", "timezone-aware")
        raise ValidationError(
            f"survey dates are {kinds[0]} but transaction dates are {kinds[1]}: crmcore never "
            "gives naive dates a zone silently; give tz (--tz ZONE) to read both in one zone",
            field="date",
        )
    return surveys[dates.ns <= clock.cutoff.ns]


def _holdout(
    tx: pd.DataFrame, model_cls: Any, as_of: pd.Timestamp, days: float | None
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    first = tx["date"].min()
    span_days = (as_of - first).total_seconds() / 86400.0
    length = min(span_days / 4.0, 180.0) if days is None else float(days)
    calibration_end = as_of - pd.Timedelta(days=length)
    if length < 7 or calibration_end <= first + pd.Timedelta(days=30):
        return {"available": False, "reason": "history too short for a holdout"}, None
    split = calibration_holdout_split(
        tx, as_of=calibration_end, holdout_end=as_of, value_col="amount"
    )
    fitted = model_cls(on_failure="warn").fit(split)
    evaluation = evaluate_holdout(fitted, split)
    by_freq = evaluation.by_frequency
    info = {
        "available": True,
        # the arguments of calibration_holdout_split that reproduce this check
        "as_of": calibration_end.isoformat(),
        "holdout_end": as_of.isoformat(),
        "holdout_days": length,
        "n_customers": len(split),
        "mae": evaluation.mae,
        "rmse": evaluation.rmse,
        "bias": evaluation.bias,
        "actual_total": evaluation.actual_total,
        "predicted_total": evaluation.predicted_total,
    }
    return info, by_freq


def _churn_risk(
    tx: pd.DataFrame, as_of: pd.Timestamp, horizon_days: float, seed: int, index: pd.Index
) -> tuple[pd.Series, dict[str, Any]]:
    cutoff = as_of - pd.Timedelta(days=horizon_days)
    past = tx[tx["date"] <= cutoff]
    horizon = pd.Timedelta(days=horizon_days)
    info: dict[str, Any] = {
        "horizon_days": horizon_days,
        "training_as_of": cutoff.isoformat(),
    }
    try:
        # the history is observed up to as_of: a quiet last stretch is silence, not a gap
        labels = churn_labels(tx, as_of=cutoff, horizon=horizon, observed_until=as_of)
        train = customer_features(past, as_of=cutoff, value_col="amount")
        clf = ChurnClassifier(
            model="logistic", n_repeats=1, importance_max_samples=5000, random_state=seed
        ).fit(train, labels)
        now = customer_features(tx, as_of=as_of, value_col="amount")
        risk = pd.Series(clf.predict_proba(now)[:, 1], index=now.index, name="churn_risk")
    except (ValidationError, ValueError) as err:
        # too little history or a single class: no risk model rather than a made-up one
        info.update(available=False, reason=str(err).splitlines()[0])
        _log.warning("churn risk not available: %s", info["reason"])
        return pd.Series(np.nan, index=index, name="churn_risk"), info
    info.update(
        available=True,
        model="ChurnClassifier(model='logistic', calibration='isotonic')",
        n_training_customers=len(labels),
        training_churn_rate=float(labels.mean()),
        validation=_clean(dict(getattr(clf, "validation_scores_", {}) or {})),
    )
    return risk.reindex(index), info


def _surveys(surveys: pd.DataFrame | None) -> tuple[dict[str, Any], pd.DataFrame | None]:
    if surveys is None or len(surveys) == 0:
        return {"available": False}, None
    out: dict[str, Any] = {"available": True}
    trend = None
    nps_rows = surveys[surveys["kind"] == "nps"]
    if len(nps_rows):
        res = nps(nps_rows["score"].to_numpy())
        out["nps"] = {
            "n": len(nps_rows),
            "score": res.score,
            "standard_error": res.standard_error,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
        }
        trend = nps_trend(nps_rows, freq="M", min_n=30)
    csat_rows = surveys[surveys["kind"] == "csat"]
    if len(csat_rows):
        scale = int(csat_rows["scale"].max())
        res_c = csat(csat_rows["score"].to_numpy(), scale=scale)
        out["csat"] = {
            "n": len(csat_rows),
            "scale": scale,
            "score": res_c.score,
            "standard_error": res_c.standard_error,
            "ci_low": res_c.ci_low,
            "ci_high": res_c.ci_high,
        }
    return out, trend


def _pipeline(data: ReportData, as_of: pd.Timestamp) -> tuple[dict[str, Any], pd.DataFrame | None]:
    opps = data.opportunities
    if opps is None or len(opps) == 0:
        return {"available": False}, None
    frame = opps.rename(columns={"expected_close_date": "close_date"})
    weighted = weighted_pipeline(frame)
    rate = win_rate(frame)
    fc = forecast(frame, freq="M", category_col=None)
    funnel = None
    if data.opportunity_events is not None and len(data.opportunity_events):
        funnel = stage_funnel(data.opportunity_events, as_of=as_of)  # history at or before as_of
    info: dict[str, Any] = {
        "available": True,
        "n_opportunities": len(opps),
        "weighted_pipeline": _records(weighted),
        "win_rate": _records(rate),
        "forecast": _records(fc),
    }
    if funnel is not None:
        info["funnel"] = _records(funnel)
    return info, funnel


def _sla(data: ReportData, as_of: pd.Timestamp) -> dict[str, Any]:
    tickets = data.tickets
    if tickets is None or len(tickets) == 0 or data.ticket_events is None:
        return {"available": False}
    report = sla_report(
        tickets, data.ticket_events, DEFAULT_SLA_POLICY, as_of=as_of.to_pydatetime()
    )
    out: dict[str, Any] = {"available": True, "n_tickets": len(report), "calendar": "24/7 UTC"}
    for target in ("first_response", "resolution"):
        state = report[f"{target}_state"]
        decided = state.isin(["met", "breached"])
        met = int((state == "met").sum())
        out[target] = {
            "met": met,
            "breached": int((state == "breached").sum()),
            "ongoing": int((state == "ongoing").sum()),
            "attainment": met / int(decided.sum()) if decided.any() else None,
        }
    return out


def _loyalty(data: ReportData, table: pd.DataFrame) -> dict[str, Any]:
    members = data.loyalty_accounts
    if members is None or len(members) == 0:
        return {"available": False}
    tier = members.drop_duplicates("customer_id").set_index("customer_id")["tier"]
    tier = tier.astype("string").fillna("none").reindex(table.index.astype(str))
    tier.index = table.index
    label = tier.fillna("not a member")
    groups = table.groupby(label.to_numpy())
    by_tier = pd.DataFrame(
        {
            "customers": groups.size(),
            "mean_clv": groups["clv"].mean(),
            "mean_p_alive": groups["p_alive"].mean(),
        }
    )
    by_tier.index.name = "tier"
    return {"available": True, "members": int(tier.notna().sum()), "by_tier": _records(by_tier)}


#: Conversion window and attribution look-back of the campaigns section.
CAMPAIGN_WINDOW = "7D"
_CAMPAIGN_COLUMNS = [
    "members",
    "control",
    "sent",
    "open_rate",
    "open_rate_ci_low",
    "open_rate_ci_high",
    "click_rate",
    "click_rate_ci_low",
    "click_rate_ci_high",
    "conversion_rate",
    "revenue",
    "cost",
    "romi",
    "incremental_revenue",
    "incremental_revenue_ci_low",
    "incremental_revenue_ci_high",
]
_ATTRIBUTION_MODELS = ("last_touch", "markov")


def _campaigns(data: ReportData, as_of: pd.Timestamp, confidence: float) -> dict[str, Any]:
    """KPIs with intervals, incremental revenue, and attribution of purchases by channel."""
    from crmcore.marketing import attribute  # noqa: PLC0415 -- only with campaigns

    frames = data.campaigns
    if frames is None or len(frames.members) == 0:
        return {"available": False}
    kpis = frames.kpis(as_of=as_of, conversion_window=CAMPAIGN_WINDOW, confidence=confidence)
    events = frames.events
    touches = events.loc[events["type"] == "click", ["customer_id", "date", "channel"]]
    orders = frames.orders[["customer_id", "date", "amount"]]
    attribution = {}
    for model in _ATTRIBUTION_MODELS:
        result = attribute(
            touches, orders, model=model, as_of=as_of, lookback=CAMPAIGN_WINDOW
        ).by_channel
        attribution[model] = _records(result)
    return {
        "available": True,
        "conversion_window": CAMPAIGN_WINDOW,
        "attribution_lookback": CAMPAIGN_WINDOW,
        "currency": frames.currency,
        "by_campaign": _records(kpis[_CAMPAIGN_COLUMNS]),
        "attribution": attribution,
    }


def analyse(
    data: ReportData, options: ReportOptions | None = None, *, step: Step | None = None
) -> Analysis:
    """Run the customer-value analysis.

    Parameters
    ----------
    data : ReportData
        Inputs (see :func:`read_transactions`, :func:`read_store`).
    options : ReportOptions, optional
        Settings (defaults as documented there).
    step : callable, optional
        Called with the name of each step as it starts (progress display).

    Returns
    -------
    Analysis

    Raises
    ------
    ValidationError
        For unusable inputs (see the library functions called).
    """
    opts = ReportOptions() if options is None else options
    if opts.model not in MODELS:
        raise ValidationError(
            f"model must be one of {', '.join(MODELS)}; got {opts.model!r}",
            field="model",
            value=opts.model,
        )
    say = step if step is not None else (lambda _name: None)
    model_cls = MODELS[opts.model]
    tz = None if opts.tz is None else to_zone(opts.tz, name="tz")
    tx, clock = cut_history(data.transactions, opts.as_of, tz)
    as_of = clock.cutoff.timestamp

    say("summarising transactions")
    customers = _CustomerCodes.of(tx["customer_id"])
    tx = customers.frame(tx, order="first")
    summary = rfm_summary(tx, value_col="amount", as_of=as_of, freq="D")
    # first: without repeat buyers nothing below is meaningful (and this says why)
    spend = fit_spend_model(summary)
    say("holdout check")
    holdout_info, by_freq = _holdout(tx, model_cls, as_of, opts.holdout_days)
    say(f"fitting {opts.model}")
    model = model_cls().fit(summary[["frequency", "recency", "T"]])

    say("scoring customers")
    table = summary.copy()
    table["p_alive"] = model.probability_alive(summary)
    purchases_col = f"expected_purchases_{opts.period_days:g}d"
    table[purchases_col] = model.expected_purchases(opts.period_days, summary)
    table["expected_spend"] = spend.expected_spend(summary[["frequency", "monetary_value"]])
    n_draws = opts.n_draws
    if n_draws is None:
        n_draws = int(np.clip(50_000_000 // max(len(summary), 1), 30, 200))
    say(f"CLV with {opts.confidence:.0%} intervals ({n_draws} bootstrap draws)")
    band = predict_interval(
        model,
        "clv",
        summary,
        spend_model=spend,
        horizon=opts.horizon_months,
        time_unit=365.25 / 12,
        discount_rate=opts.discount_rate,
        n_draws=n_draws,
        confidence=opts.confidence,
        random_state=opts.random_state,
    )
    table["clv"] = band["estimate"]
    table["clv_ci_low"] = band["ci_low"]
    table["clv_ci_high"] = band["ci_high"]
    say("segments")
    # ties are broken by the customer ids' sorted order: score on the sorted codes
    scores = rfm_scores(summary.set_axis(customers.sorted_index(summary.index)))
    scores = scores.set_axis(table.index)
    table = table.join(scores[["r_score", "f_score", "m_score"]])
    table["rfm_segment"] = rfm_segments(scores)
    say("churn risk")
    risk, churn_info = _churn_risk(
        customers.frame(tx, order="sorted"),
        as_of,
        opts.churn_horizon_days,
        opts.random_state,
        customers.sorted_index(table.index),
    )
    table["churn_risk"] = risk.to_numpy()
    table.index = customers.ids[table.index.to_numpy()]
    table.index.name = "customer_id"
    table = table.sort_index(kind="stable")

    say("cohorts, surveys, pipeline")
    # calendar months on the data's own wall clock
    cohorts = cohort_retention(tx, freq="M", as_of=as_of, value_col="amount").shares
    survey_info, trend = _surveys(_observed_surveys(data.surveys, clock, tz))
    pipeline_info, funnel = _pipeline(data, as_of)
    sla_info = _sla(data, as_of)
    loyalty_info = _loyalty(data, table)
    say("campaigns")
    campaign_info = _campaigns(data, as_of, opts.confidence)

    segments = table.groupby("rfm_segment", observed=False).agg(
        customers=("clv", "size"),
        total_clv=("clv", "sum"),
        mean_clv=("clv", "mean"),
        mean_p_alive=("p_alive", "mean"),
    )
    result = {
        "as_of": as_of.isoformat(),
        "time": clock.rules,
        "n_customers": len(table),
        "n_transactions": len(tx),
        "revenue": float(tx["amount"].sum()),
        "model": {"name": opts.model, **_params(model)},
        "spend_model": {"name": "gamma_gamma", **_params(spend)},
        "settings": {
            "time_unit": "days",
            "period_days": opts.period_days,
            "clv_horizon_months": opts.horizon_months,
            "clv_month_days": 365.25 / 12,
            "monthly_discount_rate": opts.discount_rate,
            "confidence": opts.confidence,
            "bootstrap_draws": n_draws,
            "random_state": opts.random_state,
        },
        "totals": {
            "expected_purchases_next_period": float(table[purchases_col].sum()),
            "clv": float(table["clv"].sum()),
            "mean_p_alive": float(table["p_alive"].mean()),
        },
        "holdout": holdout_info,
        "segments": _records(segments),
        "churn": churn_info,
        "surveys": survey_info,
        "pipeline": pipeline_info,
        "sla": sla_info,
        "loyalty": loyalty_info,
        "campaigns": campaign_info,
    }
    return Analysis(
        customers=table,
        summary=_clean(result),
        model=model,
        spend_model=spend,
        holdout=by_freq,
        cohorts=cohorts,
        nps_trend=trend,
        funnel=funnel,
    )
