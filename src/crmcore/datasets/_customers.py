"""Customers, orders, surveys and loyalty members of the sample company (vectorised).

Orders come from the BG/NBD generative model (:func:`crmcore.clv.simulate_transactions`)
with Gamma-Gamma spend, then pass through a seasonal *time warp*: purchases are
simulated on an operational clock on which the purchase rate is constant and
mapped to calendar time through the inverse of the cumulative seasonal
intensity, so that December is busier than August while each customer's
counting process is still the BG/NBD one in operational time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from crmcore.clv import simulate_transactions
from crmcore.datasets._text import digits, joined, numbered, text_array

__all__ = ["BTYD_PARAMS", "SPEND_PARAMS", "make_customers", "make_orders", "make_surveys"]

#: BG/NBD parameters of the sample company's purchase process (``alpha`` in days).
BTYD_PARAMS: dict[str, float] = {"r": 0.75, "alpha": 60.0, "a": 0.6, "b": 3.0}
#: Gamma-Gamma parameters of its spend per order (mean spend p·γ/(q−1) = 30).
SPEND_PARAMS: dict[str, float] = {"p": 6.0, "q": 4.0, "gamma": 15.0}

_COUNTRIES = np.array(["DE", "FR", "GB", "US", "ES", "IT", "NL"])
_COUNTRY_WEIGHTS = np.array([0.25, 0.18, 0.17, 0.15, 0.1, 0.1, 0.05])
_CITIES = {
    "DE": ["Berlin", "Hamburg", "Munich", "Cologne"],
    "FR": ["Paris", "Lyon", "Marseille", "Lille"],
    "GB": ["London", "Leeds", "Bristol", "Glasgow"],
    "US": ["Boston", "Chicago", "Denver", "Austin"],
    "ES": ["Madrid", "Valencia", "Seville", "Bilbao"],
    "IT": ["Milan", "Rome", "Turin", "Naples"],
    "NL": ["Amsterdam", "Utrecht", "Rotterdam", "Delft"],
}
_FIRST = np.array(
    [
        "Ada",
        "Alan",
        "Grace",
        "Linus",
        "Marie",
        "Nikola",
        "Emmy",
        "Kurt",
        "Rosalind",
        "Tim",
        "Hedy",
        "Claude",
        "Barbara",
        "John",
        "Katherine",
        "Dennis",
        "Frances",
        "Ken",
    ]
)
_LAST = np.array(
    [
        "Lovelace",
        "Turing",
        "Hopper",
        "Torvalds",
        "Curie",
        "Tesla",
        "Noether",
        "Goedel",
        "Franklin",
        "Berners",
        "Lamarr",
        "Shannon",
        "Liskov",
        "Backus",
        "Johnson",
        "Ritchie",
        "Allen",
        "Thompson",
    ]
)


def _seasonal_warp(operational_days: np.ndarray, start: pd.Timestamp, days: float) -> np.ndarray:
    """Map days on the constant-rate clock to calendar days (same total length)."""
    n_grid = int(np.ceil(days)) + 1
    grid = np.arange(n_grid, dtype=np.float64)
    day_of_year = (start.day_of_year - 1 + grid) % 365.25
    # busiest in mid December, quietest in mid June; a little busier at weekends
    weekday = (start.day_of_week + grid.astype(np.int64)) % 7
    intensity = 1.0 + 0.35 * np.cos(2 * np.pi * (day_of_year - 349.0) / 365.25)
    intensity = intensity * np.where(weekday >= 5, 1.15, 1.0)
    cumulative = np.concatenate([[0.0], np.cumsum(intensity[:-1])])
    cumulative *= grid[-1] / cumulative[-1]
    warped: np.ndarray = np.interp(operational_days, cumulative, grid)
    return warped


def make_orders(
    n_customers: int, *, start: pd.Timestamp, days: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Simulate the order log: ``customer`` (int position), ``placed_at`` (UTC), ``amount``."""
    log = simulate_transactions(
        n_customers,
        r=BTYD_PARAMS["r"],
        alpha=BTYD_PARAMS["alpha"],
        a=BTYD_PARAMS["a"],
        b=BTYD_PARAMS["b"],
        start=start.tz_localize(None),
        periods=days,
        acquisition_periods=days * 0.6,
        unit="D",
        p=SPEND_PARAMS["p"],
        q=SPEND_PARAMS["q"],
        gamma=SPEND_PARAMS["gamma"],
        random_state=rng,
    )
    base = start.tz_localize(None).to_datetime64()
    offset = (log["date"].to_numpy() - base) / np.timedelta64(1, "D")
    calendar = _seasonal_warp(offset.astype(np.float64), start, days)
    seconds = np.floor(calendar * 86400.0).astype("int64")
    placed = pd.to_datetime(seconds, unit="s", origin=start.tz_localize(None)).tz_localize("UTC")
    amount = np.maximum(np.round(log["amount"].to_numpy(), 2), 0.01)
    frame = pd.DataFrame(
        {
            "customer": log["customer_id"].to_numpy(np.int64),
            "placed_at": placed,
            "amount": amount,
        }
    )
    order = np.lexsort((frame["customer"].to_numpy(), seconds))
    return frame.iloc[order].reset_index(drop=True)


