"""LeadScorer with numeric features: read as numbers (bins or standardised), explained, saved."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.pipeline import LeadScorer


@pytest.fixture
def leads():
    rng = np.random.default_rng(11)
    n = 400
    visits = rng.poisson(3.0, n).astype(float)
    source = rng.choice(np.array(["web", "referral", "event"], dtype=object), n)
    logit = -2.0 + 0.6 * visits + np.where(source == "referral", 1.0, 0.0)
    won = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    visits[rng.random(n) < 0.05] = np.nan  # some unknown
    stage = rng.choice(np.array(["new", "contacted", "qualified"], dtype=object), n)
    return pd.DataFrame({"source": source, "visits": visits, "stage": stage, "won": won})


def test_numbers_are_binned_not_read_as_text(leads):
    scorer = LeadScorer(features=["source"], numeric_features=["visits"], n_bins=4).fit(leads)
    edges = scorer.bin_edges_["visits"]
    assert edges == sorted(edges)
    assert 1 <= len(edges) <= 3
    assert set(scorer.feature_counts_["visits"]) <= {"0", "1", "2", "3", "missing"}
    # a value never seen in training scores like a seen value of its bin
    a = leads.iloc[[0]].assign(visits=edges[-1] + 0.123)
    b = leads.iloc[[0]].assign(visits=edges[-1] + 1)
    np.testing.assert_allclose(scorer.predict_proba(a), scorer.predict_proba(b), rtol=1e-12)
    # and more visits raise the score (the data were made that way)
    low = scorer.predict_proba(leads.iloc[[0]].assign(visits=0.0))[0, 1]
    high = scorer.predict_proba(leads.iloc[[0]].assign(visits=20.0))[0, 1]
    assert high > low
    assert scorer.score(leads) > 0.7


def test_update_keeps_the_fitted_bins(leads):
    first, later = leads.iloc[:300], leads.iloc[300:]
    a = LeadScorer(numeric_features="visits", features=(), n_bins=3).fit(first).update(later)
    assert (
        a.bin_edges_
        == LeadScorer(numeric_features="visits", features=(), n_bins=3).fit(first).bin_edges_
    )
    assert a.class_count_.sum() == len(leads)


def test_sklearn_uses_the_number(leads):
    scorer = LeadScorer(features=["source"], numeric_features=["visits"], method="sklearn")
    scorer.fit(leads)
    known = leads["visits"].dropna()
    assert scorer.numeric_center_["visits"] == pytest.approx(known.mean(), rel=1e-12)
    assert scorer.numeric_scale_["visits"] == pytest.approx(known.std(ddof=0), rel=1e-12)
    p = [
        scorer.predict_proba(leads.iloc[[0]].assign(visits=v))[0, 1] for v in (0.0, 2.5, 5.0, 9.0)
    ]
    assert np.all(np.diff(p) > 0)  # strictly monotone in the number itself


@pytest.mark.parametrize("method", ["naive_bayes", "sklearn"])
def test_contributions_add_up_to_the_log_odds(leads, method):
    scorer = LeadScorer(
        features=["source"], numeric_features=["visits"], method=method, n_bins=4
    ).fit(leads)
    parts = scorer.contributions(leads)
    assert list(parts.columns) == ["baseline", "source", "visits", "stage"]
    p = scorer.predict_proba(leads)[:, 1]
    np.testing.assert_allclose(parts.sum(axis=1), np.log(p / (1 - p)), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", ["naive_bayes", "sklearn"])
def test_explain_lists_the_largest_terms(leads, method):
    scorer = LeadScorer(
        features=["source"], numeric_features=["visits"], method=method, n_bins=4
    ).fit(leads)
    why = scorer.explain(leads.iloc[:5], top=2)
    assert len(why) == 10
    assert why["rank"].tolist() == [1, 2] * 5
    parts = scorer.contributions(leads.iloc[:5]).drop(columns="baseline")
    for lead, rows in why.groupby("lead", sort=False):
        biggest = parts.loc[lead].abs().sort_values(ascending=False, kind="stable")
        assert rows["feature"].tolist() == list(biggest.index[:2])
        np.testing.assert_allclose(
            rows["contribution"], parts.loc[lead, rows["feature"]], rtol=1e-12
        )
    if method == "naive_bayes":
        shown = why.loc[why["feature"] == "visits", "value"]
        assert all(v == "missing" or v[0] in "<[>" for v in shown)


@pytest.mark.parametrize("method", ["naive_bayes", "sklearn"])
def test_json_round_trip_with_numeric_features(leads, method, tmp_path):
    scorer = LeadScorer(features=["source"], numeric_features=["visits"], method=method).fit(leads)
    path = tmp_path / "s.json"
    scorer.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 3
    again = LeadScorer.load(path)
    assert np.array_equal(again.predict_proba(leads), scorer.predict_proba(leads))
    pd.testing.assert_frame_equal(again.contributions(leads), scorer.contributions(leads))


def test_bad_numeric_input_is_refused(leads):
    with pytest.raises(ValidationError, match="not a number"):
        LeadScorer(numeric_features=["source"], features=()).fit(leads)
    with pytest.raises(ValidationError, match="finite"):
        LeadScorer(numeric_features=["visits"]).fit(leads.assign(visits=np.inf))
    with pytest.raises(ValidationError, match="both features and numeric_features"):
        LeadScorer(features=["visits"], numeric_features=["visits"]).fit(leads)
    with pytest.raises(ValidationError, match="at least one column"):
        LeadScorer(features=()).fit(leads)
    with pytest.raises(ValidationError, match="n_bins"):
        LeadScorer(numeric_features=["visits"], n_bins=1).fit(leads)
