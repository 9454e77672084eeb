"""The tracking curve: a cohort's expected cumulative repeat purchases over calendar time.

Fader, Hardie & Lee (2005, "Counting your customers the easy way", figure 2)
judge a model by how well it tracks the cohort's cumulative repeat purchases
week by week, in the calibration period and beyond. A customer whose first
purchase falls in period ``f`` has, at the end of period ``k >= f``, made
``E[X((k - f) u)]`` expected repeat purchases (a new customer's expectation,
``u`` the length of a period in the model's time unit: the ``T`` that
:func:`~crmcore.clv.rfm_summary` would give at the end of period ``k``). The
cohort's curve is the convolution of the first purchases per period with
that expectation: one evaluation per elapsed period, whatever the number of
customers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import FloatArray
from crmcore.clv._kernels import fitted_params, purchase_kernels
from crmcore.clv._summary import purchase_periods
from crmcore.errors import ValidationError

__all__ = ["expected_cumulative_transactions", "plot_cumulative_transactions"]


def expected_cumulative_transactions(
    model: Any,
    transactions: pd.DataFrame,
    *,
    as_of: Any = None,
    end: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    freq: str = "D",
    unit: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Actual and expected cumulative repeat purchases of a cohort, period by period.

    The cohort is every customer whose first purchase is at or before
    ``as_of`` (usually the end of the calibration period the model was
    fitted on). Periods run from the first of those first purchases to the
    period of ``end``; purchases after ``as_of`` (the holdout) count in
    ``actual``, so the curve shows how the forecast tracks it.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel or BetaGeoBetaBinomModel
        A fitted purchase model, fitted on summaries with the same ``freq``
        and ``unit`` (BG/BB: one opportunity per period, no ``unit``).
    transactions : DataFrame
        The transaction log (see :func:`~crmcore.clv.rfm_summary`).
    as_of : date-like, optional
        Cut-off defining the cohort (default: the last transaction).
    end : date-like, optional
        End of the window, at or after ``as_of`` (default: the last
        transaction). A later ``end`` extends the forecast; the log is taken
        to be complete up to it.
    customer_col, date_col, freq, unit, date_format
        As for :func:`~crmcore.clv.rfm_summary`: purchases in one period
        count once, exactly as in the summaries the model was fitted on.

    Returns
    -------
    DataFrame
        Indexed by ``period`` (a ``PeriodIndex``; a multiple such as ``"2W"``
        is labelled by its first period): ``actual`` (int, cumulative repeat
        purchase periods), ``expected`` (float), ``actual_incremental`` and
        ``expected_incremental`` (per period). ``attrs["as_of"]`` is the
        period of ``as_of``, where :func:`plot_cumulative_transactions`
        draws the end of calibration.

    Raises
    ------
    ValidationError
        For a model that is not a purchase model, bad log or dates, an
        ``end`` before ``as_of``, or a ``unit`` with a BG/BB model.

    Examples
    --------
    >>> from crmcore.clv import BetaGeoModel, simulate_transactions
    >>> log = simulate_transactions(
    ...     500,
    ...     r=0.5,
    ...     alpha=10.0,
    ...     a=0.8,
    ...     b=2.5,
    ...     start="2024-01-01",
    ...     periods=182,
    ...     random_state=0,
    ... )
    >>> model = BetaGeoModel.from_params(r=0.5, alpha=10.0, a=0.8, b=2.5)
    >>> curve = expected_cumulative_transactions(model, log, freq="W", unit="D")
    >>> list(curve.columns)
    ['actual', 'expected', 'actual_incremental', 'expected_incremental']
    """
    kernels = purchase_kernels(model)
    theta = fitted_params(model)
    periods = purchase_periods(
        transactions,
        as_of=as_of,
        end=end,
        customer_col=customer_col,
        date_col=date_col,
        freq=freq,
        unit=unit,
        date_format=date_format,
    )
    if kernels.discrete and periods.scale != 1.0:
        raise ValidationError(
            f"{type(model).__name__} counts opportunities: one per period of freq, no unit",
            field="unit",
            value=unit,
        )
    start = int(periods.first.min())
    K = periods.end - start + 1
    births = np.bincount(periods.first - start, minlength=K).astype(np.float64)
    elapsed = np.arange(K, dtype=np.float64) * periods.scale
    per_customer: FloatArray = np.asarray(kernels.expected_new(theta, elapsed), dtype=np.float64)
    expected = np.convolve(births, per_customer)[:K]
    actual_inc = np.bincount(periods.repeats - start, minlength=K)[:K].astype(np.int64)
    codes = np.arange(start, periods.end + 1, dtype=np.int64)
    index = _time.period_labels(codes, periods.freq).rename("period")
    frame = pd.DataFrame(
        {
            "actual": np.cumsum(actual_inc),
            "expected": expected,
            "actual_incremental": actual_inc,
            "expected_incremental": np.diff(expected, prepend=0.0),
        },
        index=index,
    )
    frame.attrs["as_of"] = _time.period_labels(np.array([periods.cut]), periods.freq)[0]
    return frame


def plot_cumulative_transactions(
    tracking: pd.DataFrame, *, incremental: bool = False, ax: Any = None
) -> Any:
    """Draw the tracking curve of :func:`expected_cumulative_transactions` (needs matplotlib).

    Parameters
    ----------
    tracking : DataFrame
        Output of :func:`expected_cumulative_transactions`.
    incremental : bool, default False
        Draw the purchases per period instead of the cumulative curve.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's axes when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on: actual (solid), expected (dashed) and the end of
        calibration (a vertical line at ``tracking.attrs["as_of"]``).

    Raises
    ------
    ImportError
        If ``ax`` is omitted and matplotlib (the ``plot`` extra) is not
        installed (matplotlib is imported only then).
    """
    if ax is None:
        try:
            import matplotlib.pyplot as plt  # noqa: PLC0415 - optional, imported lazily
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "plot_cumulative_transactions needs matplotlib: pip install 'crmcore[plot]'"
            ) from exc
        _, ax = plt.subplots()
    suffix = "_incremental" if incremental else ""
    when = pd.PeriodIndex(tracking.index).to_timestamp()
    ax.plot(when, tracking["actual" + suffix], label="actual")
    ax.plot(when, tracking["expected" + suffix], linestyle="--", label="expected")
    cut = tracking.attrs.get("as_of")
    if cut is not None:
        ax.axvline(cut.to_timestamp(), color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("period")
    ax.set_ylabel("repeat purchases" + (" per period" if incremental else ", cumulative"))
    ax.legend()
    return ax
