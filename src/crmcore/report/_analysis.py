"""The customer-value analysis behind ``crmcore report``: library calls, no I/O.

Each figure in the summary is the result of one public crmcore call, so a
user can reproduce it in a notebook (``docs/tutorial.rst`` walks the same
steps).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd

from crmcore._dask import is_dask
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
from crmcore.churn import ChurnClassifier
from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    TransactionModel,
    compare_models,
    predict_interval,
)
from crmcore.errors import ConvergenceError, ConvergenceWarning, ValidationError
from crmcore.loyalty import csat, nps, nps_trend
from crmcore.pipeline import (
    SLAPolicy,
    forecast,
    pipeline_snapshot,
    sla_report,
    stage_funnel,
    weighted_pipeline,
    win_rate,
)

# the library's per-transaction steps, run on the workers when the log is on a Dask cluster
# (a ClusterLog from the input stage below); a pandas log goes straight to the library
from crmcore.report._distributed import (
    calibration_holdout_split,
    churn_labels,
    cohort_retention,
    customer_features,
    rfm_summary,
)
from crmcore.report._inputs import ReportData, release_arrow_memory
from crmcore.segmentation import rfm_scores, rfm_segments
from crmcore.segmentation._features import FeatureLog

__all__ = [
    "DEFAULT_SLA_POLICY",
    "MIN_CUSTOMERS",
    "MODELS",
    "Analysis",
    "ReportOptions",
    "analyse",
    "customer_columns",
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

#: Fewest customers (and repeat buyers) a report fits its models on.
MIN_CUSTOMERS = 20

#: The model names ``--model auto`` compares (BIC on the calibration period).
_AUTO = "auto"

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
    model : {"auto", "bgnbd", "mbgnbd", "pareto"}
        Transaction model; ``"auto"`` (default) fits the three on the
        calibration period of the holdout check and keeps the one with the
        lowest BIC (:func:`crmcore.clv.compare_models`), then refits it on
        the whole history.
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
    model: Literal["auto", "bgnbd", "mbgnbd", "pareto"] = "auto"
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
    comparison: pd.DataFrame | None
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

    The spend model is defined for customers with repeat purchases of a
    positive mean value: repeat buyers whose repeat purchases were all free
    (``monetary_value == 0``) are left out of the fit (the report gives
    them a stated fallback, see :func:`analyse`).

    Raises a :class:`~crmcore.errors.ValidationError` that says why when no
    customer has bought twice (instead of the spend model's "data is empty").
    """
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) == 0:
        raise ValidationError(
            f"none of the {len(summary):,} customers bought more than once (for a positive "
            "amount) before as_of; the spend model (Gamma-Gamma) needs repeat buyers",
            field="frequency",
        )
    if len(repeat) < MIN_CUSTOMERS:
        raise ValidationError(
            f"only {len(repeat):,} customers bought more than once (for a positive amount) "
            f"before as_of; the spend model (Gamma-Gamma) needs at least {MIN_CUSTOMERS}: "
            "report on a longer history or more customers",
            field="frequency",
            value=len(repeat),
        )
    try:
        return GammaGammaModel().fit(repeat[["frequency", "monetary_value"]])
    except ConvergenceError as err:
        raise ValidationError(
            f"the spend model (Gamma-Gamma) could not be fitted on the {len(repeat):,} repeat "
            f"buyers ({str(err).splitlines()[0]}); report on more customers",
            field="monetary_value",
        ) from None


