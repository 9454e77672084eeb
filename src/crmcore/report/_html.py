"""``report.html``: one self-contained page (inline SVG, inline CSS, no network)."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from crmcore.report import _figures as figs
from crmcore.report._analysis import Analysis

__all__ = ["SECTIONS", "render_html"]

_log = logging.getLogger("crmcore.report")

#: Section ids of the page, in order (every one is always present).
SECTIONS = (
    "overview",
    "model",
    "heatmaps",
    "holdout",
    "segments",
    "cohorts",
    "surveys",
    "pipeline",
    "service",
    "campaigns",
)

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .6em;border:1px solid #ddd}
th{background:#f4f4f4;text-align:left}td.n{text-align:right}
.figs{display:flex;flex-wrap:wrap;gap:1em}.figs svg{max-width:100%;height:auto}
.note{color:#666;font-style:italic}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, _Shown):
        return str(value)
    return html.escape(str(value))


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return '<p class="note">nothing to show</p>'
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_fmt(v)}</td>'
            if isinstance(v, int | float | _Shown)
            else f"<td>{_fmt(v)}</td>"
            for v in row.values()
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


class _Shown(str):
    """A cell already formatted (an estimate with its interval): shown as it is."""

    __slots__ = ()


def _with_intervals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Show ``x``, ``x_ci_low``, ``x_ci_high`` as one column ``x``: ``0.204 [0.184, 0.225]``.

    Keeps a wide table (campaign KPIs) within the page; ``summary.json``
    keeps the three numbers apart.
    """
    out = []
    for row in rows:
        shown: dict[str, Any] = {}
        for key, value in row.items():
            if key.endswith(("_ci_low", "_ci_high")):
                continue
            low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
            both = value is not None and low is not None and high is not None
            shown[key] = _Shown(f"{_fmt(value)} [{_fmt(low)}, {_fmt(high)}]") if both else value
        out.append(shown)
    return out


def _pairs(mapping: dict[str, Any]) -> str:
    return _table(
        [{"figure": k, "value": v} for k, v in mapping.items() if not isinstance(v, dict | list)]
    )


def _figure(make: Callable[[], str], what: str) -> str:
    if not figs.have_matplotlib():
        return f'<p class="note">{what}: install the plot extra (crmcore[plot]) for figures.</p>'
    try:
        return f"<figure>{make()}<figcaption>{html.escape(what)}</figcaption></figure>"
    except (ValueError, TypeError, KeyError) as err:  # a figure must not sink the report
        _log.warning("figure %r skipped: %s", what, err)
        return f'<p class="note">{html.escape(what)}: not drawn ({html.escape(str(err))}).</p>'


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{html.escape(title)}</h2>{body}</section>'


