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
    "data",
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
.read{background:#f6f8fa;border-left:3px solid #8aa;padding:.4em .8em;margin:.5em 0}
nav ol{columns:2}dl.cols dt{font-weight:bold;font-family:monospace}
dl.cols dd{margin:0 0 .4em 1.5em}
"""

#: Section titles, by id (the table of contents and the headings).
TITLES = {
    "overview": "Overview",
    "data": "Data quality and columns",
    "model": "Purchase model: choice and parameters",
    "heatmaps": "Frequency / recency heat maps",
    "holdout": "Holdout accuracy",
    "segments": "Segments, CLV and churn risk",
    "cohorts": "Cohort retention",
    "surveys": "NPS and CSAT",
    "pipeline": "Sales pipeline",
    "service": "Service levels",
    "campaigns": "Campaigns",
}

#: "How to read this", by section id.
READ = {
    "overview": "The headline figures as of the cut-off: nothing after as_of is used. Money is "
    "in {money}. Expected purchases and CLV are model forecasts for the stated horizon; "
    "P(alive) is a probability (0-1), averaged over customers.",
    "data": "What the report did with the quirks of the input (free orders, refunds, "
    "duplicate rows, model fallbacks), and what each column of customers.csv means.",
    "model": "Three purchase models can describe the log; the table compares them on a "
    "calibration period (BIC: lower is better, a penalised fit) and on the holdout that "
    "follows it (errors in purchases per customer). The parameters below are those of "
    "the chosen model refitted on the whole history, with standard errors.",
    "heatmaps": "What the chosen model expects for a customer of the longest age, by number "
    "of repeat purchases (vertical) and time from first to last purchase (horizontal). "
    "Customers who bought often but not lately are the ones most likely to have left.",
    "holdout": "The model was fitted on the history before the holdout and asked to "
    "predict each customer's purchases in it; bars compare the actual and predicted mean "
    "by the customer's number of earlier repeat purchases. MAE and RMSE are per customer, "
    "in purchases; bias is predicted minus actual.",
    "segments": "RFM segments score recency, frequency and spend 1-5 across customers. "
    "CLV is in {money}, with a {confidence} interval. P(alive) has no horizon; churn risk "
    "is the probability of no purchase in the next {churn_days:g} days: a customer can be "
    "likely 'alive' and still likely to stay silent for {churn_days:g} days.",
    "cohorts": "Each row is the customers whose first purchase fell in that month; each "
    "cell the share of them who bought in the n-th month after it (month 0, 100 %, is "
    "left out so the colours show retention).",
    "surveys": "Scores with their confidence intervals: NPS is the share of promoters "
    "(9-10) minus detractors (0-6), from -100 to 100; CSAT the share of satisfied answers "
    "(4-5 of 5), in percent.",
    "pipeline": "Opportunities as they stood at as_of. Weighted pipeline: open amounts "
    "times their stage's probability; forecast: amounts by expected (or actual) close "
    "month and forecast category, in {money}.",
    "service": "Tickets against the service targets (24/7 clock): met and breached "
    "counts, and attainment = met / (met + breached); ongoing tickets are not decided yet.",
    "campaigns": "Rates with their confidence intervals in brackets; incremental revenue "
    "compares treated members with the control group.",
}


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
    """Render one table; its columns are the union of the rows' keys (missing: "–")."""
    if not rows:
        return '<p class="note">nothing to show</p>'
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_fmt(v)}</td>'
            if isinstance(v, int | float | _Shown)
            else f"<td>{_fmt(v)}</td>"
            for v in (row.get(k) for k in columns)
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


def _section(key: str, body: str, **fill: Any) -> str:
    """Render a section: its heading, the "how to read this" box, then the body."""
    read = READ[key].format(**fill) if key in READ else ""
    box = f'<p class="read"><b>How to read this.</b> {html.escape(read)}</p>' if read else ""
    return f'<section id="{key}"><h2>{html.escape(TITLES[key])}</h2>{box}{body}</section>'


def _contents() -> str:
    items = "".join(
        f'<li><a href="#{key}">{html.escape(TITLES[key])}</a></li>' for key in SECTIONS
    )
    return f'<nav id="contents"><h2>Contents</h2><ol>{items}</ol></nav>'


