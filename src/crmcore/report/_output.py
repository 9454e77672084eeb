"""Writing a report: every file built in a staging directory, moved into place on success."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmcore.report._analysis import Analysis
from crmcore.report._csvtext import (
    ColumnText,
    FloatText,
    IntText,
    LookupText,
    TextText,
    block_text,
)
from crmcore.report._html import render_html

__all__ = ["REPORT_FILES", "staged_directory", "write_customers", "write_files", "write_report"]

#: The files a report writes.
REPORT_FILES = ("customers.csv", "summary.json", "report.html")


@contextlib.contextmanager
def staged_directory(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh staging directory inside ``out_dir``; publish its files only on success.

    On success every file of the staging directory replaces (``os.replace``,
    atomic per file) its namesake in ``out_dir``; on any exception the
    staging directory is deleted, so ``out_dir`` keeps what it held before
    (and is removed again if this call created it).
    """
    out = Path(out_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".crmcore-staging-", dir=out))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    for item in sorted(stage.iterdir()):
        os.replace(item, out / item.name)
    stage.rmdir()


#: Rows formatted per block of ``customers.csv`` (bounds the memory of the text).
_CSV_BLOCK = 8192

#: Characters that make the csv module quote a field (QUOTE_MINIMAL, "," and "\n"),
#: and NUL, which the fast writer uses as filler (see :mod:`crmcore.report._csvtext`).
_QUOTED = re.compile(r'[,"\r\n\x00]')

_Column = Callable[[slice], ColumnText]


def write_customers(customers: pd.DataFrame, path: Path) -> None:
    r"""Write the customer table as ``customers.csv``, floats rounded to 6 decimals.

    The bytes are those of ``table.round(6).to_csv(path, lineterminator="\\n")``
    (pandas writes a float as ``str`` of the NumPy value, which is Python's
    ``repr``, and a missing one as an empty field), built a block of rows at
    a time from whole columns (:mod:`crmcore.report._csvtext`), with no
    Python string per cell. A table with a column of another kind, a
    missing text or a text the CSV writer would quote goes through pandas
    as it is.
    """
    table = customers
    names = [str(table.index.name), *map(str, table.columns)]
    plain = table.index.name is not None and table.index.dtype.kind != "f"
    columns = [_column(table.index.to_series())] if plain else []
    if plain:
        columns += [_column(table.iloc[:, i]) for i in range(table.shape[1])]
    if not plain or any(c is None for c in columns) or _QUOTED.search("".join(names)):
        table = table.copy()
        float_cols = table.select_dtypes(include=[np.floating]).columns
        table[float_cols] = table[float_cols].round(6)
        table.to_csv(path, index=True, lineterminator="\n")
        return
    cells = [c for c in columns if c is not None]
    with open(path, "wb") as out:
        out.write((",".join(names) + "\n").encode("utf-8"))
        for start in range(0, len(table), _CSV_BLOCK):
            rows = slice(start, min(start + _CSV_BLOCK, len(table)))
            out.write(block_text([make(rows) for make in cells]))


def _column(col: pd.Series) -> _Column | None:
    """How to write blocks of ``col`` exactly as pandas does, or None (pandas writes it)."""
    dtype = col.dtype
    if isinstance(dtype, np.dtype):
        if dtype == np.float64:
            floats = col.to_numpy()
            return lambda rows: FloatText(floats[rows].round(6))
        if dtype.kind in "iu":
            ints = col.to_numpy()
            return lambda rows: IntText(ints[rows])
        if dtype.kind == "b":
            flags = col.to_numpy().astype(np.intp)
            return lambda rows: LookupText(flags[rows], ["False", "True"])
        if dtype.kind != "O":
            return None
    if isinstance(dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        labels = list(dtype.categories)
        if (codes < 0).any() or not _all_plain_texts(labels):
            return None
        return lambda rows: LookupText(codes[rows], labels)
    if dtype.kind != "O" and not isinstance(dtype, pd.StringDtype):
        return None
    if col.isna().any():
        return None  # pandas writes a missing text as an empty field
    if dtype.kind == "O" and pd.api.types.infer_dtype(col, skipna=False) != "string":
        return None  # bytes, numbers: pandas writes each its own way
    values = col.to_numpy(dtype=object).tolist()
    if not _all_plain_texts(values, checked=True):
        return None
    texts = TextText.of(values)
    return texts.rows_of


def _all_plain_texts(values: list[Any], *, checked: bool = False) -> bool:
    """Whether ``values`` are texts (already ``checked``) none of which the CSV writer quotes."""
    if not checked and not all(type(v) is str for v in values):
        return False
    return _QUOTED.search("".join(values)) is None


def write_files(analysis: Analysis, directory: str | os.PathLike[str]) -> list[Path]:
    """Write ``customers.csv``, ``summary.json`` and ``report.html`` into ``directory``.

    Not atomic by itself: :func:`write_report` wraps it in a staging directory.
    """
    folder = Path(directory)
    paths = [folder / name for name in REPORT_FILES]
    write_customers(analysis.customers, paths[0])
    paths[1].write_text(
        json.dumps(analysis.summary, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    paths[2].write_text(render_html(analysis), encoding="utf-8")
    return paths


def write_report(analysis: Analysis, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the report files into ``out_dir``, all or nothing.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`~crmcore.report.analyse`.
    out_dir : path-like
        Created if missing.

    Returns
    -------
    list of pathlib.Path
        The files written (see :data:`REPORT_FILES`).
    """
    with staged_directory(out_dir) as stage:
        write_files(analysis, stage)
    return [Path(out_dir) / name for name in REPORT_FILES]
