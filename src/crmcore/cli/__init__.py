"""The ``crmcore`` command (also ``python -m crmcore``).

Sub-commands:

``crmcore demo [--customers N] [--seed S] [--out DIR]``
    Generate the sample company (:mod:`crmcore.datasets`) into an embedded
    SQLite database ``DIR/crm.sqlite`` through
    :class:`~crmcore.storage.SqlStore`, then write the customer-value report
    next to it.
``crmcore report (--db URL | --transactions FILE) [--surveys FILE] --out DIR``
    The customer-value report on a crmcore database or on a transaction file
    (CSV or Parquet): ``customers.csv``, ``summary.json``, ``report.html``.
``crmcore clv fit ... --out models.json`` / ``crmcore clv predict --models models.json ...``
    The CLV models alone, saved as JSON.
``crmcore clv score --transactions DIR [--scheduler ADDRESS] --out DIR``
    The CLV job on a Dask scheduler (a cluster address, or ``threads``):
    summary, fit on the distinct summary rows, scores written as partitioned
    Parquet (``DIR/scores/``) with ``DIR/models.json``.
``crmcore db upgrade URL``
    Migrate a crmcore database of an earlier release to this release's
    schema (Alembic, one transaction: a failed upgrade changes nothing);
    prints the schema version before and after.
``crmcore --version``
    Print ``crmcore <version>``.

Exit status: 0 on success, 2 for bad input or usage (one line on stderr,
``crmcore: error: ...``; a database without crmcore tables counts as bad
input), 1 for any other crmcore error or a file that cannot be written
(also one line). Nothing is left
half-written: outputs are built in a staging directory and moved into
place only when complete.

The sub-commands are imported only when one runs, so ``crmcore --help`` and
``crmcore --version`` load neither pandas nor the analytics.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

from crmcore import __version__
from crmcore._limits import (
    MAX_CUSTOMERS,
    MAX_DISCOUNT_RATE,
    MAX_DRAWS,
    MAX_HORIZON_MONTHS,
    MAX_PERIOD_DAYS,
    SEED_MAX,
)
from crmcore.cli._console import Console
from crmcore.errors import CrmCoreError, SchemaVersionError, StoreUnavailable, ValidationError

__all__ = ["build_parser", "main"]

_MODELS = ("bgnbd", "mbgnbd", "pareto")
#: ``report`` and ``demo`` also take "auto": the model with the lowest BIC
_REPORT_MODELS = ("auto", *_MODELS)

_REPORT_EPILOG = """\
expected input (--transactions, CSV or Parquet), one row per purchase:
  customer_id   the customer (any text; --customer-col to rename)
  date          when (ISO 8601 by default, e.g. 2024-03-31 or 2024-03-31T14:05;
                other layouts with --date-format '%d.%m.%Y'; --date-col)
  amount        the purchase's value (--value-col); 0 (free orders) counts as a
                purchase, a negative amount is a refund, netted against the
                customer's purchases of that day
  currency      optional; if present, one currency for every row
