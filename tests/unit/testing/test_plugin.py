"""The pytest plugin: a user's project gets the fixtures without copying anything."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crmcore.errors import ValidationError
from crmcore.testing import store_kind

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "testing"
pytest_plugins = ["pytester"]


def _run_example(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    for name in ("analytics.py", "test_analytics.py"):
        shutil.copy(EXAMPLE / name, pytester.path / name)
    # -p names the plugin the entry point registers (a no-op where it is installed)
    return pytester.runpytest_subprocess("-p", "crmcore.testing.plugin", "-q", *args)


@pytest.mark.slow
def test_the_example_project_passes_on_the_memory_store(pytester):
    result = _run_example(pytester)
    result.assert_outcomes(passed=5)


@pytest.mark.slow
def test_the_example_project_runs_on_sqlite(pytester):
    result = _run_example(pytester, "--crm-store=sqlite", "-k", "store")
    result.assert_outcomes(passed=2, deselected=3)


def test_a_wrong_store_is_a_usage_error(pytester):
    result = _run_example(pytester, "--crm-store=mysql://x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*expected 'memory', 'sqlite' or a PostgreSQL URL*"])


def test_store_kinds():
    assert store_kind(None) == store_kind("") == "memory"
    assert store_kind("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValidationError):
        store_kind("sqlite:///x.db")


def test_import_crmcore_does_not_import_the_plugin():
    code = (
        "import sys, crmcore, crmcore.domain, crmcore.storage;"
        "print(any(m.startswith('crmcore.testing') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_loading_the_plugin_imports_nothing_heavy():
    code = (
        "import sys, crmcore.testing.plugin;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pandas', 'numpy', 'sqlalchemy', 'hypothesis')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_entry_point_is_declared():
    text = (Path(__file__).parents[3] / "pyproject.toml").read_text(encoding="utf-8")
    assert (
        '[project.entry-points.pytest11]\n"crmcore.testing.plugin" = "crmcore.testing.plugin"'
        in text
    )
    installed = importlib.metadata.entry_points(group="pytest11")
    if not any(ep.value == "crmcore.testing.plugin" for ep in installed):
        pytest.skip("the installed crmcore metadata predates the entry point (pip install -e .)")


def test_sample_company_copies_are_independent(sample_company, request):
    sample_company.orders.loc[:, "amount"] = -1.0
    sample_company.leads.clear()
    again = request.getfixturevalue("_crm_sample_cache")
    (cached,) = again.values()
    assert (cached.orders["amount"] > 0).all()
    assert len(cached.leads) > 0
