"""The command on bad input: exit code 2, one line naming the problem, nothing written."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest

from crmcore.cli import main
from crmcore.cli._commands import checked_as_of
from crmcore.clv import simulate_transactions
from crmcore.errors import ValidationError


@pytest.fixture(scope="module")
def log():
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
            "date": tx["date"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "amount": tx["amount"].round(2),
        }
    )


def run(argv):
    err, out = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def write(path, frame):
    frame.to_csv(path, index=False)
    return str(path)


def report(tmp_path, source, *extra):
    out = tmp_path / "out"
    code, stdout, stderr = run(["report", "--transactions", source, "--out", str(out), *extra])
    return code, stdout, stderr, out


def assert_refused(code, stdout, stderr, out, *words):
    assert code == 2
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("crmcore: error: ")
    for word in words:
        assert word in lines[0]
    assert not out.exists()


def test_missing_column(tmp_path, log):
    source = write(tmp_path / "tx.csv", log.drop(columns="amount"))
    assert_refused(*report(tmp_path, source), "'amount'", "customer_id, date")


def test_renamed_column_via_option(tmp_path, log):
    source = write(tmp_path / "tx.csv", log.rename(columns={"amount": "total"}))
    code, stdout, stderr, out = report(tmp_path, source, "--value-col", "total", "--draws", "30")
    assert code == 0
    assert "report written" in stdout
    assert "warning" not in stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "customers.csv",
        "report.html",
        "summary.json",
    ]


def test_old_amount_col_option_still_works_with_a_warning(tmp_path, log):
    source = write(tmp_path / "tx.csv", log.rename(columns={"amount": "total"}))
    code, _stdout, stderr, out = report(tmp_path, source, "--amount-col", "total", "--draws", "30")
    assert code == 0
    assert (out / "summary.json").is_file()
    assert "DeprecationWarning" in stderr
    assert "'--value-col'" in stderr
    other = tmp_path / "other"
    code, stdout, stderr = run(
        ["report", "--transactions", source, "--amount-col", "total", "--value-col", "total",
         "--out", str(other)]
    )  # fmt: skip
    assert_refused(code, stdout, stderr, other, "--value-col only")


def test_text_in_amount(tmp_path, log):
    bad = log.astype({"amount": object})
    bad.loc[41, "amount"] = "twelve"
    source = write(tmp_path / "tx.csv", bad)
    assert_refused(*report(tmp_path, source), "'amount'", "row 42", "'twelve'")


def test_negative_amount_is_a_refund_netted_and_reported(tmp_path, log):
    refund = log.iloc[[7]].assign(amount=-3.5)  # same customer and time as row 8
    source = write(tmp_path / "tx.csv", pd.concat([log, refund], ignore_index=True))
    code, stdout, stderr, out = report(tmp_path, source, "--draws", "30")
    assert code == 0, stderr
    assert "1 refunds (negative amounts, 3.50 in total) netted" in stdout
    quality = json.loads((out / "summary.json").read_text())["data_quality"]
    assert quality["refund_rows"] == 1
    assert quality["refund_days_dropped"] == 0


def test_unparseable_date(tmp_path, log):
    bad = log.copy()
    bad.loc[9, "date"] = "31/02/2024"
    assert_refused(
        *report(tmp_path, write(tmp_path / "tx.csv", bad)),
        "date",
        "'31/02/2024'",
        "row 10",
        "date_format",
    )


def test_date_format_option(tmp_path, log):
    other = log.assign(date=pd.to_datetime(log["date"]).dt.strftime("%d.%m.%Y"))
    source = write(tmp_path / "tx.csv", other)
    code, *_ = report(tmp_path, source, "--date-format", "%d.%m.%Y", "--draws", "30")
    assert code == 0


def test_missing_customer_id(tmp_path, log):
    bad = log.copy()
    bad.loc[3, "customer_id"] = None
    assert_refused(*report(tmp_path, write(tmp_path / "tx.csv", bad)), "'customer_id'", "row 4")


def test_empty_file(tmp_path):
    source = tmp_path / "tx.csv"
    source.write_text("")
    assert_refused(*report(tmp_path, str(source)), "empty")


def test_header_only(tmp_path):
    source = tmp_path / "tx.csv"
    source.write_text("customer_id,date,amount\n")
    assert_refused(*report(tmp_path, str(source)), "no rows")


def test_missing_file(tmp_path):
    assert_refused(*report(tmp_path, str(tmp_path / "nope.csv")), "does not exist")


def test_parquet_with_bad_type(tmp_path, log):
    bad = log.astype({"amount": object})
    bad.loc[0, "amount"] = "n/a"
    bad["amount"] = bad["amount"].astype(str)
    bad.to_parquet(tmp_path / "tx.parquet")
    assert_refused(*report(tmp_path, str(tmp_path / "tx.parquet")), "'amount'", "row 1")


def test_bad_survey_score(tmp_path, log):
    source = write(tmp_path / "tx.csv", log)
    surveys = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "date": ["2024-03-01", "2024-03-02"], "score": [9, 11]}
    )
    out = tmp_path / "out"
    code, stdout, stderr = run(
        [
            "report",
            "--transactions",
            source,
            "--surveys",
            write(tmp_path / "s.csv", surveys),
            "--out",
            str(out),
        ]
    )
    assert_refused(code, stdout, stderr, out, "'score'", "row 2")


def test_failure_keeps_existing_output_untouched(tmp_path, log):
    out = tmp_path / "out"
    out.mkdir()
    (out / "customers.csv").write_text("old\n")
    bad = log.copy()
    bad.loc[0, "date"] = "yesterday"
    code, _o, _e = run(
        ["report", "--transactions", write(tmp_path / "tx.csv", bad), "--out", str(out)]
    )
    assert code == 2
    assert sorted(p.name for p in out.iterdir()) == ["customers.csv"]
    assert (out / "customers.csv").read_text() == "old\n"


def test_as_of_in_the_future_of_nothing(tmp_path, log):
    source = write(tmp_path / "tx.csv", log)
    assert_refused(*report(tmp_path, source, "--as-of", "2001-01-01"), "as_of", "before the first")


@pytest.mark.parametrize(
    ("as_of", "words"),
    [
        ("soon", ["--as-of", "'soon'", "ISO 8601"]),
        ("9999-12-31", ["--as-of", "9999-12-31", "2262-04-11", "missing"]),
        ("2263-01-01T00:00:00", ["--as-of", "2262-04-11"]),
        ("30.06.2026", ["--as-of", "'30.06.2026'"]),
    ],
)
def test_unusable_as_of_is_one_line_before_reading_anything(tmp_path, as_of, words):
    # the file does not exist: --as-of is refused before any input is read
    missing = str(tmp_path / "nope.csv")
    assert_refused(*report(tmp_path, missing, "--as-of", as_of), *words)
    out = tmp_path / "m.json"
    code, stdout, stderr = run(
        ["clv", "fit", "--transactions", missing, "--as-of", as_of, "--out", str(out)]
    )
    assert_refused(code, stdout, stderr, out, "--as-of")


def test_naive_dates_stay_naive_and_the_summary_says_so(tmp_path, log):
    source = write(tmp_path / "tx.csv", log)
    code, _stdout, _stderr, out = report(
        tmp_path, source, "--as-of", "2025-01-31", "--draws", "30", "-q"
    )
    assert code == 0
    time = json.loads((out / "summary.json").read_text())["time"]
    assert time["zone"] is None
    assert "naive" in time["zone_rule"]
    assert time["as_of"] == "2025-01-31T23:59:59.999999999"
    assert "end of the day" in time["as_of_rule"]


@pytest.mark.slow
def test_tz_localises_naive_dates_explicitly(tmp_path, log):
    # a purchase at 23:30 on 31 January (wall clock): in the history of a
    # date-only as_of, whatever the zone; with --tz its instant is 22:30 UTC
    late = log.iloc[:1].assign(date="2025-01-31 23:30:00", customer_id="late")
    source = write(tmp_path / "tx.csv", pd.concat([log, late], ignore_index=True))
    for zone, offset in (("Europe/Paris", "+01:00"), ("America/New_York", "-05:00")):
        code, _o, stderr, out = report(
            tmp_path, source, "--as-of", "2025-01-31", "--tz", zone, "--draws", "30", "-q"
        )
        assert code == 0, stderr
        summary = json.loads((out / "summary.json").read_text())
        assert summary["time"]["zone"] == zone
        assert zone in summary["time"]["zone_rule"]
        assert summary["as_of"] == f"2025-01-31T23:59:59.999999999{offset}"
        kept = (pd.to_datetime(log["date"]) <= pd.Timestamp("2025-01-31 23:59:59")).sum()
        assert summary["n_transactions"] == kept + 1
        table = pd.read_csv(out / "customers.csv", index_col="customer_id")
        assert "late" in table.index


def test_tz_and_mixed_zones_are_refused_in_one_line(tmp_path, log):
    source = write(tmp_path / "tx.csv", log)
    assert_refused(*report(tmp_path, source, "--tz", "Mars/Olympus"), "--tz", "Mars/Olympus")
    # an aware cut-off against naive dates: the fix is named
    aware_cut = report(tmp_path, source, "--as-of", "2025-01-31T12:00:00+02:00")
    assert_refused(*aware_cut, "as_of", "naive", "tz_localize")
    aware = log.assign(date=log["date"] + "+02:00")
    aware_source = write(tmp_path / "aware.csv", aware)
    naive_cut = report(tmp_path, aware_source, "--as-of", "2025-01-31T12:00:00")
    assert_refused(*naive_cut, "as_of", "timezone-aware")
    code, _o, _e, out = report(tmp_path, aware_source, "--as-of", "2025-01-31", "--draws", "30")
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["as_of"] == "2025-01-31T23:59:59.999999999+02:00"
    assert summary["time"]["zone"] == "UTC+02:00"


def test_as_of_cuts_the_log(tmp_path, log):
    source = write(tmp_path / "tx.csv", log)
    code, _stdout, _stderr, out = report(
        tmp_path, source, "--as-of", "2025-01-31", "--draws", "30"
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    kept = (pd.to_datetime(log["date"]) <= pd.Timestamp("2025-01-31 23:59:59")).sum()
    assert summary["n_transactions"] == kept
    assert summary["as_of"].startswith("2025-01-31T23:59:59")


def test_models_and_bad_model_file(tmp_path, log):
    source = write(tmp_path / "tx.csv", log)
    for name in ("mbgnbd", "pareto"):
        models = tmp_path / f"{name}.json"
        code, _o, _e = run(
            ["clv", "fit", "--transactions", source, "--model", name, "--out", str(models)]
        )
        assert code == 0
        assert json.loads(models.read_text())["transaction_model"]["model"] in {
            "ModifiedBetaGeoModel",
            "ParetoNBDModel",
        }
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    out = tmp_path / "scores.csv"
    code, _stdout, stderr = run(
        ["clv", "predict", "--models", str(junk), "--transactions", source, "--out", str(out)]
    )
    assert code == 2
    assert "not JSON" in stderr
    assert not out.exists()
    # Right format tag, parts missing or of the wrong type: a one-line refusal
    # (exit 2), not a KeyError/AttributeError traceback.
    for state in (
        {"format": "crmcore.clv-models"},
        {"format": "crmcore.clv-models", "transaction_model": [], "spend_model": {}},
    ):
        junk.write_text(json.dumps(state))
        code, stdout, stderr = run(
            ["clv", "predict", "--models", str(junk), "--transactions", source, "--out", str(out)]
        )
        assert_refused(code, stdout, stderr, out, "transaction_model", "clv fit")


def test_usage_errors_exit_2(capsys):
    assert main(["report", "--out", "x"]) == 2
    assert main(["frobnicate"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2  # one line per failure, each pointing at --help
    assert all(line.startswith("crmcore: error: ") and "--help" in line for line in lines)
    assert main(["demo", "--customers", "0", "--out", "x"]) == 2


def test_quiet_prints_nothing(tmp_path, log):
    source = write(tmp_path / "tx.csv", log)
    code, stdout, stderr = run(
        ["report", "--transactions", source, "--out", str(tmp_path / "o"), "-q", "--draws", "30"]
    )
    assert (code, stdout, stderr) == (0, "", "")


def test_checked_as_of_passes_readable_cut_offs_through():
    for text in ("2026-06-30", "2026-06", "2026-06-30T12:00:00+02:00", "2026-06-30 12:00"):
        assert checked_as_of(text) == text
    assert checked_as_of(None) is None
    with pytest.raises(ValidationError) as info:
        checked_as_of("30.06.2026")
    assert info.value.field == "--as-of"


def test_missing_or_foreign_database(tmp_path):
    out = tmp_path / "out"
    missing = tmp_path / "nope.sqlite"
    code, stdout, stderr = run(["report", "--db", f"sqlite:///{missing}", "--out", str(out)])
    assert_refused(code, stdout, stderr, out, "does not exist")
    assert not missing.exists()  # not created as a side effect
    foreign = tmp_path / "other.sqlite"
    import sqlite3

    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    code, stdout, stderr = run(["report", "--db", f"sqlite:///{foreign}", "--out", str(out)])
    assert_refused(code, stdout, stderr, out, "create_schema")
    code, stdout, stderr = run(["report", "--db", "not a url", "--out", str(out)])
    assert_refused(code, stdout, stderr, out, "not a database URL")


@pytest.mark.slow
def test_row_order_does_not_change_the_report(tmp_path, log):
    first = write(tmp_path / "a.csv", log)
    shuffled = write(tmp_path / "b.csv", log.sample(frac=1.0, random_state=9))
    for name, source in (("a", first), ("b", shuffled)):
        code, *_ = run(["report", "--transactions", source, "--out", str(tmp_path / name),
                        "--draws", "30", "-q"])  # fmt: skip
        assert code == 0
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    # the optimiser sees the same compressed data in another order: equal to ~1e-8
    assert a["model"]["params"] == pytest.approx(b["model"]["params"], rel=1e-6)
    assert a["totals"] == pytest.approx(b["totals"], rel=1e-6)
    for sa, sb in zip(a["segments"], b["segments"], strict=True):
        assert (sa["rfm_segment"], sa["customers"]) == (sb["rfm_segment"], sb["customers"])
        assert sa["total_clv"] == pytest.approx(sb["total_clv"], rel=1e-6)
    ta = pd.read_csv(tmp_path / "a" / "customers.csv", index_col=0).sort_index()
    tb = pd.read_csv(tmp_path / "b" / "customers.csv", index_col=0).sort_index()
    pd.testing.assert_frame_equal(ta, tb, rtol=1e-6)


def test_surveys_without_kind_are_nps(tmp_path, log):
    from crmcore.report import read_surveys

    path = write(
        tmp_path / "s.csv",
        pd.DataFrame({"customer_id": ["C1", "C2"], "date": ["2024-03-01", "2024-03-02"],
                      "score": [9, 0]}),
    )  # fmt: skip
    frame = read_surveys(path)
    assert frame["kind"].tolist() == ["nps", "nps"]
    assert frame["scale"].tolist() == [10, 10]
    bad = write(
        tmp_path / "c.csv",
        pd.DataFrame({"customer_id": ["C1", "C2"], "date": ["2024-03-01", "2024-03-02"],
                      "score": [5, 7], "kind": ["csat", "csat"]}),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="row 2"):
        read_surveys(bad)
    weird = write(
        tmp_path / "k.csv",
        pd.DataFrame({"customer_id": ["C1"], "date": ["2024-03-01"], "score": [5],
                      "kind": ["ces"]}),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="'kind'"):
        read_surveys(weird)


def test_orders_in_several_currencies_are_refused(tmp_path):
    # EUR and USD amounts used to be added up as if they were one currency.
    from decimal import Decimal

    from crmcore.domain import Money, Order
    from crmcore.storage import SqlStore

    db = tmp_path / "crm.sqlite"
    at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    with SqlStore(f"sqlite:///{db}") as store:
        store.create_schema()
        store.orders.add_many(
            Order(
                id=f"o{i}",
                customer_id=f"c{i}",
                placed_at=at + dt.timedelta(days=i),
                amount=Money(amount=Decimal("10.00"), currency=currency),
            )
            for i, currency in enumerate(["EUR", "USD", "EUR"])
        )
    out = tmp_path / "out"
    code, stdout, stderr = run(["report", "--db", f"sqlite:///{db}", "--out", str(out)])
    assert_refused(code, stdout, stderr, out, "2 currencies", "EUR, USD")


def test_no_repeat_buyers_is_explained_in_one_line(tmp_path, log):
    # Used to end in the spend model's bare "data is empty" after a warning
    # line from the transaction model's fit.
    once = log.drop_duplicates("customer_id")
    source = write(tmp_path / "once.csv", once)
    assert_refused(*report(tmp_path, source), "bought more than once", "Gamma-Gamma")
    models = tmp_path / "models.json"
    code, stdout, stderr = run(["clv", "fit", "--transactions", source, "--out", str(models)])
    assert_refused(code, stdout, stderr, models, "bought more than once")


def test_unwritable_output_is_one_line_not_a_traceback(tmp_path, log):
    # An --out that is a file used to end, after the whole analysis, in a
    # FileExistsError traceback.
    source = write(tmp_path / "tx.csv", log)
    blocker = tmp_path / "blocker"
    blocker.write_text("mine\n")
    code, stdout, stderr = run(["report", "--transactions", source, "--out", str(blocker)])
    assert (code, stdout) == (2, "")
    assert stderr.count("\n") == 1
    assert stderr.startswith("crmcore: error: --out")
    assert blocker.read_text() == "mine\n"
    models = blocker / "models.json"
    code, stdout, stderr = run(["clv", "fit", "--transactions", source, "--out", str(models)])
    assert (code, stdout) == (1, "")
    assert stderr.strip().splitlines()[-1].startswith("crmcore: error: ")
    assert "Traceback" not in stderr


def _actions(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)
        else:
            yield parser.prog, action


def test_every_option_has_help():
    from crmcore.cli import build_parser

    missing = [
        f"{prog} {action.option_strings}"
        for prog, action in _actions(build_parser())
        if action.option_strings and action.help is None
    ]
    assert missing == []


def test_report_help_lists_the_expected_columns_and_defaults(capsys):
    assert main(["report", "--help"]) == 0  # argparse prints its help to sys.stdout
    stdout = " ".join(capsys.readouterr().out.split())  # as wrapped for any terminal width
    for text in ("customer_id", "date", "amount", "currency", "--date-format",
                 "--sep", "--decimal", "default customer_id", "auto (default)"):  # fmt: skip
        assert text in stdout, text