CSV separator (, ; tab |) and decimal comma are detected (override with --sep,
--decimal); the report says what it did with free orders, refunds and duplicate
rows (summary.json "data_quality", and the page's data-quality notes).
--surveys: customer_id, date, score, and kind ('nps' 0-10 or 'csat' 1-5).

examples:
  crmcore report --transactions orders.csv --out report/
  crmcore report --transactions export.csv --date-format '%d.%m.%Y' --out report/
  crmcore report --db sqlite:///crm.sqlite --as-of 2026-06-30 --out report/
  crmcore report --transactions orders/ --scheduler tcp://scheduler:8786 --out report/
"""
#: sub-command -> its function in ``crmcore.cli._commands``
_COMMANDS = {
    "demo": "run_demo",
    "report": "run_report",
    "fit": "run_clv_fit",
    "predict": "run_clv_predict",
    "score": "run_clv_score",
    "db upgrade": "run_db_upgrade",
}
Command = Callable[[argparse.Namespace, Console], int]


class _UsageError(Exception):
    """A command line that does not parse (printed by :func:`main` as one line)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``crmcore: error: ...`` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside [{low}, {high:,}]")
        return value

    return parse


def _number(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        too_low = value <= low if low_open else value < low
        if not math.isfinite(value) or too_low or value > high:
            left = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"{text} is outside {left}{low:g}, {high:g}]")
        return value

    return parse


def _analysis_options(parser: argparse.ArgumentParser, *, tz: bool = False) -> None:
    """Options of the analysis (``report`` and ``demo``)."""
    group = parser.add_argument_group("analysis")
    group.add_argument(
        "--as-of",
        help="the cut-off: a date (the end of that day) or an ISO datetime "
        "(default: the last purchase)",
    )
    if tz:
        group.add_argument(
            "--tz",
            metavar="ZONE",
            help="the zone of the dates' wall clock, e.g. Europe/Paris: dates without a "
            "zone are read as times there; calendar months and a date-only --as-of follow "
            "it (default: dates without a zone stay naive)",
        )
    group.add_argument(
        "--model",
        choices=_REPORT_MODELS,
        default="auto",
        help="purchase model: BG/NBD, MBG/NBD, Pareto/NBD, or auto (default): fit the three "
        "and keep the lowest BIC; the report shows the comparison",
    )
    _value_options(group)
    group.add_argument(
        "--draws",
        type=_integer(1, MAX_DRAWS),
        default=None,
        help=f"bootstrap draws of the CLV interval, at most {MAX_DRAWS:,} "
        "(default: 200, fewer for large data)",
    )
    group.add_argument(
        "--seed", type=_integer(0, SEED_MAX), default=0, help="random seed (default 0)"
    )


def _input_options(parser: argparse.ArgumentParser, *, surveys: bool) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of a crmcore database, e.g. sqlite:///crm.sqlite",
    )
    source.add_argument(
        "--transactions", metavar="FILE", help="transaction file (.csv, or .parquet)"
    )
    cols = parser.add_argument_group("transaction file")
    cols.add_argument(
        "--customer-col", default="customer_id", help="customer column (default customer_id)"
    )
    cols.add_argument("--date-col", default="date", help="date column (default date)")
    cols.add_argument(
        "--value-col", default=None, help="amount of each purchase (default: amount)"
    )
    cols.add_argument("--amount-col", help=argparse.SUPPRESS)  # deprecated name of --value-col
    cols.add_argument(
        "--date-format",
        metavar="FORMAT",
        help="strptime format of the dates, e.g. '%%d.%%m.%%Y' (default ISO 8601)",
    )
    cols.add_argument(
        "--sep", help="CSV column separator, e.g. ';' (default: detected from the header)"
    )
    cols.add_argument(
        "--decimal",
        choices=(".", ","),
        metavar="{.|,}",
        help="decimal mark of the amounts (default: detected; ',' for 12,50)",
    )
    cols.add_argument(
        "--encoding", default="utf-8-sig", help="text encoding, e.g. latin-1 (default UTF-8)"
    )
    cols.add_argument(
        "--currency",
        metavar="CODE",
        help="currency of the amounts, e.g. EUR, shown with every figure (default: the "
        "file's currency column or the store's currency; else unstated)",
    )
    if surveys:
        parser.add_argument(
            "--surveys", metavar="FILE", help="survey answers file (.csv or .parquet)"
        )
        scols = parser.add_argument_group("survey columns")
        scols.add_argument(
            "--survey-customer-col", default="customer_id", help="default customer_id"
        )
        scols.add_argument("--survey-date-col", default="date", help="default date")
        scols.add_argument("--survey-score-col", default="score", help="default score")
        scols.add_argument(
            "--survey-kind-col",
            default="kind",
            help="'nps' or 'csat' per answer (default kind; absent: all NPS)",
        )


def _score_options(clv_sub: Any, common: argparse.ArgumentParser) -> None:
    score = clv_sub.add_parser(
        "score",
        parents=[common],
        help="summary, fit, scores on a Dask scheduler, from partitioned Parquet",
        description="Read a Parquet file or folder with Dask, summarise and score on the "
        "scheduler (only the distinct summary rows reach this process), and write "
        "DIR/scores/ (Parquet, one file per partition) and DIR/models.json.",
    )
    score.add_argument("--transactions", required=True, help="Parquet file or folder")
    score.add_argument(
        "--scheduler",
        default="threads",
        metavar="ADDRESS",
        help="a Dask scheduler address (tcp://host:8786) or threads, processes, "
        "synchronous (default threads)",
    )
    score.add_argument(
        "--customer-col", default="customer_id", help="customer column (default customer_id)"
    )
    score.add_argument("--date-col", default="date", help="date column (default date)")
    score.add_argument("--value-col", default=None, help="amount (default: amount)")
    score.add_argument("--date-format", help="strptime format of text dates")
    score.add_argument("--as-of", help="the cut-off (default: the last purchase)")
    score.add_argument(
        "--model", choices=_MODELS, default="bgnbd", help="purchase model (default bgnbd)"
    )
    _value_options(score)
    score.add_argument("--out", required=True, help="output directory")


