"""Programme definition: earn rules, rounding, tiers, expiry and review dates."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crmcore.domain import Money
from crmcore.errors import ValidationError
from crmcore.loyalty import EarnRule, Program, Tier


def eur(x):
    return Money(amount=x, currency="EUR")


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def program():
    return Program(
        earn_rules=[
            EarnRule(name="base", per_unit=1),
            EarnRule(name="books", per_order=10, categories=["books"]),
            EarnRule(name="gold", multiplier=2, tiers="gold"),
            EarnRule(name="promo", multiplier=Decimal("1.5"), campaigns={"bf"}),
        ],
        tiers=[Tier(name="member", points=0), Tier(name="gold", points=500)],
    )


def test_points_stack_and_round_down(program):
    assert program.points_for(eur("19.99")) == 19
    assert program.points_for(eur("19.99"), category="books") == 29
    assert program.points_for(eur("19.99"), tier="gold") == 39  # 39.98 floored
    # (19.99 + 10) * 2 * 1.5 = 89.97 -> 89
    assert program.points_for(eur("19.99"), tier="gold", category="books", campaign="bf") == 89


def test_rounding_is_configurable(program):
    up = Program(
        earn_rules=program.earn_rules, tiers=program.tiers, rounding=decimal.ROUND_HALF_UP
    )
    assert up.points_for(eur("19.50")) == 20
    assert program.points_for(eur("19.50")) == 19


def test_currency_mismatch_is_refused(program):
    with pytest.raises(ValidationError, match="USD"):
        program.points_for(Money(amount="10", currency="USD"))


def test_spend_minor_units():
    jpy = Program(earn_rules=[EarnRule(name="b", per_unit=1)], currency="JPY")
    assert jpy.spend_minor(Money(amount="1234", currency="JPY")) == 1234
    prog = Program(earn_rules=[EarnRule(name="b", per_unit=1)])
    assert prog.spend_minor(eur("12.345")) == 1234  # floored to whole cents


def test_expiry_and_review_dates():
    prog = Program(earn_rules=[EarnRule(name="b", per_unit=1)], expiry=12, review_every=12)
    assert prog.expires_at(utc(2026, 1, 15, 10)) == utc(2027, 2, 1)
    assert prog.expires_at(utc(2026, 12, 31, 23, 59)) == utc(2028, 1, 1)
    # an aware time in another zone is placed by its UTC instant
    paris = dt.timezone(dt.timedelta(hours=1))
    assert prog.expires_at(dt.datetime(2026, 2, 1, 0, 30, tzinfo=paris)) == utc(2027, 2, 1)
    assert prog.last_review(utc(2026, 11, 23)) == utc(2026, 1, 1)
    assert prog.last_review(utc(2026, 1, 1)) == utc(2026, 1, 1)
    never = Program(earn_rules=[EarnRule(name="b", per_unit=1)])
    assert never.expires_at(utc(2026, 1, 1)) is None


def test_weekly_and_daily_periods():
    weekly = Program(earn_rules=[EarnRule(name="b", per_unit=1)], expiry=2, freq="W")
    # Monday 2026-11-23: its week + 2 -> expires at the start of the 3rd week after
    assert weekly.expires_at(utc(2026, 11, 25)) == utc(2026, 12, 14)
    daily = Program(earn_rules=[EarnRule(name="b", per_unit=1)], expiry=30, freq="D")
    assert daily.expires_at(utc(2026, 1, 1, 18)) == utc(2026, 2, 1)


def test_period_is_the_deprecated_name_of_freq():
    rules = [EarnRule(name="b", per_unit=1)]
    weekly = Program(earn_rules=rules, expiry=2, freq="W")
    assert Program(earn_rules=rules, expiry=2, freq="week") == weekly  # the old values read too
    with pytest.warns(DeprecationWarning, match="'period=' is deprecated.*'freq='") as caught:
        old = Program(earn_rules=rules, expiry=2, period="week")
    assert caught[0].filename == __file__
    assert old == weekly
    with pytest.warns(DeprecationWarning, match="'period' is deprecated.*'freq'"):
        assert weekly.period == "week"
    with pytest.raises(TypeError, match="both"):
        Program(earn_rules=rules, period="week", freq="W")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"earn_rules": []}, "earn_rules"),
        ({"expiry": 0}, "expiry"),
        ({"freq": "Y"}, "freq"),
        ({"freq": "2W"}, "freq"),
        ({"review_every": 0}, "review_every"),
        ({"rounding": "nearest"}, "rounding"),
        ({"tiers": [Tier(name="gold", points=10)]}, "entry"),
        ({"tiers": [Tier(name="a", points=0), Tier(name="a", points=5)]}, "unique"),
        (
            {
                "tiers": [
                    Tier(name="a", points=0),
                    Tier(name="b", spend=Money(amount=1, currency="USD")),
                ]
            },
            "USD",
        ),
        ({"earn_rules": [EarnRule(name="x", per_unit=1, tiers="platinum")]}, "unknown tier"),
    ],
)
def test_program_validation(kwargs, match):
    base = {"earn_rules": [EarnRule(name="b", per_unit=1)]}
    base.update(kwargs)
    with pytest.raises(ValidationError, match=match):
        Program(**base)


def test_rule_and_tier_validation():
    with pytest.raises(ValidationError, match="float"):
        EarnRule(name="b", per_unit=0.5)
    with pytest.raises(ValidationError, match="per_order"):
        EarnRule(name="b", per_order=-1)
    with pytest.raises(ValidationError, match="exactly one"):
        Tier(name="t")
    with pytest.raises(ValidationError, match="exactly one"):
        Tier(name="t", points=1, spend=eur(1))
    with pytest.raises(ValidationError, match="window"):
        Tier(name="t", points=1, window=0)
    assert EarnRule(name="b", categories="books").categories == frozenset({"books"})


@pytest.mark.parametrize("currency", ["XYZ", "EU", 978, None, "XAU"])
def test_program_currency_must_be_iso_4217_with_a_minor_unit(currency):
    # Program(currency="XYZ") used to be accepted and then refused every purchase.
    with pytest.raises(ValidationError) as info:
        Program(earn_rules=[EarnRule(name="b", per_unit=1)], currency=currency)
    assert info.value.field == "currency"


def test_program_currency_is_case_insensitive():
    prog = Program(earn_rules=[EarnRule(name="b", per_unit=1)], currency=" usd ")
    assert prog.currency == "USD"
    assert prog.points_for(Money(amount="10", currency="USD")) == 10


def test_program_dates_must_be_timezone_aware():
    # A naive datetime used to be read in the machine's local time zone.
    prog = Program(
        earn_rules=[EarnRule(name="b", per_unit=1)],
        tiers=[Tier(name="member", points=0)],
        expiry=12,
    )
    naive = dt.datetime(2026, 1, 15)  # noqa: DTZ001 - the point of the test
    for call, field in [
        (lambda: prog.expires_at(naive), "earned_at"),
        (lambda: prog.last_review(naive), "at"),
        (lambda: prog.window_end(naive, prog.tiers[0]), "earned_at"),
    ]:
        with pytest.raises(ValidationError, match="timezone-aware") as info:
            call()
        assert info.value.field == field


def test_periods_follow_the_programme_zone():
    base = [EarnRule(name="b", per_unit=1)]
    paris = Program(earn_rules=base, expiry=1, review_every=3, tz="Europe/Paris")
    # 23:30 UTC on 31 January is 00:30 on 1 February in Paris: a February purchase,
    # expiring at the start of April in Paris (22:00 UTC, summer time).
    late = utc(2026, 1, 31, 23, 30)
    assert paris.expires_at(late) == utc(2026, 3, 31, 22)
    assert paris.expires_at(late).utcoffset() == dt.timedelta(hours=2)  # given in Paris time
    assert Program(earn_rules=base, expiry=1).expires_at(late) == utc(2026, 3, 1)  # UTC default
    assert paris.last_review(utc(2026, 3, 31, 22, 30)) == utc(2026, 3, 31, 22)  # 1 April Paris
    assert paris.last_review(utc(2026, 3, 31, 21, 30)) == utc(2025, 12, 31, 23)  # 1 January
    assert paris.window_end(late, Tier(name="g", points=1, window=2)) == utc(2026, 3, 31, 22)
    assert paris.period_of(late) == paris.period_of(utc(2026, 2, 15)) == (2026 - 1970) * 12 + 1


def test_programme_zone_is_read_once_and_compared_by_value():
    base = [EarnRule(name="b", per_unit=1)]
    assert Program(earn_rules=base, tz="UTC") == Program(earn_rules=base)
    assert Program(earn_rules=base).tz is dt.UTC
    assert Program(earn_rules=base, tz="Europe/Paris") == Program(
        earn_rules=base, tz=ZoneInfo("Europe/Paris")
    )
    with pytest.raises(ValidationError, match="time zone") as info:
        Program(earn_rules=base, tz="Mars/Olympus")
    assert info.value.field == "tz"
    with pytest.raises(ValidationError, match="tz"):
        Program(earn_rules=base, tz=1)
