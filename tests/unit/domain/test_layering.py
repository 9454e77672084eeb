"""The domain layer depends on nothing else in crmcore, and never reads the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import crmcore.domain

DOMAIN_DIR = Path(crmcore.domain.__file__).parent
ALLOWED = {
    "crmcore.errors",
    "crmcore._validation",
    "crmcore._text",
    "crmcore._time",
    "crmcore._types",
}
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic", "perf_counter"}


def modules():
    files = sorted(DOMAIN_DIR.glob("*.py"))
    assert len(files) >= 5
    return [(f.name, ast.parse(f.read_text(encoding="utf-8"))) for f in files]


def test_imports_only_errors_validation_and_time_from_crmcore():
    for name, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target.startswith("crmcore") and not target.startswith("crmcore.domain"):
                    assert target in ALLOWED, f"{name} imports {target}"


def test_no_clock_reads():
    for name, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in CLOCK_CALLS, f"{name}: .{node.func.attr}()"