def _value_options(parser: Any) -> None:
    """Add the forecast options shared by ``report``, ``clv predict`` and ``clv score``."""
    parser.add_argument(
        "--period-days",
        type=_number(0.0, MAX_PERIOD_DAYS, low_open=True),
        default=90.0,
        help="'next period' of expected purchases, in days (default 90)",
    )
    parser.add_argument(
        "--horizon-months",
        type=_integer(1, MAX_HORIZON_MONTHS),
        default=12,
        help=f"CLV horizon in months, 1 to {MAX_HORIZON_MONTHS} (default 12)",
    )
    parser.add_argument(
        "--discount-rate",
        type=_number(0.0, MAX_DISCOUNT_RATE),
        default=0.01,
        help=f"monthly discount rate, 0 to {MAX_DISCOUNT_RATE} (default 0.01)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``crmcore`` command."""
    common = _Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    common.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    parser = _Parser(
        prog="crmcore",
        description="crmcore: customer relationship analytics from the command line.",
        parents=[common],
    )
    parser.add_argument(
        "--version", action="version", version=f"crmcore {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="generate a sample company into SQLite and report on it",
        description="Generate a reproducible sample company into DIR/crm.sqlite, then "
        "write the customer-value report (customers.csv, summary.json, report.html) to DIR.",
    )
    demo.add_argument(
        "--customers",
        type=_integer(1, MAX_CUSTOMERS),
        default=5000,
        help="number of customers (default 5000)",
    )
    demo.add_argument(
        "--out",
        default="crmcore-demo",
        help="output directory (default crmcore-demo); its crm.sqlite is replaced",
    )
    _analysis_options(demo)

    report = sub.add_parser(
        "report",
        parents=[common],
        help="customer-value report on a database or a transaction file",
        description="Write customers.csv, summary.json and report.html to --out.",
        epilog=_REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _input_options(report, surveys=True)
    report.add_argument(
        "--out", required=True, metavar="DIR", help="output directory (created if missing)"
    )
    report.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the per-transaction steps on a Dask scheduler: a cluster address "
        "(tcp://host:8786) or threads, processes, synchronous; --transactions is then a "
        "Parquet file or a folder of *.parquet files read by the workers (default: in memory)",
    )
    _analysis_options(report, tz=True)

    clv = sub.add_parser("clv", parents=[common], help="fit or apply CLV models (JSON)")
    clv_sub = clv.add_subparsers(
        dest="clv_command", required=True, metavar="ACTION", parser_class=_Parser
    )
    fit = clv_sub.add_parser(
        "fit", parents=[common], help="fit the transaction and spend models to JSON"
    )
    _input_options(fit, surveys=False)
    fit.add_argument("--as-of", help="the cut-off: a date (the end of that day) or a datetime")
    fit.add_argument(
        "--model", choices=_MODELS, default="bgnbd", help="purchase model (default bgnbd)"
    )
    fit.add_argument("--out", required=True, help="JSON file to write")
    predict = clv_sub.add_parser(
        "predict", parents=[common], help="score customers with models from 'clv fit'"
    )
    predict.add_argument("--models", required=True, help="JSON file written by 'clv fit'")
    _input_options(predict, surveys=False)
    predict.add_argument("--as-of", help="the cut-off: a date (the end of that day) or a datetime")
    _value_options(predict)
    predict.add_argument("--out", required=True, help="CSV file to write")
    _score_options(clv_sub, common)

    db = sub.add_parser("db", parents=[common], help="manage a crmcore database")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_sub.add_parser(
        "upgrade",
        parents=[common],
        help="migrate a database of an earlier release to this release's schema",
        description="Migrate the crmcore schema of the database at URL to this release's "
        "version (Alembic, in one transaction: if the upgrade fails, nothing changes), "
        "keeping every record. Prints the version before and after.",
    )
    upgrade.add_argument("url", metavar="URL", help="SQLAlchemy URL (sqlite:///crm.sqlite)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the ``crmcore`` command and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).
    stdout, stderr : text streams, optional
        Where results and messages go (default: the process's streams).

    Returns
    -------
    int
        0 on success, 2 for bad input or usage, 1 for other errors.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        print(f"crmcore: error: {err}", file=stderr or sys.stderr)
        return 2
    except SystemExit as exit_:  # --help or --version has printed its text
        return int(exit_.code) if isinstance(exit_.code, int) else 2
    console = Console(quiet=args.quiet, verbose=args.verbose, stdout=stdout, stderr=stderr)
    if args.command == "clv":
        name = args.clv_command
    elif args.command == "db":
        name = f"db {args.db_command}"
    else:
        name = args.command
    try:
        with console.session():
            # imported here: pandas and the analytics load only when a command runs
            commands = importlib.import_module("crmcore.cli._commands")
            run: Command = getattr(commands, _COMMANDS[name])
            return run(args, console)
    except (ValidationError, SchemaVersionError, StoreUnavailable) as err:
        console.error(str(err))
        return 2
    except CrmCoreError as err:
        console.error(str(err))
        return 1
    except OSError as err:  # e.g. --out not writable: one line, not a traceback
        where = f": {err.filename}" if err.filename else ""
        console.error(f"{err.strerror or err}{where}")
        return 1
    except KeyboardInterrupt:
        console.error("interrupted; nothing was written")
        return 130
    except ImportError as err:
        # Ctrl-C while NumPy or pandas load surfaces as their ImportError
        if not _interrupted(err):
            raise
        console.error("interrupted; nothing was written")
        return 130


def _interrupted(err: BaseException) -> bool:
    """Whether ``err`` was caused, at any depth, by a KeyboardInterrupt."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False
