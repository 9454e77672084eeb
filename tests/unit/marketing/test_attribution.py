"""attribute: the rule-based models by hand, Markov removal effects, exact Shapley values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.marketing import MODELS, attribute

DAY = pd.Timedelta("1D")
D0 = pd.Timestamp("2024-05-01")

TOUCHES = pd.DataFrame(
    {
        "customer_id": ["a", "a", "a", "b", "d", "e", "e"],
        "date": [D0, D0 + 2 * DAY, D0 + 3 * DAY, D0 + DAY, D0 - 60 * DAY, D0, D0 + 2 * DAY],
        "channel": ["search", "email", "email", "social", "display", "email", "sms"],
    }
)
CONVERSIONS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e", "e"],
        "date": [D0 + 4 * DAY, D0 + DAY, D0 + 4 * DAY, D0 + 4 * DAY, D0 + DAY, D0 + 3 * DAY],
        "amount": [100.0, 40.0, 10.0, 50.0, 10.0, 20.0],
    },
    index=["oa", "ob", "oc", "od", "oe1", "oe2"],
)


def credits(model, **kw):
    result = attribute(TOUCHES, CONVERSIONS, model=model, as_of="2024-05-31", **kw)
    table = result.credits.groupby(["conversion", "channel"])["credit"].sum()
    return result, {k: round(v, 6) for k, v in table.items()}


@pytest.mark.parametrize(
    ("model", "kw", "expected_a"),
    [
        ("first_touch", {}, {"search": 100.0}),
        ("last_touch", {}, {"email": 100.0}),
        ("linear", {}, {"search": 33.333333, "email": 66.666667}),
        # ages 4, 2 and 1 days with a one-day half-life: weights 1/16, 1/4, 1/2
        ("time_decay", {"half_life": "1D"}, {"search": 100 / 13, "email": 1200 / 13}),
        ("position", {}, {"search": 40.0, "email": 60.0}),
        ("position", {"position_weights": (0.3, 0.4, 0.3)}, {"search": 30.0, "email": 70.0}),
    ],
)
def test_rules_by_hand(model, kw, expected_a):
    result, got = credits(model, **kw)
    a = {ch: v for (conv, ch), v in got.items() if conv == "oa"}
    assert a == pytest.approx(expected_a, rel=1e-6)
    # a touch at the conversion instant counts; no touch (or only old ones) is direct
    assert got[("ob", "social")] == 40.0
    assert got[("oc", "(direct)")] == 10.0
    assert got[("od", "(direct)")] == 50.0  # the display touch is 64 days old
    # paths restart after a conversion
    assert got[("oe1", "email")] == 10.0
    assert got[("oe2", "sms")] == 20.0
    assert ("oe2", "email") not in got
    assert result.n_conversions == 6
    assert result.n_direct == 2


def test_two_touch_position_split_and_lookback():
    _, got = credits("position", lookback="90D")
    assert got[("od", "display")] == 50.0
    touches = pd.DataFrame(
        {"customer_id": ["z", "z"], "date": [D0, D0 + DAY], "channel": ["sms", "push"]}
    )
    conv = pd.DataFrame({"customer_id": ["z"], "date": [D0 + 2 * DAY], "amount": [10.0]})
    result = attribute(touches, conv, model="position", as_of="2024-06-01")
    assert result.credits.set_index("channel")["credit"].to_dict() == {"push": 5.0, "sms": 5.0}


def test_by_channel_totals_and_shares():
    result, _ = credits("linear")
    by = result.by_channel
    assert by["credit"].sum() == pytest.approx(CONVERSIONS["amount"].sum(), rel=1e-12)
    assert by["share"].sum() == pytest.approx(1.0, rel=1e-12)
    assert by["conversions"].sum() == pytest.approx(len(CONVERSIONS), rel=1e-12)
    assert list(by["credit"]) == sorted(by["credit"], reverse=True)


def paths_data(paths):
    """Touches and conversions from (channels, converted, count) path patterns."""
    rows, convs = [], []
    n = 0
    for channels, converted, count in paths:
        for _ in range(count):
            cust = f"p{n}"
            n += 1
            for k, ch in enumerate(channels):
                rows.append((cust, D0 + k * pd.Timedelta("1h"), ch))
            if converted:
                convs.append((cust, D0 + len(channels) * pd.Timedelta("1h"), 1.0))
    touches = pd.DataFrame(rows, columns=["customer_id", "date", "channel"])
    conversions = pd.DataFrame(convs, columns=["customer_id", "date", "amount"])
    return touches, conversions


def test_markov_removal_effects_by_hand():
    # start->A 2/3, start->B 1/3, A->B 1/2, A->null 1/2, B->conv 1: P(conv) = 2/3.
    # Without A: 1/3 (effect 1/2); without B: 0 (effect 1).
    touches, conversions = paths_data([("AB", True, 1), ("A", False, 1), ("B", True, 1)])
    result = attribute(touches, conversions, model="markov", as_of="2024-06-01")
    assert result.channel_effects.to_dict() == pytest.approx({"A": 0.5, "B": 1.0}, rel=1e-12)
    first = result.credits[result.credits["conversion"] == 0].set_index("channel")["credit"]
    assert first.to_dict() == pytest.approx({"A": 1 / 3, "B": 2 / 3}, rel=1e-12)


def brute_shapley(v, players):
    """Shapley values by averaging marginal contributions over all orders."""
    phi = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        seen = frozenset()
        for p in order:
            phi[p] += v(seen | {p}) - v(seen)
            seen = seen | {p}
    return {p: x / len(orders) for p, x in phi.items()}


def test_shapley_matches_brute_force():
    patterns = [
        ("A", True, 2),
        ("A", False, 8),
        ("B", True, 3),
        ("B", False, 7),
        ("AB", True, 8),
        ("BA", False, 2),
        ("C", True, 1),
        ("C", False, 4),
        ("ABC", True, 4),
        ("CAB", False, 1),
        ("AC", True, 3),
        ("AC", False, 3),
    ]
    touches, conversions = paths_data(patterns)
    result = attribute(touches, conversions, model="shapley", as_of="2024-06-01")
    rate = {}
    for channels, converted, count in patterns:
        conv, total = rate.get(frozenset(channels), (0, 0))
        rate[frozenset(channels)] = (conv + count * converted, total + count)

    def v(s):
        conv, total = rate.get(frozenset(s), (0, 0))
        return conv / total if total else 0.0

    for coalition in ("AB", "ABC", "AC"):
        phi = brute_shapley(lambda s, c=coalition: v(s) if s <= set(c) else 0.0, list(coalition))
        pos = {k: max(x, 0.0) for k, x in phi.items()}
        want = {k: x / sum(pos.values()) for k, x in pos.items() if x > 0}
        # first conversion whose path has exactly this channel set
        conv_ids = result.credits.groupby("conversion")["channel"].apply(frozenset)
        target = conv_ids[conv_ids == frozenset(coalition)].index[0]
        got = result.credits[result.credits["conversion"] == target].set_index("channel")["credit"]
        assert got[got > 0].to_dict() == pytest.approx(want, rel=1e-9)
    grand = brute_shapley(v, ["A", "B", "C"])
    assert result.channel_effects.to_dict() == pytest.approx(grand, rel=1e-9)


def test_shapley_pools_channels_beyond_the_limit():
    channels = list("ABCDE")
    patterns = [(c, True, 2) for c in channels] + [(c, False, 3) for c in channels[:3]]
    touches, conversions = paths_data(patterns)
    result = attribute(touches, conversions, model="shapley", as_of="2024-06-01", max_channels=3)
    assert set(result.by_channel.index) == {"A", "B", "(other)"}
    assert result.by_channel["credit"].sum() == pytest.approx(len(conversions), rel=1e-12)


def test_markov_and_shapley_rank_the_channel_that_converts():
    touches, conversions = paths_data(
        [
            ("AB", True, 30),
            ("A", False, 60),
            ("B", True, 20),
            ("B", False, 5),
            ("C", False, 40),
            ("CB", True, 10),
        ]
    )
    for model in ("markov", "shapley"):
        result = attribute(touches, conversions, model=model, as_of="2024-06-01")
        assert result.by_channel.index[0] == "B"


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"model": "u_shaped"}, "model must be one of"),
        ({"model": "linear", "lookback": 30}, "lookback"),
        ({"model": "time_decay", "half_life": "0D"}, "half_life"),
        ({"model": "position", "position_weights": (1, 1)}, "position_weights"),
        ({"model": "position", "position_weights": (-1, 1, 1)}, "position_weights"),
        ({"model": "shapley", "max_channels": 40}, "max_channels"),
    ],
)
def test_bad_arguments(kw, match):
    with pytest.raises(ValidationError, match=match):
        attribute(TOUCHES, CONVERSIONS, as_of="2024-05-31", **kw)


def test_bad_frames():
    with pytest.raises(ValidationError, match="unique index"):
        attribute(
            TOUCHES, pd.concat([CONVERSIONS, CONVERSIONS]), model="linear", as_of="2024-05-31"
        )
    aware = TOUCHES.assign(date=TOUCHES["date"].dt.tz_localize("UTC"))
    with pytest.raises(ValidationError, match="both be naive or both timezone-aware"):
        attribute(aware, CONVERSIONS, model="linear", as_of="2024-05-31")
    with pytest.raises(ValidationError, match="must not be missing"):
        attribute(TOUCHES.assign(channel=None), CONVERSIONS, model="linear", as_of="2024-05-31")
    with pytest.raises(ValidationError, match="finite"):
        attribute(TOUCHES, CONVERSIONS.assign(amount=np.nan), model="linear", as_of="2024-05-31")


def test_every_model_is_listed_and_sums_exactly():
    for model in MODELS:
        result = attribute(TOUCHES, CONVERSIONS, model=model, as_of="2024-05-31")
        sums = result.credits.groupby("conversion")["credit"].sum()
        for label, value in CONVERSIONS["amount"].items():
            assert math.isclose(sums[label], value, rel_tol=1e-12)
