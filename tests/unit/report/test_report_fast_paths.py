"""The report's fast paths give exactly what the plain pandas calls give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.report import _output as output
from crmcore.report._analysis import _duplicate_rows
from crmcore.report._csvtext import FloatText, IntText, block_text
from crmcore.report._output import write_customers

KEYS = ["customer_id", "date", "amount"]


def _log(tz: str | None) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    dates = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 5, n), unit="h")
    return pd.DataFrame(
        {
            "customer_id": rng.choice(["a", "b", "c"], n),
            "date": dates.tz_localize(tz) if tz else dates,
            "amount": rng.choice([0.0, -0.0, 1.5, np.nan, -2.0], n),
        }
    )


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_duplicate_rows_counts_as_pandas_does(tz):
    tx = _log(tz)
    expected = int(tx.duplicated(KEYS).sum())
    assert expected > 100  # many repeats, with -0.0 against 0.0 and NaN against NaN
    assert _duplicate_rows(tx) == expected
    # sorted by time (the screen on equal neighbouring times), the same count
    in_order = tx.sort_values("date", kind="stable", ignore_index=True)
    assert _duplicate_rows(in_order) == int(in_order.duplicated(KEYS).sum())
    assert _duplicate_rows(in_order.iloc[::7].reset_index(drop=True)) == int(
        in_order.iloc[::7].duplicated(KEYS).sum()
    )


def test_duplicate_rows_without_repeats_and_other_columns():
    tx = _log(None).drop_duplicates(KEYS).reset_index(drop=True)
    assert _duplicate_rows(tx) == 0
    # same time and amount, another customer: a candidate, not a duplicate
    pair = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "date": pd.to_datetime(["2025-01-01"] * 2),
            "amount": [1.0, 1.0],
        }
    )
    assert _duplicate_rows(pair) == 0
    # dates as text: the plain pandas count
    text = pair.assign(date=["2025-01-01", "2025-01-01"], customer_id=["a", "a"])
    assert _duplicate_rows(text) == 1


def _pandas_bytes(table: pd.DataFrame, path) -> bytes:
    out = table.copy()
    floats = out.select_dtypes(include=[np.floating]).columns
    out[floats] = out[floats].round(6)
    out.to_csv(path, index=True, lineterminator="\n")
    return path.read_bytes()


@pytest.mark.parametrize("ids", ["text", "int"])
def test_write_customers_is_byte_identical_to_pandas(tmp_path, ids):
    values = [710.0, 0.1234567, 1e-05, 1e-07, 123456.1234564, 1e16, 2.5e17, -0.0, np.nan,
              np.inf, -np.inf, 0.0001235, 1e15 + 0.5, 3.0000004, -42.5, 5e-324]  # fmt: skip
    n = len(values)
    index = [f"c{i}" for i in range(n)] if ids == "text" else list(range(100, 100 + n))
    table = pd.DataFrame(
        {
            "frequency": np.arange(n, dtype=np.int64),
            "p_alive": values,
            "clv": values[::-1],
            "segment": pd.Categorical(["champions", "at risk"] * (n // 2)),
            "label": pd.array(["x y", "z"] * (n // 2), dtype="string"),
            "flag": [True, False] * (n // 2),
        },
        index=pd.Index(index, name="customer_id"),
    )
    expected = _pandas_bytes(table, tmp_path / "pandas.csv")
    write_customers(table, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == expected
    assert table["p_alive"].iloc[1] == 0.1234567  # the caller's table is not rounded


@pytest.mark.parametrize(
    "change",
    [
        {"label": ["a,b", "z"]},  # quoted by the CSV writer
        {"label": ['say "hi"', "z"]},
        {"label": ["two\nlines", "z"]},
        {"label": [None, "z"]},  # missing text
    ],
)
def test_write_customers_leaves_texts_to_quote_to_pandas(tmp_path, change):
    table = pd.DataFrame(
        {"clv": [1.0, np.nan] * 3, "label": pd.array(["a", "b"] * 3, dtype="string")},
        index=pd.Index(["x", "y", "z", "u", "v", "w"], name="customer_id"),
    )
    for col, pair in change.items():
        table[col] = pd.array(pair * 3, dtype="string")
    expected = _pandas_bytes(table, tmp_path / "pandas.csv")
    write_customers(table, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == expected


def _tricky_floats() -> np.ndarray:
    rng = np.random.default_rng(24)
    tiny = np.arange(0, 101) / 1e6  # around the switch to exponent notation (1e-4)
    scales = 10.0 ** rng.integers(-8, 12, 3000)
    return np.concatenate(
        [
            [0.1, 1e-7, 1e16, -0.0, 0.0, np.nan, np.inf, -np.inf, 2.0**33, 2.0**33 - 1e-6],
            [2.0**53, -(2.0**63), 5e-324, 1e300, 0.0001, 0.00009999995],
            tiny,
            -tiny,
            rng.standard_normal(3000) * scales,
            np.round(rng.standard_normal(500) * 1e3),  # whole numbers
        ]
    )


def test_float_text_is_repr_of_the_rounded_float():
    values = _tricky_floats().round(6)
    text = block_text([FloatText(values)]).decode()
    expected = "".join(("" if np.isnan(v) else repr(v)) + "\n" for v in values.tolist())
    assert text == expected


def test_int_text_is_str_at_every_width():
    signed = np.array([0, 7, -7, 10, -10, 99, 2**62, np.iinfo(np.int64).max,
                       np.iinfo(np.int64).min], dtype=np.int64)  # fmt: skip
    unsigned = np.array([0, 1, 2**63, np.iinfo(np.uint64).max], dtype=np.uint64)
    small = np.array([-128, 0, 127], dtype=np.int8)
    for ints in (signed, unsigned, small):
        text = block_text([IntText(ints)]).decode()
        assert text == "".join(f"{v}\n" for v in ints.tolist())


@pytest.mark.parametrize("ids", ["text", "int", "unicode"])
def test_write_customers_tricky_values_in_blocks(tmp_path, monkeypatch, ids):
    # blocks of 64 rows: every column's layout is rebuilt per block, widths differ
    monkeypatch.setattr(output, "_CSV_BLOCK", 64)
    values = _tricky_floats()
    n = values.size
    index = {
        "text": [f"c{i}" for i in range(n)],
        "int": list(range(-50, n - 50)),
        "unicode": [f"kund\u00e9-{i}-\u65e5" for i in range(n)],
    }[ids]
    table = pd.DataFrame(
        {
            "p_alive": values,
            "big": np.arange(n, dtype=np.int64) * (2**40) - 2**50,
            "small": (np.arange(n) % 200 - 100).astype(np.int16),
            "count": np.arange(n, dtype=np.uint32),
            "segment": pd.Categorical(np.array(["champions", "at risk", ""])[np.arange(n) % 3]),
            "flag": np.arange(n) % 2 == 0,
            "note": pd.array(np.array(["", "x y", "\u00e9"])[np.arange(n) % 3], dtype="str"),
        },
        index=pd.Index(index, name="customer_id"),
    )
    expected = _pandas_bytes(table, tmp_path / "pandas.csv")
    write_customers(table, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == expected


@pytest.mark.parametrize(
    "column",
    [
        ["a\x00b", "c"],  # NUL: the fast writer's filler, so pandas writes it
        [b"ab", "c"],  # bytes among texts: pandas writes b'ab'
        [1, "c"],
    ],
)
def test_write_customers_leaves_odd_objects_to_pandas(tmp_path, column):
    table = pd.DataFrame(
        {"clv": [0.5, 1e-5] * 2, "label": pd.Series(column * 2, dtype=object)},
        index=pd.Index(["w", "x", "y", "z"], name="customer_id"),
    )
    expected = _pandas_bytes(table, tmp_path / "pandas.csv")
    write_customers(table, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == expected
