"""Small order-line logs shared by the recommendation tests."""

from __future__ import annotations

import pandas as pd
import pytest

from crmcore.recommend import simulate_baskets


@pytest.fixture
def lines() -> pd.DataFrame:
    """Four customers, five products, one order per customer and day (naive dates)."""
    return pd.DataFrame(
        {
            "order_id": [1, 1, 2, 2, 3, 3, 4, 5, 6],
            "customer_id": ["a", "a", "b", "b", "c", "c", "d", "a", "b"],
            "product_id": ["tea", "honey", "tea", "honey", "tea", "lemon", "tea", "cake", "milk"],
            "date": pd.to_datetime(
                [
                    "2024-01-02 09:00",
                    "2024-01-02 09:00",
                    "2024-01-03 10:00",
                    "2024-01-03 10:00",
                    "2024-01-04 11:00",
                    "2024-01-04 11:00",
                    "2024-01-05 12:00",
                    "2024-02-10 08:00",
                    "2024-02-11 08:00",
                ]
            ),
            "quantity": [1, 2, 1, 1, 3, 1, 1, 1, 2],
        }
    )


@pytest.fixture(scope="session")
def sim():
    """A seeded simulated shop (600 customers, 80 products)."""
    return simulate_baskets(600, 80, random_state=7)
