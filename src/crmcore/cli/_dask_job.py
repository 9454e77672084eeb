"""``crmcore clv score``: the CLV job on a Dask scheduler, from partitioned Parquet.

Kept apart from the in-memory commands: everything here reads and writes
through Dask (:doc:`/dask`), and Dask is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crmcore._dask import parquet_divisions
from crmcore.cli._console import Console
from crmcore.errors import ValidationError

__all__ = ["run_clv_score"]

#: dask's own schedulers, chosen by name instead of a cluster address
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")


def _import_dask() -> Any:
    try:
        import dask  # noqa: PLC0415 -- optional extra
        import dask.dataframe as dd  # noqa: PLC0415
    except ImportError as err:
        raise ValidationError(
            '--scheduler needs Dask: python -m pip install "crmcore[dask]"',
            field="scheduler",
        ) from err
    return dask, dd


@contextlib.contextmanager
def scheduler(address: str) -> Iterator[None]:
    """Run the enclosed Dask work on ``address`` (a cluster) or a local scheduler by name."""
    dask, _ = _import_dask()
    if address in LOCAL_SCHEDULERS:
        with dask.config.set(scheduler=address):
            yield
        return
    try:
        from distributed import Client  # noqa: PLC0415 -- optional extra
    except ImportError as err:
        raise ValidationError(
            f"--scheduler {address!r} is a cluster address, which needs dask.distributed: "
            'python -m pip install "crmcore[dask]" (or give one of '
            f"{', '.join(LOCAL_SCHEDULERS)})",
            field="scheduler",
        ) from err
    try:
        client = Client(address, timeout="30s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as err:
        raise ValidationError(
            f"cannot reach the Dask scheduler at {address!r}: {err}", field="scheduler"
        ) from err
    with client:
        yield


def _read_part(path: str, fields: list[str], index: str | None = None) -> Any:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # noqa: PLC0415 -- dask extra

    frame = pq.read_table(path, columns=fields).to_pandas()
    return frame if index is None else frame.set_index(index)


def _read_log(args: argparse.Namespace, value_col: str) -> Any:
    """One Dask partition per Parquet file, read by pyarrow on the workers.

    ``dd.from_map`` over the files rather than ``dd.read_parquet``: the
    latter's readers either cannot be sent to a cluster (``filesystem="arrow"``)
    or warn in every partition under pandas 3.1 (they re-index in place).
    """
    _, dd = _import_dask()
    import pyarrow.parquet as pq  # noqa: PLC0415

    source = Path(args.transactions).resolve()
    files = sorted(source.glob("*.parquet")) if source.is_dir() else [source]
    if not source.exists() or not files:
        raise ValidationError(
            f"--transactions {args.transactions!r} is neither a Parquet file nor a folder "
            "holding *.parquet files",
            field="transactions",
        )
    columns = [args.customer_col, args.date_col, value_col]
    present = pq.read_schema(files[0]).names
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValidationError(
            f"{files[0].name} has no column {missing[0]!r}; columns present: {', '.join(present)}",
            field=missing[0],
        )
    paths = [f.as_posix() for f in files]
    meta = pq.read_table(files[0], columns=columns).slice(0, 0).to_pandas()
    if meta[args.date_col].dtype.kind != "M":
        log = dd.from_map(_read_part, paths, fields=columns, meta=meta, enforce_metadata=False)
        log[args.date_col] = dd.to_datetime(log[args.date_col], format=args.date_format)
        return log
    # files holding disjoint, increasing ranges of customers (their statistics say so):
    # indexed by the customer with known divisions, the summary needs no shuffle
    divisions = parquet_divisions(paths, args.customer_col)
    index = None if divisions is None else args.customer_col
    return dd.from_map(
        _read_part,
        paths,
        fields=columns,
        index=index,
        divisions=divisions,
        meta=meta if index is None else meta.set_index(index),
        enforce_metadata=False,
    )


def run_clv_score(args: argparse.Namespace, console: Console) -> int:
    """``crmcore clv score``: summary, fit, scores and Parquet, on a Dask scheduler."""
    from crmcore.cli._commands import checked_as_of  # noqa: PLC0415
    from crmcore.clv import GammaGammaModel, rfm_summary, score_customers  # noqa: PLC0415
    from crmcore.report import MODELS  # noqa: PLC0415
    from crmcore.report._output import staged_directory  # noqa: PLC0415

    as_of = checked_as_of(args.as_of)
    value_col = args.value_col or "amount"
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValidationError(f"--out {args.out!r} is a file; give a directory", field="out")
    if (out / "scores").exists():
        raise ValidationError(
            f"--out {args.out!r} already holds scores/; give another directory or remove it",
            field="out",
        )
    with scheduler(args.scheduler):
        console.step(f"reading {args.transactions} on {args.scheduler}")
        log = _read_log(args, value_col)
        console.step("summarising on the cluster")
        lazy: Any = rfm_summary(
            log,
            customer_col=args.customer_col,
            date_col=args.date_col,
            value_col=value_col,
            as_of=as_of,
        )
        summary = lazy.persist()  # kept on the workers: fitted, then scored
        console.step(
            f"fitting {args.model} on the distinct summary rows, Gamma-Gamma on the cluster"
        )
        model = MODELS[args.model]().fit(summary)
        spend = GammaGammaModel().fit(summary)
        console.step("scoring and writing Parquet on the cluster")
        scores = score_customers(
            model,
            summary,
            t=args.period_days,
            spend_model=spend,
            horizon=args.horizon_months,
            time_unit=365.25 / 12,
            discount_rate=args.discount_rate,
        )
        state = {
            "format": "crmcore.clv-models",
            "version": 1,
            "as_of": as_of,
            "time_unit": "days",
            "n_customers": model.n_customers_,
            "transaction_model": model.to_dict(),
            "spend_model": spend.to_dict(),
        }
        with staged_directory(out) as stage:
            # the customer id as a column: Dask's writer would re-index every part
            scores.reset_index().to_parquet((stage / "scores").as_posix(), write_index=False)
            text = json.dumps(state, indent=2) + "\n"
            (stage / "models.json").write_text(text, encoding="utf-8")
    console.result(
        f"{model.n_customers_:,} customers scored on {args.scheduler}; "
        f"scores/ (Parquet) and models.json written to {out}"
    )
    return 0
