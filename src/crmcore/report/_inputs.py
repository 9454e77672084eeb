"""Report inputs: transaction and survey files (CSV / Parquet) and crmcore stores.

Files are read with every column as text first (CSV) and then checked and
converted column by column, so that a bad value is reported by column and
by its first offending row (1-based data row; the CSV line is one more,
for the header) instead of surfacing later as a NaN.

Dates are read by the one date reader (``crmcore._time.read_dates``) and
keep what they say: dates with a zone or an offset are instants, dates
without one stay naive (wall-clock times in no stated zone). Nothing here
gives them a zone; :class:`~crmcore.report.ReportOptions` ``tz`` (the
command's ``--tz``) does that explicitly.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._codes import sorted_codes
from crmcore._deprecation import REMOVED_IN, renamed_arguments
from crmcore._time import read_dates
from crmcore.errors import ValidationError

__all__ = [
    "CsvDialect",
    "ReportData",
    "detect_separator",
    "open_store",
    "read_store",
    "read_surveys",
    "read_transactions",
    "suggest_date_format",
]

_PARQUET = (".parquet", ".pq")


@attrs.frozen
class ReportData:
    """Everything a report can use; only ``transactions`` is required.

    Attributes
    ----------
    transactions : DataFrame
        ``customer_id`` (str, or a categorical of str as
        :func:`read_transactions` gives), ``date`` (datetime64, naive or
        aware), ``amount`` (float); or a Dask DataFrame of the same columns
        (:func:`read_partitioned_transactions`): the report then runs its
        per-transaction steps on the Dask scheduler in use.
    surveys : DataFrame or None
        ``customer_id``, ``kind`` (``"nps"``/``"csat"``), ``score`` (int),
        ``date`` (datetime64, naive or aware), ``scale`` (int).
    opportunities, opportunity_events, tickets, ticket_events : DataFrame or None
        From a crmcore store: opportunity and ticket tables and their
        stage-change logs (``entity_id, from_stage, to_stage, at, actor,
        reason, workflow``: ``store.events.stage_history``).
    loyalty_accounts : DataFrame or None
        From a crmcore store: ``customer_id``, ``program_id``, ``tier``.
    campaigns : CampaignFrames or None
        From a crmcore store with campaign members: the campaigns, members,
        engagement and members' purchases
        (:func:`crmcore.marketing.campaign_frames`).
    """

    transactions: pd.DataFrame
    surveys: pd.DataFrame | None = None
    opportunities: pd.DataFrame | None = None
    opportunity_events: pd.DataFrame | None = None
    tickets: pd.DataFrame | None = None
    ticket_events: pd.DataFrame | None = None
    loyalty_accounts: pd.DataFrame | None = None
    campaigns: Any = None


#: Column separators tried, in order, when a CSV file's separator is not given.
_SEPARATORS = (",", ";", "\t", "|")
#: Date formats tried (on a sample) to suggest ``--date-format`` when dates do not parse.
_DATE_FORMATS = (
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%Y%m%d",
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
)


@attrs.frozen(kw_only=True)
class CsvDialect:
    """How a CSV file is read: separator, decimal mark and text encoding.

    ``None`` means "detect": the separator from the header line (the first
    of ``, ; tab |`` that splits it into the most columns), the decimal mark
    as ``","`` when the separator is ``";"`` and the value column holds
    numbers written with a comma (``12,50``), else ``"."``.

    Attributes
    ----------
    sep : str, optional
        Column separator (``--sep``).
    decimal : {".", ","}, optional
        Decimal mark of numbers (``--decimal``).
    encoding : str
        Text encoding (``--encoding``), default ``"utf-8"`` (a byte-order
        mark is skipped).
    """

    sep: str | None = None
    decimal: str | None = None
    encoding: str = "utf-8-sig"

    def __attrs_post_init__(self) -> None:
        if self.sep is not None and len(self.sep) != 1:
            raise ValidationError(
                f"sep must be one character, e.g. ';' or ','; got {self.sep!r}",
                field="sep",
                value=self.sep,
            )
        if self.decimal not in (None, ".", ","):
            raise ValidationError(
                f"decimal must be '.' or ','; got {self.decimal!r}",
                field="decimal",
                value=self.decimal,
            )
        try:
            "".encode(self.encoding)
        except LookupError:
            raise ValidationError(
                f"unknown text encoding {self.encoding!r}; e.g. 'utf-8', 'latin-1', 'cp1252'",
                field="encoding",
                value=self.encoding,
            ) from None


def _header_line(file: Path, encoding: str, what: str) -> str:
    try:
        with file.open(encoding=encoding, newline="") as handle:
            return handle.readline()
    except UnicodeDecodeError as err:
        raise ValidationError(
            f"{what} file {str(file)!r} is not {encoding} text ({err.reason} at byte "
            f"{err.start}); give its encoding, e.g. --encoding latin-1 or cp1252",
            field="encoding",
            value=encoding,
        ) from None


def detect_separator(header: str) -> str:
    """Return the separator among ``, ; tab |`` that splits ``header`` into the most columns.

    Examples
    --------
    >>> detect_separator("customer_id;date;amount")
    ';'
    >>> detect_separator("customer_id,date,amount")
    ','
    """
    counts = [header.count(sep) for sep in _SEPARATORS]
    best = int(np.argmax(counts))
    return _SEPARATORS[best] if counts[best] > 0 else ","


def _decimal_comma(values: pd.Series) -> bool:
    """Whether text numbers use a decimal comma (``12,50``, ``1.234,50``) and none a point."""
    text = values.dropna().astype(str).str.strip()
    if len(text) == 0:
        return False
    comma = text.str.fullmatch(r"-?(\d{1,3}(\.\d{3})+|\d+),\d+")
    plain = text.str.fullmatch(r"-?\d+")
    return bool(comma.any() and (comma | plain).all())


def _to_point(values: pd.Series) -> pd.Series:
    """``1.234,50`` -> ``1234.50`` (thousands points dropped, the decimal comma a point)."""
    text = values.astype("string")
    return text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)


def _read_table(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    what: str,
    dialect: CsvDialect | None = None,
) -> pd.DataFrame:
    file = Path(path)
    if file.is_dir():
        raise ValidationError(f"{what} file {str(file)!r} is a directory, not a file", field=what)
    if not file.is_file():
        raise ValidationError(f"{what} file {str(file)!r} does not exist", field=what)
    if file.stat().st_size == 0:
        raise ValidationError(f"{what} file {str(file)!r} is empty", field=what)
    if file.suffix.lower() in _PARQUET:
        try:
            frame = pd.read_parquet(file)
        except ImportError:
            raise ValidationError(
                f"{what} file {str(file)!r}: reading Parquet needs pyarrow "
                "(python -m pip install pyarrow, or crmcore[all]); or give a CSV file",
                field=what,
            ) from None
        except (OSError, ValueError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ValidationError(f"{what} file {str(file)!r}: {first}", field=what) from None
    else:
        dialect = dialect or CsvDialect()
        sep = dialect.sep or detect_separator(_header_line(file, dialect.encoding, what))
        try:
            frame = pd.read_csv(
                file,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                sep=sep,
                encoding=dialect.encoding,
            )
        except pd.errors.EmptyDataError:
            raise ValidationError(f"{what} file {str(file)!r} is empty", field=what) from None
        except UnicodeDecodeError as err:
            raise ValidationError(
                f"{what} file {str(file)!r} is not {dialect.encoding} text ({err.reason}); "
                "give its encoding, e.g. --encoding latin-1 or cp1252",
                field="encoding",
                value=dialect.encoding,
            ) from None
        except pd.errors.ParserError as err:
            first = str(err).strip().splitlines()[0]
            raise ValidationError(
                f"{what} file {str(file)!r} (separator {sep!r}): {first}; give the "
                "separator with --sep",
                field=what,
            ) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        present = ", ".join(map(str, frame.columns)) or "none"
        hint = ""
        if len(frame.columns) == 1:
            hint = "; if the file uses another column separator, give it with --sep"
        raise ValidationError(
            f"{what} file {str(file)!r} has no column {missing[0]!r} (columns: {present}); "
            f"name the file's columns with the --*-col options{hint}",
            field=missing[0],
        )
    if len(frame) == 0:
        raise ValidationError(f"{what} file {str(file)!r} has no rows", field=what)
    return frame


def release_arrow_memory() -> None:
    """Hand back to the system the memory Arrow's allocator keeps for reuse.

    Reading a Parquet file and converting its text columns goes through
    Arrow's memory pool, which keeps what it freed (about 0.6 GiB after
    reading 11 million transactions) for later Arrow allocations that
    a report does not make: the analysis would otherwise start with it on
    top of the data. A no-op when pyarrow was never imported.
    """
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


def _bad(column: str, mask: np.ndarray, values: pd.Series, expected: str) -> ValidationError:
    row = int(np.flatnonzero(mask)[0])
    value = values.iloc[row]
    return ValidationError(
        f"column {column!r}: row {row + 1} has {value!r}, not {expected}",
        field=column,
        row=row,
        value=value,
    )


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    missing = values.isna().to_numpy()
    if missing.any():
        raise _bad(column, missing, values, "an identifier (it is empty)")
    return values.astype(str)


def _customer_ids(frame: pd.DataFrame, column: str) -> pd.Categorical:
    """Return the id column as text: each distinct id once (sorted), a code per row.

    A log repeats each id about ten times: a categorical keeps one text per
    customer and a small integer per row (a third of the memory of the
    text column), and the report's factorisation of the ids is then a pass
    over the codes. Integer ids (as Parquet often stores them) are coded
    as integers and only the distinct ones written as text. The texts are
    those of ``column.astype(str)``; sorted categories sort like the texts.
    """
    values = frame[column]
    missing = values.isna().to_numpy()
    if missing.any():
        raise _bad(column, missing, values, "an identifier (it is empty)")
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        codes, uniques = sorted_codes(values)  # ascending integers, no hashing
        text = pd.Series(uniques).astype(str)  # the distinct ids only
        order = np.asarray(text.argsort(kind="stable"), dtype=np.int64)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size, dtype=np.int64)
        return pd.Categorical.from_codes(
            rank[codes], categories=pd.Index(text.take(order).array), validate=False
        )
    codes, uniques = pd.factorize(values.astype(str), sort=True)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques), validate=False)


def suggest_date_format(values: pd.Series, sample: int = 200) -> str | None:
    """Return a ``strptime`` format that reads a sample of ``values``, if one does.

    Day-first formats are tried before month-first ones; a sample that both
    read (every day at most 12) gets the day-first one.

    Examples
    --------
    >>> import pandas as pd
    >>> suggest_date_format(pd.Series(["01.01.1997", "31.03.1997"]))
    '%d.%m.%Y'
    >>> suggest_date_format(pd.Series(["03/31/1997"]))
    '%m/%d/%Y'
    """
    text = values.dropna().astype(str).str.strip().iloc[:sample]
    if len(text) == 0:
        return None
    for fmt in _DATE_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return None


def _dates(frame: pd.DataFrame, column: str, date_format: str | None) -> pd.DatetimeIndex:
    # rows are numbered from 1, like the other columns' messages (the CSV line is one more)
    try:
        dates = read_dates(
            frame[column], name=column, date_format=date_format, index=range(1, len(frame) + 1)
        )
    except ValidationError as err:
        fmt = suggest_date_format(frame[column]) if date_format is None else None
        if fmt is None:
            raise
        raise ValidationError(
            f"{err}; this file's dates read with --date-format '{fmt}' (date_format={fmt!r})",
            field=column,
        ) from None
    return dates.to_index()


def _numbers(
    frame: pd.DataFrame, column: str, *, nonnegative: bool, decimal: str | None = "."
) -> np.ndarray:
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    ):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        comma = decimal == "," or (decimal is None and _decimal_comma(values))
        text = _to_point(values) if comma else values
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers)
    if bad.any():
        expected = "a finite number"
        if values.astype("string").str.contains(",", regex=False).any() and decimal != ",":
            expected += " (for numbers with a decimal comma give --decimal ,)"
        raise _bad(column, bad, values, expected)
    if nonnegative:
        negative = numbers < 0
        if negative.any():
            raise _bad(column, negative, values, "a non-negative amount")
    return numbers


@renamed_arguments(amount_col="value_col")
def read_transactions(
    path: str | os.PathLike[str],
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str = "amount",
    date_format: str | None = None,
    currency_col: str = "currency",
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str = "utf-8-sig",
) -> pd.DataFrame:
    """Read and check a transaction log (CSV, or Parquet by its ``.parquet`` suffix).

    A CSV file's separator and decimal mark are detected unless given (see
    :class:`CsvDialect`): a semicolon-separated export with decimal commas
    (``12,50``), the default of spreadsheets in much of Europe, reads as it is.
    Amounts of zero (free orders) and negative amounts (refunds) are kept:
    :func:`~crmcore.report.analyse` says what it does with them.

    Parameters
    ----------
    path : path-like
        The file.
    customer_col, date_col, value_col : str
        Column names in the file (``value_col``: the amount of each purchase;
        ``amount_col`` is its deprecated name).
    date_format : str, optional
        A :func:`~datetime.datetime.strptime` format; default ISO 8601.
        Dates with a zone or an offset are instants; dates without one stay
        naive (give the report ``tz`` to place them in a zone).
    currency_col : str, default "currency"
        If the file has this column, every row must name the same currency
        (amounts in different currencies are never added up); the returned
        frame keeps it in ``attrs["currency"]``.
    sep, decimal, encoding
        CSV column separator, decimal mark (``"."`` or ``","``) and text
        encoding; default: detected, detected, UTF-8.

    Returns
    -------
    DataFrame
        ``customer_id`` (categorical: each distinct id once, as text, in
        sorted categories, and an integer code per row), ``date``
        (datetime64, naive or aware as in the file), ``amount`` (float).

    Raises
    ------
    ValidationError
        A missing or empty file, a missing column, an empty id, a date that
        does not parse (suggesting a ``date_format`` that reads the file's
        dates), an amount that is not a finite number: the message names the
        column and the first offending row; rows in more than one currency.
    """
    dialect = CsvDialect(sep=sep, decimal=decimal, encoding=encoding)
    frame = _read_table(path, [customer_col, date_col, value_col], "transactions", dialect)
    currency = None
    if currency_col in frame.columns:
        codes = frame[currency_col].astype("string").str.strip().str.upper()
        found = sorted(set(codes.dropna()))
        if len(found) > 1 or codes.isna().any():
            shown = ", ".join(found[:5]) + (" and missing ones" if codes.isna().any() else "")
            raise ValidationError(
                f"column {currency_col!r}: the amounts are in {shown}; amounts in different "
                "currencies cannot be added up: convert them to one currency or report on "
                "each currency's rows separately",
                field=currency_col,
                value=found,
            )
        currency = found[0] if found else None
    out = pd.DataFrame(
        {
            "customer_id": _customer_ids(frame, customer_col),
            "date": _dates(frame, date_col, date_format),
            "amount": _numbers(frame, value_col, nonnegative=False, decimal=dialect.decimal),
        }
    )
    if currency is not None:
        out.attrs["currency"] = currency
    del frame
    release_arrow_memory()
    return out


def read_surveys(
    path: str | os.PathLike[str],
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    score_col: str = "score",
    kind_col: str = "kind",
    date_format: str | None = None,
    csat_scale: int = 5,
    sep: str | None = None,
    encoding: str = "utf-8-sig",
) -> pd.DataFrame:
    """Read and check survey answers (NPS 0-10, CSAT 1..``csat_scale``).

    A file without ``kind_col`` holds NPS answers only. ``sep`` and
    ``encoding`` as for :func:`read_transactions`.

    Returns
    -------
    DataFrame
        ``customer_id``, ``kind``, ``score`` (int), ``date`` (datetime64, naive
        or aware as in the file), ``scale``.

    Raises
    ------
    ValidationError
        As :func:`read_transactions`; also for an unknown kind or a score
        outside its scale.
    """
    dialect = CsvDialect(sep=sep, encoding=encoding)
    frame = _read_table(path, [customer_col, date_col, score_col], "surveys", dialect)
    score = _numbers(frame, score_col, nonnegative=True)
    fractional = score != np.round(score)
    if fractional.any():
        raise _bad(score_col, fractional, frame[score_col], "a whole number")
    if kind_col in frame.columns:
        kind = frame[kind_col].astype("string").str.strip().str.lower()
        unknown = ~kind.isin(["nps", "csat"]).to_numpy(dtype=bool)
        if unknown.any():
            raise _bad(kind_col, unknown, frame[kind_col], "'nps' or 'csat'")
        kind_values = kind.to_numpy(dtype=object)
    else:
        kind_values = np.full(len(frame), "nps", dtype=object)
    is_nps = kind_values == "nps"
    low = np.where(is_nps, 0, 1)
    high = np.where(is_nps, 10, csat_scale)
    outside = (score < low) | (score > high)
    if outside.any():
        raise _bad(
            score_col, outside, frame[score_col], "a score on its scale (NPS 0-10, CSAT 1-5)"
        )
    return pd.DataFrame(
        {
            "customer_id": _text(frame, customer_col).array,
            "kind": kind_values,
            "score": score.astype(np.int64),
            "date": _dates(frame, date_col, date_format),
            "scale": np.where(is_nps, 10, csat_scale).astype(np.int64),
        }
    )


_LEGACY_KEY = "stage_history"  # where releases before 0.2 kept an entity's stage history
#: The columns of the survey responses and loyalty accounts a report reads from a store.
SURVEY_COLUMNS = ["customer_id", "kind", "score", "answered_at", "scale"]
LOYALTY_COLUMNS = ["customer_id", "program_id", "tier"]
_LOG_COLUMNS = ["entity_id", "from_stage", "to_stage", "at", "actor", "reason", "workflow"]


def _stage_log(store: Any, workflow: str, repository: Any) -> pd.DataFrame:
    """Return the workflow's stage changes from the event log (or legacy histories)."""
    log: pd.DataFrame = store.events.stage_history(workflow=workflow)
    if len(log):
        return log
    legacy = _legacy_history(repository.query(), workflow)
    return log if legacy is None else legacy