def _spend_fallback(summary: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Give repeat buyers whose repeat purchases were all free the mean of the others' spend.

    The Gamma-Gamma model is not defined for a mean spend of zero; those
    customers keep their purchase counts (they bought) and are scored with
    the mean ``monetary_value`` of the repeat buyers the spend model was
    fitted on. The count is stated in the data-quality notes.
    """
    free = (summary["frequency"] > 0) & (summary["monetary_value"] <= 0)
    if not free.any():
        return summary
    fitted = summary.loc[(summary["frequency"] > 0) & ~free, "monetary_value"]
    fallback = float(fitted.mean())
    notes.append(
        f"{int(free.sum()):,} repeat buyers spent nothing on their repeat purchases (free "
        "orders); the spend model is not defined for them: they are scored with the mean "
        f"spend of the other repeat buyers ({fallback:,.2f} per purchase)"
    )
    out = summary.copy()
    out.loc[free, "monetary_value"] = fallback
    return out


def _duplicate_rows(tx: pd.DataFrame) -> int:
    """Count the rows repeating an earlier row exactly (customer, time and amount).

    The same count as ``tx.duplicated(["customer_id", "date", "amount"]).sum()``,
    without hashing every customer id: rows are first screened on their time
    (in a log sorted by time, only rows next to one at the same time can
    repeat one) and a hash of their time and amount (an exact duplicate
    shares both, so it is kept); only the rows left are compared in full.
    """
    keys = ["customer_id", "date", "amount"]
    date, amount = tx["date"], tx["amount"]
    if len(tx) < 2 or date.dtype.kind != "M" or amount.dtype != np.float64:
        return int(tx.duplicated(keys).sum())
    ticks = np.asarray(date.array.asi8, dtype=np.int64)
    rows = None  # every row; in a log sorted by time, the rows sharing their time with another
    if bool(np.all(ticks[1:] >= ticks[:-1])):
        same = ticks[1:] == ticks[:-1]
        shared = np.zeros(len(ticks), dtype=bool)
        shared[1:] = same
        shared[:-1] |= same
        rows = np.flatnonzero(shared)
        ticks = ticks[rows]
    values = amount.to_numpy(dtype=np.float64)
    values = (values if rows is None else values[rows]) + 0.0  # -0.0 is 0.0, as in pandas
    values[np.isnan(values)] = np.nan  # one NaN bit pattern
    with np.errstate(over="ignore"):
        mixed = ticks.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ values.view(np.uint64)
    candidates = np.flatnonzero(pd.Series(mixed).duplicated(keep=False).to_numpy())
    if rows is not None:
        candidates = rows[candidates]
    if candidates.size == 0:
        return 0
    return int(tx.iloc[candidates].duplicated(keys).sum())


def _data_quality(tx: pd.DataFrame) -> tuple[pd.DataFrame, list[str], dict[str, int]]:
    """Handle the quirks of real logs; say what was done with each.

    - Refunds (negative amounts) are netted per customer and calendar day
      (the report's purchase grain): a refund lowers the amount of that
      day's purchases; a day whose net amount is below zero (a refund
      without a purchase that day) is not a purchase and is left out.
    - Free orders (amount zero) are purchases: they count in frequency.
    - Exact duplicate rows (same customer, time and amount) are counted and
      kept; at the daily grain they add to the day's amount, not to the
      number of purchases.
    """
    counts = {
        "rows": len(tx),
        "duplicate_rows": _duplicate_rows(tx),
        "refund_rows": int((tx["amount"] < 0).sum()),
        "refund_days_dropped": 0,
        "free_rows": 0,
        "free_spend_customers": 0,
    }
    refunded = 0.0
    if counts["refund_rows"]:
        day = tx["date"].dt.normalize()
        key = [tx["customer_id"], day]
        touched = (tx["amount"] < 0).groupby(key).transform("any").to_numpy(dtype=bool)
        plain = tx[~touched]
        netted = (
            tx[touched]
            .assign(day=day[touched])
            .groupby(["customer_id", "day"], sort=False)
            .agg(date=("date", "min"), amount=("amount", "sum"))
            .reset_index()[["customer_id", "date", "amount"]]
        )
        negative = netted["amount"] < 0
        counts["refund_days_dropped"] = int(negative.sum())
        refunded = float(-tx.loc[tx["amount"] < 0, "amount"].sum())
        tx = pd.concat([plain, netted[~negative]], ignore_index=True)
        tx = tx.sort_values(["date", "customer_id"], kind="stable", ignore_index=True)
    counts["free_rows"] = int((tx["amount"] == 0).sum())
    return tx, _quality_notes(counts, refunded), counts


def _quality_notes(counts: dict[str, int], refunded: float) -> list[str]:
    """Say what :func:`_data_quality` did, from its counts (``refunded``: refunds' total)."""
    notes: list[str] = []
    if counts["duplicate_rows"]:
        notes.append(
            f"{counts['duplicate_rows']:,} rows repeat an earlier row exactly (customer, time "
            "and amount); kept: at the daily grain they add to that day's amount, not to the "
            "number of purchases (remove them first if they are export artefacts)"
        )
    if counts["refund_rows"]:
        notes.append(
            f"{counts['refund_rows']:,} refunds (negative amounts, {refunded:,.2f} in total) "
            "netted against the same customer's purchases of the same day; "
            f"{counts['refund_days_dropped']:,} customer-days with a net refund (no purchase "
            "that day) are not purchases and were left out"
        )
    if counts["free_rows"]:
        notes.append(
            f"{counts['free_rows']:,} purchases of amount zero (free or fully refunded orders) "
            "count as purchases"
        )
    return notes


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
        if isinstance(ids.dtype, pd.CategoricalDtype):
            categories = ids.dtype.categories
            if categories.dtype.kind in "iu" or not categories.is_monotonic_increasing:
                ids = ids.astype(categories.dtype)  # coded as the ids themselves would be
            else:
                return cls._of_categories(ids, categories)
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

    @classmethod
    def _of_categories(cls, ids: pd.Series, categories: pd.Index) -> _CustomerCodes:
        """Factorise categorical ids with sorted categories (:func:`read_transactions`').

        The first-appearance order of the ids is that of their category codes,
        and sorted categories rank the ids: a pass over small integers, where
        the ids themselves would be hashed and their texts sorted.
        """
        codes, seen = pd.factorize(ids.cat.codes.to_numpy(dtype=np.int64))
        labels = pd.Index(categories.take(seen), name=ids.name)
        order = np.asarray(np.argsort(seen, kind="stable"), dtype=np.int64)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size, dtype=np.int64)
        return cls(np.asarray(codes, dtype=np.int64), labels, rank, order)

    def sorted_index(self, first: pd.Index) -> pd.Index:
        """Return the ``sorted`` codes of the ``first`` codes in ``first``."""
        out: pd.Index = pd.Index(self.sorted_of_first[first.to_numpy()])
        return out

    def frame(self, tx: pd.DataFrame, *, order: Literal["first", "sorted"]) -> pd.DataFrame:
        """``tx`` with its customer ids replaced by the codes of ``order``."""
        codes = self.first if order == "first" else self.sorted_of_first[self.first]
        return tx.assign(customer_id=codes)


def check_customers(n_customers: int) -> None:
    """Refuse a history with fewer than :data:`MIN_CUSTOMERS` customers."""
    if n_customers < MIN_CUSTOMERS:
        raise ValidationError(
            f"the data hold {n_customers:,} customers with purchases at or before as_of; "
            f"the report's models need at least {MIN_CUSTOMERS} (a few hundred for useful "
            "intervals)",
            field="customer_id",
            value=n_customers,
        )


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
    seen = dates.ns <= clock.cutoff.ns
    if seen.all():  # the default as_of, the last transaction: no copy of the log
        return transactions, clock
    return transactions[seen], clock


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


_NO_ERRORS = (
    "standard errors undefined: the likelihood is flat at the optimum (parameters "
    "growing together without bound); the report's intervals need them"
)


@contextlib.contextmanager
def _flat_fits_quiet() -> Iterator[None]:
    """Candidates fitted for the model choice: a flat optimum is recorded, not warned.

    A candidate whose Hessian at the optimum is not positive definite has no
    standard errors, which the report shows and its CLV intervals draw from;
    :func:`_undefined_errors` takes it out of the choice with the reason.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*standard errors are undefined", category=ConvergenceWarning
        )
        yield


def _undefined_errors(model: Any) -> bool:
    """Return True when a fitted model's standard errors are undefined (NaN)."""
    return not np.isfinite(list(model.standard_errors_.values())).all()


def _without_flat(cmp: Any) -> Any:
    """``cmp`` with the models whose standard errors are undefined marked as not fitted."""
    flat = [name for name, model in cmp.models.items() if _undefined_errors(model)]
    if not flat:
        return cmp
    table = cmp.table.copy()
    table.loc[flat, ["log_likelihood", "aic", "bic"]] = np.nan
    table.loc[flat, "converged"] = False
    table.loc[flat, "error"] = f"ConvergenceWarning: {_NO_ERRORS}"
    models = {k: v for k, v in cmp.models.items() if k not in flat}
    return dataclasses.replace(cmp, table=table, models=models)


def _fit_by_bic(summary: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """Without a holdout: fit every model on the whole history, keep the lowest BIC."""
    rows: dict[str, dict[str, Any]] = {}
    for name, cls in MODELS.items():
        try:
            with _flat_fits_quiet():
                fitted = cls().fit(summary[["frequency", "recency", "T"]])
        except ConvergenceError as err:
            rows[name] = {"log_likelihood": None, "bic": None, "error": str(err).splitlines()[0]}
            continue
        if _undefined_errors(fitted):
            rows[name] = {"log_likelihood": None, "bic": None, "error": _NO_ERRORS}
            continue
        loglik = float(fitted.log_likelihood_)
        k = len(fitted.params_)
        rows[name] = {"log_likelihood": loglik, "bic": k * math.log(len(summary)) - 2 * loglik}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    if table["bic"].notna().sum() == 0:
        raise ValidationError(
            "no purchase model could be fitted on this history; report on more customers",
            field="model",
        )
    return str(table["bic"].astype(float).idxmin()), table


def _choose_model(
    tx: pd.DataFrame, as_of: pd.Timestamp, opts: ReportOptions, summary: pd.DataFrame
) -> tuple[str, dict[str, Any], pd.DataFrame | None, pd.DataFrame | None, dict[str, Any]]:
    """Run the holdout check and, for ``model="auto"``, choose the model.

    Returns the model name, the holdout summary, its by-frequency table, the
    comparison table (or None) and the model-choice summary.
    """
    first = tx["date"].min()
    span_days = (as_of - first).total_seconds() / 86400.0
    length = min(span_days / 4.0, 180.0) if opts.holdout_days is None else float(opts.holdout_days)
    calibration_end = as_of - pd.Timedelta(days=length)
    candidates = MODELS if opts.model == _AUTO else {opts.model: MODELS[opts.model]}
    reason = None
    split = None
    if length < 7 or calibration_end <= first + pd.Timedelta(days=30):
        reason = (
            f"the history ({span_days:.0f} days) is too short for a holdout: it needs a "
            "calibration period of more than 30 days and a holdout of at least 7"
        )
    else:
        split = calibration_holdout_split(
            tx, as_of=calibration_end, holdout_end=as_of, value_col="amount"
        )
        if int(split["frequency_holdout"].sum()) == 0:
            last = tx["date"].max()
            reason = (
                f"no purchase in the holdout window ({calibration_end.date()} to "
                f"{as_of.date()}; the last purchase is on {last.date()}): an error measured "
                "there says nothing, so none is shown"
            )
            split = None
    comparison = None
    by_freq = None
    if split is None:
        hold: dict[str, Any] = {"available": False, "reason": reason}
        if opts.model != _AUTO:
            return opts.model, hold, None, None, {"name": opts.model, "criterion": "given"}
        name, comparison = _fit_by_bic(summary)
        choice = {
            "name": name,
            "criterion": "bic",
            "reason": f"picked {name}: the lowest BIC on the whole history (no holdout: {reason})",
        }
        return name, hold, None, comparison, choice
    try:
        with _flat_fits_quiet():
            cmp = compare_models(split, {name: cls() for name, cls in candidates.items()})
        if opts.model == _AUTO:
            cmp = _without_flat(cmp)
    except ConvergenceError as err:
        raise ValidationError(
            f"no purchase model could be fitted on the calibration period "
            f"({str(err).splitlines()[0]}); report on more customers",
            field="model",
        ) from None
    table = cmp.table
    if opts.model == _AUTO:
        selection = cmp.select("bic")
        name = str(selection.name)
        choice = {
            "name": name,
            "criterion": "bic",
            "reason": f"{selection.reason} (BIC on the calibration period; the holdout "
            "errors are shown beside it: holdout MAE favours the model predicting least "
            "for the many silent customers, so it is not the criterion)",
        }
    else:
        name = opts.model
        choice = {"name": name, "criterion": "given"}
    row = table.loc[name]
    by_freq = pd.DataFrame(cmp.by_frequency.xs(name, level="model"))
    hold = {
        "available": True,
        "model": name,
        # the arguments of calibration_holdout_split that reproduce this check
        "as_of": calibration_end.isoformat(),
        "holdout_end": as_of.isoformat(),
        "holdout_days": length,
        "n_customers": len(split),
        "mae": row["holdout_mae"],
        "rmse": row["holdout_rmse"],
        "bias": row["holdout_bias"],
        "actual_total": int(
            table["actual_total"].to_numpy(dtype=np.float64)[table.index.get_loc(name)]
        ),
        "predicted_total": row["predicted_total"],
    }
    columns = ("converged", "log_likelihood", "bic", "holdout_mae", "holdout_rmse",
               "holdout_bias", "predicted_total", "actual_total", "error")  # fmt: skip
    shown = [c for c in columns if c in table.columns]
    comparison = table[shown]
    return name, hold, by_freq, comparison, choice


def _churn_classifier(seed: int) -> ChurnClassifier:
    """Return the report's churn model (the back-test trains the same kind).

    One BLAS/OpenMP thread: the logistic fit on a dozen columns gains no
    wall time from more (each matrix-vector product is too small to share
    out) and spent half again as many CPU seconds in the idle threads;
    the scores are the same (checked on the report benchmark).
    """
    return ChurnClassifier(
        model="logistic",
        n_repeats=1,
        importance_max_samples=5000,
        n_threads=1,
        random_state=seed,
    )


def _churn_risk(
    tx: pd.DataFrame, as_of: pd.Timestamp, horizon_days: float, seed: int, index: pd.Index
) -> tuple[pd.Series, dict[str, Any]]:
    cutoff = as_of - pd.Timedelta(days=horizon_days)
    # every call below reads the whole log: what is after its as_of (or after
    # observed_until) is not observed by it, so no filtered copy of the log is made
    horizon = pd.Timedelta(days=horizon_days)
    info: dict[str, Any] = {
        "horizon_days": horizon_days,
        "training_as_of": cutoff.isoformat(),
    }

    def unavailable(err: Exception) -> tuple[pd.Series, dict[str, Any]]:
        # too little history or a single class: no risk model rather than a made-up one
        # said by the caller (after the steps that may refuse the whole report)
        info.update(available=False, reason=str(err).splitlines()[0])
        return pd.Series(np.nan, index=index, name="churn_risk"), info

    try:
        # the history is observed up to as_of: a quiet last stretch is silence, not a gap
        labels = churn_labels(tx, as_of=cutoff, horizon=horizon, observed_until=as_of)
        # the log checked and coded once for the features at the three cut-offs
        features = _churn_features(tx)
    except (ValidationError, ValueError) as err:
        return unavailable(err)
    # one feature table in memory at a time: the back-test's model is trained first, then
    # the training features score it and train the report's model, then the scoring ones
    earlier = _backtest_model(tx, features, cutoff=cutoff, horizon=horizon, seed=seed)
    try:
        train = features(cutoff)
        backtest = None if earlier is None else _backtest_scores(earlier, train, labels)
        del earlier
        clf = _churn_classifier(seed).fit(train, labels)
    except (ValidationError, ValueError) as err:
        return unavailable(err)
    del train
    try:
        now = features(as_of)
        risk = pd.Series(clf.predict_proba(now)[:, 1], index=now.index, name="churn_risk")
    except (ValidationError, ValueError) as err:
        return unavailable(err)
    info.update(
        available=True,
        model="ChurnClassifier(model='logistic', calibration='isotonic')",
        n_training_customers=len(labels),
        training_churn_rate=float(labels.mean()),
        validation=_clean(dict(getattr(clf, "validation_scores_", {}) or {})),
        backtest=backtest,
    )
    return risk.reindex(index), info


#: Shares of customers (highest risk first) at which the gains table is read.
GAINS_SHARES = (0.1, 0.2, 0.3, 0.5, 1.0)


def _churn_features(tx: Any) -> Callable[[pd.Timestamp], pd.DataFrame]:
    """Return ``customer_features`` of ``tx`` at a cut-off, the log encoded once for all."""
    if isinstance(tx, pd.DataFrame):
        return FeatureLog.of(tx, value_col="amount").features
    return lambda at: customer_features(tx, as_of=at, value_col="amount")  # a ClusterLog


@attrs.frozen
class _Backtest:
    """The back-test's model: trained one horizon before the cut-off, with its dates."""

    model: ChurnClassifier
    trained_as_of: pd.Timestamp
    scored_as_of: pd.Timestamp


def _backtest_model(
    seen: pd.DataFrame,
    features_at: Callable[[pd.Timestamp], pd.DataFrame],
    *,
    cutoff: pd.Timestamp,
    horizon: pd.Timedelta,
    seed: int,
) -> _Backtest | None:
    """Train the back-test's model on the history up to ``cutoff - horizon``.

    Labels in the horizon after that date; ``seen`` is the log (what is after
    ``cutoff`` is not observed here) and ``features_at`` its features at a
    cut-off. None when the history is too short. :func:`_backtest_scores`
    then validates the model out of time, at ``cutoff``.
    """
    earlier = cutoff - horizon
    try:
        old = churn_labels(seen, as_of=earlier, horizon=horizon, observed_until=cutoff)
        train = features_at(earlier)
        return _Backtest(_churn_classifier(seed).fit(train, old), earlier, cutoff)
    except (ValidationError, ValueError) as err:
        _log.info("churn backtest not available: %s", str(err).splitlines()[0])
        return None


def _backtest_scores(
    backtest: _Backtest, features: pd.DataFrame, labels: pd.Series
) -> dict[str, Any] | None:
    """Validate the back-test's model out of time: rank the customers active at its cut-off.

    ``labels`` are their outcomes in ``(cutoff, cutoff + horizon]`` and
    ``features`` their :func:`customer_features` at ``cutoff`` (the churn
    model's training features, computed once for both). ROC AUC, Brier score
    and the gains (share of the churners among the riskiest customers)
    measure that ranking; nothing it scores was seen in its training. None
    when the scores cannot be computed or the outcomes are of one class.
    """
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415 -- sklearn loads with churn

    try:
        now = features.reindex(labels.index)
        risk = np.asarray(backtest.model.predict_proba(now)[:, 1], dtype=np.float64)
    except (ValidationError, ValueError) as err:
        _log.info("churn backtest not available: %s", str(err).splitlines()[0])
        return None
    y = labels.to_numpy(dtype=np.float64)
    if y.min() == y.max():
        return None
    order = np.argsort(-risk, kind="stable")
    captured = np.cumsum(y[order]) / y.sum()
    gains = []
    for share in GAINS_SHARES:
        k = max(1, round(share * len(y)))
        gains.append({"customers_share": share, "churners_captured": float(captured[k - 1])})
    return {
        "trained_as_of": backtest.trained_as_of.isoformat(),
        "scored_as_of": backtest.scored_as_of.isoformat(),
        "n": len(y),
        "churn_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, risk)),
        "brier": float(np.mean((risk - y) ** 2)),
        "gains": gains,
    }


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
    """Pipeline, win rate and forecast as they stood at ``as_of`` (rebuilt from the stage log)."""
    opps = data.opportunities
    if opps is None or len(opps) == 0:
        return {"available": False}, None
    frame = opps.rename(columns={"expected_close_date": "close_date"})
    events = data.opportunity_events
    rebuilt = events is not None and len(events) > 0
    if events is not None and rebuilt:
        # the deals created by as_of, at the stage, amount and close date they had then
        frame = pipeline_snapshot(events, frame, as_of=as_of).reset_index()
        category_col: str | None = "forecast_category"
    else:
        category_col = None
    weighted = weighted_pipeline(frame)
    rate = win_rate(frame)
    fc = forecast(frame, freq="M", category_col=category_col)
    if len(fc):
        # every month between the first and the last close date, also those without a deal
        months = pd.period_range(fc.index.min(), fc.index.max(), freq="M", name="period")
        fc = fc.reindex(months, fill_value=0.0)
    funnel = None
    if events is not None and rebuilt:
        funnel = stage_funnel(events, as_of=as_of)  # history at or before as_of
    info: dict[str, Any] = {
        "available": True,
        "as_of": as_of.isoformat(),
        "as_of_rule": "stages, amounts and close dates as they stood at as_of (rebuilt from "
        "the stage-change log)"
        if rebuilt
        else "the opportunities' current stages (no stage-change log in the data)",
        "n_opportunities": len(frame),
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


def customer_columns(
    purchases_col: str, opts: ReportOptions, currency: str | None
) -> dict[str, str]:
    """Describe each column of ``customers.csv``: its unit and exact meaning."""
    money = currency or "the data's currency units"
    days = opts.period_days
    return {
        "customer_id": "the customer's identifier, as in the input",
        "frequency": "repeat purchases: days with a purchase after the first purchase day, "
        "at or before as_of (a count; 0 for a one-time buyer)",
        "recency": "days from the first to the last purchase (the BTYD 'recency'; 0 for a "
        "one-time buyer). It is NOT the time since the last purchase: see "
        "days_since_last_purchase",
        "T": "days from the first purchase to as_of (the customer's age)",
        "monetary_value": f"mean amount of the repeat purchases, in {money} per purchase day "
        "(0 for a one-time buyer)",
        "days_since_last_purchase": "days from the last purchase to as_of (T - recency)",
        "p_alive": "probability, under the fitted purchase model, that the customer has not "
        "stopped buying for good by as_of (no horizon: 'alive' means will buy again some "
        "day, at its own rate). A one-time buyer seen long ago can be 'alive' yet unlikely "
        "to buy soon: read it with the expected purchases and churn_risk",
        purchases_col: f"expected number of purchase days in the next {days:g} days "
        f"(as_of, as_of + {days:g}d], under the purchase model",
        "expected_spend": f"expected amount per future purchase, in {money} (Gamma-Gamma "
        "spend model)",
        "clv": f"customer lifetime value: expected revenue over the next {opts.horizon_months} "
        f"months (of 30.44 days) after as_of, in {money}, discounted at "
        f"{opts.discount_rate:g} per month",
        "clv_ci_low": f"lower bound of the {opts.confidence:.0%} interval of clv (see the "
        "summary's clv_interval_covers)",
        "clv_ci_high": f"upper bound of the {opts.confidence:.0%} interval of clv",
        "r_score": "recency score 1-5 across customers (5: bought most recently)",
        "f_score": "frequency score 1-5 (5: most repeat purchases)",
        "m_score": "monetary score 1-5 (5: highest mean spend)",
        "rfm_segment": "RFM segment named from the three scores",
        "churn_risk": f"probability of no purchase in the next {opts.churn_horizon_days:g} "
        f"days (as_of, as_of + {opts.churn_horizon_days:g}d], from a calibrated logistic "
        "churn classifier trained on the history up to as_of minus that horizon (empty "
        "when no churn model could be trained)",
    }


@contextlib.contextmanager
def _noted(notes: list[str], what: str) -> Iterator[None]:
    """Turn the warnings of a step into data-quality notes (deprecations pass through)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for item in caught:
        if issubclass(item.category, DeprecationWarning):  # not ours to hide
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        else:
            notes.append(f"{what}: {str(item.message).splitlines()[0]}")


def _clv_band(
    model: TransactionModel,
    spend: GammaGammaModel,
    scored: pd.DataFrame,
    opts: ReportOptions,
    *,
    n_draws: int,
    notes: list[str],
) -> tuple[pd.DataFrame, str]:
    """CLV with its interval; say what the interval covers.

    The interval draws both models' parameters. Where the spend model's
    draws give some customer no finite mean spend (``q <= 1``: spend barely
    varies between customers, so ``q`` is poorly determined), the interval
    holds each customer's expected spend fixed and covers the purchase
    model's uncertainty only; the note says so.
    """
    kwargs: dict[str, Any] = {
        "horizon": opts.horizon_months,
        "time_unit": 365.25 / 12,
        "discount_rate": opts.discount_rate,
        "n_draws": n_draws,
        "confidence": opts.confidence,
        "random_state": opts.random_state,
    }
    try:
        with _noted(notes, "CLV interval"):
            band = predict_interval(model, "clv", scored, spend_model=spend, **kwargs)
        return band, "the purchase and spend models' parameter uncertainty"
    except ValidationError as err:
        # q <= 1 in too many draws, or no finite covariance of the spend model
        fixed = spend.expected_spend(scored[["frequency", "monetary_value"]])
        band = predict_interval(model, "clv", scored, spend_model=fixed, **kwargs)
        notes.append(
            "CLV interval: the spend model's parameters are too uncertain to draw "
            f"({str(err).splitlines()[0]}); the interval holds each customer's expected "
            "spend fixed and covers the purchase model's uncertainty only"
        )
        return band, "the purchase model's parameter uncertainty (expected spend held fixed)"


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
    if opts.model != _AUTO and opts.model not in MODELS:
        raise ValidationError(
            f"model must be one of {_AUTO}, {', '.join(MODELS)}; got {opts.model!r}",
            field="model",
            value=opts.model,
        )
    say = step if step is not None else (lambda _name: None)
    tz = None if opts.tz is None else to_zone(opts.tz, name="tz")
    if is_dask(data.transactions):
        # the input stage on the cluster: tx is then a ClusterLog (crmcore.report._distributed)
        from crmcore.report._distributed import cluster_input  # noqa: PLC0415

        tx, clock, currency, notes, quality, customers = cluster_input(
            data.transactions, opts.as_of, tz, say
        )
        as_of = clock.cutoff.timestamp
    else:
        tx, clock = cut_history(data.transactions, opts.as_of, tz)
        as_of = clock.cutoff.timestamp
        currency = data.transactions.attrs.get("currency")

        say("checking the data")
        tx, notes, quality = _data_quality(tx)
        # the ids factorised once (missing ids refused here); every step gets the codes
        customers = _CustomerCodes.of(tx["customer_id"])
        release_arrow_memory()  # what factorising text ids took from Arrow's pool
        check_customers(len(customers.ids))
    # churn risk first: its model fits' temporaries then sit on the least the analysis holds
    say("churn risk")
    risk, churn_info = _churn_risk(
        customers.frame(tx, order="sorted"),
        as_of,
        opts.churn_horizon_days,
        opts.random_state,
        customers.sorted_index(pd.RangeIndex(len(customers.ids))),  # every customer (both logs)
    )
    say("cohorts")
    tx = customers.frame(tx, order="first")
    # calendar months on the data's own wall clock; early too, for its 11M-row temporaries
    cohorts = cohort_retention(tx, freq="M", as_of=as_of, value_col="amount").shares
    say("summarising transactions")
    summary = rfm_summary(tx, value_col="amount", as_of=as_of, freq="D")
    # first: without repeat buyers nothing below is meaningful (and this says why)
    with _noted(notes, "spend model"):
        spend = fit_spend_model(summary)
    scored = _spend_fallback(summary, notes)
    quality["free_spend_customers"] = int(
        ((summary["frequency"] > 0) & (summary["monetary_value"] <= 0)).sum()
    )
    say("holdout check" + (" and model choice" if opts.model == _AUTO else ""))
    name, holdout_info, by_freq, comparison, choice = _choose_model(tx, as_of, opts, summary)
    say(f"fitting {name}")
    try:
        with _noted(notes, f"purchase model {name}"):
            model = MODELS[name]().fit(summary[["frequency", "recency", "T"]])
    except ConvergenceError as err:
        raise ValidationError(
            f"the purchase model {name} could not be fitted ({str(err).splitlines()[0]}); "
            "try another --model or report on more customers",
            field="model",
            value=name,
        ) from None

    say("scoring customers")
    table = summary.copy()
    table["days_since_last_purchase"] = summary["T"] - summary["recency"]
    table["p_alive"] = model.probability_alive(summary)
    purchases_col = f"expected_purchases_{opts.period_days:g}d"
    table[purchases_col] = model.expected_purchases(opts.period_days, summary)
    table["expected_spend"] = spend.expected_spend(scored[["frequency", "monetary_value"]])
    n_draws = opts.n_draws
    if n_draws is None:
        n_draws = int(np.clip(50_000_000 // max(len(summary), 1), 30, 200))
    say(f"CLV with {opts.confidence:.0%} intervals ({n_draws} bootstrap draws)")
    band, covers = _clv_band(model, spend, scored, opts, n_draws=n_draws, notes=notes)
    table["clv"] = band["estimate"]
    table["clv_ci_low"] = band["ci_low"]
    table["clv_ci_high"] = band["ci_high"]
    say("segments")
    # ties are broken by the customer ids' sorted order: score on the sorted codes
    scores = rfm_scores(summary.set_axis(customers.sorted_index(summary.index)))
    scores = scores.set_axis(table.index)
    table = table.join(scores[["r_score", "f_score", "m_score"]])
    table["rfm_segment"] = rfm_segments(scores)
    if not churn_info["available"]:
        _log.warning("churn risk not available: %s", churn_info["reason"])
    table["churn_risk"] = risk.reindex(customers.sorted_index(table.index)).to_numpy()
    del risk
    table.index = customers.ids[table.index.to_numpy()]
    table.index.name = "customer_id"
    table = table.sort_index(kind="stable")

    say("surveys, pipeline")
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
        mean_churn_risk=("churn_risk", "mean"),
    )
    result = {
        "as_of": as_of.isoformat(),
        "time": clock.rules,
        "currency": currency,
        "n_customers": len(table),
        "n_transactions": len(tx),
        "revenue": round(float(tx["amount"].sum()), 2),
        "model": {"name": name, **_params(model)},
        "model_choice": {
            **choice,
            "comparison": None if comparison is None else _records(comparison),
        },
        "spend_model": {"name": "gamma_gamma", **_params(spend)},
        "settings": {
            "time_unit": "days",
            "period_days": opts.period_days,
            "clv_horizon_months": opts.horizon_months,
            "clv_month_days": 365.25 / 12,
            "monthly_discount_rate": opts.discount_rate,
            "confidence": opts.confidence,
            "clv_interval_covers": covers,
            "bootstrap_draws": n_draws,
            "random_state": opts.random_state,
        },
        "totals": {
            "expected_purchases_next_period": float(table[purchases_col].sum()),
            "clv": round(float(table["clv"].sum()), 2),
            "mean_p_alive": float(table["p_alive"].mean()),
        },
        "data_quality": {**quality, "notes": notes},
        "columns": customer_columns(purchases_col, opts, currency),
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
        comparison=comparison,
        cohorts=cohorts,
        nps_trend=trend,
        funnel=funnel,
    )