def render_html(analysis: Analysis, *, title: str = "Customer-value report") -> str:
    """Render the analysis as one self-contained HTML page.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`~crmcore.report.analyse`.
    title : str
        Page title.

    Returns
    -------
    str
        The page.
    """
    s = analysis.summary
    cust = analysis.customers
    period = float(s["settings"]["period_days"])
    parts = []
    time = s.get("time", {})
    overview = {
        "as of": s["as_of"],
        "as of means": time.get("as_of_rule"),
        "time zone": time.get("zone_rule"),
        "customers": s["n_customers"],
        "transactions": s["n_transactions"],
        "revenue": s["revenue"],
        f"expected purchases, next {period:g} days": s["totals"]["expected_purchases_next_period"],
        f"CLV, next {s['settings']['clv_horizon_months']} months (sum)": s["totals"]["clv"],
        "mean P(alive)": s["totals"]["mean_p_alive"],
    }
    parts.append(_section("overview", "Overview", _pairs(overview)))
    model_rows = [
        {
            "model": m["name"],
            "parameter": k,
            "estimate": v,
            "standard error": m["standard_errors"].get(k),
        }
        for m in (s["model"], s["spend_model"])
        for k, v in m["params"].items()
    ]
    parts.append(_section("model", "Models", _table(model_rows)))
    summary_cols = cust[["frequency", "recency", "T"]]

    def heatmap(quantity: str) -> Callable[[], str]:
        return lambda: figs.model_heatmap(analysis.model, summary_cols, quantity, period)

    heat = _figure(heatmap("expected_purchases"), "expected purchases")
    heat += _figure(heatmap("p_alive"), "P(alive)")
    parts.append(
        _section("heatmaps", "Frequency / recency heat maps", f'<div class="figs">{heat}</div>')
    )
    hold = s["holdout"]
    if hold.get("available") and analysis.holdout is not None:
        by_freq = analysis.holdout
        body = _pairs(hold) + _figure(
            lambda: figs.holdout_plot(by_freq), "holdout: actual vs predicted"
        )
    else:
        body = f'<p class="note">{html.escape(str(hold.get("reason", "no holdout")))}</p>'
    parts.append(_section("holdout", "Holdout accuracy", body))
    seg_body = _table(s["segments"]) + _figure(
        lambda: figs.clv_by_segment(cust), "CLV distribution by RFM segment"
    )
    churn = s["churn"]
    seg_body += "<h3>Churn risk</h3>" + _pairs(churn)
    loyalty = s.get("loyalty", {})
    if loyalty.get("available"):
        seg_body += "<h3>Loyalty programme</h3>" + _table(loyalty["by_tier"])
    parts.append(_section("segments", "Segments, CLV and churn risk", seg_body))
    if analysis.cohorts is not None and len(analysis.cohorts):
        shares = analysis.cohorts
        cohort_body = _figure(lambda: figs.cohort_heatmap(shares), "monthly cohort retention")
    else:
        cohort_body = '<p class="note">no cohorts</p>'
    parts.append(_section("cohorts", "Cohort retention", cohort_body))
    surveys = s["surveys"]
    if surveys.get("available"):
        rows = [{"metric": k, **v} for k, v in surveys.items() if isinstance(v, dict)]
        survey_body = _table(rows)
        if analysis.nps_trend is not None and len(analysis.nps_trend):
            trend = analysis.nps_trend
            survey_body += _figure(lambda: figs.nps_trend_plot(trend), "NPS trend (monthly)")
    else:
        survey_body = '<p class="note">no survey answers in the data</p>'
    parts.append(_section("surveys", "NPS and CSAT", survey_body))
    pipe = s["pipeline"]
    if pipe.get("available"):
        pipe_body = "<h3>Weighted pipeline</h3>" + _table(pipe["weighted_pipeline"])
        pipe_body += "<h3>Win rate</h3>" + _table(pipe["win_rate"])
        pipe_body += "<h3>Forecast</h3>" + _table(pipe["forecast"][-12:])
        if analysis.funnel is not None:
            funnel = analysis.funnel
            pipe_body += _figure(lambda: figs.pipeline_funnel(funnel), "pipeline funnel")
    else:
        pipe_body = '<p class="note">no opportunities in the data</p>'
    parts.append(_section("pipeline", "Sales pipeline", pipe_body))
    sla = s["sla"]
    if sla.get("available"):
        rows = [{"target": k, **v} for k, v in sla.items() if isinstance(v, dict)]
        sla_body = (
            f"<p>{sla['n_tickets']:,} tickets; working time {html.escape(sla['calendar'])}</p>"
        )
        sla_body += _table(rows)
    else:
        sla_body = '<p class="note">no tickets in the data</p>'
    parts.append(_section("service", "Service levels", sla_body))
    camp = s.get("campaigns", {})
    if camp.get("available"):
        window = html.escape(str(camp["conversion_window"]))
        camp_body = (
            f'<p class="note">Conversions: purchases of reached members within {window} '
            "of the first send. ROMI credits every such purchase; incremental revenue "
            "compares all treated members with the control group (intention to treat), "
            f"with its confidence interval. Currency: {html.escape(str(camp['currency']))}.</p>"
        )
        camp_body += _table(_with_intervals(camp["by_campaign"]))
        for model, rows in camp["attribution"].items():
            camp_body += (
                f"<h3>Purchases attributed to clicks by channel ({html.escape(model)}, "
                f"look-back {html.escape(str(camp['attribution_lookback']))})</h3>"
            ) + _table(rows)
    else:
        camp_body = '<p class="note">no campaign members in the data</p>'
    parts.append(_section("campaigns", "Campaigns", camp_body))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>" + "".join(parts) + "</body></html>\n"
    )
