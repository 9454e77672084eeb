"""cluster_duplicates: components, the core rule against chaining, cannot-link pairs."""

from __future__ import annotations

import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.identity import Field, cluster_duplicates, find_duplicates, make_duplicates


def _pairs(rows):
    return pd.DataFrame(rows, columns=["id_l", "id_r", "score"])


def test_chain_is_cut_at_the_core():
    # a-b-c-d: b has the largest total score and links a and c; d links only c
    pairs = _pairs([("a", "b", 0.9), ("b", "c", 0.95), ("c", "d", 0.8)])
    clusters = cluster_duplicates(pairs, 0.5)
    assert clusters.index.tolist() == ["a", "b", "c", "d"]
    assert clusters.tolist() == [0, 0, 0, 1]
    assert clusters.name == "cluster"


def test_star_component_kept_whole():
    pairs = _pairs([("a", "b", 0.9), ("a", "c", 0.9), ("a", "d", 0.6), ("b", "c", 0.7)])
    assert cluster_duplicates(pairs, 0.5).tolist() == [0, 0, 0, 0]


def test_threshold_drops_weak_links_and_ids_add_singletons():
    pairs = _pairs([("a", "b", 0.9), ("c", "d", 0.4)])
    clusters = cluster_duplicates(pairs, 0.5, ids=["e", "d", "c", "b", "a"])
    assert clusters.index.tolist() == ["a", "b", "c", "d", "e"]
    assert clusters.tolist() == [0, 0, 1, 2, 3]


def test_cannot_link_never_joined():
    pairs = _pairs([("a", "b", 0.99), ("b", "c", 0.98), ("a", "c", 0.97)])
    clusters = cluster_duplicates(pairs, 0.5, cannot_link=[("a", "c")])
    assert clusters["a"] != clusters["c"]
    # b joins the one it resembles most (a, 0.99)
    assert clusters["b"] == clusters["a"]
    frame = pd.DataFrame({"id_l": ["b"], "id_r": ["a"]})
    clusters = cluster_duplicates(pairs, 0.5, cannot_link=frame)
    assert clusters["a"] != clusters["b"]
    # a direct decision overrides any score
    two = cluster_duplicates(_pairs([("a", "b", 1.0)]), 0.5, cannot_link=[("a", "b")])
    assert two.tolist() == [0, 1]


def test_pair_given_twice_counts_once():
    pairs = _pairs([("a", "b", 0.9), ("b", "a", 0.2), ("b", "c", 0.8)])
    assert cluster_duplicates(pairs, 0.5).tolist() == [0, 0, 0]


def test_bad_input():
    with pytest.raises(ValidationError, match="missing column"):
        cluster_duplicates(pd.DataFrame({"id_l": ["a"], "id_r": ["b"]}))
    with pytest.raises(ValidationError, match="with itself"):
        cluster_duplicates(_pairs([("a", "b", 0.9)]), cannot_link=[("a", "a")])
    with pytest.raises(ValidationError, match="not among ids"):
        cluster_duplicates(_pairs([("a", "b", 0.9)]), ids=["a"])
    with pytest.raises(ValidationError, match="finite"):
        cluster_duplicates(_pairs([("a", "b", float("nan"))]))
    with pytest.raises(ValidationError, match="pairs of record ids"):
        cluster_duplicates(_pairs([("a", "b", 0.9)]), cannot_link=["ab"])


def test_clusters_recover_generated_people():
    data = make_duplicates(1500, noise="medium", random_state=5)
    fields = {
        "name": "name",
        "email": "email",
        "phone": Field("phone", country_col="country"),
        "birth_date": "date",
        "postcode": "postcode",
    }
    pairs = find_duplicates(data.records, fields=fields)
    clusters = cluster_duplicates(pairs, ids=data.records["id"])
    truth = data.truth.loc[clusters.index]
    # a cluster holds one person (purity), and most people are one cluster
    purity = pd.crosstab(clusters, truth).max(axis=1).sum() / len(clusters)
    assert purity >= 0.99
    assert clusters.nunique() <= truth.nunique() * 1.03


def test_no_pairs():
    empty = pd.DataFrame({"id_l": [], "id_r": [], "score": []})
    assert cluster_duplicates(empty).tolist() == []
    assert cluster_duplicates(empty, ids=["b", "a"]).tolist() == [0, 1]