def _data_section(s: dict[str, Any]) -> str:
    quality = s.get("data_quality", {})
    notes = quality.get("notes", [])
    if notes:
        body = "<h3>Data-quality notes</h3><ul>" + "".join(
            f"<li>{html.escape(str(n))}</li>" for n in notes
        )
        body += "</ul>"
    else:
        body = (
            '<p class="note">No quirks found: no free orders, refunds or duplicate rows; '
            "every model was fitted without fallback.</p>"
        )
    counts = {k: v for k, v in quality.items() if k != "notes"}
    if counts:
        body += _pairs(counts)
    columns = s.get("columns", {})
    if columns:
        body += '<h3>Columns of customers.csv</h3><dl class="cols">' + "".join(
            f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in columns.items()
        )
        body += "</dl>"
    return body


def _model_section(s: dict[str, Any]) -> str:
    choice = s.get("model_choice", {})
    body = ""
    if choice.get("reason"):
        body += f"<p><b>Chosen: {html.escape(str(choice['name']))}.</b> "
        body += f"{html.escape(str(choice['reason']))}</p>"
    else:
        body += f"<p>Model given: {html.escape(str(s['model']['name']))}.</p>"
    if choice.get("comparison"):
        body += "<h3>Comparison</h3>" + _table(choice["comparison"])
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
    return body + "<h3>Parameters (whole history)</h3>" + _table(model_rows)


def _churn_table(churn: dict[str, Any]) -> str:
    shown = {k: v for k, v in churn.items() if k not in ("validation", "backtest")}
    body = _pairs(shown)
    validation = churn.get("validation") or {}
    if validation:
        body += (
            "<p>Validation on customers held out of the churn model's training "
            f"({_fmt(validation.get('n'))} customers): ROC AUC "
            f"{_fmt(validation.get('roc_auc'))} (0.5 = chance, 1 = perfect ranking), "
            f"Brier score {_fmt(validation.get('brier'))} (mean squared error of the "
            "probabilities; lower is better).</p>"
        )
    back = churn.get("backtest")
    if back:
        body += (
            "<h4>Out-of-time check</h4><p>The same model trained on the history up to "
            f"{html.escape(str(back['trained_as_of'])[:10])} ranked the "
            f"{_fmt(back['n'])} customers active on {html.escape(str(back['scored_as_of'])[:10])}"
            f"; {_fmt(back['churn_rate'])} of them then bought nothing for the horizon. "
            f"ROC AUC {_fmt(back['roc_auc'])}, Brier score {_fmt(back['brier'])}. Gains: the "
            "share of those churners found among the riskiest customers (a random order "
            "finds as many as the share of customers looked at).</p>"
        )
        body += _table(
            [
                {
                    "riskiest customers": f"{row['customers_share']:.0%}",
                    "churners found": f"{row['churners_captured']:.0%}",
                }
                for row in back["gains"]
            ]
        )
    return body