def make_customers(
    n_customers: int,
    first_purchase: np.ndarray,
    *,
    as_of: pd.Timestamp,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Demographics and marketing consent, one row per customer position."""
    pos = np.arange(n_customers)
    first = rng.integers(0, len(_FIRST), n_customers)
    last = rng.integers(0, len(_LAST), n_customers)
    country = rng.choice(_COUNTRIES, size=n_customers, p=_COUNTRY_WEIGHTS)
    city = np.empty(n_customers, dtype=object)
    pick = rng.integers(0, 4, n_customers)
    for code, names in _CITIES.items():
        mask = country == code
        city[mask] = np.asarray(names, dtype=object)[pick[mask]]
    # sign-up a few days before the first purchase
    lead_days = rng.exponential(5.0, n_customers)
    lead_seconds = np.round(lead_days * 86400).astype("timedelta64[s]")
    created = pd.DatetimeIndex(first_purchase - lead_seconds).floor("s").tz_localize("UTC")
    age_days = rng.uniform(18 * 365.25, 80 * 365.25, n_customers)
    birth = (as_of.tz_localize(None) - pd.to_timedelta(np.round(age_days), unit="D")).normalize()
    email_opt_in = rng.random(n_customers) < 0.6
    sms_opt_in = rng.random(n_customers) < 0.25
    withdraws = email_opt_in & (rng.random(n_customers) < 0.1)
    span = (as_of - created).total_seconds().to_numpy()
    withdrawn_at = created + pd.to_timedelta(
        np.round(span * rng.uniform(0.2, 0.95, n_customers)), unit="s"
    )
    # the names are drawn from short lists: lower-case each list once, then pick
    first_names, last_names = pa.array(_FIRST), pa.array(_LAST)
    first_lower, last_lower = pc.utf8_lower(first_names), pc.utf8_lower(last_names)
    email = joined(
        joined(first_lower.take(first), ".", last_lower.take(last)),
        digits(pos),
        "@example.com",
    )
    return pd.DataFrame(
        {
            "id": numbered("C", pos, 7),
            "name": text_array(joined(first_names.take(first), " ", last_names.take(last))),
            "email": text_array(email),
            "created_at": created,
            "birth_date": birth,
            "country": country,
            "city": city,
            "email_opt_in": email_opt_in,
            "sms_opt_in": sms_opt_in,
            "email_withdrawn_at": pd.Series(withdrawn_at).where(withdraws),
        }
    )


def make_surveys(
    customer_ids: np.ndarray,
    first_purchase: np.ndarray,
    *,
    as_of: pd.Timestamp,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Relationship NPS answers: about one customer in five, NPS improving over time."""
    n = len(customer_ids)
    asked = np.flatnonzero(rng.random(n) < 0.2)
    start = first_purchase[asked]
    span = (as_of.tz_localize(None).to_datetime64() - start).astype("timedelta64[s]")
    span = span.astype(np.float64)
    at = start + (span * rng.uniform(0.05, 1.0, len(asked))).astype("timedelta64[s]")
    at_index = pd.DatetimeIndex(at).floor("s").tz_localize("UTC")
    first_day = at_index.min() if len(at_index) else as_of
    progress = np.clip((at_index - first_day) / (as_of - first_day), 0.0, 1.0)
    promoter = 0.38 + 0.14 * np.asarray(progress, dtype=np.float64)
    detractor = 0.30 - 0.10 * np.asarray(progress, dtype=np.float64)
    u = rng.random(len(asked))
    score = np.where(
        u < promoter,
        rng.integers(9, 11, len(asked)),
        np.where(u < promoter + detractor, rng.integers(0, 7, len(asked)), 7 + (u > 0.9)),
    )
    return pd.DataFrame(
        {
            "customer_id": customer_ids[asked],
            "kind": "nps",
            "score": score.astype(np.int64),
            "answered_at": at_index,
            "ticket_id": None,
        }
    )
