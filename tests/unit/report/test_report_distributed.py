"""``crmcore report --scheduler``: the report on a Dask scheduler equals the in-memory report.

The log (text ids, refunds, free orders and exact duplicates, so that every
data-quality rule and the customer order after netting are exercised) is
written once as one Parquet file and once as a folder of three; the report
of the folder on Dask must write the same ``customers.csv`` and
``summary.json`` byte for byte, and the same ``report.html`` up to the
random ids matplotlib gives its SVG elements.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmcore.cli import main
from crmcore.clv import simulate_transactions
from crmcore.errors import ValidationError
from crmcore.report import (
    ReportData,
    ReportOptions,
    analyse,
    read_partitioned_transactions,
    read_transactions,
    write_report,
)

dask = pytest.importorskip("dask", reason="the dask extra is not installed (crmcore[dask])")
pytest.importorskip("dask.dataframe", reason="dask.dataframe (crmcore[dask]) is missing")

OPTIONS = ReportOptions(n_draws=40)
_SVG_ID = re.compile(r"\b(m|p|image)[0-9a-f]{8,}\b")


def _log(refunds: bool) -> pd.DataFrame:
    log = simulate_transactions(
        150, r=0.6, alpha=30.0, a=0.8, b=2.5, start=pd.Timestamp("2024-01-01"),
        periods=400, p=6.0, q=4.0, gamma=15.0, random_state=3,
    )  # fmt: skip
    log["customer_id"] = "c" + log["customer_id"].astype(str)  # text ids: first-appearance codes
    log = log.sample(frac=1.0, random_state=1).reset_index(drop=True)
    rng = np.random.default_rng(0)
    log.loc[rng.choice(len(log), 8, replace=False), "amount"] = 0.0
    if refunds:  # of a few customers only: some partitions have none, yet all are re-sorted
        few = np.flatnonzero(log["customer_id"].isin(["c1", "c2", "c3"]).to_numpy())
        log.loc[rng.choice(few, 4, replace=False), "amount"] *= -0.5
    return pd.concat([log, log.iloc[:4]], ignore_index=True)  # four exact duplicates


def _write(log: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    single = folder / "all.parquet"
    log.to_parquet(single, index=False)
    parts = folder / "parts"
    parts.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(log)), 3)):
        log.iloc[rows].to_parquet(parts / f"part.{i}.parquet", index=False)
    return single, parts


def _files(out: Path) -> dict[str, str]:
    return {
        name: _SVG_ID.sub("ID", (out / name).read_text(encoding="utf-8"))
        for name in ("customers.csv", "summary.json", "report.html")
    }


@pytest.mark.slow
@pytest.mark.parametrize("refunds", [False, True], ids=["plain", "refunds"])
def test_report_on_dask_writes_the_in_memory_report(tmp_path: Path, refunds: bool) -> None:
    single, parts = _write(_log(refunds), tmp_path)
    in_memory = analyse(ReportData(transactions=read_transactions(single)), OPTIONS)
    steps: list[str] = []
    with dask.config.set(scheduler="synchronous"):
        on_dask = analyse(
            ReportData(transactions=read_partitioned_transactions(parts)),
            OPTIONS,
            step=steps.append,
        )
    assert len(steps) == len(set(steps)), steps  # each progress line once
    write_report(in_memory, tmp_path / "memory")
    write_report(on_dask, tmp_path / "dask")
    assert on_dask.summary["data_quality"]["duplicate_rows"] == 4
    assert (on_dask.summary["data_quality"]["refund_rows"] > 0) == refunds
    want, got = _files(tmp_path / "memory"), _files(tmp_path / "dask")
    for name in want:
        assert got[name] == want[name], name


@pytest.mark.slow
def test_cli_report_on_a_local_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="dask.distributed is missing")
    single, parts = _write(_log(refunds=True), tmp_path)
    argv = ["report", "--as-of", "2025-01-15", "--draws", "40", "--currency", "eur"]
    out, err = io.StringIO(), io.StringIO()
    assert main([*argv, "--transactions", str(single), "--out", str(tmp_path / "m")],
                stdout=out, stderr=err) == 0  # fmt: skip
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        code = main(
            [*argv, "--transactions", str(parts), "--scheduler", cluster.scheduler_address,
             "--out", str(tmp_path / "d")],
            stdout=out, stderr=err,
        )  # fmt: skip
    assert (code, err.getvalue()) == (0, "")
    assert _files(tmp_path / "d") == _files(tmp_path / "m")
    assert '"currency": "EUR"' in _files(tmp_path / "d")["summary.json"]


def test_partitioned_reader_refuses_csv_and_missing_input(tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,date,amount\na,2024-01-01,1\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"CSV file.*Parquet.*to_parquet") as err:
        read_partitioned_transactions(csv)
    assert err.value.field == "transactions"
    with pytest.raises(ValidationError, match="neither a Parquet file nor a folder"):
        read_partitioned_transactions(tmp_path / "missing")
    pd.DataFrame({"customer_id": ["a"], "when": ["2024-01-01"]}).to_parquet(
        tmp_path / "p.parquet", index=False
    )
    with pytest.raises(ValidationError, match="has no column 'date'; columns present"):
        read_partitioned_transactions(tmp_path / "p.parquet")


def test_cli_scheduler_errors_are_one_line(tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,date,amount\na,2024-01-01,1\n", encoding="utf-8")
    cases = [
        (["--transactions", str(csv), "--scheduler", "synchronous"], "is a CSV file"),
        (["--db", "sqlite:///x.sqlite", "--scheduler", "synchronous"], "leave out --scheduler"),
    ]
    _one_line_errors(tmp_path, cases)


@pytest.mark.slow
def test_cli_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="dask.distributed is missing")
    (tmp_path / "tx").mkdir()
    extra = ["--transactions", str(tmp_path / "tx"), "--scheduler", "tcp://127.0.0.1:9"]
    _one_line_errors(tmp_path, [(extra, "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'")])


def _one_line_errors(tmp_path: Path, cases: list[tuple[list[str], str]]) -> None:
    for extra, message in cases:
        err = io.StringIO()
        code = main(["report", *extra, "--out", str(tmp_path / "o")], stdout=io.StringIO(),
                    stderr=err)  # fmt: skip
        assert code == 2, extra
        assert message in err.getvalue()
        assert err.getvalue().count("\n") == 1


def test_too_few_customers_on_dask_is_the_in_memory_error(tmp_path: Path) -> None:
    log = _log(refunds=False)
    log = log[log["customer_id"].isin(log["customer_id"].unique()[:5])]
    _, parts = _write(log, tmp_path)
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.raises(ValidationError, match="the data hold 5 customers"),
    ):
        analyse(ReportData(transactions=read_partitioned_transactions(parts)), OPTIONS)
