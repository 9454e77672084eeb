"""Hostile command lines and databases: exit 2 (130 for Ctrl-C), one line, nothing written.

Issue 23, class 8: every failure of the command is one line on stderr; numbers are
bounded where they enter (the parser, and ReportOptions for library callers).
"""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore import _limits
from crmcore.cli import _interrupted, main
from crmcore.errors import StoreUnavailable, ValidationError
from crmcore.report import ReportOptions, read_transactions
from crmcore.storage import SqlStore

PG_URL = os.environ.get("CRMCORE_TEST_POSTGRES_URL")


def run(argv):
    err, out = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def assert_one_line(code, stderr, *words, exit_code=2):
    assert code == exit_code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("crmcore: error: ")
    for word in words:
        assert word in lines[0]


COMMANDS = {
    "report": ["report", "--transactions", "tx.csv", "--out", "out"],
    "demo": ["demo", "--out", "out"],
    "predict": ["clv", "predict", "--models", "m.json", "--transactions", "tx.csv", "--out", "o"],
}
BOUNDED = [
    ("report", "--seed", _limits.SEED_MAX + 1),
    ("report", "--seed", -1),
    ("report", "--draws", 0),
    ("report", "--draws", _limits.MAX_DRAWS + 1),
    ("report", "--horizon-months", _limits.MAX_HORIZON_MONTHS + 1),
    ("report", "--horizon-months", 0),
    ("report", "--period-days", 0),
    ("report", "--period-days", "nan"),
    ("report", "--period-days", "inf"),
    ("report", "--discount-rate", -0.1),
    ("report", "--discount-rate", 1),
    ("demo", "--customers", 0),
    ("demo", "--customers", _limits.MAX_CUSTOMERS + 1),
    ("predict", "--horizon-months", 10_000_000),
    ("predict", "--discount-rate", "1e308"),
]


@pytest.mark.parametrize(("command", "option", "value"), BOUNDED)
def test_out_of_bounds_options_are_one_line(tmp_path, command, option, value):
    code, _, stderr = run([*COMMANDS[command], option, str(value)])
    assert_one_line(code, stderr, f"argument {option}", "outside")
    assert not (tmp_path / "out").exists()


@settings(max_examples=40)
@given(
    option=st.sampled_from(["--seed", "--draws", "--horizon-months"]),
    value=st.one_of(st.integers(max_value=-1), st.integers(min_value=_limits.SEED_MAX + 1)),
)
def test_any_integer_outside_the_bounds_is_refused(option, value):
    code, _, stderr = run([*COMMANDS["report"], option, str(value)])
    assert_one_line(code, stderr, option)


@given(text=st.text(min_size=1, max_size=8).filter(lambda t: not t.strip().lstrip("+-").isdigit()))
def test_text_where_a_number_belongs_is_refused(text):
    code, _, stderr = run([*COMMANDS["report"], "--draws=" + text])
    assert_one_line(code, stderr, "--draws")


def test_unknown_commands_and_options_are_one_line():
    assert_one_line(*run(["bogus"])[::2], "invalid choice")
    assert_one_line(*run([*COMMANDS["report"], "--nope"])[::2], "--nope")


def _report_on(tmp_path, db):
    return run(["report", "--db", db, "--out", str(tmp_path / "out")])


def test_a_file_that_is_not_a_database(tmp_path):
    garbage = tmp_path / "crm.sqlite"
    garbage.write_bytes(b"not a database at all\n" * 100)
    code, _, stderr = _report_on(tmp_path, f"sqlite:///{garbage}")
    assert_one_line(code, stderr, "cannot open the database", "not a database")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("foo://x", ["no database driver for 'foo'"]),
        ("mysql+nodriver://u:secret@h/db", ["no database driver"]),
        ("sqlite:///", []),
        ("::not a url::", ["not a database URL"]),
    ],
)
def test_unknown_dialects_and_urls(tmp_path, url, words):
    code, _, stderr = _report_on(tmp_path, url)
    assert_one_line(code, stderr, *words)
    assert "secret" not in stderr


@pytest.mark.postgres
def test_wrong_password_and_unreachable_server(tmp_path):
    if not PG_URL:
        pytest.skip("set CRMCORE_TEST_POSTGRES_URL to run the PostgreSQL checks")
    wrong = PG_URL.replace("crmcore:crmcore@", "crmcore:Wr0ngSecret@")
    code, _, stderr = _report_on(tmp_path, wrong)
    assert_one_line(code, stderr, "cannot open the database")
    assert "Wr0ngSecret" not in stderr
    with pytest.raises(StoreUnavailable, match=r"cannot open the database"):
        SqlStore("postgresql+psycopg://u:p@127.0.0.1:1/db")


def test_a_directory_is_not_a_transactions_file(tmp_path):
    code, _, stderr = run(
        ["report", "--transactions", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert_one_line(code, stderr, "is a directory, not a file")


def test_mixed_currencies_are_refused_and_one_currency_is_read(tmp_path):
    rows = "customer_id,date,amount,currency\na,2026-01-01,10,EUR\nb,2026-01-02,5,{}\n"
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(rows.format("usd"))
    with pytest.raises(ValidationError, match="EUR, USD"):
        read_transactions(mixed)
    missing = tmp_path / "missing.csv"
    missing.write_text(rows.format(""))
    with pytest.raises(ValidationError, match="missing"):
        read_transactions(missing)
    one = tmp_path / "one.csv"
    one.write_text(rows.format("eur"))
    assert read_transactions(one)["amount"].sum() == 15.0


@pytest.mark.parametrize(
    "options",
    [
        {"n_draws": 10**9},
        {"n_draws": 0},
        {"horizon_months": 10**7},
        {"horizon_months": 2.5},
        {"period_days": float("nan")},
        {"discount_rate": 1.0},
        {"confidence": 1.0},
        {"random_state": -1},
        {"churn_horizon_days": 0},
        {"holdout_days": float("inf")},
    ],
)
def test_report_options_are_bounded_for_library_callers(options):
    with pytest.raises(ValidationError, match=next(iter(options))):
        ReportOptions(**options)


def test_ctrl_c_while_numpy_loads_is_an_interruption(monkeypatch):
    def interrupted_import(name):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("Unable to import required dependency numpy") from exc

    monkeypatch.setattr("crmcore.cli.importlib.import_module", interrupted_import)
    code, _, stderr = run(COMMANDS["report"])
    assert_one_line(code, stderr, "interrupted", exit_code=130)
    assert not _interrupted(ImportError("no module"))
