"""Properties of cluster_duplicates and merge_plan's consent rule."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from crmcore.domain import Consent, Customer
from crmcore.identity import Survivorship, cluster_duplicates, merge_plan

IDS = list("abcdefghij")


@st.composite
def graphs(draw):
    edges = draw(
        st.lists(
            st.tuples(st.sampled_from(IDS), st.sampled_from(IDS), st.floats(0, 1)),
            max_size=30,
        )
    )
    edges = [(a, b, s) for a, b, s in edges if a != b]
    cannot = draw(st.lists(st.tuples(st.sampled_from(IDS), st.sampled_from(IDS)), max_size=6))
    cannot = [(a, b) for a, b in cannot if a != b]
    return pd.DataFrame(edges, columns=["id_l", "id_r", "score"]), cannot


@given(graphs(), st.floats(0, 1))
def test_clusters_respect_cannot_link_and_the_core_rule(graph, threshold):
    pairs, cannot = graph
    clusters = cluster_duplicates(pairs, threshold, ids=IDS, cannot_link=cannot)
    assert clusters.index.tolist() == IDS
    for a, b in cannot:
        assert clusters[a] != clusters[b]
    # every member of a cluster of two or more links directly to one of its members
    # (the core) with a score at or above the threshold
    strong = pairs[pairs["score"] >= threshold]
    links = {(a, b) for a, b in zip(strong["id_l"], strong["id_r"], strict=True)}
    links |= {(b, a) for a, b in links}
    for group in clusters.groupby(clusters).groups.values():
        members = list(group)
        if len(members) < 2:
            continue
        assert any(all(m == c or (m, c) in links for m in members) for c in members)
    # labels are 0..k-1, numbered by first appearance in id order
    first_seen = list(dict.fromkeys(clusters.tolist()))
    assert first_seen == list(range(len(first_seen)))


T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@st.composite
def consent_histories(draw):
    n = draw(st.integers(0, 4))
    return [
        Consent(
            channel=draw(st.sampled_from(["email", "sms"])),
            granted=draw(st.booleans()),
            at=T0 + dt.timedelta(days=draw(st.integers(0, 1000))),
        )
        for _ in range(n)
    ]


@given(st.lists(consent_histories(), min_size=2, max_size=4))
def test_an_opt_out_anywhere_wins(histories):
    customers = [
        Customer(id=f"c{k}", name="Ann", created_at=T0, consents=h)
        for k, h in enumerate(histories)
    ]
    merged = merge_plan(customers).survivor
    assert merged is not None
    for channel in ("email", "sms"):
        states = [c.current_consent(channel) for c in customers]
        states = [s.granted for s in states if s is not None]
        if False in states:
            assert not merged.has_consent(channel)
        elif True in states:
            assert merged.has_consent(channel)
        else:
            assert merged.current_consent(channel) is None


@given(st.lists(st.sampled_from([True, False, None]), min_size=2, max_size=6))
def test_flag_columns_merge_conservatively(flags):
    frame = pd.DataFrame(
        {
            "id": range(len(flags)),
            "opt_in": pd.array(flags, dtype="boolean"),
            "created_at": pd.Timestamp("2020-01-01"),
            "updated_at": pd.Timestamp("2021-01-01"),
        }
    )
    merged = merge_plan(frame, Survivorship(consent_cols=["opt_in"])).record["opt_in"]
    if False in flags:
        assert merged is False
    elif True in flags:
        assert merged is True
    else:
        assert merged is None
