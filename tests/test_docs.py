"""Every Python example in the user guide runs, so the pages cannot drift from the library.

Each page ``docs/*.rst`` is one test: its ``.. code-block:: python`` blocks
run in order in one fresh namespace (a later block may use what an earlier
one made, as a reader following the page would), in a temporary working
directory, with warnings as errors (the suite's ``filterwarnings``).

A page that needs something a reader brings along (their own files, a
published data set) makes it in a ``.. testsetup::`` block
(``sphinx.ext.doctest``: not shown in the rendered page), run where it
stands; ``__file__`` is the page's path, so a set-up block can read the
repository's reference data under ``tests/data``. Prefer self-contained
blocks: most pages make their own data in a first, visible block.

A failure points at the page and line: each block is compiled with its own
line numbers in the ``.rst`` file.
"""

from __future__ import annotations

import re
import sys
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

# Pages whose examples take more than a few seconds (reason given).
SLOW_PAGES: dict[str, str] = {
    "churn.rst": "fits the gradient-boosting classifier five times (25-30 s)",
    "marketing.rst": "simulates 4,000 customers' engagement and fits uplift models (10-15 s)",
    "tutorial.rst": "the whole customer-value job on a 5,000-customer company (30-40 s)",
    "clv_models.rst": "fits every BTYD model and compares them on a holdout (3-5 s)",
    "segmentation.rst": "clusters and profiles a generated customer base (3-5 s)",
    "dask.rst": "the report in memory and on an in-process Dask cluster (10-25 s)",
    "recommend.rst": "fits every recommender, writes a 1,000-customer company (8-10 s)",
}

_DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\.\. (?P<name>code-block|testsetup)::[ \t]*(?P<arg>\S*)"
)
_OPTION = re.compile(r"^[ \t]+:[\w-]+:")


@dataclass(frozen=True)
class Block:
    """One runnable block of a page."""

    kind: str  # "code-block" or "testsetup"
    line: int  # line of the first line of code in the page (1-based)
    source: str  # dedented code


def blocks(page: Path) -> list[Block]:
    """Return the Python code blocks and test set-ups of ``page``, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if m is None or (m["name"] == "code-block" and m["arg"] != "python"):
            i += 1
            continue
        indent = len(m["indent"].expandtabs())
        j = i + 1
        while j < len(lines) and _OPTION.match(lines[j]):
            j += 1
        start = j
        while j < len(lines):
            text = lines[j]
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break
            j += 1
        while start < j and not lines[start].strip():
            start += 1
        source = textwrap.dedent("\n".join(lines[start:j])).rstrip() + "\n"
        out.append(Block(m["name"], start + 1, source))
        i = j
    return out


PAGES = sorted(p for p in DOCS.glob("*.rst") if blocks(p))


def _param(page: Path) -> object:
    marks = [pytest.mark.slow] if page.name in SLOW_PAGES else []
    return pytest.param(page, marks=marks, id=page.name)


def test_every_python_block_is_found() -> None:
    """The extractor sees every block (a block it missed would never run)."""
    total = 0
    for page in DOCS.glob("*.rst"):
        text = page.read_text(encoding="utf-8")
        written = len(re.findall(r"^[ \t]*\.\. code-block:: python[ \t]*$", text, re.M))
        found = sum(b.kind == "code-block" for b in blocks(page))
        assert found == written, page.name
        total += found
    assert total >= 100
    assert set(SLOW_PAGES) <= {p.name for p in PAGES}


def test_blocks_are_extracted_with_their_lines(tmp_path: Path) -> None:
    page = tmp_path / "page.rst"
    page.write_text(
        "Title\n=====\n\n"
        ".. testsetup::\n\n   x = 1\n\n"
        "Text.\n\n"
        ".. code-block:: python\n   :caption: two lines\n\n"
        "   y = x + 1\n   if y:\n       z = y\n\n"
        ".. code-block:: bash\n\n   echo no\n\n"
        "- item\n\n  .. code-block:: python\n\n     w = 3\n\nEnd.\n",
        encoding="utf-8",
    )
    found = blocks(page)
    assert [(b.kind, b.line, b.source) for b in found] == [
        ("testsetup", 6, "x = 1\n"),
        ("code-block", 13, "y = x + 1\nif y:\n    z = y\n"),
        ("code-block", 25, "w = 3\n"),
    ]


@pytest.mark.parametrize("page", [_param(p) for p in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The page runs as a module of its own (classes defined on it resolve their
    # annotations through sys.modules, as in a script); __file__ is the page,
    # so a set-up block finds the repository's data from it.
    module = types.ModuleType(f"docs_{page.stem}")
    module.__file__ = str(page)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    try:
        for block in blocks(page):
            # Pad with blank lines so tracebacks give the line in the .rst file.
            code = compile("\n" * (block.line - 1) + block.source, str(page), "exec")
            exec(code, namespace)
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
