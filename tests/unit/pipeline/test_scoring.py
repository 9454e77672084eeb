"""LeadScorer: hand-computed posteriors, the scikit-learn contract, JSON persistence."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.naive_bayes import GaussianNB

from crmcore.errors import NotFittedError, ValidationError
from crmcore.pipeline import LeadScorer, evaluate_time_split, lead_outcomes

TRAIN = pd.DataFrame(
    {
        "source": ["web", "web", "referral", "referral", "web"],
        "stage": ["qualified", "new", "qualified", "contacted", "contacted"],
        "won": [1, 0, 1, 1, 0],
    }
)
X_TRAIN, Y_TRAIN = TRAIN.drop(columns="won"), TRAIN["won"]


def won(scorer, leads):
    return scorer.predict_proba(leads)[:, 1]


def test_posterior_matches_hand_computation():
    scorer = LeadScorer(stage_col=None).fit(TRAIN)
    # Won: 3 (web 1, referral 2); lost: 2 (web 2). K = 2 values + 1 unseen slot, alpha 1.
    # P(web|won) = (1+1)/(3+3) = 1/3, P(web|lost) = (2+1)/(2+3) = 3/5.
    # Prior with smoothing: (3+1)/(2+1). Odds = 4/3 * (1/3)/(3/5) = 20/27.
    p = scorer.predict_proba(pd.DataFrame({"source": ["web"]}))
    assert p.shape == (1, 2)
    assert p[0, 1] == pytest.approx((20 / 27) / (1 + 20 / 27), rel=1e-12)
    assert p[0, 0] == pytest.approx(1 - p[0, 1], rel=1e-12)
    assert scorer.classes_.tolist() == [0, 1]


def test_stage_counts_won_for_every_stage_lost_up_to_reached():
    scorer = LeadScorer().fit(TRAIN)
    # Open stages new, contacted, nurturing, qualified. Won leads (3) reach all;
    # lost: one reached "new", one "contacted".
    np.testing.assert_array_equal(scorer.stage_counts_[:, 1], [3, 3, 3, 3])
    np.testing.assert_array_equal(scorer.stage_counts_[:, 0], [2, 1, 0, 0])
    p = won(scorer, pd.DataFrame({"source": ["web", "web"], "stage": ["new", "qualified"]}))
    assert p[1] > p[0]
    # Stage factor for "qualified": ((3+1)/(3+2)) / ((0+1)/(2+2)) = 3.2, times 20/27.
    odds = 20 / 27 * 3.2
    assert p[1] == pytest.approx(odds / (1 + odds), rel=1e-12)


def test_unseen_values_do_not_zero_out():
    scorer = LeadScorer(stage_col=None).fit(TRAIN)
    p = won(scorer, pd.DataFrame({"source": ["billboard"]}))
    assert 0 < p[0] < 1
    assert math.isfinite(p[0])


def test_update_equals_refit_on_all_data():
    first, second = TRAIN.iloc[:3], TRAIN.iloc[3:]
    inc = LeadScorer().fit(first).update(second.drop(columns="won"), second["won"])
    full = LeadScorer().fit(TRAIN)
    probe = pd.DataFrame(
        {"source": ["web", "referral", "x"], "stage": ["new", "contacted", "qualified"]}
    )
    np.testing.assert_allclose(won(inc, probe), won(full, probe), rtol=1e-12)


# ---------------------------------------------------------------- scikit-learn contract


@pytest.mark.parametrize("method", ["naive_bayes", "sklearn"])
def test_fit_uses_the_y_it_is_given(method):
    # The "won" column says one thing, y the opposite: y wins.
    flipped = 1 - Y_TRAIN
    from_y = LeadScorer(method=method).fit(TRAIN, flipped)
    from_column = LeadScorer(method=method).fit(TRAIN.assign(won=flipped))
    np.testing.assert_allclose(
        from_y.predict_proba(X_TRAIN), from_column.predict_proba(X_TRAIN), rtol=1e-12
    )
    assert from_y.class_count_.tolist() == [3, 2]
    assert from_y.class_count_.dtype == np.int64
    # booleans are labels too
    as_bool = LeadScorer(method=method).fit(X_TRAIN, Y_TRAIN.astype(bool))
    np.testing.assert_allclose(
        as_bool.predict_proba(X_TRAIN),
        LeadScorer(method=method).fit(X_TRAIN, Y_TRAIN).predict_proba(X_TRAIN),
        rtol=1e-12,
    )


def test_predict_and_score_is_roc_auc():
    scorer = LeadScorer().fit(X_TRAIN, Y_TRAIN)
    p = won(scorer, X_TRAIN)
    np.testing.assert_array_equal(scorer.predict(X_TRAIN), (p > 0.5).astype(int))
    assert scorer.score(X_TRAIN, Y_TRAIN) == pytest.approx(roc_auc_score(Y_TRAIN, p), rel=1e-12)
    assert scorer.score(TRAIN) == scorer.score(X_TRAIN, Y_TRAIN)  # labels from outcome_col
    # score(X) without labels returned probabilities before 0.2: still, with a warning
    with pytest.warns(DeprecationWarning, match="predict_proba") as caught:
        old = scorer.score(X_TRAIN)
    assert caught[0].filename == __file__
    np.testing.assert_allclose(old, p, rtol=1e-15)
    with pytest.raises(ValidationError, match="one class"):
        scorer.score(X_TRAIN, np.ones(len(X_TRAIN), dtype=int))


def test_clone_get_and_set_params():
    clf = LogisticRegression(C=0.5)
    scorer = LeadScorer(features=["source"], alpha=0.5, method="sklearn", classifier=clf)
    params = scorer.get_params()
    assert params["classifier"] is clf
    assert params["alpha"] == 0.5
    twin = clone(scorer)
    assert twin.get_params()["alpha"] == 0.5
    assert twin.classifier is not clf
    assert twin.classifier.get_params()["C"] == 0.5
    fitted = clone(scorer).fit(TRAIN)
    again = clone(fitted)  # a fitted scorer clones to an unfitted one
    assert not hasattr(again, "model_")
    with pytest.raises(NotFittedError):
        again.predict_proba(X_TRAIN)
    assert LeadScorer().set_params(alpha=2.0).alpha == 2.0
    # invalid hyper-parameters are stored as given and refused by fit, not __init__
    bad = LeadScorer(alpha=-1)
    assert clone(bad).alpha == -1
    with pytest.raises(ValidationError, match="alpha"):
        bad.fit(TRAIN)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        LeadScorer().predict_proba(X_TRAIN)
    with pytest.raises(NotFittedError):
        LeadScorer().to_dict()


# ---------------------------------------------------------------- persistence

PROBE = pd.DataFrame(
    {
        "source": ["web", "referral", "billboard", "web"],
        "stage": ["new", "contacted", "qualified", "nurturing"],
    }
)


@pytest.mark.parametrize(
    "scorer",
    [
        LeadScorer(),
        LeadScorer(stage_col=None, alpha=0.3),
        LeadScorer(method="sklearn"),
        LeadScorer(method="sklearn", classifier=LogisticRegression(C=0.1, fit_intercept=False)),
        LeadScorer(method="sklearn", classifier=GaussianNB(), stage_col=None),
    ],
    ids=["nb", "nb-no-stage", "sk-logistic", "sk-logistic-params", "sk-gaussian-nb"],
)
def test_json_round_trip_predicts_identically(scorer, tmp_path):
    leads = synthetic(400, 8)
    scorer.fit(leads)
    text = scorer.to_json()
    assert "pickle" not in text
    back = LeadScorer.from_dict(json.loads(text))
    # floats are written with their shortest round-trip repr: identical, well within rtol
    np.testing.assert_allclose(back.predict_proba(PROBE), scorer.predict_proba(PROBE), rtol=1e-15)
    np.testing.assert_allclose(back.predict_proba(leads), scorer.predict_proba(leads), rtol=1e-15)
    assert back.get_params()["method"] == scorer.method
    scorer.save(tmp_path / "scorer.json")
    loaded = LeadScorer.load(tmp_path / "scorer.json")
    np.testing.assert_allclose(
        loaded.predict_proba(PROBE), scorer.predict_proba(PROBE), rtol=1e-15
    )
    if scorer.classifier is not None:
        assert loaded.classifier.get_params() == scorer.classifier.get_params()


def test_a_classifier_without_array_state_is_refused_clearly():
    scorer = LeadScorer(
        method="sklearn", classifier=RandomForestClassifier(n_estimators=3, random_state=0)
    ).fit(TRAIN)
    with pytest.raises(ValidationError, match="cannot be saved without pickle") as info:
        scorer.to_dict()
    assert info.value.field == "classifier"
    # the hyper-parameter itself (an unfitted classifier) is stored as parameters
    assert (
        LeadScorer(classifier=GaussianNB())
        .fit(TRAIN)
        .to_dict()["params"]["classifier"]["class"]
        .endswith("GaussianNB")
    )


def test_old_naive_bayes_files_load():
    old = {
        "params": {
            "features": ["source"],
            "stage_col": "stage",
            "outcome_col": "won",
            "alpha": 1.0,
        },
        "stages": ["new", "contacted", "nurturing", "qualified"],
        "class_count": [2.0, 3.0],
        "feature_counts": {"source": {"web": [2.0, 1.0], "referral": [0.0, 2.0]}},
        "stage_counts": [[2.0, 3.0], [1.0, 3.0], [0.0, 3.0], [0.0, 3.0]],
    }
    back = LeadScorer.from_dict(old)
    np.testing.assert_allclose(
        back.predict_proba(X_TRAIN), LeadScorer().fit(TRAIN).predict_proba(X_TRAIN), rtol=1e-12
    )


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"params": {"features": ["source"]}},
        {"params": {"magic": 1}, "stages": []},
        {
            "params": {"method": "sklearn"},
            "stages": ["new", "contacted", "nurturing", "qualified"],
            "class_count": [1, 1],
            "categories": {"source": ["web"]},
            "model": {"class": "os:system", "params": {}},
        },
    ],
)
def test_bad_files_are_refused_by_name(data, tmp_path):
    with pytest.raises(ValidationError):
        LeadScorer.from_dict(data)
    path = tmp_path / "bad.json"
    path.write_text("[" * 100_000, encoding="utf-8")
    with pytest.raises(ValidationError, match=r"LeadScorer file .* nested too deeply"):
        LeadScorer.load(path)


def test_validation():
    with pytest.raises(ValidationError, match="won must be 1"):
        LeadScorer().fit(TRAIN.assign(won=[1, 0, 2, 1, 0]))
    with pytest.raises(ValidationError, match="y must be 1") as info:
        LeadScorer().fit(X_TRAIN, ["1", 0, 1, 1, 0])
    assert info.value.row == 0
    with pytest.raises(ValidationError, match="one label per lead"):
        LeadScorer().fit(X_TRAIN, [1, 0])
    with pytest.raises(ValidationError, match="not an open or won stage"):
        LeadScorer().fit(TRAIN.assign(stage="limbo"))
    with pytest.raises(ValidationError, match="alpha"):
        LeadScorer(alpha=0).fit(TRAIN)
    with pytest.raises(ValidationError, match="method"):
        LeadScorer(method="magic").fit(TRAIN)
    with pytest.raises(ValidationError, match="needs labels"):
        LeadScorer().fit(X_TRAIN)


# ---------------------------------------------------------------- time split


def synthetic(n, seed):
    rng = np.random.default_rng(seed)
    source = rng.choice(["web", "referral", "event"], n)
    industry = rng.choice(["retail", "tech", "health"], n)
    logit = -1 + 1.5 * (source == "referral") + 1.0 * (industry == "tech")
    outcome = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    stage = np.where(outcome == 1, "qualified", rng.choice(["new", "contacted", "qualified"], n))
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 300, n)), unit="D"
    )
    return pd.DataFrame(
        {
            "source": source,
            "industry": industry,
            "stage": stage,
            "won": outcome,
            "created_at": created,
        }
    )


@pytest.mark.parametrize("method", ["naive_bayes", "sklearn"])
def test_time_split_auc_beats_chance(method):
    leads = synthetic(2000, 4)
    scorer = LeadScorer(features=["source", "industry"], stage_col=None, method=method)
    auc = evaluate_time_split(scorer, leads, as_of="2026-08-01")
    assert auc > 0.6
    assert not hasattr(scorer, "class_count_")  # the scorer itself is untouched
    # history is at or before as_of (the end of 1 August): the reference split
    train = leads[leads["created_at"] < pd.Timestamp("2026-08-02", tz="UTC")]
    test = leads[leads["created_at"] >= pd.Timestamp("2026-08-02", tz="UTC")]
    ref = clone(scorer).fit(train)
    assert auc == pytest.approx(roc_auc_score(test["won"], won(ref, test)), rel=1e-12)
    within = evaluate_time_split(scorer, leads, as_of="2026-08-01", horizon="30D")
    soon = test[test["created_at"] < pd.Timestamp("2026-09-01", tz="UTC")]
    assert within == pytest.approx(roc_auc_score(soon["won"], won(ref, soon)), rel=1e-12)


def test_time_split_split_at_is_deprecated_and_naive_as_of_refused():
    leads = synthetic(300, 5)
    with pytest.warns(DeprecationWarning, match="'as_of=' instead"):
        old = evaluate_time_split(
            LeadScorer(), leads, split_at=dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
        )
    assert old == evaluate_time_split(
        LeadScorer(), leads, as_of=dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    )
    with pytest.raises(ValidationError, match="naive") as info:
        evaluate_time_split(LeadScorer(), leads, as_of=dt.datetime(2026, 8, 1))  # noqa: DTZ001
    assert info.value.field == "as_of"
    with pytest.raises(ValidationError, match="no training"):
        evaluate_time_split(LeadScorer(), leads, as_of="2025-01-01")


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
    # as known on 5 January: a and b were still open
    early = lead_outcomes(log, as_of="2026-01-05")
    assert early["won"].isna().tolist() == [True, True, False, True]
    closed = out.dropna(subset=["won"]).assign(source=["web", "web", "ads"])
    scorer = LeadScorer().fit(closed, closed["won"].astype(int))
    np.testing.assert_array_equal(scorer.stage_counts_[:, 0], [2, 1, 0, 0])
