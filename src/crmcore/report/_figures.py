"""Report figures as inline SVG text (matplotlib, imported lazily).

Figures are built on :class:`matplotlib.figure.Figure` directly (no
``pyplot``): no backend is selected and no global state changes.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "clv_by_segment",
    "cohort_heatmap",
    "have_matplotlib",
    "holdout_plot",
    "model_heatmap",
    "nps_trend_plot",
    "pipeline_funnel",
]


def have_matplotlib() -> bool:
    """Whether the ``plot`` extra (matplotlib) is installed."""
    try:
        import matplotlib.figure  # noqa: F401, PLC0415 -- optional dependency
    except ImportError:
        return False
    return True


def _figure(width: float = 6.4, height: float = 4.0) -> Any:
    from matplotlib.figure import Figure  # noqa: PLC0415 -- optional, imported lazily

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def model_heatmap(model: Any, summary: pd.DataFrame, quantity: str, period_days: float) -> str:
    """Draw expected purchases or P(alive) over frequency × recency, at the longest T."""
    t_max = float(summary["T"].max())
    f_max = int(max(2, min(np.quantile(summary["frequency"], 0.99), 40)))
    freq = np.arange(0, f_max + 1, dtype=np.float64)
    rec = np.linspace(0.0, t_max, 60)
    ff, rr = np.meshgrid(freq, rec, indexing="ij")
    rr = np.where(ff == 0, 0.0, rr)  # without repeat purchases recency is 0 by definition
    grid = np.column_stack([ff.ravel(), rr.ravel(), np.full(ff.size, t_max)])
    if quantity == "p_alive":
        values = np.asarray(model.probability_alive(grid), dtype=np.float64)
        label = "P(alive)"
    else:
        values = np.asarray(model.expected_purchases(period_days, grid), dtype=np.float64)
        label = f"expected purchases, next {period_days:g} days"
    fig = _figure(6.4, 4.2)
    ax = fig.add_subplot()
    image = ax.imshow(
        values.reshape(ff.shape),
        origin="lower",
        aspect="auto",
        extent=(0.0, t_max, -0.5, f_max + 0.5),
        cmap="viridis",
    )
    fig.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("recency (days from first to last purchase)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(f"{label} for a customer of age T = {t_max:.0f} days")
    return _svg(fig)


def holdout_plot(by_frequency: pd.DataFrame) -> str:
    """Mean holdout purchases, actual vs predicted, by calibration frequency."""
    shown = by_frequency.iloc[:15]
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(shown))
    ax.bar(x - 0.2, shown["actual"], width=0.4, label="actual")
    ax.bar(x + 0.2, shown["predicted"], width=0.4, label="predicted")
    ax.set_xticks(x, [str(v) for v in shown.index])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("mean purchases in the holdout")
    ax.legend()
    return _svg(fig)


def clv_by_segment(customers: pd.DataFrame) -> str:
    """Draw CLV per RFM segment: box 25th-75th percentile, median, whiskers 5th-95th."""
    # drawn from percentiles by hand: Axes.boxplot reads every rcParam, which imports pyplot
    groups = customers.groupby("rfm_segment", observed=True)["clv"]
    levels = {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}
    stats = pd.DataFrame({k: groups.quantile(q) for k, q in levels.items()}).sort_values("q50")
    fig = _figure(7.0, 4.2)
    ax = fig.add_subplot()
    y = np.arange(len(stats))
    q05, q25, q50, q75, q95 = (stats[c].to_numpy(dtype=np.float64) for c in stats.columns)
    ax.barh(y, q75 - q25, left=q25, height=0.6, color="C0", alpha=0.5)
    ax.vlines(q50, y - 0.3, y + 0.3, color="black")
    ax.hlines(y, q05, q25, color="C0")
    ax.hlines(y, q75, q95, color="C0")
    ax.set_yticks(y, [str(v) for v in stats.index])
    ax.set_xlabel("CLV (discounted; box: 25th-75th percentile, whiskers: 5th-95th)")
    return _svg(fig)


def cohort_heatmap(shares: pd.DataFrame) -> str:
    """Share of each monthly cohort active in each month since acquisition."""
    # month 0 is 100 % by definition: start at month 1 so the colours show retention
    shown = shares.iloc[-24:, 1:25]
    values = shown.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    top = float(np.quantile(finite, 0.99)) if finite.size else 1.0
    fig = _figure(7.0, 4.6)
    ax = fig.add_subplot()
    image = ax.imshow(
        values,
        aspect="auto",
        cmap="magma",
        vmin=0.0,
        vmax=max(top, 0.01),
        extent=(0.5, values.shape[1] + 0.5, len(shown) - 0.5, -0.5),
    )
    fig.colorbar(image, ax=ax, label="share of the cohort active")
    step = max(1, len(shown) // 12)
    ax.set_yticks(np.arange(0, len(shown), step), [str(p) for p in shown.index[::step]])
    ax.set_xlabel("months since first purchase")
    ax.set_ylabel("cohort")
    return _svg(fig)


def nps_trend_plot(trend: pd.DataFrame) -> str:
    """Monthly NPS with its confidence interval."""
    x = np.arange(len(trend))
    fig = _figure()
    ax = fig.add_subplot()
    ax.fill_between(x, trend["ci_low"], trend["ci_high"], alpha=0.3, label="95% interval")
    ax.plot(x, trend["nps"] if "nps" in trend else trend["score"], marker="o", label="NPS")
    step = max(1, len(trend) // 10)
    ax.set_xticks(x[::step], [str(p) for p in trend["period"].iloc[::step]], rotation=45)
    ax.set_ylabel("NPS")
    ax.legend()
    return _svg(fig)


def pipeline_funnel(funnel: pd.DataFrame) -> str:
    """Opportunities that reached each stage."""
    fig = _figure()
    ax = fig.add_subplot()
    y = np.arange(len(funnel))[::-1]
    ax.barh(y, funnel["reached"])
    ax.set_yticks(y, [str(s) for s in funnel.index])
    for yy, reached, conv in zip(y, funnel["reached"], funnel["conversion"], strict=True):
        label = f"{int(reached)}" if pd.isna(conv) else f"{int(reached)} ({conv:.0%})"
        ax.text(float(reached), yy, " " + label, va="center")
    ax.set_xlabel("opportunities that reached the stage")
    return _svg(fig)
