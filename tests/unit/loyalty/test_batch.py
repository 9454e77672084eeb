"""ledger_balances agrees with PointsLedger.summary on the same entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import numpy as np
import pandas as pd
import pytest

from crmcore.domain import Money
from crmcore.errors import ValidationError
from crmcore.loyalty import (
    EarnRule,
    PointsLedger,
    Program,
    Purchase,
    Redemption,
    Refund,
    Tier,
    ledger_balances,
)

PROGRAM = Program(
    earn_rules=[
        EarnRule(name="base", per_unit=1, per_order=2),
        EarnRule(name="gold", multiplier=2, tiers="gold"),
    ],
    tiers=[
        Tier(name="basic", points=0),
        Tier(name="silver", points=400, window=3),
        Tier(name="gold", spend=Money(amount="1500", currency="EUR"), window=6),
    ],
    expiry=4,
    review_every=6,
)


def random_ledgers(seed, n_accounts, program=PROGRAM):
    rng = np.random.default_rng(seed)
    ledgers = []
    for a in range(n_accounts):
        led = PointsLedger(program, account_id=f"acc{a}")
        t = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        for i in range(int(rng.integers(0, 30))):
            t += dt.timedelta(days=int(rng.integers(0, 25)), hours=int(rng.integers(0, 24)))
            u = rng.random()
            if u < 0.6:
                amount = Money(amount=Decimal(int(rng.integers(1, 30000))) / 100, currency="EUR")
                led = led.post(Purchase(event_id=f"o{i}", at=t, amount=amount))
            elif u < 0.85:
                pts = int(rng.integers(1, 300))
                if pts <= led.balance(t):
                    led = led.post(Redemption(event_id=f"r{i}", at=t, points=pts))
            else:
                open_orders = [
                    e.event_id
                    for e in led.entries
                    if e.kind == "earn" and e.event_id not in {x.order_id for x in led.entries}
                ]
                if open_orders:
                    order = open_orders[int(rng.integers(len(open_orders)))]
                    led = led.post(Refund(event_id=f"f{i}", at=t, order_id=order))
        ledgers.append(led)
    return ledgers


def as_tuple(row):
    nxt = None if pd.isna(row["next_expiry"]) else row["next_expiry"].to_pydatetime()
    return (
        int(row["balance"]),
        int(row["debt"]),
        int(row["earned"]),
        int(row["redeemed"]),
        int(row["expired"]),
        int(row["clawed_back"]),
        int(row["expiring_points"]),
        nxt,
        row["tier"],
    )


NEW_YORK = attrs.evolve(PROGRAM, tz="America/New_York")


@pytest.mark.parametrize(("seed", "program"), [(1, PROGRAM), (2, PROGRAM), (3, NEW_YORK)])
def test_batch_agrees_with_ledgers(seed, program):
    ledgers = random_ledgers(seed, 120, program)
    frame = pd.concat([led.to_frame() for led in ledgers if len(led)], ignore_index=True)
    assert set(frame["kind"]) == {"earn", "redeem", "clawback"}
    shuffled = frame.sample(frac=1.0, random_state=seed)  # any row order
    checked = 0
    for as_of in [
        dt.datetime(2025, 2, 14, tzinfo=dt.UTC),
        dt.datetime(2025, 7, 1, tzinfo=dt.UTC),  # a review instant
        dt.datetime(2025, 9, 17, 13, tzinfo=dt.UTC),
        dt.datetime(2026, 2, 15, tzinfo=dt.UTC),  # rows before 2025-07 cannot matter
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        "2025-06-30",  # the end of that day on the programme's calendar
    ]:
        out = ledger_balances(shuffled, as_of=as_of, program=program)
        for led in ledgers:
            if not len(led):
                continue
            s = led.summary(as_of)
            if led.account_id not in out.index:
                # not listed only when it had not started: a first entry is an earn
                assert (s.earned, s.balance, s.debt) == (0, 0, 0), (led.account_id, as_of)
                continue
            expected = (
                s.balance,
                s.debt,
                s.earned,
                s.redeemed,
                s.expired,
                s.clawed_back,
                s.expiring_points,
                s.next_expiry,
                s.tier,
            )
            assert as_tuple(out.loc[led.account_id]) == expected, (led.account_id, as_of)
            checked += 1
    assert checked > 300
    tiers = ledger_balances(frame, as_of=dt.datetime(2025, 9, 17, tzinfo=dt.UTC), program=program)
    assert tiers["tier"].nunique() >= 2  # the tier logic is actually exercised
    assert (tiers["expired"] > 0).any()


def test_without_program_or_expiry_column():
    at = pd.to_datetime(["2026-01-02", "2026-01-05", "2026-01-03"]).tz_localize("UTC")
    entries = pd.DataFrame(
        {
            "account_id": [7, 7, 8],
            "sequence": [0, 1, 0],
            "kind": pd.Categorical(["earn", "redeem", "earn"]),
            "at": at,
            "points": [120, -100, 40],
        }
    )
    out = ledger_balances(entries, as_of=dt.datetime(2026, 1, 4, tzinfo=dt.UTC))
    assert out.loc[7, "balance"] == 120  # the redemption is after as_of
    assert out.loc[8, "balance"] == 40
    assert out["next_expiry"].isna().all()
    assert "tier" not in out.columns
    assert out["balance"].dtype == np.int64


def make_frame(**overrides):
    frame = pd.DataFrame(
        {
            "account_id": ["a", "a"],
            "sequence": [0, 1],
            "kind": ["earn", "redeem"],
            "at": pd.to_datetime(["2026-01-02", "2026-01-05"]).tz_localize("UTC"),
            "points": [10, -5],
        }
    )
    for key, value in overrides.items():
        frame[key] = value
    return frame


@pytest.mark.parametrize(
    ("overrides", "field", "row"),
    [
        ({"kind": ["earn", "spend"]}, "kind", 1),
        ({"points": [10, 5]}, "points", 1),
        ({"points": [-10, -5]}, "points", 0),
        ({"sequence": [0, 0]}, "sequence", 1),
        (
            {"at": pd.to_datetime(["2026-01-05", "2026-01-02"]).tz_localize("UTC")},
            "at",
            1,
        ),
    ],
)
def test_validation_names_field_and_row(overrides, field, row):
    with pytest.raises(ValidationError) as info:
        ledger_balances(make_frame(**overrides), as_of=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert info.value.field == field
    assert info.value.row == row


def test_validation_of_columns_and_times():
    with pytest.raises(ValidationError, match="timezone-aware"):
        ledger_balances(
            make_frame(at=pd.to_datetime(["2026-01-02", "2026-01-05"])),
            as_of=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        )
    with pytest.raises(ValidationError, match="missing column"):
        ledger_balances(
            make_frame().drop(columns="points"), as_of=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
        )
    with pytest.raises(ValidationError, match="as_of"):
        ledger_balances(make_frame(), as_of=dt.datetime(2027, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValidationError, match="event_id"):
        ledger_balances(
            make_frame(), as_of=dt.datetime(2027, 1, 1, tzinfo=dt.UTC), program=PROGRAM
        )
    with pytest.raises(ValidationError, match="integer"):
        ledger_balances(
            make_frame(points=[10.0, -5.0]), as_of=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
        )
    # Checked before any cast: 0.5 must not become 0, NaN must not become -2**63.
    for bad in ([0.0, 0.5], [0.0, np.nan], ["0", "1"]):
        with pytest.raises(ValidationError, match="integer") as info:
            ledger_balances(make_frame(sequence=bad), as_of=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
        assert info.value.field == "sequence"


def test_spend_minor_must_be_integer_for_spend_tiers():
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    amount = Money(amount=Decimal("12.34"), currency="EUR")
    ledger = PointsLedger(PROGRAM, account_id="a").post(
        Purchase(event_id="o1", at=at, amount=amount)
    )
    frame = ledger.to_frame()
    as_of = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    out = ledger_balances(frame, as_of=as_of, program=PROGRAM)
    assert out.loc["a", "balance"] == ledger.balance(as_of)
    floats = frame.assign(spend_minor=frame["spend_minor"].astype(np.float64) + 0.5)
    with pytest.raises(ValidationError, match="integer") as info:
        ledger_balances(floats, as_of=as_of, program=PROGRAM)
    assert info.value.field == "spend_minor"


def test_redemption_above_balance_is_refused():
    frame = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "b", "b"],
            "sequence": [0, 1, 2, 0, 1],
            "kind": ["earn", "redeem", "redeem", "earn", "redeem"],
            "at": pd.to_datetime(
                ["2026-01-02", "2026-01-05", "2026-05-05", "2026-01-02", "2026-01-03"]
            ).tz_localize("UTC"),
            "points": [10, -5, -5, 3, -3],
            "expires_at": pd.to_datetime(
                ["2026-03-01", None, None, "2026-03-01", None]
            ).tz_localize("UTC"),
        }
    )
    with pytest.raises(ValidationError, match="balance") as info:
        ledger_balances(frame, as_of=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert info.value.row == 2  # the remaining 5 points expired on 1 March
    out = ledger_balances(frame, as_of=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    assert out["balance"].tolist() == [5, 0]


def test_empty_ledger_and_accounts_not_yet_started():
    empty = PointsLedger(PROGRAM, account_id="x").to_frame()
    out = ledger_balances(empty, as_of=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), program=PROGRAM)
    assert out.empty
    assert "tier" in out.columns
    frame = pd.DataFrame(
        {
            "account_id": ["a", "b"],
            "sequence": [0, 0],
            "kind": ["earn", "earn"],
            "at": pd.to_datetime(["2026-01-01", "2027-01-01"]).tz_localize("UTC"),
            "points": [5, 7],
            "event_id": ["e1", "e2"],
            "order_id": [None, None],
            "spend_minor": [100, 200],
        },
        index=["r1", "r2"],
    )
    out = ledger_balances(frame, as_of=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), program=PROGRAM)
    assert out["balance"].tolist() == [5]  # b's only entry is after as_of: not yet a member
    assert out.index.tolist() == ["a"]
    assert out["tier"].tolist() == ["basic"]
    bad = frame.assign(points=[5, -7])
    with pytest.raises(ValidationError) as info:
        ledger_balances(bad, as_of=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert info.value.row == "r2"  # rows are named by the frame's own labels


def test_as_of_and_zone():
    frame = make_frame(at=pd.DatetimeIndex(["2026-01-02 23:30", "2026-01-03 00:30"], tz="UTC"))
    # "2026-01-02" ends at midnight UTC by default, at 23:00 UTC in Paris
    assert ledger_balances(frame, as_of="2026-01-02")["balance"].tolist() == [10]
    assert ledger_balances(frame, as_of="2026-01-02", tz="Europe/Paris").empty  # none by then
    paris = attrs.evolve(PROGRAM, tz="Europe/Paris")
    with pytest.raises(ValidationError, match=r"program\.tz") as info:
        ledger_balances(frame, as_of="2026-01-02", program=paris, tz="UTC")
    assert info.value.field == "tz"
    with pytest.raises(ValidationError, match="naive") as info:
        ledger_balances(frame, as_of=dt.datetime(2026, 1, 3))  # noqa: DTZ001
    assert info.value.field == "as_of"
    with pytest.raises(ValidationError, match="2262"):
        ledger_balances(frame, as_of="9999-12-31")
    # the same instants written in another zone give the same balances
    shifted = frame.assign(at=frame["at"].dt.tz_convert("Asia/Tokyo"))
    pd.testing.assert_frame_equal(
        ledger_balances(shifted, as_of=dt.datetime(2026, 1, 3, tzinfo=dt.UTC)),
        ledger_balances(frame, as_of=dt.datetime(2026, 1, 3, tzinfo=dt.UTC)),
    )
