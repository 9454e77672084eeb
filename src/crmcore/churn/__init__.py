"""Churn: labels, classifiers, evaluation and survival curves.

"Who is about to leave?" answered three ways:

- :func:`churn_labels` / :func:`subscription_churn_labels` define churn at an
  explicit cut-off ``as_of`` (the library's time rule: history is at or
  before ``as_of``, the label window is ``(as_of, as_of + horizon]``), and
  :class:`ChurnClassifier` learns calibrated churn probabilities from
  behavioural features, against the label-free :class:`PAliveBaseline`
  (both scikit-learn estimators that save to JSON), compared out of time by
  :func:`backtest`;
- :func:`gains_table`, :func:`lift_curve`, :func:`calibration_table` and
  :func:`score_metrics` say how good a score is for a retention campaign;
- :func:`kaplan_meier` and :func:`retention_curve` describe contractual
  (subscription) retention over tenure.
"""

from __future__ import annotations

from crmcore.churn._backtest import BacktestResult, backtest
from crmcore.churn._baseline import PAliveBaseline
from crmcore.churn._classifier import ChurnClassifier
from crmcore.churn._evaluation import (
    calibration_table,
    gains_table,
    lift_curve,
    plot_lift_curve,
    score_metrics,
)
from crmcore.churn._labels import churn_labels, subscription_churn_labels
from crmcore.churn._retention import retention_curve
from crmcore.churn._simulate import simulate_churn_transactions
from crmcore.churn._survival import kaplan_meier

__all__ = [
    "BacktestResult",
    "ChurnClassifier",
    "PAliveBaseline",
    "backtest",
    "calibration_table",
    "churn_labels",
    "gains_table",
    "kaplan_meier",
    "lift_curve",
    "plot_lift_curve",
    "retention_curve",
    "score_metrics",
    "simulate_churn_transactions",
    "subscription_churn_labels",
]
