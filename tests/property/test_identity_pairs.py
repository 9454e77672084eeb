"""Properties of find_duplicates: each pair once, ordered, scores in [0, 1], order-free."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.identity import find_duplicates

NAMES = ["Ann Lee", "Lee Ann", "Anne Lee", "Bo Chen", "김민준", "민준 김", "Zoë Ruiz", "Zoe Ruiz"]
EMAILS = ["ann@example.org", "ANN@example.org", "bo@example.org", "z.r@gmail.com", "zr@gmail.com"]


@st.composite
def record_sets(draw):
    n = draw(st.integers(2, 25))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=n, max_size=n))
    emails = draw(st.lists(st.none() | st.sampled_from(EMAILS), min_size=n, max_size=n))
    dates = draw(
        st.lists(
            st.none() | st.sampled_from(["1990-03-04", "1990-04-03", "1991-03-04"]),
            min_size=n,
            max_size=n,
        )
    )
    ids = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    return pd.DataFrame({"id": ids, "name": names, "email": emails, "birth_date": dates})


FIELDS = {"name": "name", "email": "email", "birth_date": "date"}


@settings(max_examples=25)  # two dedup runs per example
@given(record_sets(), st.randoms(use_true_random=False))
def test_pairs_once_ordered_scored_and_order_free(records, rnd):
    pairs = find_duplicates(records, fields=FIELDS, threshold=0)
    assert (pairs["id_l"] < pairs["id_r"]).all()
    assert not pairs.duplicated(["id_l", "id_r"]).any()
    assert pairs["score"].between(0.0, 1.0).all()
    for c in FIELDS:
        assert pairs[f"{c}_sim"].between(0.0, 1.0).all()
        assert pairs[f"{c}_level"].between(-1, 4).all()
    order = list(range(len(records)))
    rnd.shuffle(order)
    again = find_duplicates(records.iloc[order], fields=FIELDS, threshold=0)
    key = ["id_l", "id_r"]
    a = pairs.sort_values(key).reset_index(drop=True)
    b = again.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[key], b[key])
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-9, atol=1e-12)
    cols = [f"{c}_{k}" for c in FIELDS for k in ("sim", "level")]
    pd.testing.assert_frame_equal(a[cols], b[cols])


@settings(max_examples=25)
@given(record_sets())
def test_comparison_is_symmetric(records):
    # swapping which record is left and which right changes nothing: compare the
    # records with ids reversed in order (the pair's sides swap)
    pairs = find_duplicates(records, fields=FIELDS, threshold=0)
    flipped = records.assign(id=-records["id"])
    again = find_duplicates(flipped, fields=FIELDS, threshold=0)
    again = again.assign(id_l=-again["id_r"], id_r=-again["id_l"])
    key = ["id_l", "id_r"]
    a = pairs.sort_values(key).reset_index(drop=True)
    b = again.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[key], b[key])
    for c in FIELDS:
        np.testing.assert_allclose(a[f"{c}_sim"], b[f"{c}_sim"], rtol=1e-6)
        np.testing.assert_array_equal(a[f"{c}_level"], b[f"{c}_level"])
