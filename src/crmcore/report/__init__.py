"""The customer-value report: read inputs, analyse, render, write atomically.

Library code behind ``crmcore report`` (no printing; logging only):

- :func:`read_transactions`, :func:`read_surveys` (CSV or Parquet, checked
  column by column) and :func:`read_store` (a crmcore store) build a
  :class:`ReportData`; :func:`read_partitioned_transactions` reads a folder
  of Parquet files as a Dask log, and the report then runs its
  per-transaction steps on the Dask scheduler in use;
- :func:`analyse` runs the analysis with :class:`ReportOptions` (RFM
  summary, holdout check, BG/NBD, MBG/NBD or Pareto/NBD with Gamma-Gamma
  spend, CLV with bootstrap intervals, RFM segments, churn risk, cohorts,
  NPS/CSAT, pipeline and SLA) and returns an :class:`Analysis`;
- :func:`write_report` writes ``customers.csv``, ``summary.json`` and a
  self-contained ``report.html`` into a directory, all or nothing.
"""

from __future__ import annotations

from crmcore.report._analysis import (
    DEFAULT_SLA_POLICY,
    MODELS,
    Analysis,
    ReportOptions,
    analyse,
)
from crmcore.report._distributed import read_partitioned_transactions
from crmcore.report._inputs import ReportData, read_store, read_surveys, read_transactions
from crmcore.report._output import REPORT_FILES, write_report

__all__ = [
    "DEFAULT_SLA_POLICY",
    "MODELS",
    "REPORT_FILES",
    "Analysis",
    "ReportData",
    "ReportOptions",
    "analyse",
    "read_partitioned_transactions",
    "read_store",
    "read_surveys",
    "read_transactions",
    "write_report",
]
