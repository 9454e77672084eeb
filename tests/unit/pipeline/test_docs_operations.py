"""The pipeline guide's sales and service operations examples run, in order, in one namespace."""

from __future__ import annotations

import pathlib
import re
import textwrap

import pytest

GUIDE = pathlib.Path(__file__).resolve().parents[3] / "docs" / "pipeline.rst"


def _python_blocks() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(".. _pipeline-operations:")
    end = text.index(".. _pipeline-performance:")
    section = text[start:end]
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:^(?:   .*)?\n)+)", section, re.M)
    return [textwrap.dedent(b) for b in blocks]


def test_every_operations_section_has_an_example():
    assert len(_python_blocks()) == 7


def test_operations_guide_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "pipeline_guide"}
    for number, block in enumerate(_python_blocks(), start=1):
        try:
            exec(compile(block, f"docs/pipeline.rst operations block {number}", "exec"), namespace)
        except Exception as err:  # pragma: no cover - reported with the block number
            pytest.fail(f"docs/pipeline.rst operations block {number} failed: {err!r}")
    assert namespace["scores"]["grade"].str.fullmatch(r"[ABCD][1-4]").all()
