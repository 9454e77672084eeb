"""Behavioural lead scoring: decayed engagement, fit and engagement scores kept apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crmcore.errors import NotFittedError, ValidationError
from crmcore.marketing import simulate_engagement
from crmcore.pipeline import FitEngagementScorer, decayed_engagement


def test_decay_halves_at_the_half_life_and_reads_no_later_event():
    t = pd.Timestamp("2026-04-01", tz="UTC")
    events = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "type": ["web_visit", "web_visit", "open", "download", "send", "click"],
            "date": [
                t,
                t - pd.Timedelta(days=14),
                t - pd.Timedelta(days=28),
                t - pd.Timedelta(days=7),
                t,
                t + pd.Timedelta(seconds=1),  # after as_of
            ],
        }
    )
    got = decayed_engagement(events, as_of=t, half_life="14D")
    assert got.index.tolist() == ["a", "b"]
    assert got.loc["a", "web_visit"] == pytest.approx(1.5, rel=1e-12)
    assert got.loc["a", "open"] == pytest.approx(0.25, rel=1e-12)
    assert got.loc["b", "download"] == pytest.approx(2**-0.5, rel=1e-12)
    assert list(got.columns) == ["web_visit", "download", "form_submit", "open", "click"]
    wanted = decayed_engagement(events, as_of=t, customers=["c", "a"], types=["click"])
    assert wanted["click"].tolist() == [0.0, 0.0]
    with pytest.raises(ValidationError, match="unknown engagement type"):
        decayed_engagement(events, as_of=t, types=["visit"])
    with pytest.raises(ValidationError, match="half_life"):
        decayed_engagement(events, as_of=t, half_life=14)


def test_decayed_counts_from_the_marketing_simulator():
    sim = simulate_engagement(n_customers=300, random_state=3)
    as_of = sim.events["date"].max()
    got = decayed_engagement(sim.events, as_of=as_of, half_life="30D")
    # every counted type is a non-negative decayed count, bounded by the raw count
    counted = sim.events[sim.events["type"].isin(got.columns)]
    raw = pd.crosstab(counted["customer_id"], counted["type"].astype(str))
    assert (got.to_numpy() >= 0).all()
    common = raw.reindex(index=got.index, columns=got.columns, fill_value=0)
    assert (got.to_numpy() <= common.to_numpy() + 1e-9).all()


@pytest.fixture
def leads():
    rng = np.random.default_rng(7)
    n = 600
    source = rng.choice(np.array(["referral", "web", "event"], dtype=object), n)
    visits = rng.gamma(1.0, 2.0, n)
    downloads = rng.gamma(0.5, 1.0, n)
    logit = -1.5 + np.where(source == "referral", 1.5, 0.0) + 0.8 * np.log1p(visits)
    won = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"source": source, "web_visit": visits, "download": downloads, "won": won})


def test_fit_and_engagement_scores_are_kept_apart(leads):
    scorer = FitEngagementScorer(engagement_features=["web_visit", "download"]).fit(leads)
    base = scorer.scores(leads)
    assert ((base[["fit_score", "engagement_score"]] >= 0).all()).all()
    assert ((base[["fit_score", "engagement_score"]] <= 100).all()).all()
    busier = scorer.scores(leads.assign(web_visit=leads["web_visit"] * 10))
    np.testing.assert_array_equal(busier["fit_score"], base["fit_score"])  # fit ignores behaviour
    assert (busier["engagement_score"] >= base["engagement_score"] - 1e-9).all()
    moved = scorer.scores(leads.assign(source="referral"))
    np.testing.assert_array_equal(moved["engagement_score"], base["engagement_score"])
    referral = base.loc[leads["source"] == "referral", "fit_score"]
    web = base.loc[leads["source"] == "web", "fit_score"]
    assert referral.mean() > web.mean()
    grades = base["grade"]
    assert grades.str.fullmatch(r"[ABCD][1-4]").all()
    cuts = [75.0, 50.0, 25.0]
    for (fit, engaged), grade in zip(
        base[["fit_score", "engagement_score"]].to_numpy(), grades, strict=True
    ):
        assert grade[0] == "ABCD"[sum(fit < c for c in cuts)]
        assert int(grade[1]) == 1 + sum(engaged < c for c in cuts)


def test_explain_names_the_top_factor_of_each_score(leads):
    scorer = FitEngagementScorer(engagement_features=["web_visit", "download"]).fit(leads)
    why = scorer.explain(leads.iloc[:3], top=1)
    assert why["score"].tolist() == ["fit"] * 3 + ["engagement"] * 3
    fit_rows = why[why["score"] == "fit"]
    assert (fit_rows["feature"] == "source").all()
    assert fit_rows["value"].tolist() == leads["source"].iloc[:3].tolist()
    eng = why[why["score"] == "engagement"]
    for _, row in eng.iterrows():
        assert row["value"] == leads.loc[row["lead"], row["feature"]]  # the count, not its log


def test_save_load_and_clone(leads, tmp_path):
    scorer = FitEngagementScorer(engagement_features=["web_visit"], alpha=0.5).fit(leads)
    path = tmp_path / "scorer.json"
    scorer.save(path)
    again = FitEngagementScorer.load(path)
    pd.testing.assert_frame_equal(again.scores(leads), scorer.scores(leads))
    with pytest.raises(ValidationError, match=r"FitEngagementScorer file .* does not exist"):
        FitEngagementScorer.load(tmp_path / "missing.json")
    (tmp_path / "nan.json").write_text('{"fit_model": NaN}', encoding="utf-8")
    with pytest.raises(ValidationError, match="FitEngagementScorer file"):
        FitEngagementScorer.load(tmp_path / "nan.json")
    fresh = clone(scorer)
    assert fresh.get_params()["alpha"] == 0.5
    with pytest.raises(NotFittedError):
        fresh.scores(leads)
    with pytest.raises(ValidationError, match="grade_cuts"):
        FitEngagementScorer(grade_cuts=(10, 50, 75)).fit(leads)
    with pytest.raises(ValidationError, match=">= 0"):
        scorer.scores(leads.assign(web_visit=-1.0))
