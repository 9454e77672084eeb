"""The sub-commands: ``demo``, ``report``, ``clv fit``, ``clv predict`` and ``db upgrade``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from crmcore._deprecation import warn_renamed
from crmcore._jsonfile import read_json
from crmcore._time import is_date_only, resolve_as_of, to_instant, to_zone
from crmcore.cli._console import Console
from crmcore.cli._dask_job import run_clv_score
from crmcore.errors import ValidationError

__all__ = [
    "checked_as_of",
    "checked_tz",
    "run_clv_fit",
    "run_clv_predict",
    "run_clv_score",
    "run_db_upgrade",
    "run_demo",
    "run_report",
]

DB_NAME = "crm.sqlite"


def checked_as_of(text: str | None, *, name: str = "--as-of") -> str | None:
    """Check ``--as-of`` before any data is read; the analysis resolves it against the data.

    A date (``2026-06-30``) means the end of that day on the data's wall
    clock, a datetime that instant (with an offset for aware data).

    Raises
    ------
    ValidationError
        Not a date, or outside the supported range (``9999-12-31``).
    """
    if text is None:
        return None
    if is_date_only(text):
        resolve_as_of(text, tz=None, name=name)  # the end of the day must be in range
    else:
        to_instant(text, name=name)
    return text


def checked_tz(text: str | None) -> Any:
    """``--tz``: a zone name such as ``Europe/Paris`` (checked before any data is read)."""
    return None if text is None else to_zone(text, name="--tz")


def _options(args: argparse.Namespace) -> Any:
    from crmcore.report import ReportOptions  # noqa: PLC0415 -- keep `crmcore --help` fast

    return ReportOptions(
        as_of=checked_as_of(args.as_of),
        tz=checked_tz(getattr(args, "tz", None)),
        model=args.model,
        period_days=args.period_days,
        horizon_months=args.horizon_months,
        discount_rate=args.discount_rate,
        n_draws=args.draws,
        random_state=args.seed,
    )


def _value_col(args: argparse.Namespace) -> str:
    """``--value-col``, or its deprecated name ``--amount-col`` (with a warning)."""
    if args.amount_col is None:
        return str(args.value_col or "amount")
    if args.value_col is not None:
        raise ValidationError(
            "--amount-col is the deprecated name of --value-col; give --value-col only",
            field="value_col",
        )
    warn_renamed(f"crmcore {args.command}", "--amount-col", "--value-col")
    return str(args.amount_col)


def _load(args: argparse.Namespace) -> Any:
    from crmcore.report import ReportData, read_store, read_transactions  # noqa: PLC0415

    if args.db is not None:
        data = read_store(args.db)
    else:
        data = ReportData(
            transactions=read_transactions(
                args.transactions,
                customer_col=args.customer_col,
                date_col=args.date_col,
                value_col=_value_col(args),
                date_format=args.date_format,
                sep=args.sep,
                decimal=args.decimal,
                encoding=args.encoding,
            )
        )
    if getattr(args, "currency", None):
        found = data.transactions.attrs.get("currency")
        code = str(args.currency).strip().upper()
        if found is not None and found != code:
            raise ValidationError(
                f"--currency {code} but the data's amounts are in {found}",
                field="currency",
                value=code,
            )
        data.transactions.attrs["currency"] = code
    if getattr(args, "surveys", None) is not None:
        surveys = _load_surveys(args)
        data = ReportData(
            transactions=data.transactions,
            surveys=surveys,
            opportunities=data.opportunities,
            opportunity_events=data.opportunity_events,
            tickets=data.tickets,
            ticket_events=data.ticket_events,
            loyalty_accounts=data.loyalty_accounts,
            campaigns=data.campaigns,
        )
    return data


def _load_surveys(args: argparse.Namespace) -> Any:
    from crmcore.report import read_surveys  # noqa: PLC0415

    return read_surveys(
        args.surveys,
        customer_col=args.survey_customer_col,
        date_col=args.survey_date_col,
        score_col=args.survey_score_col,
        kind_col=args.survey_kind_col,
        date_format=args.date_format,
        sep=args.sep,
        encoding=args.encoding,
    )


def _describe(console: Console, out: Path, summary: dict[str, Any]) -> None:
    hold = summary["holdout"]
    money = f" {summary['currency']}" if summary.get("currency") else ""
    console.result(
        f"{summary['n_customers']:,} customers, {summary['n_transactions']:,} transactions; "
        f"{summary['model']['name']} fitted; "
        f"{summary['settings']['clv_horizon_months']}-month CLV total "
        f"{summary['totals']['clv']:,.0f}{money}"
        + (f"; holdout MAE {hold['mae']:.3f}" if hold.get("available") else "")
    )
    for note in summary.get("data_quality", {}).get("notes", []):
        console.result(f"note: {note}")
    if not hold.get("available"):
        console.result(f"note: no holdout check: {hold.get('reason')}")
    console.result(f"report written to {out}")


def _check_out_dir(path: str) -> None:
    """Refuse an ``--out`` that exists as a file before any work is done."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValidationError(
            f"--out {path!r} is a file; give a directory (it is created if missing)",
            field="out",
            value=path,
        )


