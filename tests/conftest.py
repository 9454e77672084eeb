"""Test-session configuration shared by every tier."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, settings

# crmcore's own pytest plugin (registered by its entry point where crmcore is
# installed; named here too, so a checkout on PYTHONPATH gets it as well)
pytest_plugins = ["crmcore.testing.plugin"]

# The default profile is what CI runs: sized for a 2-core machine, derandomized
# so that a run is reproducible (a landing gate must not fail by chance), and
# with no example database written into the working directory.
# `--hypothesis-profile=thorough` explores with fresh random examples, many more
# of them, and remembers failures in .hypothesis/.
settings.register_profile(
    "default",
    deadline=None,
    max_examples=50,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per reason for the skipped tests (not one per test location).

    ``-rfEX`` in the configuration lists failures, errors and unexpected passes
    one by one; skips (the PostgreSQL tests without a server, a missing
    browser or optional extra) are many tests with a handful of reasons.
    """
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    if reasons:
        terminalreporter.section("skipped, by reason")
        for reason, n in reasons.most_common():
            terminalreporter.write_line(f"{n:>5} skipped: {reason}")
