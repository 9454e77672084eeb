"""What real purchase logs need: free orders, refunds, duplicates, European CSV, few rows."""

from __future__ import annotations

import html
import io
import json

import numpy as np
import pandas as pd
import pytest

from crmcore.cli import main
from crmcore.clv import simulate_transactions
from crmcore.errors import ValidationError
from crmcore.report import ReportData, ReportOptions, analyse, read_transactions
from crmcore.report._html import render_html
from crmcore.report._inputs import detect_separator, open_store, suggest_date_format


@pytest.fixture(scope="module")
def log():
    """150 customers over 18 months, amounts in cents, times to the second."""
    tx = simulate_transactions(
        150,
        r=0.8,
        alpha=30.0,
        a=0.6,
        b=3.0,
        start="2024-01-01",
        periods=540,
        p=6.0,
        q=4.0,
        gamma=15.0,
        random_state=2,
    )
    return pd.DataFrame(
        {
            "customer_id": "C" + tx["customer_id"].astype(str),
            "date": tx["date"].dt.floor("s"),
            "amount": tx["amount"].round(2),
        }
    )


pytestmark = pytest.mark.slow  # each analysis fits several models (seconds on 2 shared cores)

OPTS = ReportOptions(n_draws=30, model="bgnbd")


@pytest.fixture(scope="module")
def clean(log):
    return analyse(ReportData(transactions=log), OPTS)


@pytest.fixture(scope="module")
def messy(log):
    """The log with every quirk of a real export at once, and what each one is."""
    counts = log["customer_id"].value_counts()
    free_customer = counts.index[counts >= 3][0]  # a repeat buyer whose every order is free
    tx = log.copy()
    tx.loc[tx["customer_id"] == free_customer, "amount"] = 0.0
    first = log[log["customer_id"] != free_customer].iloc[0]
    refunds = pd.DataFrame(
        {
            "customer_id": [first["customer_id"]] * 2,
            # one refund on a purchase day, one on a day without a purchase
            "date": [first["date"], log["date"].max() - pd.Timedelta(hours=1)],
            "amount": [-1.0, -5.0],
        }
    )
    tx = pd.concat([tx, refunds, tx.iloc[[3, 4]]], ignore_index=True)
    quirks = {"free": free_customer, "free_rows": int(counts[free_customer]), "refunded": first}
    return analyse(ReportData(transactions=tx), OPTS), quirks


def test_free_orders_count_as_purchases_and_the_spend_fallback_is_stated(clean, messy):
    result, quirks = messy
    row = result.customers.loc[quirks["free"]]
    # the free purchases still count: frequency as in the clean log
    assert row["frequency"] == clean.customers.loc[quirks["free"], "frequency"]
    quality = result.summary["data_quality"]
    assert quality["free_rows"] == quirks["free_rows"]
    assert quality["free_spend_customers"] == 1
    assert any("1 repeat buyers spent nothing" in n for n in quality["notes"])
    # the fallback: the mean spend of the other repeat buyers, so a finite positive value
    assert np.isfinite(row["expected_spend"])
    assert row["expected_spend"] > 0


def test_refunds_are_netted_per_day_and_refund_only_days_dropped(clean, messy):
    result, quirks = messy
    quality = result.summary["data_quality"]
    assert quality["refund_rows"] == 2
    assert quality["refund_days_dropped"] == 1
    cid = quirks["refunded"]["customer_id"]
    # the refund of a purchase day lowers that day; the lone refund is not a purchase
    assert result.customers.loc[cid, "frequency"] == clean.customers.loc[cid, "frequency"]


def test_duplicate_rows_are_reported(messy):
    result, _quirks = messy
    notes = result.summary["data_quality"]["notes"]
    assert result.summary["data_quality"]["duplicate_rows"] == 2
    assert any("2 rows repeat an earlier row" in n for n in notes)
    page = render_html(result)
    for note in notes:
        assert html.escape(note) in page


def test_european_csv_reads_as_it_is(tmp_path, log):
    text = log.assign(
        date=log["date"].dt.strftime("%d.%m.%Y %H:%M:%S"),
        amount=log["amount"].map(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ",")),
    )
    text["amount"] = text["amount"].str.replace(" ", ".", regex=False)  # 1.234,50
    path = tmp_path / "export.csv"
    text.to_csv(path, sep=";", index=False, encoding="cp1252")
    got = read_transactions(path, date_format="%d.%m.%Y %H:%M:%S", encoding="cp1252")
    np.testing.assert_allclose(got["amount"], log["amount"], rtol=0, atol=1e-9)
    assert (got["date"].to_numpy() == log["date"].to_numpy()).all()
    # the explicit options give the same frame
    same = read_transactions(
        path, date_format="%d.%m.%Y %H:%M:%S", sep=";", decimal=",", encoding="cp1252"
    )
    pd.testing.assert_frame_equal(got, same)