def run_report(args: argparse.Namespace, console: Console) -> int:
    """``crmcore report``."""
    from crmcore.report import analyse, write_report  # noqa: PLC0415

    _check_out_dir(args.out)
    options = _options(args)  # --as-of and --tz are checked before any input is read
    if args.scheduler is not None:
        return _report_on_cluster(args, options, console)
    console.step("reading inputs")
    data = _load(args)
    analysis = analyse(data, options, step=console.step)
    console.step("writing the report")
    write_report(analysis, args.out)
    _describe(console, Path(args.out), analysis.summary)
    return 0


def _report_on_cluster(args: argparse.Namespace, options: Any, console: Console) -> int:
    """``crmcore report --scheduler``: the per-transaction steps on a Dask scheduler."""
    from crmcore.cli._dask_job import scheduler  # noqa: PLC0415
    from crmcore.report import ReportData, analyse, write_report  # noqa: PLC0415
    from crmcore.report._distributed import read_partitioned_transactions  # noqa: PLC0415

    if args.db is not None:
        raise ValidationError(
            "--scheduler reads a transaction log (--transactions, Parquet); a --db store is "
            "reported on in memory: leave out --scheduler",
            field="scheduler",
        )
    with scheduler(args.scheduler):
        console.step(f"reading {args.transactions} on {args.scheduler}")
        log = read_partitioned_transactions(
            args.transactions,
            customer_col=args.customer_col,
            date_col=args.date_col,
            value_col=_value_col(args),
            date_format=args.date_format,
        )
        if args.currency:
            code = str(args.currency).strip().upper()
            if "currency" in log.columns:
                raise ValidationError(
                    f"--currency {code} but the files have a currency column; leave out "
                    "--currency (the report reads the column)",
                    field="currency",
                    value=code,
                )
            log = log.assign(currency=code)
        surveys = None
        if getattr(args, "surveys", None) is not None:
            surveys = _load_surveys(args)
        data = ReportData(transactions=log, surveys=surveys)
        analysis = analyse(data, options, step=console.step)
    console.step("writing the report")
    write_report(analysis, args.out)
    _describe(console, Path(args.out), analysis.summary)
    return 0


def run_demo(args: argparse.Namespace, console: Console) -> int:
    """``crmcore demo``: generate the sample company into SQLite, then report on it."""
    from crmcore.datasets import make_company, write_company  # noqa: PLC0415
    from crmcore.datasets._report import report_data  # noqa: PLC0415
    from crmcore.report import analyse  # noqa: PLC0415
    from crmcore.report._output import staged_directory, write_files  # noqa: PLC0415
    from crmcore.storage import SqlStore  # noqa: PLC0415

    _check_out_dir(args.out)
    if args.customers < 1:
        raise ValidationError(
            f"--customers must be at least 1; got {args.customers}", field="customers"
        )
    options = _options(args)
    console.step(f"generating a company of {args.customers:,} customers (seed {args.seed})")
    company = make_company(args.customers, random_state=args.seed)
    out = Path(args.out)
    with staged_directory(out) as stage:
        db = stage / DB_NAME
        with SqlStore(f"sqlite:///{db.as_posix()}") as store:
            store.create_schema()
            counts = write_company(
                company,
                store,
                progress=lambda table, n: console.bar(n, f"storing {n:,} {table}"),
            )
            # the large tables as just written (the same frames read_store would read back)
            console.step("reading the workflows back")
            data = report_data(company, store)
        analysis = analyse(data, options, step=console.step)
        console.step("writing the report")
        write_files(analysis, stage)
    total = sum(counts.values())
    console.result(f"sample company: {total:,} records in {out / DB_NAME}")
    _describe(console, out, analysis.summary)
    return 0