def _legacy_history(entities: Sequence[Any], workflow: str) -> pd.DataFrame | None:
    """Stage changes kept in ``custom["stage_history"]`` by earlier releases (deprecated)."""
    rows = [
        (entity.id, source, target, at, None, None, workflow)
        for entity in entities
        for source, target, at in (entity.custom or {}).get(_LEGACY_KEY, ())
    ]
    if not rows:
        return None
    warnings.warn(
        f"the store keeps the {workflow} stage histories in custom[{_LEGACY_KEY!r}] "
        f"(written by a release before 0.2) and no StageChanged events; reading them "
        f"is deprecated and will be removed in crmcore {REMOVED_IN}: append them to "
        f"store.events as StageChanged events",
        DeprecationWarning,
        stacklevel=4,
    )
    frame = pd.DataFrame(rows, columns=_LOG_COLUMNS)
    # the times were written with their offsets: instants, shown in UTC
    frame["at"] = read_dates(frame["at"], name="at").in_zone("UTC").to_index()
    return frame


def open_store(url: str, store_cls: Any, *, name: str = "--db") -> Any:
    """Open a store by URL; a missing SQLite file is an error, not a new empty database.

    ``name`` is what error messages call the URL (the command's option).
    """
    import sqlalchemy as sa  # noqa: PLC0415 -- the sql extra is optional

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        hint = ""
        if Path(url).suffix.lower() in (".sqlite", ".sqlite3", ".db") or Path(url).is_file():
            hint = f"; for a SQLite file give sqlite:///{Path(url).as_posix()}"
        raise ValidationError(
            f"{name}: {url!r} is not a database URL{hint}", field="db", value=url
        ) from None
    database = parsed.database
    in_file = database not in (None, "", ":memory:")
    if parsed.get_backend_name() == "sqlite" and in_file and not Path(str(database)).is_file():
        raise ValidationError(f"database file {database!r} does not exist", field="db")
    return store_cls(url)


