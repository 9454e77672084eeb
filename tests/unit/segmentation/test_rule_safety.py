"""Static guard: the rule language's modules never hand text to an evaluator.

Walks the syntax trees of the rule modules and fails on any call of
``eval``, ``exec``, ``compile``, ``getattr``, ``setattr``, ``__import__`` or
``importlib``, and on any ``.eval`` / ``.query`` attribute (``pandas.eval``,
``DataFrame.query``, ``DataFrame.eval``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import crmcore.segmentation

PACKAGE = Path(crmcore.segmentation.__file__).parent
RULE_MODULES = sorted(PACKAGE.glob("_rule*.py"))
FORBIDDEN_CALLS = {"eval", "exec", "compile", "getattr", "setattr", "__import__"}
FORBIDDEN_ATTRS = {"eval", "query", "import_module"}


def test_rule_modules_found():
    names = {p.name for p in RULE_MODULES}
    assert {
        "_rule.py",
        "_rule_ast.py",
        "_rule_eval.py",
        "_rule_lexer.py",
        "_rule_parser.py",
    } <= names


@pytest.mark.parametrize("path", RULE_MODULES, ids=lambda p: p.name)
def test_no_dynamic_evaluation(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno}"
        if isinstance(node, ast.Attribute):
            assert node.attr not in FORBIDDEN_ATTRS, f"{path.name}:{node.lineno}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            assert "importlib" not in names, f"{path.name}:{node.lineno}"
            assert getattr(node, "module", None) != "importlib", f"{path.name}:{node.lineno}"
