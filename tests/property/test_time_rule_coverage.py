"""Every public callable taking ``as_of`` is held to the time rule by a property test.

The public surface is every subpackage's ``__all__``: its functions and the
public methods of its classes. Each one whose signature has an ``as_of``
parameter must be named below, either with the hypothesis test that shows it
ignores what happens after ``as_of`` (and, where its answer is made of
instants, that it ignores the zone the instants are written in), or as an
exemption with the reason. A new function with ``as_of`` and no entry fails
here, and so does an entry whose function or test has gone.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import crmcore

PROPERTY = Path(__file__).resolve().parent

CHURN = "test_churn_time_rules.py"
CLV = "test_clv_time_rules.py"
LOYALTY_PIPELINE = "test_loyalty_pipeline_time_rules.py"
MARKETING = "test_marketing_invariants.py"
MORE = "test_time_rules_more.py"
OPS = "test_pipeline_ops_time_rules.py"
RECOMMEND = "test_recommend_time_rules.py"
IDENTITY = "test_identity_time_rules.py"
SEGMENTATION = "test_segmentation_time_rules.py"
STORAGE = "test_storage_events.py"

#: public name -> "file::test" of the property that holds it.
NO_LEAK: dict[str, str] = {
    "crmcore.churn.PAliveBaseline.summarize": f"{CHURN}::test_model_inputs_never_read_after_as_of",
    "crmcore.churn.backtest": f"{MORE}::test_backtest_reads_the_past_and_the_label_window_only",
    "crmcore.churn.churn_labels": f"{CHURN}::test_labels_never_read_past_the_window",
    "crmcore.churn.retention_curve": (
        f"{MORE}::test_retention_curve_ignores_the_future_and_the_zone"
    ),
    "crmcore.churn.subscription_churn_labels": (
        f"{CHURN}::test_subscription_labels_never_read_past_the_window_and_ignore_zones"
    ),
    "crmcore.clv.calibration_holdout_split": (
        f"{CLV}::test_split_calibration_is_the_history_and_the_holdout_its_window"
    ),
    "crmcore.clv.rfm_summary": f"{CLV}::test_rfm_summary_ignores_every_row_after_as_of",
    "crmcore.clv.expected_cumulative_transactions": (
        f"{CLV}::test_tracking_curve_reads_nothing_after_end"
    ),
    "crmcore.domain.Contact.current_consent": (
        f"{MORE}::test_consent_at_a_moment_ignores_later_consents_and_the_zone"
    ),
    "crmcore.domain.Contact.has_consent": (
        f"{MORE}::test_consent_at_a_moment_ignores_later_consents_and_the_zone"
    ),
    "crmcore.domain.Customer.current_consent": (
        f"{MORE}::test_consent_at_a_moment_ignores_later_consents_and_the_zone"
    ),
    "crmcore.domain.Customer.has_consent": (
        f"{MORE}::test_consent_at_a_moment_ignores_later_consents_and_the_zone"
    ),
    "crmcore.domain.current_consent": (
        f"{MORE}::test_consent_at_a_moment_ignores_later_consents_and_the_zone"
    ),
    "crmcore.identity.not_duplicates": (
        f"{IDENTITY}::test_decisions_after_as_of_change_nothing_and_zones_do_not_matter"
    ),
    "crmcore.identity.customer_frame": (
        f"{MORE}::test_customer_frame_ignores_the_future_and_the_zone"
    ),
    "crmcore.identity.data_quality": (
        f"{MORE}::test_data_quality_staleness_ignores_later_updates_and_the_zone"
    ),
    "crmcore.loyalty.PointsLedger.balance": (
        f"{MORE}::test_ledger_queries_ignore_later_entries_and_the_zone"
    ),
    "crmcore.loyalty.PointsLedger.debt": (
        f"{MORE}::test_ledger_queries_ignore_later_entries_and_the_zone"
    ),
    "crmcore.loyalty.PointsLedger.lots": (
        f"{MORE}::test_ledger_queries_ignore_later_entries_and_the_zone"
    ),
    "crmcore.loyalty.PointsLedger.next_expiry": (
        f"{MORE}::test_ledger_queries_ignore_later_entries_and_the_zone"
    ),
    "crmcore.loyalty.PointsLedger.summary": (
        f"{MORE}::test_ledger_queries_ignore_later_entries_and_the_zone"
    ),
    "crmcore.loyalty.PointsLedger.tier": (
        f"{MORE}::test_ledger_queries_ignore_later_entries_and_the_zone"
    ),
    "crmcore.loyalty.churn_rate": f"{LOYALTY_PIPELINE}::test_rates_ignore_the_future",
    "crmcore.loyalty.ledger_balances": (
        f"{LOYALTY_PIPELINE}::test_ledger_and_batch_agree_through_a_dst_fold_and_ignore_the_future"
    ),
    "crmcore.loyalty.nps_trend": f"{LOYALTY_PIPELINE}::test_nps_trend_as_of_ignores_the_future",
    "crmcore.loyalty.repurchase_rate": f"{LOYALTY_PIPELINE}::test_rates_ignore_the_future",
    "crmcore.loyalty.retention_rate": f"{LOYALTY_PIPELINE}::test_rates_ignore_the_future",
    "crmcore.marketing.attribute": f"{MARKETING}::test_attribution_does_not_see_after_as_of",
    "crmcore.marketing.campaign_kpis": (
        f"{MARKETING}::test_kpis_features_and_send_times_do_not_see_after_as_of"
    ),
    "crmcore.marketing.engagement_features": (
        f"{MARKETING}::test_kpis_features_and_send_times_do_not_see_after_as_of"
    ),
    "crmcore.marketing.select_audience": (
        f"{MARKETING}::test_audiences_do_not_see_consents_after_as_of"
    ),
    "crmcore.marketing.send_time_backtest": (
        f"{MORE}::test_send_time_backtest_reads_history_and_its_window_only"
    ),
    "crmcore.marketing.send_time_profile": (
        f"{MARKETING}::test_kpis_features_and_send_times_do_not_see_after_as_of"
    ),
    "crmcore.pipeline.activity_kpis": (
        f"{OPS}::test_activity_kpis_ignore_the_future_and_the_zone"
    ),
    "crmcore.pipeline.complaint_trends": f"{OPS}::test_complaint_trends_ignore_the_future",
    "crmcore.pipeline.decayed_engagement": (
        f"{OPS}::test_decayed_engagement_ignores_the_future_and_the_zone"
    ),
    "crmcore.pipeline.deflection": f"{OPS}::test_deflection_ignores_the_future_and_the_zone",
    "crmcore.pipeline.due_activities": (
        f"{OPS}::test_due_activities_ignore_the_future_and_the_zone"
    ),
    "crmcore.pipeline.forecast_accuracy": (
        f"{OPS}::test_forecast_accuracy_forecasts_at_as_of_and_actuals_at_the_period_end"
    ),
    "crmcore.pipeline.load_articles": (
        f"{OPS}::test_load_articles_ignores_later_saves_and_the_zone"
    ),
    "crmcore.pipeline.pipeline_snapshot": (
        f"{OPS}::test_pipeline_snapshot_ignores_the_future_and_the_zone"
    ),
    "crmcore.pipeline.ticket_kpis": f"{OPS}::test_ticket_kpis_ignore_the_future_and_the_zone",
    "crmcore.pipeline.evaluate_time_split": (
        f"{MORE}::test_evaluate_time_split_reads_history_and_its_window_only"
    ),
    "crmcore.pipeline.forecast": (
        f"{LOYALTY_PIPELINE}::test_forecast_as_of_ignores_deals_created_later"
    ),
    "crmcore.pipeline.lead_outcomes": f"{MORE}::test_lead_outcomes_ignore_the_future_and_the_zone",
    "crmcore.pipeline.service_kpis": (
        f"{LOYALTY_PIPELINE}::test_sla_and_service_kpis_ignore_the_future_and_the_zone"
    ),
    "crmcore.pipeline.sla_report": (
        f"{LOYALTY_PIPELINE}::test_sla_and_service_kpis_ignore_the_future_and_the_zone"
    ),
    "crmcore.pipeline.sla_status": (
        f"{MORE}::test_sla_status_ignores_moves_after_as_of_and_the_zone"
    ),
    "crmcore.pipeline.stage_funnel": (
        f"{LOYALTY_PIPELINE}::test_funnel_as_of_ignores_the_future_and_the_zone"
    ),
    "crmcore.pipeline.stage_velocity": (
        f"{MORE}::test_stage_velocity_ignores_the_future_and_the_zone"
    ),
    "crmcore.recommend.BoughtTogetherRecommender.fit": (
        f"{RECOMMEND}::test_every_recommender_fit_ignores_lines_after_as_of_and_the_zone"
    ),
    "crmcore.recommend.ImplicitALSRecommender.fit": (
        f"{RECOMMEND}::test_every_recommender_fit_ignores_lines_after_as_of_and_the_zone"
    ),
    "crmcore.recommend.ItemSimilarityRecommender.fit": (
        f"{RECOMMEND}::test_every_recommender_fit_ignores_lines_after_as_of_and_the_zone"
    ),
    "crmcore.recommend.PopularityRecommender.fit": (
        f"{RECOMMEND}::test_every_recommender_fit_ignores_lines_after_as_of_and_the_zone"
    ),
    "crmcore.recommend.store_interactions": (
        f"{RECOMMEND}::test_store_interactions_ignore_orders_after_as_of"
    ),
    "crmcore.recommend.RepurchaseModel.due_for_repurchase": (
        f"{RECOMMEND}::test_repurchase_fit_and_predictions_ignore_lines_after_as_of_and_the_zone"
    ),
    "crmcore.recommend.RepurchaseModel.fit": (
        f"{RECOMMEND}::test_repurchase_fit_and_predictions_ignore_lines_after_as_of_and_the_zone"
    ),
    "crmcore.recommend.RepurchaseModel.next_purchases": (
        f"{RECOMMEND}::test_repurchase_fit_and_predictions_ignore_lines_after_as_of_and_the_zone"
    ),
    "crmcore.recommend.evaluate_recommenders": (
        f"{RECOMMEND}::test_evaluation_reads_nothing_after_the_test_window_and_ignores_the_zone"
    ),
    "crmcore.recommend.interactions": (
        f"{RECOMMEND}::test_interactions_ignore_lines_after_as_of_and_the_zone"
    ),
    "crmcore.recommend.next_best_action": (
        f"{RECOMMEND}::test_next_best_action_ignores_contacts_after_as_of_and_the_zone"
    ),
    "crmcore.segmentation.cohort_retention": (
        f"{SEGMENTATION}::test_cohorts_do_not_see_after_as_of"
    ),
    "crmcore.segmentation.customer_features": (
        f"{SEGMENTATION}::test_features_and_rfm_scores_do_not_see_after_as_of"
    ),
    "crmcore.storage.EventStore.latest": (
        f"{STORAGE}::test_as_of_reads_ignore_later_events_and_the_zone"
    ),
    "crmcore.storage.EventStore.stages_as_of": (
        f"{STORAGE}::test_as_of_reads_ignore_later_events_and_the_zone"
    ),
    "crmcore.storage.LedgerRepository.balances": (
        f"{STORAGE}::test_stored_balances_ignore_entries_after_as_of"
    ),
}

ROUTING = (
    "scikit-learn metadata routing helper (generated from fit's signature): it only records "
    "whether as_of is routed to fit and reads no data; fit is held by its property above"
)

#: public name -> why it needs no no-leak property.
EXEMPT: dict[str, str] = {
    "crmcore.clv.compare_models": (
        "model evaluation on a calibration/holdout split: the holdout after as_of is its "
        "input by design; as_of= only places the tracking curve "
        "(expected_cumulative_transactions, held above)"
    ),
    "crmcore.clv.select_model": "compare_models' choice: the same inputs as compare_models",
    "crmcore.datasets.make_company": (
        "a generator: as_of is where the generated history ends, not a cut-off of given data"
    ),
    "crmcore.datasets.SampleCompany.__init__": (
        "a record of generated data (make_company's result)"
    ),
    "crmcore.loyalty.LedgerSummary.__init__": (
        "a result record: as_of is the moment it describes (PointsLedger.summary's answer)"
    ),
    "crmcore.testing.assert_no_leak": (
        "the checker itself: as_of is where it cuts the log it perturbs "
        "(tests/unit/testing/test_assertions.py shows it catches leaks)"
    ),
    "crmcore.marketing.CampaignFrames.kpis": (
        "campaign_kpis of its own frames, passing as_of through unchanged (campaign_kpis "
        "is held above)"
    ),
    "crmcore.marketing.Audience.__init__": (
        "a result record: as_of is the moment it was selected at (select_audience's answer)"
    ),
    "crmcore.recommend.BoughtTogetherRecommender.set_fit_request": ROUTING,
    "crmcore.recommend.ImplicitALSRecommender.set_fit_request": ROUTING,
    "crmcore.recommend.ItemSimilarityRecommender.set_fit_request": ROUTING,
    "crmcore.recommend.PopularityRecommender.set_fit_request": ROUTING,
    "crmcore.recommend.RepurchaseModel.set_fit_request": ROUTING,
    "crmcore.report.ReportOptions.__init__": (
        "an options record: the report's analyses are the functions registered above"
    ),
}


def _subpackages() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(crmcore.__path__) if m.ispkg]
    return ["crmcore", *(f"crmcore.{n}" for n in sorted(names) if not n.startswith("_"))]


def _takes_as_of(func: Callable[..., Any]) -> bool:
    try:
        return "as_of" in inspect.signature(func).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


def _public_callables() -> Iterator[tuple[str, str, Callable[..., Any]]]:
    """Every public function and public method of a public class: package, name, callable."""
    for package in _subpackages():
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                for attr, member in inspect.getmembers(obj):
                    if (attr.startswith("_") and attr != "__init__") or not callable(member):
                        continue
                    yield package, f"{name}.{attr}", member
            elif callable(obj):
                yield package, name, obj


def _taking_as_of() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    seen: set[tuple[int, str]] = set()
    for package, name, func in _public_callables():
        # a name re-exported by another package is registered once, where it is first found
        if _takes_as_of(func) and (id(func), name) not in seen:
            seen.add((id(func), name))
            found[f"{package}.{name}"] = func
    return found


TAKING_AS_OF = _taking_as_of()


def test_every_function_taking_as_of_is_registered():
    unregistered = sorted(set(TAKING_AS_OF) - set(NO_LEAK) - set(EXEMPT))
    assert not unregistered, (
        f"public callables taking as_of with no no-leak property: {unregistered}; write one "
        "(see test_time_rules_more.py) and register it in NO_LEAK, or exempt it with a reason"
    )


def test_registry_names_only_functions_taking_as_of():
    stale = sorted(set(NO_LEAK) | set(EXEMPT)) - TAKING_AS_OF.keys()
    assert not stale, f"registered but not a public callable taking as_of (any more): {stale}"
    assert not set(NO_LEAK) & set(EXEMPT)


def test_the_six_that_had_none_have_one_now():
    for name in (
        "crmcore.churn.retention_curve",
        "crmcore.pipeline.evaluate_time_split",
        "crmcore.pipeline.lead_outcomes",
        "crmcore.marketing.send_time_backtest",
        "crmcore.identity.customer_frame",
        "crmcore.identity.data_quality",
    ):
        assert NO_LEAK[name].startswith(MORE)


def _test_function(ref: str) -> tuple[ast.FunctionDef, str]:
    file, test = ref.split("::")
    source = (PROPERTY / file).read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == test:
            return node, source
    pytest.fail(f"{ref}: no such test")


@pytest.mark.parametrize("public", sorted(NO_LEAK))
def test_the_registered_test_is_a_property_calling_the_function(public):
    ref = NO_LEAK[public]
    node, source = _test_function(ref)
    decorators = {ast.unparse(d).split("(")[0] for d in node.decorator_list}
    assert "given" in decorators, f"{ref} is not a hypothesis property"
    # the test (or its module's helpers) use the function by its name
    short = public.rsplit(".", 1)[-1]
    assert re.search(rf"\b{short}\b", source), f"{ref} does not use {short}"
    module = importlib.import_module(f"tests.property.{ref.split('::')[0].removesuffix('.py')}")
    assert getattr(getattr(module, node.name), "is_hypothesis_test", False)
