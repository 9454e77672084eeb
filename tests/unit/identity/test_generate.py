"""The seeded duplicate generator."""

from __future__ import annotations

import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.identity import NOISE_LEVELS, make_duplicates


def test_seeded_and_reproducible():
    a = make_duplicates(300, random_state=7)
    b = make_duplicates(300, random_state=7)
    pd.testing.assert_frame_equal(a.records, b.records)
    pd.testing.assert_series_equal(a.truth, b.truth)
    c = make_duplicates(300, random_state=8)
    assert not a.records["name"].equals(c.records["name"])


def test_truth_matches_records():
    data = make_duplicates(500, duplicate_share=0.4, max_duplicates=3, random_state=1)
    assert data.truth.index.tolist() == data.records["id"].tolist()
    assert data.truth.nunique() == 500
    sizes = data.truth.value_counts()
    assert sizes.max() <= 4
    # about 40 % of people have duplicates
    assert 0.3 < (sizes > 1).mean() < 0.5
    pairs = data.true_pairs()
    assert (pairs["id_l"] < pairs["id_r"]).all()
    assert len(pairs) == int((sizes * (sizes - 1) // 2).sum())


def test_hangul_and_latin_names():
    data = make_duplicates(400, hangul_share=0.5, random_state=2)
    hangul = data.records["name"].str.contains("[\uac00-\ud7a3]", regex=True)
    assert 0.35 < hangul.mean() < 0.65
    assert (data.records.loc[hangul, "country"] == "KR").all()


def test_noise_levels_order_the_damage():
    def changed_names(noise):
        data = make_duplicates(2000, noise=noise, random_state=3)
        frame = data.records.assign(entity=data.truth.to_numpy())
        lower = frame["name"].str.lower().str.replace(",", "")
        return lower.groupby(frame["entity"]).nunique().gt(1).mean()

    assert changed_names("low") < changed_names("medium") < changed_names("high")
    assert set(NOISE_LEVELS) == {"low", "medium", "high"}


def test_bad_arguments():
    with pytest.raises(ValidationError, match="noise must be one of"):
        make_duplicates(10, noise="extreme")
    with pytest.raises(ValidationError, match="n_entities"):
        make_duplicates(0)
