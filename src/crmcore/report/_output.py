"""Writing a report: every file built in a staging directory, moved into place on success."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from crmcore.report._analysis import Analysis
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
_CSV_BLOCK = 65_536

#: Characters that make the csv module quote a field (QUOTE_MINIMAL, "," and "\n").
_QUOTED = re.compile(r'[,"\r\n]')


def write_customers(customers: pd.DataFrame, path: Path) -> None:
    r"""Write the customer table as ``customers.csv``, floats rounded to 6 decimals.

    The bytes are those of ``table.round(6).to_csv(path, lineterminator="\\n")``
    (pandas writes a float as ``str`` of the NumPy value, which is Python's
    ``repr``, and a missing one as an empty field), formatted column by
    column with ``repr`` on Python floats, several times faster than
    NumPy's own float formatting. A table with a column of another kind,
    a missing text or a text the CSV writer would quote goes through
    pandas as it is.
    """
    table = customers
    columns = [table.index.to_series(), *(table.iloc[:, i] for i in range(table.shape[1]))]
    names = [str(table.index.name), *map(str, table.columns)]
    plain = table.index.name is not None and table.index.dtype.kind != "f"
    if not (plain and all(map(_plain, columns))) or _QUOTED.search("".join(names)):
        table = table.copy()
        float_cols = table.select_dtypes(include=[np.floating]).columns
        table[float_cols] = table[float_cols].round(6)
        table.to_csv(path, index=True, lineterminator="\n")
        return
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(names) + "\n")
        for start in range(0, len(table), _CSV_BLOCK):
            cells = [_cells(col.iloc[start : start + _CSV_BLOCK]) for col in columns]
            out.write("\n".join(map(",".join, zip(*cells, strict=True))))
            out.write("\n")


def _plain(col: pd.Series) -> bool:
    """Whether ``col`` is written by :func:`_cells` exactly as pandas writes it."""
    kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else None
    if kind == "f" and col.dtype == np.float64:
        return True
    if kind in ("i", "u", "b"):
        return True
    if kind == "O" or isinstance(col.dtype, pd.StringDtype | pd.CategoricalDtype):
        values = col.astype(object).to_numpy().tolist()
        if not all(type(v) is str for v in values):
            return False
        return _QUOTED.search("".join(values)) is None
    return False


def _cells(col: pd.Series) -> list[str]:
    """Return the CSV text of each value of a column :func:`_plain` accepts."""
    kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else None
    if kind == "f":
        values = col.to_numpy().round(6)
        text = list(map(repr, values.tolist()))
        missing = np.flatnonzero(np.isnan(values))
        for i in missing.tolist():
            text[i] = ""
        return text
    if kind in ("i", "u", "b"):
        return list(map(str, col.to_numpy().tolist()))
    return list(col.astype(object).to_numpy())


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
