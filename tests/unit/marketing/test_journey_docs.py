"""The journeys user guide's code blocks run, in order, in one namespace."""

from __future__ import annotations

import pathlib
import re
import textwrap

import pytest

GUIDE = pathlib.Path(__file__).resolve().parents[3] / "docs" / "journeys.rst"


def _python_blocks() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:^(?:    .*)?\n)+)", text, re.M)
    return [textwrap.dedent(b) for b in blocks]


def test_guide_has_an_example_per_section():
    assert len(_python_blocks()) >= 7


def test_guide_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "journeys_guide"}
    for number, block in enumerate(_python_blocks(), start=1):
        try:
            exec(compile(block, f"docs/journeys.rst python block {number}", "exec"), namespace)
        except Exception as err:  # pragma: no cover - reported with the block number
            pytest.fail(f"docs/journeys.rst python block {number} failed: {err!r}")
    # the validation error the guide prints is the one it quotes
    assert "step 'end' cannot be reached from the entry" in capsys.readouterr().out
