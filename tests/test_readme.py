"""The README's tour is executed, so it cannot drift from the library."""

from __future__ import annotations

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)


def test_readme_has_a_tour():
    assert len(_python_blocks()) >= 5


def test_readme_tour_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme_tour"}
    for number, block in enumerate(_python_blocks(), start=1):
        try:
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
        except Exception as err:  # pragma: no cover - reported with the block number
            pytest.fail(f"README python block {number} failed: {err!r}")
    # the illegal move was refused and explained
    assert "closed_won" in capsys.readouterr().out
    assert namespace["deal"].stage == "qualification"
    assert namespace["won"].probability == 100
    assert (tmp_path / "report" / "report.html").is_file()
    assert len(namespace["analysis"].customers) == 1_000
    # the clv example recovers what it simulated (alpha = 4.0 days)
    table = namespace["bgnbd"].summary()
    assert table.loc["alpha", "ci_low"] <= 4.0 <= table.loc["alpha", "ci_high"]


def test_readme_starts_with_the_setup_commands():
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"^```bash\n(.*?)^```", text, re.M | re.S)
    assert first_block is not None
    assert text.index(first_block.group(0)) < text.index("## ")
    commands = [line for line in first_block.group(1).splitlines() if line.strip()]
    assert any("pytest" in line for line in commands)
    assert len(commands) <= 2
