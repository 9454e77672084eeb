"""FeatureLog: customer_features at several cut-offs from one encoding, the same bits."""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
import pytest

from crmcore._codes import sorted_codes
from crmcore._validation import as_float_array
from crmcore.errors import ValidationError
from crmcore.segmentation import customer_features
from crmcore.segmentation._features import FeatureLog

WINDOWS = ("7D", "30D", "90D", "365D")


def _log(n_rows: int = 600, seed: int = 7, tz: str | None = "UTC") -> pd.DataFrame:
    """A log in time order: 40 customers joining over a year, amounts in cents."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz=tz)
    offsets = np.sort(rng.integers(0, 400 * 86_400, size=n_rows))
    return pd.DataFrame(
        {
            # later customers only appear late: early cut-offs see a subset
            "customer_id": (offsets // (10 * 86_400) + rng.integers(0, 3, size=n_rows)) % 40,
            "date": start + pd.to_timedelta(offsets, unit="s"),
            "amount": np.round(rng.gamma(2.0, 20.0, size=n_rows), 2),
        }
    )


CUTOFFS = [
    "2024-01-20",  # a few customers only
    pd.Timestamp("2024-06-30 12:00", tz="UTC"),
    "2024-12-31",
    "2026-01-01",  # after the last row: every window of old customers empty
]


def assert_same_bits(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.index.dtype == want.index.dtype
    for col in want.columns:
        values = want[col].to_numpy()
        if values.dtype.kind == "f":
            # the same sums, not merely close ones: the report's numbers depend on them
            bits = got[col].to_numpy().view(np.int64)
            np.testing.assert_array_equal(bits, values.view(np.int64))


@pytest.mark.parametrize("order", ["time", "shuffled"])
@pytest.mark.parametrize("ids", ["codes", "text"])
def test_each_cutoff_equals_customer_features(order, ids):
    tx = _log()
    if ids == "text":
        tx["customer_id"] = "c" + tx["customer_id"].astype(str)
    if order == "shuffled":
        tx = tx.sample(frac=1.0, random_state=3)
    log = FeatureLog.of(tx)
    assert log.ordered == (order == "time")
    for as_of in CUTOFFS:
        want = customer_features(tx, as_of=as_of, windows=WINDOWS)
        assert_same_bits(log.features(as_of, WINDOWS), want)


def test_time_order_path_adds_as_the_bucket_key_path():
    # the same rows into the same bins in the same order: ranges or key, equal bits
    tx = _log(n_rows=2_000)
    tx["amount"] = tx["amount"] * 1.1  # sums that depend on their order
    log = FeatureLog.of(tx)
    keyed = attrs.evolve(log, ordered=False)
    for as_of in CUTOFFS:
        got = log.features(as_of, WINDOWS)
        assert_same_bits(got, keyed.features(as_of, WINDOWS))
        assert all(got[f"spend_{w.lower()}"].dtype == np.float64 for w in WINDOWS)


def test_ids_that_do_not_sort_are_coded_per_cutoff():
    tx = _log(n_rows=80)
    # ints and tuples do not compare: coded by first appearance, which depends on the cut
    tx["customer_id"] = [(c, 0) if c % 2 else c for c in tx["customer_id"]]
    log = FeatureLog.of(tx)
    assert log.codes is None
    for as_of in CUTOFFS[1:]:
        assert_same_bits(log.features(as_of), customer_features(tx, as_of=as_of))


def test_a_cutoff_before_the_log_is_refused_as_customer_features_refuses_it():
    tx = _log(n_rows=50)
    with pytest.raises(ValidationError, match="no transaction is dated at or before") as ours:
        FeatureLog.of(tx).features("2023-12-31")
    with pytest.raises(ValidationError) as theirs:
        customer_features(tx, as_of="2023-12-31")
    assert str(ours.value) == str(theirs.value)


def test_the_log_is_checked_once_up_front():
    tx = _log(n_rows=50)
    tx.loc[7, "amount"] = np.inf
    with pytest.raises(ValidationError, match="amount"):
        FeatureLog.of(tx)


def test_read_only_callers_get_the_arrays_themselves():
    codes = pd.Series(np.array([2, 0, 1, 2], dtype=np.int64))
    own, _ = sorted_codes(codes, copy=False)
    copied, uniques = sorted_codes(codes)
    assert np.shares_memory(own, codes.to_numpy())
    assert not np.shares_memory(copied, codes.to_numpy())
    np.testing.assert_array_equal(own, copied)
    np.testing.assert_array_equal(uniques, [0, 1, 2])
    amounts = np.array([1.5, 2.0])
    assert np.shares_memory(as_float_array(amounts, name="x", copy=False), amounts)
    assert not np.shares_memory(as_float_array(amounts, name="x"), amounts)
