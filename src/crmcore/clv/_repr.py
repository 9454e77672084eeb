"""What a fitted model shows: its parameters, the data it was fitted on, the fit.

Text for the console (``repr``), a small HTML table for notebooks
(``_repr_html_``). An unfitted model keeps scikit-learn's representation:
the class and the hyper-parameters that differ from the defaults.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

__all__ = ["fit_line", "html_table", "text_table"]


def _num(value: float) -> str:
    """Four significant digits, or "n/a" for an undefined value."""
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"


def fit_line(model: Any) -> str:
    """One sentence on the fit: customers, log-likelihood, convergence."""
    if model.n_customers_ == 0 and model.n_iter_ == 0 and not math.isfinite(model.log_likelihood_):
        return "parameters given (from_params), not fitted"
    verdict = (
        f"converged in {model.n_iter_} iterations"
        if model.converged_
        else f"did NOT converge ({model.n_iter_} iterations)"
    )
    return (
        f"fitted on {model.n_customers_:,} customers: "
        f"log-likelihood {model.log_likelihood_:,.2f}, {verdict}"
    )


def _rows(model: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "coef": pd.Series(model.params_),
            "se": pd.Series(model.standard_errors_),
        }
    )


def text_table(model: Any, head: str) -> str:
    """``head`` (scikit-learn's repr), the fit, and one line per parameter."""
    rows = _rows(model)
    width = max(len(str(name)) for name in rows.index)
    lines = [head, f"  {fit_line(model)}", f"  {'':<{width}}  {'coef':>10}  {'se':>10}"]
    lines += [
        f"  {name:<{width}}  {_num(row.coef):>10}  {_num(row.se):>10}"
        for name, row in rows.iterrows()
    ]
    return "\n".join(lines)


def html_table(model: Any, head: str) -> str:
    """Return :func:`text_table` as an HTML fragment (names escaped)."""
    cells = "".join(
        f"<tr><th>{html.escape(str(name))}</th><td>{_num(row.coef)}</td>"
        f"<td>{_num(row.se)}</td></tr>"
        for name, row in _rows(model).iterrows()
    )
    return (
        '<div class="crmcore-model">'
        f"<p><code>{html.escape(head)}</code><br>{html.escape(fit_line(model))}</p>"
        "<table><thead><tr><th>parameter</th><th>coef</th><th>se</th></tr></thead>"
        f"<tbody>{cells}</tbody></table></div>"
    )