def _fit_models(args: argparse.Namespace) -> tuple[Any, Any, pd.DataFrame, pd.Timestamp]:
    from crmcore.clv import rfm_summary  # noqa: PLC0415
    from crmcore.report import MODELS  # noqa: PLC0415
    from crmcore.report._analysis import cut_history, fit_spend_model  # noqa: PLC0415

    as_of = checked_as_of(args.as_of)
    data = _load(args)
    history, clock = cut_history(data.transactions, as_of)
    end = clock.cutoff.timestamp
    summary = rfm_summary(history, value_col="amount", as_of=end)
    spend = fit_spend_model(summary)
    model = MODELS[args.model]().fit(summary[["frequency", "recency", "T"]])
    return model, spend, summary, end


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def run_clv_fit(args: argparse.Namespace, console: Console) -> int:
    """``crmcore clv fit``: fit the transaction and spend models, save them as JSON."""
    console.step("fitting")
    model, spend, summary, end = _fit_models(args)
    state = {
        "format": "crmcore.clv-models",
        "version": 1,
        "as_of": end.isoformat(),
        "time_unit": "days",
        "n_customers": len(summary),
        "transaction_model": model.to_dict(),
        "spend_model": spend.to_dict(),
    }
    out = Path(args.out)
    _atomic_write(out, json.dumps(state, indent=2) + "\n")
    params = ", ".join(f"{k}={v:.4g}" for k, v in model.params_.items())
    console.result(f"{type(model).__name__} ({params}) written to {out}")
    return 0


def run_clv_predict(args: argparse.Namespace, console: Console) -> int:
    """``crmcore clv predict``: score customers with models saved by ``clv fit``."""
    from crmcore.clv import (  # noqa: PLC0415
        BetaGeoModel,
        GammaGammaModel,
        ModifiedBetaGeoModel,
        ParetoNBDModel,
        customer_lifetime_value,
        rfm_summary,
    )
    from crmcore.report._analysis import cut_history  # noqa: PLC0415

    as_of = checked_as_of(args.as_of)

    path = Path(args.models)
    state = read_json(path, what="model file")
    if not isinstance(state, dict) or state.get("format") != "crmcore.clv-models":
        raise ValidationError(
            f"model file {str(path)!r} was not written by 'crmcore clv fit'", field="models"
        )
    for part in ("transaction_model", "spend_model"):
        if not isinstance(state.get(part), dict):
            raise ValidationError(
                f"model file {str(path)!r} has no {part!r} object; "
                "write it again with 'crmcore clv fit'",
                field="models",
            )
    classes = {c.__name__: c for c in (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel)}
    kind = state["transaction_model"].get("model")
    if kind not in classes:
        raise ValidationError(
            f"unknown transaction model {kind!r} in {str(path)!r}", field="models"
        )
    model = classes[kind].from_dict(state["transaction_model"])
    spend = GammaGammaModel.from_dict(state["spend_model"])
    console.step("scoring")
    data = _load(args)
    history, clock = cut_history(data.transactions, as_of)
    summary = rfm_summary(history, value_col="amount", as_of=clock.cutoff.timestamp)
    table = summary.copy()
    table["p_alive"] = model.probability_alive(summary)
    table[f"expected_purchases_{args.period_days:g}d"] = model.expected_purchases(
        args.period_days, summary
    )
    table["clv"] = customer_lifetime_value(
        model,
        spend,
        summary,
        horizon=args.horizon_months,
        time_unit=365.25 / 12,
        discount_rate=args.discount_rate,
    )
    table.index.name = "customer_id"
    out = Path(args.out)
    _atomic_write(out, table.round(6).to_csv(lineterminator="\n"))
    console.result(f"{len(table):,} customers scored; written to {out}")
    return 0


def run_db_upgrade(args: argparse.Namespace, console: Console) -> int:
    """``crmcore db upgrade URL``: migrate the schema to this release's, all or nothing."""
    import sqlalchemy as sa  # noqa: PLC0415 -- the sql extra is optional

    from crmcore.report._inputs import open_store  # noqa: PLC0415
    from crmcore.storage import SCHEMA_VERSION, SqlStore  # noqa: PLC0415

    store = open_store(args.url, SqlStore, name="URL")
    shown = store.engine.url.render_as_string(hide_password=True)
    try:
        console.step(f"upgrading the crmcore schema of {shown}")
        try:
            found = store.upgrade_schema()
        except sa.exc.SQLAlchemyError as err:  # the transaction rolled back: nothing changed
            cause = str(getattr(err, "orig", None) or err).strip()
            first = cause.splitlines()[0] if cause else type(err).__name__
            console.error(f"the upgrade of {shown} failed and changed nothing: {first}")
            return 1
    finally:
        store.close()
    if found == SCHEMA_VERSION:
        console.result(f"{shown}: schema version {found} is current; nothing to upgrade")
    else:
        console.result(f"{shown}: upgraded from schema version {found} to {SCHEMA_VERSION}")
    return 0
