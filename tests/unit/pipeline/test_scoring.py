"""LeadScorer: hand-computed naive-Bayes posteriors, incremental updates, persistence."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crmcore.errors import NotFittedError, ValidationError
from crmcore.pipeline import LeadScorer, evaluate_time_split, lead_outcomes

TRAIN = pd.DataFrame(
    {
        "source": ["web", "web", "referral", "referral", "web"],
        "stage": ["qualified", "new", "qualified", "contacted", "contacted"],
        "won": [1, 0, 1, 1, 0],
    }
)


def test_posterior_matches_hand_computation():
    scorer = LeadScorer(stage_col=None).fit(TRAIN)
    # Won: 3 (web 1, referral 2); lost: 2 (web 2). K = 2 values + 1 unseen slot, alpha 1.
    # P(web|won) = (1+1)/(3+3) = 1/3, P(web|lost) = (2+1)/(2+3) = 3/5.
    # Prior with smoothing: (3+1)/(2+1). Odds = 4/3 * (1/3)/(3/5) = 20/27.
    p = scorer.score(pd.DataFrame({"source": ["web"]}))
    assert p[0] == pytest.approx((20 / 27) / (1 + 20 / 27), rel=1e-12)


def test_stage_counts_won_for_every_stage_lost_up_to_reached():
    scorer = LeadScorer().fit(TRAIN)
    # Open stages new, contacted, nurturing, qualified. Won leads (3) reach all;
    # lost: one reached "new", one "contacted".
    np.testing.assert_array_equal(scorer.stage_counts_[:, 1], [3, 3, 3, 3])
    np.testing.assert_array_equal(scorer.stage_counts_[:, 0], [2, 1, 0, 0])
    p = scorer.score(pd.DataFrame({"source": ["web", "web"], "stage": ["new", "qualified"]}))
    assert p[1] > p[0]
    # Stage factor for "qualified": ((3+1)/(3+2)) / ((0+1)/(2+2)) = 3.2, times 20/27.
    odds = 20 / 27 * 3.2
    assert p[1] == pytest.approx(odds / (1 + odds), rel=1e-12)


def test_unseen_values_do_not_zero_out():
    scorer = LeadScorer(stage_col=None).fit(TRAIN)
    p = scorer.score(pd.DataFrame({"source": ["billboard"]}))
    assert 0 < p[0] < 1
    assert math.isfinite(p[0])


def test_update_equals_refit_on_all_data():
    first, second = TRAIN.iloc[:3], TRAIN.iloc[3:]
    inc = LeadScorer().fit(first).update(second)
    full = LeadScorer().fit(TRAIN)
    probe = pd.DataFrame(
        {"source": ["web", "referral", "x"], "stage": ["new", "contacted", "qualified"]}
    )
    np.testing.assert_allclose(inc.score(probe), full.score(probe), rtol=1e-12)


def test_save_load(tmp_path):
    scorer = LeadScorer().fit(TRAIN)
    scorer.save(tmp_path / "scorer.json")
    back = LeadScorer.load(tmp_path / "scorer.json")
    np.testing.assert_allclose(back.score(TRAIN), scorer.score(TRAIN), rtol=1e-12)
    assert back.get_params()["features"] == ["source"]


def test_sklearn_conventions_and_json_roundtrip():
    scorer = LeadScorer(alpha=0.5)
    assert clone(scorer).get_params()["alpha"] == 0.5
    with pytest.raises(NotFittedError):
        scorer.score(TRAIN)
    scorer.fit(TRAIN)
    back = LeadScorer.from_dict(json.loads(scorer.to_json()))
    np.testing.assert_allclose(back.score(TRAIN), scorer.score(TRAIN), rtol=1e-12)


def test_validation():
    with pytest.raises(ValidationError, match="won must be 1"):
        LeadScorer().fit(TRAIN.assign(won=[1, 0, 2, 1, 0]))
    with pytest.raises(ValidationError, match="not an open or won stage"):
        LeadScorer().fit(TRAIN.assign(stage="limbo"))
    with pytest.raises(ValidationError, match="alpha"):
        LeadScorer(alpha=0).fit(TRAIN)
    with pytest.raises(ValidationError, match="method"):
        LeadScorer(method="magic").fit(TRAIN)


def synthetic(n, seed):
    rng = np.random.default_rng(seed)
    source = rng.choice(["web", "referral", "event"], n)
    industry = rng.choice(["retail", "tech", "health"], n)
    logit = -1 + 1.5 * (source == "referral") + 1.0 * (industry == "tech")
    won = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    stage = np.where(won == 1, "qualified", rng.choice(["new", "contacted", "qualified"], n))
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 300, n)), unit="D"
    )
    return pd.DataFrame(
        {"source": source, "industry": industry, "stage": stage, "won": won, "created_at": created}
    )


@pytest.mark.parametrize("method", ["naive_bayes", "sklearn"])
def test_time_split_auc_beats_chance(method):
    leads = synthetic(2000, 4)
    scorer = LeadScorer(features=["source", "industry"], stage_col=None, method=method)
    auc = evaluate_time_split(
        scorer, leads, split_at=pd.Timestamp("2026-08-01", tz="UTC").to_pydatetime()
    )
    assert auc > 0.6


def test_time_split_refuses_a_naive_split_at():
    # A naive split_at used to escape as pandas' TypeError from the comparison.
    leads = synthetic(200, 5)
    with pytest.raises(ValidationError, match="timezone-aware") as info:
        evaluate_time_split(LeadScorer(), leads, split_at=dt.datetime(2026, 8, 1))  # noqa: DTZ001
    assert info.value.field == "split_at"


def test_lead_outcomes_feed_the_scorer():
    t = pd.Timestamp("2026-01-05", tz="UTC")
    log = pd.DataFrame(
        {
            "entity_id": ["a", "a", "b", "b", "c", "d"],
            "from_stage": ["new", "qualified", "new", "contacted", "new", "new"],
            "to_stage": [
                "qualified",
                "converted",
                "contacted",
                "disqualified",
                "disqualified",
                "nurturing",
            ],
            "at": [t, t + pd.Timedelta(days=1), t, t + pd.Timedelta(days=2), t, t],
        }
    )
    out = lead_outcomes(log)
    assert out.loc["a", "stage"] == "qualified"
    assert out.loc["b", "stage"] == "contacted"
    assert out.loc["c", "stage"] == "new"
    assert out["won"].tolist()[:3] == [1, 0, 0]
    assert pd.isna(out.loc["d", "won"])
    closed = out.dropna(subset=["won"]).assign(source=["web", "web", "ads"])
    scorer = LeadScorer().fit(closed.assign(won=closed["won"].astype(int)))
    np.testing.assert_array_equal(scorer.stage_counts_[:, 0], [2, 1, 0, 0])
