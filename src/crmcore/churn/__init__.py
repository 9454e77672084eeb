"""Churn: labels, classifiers, evaluation and survival curves."""

from __future__ import annotations

from crmcore.churn._evaluation import (
    calibration_table,
    gains_table,
    lift_curve,
    plot_lift_curve,
    score_metrics,
)
from crmcore.churn._labels import churn_labels, subscription_churn_labels
from crmcore.churn._retention import retention_curve
from crmcore.churn._survival import kaplan_meier

__all__ = [
    "calibration_table",
    "churn_labels",
    "gains_table",
    "kaplan_meier",
    "lift_curve",
    "plot_lift_curve",
    "retention_curve",
    "score_metrics",
    "subscription_churn_labels",
]