def read_store(url_or_store: Any) -> ReportData:
    """Read the report inputs from a crmcore store (a SQLAlchemy URL or a store object).

    Orders become the transactions (cancelled and refunded orders are left
    out); survey responses the surveys; opportunities and tickets, with
    their stage changes from the store's event log
    (``store.events.stage_history(workflow=...)``, as appended by
    ``advance`` in a unit of work or by
    :func:`crmcore.datasets.write_company`), feed the pipeline forecast,
    funnel and SLA sections. A store written by a release before 0.2 keeps
    them in the entities' ``custom["stage_history"]``: they are read from
    there, with a ``DeprecationWarning``, when the log holds none.

    Raises
    ------
    ValidationError
        If the URL is not one, names a missing SQLite file, or the store
        holds no orders, or orders in more than one currency.
    SchemaVersionError
        If the database holds no crmcore tables (or another schema version).
    """
    from crmcore.storage import SqlStore  # noqa: PLC0415 -- the sql extra is optional

    store = open_store(url_or_store, SqlStore) if isinstance(url_or_store, str) else url_or_store
    try:
        return store_report_data(store)
    finally:
        if isinstance(url_or_store, str):
            store.close()


def store_report_data(store: Any, written: Mapping[str, Any] | None = None) -> ReportData:
    """:func:`read_store` of an open store; the tables in ``written`` are taken as given.

    ``written`` (a caller that has just written these tables, such as
    ``crmcore demo``): ``"orders"`` (purchases), ``"survey_responses"``
    (NPS and CSAT), ``"loyalty_accounts"``, ``"campaign_members"``
    (``store.<table>.to_frame`` of the columns and rows read here) and
    ``"engagement"`` (``store.events.engagement()``), exactly as the store
    would return them; the rest is read from the store.
    """
    from crmcore.marketing._store import (  # noqa: PLC0415 -- only when reading a store
        ORDER_COLUMNS,
        PURCHASE_STATUSES,
        read_frames,
    )

    given = dict(written or {})
    # read once: the transactions and the campaigns' orders (the same statuses)
    orders = given.get("orders")
    if orders is None:
        orders = store.orders.to_frame(
            ORDER_COLUMNS, where={"status__in": list(PURCHASE_STATUSES)}
        )
    if len(orders) == 0:
        raise ValidationError("the store holds no orders to report on", field="orders")
    currencies = sorted(orders["amount_currency"].unique())
    if len(currencies) > 1:  # amounts of different currencies cannot be added up
        raise ValidationError(
            f"the store's orders are in {len(currencies)} currencies "
            f"({', '.join(currencies[:5])}); a report needs amounts in one currency",
            field="amount_currency",
            value=currencies,
        )
    transactions = pd.DataFrame(
        {
            "customer_id": orders["customer_id"].astype(str).to_numpy(),
            "date": orders["placed_at"].array,  # aware (the store keeps instants)
            "amount": orders["amount"].to_numpy(np.float64),
        }
    )
    transactions.attrs["currency"] = str(currencies[0])
    answers = given.get("survey_responses")
    if answers is None:
        answers = store.survey_responses.to_frame(
            SURVEY_COLUMNS, where={"kind__in": ["nps", "csat"]}
        )
    surveys = None
    if len(answers):
        surveys = answers.rename(columns={"answered_at": "date"})[
            ["customer_id", "kind", "score", "date", "scale"]
        ]
    opportunities = opp_events = tickets = ticket_events = None
    if store.opportunities.count():
        opportunities = store.opportunities.to_frame(
            ["id", "stage", "amount", "probability", "expected_close_date", "created_at"]
        )
        opp_events = _stage_log(store, "opportunity", store.opportunities)
    if store.tickets.count():
        tickets = store.tickets.to_frame(
            ["id", "created_at", "priority", "status", "first_response_at", "resolved_at"]
        )
        ticket_events = _stage_log(store, "ticket", store.tickets)
    loyalty = given.get("loyalty_accounts")
    if loyalty is None and store.loyalty_accounts.count():
        loyalty = store.loyalty_accounts.to_frame(LOYALTY_COLUMNS)
    if loyalty is not None and not len(loyalty):
        loyalty = None
    members = given.get("campaign_members")
    campaigns = None
    if len(members) if members is not None else store.campaign_members.count():
        campaigns = read_frames(
            store,
            orders=orders,
            members=members,
            events=given.get("engagement"),
        )
    return ReportData(
        transactions=transactions,
        surveys=surveys,
        opportunities=opportunities,
        opportunity_events=opp_events,
        tickets=tickets,
        ticket_events=ticket_events,
        loyalty_accounts=loyalty,
        campaigns=campaigns,
    )
