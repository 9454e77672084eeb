"""End to end: ``crmcore demo`` on a small company, then checks on every output."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from crmcore.cli import main
from crmcore.clv import (
    GammaGammaModel,
    calibration_holdout_split,
    customer_lifetime_value,
    evaluate_holdout,
    rfm_summary,
)
from crmcore.loyalty import csat, nps
from crmcore.report import MODELS, read_store
from crmcore.report._html import SECTIONS
from crmcore.segmentation import rfm_scores, rfm_segments

# the whole job on a generated company: run in CI's slow step (tests/README.md)
pytestmark = pytest.mark.slow

N = 300


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.tags: dict[str, int] = {}
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        values = dict(attrs)
        if "id" in values and tag == "section":
            self.ids.append(values["id"])
        for key in ("src", "href"):
            link = values.get(key) or ""
            if link.startswith(("http:", "https:", "//")):
                self.external.append(link)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    code = main(["demo", "--customers", str(N), "--seed", "3", "--out", str(out), "-q"])
    assert code == 0
    return out


def test_all_files_written(demo):
    names = sorted(p.name for p in demo.iterdir())
    assert names == ["crm.sqlite", "customers.csv", "report.html", "summary.json"]


def test_html_is_self_contained_and_has_every_section(demo):
    page = _Page()
    page.feed((demo / "report.html").read_text(encoding="utf-8"))
    page.close()
    assert page.ids == list(SECTIONS)
    assert page.external == []
    # two heat maps, holdout, CLV by segment, cohorts, NPS trend, funnel
    assert page.tags.get("svg", 0) >= 7


def test_customer_table(demo):
    table = pd.read_csv(demo / "customers.csv", index_col="customer_id")
    assert len(table) == N
    assert table.index.is_unique
    expected = {
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "p_alive",
        "expected_purchases_90d",
        "clv",
        "clv_ci_low",
        "clv_ci_high",
        "rfm_segment",
        "churn_risk",
    }
    assert expected <= set(table.columns)
    assert not table[sorted(expected)].isna().any().any()
    assert table["p_alive"].between(0, 1).all()
    assert table["churn_risk"].between(0, 1).all()
    assert (table["clv_ci_low"] <= table["clv"] + 1e-6).all()
    assert (table["clv"] <= table["clv_ci_high"] + 1e-6).all()


@pytest.fixture(scope="module")
def direct(demo):
    """The same figures computed with direct library calls on the stored data."""
    data = read_store(f"sqlite:///{demo / 'crm.sqlite'}")
    tx = data.transactions
    as_of = tx["date"].max()
    summary = rfm_summary(tx, value_col="amount", as_of=as_of)
    # --model auto: the report names the model it picked (lowest calibration BIC)
    picked = json.loads((demo / "summary.json").read_text(encoding="utf-8"))["model"]["name"]
    model = MODELS[picked]().fit(summary[["frequency", "recency", "T"]])
    spend = GammaGammaModel().fit(
        summary[summary["frequency"] > 0][["frequency", "monetary_value"]]
    )
    return data, summary, model, spend, as_of


def test_summary_agrees_with_library_calls(demo, direct):
    data, summary, model, spend, _as_of = direct
    report = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    assert report["n_customers"] == len(summary) == N
    assert report["n_transactions"] == len(data.transactions)
    for name, value in model.params_.items():
        assert report["model"]["params"][name] == pytest.approx(value, rel=1e-9)
        assert report["model"]["standard_errors"][name] == pytest.approx(
            model.standard_errors_[name], rel=1e-9
        )
    for name, value in spend.params_.items():
        assert report["spend_model"]["params"][name] == pytest.approx(value, rel=1e-9)
    clv = customer_lifetime_value(
        model, spend, summary, horizon=12, time_unit=365.25 / 12, discount_rate=0.01
    )
    # money totals are rounded to the cent in summary.json
    assert report["totals"]["clv"] == pytest.approx(float(clv.sum()), abs=0.005)
    table = pd.read_csv(demo / "customers.csv", index_col="customer_id")
    np.testing.assert_allclose(
        table["clv"].to_numpy(), clv.reindex(table.index).to_numpy(), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        table["p_alive"].to_numpy(),
        model.probability_alive(summary).reindex(table.index).to_numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    segments = rfm_segments(rfm_scores(summary))
    sizes = {row["rfm_segment"]: row["customers"] for row in report["segments"]}
    assert sizes == segments.value_counts().to_dict()


def test_holdout_agrees_with_library_calls(demo, direct):
    data, _summary, _model, _spend, as_of = direct
    report = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    hold = report["holdout"]
    assert hold["available"]
    # the summary names the arguments that reproduce its holdout check
    assert pd.Timestamp(hold["holdout_end"]) == as_of
    split = calibration_holdout_split(
        data.transactions,
        as_of=pd.Timestamp(hold["as_of"]),
        holdout_end=pd.Timestamp(hold["holdout_end"]),
        value_col="amount",
    )
    evaluation = evaluate_holdout(MODELS[hold["model"]]().fit(split), split)
    assert hold["mae"] == pytest.approx(evaluation.mae, rel=1e-9)
    assert hold["actual_total"] == pytest.approx(evaluation.actual_total, rel=1e-12)


def test_surveys_pipeline_and_sla_sections(demo, direct):
    data = direct[0]
    report = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    surveys = data.surveys
    expect_nps = nps(surveys.loc[surveys["kind"] == "nps", "score"].to_numpy())
    assert report["surveys"]["nps"]["score"] == pytest.approx(expect_nps.score, rel=1e-12)
    assert report["surveys"]["nps"]["ci_low"] == pytest.approx(expect_nps.ci_low, rel=1e-12)
    assert report["surveys"]["nps"]["ci_high"] == pytest.approx(expect_nps.ci_high, rel=1e-12)
    assert isinstance(report["surveys"]["nps"]["n"], int)
    expect_csat = csat(surveys.loc[surveys["kind"] == "csat", "score"].to_numpy())
    assert report["surveys"]["csat"]["score"] == pytest.approx(expect_csat.score, rel=1e-12)
    assert report["pipeline"]["available"]
    assert report["pipeline"]["n_opportunities"] == len(data.opportunities)
    campaigns = report["campaigns"]
    assert campaigns["available"]
    assert [r["campaign_id"] for r in campaigns["by_campaign"]] == [
        f"K{i:03d}" for i in range(1, 9)
    ]
    assert all(r["sent"] + r["control"] <= r["members"] for r in campaigns["by_campaign"])
    sla = report["sla"]
    assert sla["available"]
    for target in ("first_response", "resolution"):
        counts = sla[target]
        assert counts["met"] + counts["breached"] + counts["ongoing"] == sla["n_tickets"]
        assert 0 <= counts["attainment"] <= 1
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in report["totals"].values())
    loyalty = report["loyalty"]
    assert loyalty["members"] == len(data.loyalty_accounts)
    assert sum(row["customers"] for row in loyalty["by_tier"]) == N


def test_report_on_exported_files_matches_the_database(demo, tmp_path):
    data = read_store(f"sqlite:///{demo / 'crm.sqlite'}")
    tx = data.transactions.rename(columns={"customer_id": "cust", "amount": "total"})
    tx.to_csv(tmp_path / "tx.csv", index=False)
    data.surveys.to_parquet(tmp_path / "surveys.parquet")
    out = tmp_path / "from-files"
    code = main(
        [
            "report",
            "--transactions",
            str(tmp_path / "tx.csv"),
            "--customer-col",
            "cust",
            "--value-col",
            "total",
            "--surveys",
            str(tmp_path / "surveys.parquet"),
            "--out",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    ours = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    theirs = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    assert ours["model"]["params"] == pytest.approx(theirs["model"]["params"], rel=1e-9)
    assert ours["surveys"]["nps"] == pytest.approx(theirs["surveys"]["nps"], rel=1e-12)
    assert not ours["pipeline"]["available"]
    # the exported dates carry their offset (+00:00): the same instants, the same zone rule
    assert ours["as_of"] == theirs["as_of"]
    assert ours["time"] == theirs["time"]


def test_clv_fit_then_predict(demo, direct, tmp_path):
    _data, summary, model, spend, _as_of = direct
    url = f"sqlite:///{demo / 'crm.sqlite'}"
    models = tmp_path / "models.json"
    assert main(["clv", "fit", "--db", url, "--out", str(models), "-q"]) == 0
    state = json.loads(models.read_text(encoding="utf-8"))
    assert state["transaction_model"]["params"] == pytest.approx(model.params_, rel=1e-9)
    scores = tmp_path / "scores.csv"
    assert (
        main(["clv", "predict", "--models", str(models), "--db", url, "--out", str(scores), "-q"])
        == 0
    )
    table = pd.read_csv(scores, index_col="customer_id")
    assert len(table) == N
    expect = customer_lifetime_value(
        model, spend, summary, horizon=12, time_unit=365.25 / 12, discount_rate=0.01
    )
    np.testing.assert_allclose(
        table["clv"].to_numpy(), expect.reindex(table.index).to_numpy(), rtol=1e-5, atol=1e-5
    )


def test_python_dash_m_works_like_the_command():
    run = subprocess.run(
        [sys.executable, "-m", "crmcore", "--help"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0
    for command in ("demo", "report", "clv", "--version"):
        assert command in run.stdout


def test_demo_summary_states_its_time_rules(demo):
    report = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    time = report["time"]
    assert time["zone"] == "UTC"
    assert "instants" in time["zone_rule"]
    assert time["as_of"] == report["as_of"]
    assert "last transaction" in time["as_of_rule"]
    assert report["settings"]["confidence"] == 0.9
    churn = report["churn"]
    assert pd.Timestamp(churn["training_as_of"]) == pd.Timestamp(report["as_of"]) - pd.Timedelta(
        days=churn["horizon_days"]
    )


def test_ci_checker_accepts_the_demo_output(demo):
    from tests.e2e.check_demo_output import check

    assert check(demo, N) == []
    assert check(demo, N + 1)  # a wrong count is caught


class _Rows(HTMLParser):
    """Cells per row of every table (the browser test checks the same, rendered)."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[int]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in {"td", "th"}:
            self.tables[-1][-1] += 1


def test_every_table_row_is_as_wide_as_its_header(demo):
    page = _Rows()
    page.feed((demo / "report.html").read_text(encoding="utf-8"))
    assert len(page.tables) >= 8
    for cells in page.tables:
        assert set(cells) == {cells[0]}, cells
    report = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    assert {"nps", "csat"} <= set(report["surveys"])  # the CSAT row had a 7th cell


def test_forecast_is_as_of_and_every_month_is_shown(demo):
    report = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    rows = report["pipeline"]["forecast"]
    months = pd.PeriodIndex([row["period"] for row in rows], freq="M")
    assert list(months) == list(pd.period_range(months[0], months[-1], freq="M"))
    as_of_month = pd.Timestamp(report["as_of"]).tz_convert(None).to_period("M")
    assert all(row["closed"] == 0 for row, m in zip(rows, months, strict=True) if m > as_of_month)
    page = (demo / "report.html").read_text(encoding="utf-8")
    assert f"All {len(rows)} months" in page
