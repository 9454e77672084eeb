"""Recommendations and next-best-action (work in progress)."""

from __future__ import annotations

from crmcore.recommend._association import BoughtTogetherRecommender
from crmcore.recommend._evaluation import METRICS, evaluate_recommenders, ranking_metrics
from crmcore.recommend._factorization import ImplicitALSRecommender
from crmcore.recommend._interactions import Interactions, interactions
from crmcore.recommend._nba import STATUSES, NextBestActions, next_best_action
from crmcore.recommend._offers import Constraints, FrequencyCap, Offer
from crmcore.recommend._popularity import PopularityRecommender
from crmcore.recommend._repurchase import RepurchaseModel
from crmcore.recommend._similarity import ItemSimilarityRecommender
from crmcore.recommend._simulate import SimulatedBaskets, simulate_baskets

__all__ = [
    "METRICS",
    "STATUSES",
    "BoughtTogetherRecommender",
    "Constraints",
    "FrequencyCap",
    "ImplicitALSRecommender",
    "Interactions",
    "ItemSimilarityRecommender",
    "NextBestActions",
    "Offer",
    "PopularityRecommender",
    "RepurchaseModel",
    "SimulatedBaskets",
    "evaluate_recommenders",
    "interactions",
    "next_best_action",
    "ranking_metrics",
    "simulate_baskets",
]
