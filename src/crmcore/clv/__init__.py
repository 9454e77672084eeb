"""Customer lifetime value: transaction summaries, buy-till-you-die models, CLV.

From a purchase log to per-customer forecasts:

- :func:`rfm_summary` and :func:`calibration_holdout_split` turn a
  transaction log into frequency / recency / T (/ monetary value) summaries;
- :class:`BetaGeoModel` (BG/NBD, Fader, Hardie & Lee 2005) and
  :class:`ModifiedBetaGeoModel` (MBG/NBD, Batislam, Denizel & Filiztekin 2007)
  model the purchase process; :class:`GammaGammaModel` (Fader, Hardie & Lee
  2005; Fader & Hardie 2013) the spend per transaction;
- :func:`customer_lifetime_value` combines both with explicit discounting;
  :func:`score_customers` puts every prediction in one table (in memory or
  on a Dask cluster, ready for partitioned Parquet);
  :func:`simple_clv` and :func:`retention_clv` are the textbook closed forms;
- :func:`simulate_bgnbd`, :func:`simulate_gamma_gamma` and
  :func:`simulate_transactions` generate seeded synthetic data;
- :func:`evaluate_holdout` checks a model out of sample;
  :func:`compare_models` and :func:`select_model` compare candidate models
  on a calibration/holdout split and pick one by a stated criterion.

Models follow scikit-learn conventions, fit by maximum likelihood on
compressed data (identical summaries evaluated once) with analytic gradients,
report standard errors from the Hessian, and persist as JSON.
"""

from __future__ import annotations

from crmcore.clv._base import BaseModel
from crmcore.clv._bgbb import BetaGeoBetaBinomModel
from crmcore.clv._bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from crmcore.clv._compare import ModelComparison, ModelSelection, compare_models, select_model
from crmcore.clv._gammagamma import GammaGammaModel
from crmcore.clv._holdout import HoldoutEvaluation, evaluate_holdout
from crmcore.clv._pareto import ParetoNBDModel
from crmcore.clv._sbg import ShiftedBetaGeoModel
from crmcore.clv._scores import score_customers
from crmcore.clv._simulate import (
    simulate_bgbb,
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_pareto_nbd,
    simulate_sbg,
)
from crmcore.clv._simulate_log import simulate_transactions
from crmcore.clv._summary import calibration_holdout_split, rfm_summary
from crmcore.clv._tracking import expected_cumulative_transactions, plot_cumulative_transactions
from crmcore.clv._transaction import TransactionModel
from crmcore.clv._uncertainty import draw_parameters, predict_interval
from crmcore.clv._value import customer_lifetime_value, retention_clv, simple_clv

__all__ = [
    "BaseModel",
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "GammaGammaModel",
    "HoldoutEvaluation",
    "ModelComparison",
    "ModelSelection",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
    "TransactionModel",
    "calibration_holdout_split",
    "compare_models",
    "customer_lifetime_value",
    "draw_parameters",
    "evaluate_holdout",
    "expected_cumulative_transactions",
    "plot_cumulative_transactions",
    "predict_interval",
    "retention_clv",
    "rfm_summary",
    "score_customers",
    "select_model",
    "simple_clv",
    "simulate_bgbb",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "simulate_pareto_nbd",
    "simulate_sbg",
    "simulate_transactions",
]