def _survey_rows(surveys: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric, the same columns for NPS and CSAT (CSAT's scale in its name)."""
    rows = []
    for key, value in surveys.items():
        if not isinstance(value, dict):
            continue
        metric = key.upper() if key != "csat" else f"CSAT (scale 1-{value.get('scale', 5)})"
        rows.append(
            {
                "metric": metric,
                "answers": value.get("n"),
                "score": value.get("score"),
                "standard error": value.get("standard_error"),
                "95% CI low": value.get("ci_low"),
                "95% CI high": value.get("ci_high"),
            }
        )
    return rows


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
    settings = s["settings"]
    period = float(settings["period_days"])
    money = str(s.get("currency") or "the data's currency units (no currency stated)")
    unit = f" ({s['currency']})" if s.get("currency") else ""
    fill = {
        "money": money,
        "confidence": f"{float(settings['confidence']):.0%}",
        "churn_days": float(s["churn"].get("horizon_days", 90.0)),
    }
    parts = []
    time = s.get("time", {})
    overview = {
        "as of": s["as_of"],
        "as of means": time.get("as_of_rule"),
        "time zone": time.get("zone_rule"),
        "currency": money,
        "customers": s["n_customers"],
        "purchases (transactions analysed)": s["n_transactions"],
        f"revenue{unit}": s["revenue"],
        f"expected purchases, next {period:g} days": s["totals"]["expected_purchases_next_period"],
        f"CLV, next {settings['clv_horizon_months']} months, sum{unit}": s["totals"]["clv"],
        "mean P(alive) (probability, no horizon)": s["totals"]["mean_p_alive"],
        "purchase model": s["model"]["name"],
    }
    parts.append(_section("overview", _pairs(overview), **fill))
    parts.append(_section("data", _data_section(s), **fill))
    parts.append(_section("model", _model_section(s), **fill))
    summary_cols = cust[["frequency", "recency", "T"]]

    def heatmap(quantity: str) -> Callable[[], str]:
        return lambda: figs.model_heatmap(analysis.model, summary_cols, quantity, period)

    heat = _figure(heatmap("expected_purchases"), f"expected purchases, next {period:g} days")
    heat += _figure(heatmap("p_alive"), "P(alive)")
    parts.append(_section("heatmaps", f'<div class="figs">{heat}</div>', **fill))
    hold = s["holdout"]
    if hold.get("available") and analysis.holdout is not None:
        by_freq = analysis.holdout
        body = _pairs(hold) + _figure(
            lambda: figs.holdout_plot(by_freq), "holdout: actual vs predicted"
        )
    else:
        reason = str(hold.get("reason", "no holdout"))
        body = f'<p class="note">Holdout check unavailable: {html.escape(reason)}</p>'
    parts.append(_section("holdout", body, **fill))
    seg_body = _table(s["segments"]) + _figure(
        lambda: figs.clv_by_segment(cust), f"CLV{unit} distribution by RFM segment"
    )
    seg_body += "<h3>Churn risk</h3>" + _churn_table(s["churn"])
    loyalty = s.get("loyalty", {})
    if loyalty.get("available"):
        seg_body += "<h3>Loyalty programme</h3>" + _table(loyalty["by_tier"])
    parts.append(_section("segments", seg_body, **fill))
    if analysis.cohorts is not None and len(analysis.cohorts):
        shares = analysis.cohorts
        cohort_body = _figure(lambda: figs.cohort_heatmap(shares), "monthly cohort retention")
    else:
        cohort_body = '<p class="note">no cohorts</p>'
    parts.append(_section("cohorts", cohort_body, **fill))
    surveys = s["surveys"]
    if surveys.get("available"):
        survey_body = _table(_survey_rows(surveys))
        if analysis.nps_trend is not None and len(analysis.nps_trend):
            trend = analysis.nps_trend
            survey_body += _figure(lambda: figs.nps_trend_plot(trend), "NPS trend (monthly)")
    else:
        survey_body = '<p class="note">no survey answers in the data</p>'
    parts.append(_section("surveys", survey_body, **fill))
    pipe = s["pipeline"]
    if pipe.get("available"):
        pipe_body = f"<p>{html.escape(str(pipe.get('as_of_rule', '')))}.</p>"
        pipe_body += f"<h3>Weighted pipeline{unit}</h3>" + _table(pipe["weighted_pipeline"])
        pipe_body += "<h3>Win rate</h3>" + _table(pipe["win_rate"])
        rows = pipe["forecast"]
        pipe_body += (
            f"<h3>Forecast by close month{unit}</h3>"
            f"<p>All {len(rows)} months from the first to the last close date.</p>" + _table(rows)
        )
        if analysis.funnel is not None:
            funnel = analysis.funnel
            pipe_body += _figure(lambda: figs.pipeline_funnel(funnel), "pipeline funnel")
    else:
        pipe_body = '<p class="note">no opportunities in the data</p>'
    parts.append(_section("pipeline", pipe_body, **fill))
    sla = s["sla"]
    if sla.get("available"):
        rows = [{"target": k, **v} for k, v in sla.items() if isinstance(v, dict)]
        sla_body = (
            f"<p>{sla['n_tickets']:,} tickets; working time {html.escape(sla['calendar'])}</p>"
        )
        sla_body += _table(rows)
    else:
        sla_body = '<p class="note">no tickets in the data</p>'
    parts.append(_section("service", sla_body, **fill))
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
    parts.append(_section("campaigns", camp_body, **fill))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>" + _contents() + "".join(parts) + "</body></html>\n"
    )
