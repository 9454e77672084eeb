"""The command's console: logging handler, progress display, warnings capture."""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TextIO

__all__ = ["Console"]


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage().splitlines()[0] if record.getMessage() else ""
        if record.levelno >= logging.WARNING:
            return f"crmcore: {record.levelname.lower()}: {text}"
        return f"crmcore: {text}"


class Console:
    """Where the command talks: log records and progress on stderr, results on stdout.

    Progress (one line per step, with the elapsed time) is shown when stderr
    is a terminal (or with ``--verbose``) and ``--quiet`` is not given;
    warnings and errors are always shown; ``--verbose`` adds the library's
    INFO records.
    """

    def __init__(
        self,
        *,
        quiet: bool = False,
        verbose: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        self.quiet = quiet
        isatty = getattr(self.stderr, "isatty", None)
        self.show_progress = not quiet and (verbose or bool(isatty and isatty()))
        self._start = time.perf_counter()
        self._handler = logging.StreamHandler(self.stderr)
        self._handler.setFormatter(_Formatter())
        self._handler.setLevel(logging.ERROR if quiet else (logging.INFO if verbose else 30))
        self._logger = logging.getLogger("crmcore")
        self._old_level = self._logger.level
        self._bars: list[Any] = []

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Attach the handler to the ``crmcore`` logger and route warnings to it."""
        self._logger.addHandler(self._handler)
        if self._logger.getEffectiveLevel() > self._handler.level:
            self._logger.setLevel(self._handler.level)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    yield
                finally:
                    for item in caught:
                        self._logger.warning("%s: %s", item.category.__name__, item.message)
        finally:
            self.close_bars()
            self._logger.removeHandler(self._handler)
            self._logger.setLevel(self._old_level)

    def step(self, name: str) -> None:
        """Show the start of a long step (terminal only)."""
        self.close_bars()
        if self.show_progress:
            elapsed = time.perf_counter() - self._start
            self.stderr.write(f"crmcore: [{elapsed:6.1f}s] {name}...\n")
            self.stderr.flush()

    def bar(self, total: int, name: str) -> Callable[[int], object] | None:
        """Start a progress bar of ``total`` rows (terminal and tqdm only); return its update.

        tqdm is optional: without it (or off a terminal) only the step line is shown.
        """
        self.close_bars()
        self.step(name)
        isatty = getattr(self.stderr, "isatty", None)
        if not (self.show_progress and isatty and isatty()):
            return None
        try:  # optional, not a dependency (and untyped): looked up at run time
            tqdm: Any = importlib.import_module("tqdm").tqdm
        except ImportError:
            return None
        progress = tqdm(total=total, unit="rows", file=self.stderr, leave=False, desc=name)
        self._bars.append(progress)
        update: Callable[[int], object] = progress.update
        return update

    def close_bars(self) -> None:
        """Close any open progress bar."""
        while self._bars:
            self._bars.pop().close()

    def result(self, text: str) -> None:
        """Write a result line on stdout (unless quiet)."""
        if not self.quiet:
            self.stdout.write(text + "\n")

    def error(self, text: str) -> None:
        """Write a one-line error on stderr (always)."""
        line = " ".join(text.split())
        self.stderr.write(f"crmcore: error: {line}\n")
        self.stderr.flush()
