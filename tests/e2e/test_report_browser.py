"""End to end in a real browser: the demo's report.html rendered by headless Chromium.

Checks what a reader sees and a static parse cannot: every image (inline SVG)
is drawn with a size, every table row has as many cells as its header, the
table of contents reaches every section, and the page logs no console error.
One screenshot per section is kept as an artefact for review; the directory
is printed (``-s`` or ``-rP`` shows it) and taken from ``CRMCORE_ARTEFACT_DIR``
when set.

Needs Chromium and its driver (Debian: ``chromium chromium-driver``) and
selenium. Without them the test skips, saying what is missing, unless
``CRMCORE_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns the skip into a failure.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from crmcore.cli import main
from crmcore.report._html import SECTIONS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REQUIRE_ENV = "CRMCORE_REQUIRE_BROWSER"
_CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def _missing() -> str | None:
    """What is missing to drive a browser, or None."""
    try:
        import selenium  # noqa: F401 -- optional, dev extra
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    if not any(shutil.which(name) for name in _CHROMIUM):
        return "no chromium on PATH (Debian: apt-get install chromium)"
    if not shutil.which("chromedriver"):
        return "no chromedriver on PATH (Debian: apt-get install chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {missing}")
        pytest.skip(f"browser test: {missing}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    binary = next(shutil.which(n) for n in _CHROMIUM if shutil.which(n))
    options.binary_location = str(binary)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000",
                "--disable-dev-shm-usage"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory, browser):
    out = tmp_path_factory.mktemp("browser") / "demo"
    assert main(["demo", "--customers", "300", "--seed", "5", "--out", str(out), "-q"]) == 0
    browser.get((out / "report.html").resolve().as_uri())
    return browser


@pytest.fixture(scope="module")
def artefacts():
    where = os.environ.get("CRMCORE_ARTEFACT_DIR")
    folder = Path(where) if where else Path(tempfile.mkdtemp(prefix="crmcore-report-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nreport screenshots: {folder}")
    return folder


def test_every_image_is_drawn(page):
    sizes = page.execute_script(
        "return Array.from(document.querySelectorAll('svg, img')).map(e => {"
        " const r = e.getBoundingClientRect();"
        " return [e.tagName, r.width, r.height, e.tagName !== 'IMG' || e.complete"
        " && e.naturalWidth > 0]; });"
    )
    assert len(sizes) >= 7  # two heat maps, holdout, CLV by segment, cohorts, NPS, funnel
    for tag, width, height, loaded in sizes:
        assert loaded, tag
        assert width > 50, (tag, width, height)
        assert height > 50, (tag, width, height)


def test_every_row_has_as_many_cells_as_its_header(page):
    tables = page.execute_script(
        "return Array.from(document.querySelectorAll('table')).map(t => {"
        " const sec = t.closest('section'); const rows = Array.from(t.rows);"
        " return [sec ? sec.id : '', rows.map(r => r.cells.length)]; });"
    )
    assert tables
    for section, cells in tables:
        assert len(cells) >= 2, section  # a header and at least one row
        assert set(cells) == {cells[0]}, (section, cells)


def test_contents_reach_every_section_and_no_console_error(page):
    links = page.execute_script(
        "return Array.from(document.querySelectorAll('nav a')).map(a => a.hash.slice(1));"
    )
    assert links == list(SECTIONS)
    ids = page.execute_script(
        "return Array.from(document.querySelectorAll('section')).map(s => s.id);"
    )
    assert ids == list(SECTIONS)
    errors = [e for e in page.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == []


def test_screenshot_of_every_section(page, artefacts):
    # the whole section, also where it is taller than the window (DevTools protocol)
    for number, key in enumerate(SECTIONS):
        box = page.execute_script(
            "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
            " return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];",
            key,
        )
        assert box[3] > 40, key  # a heading and something under it
        shot = page.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": dict(zip(("x", "y", "width", "height"), box, strict=True), scale=1),
            },
        )
        path = artefacts / f"{number:02d}-{key}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        assert path.stat().st_size > 5000, key
