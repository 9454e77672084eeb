"""The marketing user guide's code blocks run, in order, in one namespace."""

from __future__ import annotations

import pathlib
import re
import textwrap

import pytest

GUIDE = pathlib.Path(__file__).resolve().parents[3] / "docs" / "marketing.rst"


def _python_blocks() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:^(?:    .*)?\n)+)", text, re.M)
    return [textwrap.dedent(b) for b in blocks]


def test_guide_has_examples_for_every_section():
    assert len(_python_blocks()) >= 9


def test_guide_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "marketing_guide"}
    for number, block in enumerate(_python_blocks(), start=1):
        try:
            exec(compile(block, f"docs/marketing.rst python block {number}", "exec"), namespace)
        except Exception as err:  # pragma: no cover - reported with the block number
            pytest.fail(f"docs/marketing.rst python block {number} failed: {err!r}")
    # the guide's claims hold on its own data
    assert namespace["checks"] == {"kpis": True, "attribution": True, "sendtime": True}
