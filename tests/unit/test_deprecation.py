"""Renamed columns keep reading for one release (crmcore._deprecation.renamed_columns)."""

from __future__ import annotations

import pickle
import warnings

import pandas as pd
import pytest

from crmcore._deprecation import renamed_columns


def _frame():
    return renamed_columns(
        pd.DataFrame({"ci_low": [1.0, 2.0], "n": [3, 4]}),
        {"lower": "ci_low"},
        where="table()",
    )


def test_new_names_only_and_no_warning_for_them():
    f = _frame()
    assert list(f.columns) == ["ci_low", "n"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f["ci_low"].tolist() == [1.0, 2.0]
        assert f[["n"]].shape == (2, 1)
    pd.testing.assert_frame_equal(f, pd.DataFrame({"ci_low": [1.0, 2.0], "n": [3, 4]}))


@pytest.mark.parametrize(
    "read",
    [
        lambda f: f["lower"],
        lambda f: f.get("lower"),
        lambda f: f[["lower", "n"]]["ci_low"],
        lambda f: f.round(1)["lower"],
        lambda f: f.head(2)["lower"],
        lambda f: f.iloc[[0, 1]]["lower"],
        lambda f: f.copy()["lower"],
    ],
)
def test_old_name_reads_the_new_column_with_a_warning(read):
    with pytest.warns(
        DeprecationWarning, match="table\\(\\) column: 'lower' is deprecated.*'ci_low'"
    ) as rec:
        out = read(_frame())
    assert out.tolist() == [1.0, 2.0]
    # the warning points at the caller's line, not at pandas or crmcore
    assert rec[0].filename == __file__


def test_unknown_names_still_fail():
    with pytest.raises(KeyError):
        _frame()["upper"]


def test_a_result_with_old_names_pickles(tmp_path):
    # multiprocessing, joblib and Dask move results between processes by pickle
    f = _frame()
    back = pickle.loads(pickle.dumps(f))
    pd.testing.assert_frame_equal(back, f)
    with pytest.warns(DeprecationWarning, match="'lower' is deprecated.*'ci_low'"):
        assert back["lower"].tolist() == [1.0, 2.0]
    path = tmp_path / "table.pkl"
    f.to_pickle(path)
    pd.testing.assert_frame_equal(pd.read_pickle(path), f)
