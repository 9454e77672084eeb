"""Recommendations and next-best-action.

Recommenders fitted on order lines at an explicit ``as_of`` (popularity,
item-to-item similarity, bought-together rules, implicit-feedback matrix
factorisation) share one estimator contract and JSON persistence;
:class:`RepurchaseModel` times the next purchase of consumables;
:func:`evaluate_recommenders` scores them on a time split; and
:func:`next_best_action` chooses offers by expected value under consent,
frequency caps, budget and capacity. :func:`store_interactions` and
:func:`store_catalogue` read a store's order lines and products, so every
model runs on a store end to end; :func:`send_offers` sends the chosen
actions through campaigns (members and their sends) and
:func:`record_responses` records the responses as engagement. See the guide, :doc:`/recommend`.
"""

from __future__ import annotations

from crmcore.recommend._association import BoughtTogetherRecommender
from crmcore.recommend._evaluation import METRICS, evaluate_recommenders, ranking_metrics
from crmcore.recommend._factorization import ImplicitALSRecommender
from crmcore.recommend._interactions import Interactions, interactions
from crmcore.recommend._nba import STATUSES, NextBestActions, next_best_action
from crmcore.recommend._offers import Constraints, FrequencyCap, Offer
from crmcore.recommend._popularity import PopularityRecommender
from crmcore.recommend._repurchase import RepurchaseModel
from crmcore.recommend._send import record_responses, send_offers
from crmcore.recommend._similarity import ItemSimilarityRecommender
from crmcore.recommend._simulate import SimulatedBaskets, simulate_baskets
from crmcore.recommend._store import CATALOGUE_COLUMNS, store_catalogue, store_interactions

__all__ = [
    "CATALOGUE_COLUMNS",
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
    "record_responses",
    "send_offers",
    "simulate_baskets",
    "store_catalogue",
    "store_interactions",
]
