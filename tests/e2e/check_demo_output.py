"""Check the output directory of ``crmcore demo`` (used by ``.ci/run`` after the main job).

    python tests/e2e/check_demo_output.py crmcore-demo --customers 5000

Exits non-zero with a message naming the first problem found.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from html.parser import HTMLParser
from pathlib import Path

from crmcore.storage import SqlStore

SECTIONS = [
    "overview", "data", "model", "heatmaps", "holdout", "segments",
    "cohorts", "surveys", "pipeline", "service", "campaigns",
]  # fmt: skip
COLUMNS = [
    "frequency", "recency", "T", "monetary_value", "days_since_last_purchase", "p_alive",
    "expected_purchases_90d",
    "clv", "clv_ci_low", "clv_ci_high", "rfm_segment", "churn_risk",
]  # fmt: skip


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.svg = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section" and values.get("id"):
            self.ids.append(str(values["id"]))
        self.svg += tag == "svg"
        for key in ("src", "href"):
            link = values.get(key) or ""
            if link.startswith(("http:", "https:", "//")):
                self.external.append(link)


def check(out: Path, customers: int) -> list[str]:
    problems: list[str] = []
    names = {"crm.sqlite", "customers.csv", "summary.json", "report.html"}
    present = {p.name for p in out.iterdir()} if out.is_dir() else set()
    if missing := sorted(names - present):
        return [f"missing in {out}: {', '.join(missing)}"]
    if leftovers := sorted(p for p in present if p.startswith(".crmcore-staging")):
        problems.append(f"staging directory left behind: {leftovers[0]}")
    with SqlStore(f"sqlite:///{(out / 'crm.sqlite').as_posix()}") as store:
        stored = store.customers.count()
        orders = store.orders.count(where={"status__in": ["completed", "pending"]})
    if stored != customers:
        problems.append(f"crm.sqlite holds {stored} customers, expected {customers}")
    with (out / "customers.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != customers:
        problems.append(f"customers.csv has {len(rows)} rows, expected {customers}")
    if rows and (absent := [c for c in COLUMNS if c not in rows[0]]):
        problems.append(f"customers.csv lacks columns {absent}")
    elif rows:
        for i, row in enumerate(rows):
            empty = [c for c in COLUMNS if row[c] in ("", "nan", "NaN")]
            if empty:
                problems.append(f"customers.csv row {i + 1}: no value in {empty}")
                break
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    if summary.get("n_customers") != customers or summary.get("n_transactions") != orders:
        problems.append("summary.json counts disagree with crm.sqlite")
    params = summary.get("model", {}).get("params", {})
    if not params or not all(isinstance(v, float) and math.isfinite(v) for v in params.values()):
        problems.append("summary.json has no finite model parameters")
    problems.extend(
        f"summary.json: section {part!r} not available"
        for part in ("holdout", "surveys", "pipeline", "sla", "loyalty", "campaigns")
        if not summary.get(part, {}).get("available")
    )
    page = _Sections()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    if page.ids != SECTIONS:
        problems.append(f"report.html sections {page.ids}, expected {SECTIONS}")
    if page.svg < 7:
        problems.append(f"report.html has {page.svg} figures, expected at least 7")
    if page.external:
        problems.append(f"report.html loads {page.external[0]} (must be self-contained)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--customers", type=int, default=5000)
    args = parser.parse_args()
    problems = check(args.out, args.customers)
    for problem in problems:
        sys.stderr.write(f"error: {problem}\n")
    if not problems:
        sys.stdout.write(f"{args.out}: demo output complete and consistent\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
