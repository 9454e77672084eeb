"""``crmcore clv score``: the Dask job from partitioned Parquet, equal to the in-memory one."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmcore.cli import main
from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    rfm_summary,
    score_customers,
    simulate_transactions,
)

pytest.importorskip("dask.dataframe", reason="the dask extra is not installed (crmcore[dask])")


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return simulate_transactions(
        300,
        r=0.6,
        alpha=30.0,
        a=0.8,
        b=2.5,
        start=pd.Timestamp("2024-01-01", tz="UTC"),
        periods=300,
        p=6.0,
        q=4.0,
        gamma=15.0,
        random_state=4,
    )


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_clv_score_writes_partitioned_scores_equal_to_in_memory(
    log: pd.DataFrame, tmp_path: Path
) -> None:
    folder = tmp_path / "tx"
    folder.mkdir()
    cuts = np.linspace(0, len(log), 4).astype(int)
    for i in range(3):
        log.iloc[cuts[i] : cuts[i + 1]].to_parquet(folder / f"part.{i}.parquet", index=False)
    out = tmp_path / "out"
    code, stdout, stderr = run(
        "clv", "score", "--transactions", str(folder), "--scheduler", "synchronous",
        "--as-of", "2024-09-30", "--period-days", "30", "--out", str(out),
    )  # fmt: skip
    assert (code, stderr) == (0, "")
    assert "300 customers scored on synchronous" in stdout
    assert len(list((out / "scores").glob("*.parquet"))) == 3  # one file per input file
    got = pd.read_parquet(out / "scores").set_index("customer_id").sort_index()
    summary = rfm_summary(log, value_col="amount", as_of="2024-09-30")
    bg, gg = BetaGeoModel().fit(summary), GammaGammaModel().fit(summary)
    want = score_customers(
        bg, summary, t=30.0, spend_model=gg, horizon=12, time_unit=365.25 / 12,
        discount_rate=0.01,
    ).sort_index()  # fmt: skip
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-7)
    state = json.loads((out / "models.json").read_text(encoding="utf-8"))
    assert state["format"] == "crmcore.clv-models"
    for name, value in bg.params_.items():
        np.testing.assert_allclose(state["transaction_model"]["params"][name], value, rtol=1e-12)


def test_clv_score_refuses_bad_input(tmp_path: Path) -> None:
    code, _, stderr = run(
        "clv", "score", "--transactions", str(tmp_path / "none"), "--out", str(tmp_path / "o")
    )
    assert code == 2
    assert "neither a Parquet file nor a folder" in stderr
    pd.DataFrame({"customer_id": [1], "when": ["2024-01-01"], "amount": [1.0]}).to_parquet(
        tmp_path / "one.parquet"
    )
    code, _, stderr = run(
        "clv",
        "score",
        "--transactions",
        str(tmp_path / "one.parquet"),
        "--out",
        str(tmp_path / "o"),
    )
    assert code == 2
    assert "has no column 'date'; columns present: customer_id, when, amount" in stderr
    assert not (tmp_path / "o").exists()
