"""Writing a report: every file built in a staging directory, moved into place on success."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from crmcore.report._analysis import Analysis
from crmcore.report._html import render_html

__all__ = ["REPORT_FILES", "staged_directory", "write_files", "write_report"]

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


def write_files(analysis: Analysis, directory: str | os.PathLike[str]) -> list[Path]:
    """Write ``customers.csv``, ``summary.json`` and ``report.html`` into ``directory``.

    Not atomic by itself: :func:`write_report` wraps it in a staging directory.
    """
    folder = Path(directory)
    paths = [folder / name for name in REPORT_FILES]
    table = analysis.customers.copy()
    float_cols = table.select_dtypes(include=[np.floating]).columns
    table[float_cols] = table[float_cols].round(6)
    table.to_csv(paths[0], index=True, lineterminator="\n")
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
