"""Columnar export contract: the same frame from every store."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from tests.contract._samples import at, eur, one_of_each, order


def test_orders_frame_columns_and_dtypes(store):
    store.orders.add_many(
        [
            order("o1", amount=eur("12.50"), placed_at=at(1), channel="web"),
            order("o2", customer_id="c2", amount=eur("0.10"), placed_at=at(0)),
        ]
    )
    frame = store.orders.to_frame(order_by="placed_at")
    assert list(frame.columns) == [
        "id",
        "version",
        "customer_id",
        "placed_at",
        "amount",
        "amount_currency",
        "status",
        "campaign_id",
        "channel",
    ]
    assert list(frame["id"]) == ["o2", "o1"]
    assert frame["amount"].dtype == np.float64
    np.testing.assert_allclose(frame["amount"], [0.10, 12.50], rtol=0, atol=1e-12)
    assert str(frame["placed_at"].dtype) == "datetime64[us, UTC]"
    assert frame["placed_at"].iloc[1] == pd.Timestamp(at(1))
    assert frame["version"].dtype == np.int64
    assert frame["channel"].isna().tolist() == [True, False]
    assert list(frame["status"]) == ["completed", "completed"]


def test_frame_with_columns_where_and_empty_result(store):
    store.orders.add_many([order(f"o{i}", amount=eur(i)) for i in range(10)])
    frame = store.orders.to_frame(["customer_id", "amount"], where={"amount__ge": 7}, batch_size=2)
    assert list(frame.columns) == ["customer_id", "amount"]
    np.testing.assert_allclose(frame["amount"], [7.0, 8.0, 9.0], rtol=0, atol=0)
    empty = store.orders.to_frame(["id", "placed_at", "amount"], where={"amount__gt": 1e9})
    assert len(empty) == 0
    assert str(empty["placed_at"].dtype) == "datetime64[us, UTC]"
    assert empty["amount"].dtype == np.float64


def test_frames_agree_between_stores_for_every_aggregate(store):
    from crmcore.storage import InMemoryStore

    reference = InMemoryStore()
    for name, entity in one_of_each().items():
        getattr(store, name).add(entity)
        getattr(reference, name).add(entity)
        got = getattr(store, name).to_frame()
        want = getattr(reference, name).to_frame()
        pd.testing.assert_frame_equal(got, want)


def test_frame_dates_optional_ints_and_bools(store):
    entities = one_of_each()
    store.opportunities.add(entities["opportunities"])
    frame = store.opportunities.to_frame(
        ["expected_close_date", "probability_is_manual", "closed_at", "amount"]
    )
    assert frame["expected_close_date"].iloc[0] == pd.Timestamp(dt.date(2026, 6, 30))
    assert frame["probability_is_manual"].dtype == np.bool_
    assert frame["closed_at"].isna().all()
    np.testing.assert_allclose(frame["amount"], [125000.50], rtol=0, atol=0)


@pytest.mark.parametrize(
    ("columns", "match"), [(["custom"], "cannot export"), (["id", "id"], "repeat"), (["x"], "x")]
)
def test_frame_bad_columns(store, columns, match):
    with pytest.raises(ValidationError, match=match):
        store.orders.to_frame(columns)


def test_frame_filters_bind_every_kind_of_parameter(store):
    store.orders.add_many(
        [
            order(f"o{i}", amount=eur(i), channel=["web", "shop"][i % 2], custom={"k": i % 3})
            for i in range(12)
        ]
    )
    where = {"channel__in": ["web", "nope"], "custom.k__ge": 1, "placed_at__le": at(1)}
    frame = store.orders.to_frame(["id", "amount"], where=where, order_by="-amount")
    assert list(frame["id"]) == ["o10", "o8", "o4", "o2"]
    assert len(store.orders.query(where)) == len(frame)
