"""Report output: all-or-nothing writes, no pyplot, matplotlib imported only when drawing."""

from __future__ import annotations

import io
import subprocess
import sys
import types
from typing import ClassVar

import pandas as pd
import pytest

from crmcore.cli import main
from crmcore.clv import simulate_transactions
from crmcore.report import REPORT_FILES, ReportData, ReportOptions, _output, analyse, write_report


@pytest.fixture(scope="module")
def analysis():
    tx = simulate_transactions(
        200,
        r=0.8,
        alpha=30.0,
        a=0.6,
        b=3.0,
        start="2024-01-01",
        periods=540,
        p=6.0,
        q=4.0,
        gamma=15.0,
        random_state=4,
    )
    data = ReportData(
        transactions=pd.DataFrame(
            {
                "customer_id": tx["customer_id"].astype(str),
                "date": tx["date"].dt.tz_localize("UTC"),
                "amount": tx["amount"],
            }
        )
    )
    return analyse(data, ReportOptions(n_draws=30))


def test_write_report_creates_the_files(analysis, tmp_path):
    paths = write_report(analysis, tmp_path / "a" / "b")
    assert [p.name for p in paths] == list(REPORT_FILES)
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == sorted(REPORT_FILES)


def test_failure_while_writing_leaves_nothing_behind(analysis, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")

    def boom(_analysis, **_kw):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(_output, "render_html", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_report(analysis, out)
    # customers.csv and summary.json were already staged: none of it is published
    assert [p.name for p in out.iterdir()] == ["summary.json"]
    assert (out / "summary.json").read_text() == "{}"


def test_failure_removes_an_output_directory_it_created(analysis, tmp_path, monkeypatch):
    monkeypatch.setattr(_output, "render_html", lambda *_a, **_k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(analysis, tmp_path / "new")
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_no_matplotlib_at_import_and_never_pyplot():
    code = (
        "import sys, crmcore.cli, crmcore.report, crmcore.datasets\n"
        "assert 'matplotlib' not in sys.modules, 'imported at import time'\n"
        "import pandas as pd\n"
        "from crmcore.report import ReportData, analyse, ReportOptions\n"
        "from crmcore.report._html import render_html\n"
        "from crmcore.clv import simulate_transactions\n"
        "tx = simulate_transactions(80, r=0.8, alpha=30.0, a=0.6, b=3.0, start='2024-01-01',"
        " periods=400, p=6.0, q=4.0, gamma=15.0, random_state=1)\n"
        "data = ReportData(transactions=pd.DataFrame({'customer_id':"
        " tx['customer_id'].astype(str),"
        " 'date': tx['date'].dt.tz_localize('UTC'), 'amount': tx['amount']}))\n"
        "page = render_html(analyse(data, ReportOptions(n_draws=30)))\n"
        "assert '<svg' in page\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


class _FakeBar:
    made: ClassVar[list[_FakeBar]] = []

    def __init__(self, total, unit, file, leave, desc):
        self.total, self.desc, self.done, self.closed = total, desc, 0, False
        _FakeBar.made.append(self)

    def update(self, k):
        self.done += k

    def close(self):
        self.closed = True


class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.slow
def test_progress_bars_with_tqdm_on_a_terminal(tmp_path, monkeypatch):
    fake = types.ModuleType("tqdm")
    fake.tqdm = _FakeBar
    monkeypatch.setitem(sys.modules, "tqdm", fake)
    _FakeBar.made.clear()
    err = _Tty()
    code = main(["demo", "--customers", "60", "--out", str(tmp_path / "d"), "--draws", "30"],
                stdout=io.StringIO(), stderr=err)  # fmt: skip
    assert code == 0
    bars = {bar.desc: bar for bar in _FakeBar.made}
    customers = bars["storing 60 customers"]
    assert customers.done == customers.total == 60
    assert all(bar.closed and bar.done == bar.total for bar in _FakeBar.made)
    assert "storing 60 customers" in err.getvalue()


def test_no_progress_off_a_terminal(tmp_path):
    err = io.StringIO()
    code = main(["demo", "--customers", "60", "--out", str(tmp_path / "d"), "--draws", "30"],
                stdout=io.StringIO(), stderr=err)  # fmt: skip
    assert code == 0
    assert "storing" not in err.getvalue()


def test_as_of_also_cuts_the_survey_answers():
    # Answers given after as_of are not observed yet; they used to enter the
    # NPS next to a history that ends at as_of.
    tx = simulate_transactions(
        120, r=0.8, alpha=30.0, a=0.6, b=3.0, start="2024-01-01", periods=540,
        p=6.0, q=4.0, gamma=15.0, random_state=4,
    )  # fmt: skip
    transactions = pd.DataFrame(
        {
            "customer_id": tx["customer_id"].astype(str),
            "date": tx["date"].dt.tz_localize("UTC").dt.floor("us"),
            "amount": tx["amount"],
        }
    )
    # as_of at a purchase: a later one makes churn_labels warn (log ends before as_of)
    dates_ = transactions["date"]
    as_of = dates_[dates_ <= pd.Timestamp("2025-01-15", tz="UTC")].max()
    dates = [pd.Timestamp("2024-06-01", tz="UTC")] * 40 + [as_of + pd.Timedelta(days=1)] * 40
    surveys = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(80)],
            "kind": "nps",
            "score": [10] * 40 + [0] * 40,
            "date": dates,
            "scale": 10,
        }
    )
    result = analyse(
        ReportData(transactions=transactions, surveys=surveys),
        ReportOptions(as_of=as_of.to_pydatetime(), n_draws=30),
    )
    nps = result.summary["surveys"]["nps"]
    assert (nps["n"], nps["score"]) == (40, 100.0)