def test_european_csv_through_the_command(tmp_path, log):
    text = log.assign(
        date=log["date"].dt.strftime("%d.%m.%Y"),
        amount=log["amount"].map(lambda v: f"{v:.2f}".replace(".", ",")),
    )
    path = tmp_path / "export.csv"
    text.to_csv(path, sep=";", index=False)
    out = tmp_path / "out"
    err = io.StringIO()
    argv = ["report", "--transactions", str(path), "--out", str(out), "--draws", "30", "-q"]
    # without --date-format: refused, the message names the option and the format that reads
    assert main(argv, stdout=io.StringIO(), stderr=err) == 2
    assert "--date-format '%d.%m.%Y'" in err.getvalue()
    argv += ["--date-format", "%d.%m.%Y", "--currency", "eur"]
    assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["currency"] == "EUR"
    assert summary["revenue"] == pytest.approx(round(float(log["amount"].sum()), 2), abs=0.006)


def test_separator_and_date_format_detection():
    assert detect_separator("a;b;c\n") == ";"
    assert detect_separator("a\tb\tc\n") == "\t"
    assert detect_separator("a,b;c,d\n") == ","
    assert suggest_date_format(pd.Series(["31.12.1997", "01.01.1998"])) == "%d.%m.%Y"
    assert suggest_date_format(pd.Series(["12/31/1997"])) == "%m/%d/%Y"
    assert suggest_date_format(pd.Series(["soon"])) is None


def test_db_path_suggests_a_sqlite_url(tmp_path):
    with pytest.raises(ValidationError, match=r"sqlite:///.*crm\.sqlite"):
        open_store(str(tmp_path / "crm.sqlite"), object)


def test_too_few_customers_refused_with_the_reason(log):
    few = log[log["customer_id"].isin(log["customer_id"].unique()[:5])]
    with pytest.raises(ValidationError, match=r"5 customers .* at least 20"):
        analyse(ReportData(transactions=few), OPTS)


def test_too_few_customers_through_the_command_is_one_line(tmp_path, log):
    few = log[log["customer_id"].isin(log["customer_id"].unique()[:5])]
    path = tmp_path / "few.csv"
    few.to_csv(path, index=False)
    err = io.StringIO()
    code = main(["report", "--transactions", str(path), "--out", str(tmp_path / "o")],
                stdout=io.StringIO(), stderr=err)  # fmt: skip
    assert code == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert "at least 20" in lines[0]
    assert "Warning" not in err.getvalue()


def test_holdout_without_purchases_is_unavailable_with_the_reason(log):
    late = log["date"].max() + pd.Timedelta(days=400)
    result = analyse(ReportData(transactions=log), ReportOptions(n_draws=30, as_of=late))
    hold = result.summary["holdout"]
    assert hold["available"] is False
    assert "no purchase in the holdout window" in hold["reason"]
    # auto still chooses, on the whole history, and says so
    assert "no holdout" in result.summary["model_choice"]["reason"]
    assert "Holdout check unavailable" in render_html(result)
    # Pareto/NBD's optimum on this log lies on the s, beta -> infinity ridge: no
    # standard errors, so it is out of the choice, with the reason (no warning)
    table = {row["model"]: row for row in result.summary["model_choice"]["comparison"]}
    assert "standard errors undefined" in table["pareto"]["error"]
    assert result.summary["model_choice"]["name"] != "pareto"


def test_auto_picks_the_lowest_bic_and_shows_the_comparison(log):
    result = analyse(ReportData(transactions=log), ReportOptions(n_draws=30))
    choice = result.summary["model_choice"]
    table = {row["model"]: row for row in choice["comparison"]}
    assert set(table) == {"bgnbd", "mbgnbd", "pareto"}
    best = min(table, key=lambda k: table[k]["bic"])
    assert choice["name"] == best == result.summary["model"]["name"]
    assert choice["reason"].startswith(f"picked {best}")
    assert result.summary["holdout"]["model"] == best


def test_days_since_last_purchase_beside_recency(clean):
    result = clean
    table = result.customers
    np.testing.assert_allclose(
        table["days_since_last_purchase"], table["T"] - table["recency"], rtol=0, atol=1e-12
    )
    columns = result.summary["columns"]
    assert set(columns) == {"customer_id", *table.columns}
    assert "NOT the time since the last purchase" in columns["recency"]


def test_json_counts_are_ints_and_money_is_rounded(clean):
    result = clean
    text = json.dumps(result.summary)
    summary = json.loads(text)
    assert isinstance(summary["n_customers"], int)
    assert isinstance(summary["holdout"]["actual_total"], int)
    assert summary["revenue"] == round(summary["revenue"], 2)
    assert summary["totals"]["clv"] == round(summary["totals"]["clv"], 2)


def test_churn_model_checked_out_of_time_with_gains(clean):
    churn = clean.summary["churn"]
    back = churn["backtest"]
    # trained one horizon before the churn model's own training cut-off, scored at it
    assert pd.Timestamp(back["scored_as_of"]) == pd.Timestamp(churn["training_as_of"])
    gap = pd.Timestamp(back["scored_as_of"]) - pd.Timestamp(back["trained_as_of"])
    assert gap == pd.Timedelta(days=churn["horizon_days"])
    captured = [row["churners_captured"] for row in back["gains"]]
    assert captured == sorted(captured)
    assert captured[-1] == pytest.approx(1.0, rel=1e-12)
    assert 0.0 <= back["roc_auc"] <= 1.0
    assert 0.0 <= back["brier"] <= 1.0
    assert "Out-of-time check" in render_html(clean)
