"""The recommendations guide's examples run as written (in order, in one namespace)."""

from __future__ import annotations

import pathlib
import re

import pytest

GUIDE = pathlib.Path(__file__).resolve().parents[3] / "docs" / "recommend.rst"


def _blocks() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    found = re.findall(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text, re.M)
    return [re.sub(r"^    ", "", block, flags=re.M) for block in found]


def test_guide_has_examples():
    assert len(_blocks()) >= 10


@pytest.mark.slow  # every recommender fitted, a sample company written to a store (8-10 s)
def test_guide_examples_run(capsys):
    namespace: dict[str, object] = {"__name__": "recommend_guide"}
    for number, block in enumerate(_blocks(), start=1):
        try:
            exec(compile(block, f"docs/recommend.rst python block {number}", "exec"), namespace)
        except Exception as err:  # pragma: no cover - reported with the block number
            pytest.fail(f"docs/recommend.rst python block {number} failed: {err!r}")
    assert "popularity (baseline)" in capsys.readouterr().out
